"""A small cache of verified checksums so that planning never re-hashes the repository.

Keyed by (name, size, mtime_ns): a file that was replaced or appended to no longer matches its
entry and is hashed again on the next look. `ImageRepository.verify` ignores the cache and
re-hashes everything (an in-place rewrite that keeps size and mtime is the one thing the key
cannot see). The file is JSON so an operator can read it; a damaged index is simply rebuilt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from reconciler.images.storage import write_json_atomic

INDEX_NAME = ".index.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class IndexEntry:
    size: int
    mtime_ns: int
    sha256: str


class ChecksumIndex:
    def __init__(self, root: Path) -> None:
        self.path = root / INDEX_NAME
        self._entries: dict[str, IndexEntry] = {}
        self._dirty = False

    @classmethod
    def load(cls, root: Path) -> ChecksumIndex:
        index = cls(root)
        try:
            raw = json.loads(index.path.read_text(encoding="utf-8"))
            if raw.get("format") == FORMAT:
                for name, e in raw.get("entries", {}).items():
                    index._entries[name] = IndexEntry(int(e["size"]), int(e["mtime_ns"]), str(e["sha256"]))
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            index._dirty = True  # unreadable: start over, rewritten on save
        return index

    def lookup(self, name: str, st: os.stat_result) -> str | None:
        e = self._entries.get(name)
        if e is not None and e.size == st.st_size and e.mtime_ns == st.st_mtime_ns:
            return e.sha256
        return None

    def record(self, name: str, st: os.stat_result, sha256: str) -> None:
        entry = IndexEntry(st.st_size, st.st_mtime_ns, sha256)
        if self._entries.get(name) != entry:
            self._entries[name] = entry
            self._dirty = True

    def forget(self, name: str) -> None:
        if self._entries.pop(name, None) is not None:
            self._dirty = True

    def prune(self, present: set[str]) -> None:
        for name in set(self._entries) - present:
            self.forget(name)

    def save(self) -> None:
        if not self._dirty:
            return
        data = {"format": FORMAT, "entries": {
            n: {"size": e.size, "mtime_ns": e.mtime_ns, "sha256": e.sha256}
            for n, e in sorted(self._entries.items())}}
        write_json_atomic(self.path, data)
        self._dirty = False
