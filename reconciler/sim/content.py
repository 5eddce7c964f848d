"""File contents on simulated disks.

Files described in a fleet file are *synthetic*: their bytes are derived from a seed name and a
size (`reconciler.images.synthetic`), so a fleet of dozens of units with several images each
costs no memory. Uploaded files are kept as bytes in a content-addressed store, so the same
image uploaded to every unit of a cluster, or to twelve devices, is held once.
Digests are computed over the real bytes, the way `verify /md5` reads the flash.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from reconciler.images.synthetic import synthetic_range

ALGORITHMS = {"md5": "md5", "sha-256": "sha256", "sha-512": "sha512"}


@dataclass(eq=False)
class Content:
    size: int
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def chunks(self, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        raise NotImplementedError

    def digest(self, algorithm: str) -> str:
        """Hex digest; `algorithm` is `md5`, `sha-256` or `sha-512` as on the ASA CLI."""
        if algorithm not in self._digests:
            h = hashlib.new(ALGORITHMS[algorithm])
            for c in self.chunks():
                h.update(c)
            self._digests[algorithm] = h.hexdigest()
        return self._digests[algorithm]


@dataclass(eq=False)
class SyntheticContent(Content):
    seed: str = ""

    def chunks(self, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return synthetic_range(self.seed, self.size, offset, length)


@dataclass(eq=False)
class BlobContent(Content):
    data: bytes = b""

    def chunks(self, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        end = self.size if length is None else min(self.size, offset + length)
        step = 1 << 20
        for pos in range(offset, end, step):
            yield self.data[pos: min(end, pos + step)]


class BlobStore:
    """Deduplicates uploaded contents by sha256; a blob no file refers to any more is freed."""

    def __init__(self) -> None:
        self._blobs: weakref.WeakValueDictionary[str, BlobContent] = weakref.WeakValueDictionary()

    def put(self, data: bytes) -> BlobContent:
        key = hashlib.sha256(data).hexdigest()
        blob = self._blobs.get(key)
        if blob is None:
            blob = BlobContent(size=len(data), data=data)
            blob._digests["sha-256"] = key
            self._blobs[key] = blob
        return blob

    def __len__(self) -> int:
        return len(self._blobs)


def synthetic(seed: str, size: int) -> SyntheticContent:
    return SyntheticContent(size=size, seed=seed)
