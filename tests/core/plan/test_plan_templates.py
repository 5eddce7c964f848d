"""Plans shared between devices that differ only in their names must be exactly the plans each
device gets on its own (`plan_device`), whatever the fleet."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import all_present, desired, resolved, snapshot

from bench.fleetgen import generate_fleet
from reconciler.contract import FindingCode
from reconciler.core.model import ImageStatus
from reconciler.core.plan import plan_fleet
from reconciler.core.plan.context import Fleet
from reconciler.core.plan.planner import observed_models, plan_device
from reconciler.core.plan.templates import STAND_IN
from reconciler.core.resolve import resolve_fleet
from reconciler.loader import DirectorySource, load_desired
from reconciler.loader.snapshot import load_snapshot


@pytest.mark.parametrize("seed", [4, 21])
def test_every_device_gets_the_plan_it_gets_on_its_own(tmp_path: Path, seed: int) -> None:
    generate_fleet(2500, seed, tmp_path, unreachable_rate=0.01)
    want, _ = load_desired(DirectorySource(tmp_path))
    snap = load_snapshot(tmp_path / "snapshot.json")
    res, rfind = resolve_fleet(want, observed_models(snap))
    status = {n: ImageStatus.PRESENT for n in want.images}
    status[sorted(status)[3]] = ImageStatus.MISSING  # some plans report IMAGE_NOT_IN_REPOSITORY
    plan = plan_fleet(want, res, snap, status, findings=rfind)
    fleet = Fleet.build(want, res, snap, status)
    by_name = {p.device: p for p in plan.devices}
    assert plan.summary.changed > 800 and plan.summary.in_sync > 500
    for name in want.inventory:
        upstream = [f for f in rfind if f.device == name]
        alone = plan_device(name, res[name], snap.devices.get(name), snap, fleet, None, upstream)
        assert by_name.get(name) == alone, name
        if alone is not None:  # equality ignores locations: compare what is shown, too
            assert by_name[name].to_dict() == alone.to_dict()
    text = str([p.to_dict() for p in plan.devices])
    assert STAND_IN not in text
    assert any(f.code is FindingCode.VPN_SHARED_POLICY and "keep" in f.message
               for p in plan.devices for f in p.findings)


def test_twins_share_a_plan_under_their_own_names() -> None:
    def solo(name: str) -> str:
        return f"""
  - name: {name}
    model: ASA5585-SSP-20
    platform: asa5585
    mode: standalone
    running: {{asa: "9.3(3)"}}
    members:
      - {{name: {name}, role: standalone, running: {{asa: "9.3(3)"}}, serial: S-{name},
         disks: [{{name: disk0, size: 100000000, free: 90000000, files: []}}]}}"""
    snap = snapshot("taken_at: t\ndevices:" + solo("fw-a") + solo("fw-b") + solo("fw-c"))
    res = {n: resolved(n, {"asa": "asa941-smp-k8.bin"}) for n in ("fw-a", "fw-b", "fw-c")}
    res["fw-c"] = resolved("fw-c", {"asa": "asa941-smp-k8.bin"}, max_parallel=3)  # other settings
    plan = plan_fleet(desired("fw-a", "fw-b", "fw-c"), res, snap, all_present())
    a, b = plan.device("fw-a"), plan.device("fw-b")
    assert a is not None and b is not None
    assert {s.member for s in a.steps} == {"fw-a"} and {s.member for s in b.steps} == {"fw-b"}
    assert [s._replace(member="x") for s in a.steps] == [s._replace(member="x") for s in b.steps]
    assert a.observed_digest != b.observed_digest
    c = plan.device("fw-c")
    assert c is not None and c.settings is not None and c.settings.max_parallel == 3
