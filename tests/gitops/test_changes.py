"""Which devices a PR changes: every scenario in tests/fixtures/gitops/prs replayed in real git."""

from __future__ import annotations

from dataclasses import fields

import pytest

from reconciler.core.model import Mode, Settings
from reconciler.gitops.changes import (
    JOB_SETTINGS,
    STEP_SETTINGS,
    ChangeKind,
    ChangeSet,
    Resolution,
    compare,
)
from reconciler.gitops.source import GitTreeSource
from reconciler.loader import load_desired
from tests.gitops.repos import FleetRepo, PrScenario, pr_scenarios

SCENARIOS = pr_scenarios()


def _resolution(repo: FleetRepo, ref: str, observed=None) -> Resolution:  # type: ignore[no-untyped-def]
    with GitTreeSource(repo.path, ref) as src:
        desired, findings = load_desired(src)
    return Resolution.of(desired, findings, observed)


def _changes(repo: FleetRepo, scenario: PrScenario) -> ChangeSet:
    base, head = scenario.replay(repo)
    return compare(_resolution(repo, base), _resolution(repo, head))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_pr_scenario(fleet_repo: FleetRepo, scenario: PrScenario) -> None:
    changes = _changes(fleet_repo, scenario)
    expect = scenario.expect
    planned = {c.device: list(c.reasons) for c in changes.planned}
    if "planned" in expect:
        assert planned == expect["planned"]
    if "planned_count" in expect:
        assert len(planned) == expect["planned_count"]
    removed = {c.device: list(c.reasons) for c in changes.removed}
    assert removed == expect.get("removed", {})
    unplanned = {c.device: list(c.reasons) for c in changes.unplanned}
    for device, reasons in (expect.get("unplanned") or {}).items():
        assert unplanned.get(device) == reasons, device
    if "unplanned_count" in expect:
        assert len(unplanned) == expect["unplanned_count"]
    assert (changes.base_incomplete is not None) == bool(expect.get("base_incomplete"))
    assert (changes.head_incomplete is not None) == bool(expect.get("head_incomplete"))
    assert changes.devices == frozenset(planned)
    assert not set(planned) & set(unplanned)


def test_every_setting_is_classified() -> None:
    """A new setting must be sorted into step or job settings, or PR mode would miss it."""
    names = {f.name for f in fields(Settings)}
    assert STEP_SETTINGS | JOB_SETTINGS == names
    assert not STEP_SETTINGS & JOB_SETTINGS


def test_kinds_and_base_incomplete_message(fleet_repo: FleetRepo) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "base-broken")
    changes = _changes(fleet_repo, scenario)
    assert changes.base_incomplete is not None
    assert "desired/devices.yaml:" in changes.base_incomplete
    assert all(c.kind is ChangeKind.CHANGED for c in changes.planned)
    assert changes.planned[0].reasons[0] == "planned because the base revision is incomplete"


def test_identical_revisions_change_nothing(fleet_repo: FleetRepo) -> None:
    same = compare(_resolution(fleet_repo, "HEAD"), _resolution(fleet_repo, "main"))
    assert same == ChangeSet()
    assert same.to_dict() == {"planned": [], "removed": [], "unplanned": [],
                              "base_incomplete": None, "head_incomplete": None}


def test_observed_model_decides_the_build(fleet_repo: FleetRepo) -> None:
    """A catalog change to the 5500-X build matters only for devices discovery says are 5500-X,
    whatever the inventory's model hint says."""
    base = fleet_repo.repo.head.commit.hexsha
    fleet_repo.replace("desired/images.yaml", "sha256: dde3596c8ee6578e00e3025b8e4afac0a3b3374d"
                       "0f87add7d96c65a1bc2b1341", "sha256: " + "ab" * 32)
    head = fleet_repo.commit("new checksum for asa941-smp-k8.bin")
    hint_only = compare(_resolution(fleet_repo, base), _resolution(fleet_repo, head))
    assert sorted(hint_only.devices) == ["fw-aa-pair", "fw-dc-cluster", "fw-dc-pair",
                                         "fw-multi-01"]
    # discovery reports fw-branch-02 as an ASA5545-X: it leaves branch-5500x (model glob), and
    # no other group gives it a system image, so the new checksum does not concern it
    observed = {"fw-branch-02": ("ASA5545-X", Mode.STANDALONE)}
    seen = compare(_resolution(fleet_repo, base, observed),
                   _resolution(fleet_repo, head, observed))
    assert "fw-branch-02" not in seen.devices  # no group gives it an asa target any more
    observed = {"fw-multi-01": ("ASA5506-X", Mode.STANDALONE)}
    seen = compare(_resolution(fleet_repo, base, observed),
                   _resolution(fleet_repo, head, observed))
    assert "fw-multi-01" not in seen.devices  # a 5506-X takes the lfbff build: unchanged
    assert "fw-dc-pair" in seen.devices
