"""May this saved plan be applied? Checks of where its desired state came from.

`apply` calls `check_plan_source` before anything touches a device: a plan made from
uncommitted edits is refused (nobody reviewed those), and when a branch is configured the plan's
commit must be on it (reachable from the branch tip), so a plan made from a PR branch cannot be
applied before the PR is merged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import git

from reconciler.errors import PermanentError
from reconciler.gitops.source import GitTreeSource, MirrorCache, resolve_ref


class PlanSourceError(PermanentError):
    code = "PLAN_SOURCE"


@dataclass(frozen=True, slots=True)
class PlanSource:
    """The `source` record of a plan: the commit, whether the files differed from it, digest."""

    commit: str | None
    dirty: bool = False
    digest: str = ""


def is_on_branch(repo: git.Repo, commit: str, branch: str) -> bool:
    """Whether `commit` is reachable from `branch` (merged into it, or its tip)."""
    try:
        repo.git.merge_base("--is-ancestor", "--end-of-options", commit, f"{branch}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


def check_plan_source(source: PlanSource, *, repo: str | os.PathLike[str] | None = None,
                      branch: str | None = None, allow_dirty: bool = False,
                      cache: MirrorCache | None = None) -> None:
    """Raise PlanSourceError (one clear line) when the plan must not be applied."""
    if source.dirty and not allow_dirty:
        raise PlanSourceError(
            "the plan was made from uncommitted changes to desired/ or inventory/"
            + (f" (on top of {source.commit[:12]})" if source.commit else ""),
            hint="commit and review the change, then plan again (or pass --allow-dirty)")
    if branch is None:
        return
    if repo is None:
        raise PlanSourceError(f"cannot check the plan against branch {branch}: no repository "
                              "given", hint="pass --repo PATH_OR_URL")
    if source.commit is None:
        raise PlanSourceError(f"the plan records no commit, so it cannot be checked against "
                              f"branch {branch}", hint="plan from a git repository (--repo)")
    with GitTreeSource(repo, branch, cache=cache) as tree:
        try:
            resolve_ref(tree.repo, source.commit, tree.repo_label)
        except PermanentError:
            raise PlanSourceError(
                f"the plan's commit {source.commit[:12]} is not in {tree.repo_label}",
                hint="fetch the repository, or plan again from the branch") from None
        if not is_on_branch(tree.repo, source.commit, tree.commit):
            raise PlanSourceError(
                f"the plan's commit {source.commit[:12]} is not on branch {branch} "
                f"(tip {tree.commit[:12]}) of {tree.repo_label}",
                hint=f"merge the change into {branch} and plan again from it")
