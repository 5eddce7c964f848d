"""Desired state straight from a git commit: a `FileSource` over the commit's tree.

Nothing is checked out: blobs are read from the object database, so the working tree, the index
and HEAD are never touched, bare repositories work, and a plan for `main` can be made from a
clone that has a feature branch checked out with uncommitted edits. Only the trees on the way to
the files the loader asks for (desired/, inventory/) are read, however large the repository.

`--repo` may also be a URL: it is mirrored (bare, `clone --mirror`) into a cache under
`.reconciler/git/` and fetched on each use; a mirror's refs are the remote's branches, so
`origin/main` is read as `main` there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import posixpath
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import git
from git.objects import Blob, Tree

from reconciler.errors import ConfigError, Location
from reconciler.loader.source import check_relative, match_pattern
from reconciler.paths import state_dir
from reconciler.secrets import redact

_SYMLINK_MODE = stat.S_IFLNK
_MAX_SYMLINK_HOPS = 8
# git clone/fetch of a large repository on a slow link can take a while; a hung one must not
# hold a CI job or the daemon forever
GIT_NETWORK_TIMEOUT = 900
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_SCP = re.compile(r"^[\w.~-]+@[\w.-]+:(?!//)")  # git@github.com:org/fleet.git


def is_url(repo: str | os.PathLike[str]) -> bool:
    text = os.fspath(repo)
    return bool(_URL.match(text) or _SCP.match(text))


def display_url(url: str) -> str:
    """The URL without any password or token, for messages and labels."""
    if not _URL.match(url):
        return url
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username and parts.password is None else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def git_env() -> dict[str, str]:
    """Never wait for a password prompt: CI and the daemon have no one to type it."""
    return {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}


def _git_failure(e: git.GitCommandError) -> str:
    """git's own reason: its first `fatal:`/`error:` line (free of URL credentials)."""
    text = e.stderr if isinstance(e.stderr, str) else str(e)
    lines = [ln.strip().removeprefix("stderr:").strip(" '") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("hint:")]
    reasons = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    if reasons or lines:
        return redact((reasons or lines)[0].removeprefix("fatal: ").removeprefix("error: "))
    return f"git exited with status {e.status}"


def open_repo(repo: str | os.PathLike[str]) -> git.Repo:
    """A local repository (working tree or bare), found from any directory inside it."""
    path = Path(repo)
    try:
        return git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError:
        raise ConfigError(f"{path} does not exist", code="GIT",
                          hint="give --repo a local git repository or a clone URL") from None
    except git.InvalidGitRepositoryError:
        raise ConfigError(f"{path} is not inside a git repository", code="GIT",
                          hint="give --repo a local git repository or a clone URL") from None


def subdir_of(repo: git.Repo, path: str | os.PathLike[str]) -> str:
    """Where `path` sits inside the repository's working tree ("" at the top or when bare)."""
    top = repo.working_tree_dir
    real = Path(os.path.realpath(path))
    if top is None or real == Path(os.path.realpath(repo.git_dir)) or \
            Path(os.path.realpath(repo.git_dir)) in real.parents:
        return ""
    rel = real.relative_to(os.path.realpath(top))
    return rel.as_posix() if str(rel) != "." else ""


class MirrorCache:
    """Bare mirror clones of remote repositories under `.reconciler/git/`, one per URL."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else state_dir() / "git"

    def path_for(self, url: str) -> Path:
        tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        slug = re.sub(r"[^A-Za-z0-9._-]", "_", tail)[:40] or "repo"
        return self.directory / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:16]}.git"

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        # two runs (CI jobs on one runner, the daemon and an operator) must not fetch into one
        # mirror at once: git would fail on ref locks half-way
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def open(self, url: str, *, fetch: bool = True) -> git.Repo:
        parts = urlsplit(url) if _URL.match(url) else None
        if parts is not None and parts.password is not None:
            raise ConfigError(
                f"the repository URL {display_url(url)} embeds a password or token", code="GIT",
                hint="use a git credential helper, an SSH key or GIT_ASKPASS; a token in the URL "
                     "would be stored in the mirror's config and printed in logs")
        path = self.path_for(url)
        shown = display_url(url)
        with self._locked(path):
            if not (path / "HEAD").exists():
                self._clone(url, path, shown)
            elif fetch:
                repo = git.Repo(path)
                try:
                    with repo.git.custom_environment(**git_env()):
                        repo.git.fetch("--prune", "--quiet", "origin",
                                       kill_after_timeout=GIT_NETWORK_TIMEOUT)
                except git.GitCommandError as e:
                    repo.close()
                    raise ConfigError(f"cannot fetch {shown}: {_git_failure(e)}", code="GIT",
                                      hint="check the URL, network access and git credentials "
                                           "(or use --no-fetch to read the cached mirror)") from None
                return repo
        return git.Repo(path)

    def _clone(self, url: str, path: Path, shown: str) -> None:
        # clone next to the final place and rename: an interrupted clone leaves no half mirror
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=self.directory))
        try:
            git.Git().clone("--mirror", "--quiet", "--", url, str(tmp / "m.git"),
                            env=git_env(), kill_after_timeout=GIT_NETWORK_TIMEOUT)
            os.replace(tmp / "m.git", path)
        except git.GitCommandError as e:
            raise ConfigError(f"cannot clone {shown}: {_git_failure(e)}", code="GIT",
                              hint="check the URL, network access and git credentials") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def resolve_ref(repo: git.Repo, ref: str, shown: str, *, mirror: bool = False) -> str:
    """The full SHA of the commit `ref` names (branch, tag, SHA, origin/main, HEAD~1, ...)."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise ConfigError(f"{ref!r} is not a git revision", code="GIT",
                          hint="give a branch, tag or commit SHA")
    candidates = [ref]
    if mirror and ref.startswith("origin/"):
        candidates.append(ref.removeprefix("origin/"))  # the mirror *is* origin
    for cand in candidates:
        sha = _rev_parse(repo, cand)
        if sha is not None:
            return sha
    if mirror and re.fullmatch(r"[0-9a-fA-F]{7,64}", ref):
        # a PR head from a fork may be on no branch the mirror fetched; servers hand out
        # reachable commits by SHA
        with contextlib.suppress(git.GitCommandError), repo.git.custom_environment(**git_env()):
            repo.git.fetch("--quiet", "origin", ref, kill_after_timeout=GIT_NETWORK_TIMEOUT)
            sha = _rev_parse(repo, "FETCH_HEAD")
            if sha is not None and sha.startswith(ref.lower()):
                return sha
    raise ConfigError(f"revision {ref!r} not found in {shown}", code="GIT",
                      hint="check the branch, tag or SHA (and fetch it, e.g. checkout with "
                           "fetch-depth: 0 in CI)")


def _rev_parse(repo: git.Repo, ref: str) -> str | None:
    try:
        out = repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except git.GitCommandError:
        return None
    return out.strip() or None


class GitTreeSource:
    """The files of one commit, read from the object database (a loader `FileSource`).

    `repo` is a path inside a working tree, a bare repository, a `git.Repo`, or a URL (mirrored
    under `.reconciler/git/`). `subdir` is where desired/ and inventory/ live inside the
    repository; by default the position of `repo` inside its working tree, so
    `--repo fleet/` in a monorepo reads `fleet/desired/*.yaml` from the commit.
    """

    def __init__(self, repo: str | os.PathLike[str] | git.Repo, ref: str = "HEAD", *,
                 subdir: str | None = None, cache: MirrorCache | None = None,
                 fetch: bool = True) -> None:
        self._owned = not isinstance(repo, git.Repo)
        mirror = False
        if isinstance(repo, git.Repo):
            self.repo = repo
            shown = repo.working_tree_dir or repo.git_dir
            found_subdir = ""
        elif is_url(repo):
            url = os.fspath(repo)
            shown = display_url(url)
            self.repo = (cache or MirrorCache()).open(url, fetch=fetch)
            mirror = True
            found_subdir = ""
        else:
            self.repo = open_repo(repo)
            shown = os.path.abspath(repo)
            found_subdir = subdir_of(self.repo, repo) if Path(repo).is_dir() else ""
        self.repo_label = str(shown)
        self.mirror = mirror  # a cached mirror of a URL: its branches are origin's
        try:
            self.commit = resolve_ref(self.repo, ref, self.repo_label, mirror=mirror)
            self._commit = self.repo.commit(self.commit)
        except BaseException:
            self.close()
            raise
        self.ref = ref
        self.subdir = check_relative(subdir).strip("/") if subdir else found_subdir
        self.label = f"git:{self.repo_label}@{ref} ({self.commit[:12]})"
        self._trees: dict[str, Tree | None] = {}

    # -- FileSource ------------------------------------------------------------------------

    def list(self, pattern: str) -> list[str]:
        parent = posixpath.dirname(pattern)
        tree = self._tree(parent)
        if tree is None:
            return []
        out = []
        for item in tree:
            if not isinstance(item, Blob):
                continue  # subtrees and submodules
            rel = posixpath.join(parent, item.name) if parent else item.name
            if match_pattern(rel, pattern) and self._listed(rel):
                out.append(rel)
        return sorted(out)

    def _listed(self, rel: str) -> bool:
        try:
            return self._file(rel) is not None
        except ConfigError:
            return True  # a link out of the tree: listed, so reading it reports UNSAFE_PATH

    def read(self, path: str) -> bytes:
        data: bytes = self._blob(path).data_stream.read()
        return data

    def size(self, path: str) -> int:
        return int(self._blob(path).size)

    # -- extras ----------------------------------------------------------------------------

    def blob_sha(self, path: str) -> str:
        """The git object id of the file's content (after following symlinks in the tree)."""
        return str(self._blob(path).hexsha)

    def close(self) -> None:
        if self._owned:
            self.repo.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitTreeSource({self.label!r})"

    # -- tree walking ----------------------------------------------------------------------

    def _full(self, path: str) -> str:
        return posixpath.join(self.subdir, path) if self.subdir else path

    def _tree(self, path: str) -> Tree | None:
        """The tree at `path` (relative to the source root), None when there is none."""
        path = path.strip("/")
        if path in self._trees:
            return self._trees[path]
        root: Tree = self._commit.tree
        full = self._full(path).strip("/")
        found: Tree | None = root
        if full:
            try:
                obj = root / full
                found = obj if isinstance(obj, Tree) else None
            except KeyError:
                found = None
        self._trees[path] = found
        return found

    def _file(self, path: str, hops: int = 0) -> Blob | None:
        """The blob at `path`, following symlinks that stay inside the source root."""
        tree = self._tree(posixpath.dirname(path))
        if tree is None:
            return None
        try:
            obj = tree / posixpath.basename(path)
        except KeyError:
            return None
        if not isinstance(obj, Blob):
            return None
        if stat.S_IFMT(obj.mode) != _SYMLINK_MODE:
            return obj
        if hops >= _MAX_SYMLINK_HOPS:
            raise ConfigError(f"refusing to read {path}: too many levels of symbolic links",
                              code="UNSAFE_PATH", location=Location(path))
        target = obj.data_stream.read().decode("utf-8", "surrogateescape")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            raise ConfigError(f"refusing to read {path}: it links outside {self.label}",
                              code="UNSAFE_PATH", location=Location(path))
        return self._file(resolved, hops + 1)

    def _blob(self, path: str) -> Blob:
        check_relative(path)
        blob = self._file(str(PurePosixPath(path)))
        if blob is None:
            raise ConfigError(f"{path} does not exist in commit {self.commit[:12]} of "
                              f"{self.repo_label}", code="FILE_ERROR", location=Location(path))
        return blob
