"""The local image repository: a directory of verified image files, one per catalog name.

Only an image that is present here with the catalog's sha256 can be installed (the planner reads
`status()`; IMAGE_NOT_IN_REPOSITORY / IMAGE_CHECKSUM otherwise). Layout of the directory:

    <root>/<image name>                 complete, verified images (nothing else lives here)
    <root>/.index.json                  cached checksums keyed by (name, size, mtime_ns)
    <root>/.lock                        guards index updates between processes
    <root>/.incoming/<name>.partial     a transfer in progress or interrupted (resumable)
    <root>/.incoming/<name>.partial.json  where the partial came from (URL, ETag) for If-Range
    <root>/.incoming/<name>.lock        held while one process imports/fetches/removes <name>

As the seed's Image Manager does, an image already present under the same name with the same
checksum is skipped; the same name with another checksum is an error, never silently replaced.
"""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from reconciler.contract import FindingCode
from reconciler.core.catalog import is_asacx
from reconciler.core.model import Image, ImageStatus
from reconciler.errors import PermanentError, TemporaryError
from reconciler.images.download import (CHUNK, ChecksumMismatch, Progress, RetryPolicy,
                                        download_once, make_client, retrying)
from reconciler.images.index import ChecksumIndex
from reconciler.images.safety import Source, SourceKind, UnsafePathError, check_image_name, parse_source
from reconciler.images.storage import (durable_rename, file_lock, fsync_dir, storage_error,
                                       unlink_quiet)
from reconciler.images.synthetic import synthetic_chunks
from reconciler.logging import get_logger

INCOMING = ".incoming"
PARTIAL = ".partial"


class ImageNotInRepository(PermanentError):
    code = FindingCode.IMAGE_NOT_IN_REPOSITORY.value


class UnsupportedImage(PermanentError):
    code = FindingCode.UNSUPPORTED_IMAGE.value


class Outcome(enum.StrEnum):
    ADDED = "added"
    SKIPPED = "skipped"  # already present with the catalog's checksum


@dataclass(frozen=True, slots=True)
class TransferResult:
    name: str
    outcome: Outcome
    size: int
    sha256: str
    source: str  # where the bytes came from, safe to print
    resumed_from: int = 0  # bytes kept from an interrupted earlier transfer


class VerifyState(enum.StrEnum):
    OK = "ok"
    CHECKSUM_MISMATCH = "checksum-mismatch"
    MISSING = "missing"
    NOT_IN_CATALOG = "not-in-catalog"  # a file in the repository that no catalog entry names


@dataclass(frozen=True, slots=True)
class VerifyResult:
    name: str
    state: VerifyState
    size: int | None = None
    sha256: str | None = None  # what the file hashes to now
    expected: str | None = None  # what the catalog says


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    size: int
    mtime_ns: int


class ImageStream:
    """Chunks of one repository file, read lazily: uploads never hold an image in memory.

    Iterate it, and close it (or use `with`) when abandoning it early. `size` is the number of
    bytes the stream yields, for Content-Length and progress.

    With `verify` (a sha256 hasher already fed with the bytes before the range, and the
    catalog's digest) the stream is the last line of defence against pushing a file that is
    not the catalog's image: it hashes what it yields and raises ChecksumMismatch instead of
    releasing the final chunk when the whole file does not hash to the catalog's sha256. A
    device only completes a file when its last byte arrives, so a damaged or swapped image never
    lands on a device complete, whatever the plan said about it earlier.
    """

    def __init__(self, fh: BinaryIO, size: int, chunk_size: int, *, name: str = "",
                 verify: tuple[Any, str] | None = None) -> None:
        self._fh = fh
        self._left = size
        self._chunk = chunk_size
        self._name = name
        self._verify = verify
        self.size = size

    def __iter__(self) -> ImageStream:
        return self

    def __next__(self) -> bytes:
        if self._left <= 0 or self._fh.closed:
            self.close()
            raise StopIteration
        data = self._fh.read(min(self._chunk, self._left))
        if not data:
            self.close()
            raise PermanentError("image file shrank while it was being read",
                                 hint="run `reconciler images verify`")
        self._left -= len(data)
        if self._verify is not None:
            hasher, expected = self._verify
            hasher.update(data)
            if self._left <= 0 and hasher.hexdigest() != expected:
                self.close()
                raise ChecksumMismatch(
                    f"image {self._name} in the repository no longer has the catalog's sha256 "
                    f"(it hashes to {hasher.hexdigest()}, the catalog says {expected}); the "
                    "transfer was stopped before its last byte",
                    hint="run `reconciler images verify`, then fetch or import the image again")
        return data

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ImageStream:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class ImageRepository:
    def __init__(self, root: Path | str, *, retry: RetryPolicy | None = None) -> None:
        self.root = Path(root)
        self.retry = retry or RetryPolicy()
        self._incoming = self.root / INCOMING

    # ------------------------------------------------------------ reading

    def path_of(self, name: str) -> Path:
        """The file of an image that is in the repository (ImageNotInRepository otherwise)."""
        path = self.root / check_image_name(name)
        if not path.is_file():
            raise ImageNotInRepository(f"image {name} is not in the repository {self.root}",
                                       hint="run `reconciler images fetch` or `reconciler images import`")
        return path

    def open_stream(self, name: str, *, offset: int = 0, length: int | None = None,
                    chunk_size: int = CHUNK, size: int | None = None,
                    sha256: str | None = None) -> ImageStream:
        """Stream `length` bytes (default: to the end) of an image from `offset`.

        Offsets let a copy resume or be split into several transfers (a device answering HTTP 413).
        With the catalog's `size` the file must have it; with the catalog's `sha256` a range that
        ends at the end of the file is verified before its last chunk is released (the bytes
        before `offset` are hashed first): see ImageStream.
        """
        path = self.path_of(name)
        actual = path.stat().st_size
        if size is not None and actual != size:
            raise ChecksumMismatch(f"image {name} in the repository is {actual} bytes, the catalog says "
                                   f"{size}; refused",
                                   hint="run `reconciler images verify`, then fetch or import it again")
        if offset < 0 or offset > actual or (length is not None and (length < 0 or offset + length > actual)):
            raise PermanentError(f"range {offset}+{length} is outside image {name} ({actual} bytes)")
        count = actual - offset if length is None else length
        expected = _hex_sha256(sha256, name) if sha256 is not None else None
        fh = open(path, "rb")  # noqa: SIM115 - owned and closed by ImageStream
        verify = None
        try:
            if expected is not None and offset + count == actual:
                hasher = hashlib.sha256()
                while fh.tell() < offset:
                    block = fh.read(min(CHUNK, offset - fh.tell()))
                    if not block:
                        break
                    hasher.update(block)
                verify = (hasher, expected)
                if count == 0 and hasher.hexdigest() != expected:  # nothing left to stream
                    raise ChecksumMismatch(f"image {name} in the repository does not have the "
                                           f"catalog's sha256 {expected}; refused")
            fh.seek(offset)
        except BaseException:
            fh.close()
            raise
        return ImageStream(fh, count, chunk_size, name=name, verify=verify)

    def files(self) -> list[StoredFile]:
        """Every image file in the repository, catalogued or not (bookkeeping files excluded)."""
        out = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            st = entry.stat()
            out.append(StoredFile(entry.name, st.st_size, st.st_mtime_ns))
        return sorted(out, key=lambda f: f.name)

    def partials(self) -> dict[str, int]:
        """Interrupted or running transfers: image name -> bytes received so far."""
        out: dict[str, int] = {}
        try:
            entries = list(os.scandir(self._incoming))
        except FileNotFoundError:
            return out
        for entry in entries:
            if entry.name.endswith(PARTIAL) and entry.is_file():
                out[entry.name[: -len(PARTIAL)]] = entry.stat().st_size
        return out

    def status(self, catalog: Mapping[str, Image]) -> dict[str, ImageStatus]:
        """Present-and-verified, missing or checksum-mismatch for every catalog image.

        Cheap enough to call on every plan: a file is hashed only when the index has no entry for
        its current (size, mtime_ns); the result is cached for the next call.
        """
        index = ChecksumIndex.load(self.root)
        learned: dict[str, tuple[os.stat_result, str]] = {}
        out: dict[str, ImageStatus] = {}
        for name, image in catalog.items():
            st = self._stat(name)
            if st is None:
                out[name] = ImageStatus.MISSING
                continue
            if st.st_size != image.size:
                out[name] = ImageStatus.CHECKSUM_MISMATCH  # no need to hash to know
                continue
            sha = index.lookup(name, st)
            if sha is None:
                sha = sha256_of(self.root / name)
                learned[name] = (st, sha)
            out[name] = (ImageStatus.PRESENT if sha == (image.sha256 or "").strip().lower()
                         else ImageStatus.CHECKSUM_MISMATCH)
        if learned:
            try:
                self._update_index(learned)
            except (OSError, TemporaryError, PermanentError) as e:  # a read-only repository still answers
                get_logger().debug("checksum index not updated", error=str(e))
        return out

    def verify(self, catalog: Mapping[str, Image] | None = None,
               names: Iterable[str] | None = None) -> list[VerifyResult]:
        """Re-hash files (ignoring the cache) and compare with the catalog; refreshes the index.

        Without `names`: every file in the repository plus every catalog image (missing ones are
        reported MISSING). Files the catalog does not name are NOT_IN_CATALOG.
        """
        catalog = catalog or {}
        if names is None:
            wanted = sorted({f.name for f in self.files()} | set(catalog))
        else:
            wanted = [check_image_name(n) for n in names]
        results: list[VerifyResult] = []
        learned: dict[str, tuple[os.stat_result, str]] = {}
        for name in wanted:
            image = catalog.get(name)
            st = self._stat(name)
            if st is None:
                results.append(VerifyResult(name, VerifyState.MISSING,
                                            expected=_expected(image) if image else None))
                continue
            sha = sha256_of(self.root / name)
            learned[name] = (st, sha)
            if image is None:
                state = VerifyState.NOT_IN_CATALOG
            elif st.st_size == image.size and sha == _expected(image):
                state = VerifyState.OK
            else:
                state = VerifyState.CHECKSUM_MISMATCH
            results.append(VerifyResult(name, state, st.st_size, sha, _expected(image) if image else None))
        present = {f.name for f in self.files()}
        self._update_index(learned, keep=present)
        return results

    # ------------------------------------------------------------ writing

    def import_file(self, path: Path | str, image: Image, *,
                    progress: Progress | None = None) -> TransferResult:
        """Copy a local file into the repository as `image`, refusing anything but its exact bytes."""
        _check_image(image)
        src = Path(path)
        with self._image_lock(image.name):
            return self._import_locked(src, image, progress, shown=str(src))

    def fetch(self, image: Image, client: httpx.Client | None = None, *,
              progress: Progress | None = None, source_dir: Path | str | None = None) -> TransferResult:
        """Bring `image` into the repository from its catalog `source:`.

        http(s) URLs are downloaded (resumable, retried, through the configured proxy);
        `synthetic:NAME` is generated locally (the example catalog's stand-ins: no network); a
        relative path is copied from `source_dir`.
        """
        _check_image(image)
        source = _source_of(image)
        with self._image_lock(image.name):
            existing = self._existing(image)
            if existing is not None:
                return existing
            if source.kind is SourceKind.PATH:
                return self._import_locked(self._local_source(source, source_dir), image, progress,
                                           shown=source.value)
            if source.kind is SourceKind.SYNTHETIC:
                return self._store_chunks(image, synthetic_chunks(source.value, image.size),
                                          progress, shown=source.display())
            own = client is None
            client = client or make_client()
            try:
                return self._download(image, source, client, progress)
            finally:
                if own:
                    client.close()

    def remove(self, name: str) -> list[Path]:
        """Delete an image and any partial transfer of it; return what was deleted."""
        check_image_name(name)
        with self._image_lock(name):
            targets = [self.root / name, *self._partial_paths(name)]
            gone = [p for p in targets if p.is_file()]
            if not gone:
                raise ImageNotInRepository(f"image {name} is not in the repository {self.root}",
                                           hint="`reconciler images list` shows what the repository holds")
            try:
                unlink_quiet(*gone)
            except OSError as e:
                raise storage_error(e, name) from None
            fsync_dir(self.root)
            self._update_index({}, forget={name})
        get_logger(image=name).info("image removed", files=[p.name for p in gone])
        return gone

    # ------------------------------------------------------------ internals

    def _download(self, image: Image, source: Source, client: httpx.Client,
                  progress: Progress | None) -> TransferResult:
        partial, _meta = self._partial_paths(image.name)
        expected = _expected(image)
        self._ensure_space(image, already=partial.stat().st_size if partial.exists() else 0)
        url, shown = source.value, source.display()
        log = get_logger(image=image.name, url=shown)
        restarted_after_mismatch = False
        resumed_from = 0
        for attempt in retrying(self.retry, image.name):
            with attempt:
                got = download_once(client, url, partial, size=image.size, sha256=expected,
                                    progress=progress)
                resumed_from = got.resumed_from
                if got.sha256 != expected:
                    unlink_quiet(*self._partial_paths(image.name))
                    if got.resumed_from and not restarted_after_mismatch:
                        # The source may have changed under a resumed transfer: one clean try.
                        restarted_after_mismatch = True
                        raise TemporaryError(f"{shown}: checksum mismatch after resuming; "
                                             "downloading again from the start", retry_after=0)
                    raise _mismatch(image, got.sha256, shown)
        log.info("image downloaded", size=image.size, resumed_from=resumed_from)
        return self._commit(image, partial, expected, shown, resumed_from)

    def _import_locked(self, src: Path, image: Image, progress: Progress | None, *,
                       shown: str) -> TransferResult:
        try:
            st = src.stat()
        except FileNotFoundError:
            raise PermanentError(f"{shown}: no such file", hint="check the path") from None
        except OSError as e:
            raise PermanentError(f"{shown}: {e.strerror}") from None
        if not src.is_file():
            raise PermanentError(f"{shown} is not a regular file")
        if st.st_size != image.size:
            raise ChecksumMismatch(f"{shown} is {st.st_size} bytes but the catalog says {image.size} "
                                   f"for {image.name}",
                                   hint="this is not the catalog's file: check the file or the size/sha256 "
                                        "in desired/images.yaml")
        existing = self._existing(image)
        if existing is not None:
            # Same name, same checksum: skip, but only if the offered file really is that image.
            sha = sha256_of(src)
            if sha != existing.sha256:
                raise _mismatch(image, sha, shown)
            return existing
        try:
            fh = open(src, "rb")  # noqa: SIM115 - closed by _chunks_of
        except OSError as e:
            raise PermanentError(f"{shown}: {e.strerror}") from None
        return self._store_chunks(image, _chunks_of(fh), progress, shown=shown)

    def _store_chunks(self, image: Image, chunks: Iterable[bytes], progress: Progress | None, *,
                      shown: str) -> TransferResult:
        partial, meta = self._partial_paths(image.name)
        self._ensure_space(image, already=0)
        unlink_quiet(meta)  # a local copy replaces any interrupted download of the same name
        hasher = hashlib.sha256()
        done = 0
        if progress:
            progress(0, image.size)
        try:
            with open(partial, "wb") as out:
                for chunk in chunks:
                    done += len(chunk)
                    if done > image.size:
                        break
                    out.write(chunk)
                    hasher.update(chunk)
                    if progress:
                        progress(done, image.size)
                out.flush()
                os.fsync(out.fileno())
        except OSError as e:
            unlink_quiet(partial)
            raise storage_error(e, f"{image.name}{PARTIAL}") from None
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        sha = hasher.hexdigest()
        if done != image.size or sha != _expected(image):
            unlink_quiet(partial)
            if done != image.size:
                raise ChecksumMismatch(f"{shown} gave {done} bytes but the catalog says {image.size} "
                                       f"for {image.name}", hint="check the source and desired/images.yaml")
            raise _mismatch(image, sha, shown)
        return self._commit(image, partial, sha, shown, 0)

    def _commit(self, image: Image, partial: Path, sha: str, shown: str, resumed_from: int) -> TransferResult:
        dest = self.root / image.name
        try:
            durable_rename(partial, dest)
            unlink_quiet(partial.with_name(partial.name + ".json"))
            st = dest.stat()
        except OSError as e:
            raise storage_error(e, image.name) from None
        self._update_index({image.name: (st, sha)})
        return TransferResult(image.name, Outcome.ADDED, image.size, sha, shown, resumed_from)

    def _existing(self, image: Image) -> TransferResult | None:
        """SKIPPED if present with the catalog checksum; an error if present with another one."""
        st = self._stat(image.name)
        if st is None:
            return None
        index = ChecksumIndex.load(self.root)
        sha = index.lookup(image.name, st)
        if sha is None:
            sha = sha256_of(self.root / image.name)
            self._update_index({image.name: (st, sha)})
        if sha == _expected(image) and st.st_size == image.size:
            return TransferResult(image.name, Outcome.SKIPPED, st.st_size, sha, "repository")
        raise ChecksumMismatch(
            f"{image.name} is already in the repository with another checksum "
            f"(sha256 {sha[:16]}…, the catalog says {_expected(image)[:16]}…)",
            hint=f"if the catalog is right, run `reconciler images remove {image.name}` and import or "
                 "fetch it again")

    def _local_source(self, source: Source, source_dir: Path | str | None) -> Path:
        if source_dir is None:
            raise PermanentError(f"source {source.value!r} is a relative path but no image source "
                                 "directory is set", hint="pass --source-dir DIR")
        return Path(source_dir) / source.value

    def _ensure_space(self, image: Image, *, already: int) -> None:
        try:
            self._incoming.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self._incoming).free
        except OSError as e:
            raise storage_error(e, str(self._incoming)) from None
        need = image.size - already
        if need > free:
            raise PermanentError(f"not enough space in the image repository for {image.name}: "
                                 f"need {need} bytes, {free} free",
                                 hint="free space or move the repository (--images-dir / RECONCILER_IMAGES)")

    def _partial_paths(self, name: str) -> tuple[Path, Path]:
        partial = self._incoming / f"{name}{PARTIAL}"
        return partial, partial.with_name(partial.name + ".json")

    def _image_lock(self, name: str) -> Any:
        try:
            self._incoming.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise storage_error(e, str(self._incoming)) from None
        return file_lock(self._incoming / f"{name}.lock", blocking=False, what=f"image {name}")

    def _update_index(self, learned: Mapping[str, tuple[os.stat_result, str]], *,
                      forget: Iterable[str] = (), keep: set[str] | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".lock", blocking=True, what="the checksum index"):
            index = ChecksumIndex.load(self.root)  # re-read under the lock: others may have written
            for name, (st, sha) in learned.items():
                index.record(name, st, sha)
            for name in forget:
                index.forget(name)
            if keep is not None:
                index.prune(keep)
            index.save()

    def _stat(self, name: str) -> os.stat_result | None:
        try:
            check_image_name(name)
        except UnsafePathError:
            return None
        try:
            st = (self.root / name).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st if (self.root / name).is_file() else None


def _check_image(image: Image) -> None:
    try:
        check_image_name(image.name)
    except UnsafePathError as e:
        e.location = e.location or image.loc
        raise
    if is_asacx(image.name):
        raise UnsupportedImage(f"{image.name} is an ASA-CX image; ASA-CX images are not managed",
                               hint="remove ASA-CX images from the catalog", location=image.loc)
    _expected(image)


def _source_of(image: Image) -> Source:
    if not image.source:
        raise PermanentError(f"image {image.name} has no source: in the catalog", location=image.loc,
                             hint="add source: (URL or path) to desired/images.yaml, "
                                  "or import the file with `reconciler images import PATH`")
    try:
        return parse_source(image.source, image=image.name)
    except UnsafePathError as e:
        e.location = e.location or image.loc
        raise


def _expected(image: Image) -> str:
    try:
        return _hex_sha256(image.sha256, image.name)
    except PermanentError as e:
        e.location = image.loc
        raise


def _hex_sha256(text: str | None, name: str) -> str:
    sha = (text or "").strip().lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise PermanentError(f"image {name} has an invalid sha256 in the catalog",
                             code=FindingCode.SCHEMA.value,
                             hint="write the 64 hex digits of the file's sha256")
    return sha


def _mismatch(image: Image, got: str, shown: str) -> ChecksumMismatch:
    return ChecksumMismatch(f"{shown} has sha256 {got} but the catalog says {_expected(image)} "
                            f"for {image.name}; refused",
                            hint="the file is damaged or not the catalog's image: fetch it again or fix "
                                 "sha256 in desired/images.yaml")


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _chunks_of(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(CHUNK):
            yield chunk
