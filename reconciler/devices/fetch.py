"""Downloading a file from a device to the local disk: streamed, checked, atomic.

Only the unit answering the management address serves downloads (the active unit of a pair, the
control unit of a cluster, as the seed says); asking for another unit is refused before anything
is transferred, naming the unit to use. The bytes go to a hidden `.part` file next to the
destination; the size must equal the device's listing and, unless told not to, the device's own
`verify /sha-512` must agree with the bytes received. Only then is the file fsync'ed and renamed
into place, so a destination path never holds a partial or corrupt download.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.storage import check_fetch, parse_path
from reconciler.drivers.base import Driver, Hasher
from reconciler.errors import PermanentError, TemporaryError
from reconciler.images.storage import durable_rename, storage_error, unlink_quiet

# (bytes received, total bytes)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FetchResult:
    device: str
    member: str
    path: str  # on the device
    dest: Path
    size: int
    sha256: str
    sha512: str
    verified: bool  # the device's verify /sha-512 agreed


def destination(dest: Path | None, name: str, *, overwrite: bool) -> Path:
    """The local file to write: `dest`, or `dest/name` when it is a directory, or `./name`."""
    base = Path(name).name
    target = Path(base) if dest is None else (dest / base if dest.is_dir() else dest)
    if target.exists() and not overwrite:
        raise PermanentError(f"{target} already exists", code="FILE_EXISTS",
                             hint="choose another --output or pass --overwrite")
    if not target.parent.is_dir():
        raise PermanentError(f"directory {target.parent} does not exist", code="BAD_OUTPUT",
                             hint="create it or choose another --output")
    return target


async def fetch_file(drv: Driver, path: str, dest: Path | None = None, *, member: str | None = None,
                     overwrite: bool = False, verify: bool = True, progress: Progress | None = None) -> FetchResult:
    parse_path(path)
    facts = await drv.get_facts()
    located = check_fetch(facts, member, path)
    f = located.file
    target = destination(dest, f.name, overwrite=overwrite)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(3)}.part")
    hasher = Hasher()
    received = 0
    try:
        try:
            with open(tmp, "wb") as out:
                if progress is not None:
                    progress(0, f.size)
                async for chunk in drv.fetch_file(f.path):
                    out.write(chunk)
                    hasher.update(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(received, f.size)
                out.flush()
                os.fsync(out.fileno())
        except OSError as e:
            raise storage_error(e, str(target)) from None
        if received != f.size:
            raise TemporaryError(f"{f.path}: received {received} of {f.size} bytes", code="TRUNCATED",
                                 device=facts.name, member=located.member.name,
                                 hint="the transfer was cut short; run the fetch again")
        digests = hasher.digests()
        if verify:
            # raises ChecksumMismatchError when the device's copy and the bytes received differ
            await drv.verify(None, f.path, digests.get("sha-512"))
        try:
            durable_rename(tmp, target)
        except OSError as e:
            raise storage_error(e, str(target)) from None
    finally:
        unlink_quiet(tmp)
    return FetchResult(facts.name, located.member.name, f.path, target, received, digests.sha256, digests.sha512,
                       verify)

