"""The desired state last read from git, kept while the files it was read from stay the same.

The daemon reads its branch every cycle; usually the tip did not move. Parsing and validating
the YAML again (about a quarter of a second per 10,000 inventory devices) would be work that
nothing changed, so the state is reused when every file the loader reads (desired/*.yaml and
inventory/*.yaml, symbolic links followed) has the same git object id as last time. That key
is exact and cheaper than the commit: a commit that only touches other files (a README, CI
configuration) still reuses the state, under the new commit id.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState
from reconciler.errors import ConfigError
from reconciler.gitops.source import GitTreeSource
from reconciler.gitops.worktree import LOADED_PATTERNS
from reconciler.loader import load_desired
from reconciler.loader.yamlio import DEFAULT_LIMITS, YamlLimits

FilesKey = tuple[tuple[str, str], ...]


def files_key(src: GitTreeSource) -> FilesKey:
    """(path, git object id) of every file `load_desired` reads from `src`; empty when one
    cannot be read (the loader reports it, e.g. a link out of the tree)."""
    paths = sorted({p for pat in LOADED_PATTERNS for p in src.list(pat)})
    try:
        return tuple((p, src.blob_sha(p)) for p in paths)
    except ConfigError:
        return ()


class DesiredCache:
    """One per daemon: `load(src)` answers like `load_desired(src)`, parsing only when the
    files differ from the last call's."""

    def __init__(self, limits: YamlLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._key: FilesKey | None = None
        self._value: tuple[DesiredState, list[Finding]] | None = None

    def load(self, src: GitTreeSource) -> tuple[DesiredState, list[Finding], bool]:
        """The desired state of `src`'s commit, its findings, and whether it was parsed now
        (False: the files are those of the last call; only the commit id is new)."""
        key = files_key(src)
        if key and key == self._key and self._value is not None:
            desired, findings = self._value
            if desired.commit != src.commit:
                desired = replace(desired, commit=src.commit)
                self._value = (desired, findings)
            return desired, list(findings), False
        desired, findings = load_desired(src, self.limits)
        # no files: the findings say so naming the commit, nothing worth keeping
        self._key, self._value = (key, (desired, list(findings))) if key else (None, None)
        return desired, findings, True
