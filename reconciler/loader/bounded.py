"""Reading a whole file without trusting its size: snapshots and saved plans.

The size is checked before reading (a sparse 10 GB file is refused at once), and the read itself
stops one byte past the limit, because a pipe, /dev/stdin or /dev/zero reports no size and a file
may grow after the check. Memory use is therefore bounded by the limit whatever the path is.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import ConfigError, Location


def read_bounded(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of `path`; ConfigError YAML_LIMIT naming the file when above `max_bytes`.
    OSError (missing, unreadable) is left to the caller, which knows what to advise."""
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_big(path, f"is {size} bytes, above", max_bytes, what)
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _too_big(path, "is larger than", max_bytes, what)
    return raw


def _too_big(path: Path, how: str, max_bytes: int, what: str) -> ConfigError:
    return ConfigError(f"{what} {how} the {max_bytes}-byte limit", code="YAML_LIMIT",
                       location=Location(str(path)))
