"""Crash-safe file primitives for the image repository: durable renames and advisory locks.

A file only ever appears under its final name complete and fsync'ed: writers fill a `.partial`
file, fsync it, rename it into place and fsync the directory, so a power cut leaves either the old
state or the new one, never a truncated image that looks complete.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler.errors import PermanentError, TemporaryError

try:  # POSIX; the reconciler runs on Linux/macOS hosts
    import fcntl
except ImportError:  # pragma: no cover - Windows: locking degrades to none
    fcntl = None  # type: ignore[assignment]


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def durable_rename(src: Path, dst: Path) -> None:
    """Rename a fully written and fsync'ed file into place and make the rename itself durable."""
    os.replace(src, dst)
    fsync_dir(dst.parent)


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    durable_rename(tmp, path)


def unlink_quiet(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@contextlib.contextmanager
def file_lock(path: Path, *, blocking: bool, what: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if needed).

    Non-blocking locks turn contention into a TemporaryError naming `what`, so two fetches of the
    same image never write the same `.partial` file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                raise TemporaryError(f"{what} is in use by another reconciler process",
                                     hint="wait for the other fetch/import to finish and run again") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def storage_error(e: OSError, what: str) -> PermanentError | TemporaryError:
    """Turn an OSError from the repository's own disk into a clean, classified error."""
    if e.errno == errno.ENOSPC:
        return PermanentError(f"no space left while writing {what}",
                              hint="free space in the image repository (--images-dir) and run again; "
                                   "a partial download is kept and resumed")
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermanentError(f"cannot write {what}: {e.strerror}",
                              hint="check the permissions of the image repository (--images-dir)")
    return TemporaryError(f"I/O error on {what}: {e.strerror or e}")
