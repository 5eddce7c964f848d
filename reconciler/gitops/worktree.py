"""Is a plain desired-state directory exactly a commit? (plans record `source.dirty`)

A plan made from files on disk names the commit checked out, but the files it was made from may
be edited, new or deleted since. Only the files the loader reads count (desired/*.yaml,
inventory/*.yaml under the root): an edited README does not make a plan dirty, an uncommitted
group does. Files are compared by git object id, so nothing is read from the object database
beyond the trees on the way.
"""

from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

import git

from reconciler.errors import ReconcilerError
from reconciler.gitops.source import GitTreeSource, subdir_of
from reconciler.loader.desired import DESIRED_PATTERNS
from reconciler.loader.inventory import INVENTORY_PATTERNS
from reconciler.loader.source import DirectorySource

LOADED_PATTERNS = DESIRED_PATTERNS + INVENTORY_PATTERNS


class WorkingTreeState(NamedTuple):
    commit: str | None  # HEAD, None outside git or before the first commit
    dirty: bool  # the files the loader reads differ from HEAD's
    changed: tuple[str, ...] = ()  # those files (relative to the root): edited, new or deleted
    subdir: str = ""  # where the root sits inside the repository's working tree


def working_tree_state(root: str | os.PathLike[str]) -> WorkingTreeState:
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return WorkingTreeState(None, False)
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            return WorkingTreeState(None, False)
        disk = DirectorySource(root)
        on_disk = {p for pat in LOADED_PATTERNS for p in disk.list(pat)}
        subdir = subdir_of(repo, root)
        try:
            head = repo.head.commit.hexsha
        except ValueError:  # unborn branch: nothing committed yet
            return WorkingTreeState(None, bool(on_disk), tuple(sorted(on_disk)), subdir)
        with GitTreeSource(repo, head, subdir=subdir or None) as tree:
            committed = {p for pat in LOADED_PATTERNS for p in tree.list(pat)}
            changed = on_disk ^ committed
            for path in on_disk & committed:
                if not _same(disk, tree, path):
                    changed.add(path)
    return WorkingTreeState(head, bool(changed), tuple(sorted(changed)), subdir)


def _same(disk: DirectorySource, tree: GitTreeSource, path: str) -> bool:
    try:
        data = disk.read(path)
        sha = tree.blob_sha(path)
    except (OSError, ReconcilerError):
        return False
    if len(sha) == 40:
        return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest() == sha
    return tree.read(path) == data  # a SHA-256 repository

