"""Deterministic stand-in image files for the bundled example fleet, demos, tests and benchmarks.

Real vendor images cannot ship with the project, so the example catalog lists synthetic files
whose bytes are derived from the file name: anyone can regenerate them and the catalog's sha256
values are true checksums, so the whole verify path (repository, copy, verify /md5) is exercised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

CHUNK = 1 << 20


def synthetic_chunks(name: str, size: int) -> Iterator[bytes]:
    """Yield the file's bytes in chunks of at most 1 MiB, without holding the file in memory."""
    index = 0
    remaining = size
    while remaining > 0:
        n = min(CHUNK, remaining)
        yield hashlib.shake_256(f"{name}:{index}".encode()).digest(n)
        remaining -= n
        index += 1


def synthetic_sha256(name: str, size: int) -> str:
    h = hashlib.sha256()
    for chunk in synthetic_chunks(name, size):
        h.update(chunk)
    return h.hexdigest()


def synthetic_range(name: str, size: int, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    """Yield bytes [offset, offset+length) of the file, generating only the chunks that overlap."""
    end = size if length is None else min(size, offset + length)
    index, pos = offset // CHUNK, (offset // CHUNK) * CHUNK
    while pos < end:
        n = min(CHUNK, size - pos)
        chunk = hashlib.shake_256(f"{name}:{index}".encode()).digest(n)
        yield chunk[max(0, offset - pos): min(n, end - pos)]
        pos += n
        index += 1
