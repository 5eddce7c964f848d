"""Load the desired state the way the commands are asked to: from a commit, or from disk.

`--repo PATH_OR_URL --ref REF` reads the commit's tree (the working tree is never used);
plain `--root DIR` reads the files on disk and records the commit checked out there and whether
the files the loader read differ from it (`dirty`), so a plan always says what it was made from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState
from reconciler.gitops.source import GitTreeSource, MirrorCache
from reconciler.gitops.worktree import working_tree_state
from reconciler.loader import DirectorySource, load_desired
from reconciler.loader.yamlio import DEFAULT_LIMITS, YamlLimits


@dataclass(frozen=True, slots=True)
class Revision:
    desired: DesiredState  # `.commit` is the commit read (or checked out), None outside git
    findings: list[Finding]
    dirty: bool = False  # read from disk, and the files differ from the commit
    changed: tuple[str, ...] = ()  # those files
    prefix: str = ""  # where desired/ sits inside the git repository (annotation paths)
    label: str = ""  # what was read, for messages


def load_revision(root: str | os.PathLike[str] = ".", *, repo: str | os.PathLike[str] | None = None,
                  ref: str | None = None, limits: YamlLimits = DEFAULT_LIMITS,
                  cache: MirrorCache | None = None, fetch: bool = True) -> Revision:
    if repo is not None or ref is not None:
        with GitTreeSource(repo if repo is not None else root, ref or "HEAD", cache=cache,
                           fetch=fetch) as src:
            desired, findings = load_desired(src, limits)
            return Revision(desired, findings, prefix=src.subdir, label=src.label)
    state = working_tree_state(root)
    desired, findings = load_desired(DirectorySource(root), limits)
    if state.commit is not None:
        desired = replace(desired, commit=state.commit)
    return Revision(desired, findings, state.dirty, state.changed, state.subdir, str(root))

