"""A catalog image in the repository as a driver `ByteSource`, verified while it is read.

This is what an image copy streams to a device. Every range that ends at the end of the file is
checked against the catalog's sha256 before its last chunk leaves the repository
(`ImageRepository.open_stream(size=..., sha256=...)`), so a file that changed after planning (bit rot, a
manual copy, tampering that kept size and mtime so the checksum cache did not notice) is never
pushed complete: the copy fails with IMAGE_CHECKSUM and the device keeps at most a partial file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from reconciler.core.model import Image
from reconciler.images.download import CHUNK
from reconciler.images.repository import ImageRepository


@dataclass(frozen=True)
class RepositorySource:
    repo: ImageRepository
    name: str
    size: int
    sha256: str  # the catalog's
    chunk_size: int = CHUNK

    @classmethod
    def of(cls, repo: ImageRepository, image: Image) -> RepositorySource:
        return cls(repo, image.name, image.size, image.sha256)

    async def open(self, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        stream = await asyncio.to_thread(self.repo.open_stream, self.name, offset=offset, length=length,
                                         chunk_size=self.chunk_size, size=self.size, sha256=self.sha256)
        try:
            while True:
                chunk = await asyncio.to_thread(next, stream, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            stream.close()
