"""The image repository as the executor sees it: byte sources for copies, the digests a device
must reproduce when it verifies a copy, and a place for backups of running images.

Every image is hashed at most once per job (md5, sha-256, sha-512 in one pass, off the event
loop), and its sha-256 must be the catalog's — the plan checked that too, but the file could
have changed since, and a device must never be asked to boot bytes nobody vouched for.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from reconciler.drivers.base import Digests, Hasher
from reconciler.drivers.sources import ByteSource, FileSource
from reconciler.errors import PermanentError
from reconciler.images.repository import ImageNotInRepository, ImageRepository
from reconciler.images.upload import RepositorySource

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path | None  # where the backup was kept; None when the repository already holds it
    size: int
    sha256: str
    same_as: str | None  # the repository image with identical bytes, if any


class ImageSupply:
    def __init__(self, repository: ImageRepository | Path) -> None:
        self.repo = repository if isinstance(repository, ImageRepository) \
            else ImageRepository(repository)
        self._digests: dict[str, Digests] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def root(self) -> Path:
        return Path(self.repo.root)

    def _file(self, name: str, size: int | None) -> Path:
        path = self.repo.path_of(name)
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            raise PermanentError(f"image {name} is no longer in the image repository ({path})",
                                 code="IMAGE_NOT_IN_REPOSITORY",
                                 hint="run `reconciler images fetch` and plan again") from None
        if size is not None and actual != size:
            raise PermanentError(f"image {name} in the repository is {actual} bytes, the catalog "
                                 f"says {size}", code="IMAGE_CHECKSUM",
                                 hint="run `reconciler images verify`, re-fetch the image and "
                                      "plan again")
        return path

    def source(self, name: str, size: int | None, sha256: str | None = None) -> ByteSource:
        """What a copy streams. With the catalog's sha256 the bytes are verified as they are read
        and the copy stops before its last byte if they are not the catalog's (the file may have
        changed since it was planned, even behind the repository's checksum cache)."""
        path = self._file(name, size)
        if sha256:
            return RepositorySource(self.repo, name, path.stat().st_size if size is None else size,
                                    sha256)
        return FileSource.of(path, name)

    def remember(self, name: str, digests: Digests) -> None:
        """The digests of bytes just sent (a copy hashes while it streams)."""
        self._digests[name] = digests

    async def digests(self, name: str, sha256: str | None, size: int | None = None) -> Digests:
        """md5/sha-256/sha-512 of the repository copy; its sha-256 must be `sha256`."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            d = self._digests.get(name)
            if d is None:
                path = self._file(name, size)
                d = await asyncio.to_thread(_hash_file, path)
                self._digests[name] = d
        if sha256 and d.sha256 != sha256.lower():
            raise PermanentError(f"image {name} has sha256 {d.sha256}, the catalog says {sha256}",
                                 code="IMAGE_CHECKSUM",
                                 hint="re-fetch the image (`reconciler images fetch`) and check "
                                      "the sha256 in desired/images.yaml")
        return d

    async def keep_backup(self, device: str, name: str, chunks: AsyncIterator[bytes]
                          ) -> BackupResult:
        """Stream a device's running image into `.backups/<device>/<name>` of the repository.
        When the repository already holds those exact bytes under that name, no second copy is
        kept."""
        folder = self.root / ".backups" / device
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        sha = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    sha.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(f.write, chunk)
                await asyncio.to_thread(f.flush)
                await asyncio.to_thread(os.fsync, f.fileno())
            digest = sha.hexdigest()
            try:
                existing: Path | None = self.repo.path_of(name)
            except ImageNotInRepository:
                existing = None  # the usual reason to back up: this copy will be the only one
            if existing is not None and existing.stat().st_size == size:
                known = self._digests.get(name)
                if known is None:
                    known = await asyncio.to_thread(_hash_file, existing)
                if known.sha256 == digest:
                    Path(tmp).unlink(missing_ok=True)
                    return BackupResult(None, size, digest, name)
            final = folder / name
            os.replace(tmp, final)
            return BackupResult(final, size, digest, None)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _hash_file(path: Path) -> Digests:
    h = Hasher()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.digests()
