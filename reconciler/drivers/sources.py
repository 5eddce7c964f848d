"""Byte sources for uploads: re-openable at any offset, streamed in chunks, never read whole.

An upload that the device answers with HTTP 413 is re-sent in smaller parts, and a failover
pair receives the same image twice, so drivers take a `ByteSource` they can open again at any
offset rather than a one-shot iterator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from reconciler.images.synthetic import synthetic_range

CHUNK = 256 * 1024


@runtime_checkable
class ByteSource(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    def open(self, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Yield the bytes [offset, offset+length) in chunks."""
        ...


@dataclass(frozen=True)
class FileSource:
    path: Path
    name: str
    size: int

    @classmethod
    def of(cls, path: Path | str, name: str | None = None) -> FileSource:
        p = Path(path)
        return cls(p, name or p.name, p.stat().st_size)

    async def open(self, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        remaining = self.size - offset if length is None else length
        with self.path.open("rb") as f:
            f.seek(offset)
            while remaining > 0:
                # reads of a few hundred KiB from a local disk; off-loaded so the loop stays free
                chunk = await asyncio.to_thread(f.read, min(CHUNK, remaining))
                if not chunk:
                    raise OSError(f"{self.path} is shorter than {self.size} bytes")
                remaining -= len(chunk)
                yield chunk


@dataclass(frozen=True)
class SyntheticSource:
    """The example catalog's stand-in images (`source: synthetic:NAME`)."""

    name: str
    size: int
    seed: str = ""

    async def open(self, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        for piece in synthetic_range(self.seed or self.name, self.size, offset, length):
            for i in range(0, len(piece), CHUNK):
                yield piece[i:i + CHUNK]
            await asyncio.sleep(0)


@dataclass(frozen=True)
class BytesSource:
    """Small in-memory payloads (tests, configuration files)."""

    name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    async def open(self, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        end = self.size if length is None else min(self.size, offset + length)
        for i in range(offset, end, CHUNK):
            yield self.data[i:min(end, i + CHUNK)]
