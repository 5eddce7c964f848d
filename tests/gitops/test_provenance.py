"""check_plan_source: dirty plans and plans from unmerged commits are refused."""

from __future__ import annotations

import pytest

from reconciler.gitops.provenance import PlanSource, PlanSourceError, check_plan_source
from tests.gitops.repos import FleetRepo


def test_dirty_plan_refused_unless_allowed(fleet_repo: FleetRepo) -> None:
    sha = fleet_repo.repo.head.commit.hexsha
    with pytest.raises(PlanSourceError, match="uncommitted changes") as err:
        check_plan_source(PlanSource(sha, dirty=True))
    assert sha[:12] in str(err.value) and "\n" not in str(err.value)
    check_plan_source(PlanSource(sha, dirty=True), allow_dirty=True)
    check_plan_source(PlanSource(None))  # no branch configured: nothing else to check


def test_commit_must_be_on_the_branch(fleet_repo: FleetRepo) -> None:
    base = fleet_repo.repo.head.commit.hexsha
    fleet_repo.branch("pr-1")
    fleet_repo.replace("desired/fleet.yaml", "max_parallel: 4", "max_parallel: 2")
    pr = fleet_repo.commit("pr change")
    fleet_repo.checkout("main")

    check_plan_source(PlanSource(base), repo=fleet_repo.path, branch="main")
    with pytest.raises(PlanSourceError, match=f"{pr[:12]} is not on branch main"):
        check_plan_source(PlanSource(pr), repo=fleet_repo.path, branch="main")

    fleet_repo.repo.git.merge("--no-ff", "-q", "-m", "merge pr-1", "pr-1")
    check_plan_source(PlanSource(pr), repo=fleet_repo.path, branch="main")  # merged now
    check_plan_source(PlanSource(base), repo=fleet_repo.path, branch="main")  # an ancestor


def test_unknown_commit_and_missing_inputs(fleet_repo: FleetRepo) -> None:
    with pytest.raises(PlanSourceError, match="is not in"):
        check_plan_source(PlanSource("ab" * 20), repo=fleet_repo.path, branch="main")
    with pytest.raises(PlanSourceError, match="records no commit"):
        check_plan_source(PlanSource(None), repo=fleet_repo.path, branch="main")
    with pytest.raises(PlanSourceError, match="no repository"):
        check_plan_source(PlanSource("ab" * 20), branch="main")
