"""Where desired-state files come from: a directory today, a git tree without checkout tomorrow.

Paths are always POSIX, relative to the source root ("desired/fleet.yaml"), and are what every
finding prints, so messages read the same whatever the source.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

from reconciler.errors import ConfigError, Location


@runtime_checkable
class FileSource(Protocol):
    """A read-only tree of files.

    `list(pattern)` returns the sorted relative paths matching a glob such as "desired/*.yaml"
    (`*` does not cross "/"); `read(path)` returns the bytes. `label` names the source in
    messages ("/srv/fleet", "git:main@1a2b3c4"). A source may also offer `size(path) -> int` so
    oversized files are refused before they are read.
    """

    label: str

    def list(self, pattern: str) -> list[str]: ...

    def read(self, path: str) -> bytes: ...


def match_pattern(path: str, pattern: str) -> bool:
    """Glob match where `*` and `?` stay within one path segment."""
    p_parts = PurePosixPath(pattern).parts
    parts = PurePosixPath(path).parts
    return len(p_parts) == len(parts) and all(
        fnmatch.fnmatchcase(a, b) for a, b in zip(parts, p_parts, strict=True))


def check_relative(path: str) -> str:
    """Refuse paths that could leave the source root."""
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or "\\" in path or "\0" in path or not path:
        raise ConfigError(f"refusing to read {path!r}: not a plain path inside the repository",
                          code="UNSAFE_PATH")
    return str(p)


class DirectorySource:
    """Files under a directory on disk. Symlinks that lead outside the directory are refused."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.label = str(root)
        self._real_root = self.root.resolve()

    def list(self, pattern: str) -> list[str]:
        parent = PurePosixPath(pattern).parent
        directory = self.root / parent
        if not directory.is_dir():
            return []
        out = []
        for entry in directory.iterdir():
            rel = (parent / entry.name).as_posix() if str(parent) != "." else entry.name
            if match_pattern(rel, pattern) and entry.is_file():
                out.append(rel)
        return sorted(out)

    def _path(self, path: str) -> Path:
        full = self.root / check_relative(path)
        real = full.resolve()
        if real != self._real_root and self._real_root not in real.parents:
            raise ConfigError(f"refusing to read {path}: it links outside {self.label}",
                              code="UNSAFE_PATH", location=Location(path))
        return full

    def size(self, path: str) -> int:
        return self._path(path).stat().st_size

    def read(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def __repr__(self) -> str:
        return f"DirectorySource({self.label!r})"
