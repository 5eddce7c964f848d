"""The benchmark fleet generator: realistic shape, loads cleanly, and its simulated twin
discovers to exactly the snapshot it writes (so plan and discovery benchmarks see one fleet)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import httpx
import pytest

from bench.fleetgen import generate_fleet
from reconciler.contract import FindingCode, Severity
from reconciler.core.model import ImageStatus
from reconciler.core.observed import snapshot_to_dict
from reconciler.core.plan import plan_fleet
from reconciler.core.plan.planner import observed_models
from reconciler.core.resolve import resolve_fleet
from reconciler.discovery import DiscoveryOptions, discover
from reconciler.loader import DirectorySource, load_desired
from reconciler.loader.snapshot import load_snapshot
from reconciler.sim.app import create_app
from reconciler.sim.clock import ScaledClock
from reconciler.sim.fleet import SimCredentials, SimFleet
from reconciler.sim.fleetfile import fleet_from_dict, load_fleet_file

PASSWORD = "fleetgen-test-pw-3c1d"


def test_the_mix_follows_the_issue(tmp_path: Path) -> None:
    info = generate_fleet(3000, 11, tmp_path, unreachable_rate=0)
    data = json.loads((tmp_path / "snapshot.json").read_text())
    devices = data["devices"]
    assert len(devices) == 3000 == info.devices
    multi = [d for d in devices if d["context_mode"] == "multiple"]
    single = [d for d in devices if d["context_mode"] == "single"]
    modes = collections.Counter(d["mode"] for d in single)
    share = {k: v / 3000 for k, v in modes.items()}
    assert abs(share["standalone"] - 0.70) < 0.03
    assert abs(share["active-standby"] - 0.20) < 0.03
    assert abs(share["cluster"] - 0.08) < 0.02
    assert abs(len(multi) / 3000 - 0.02) < 0.01
    sizes = {len(d["members"]) for d in devices if d["mode"] == "cluster"}
    assert min(sizes) == 2 and max(sizes) == 8
    # groups and a few hundred overrides per 100,000 devices, not one entry per device
    assert info.groups < 60 and 5 <= info.overrides <= 0.01 * 3000
    assert len(list((tmp_path / "desired").glob("*.yaml"))) == 4


def test_the_generated_fleet_loads_resolves_and_plans_with_every_kind_of_outcome(tmp_path: Path) -> None:
    generate_fleet(1500, 5, tmp_path, unreachable_rate=0.01)
    desired, findings = load_desired(DirectorySource(tmp_path))
    assert not [f for f in findings if f.severity is Severity.ERROR], [f.line() for f in findings[:5]]
    snapshot = load_snapshot(tmp_path / "snapshot.json")
    resolved, rfind = resolve_fleet(desired, observed_models(snapshot))
    assert not [f for f in rfind if f.severity is Severity.ERROR], [f.line() for f in rfind[:5]]
    plan = plan_fleet(desired, resolved, snapshot, {n: ImageStatus.PRESENT for n in desired.images},
                      findings=rfind)
    s = plan.summary
    assert s.devices == 1500 and 0.3 < s.in_sync / 1500 < 0.6 and s.changed > 500 and s.blocked > 5
    codes = {f.code for p in plan.devices for f in p.findings}
    assert {FindingCode.DISK_SPACE, FindingCode.PENDING_CONFIG, FindingCode.DEVICE_UNREACHABLE,
            FindingCode.HA_HOPS} <= codes
    assert any(c.hops for p in plan.devices for c in p.changes)


@pytest.mark.parametrize("seed", [1, 2])
async def test_discovering_the_simulated_twin_gives_the_generated_snapshot(tmp_path: Path, seed: int,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    generate_fleet(60, seed, tmp_path, sim=True, address_base="https://sim", unreachable_rate=0.05)
    monkeypatch.setenv("RECONCILER_FW_PASSWORD", PASSWORD)
    fleet = SimFleet(load_fleet_file(tmp_path / "simfleet.yaml"), SimCredentials("admin", PASSWORD, None),
                     ScaledClock(1000))
    app = create_app(fleet)
    desired, _ = load_desired(DirectorySource(tmp_path))
    got = await discover(list(desired.inventory.values()),
                         options=DiscoveryOptions(attempts=1, timeout=30),
                         client_factory=lambda tls, names: httpx.AsyncClient(transport=httpx.ASGITransport(app=app)),
                         resolver=lambda ref: PASSWORD)
    want = json.loads((tmp_path / "snapshot.json").read_text())
    assert snapshot_to_dict(got)["devices"] == want["devices"]
    assert sorted(got.errors) == sorted(e["device"] for e in want["errors"])


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = generate_fleet(200, 9, tmp_path / "a", sim=True)
    b = generate_fleet(200, 9, tmp_path / "b", sim=True)
    for rel in a.files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


async def test_a_converged_fleet_has_no_drift_and_its_twin_discovers_to_its_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate_fleet(400, 8, tmp_path, sim=True, address_base="https://sim", unreachable_rate=0,
                   converged=True, sim_json=True)
    desired, findings = load_desired(DirectorySource(tmp_path))
    assert not [f for f in findings if f.severity is Severity.ERROR]
    snapshot = load_snapshot(tmp_path / "snapshot.json")
    resolved, rfind = resolve_fleet(desired, observed_models(snapshot))
    plan = plan_fleet(desired, resolved, snapshot,
                      {n: ImageStatus.PRESENT for n in desired.images}, findings=rfind)
    assert plan.summary.devices == 400 and plan.summary.in_sync == 400 and not plan.devices
    # the same devices as the drifting fleet of that seed, only further along
    drifting = tmp_path / "drifting"
    generate_fleet(400, 8, drifting, unreachable_rate=0)
    before = json.loads((drifting / "snapshot.json").read_text())["devices"]
    after = json.loads((tmp_path / "snapshot.json").read_text())["devices"]
    assert [(d["name"], d["model"], d["mode"]) for d in before] == \
        [(d["name"], d["model"], d["mode"]) for d in after]
    assert sum(d["running"] != e["running"] for d, e in zip(before, after, strict=True)) > 100
    monkeypatch.setenv("RECONCILER_FW_PASSWORD", PASSWORD)
    spec = fleet_from_dict(json.loads((tmp_path / "simfleet.json").read_text()))
    app = create_app(SimFleet(spec, SimCredentials("admin", PASSWORD, None), ScaledClock(1000)))
    got = await discover(list(desired.inventory.values()),
                         options=DiscoveryOptions(attempts=1, timeout=60),
                         client_factory=lambda tls, names: httpx.AsyncClient(
                             transport=httpx.ASGITransport(app=app)),
                         resolver=lambda ref: PASSWORD)
    assert snapshot_to_dict(got)["devices"] == after
