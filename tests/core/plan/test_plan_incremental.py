"""Planning with a PlanMemory plans again only the devices whose inputs changed, and the plan is
exactly the one made from scratch (values and what is shown, locations included), whatever
changed: observations, device states, upstream findings, the policy, the catalog, the image
repository, the devices that keep a shared VPN release."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.fleetgen import generate_fleet
from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import DeviceState, ImageStatus, ImageType
from reconciler.core.observed import ObservedDevice, Snapshot
from reconciler.core.plan import Plan, plan_fleet
from reconciler.core.plan.context import Fleet
from reconciler.core.plan.incremental import PlanMemory
from reconciler.core.plan.planner import observed_models
from reconciler.core.resolve import resolve_fleet
from reconciler.loader import DirectorySource, load_desired
from reconciler.loader.snapshot import load_snapshot


class Fleetlab:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.desired, _ = load_desired(DirectorySource(root))
        self.snap = load_snapshot(root / "snapshot.json")
        self.status = {n: ImageStatus.PRESENT for n in self.desired.images}
        self.states: dict[str, DeviceState] = {}
        self.findings: list[Finding] = []
        self.memory = PlanMemory()

    def reload(self) -> None:
        self.desired, _ = load_desired(DirectorySource(self.root))

    def plan(self, memory: PlanMemory | None) -> Plan:
        models = observed_models(self.snap)
        res, rfind = (memory.resolve(self.desired, models) if memory is not None
                      else resolve_fleet(self.desired, models))
        return plan_fleet(self.desired, res, self.snap, self.status, device_states=self.states,
                          findings=[*self.findings, *rfind], memory=memory)

    def check(self) -> int:
        """Plan with the memory; it must equal a plan from scratch. Returns the devices planned
        besides those discovery did not see (always planned: their plan quotes the error)."""
        got, want = self.plan(self.memory), self.plan(None)
        assert got == want
        assert got.to_dict() == want.to_dict()  # equality ignores locations; what is shown not
        return self.memory.planned - len(self.snap.errors)

    def managed(self) -> int:
        return self.plan(None).summary.devices


def _with_asa(dev: ObservedDevice, version: str) -> ObservedDevice:
    return replace(dev, running={**dev.running, ImageType.ASA: version},
                   members=tuple(replace(m, running={**m.running, ImageType.ASA: version})
                                 for m in dev.members))


def _observe(snap: Snapshot, changed: dict[str, ObservedDevice]) -> Snapshot:
    return replace(snap, devices={**snap.devices, **changed})


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    generate_fleet(600, 3, root, unreachable_rate=0.01)
    return root


@pytest.fixture
def lab(fleet_dir: Path, tmp_path: Path) -> Fleetlab:
    import shutil

    for d in ("desired", "inventory"):
        shutil.copytree(fleet_dir / d, tmp_path / d)
    shutil.copy(fleet_dir / "snapshot.json", tmp_path / "snapshot.json")
    lab = Fleetlab(tmp_path)
    assert lab.snap.errors and lab.check() + len(lab.snap.errors) == lab.managed() == 600
    return lab


def test_nothing_changed_nothing_is_planned(lab: Fleetlab) -> None:
    assert lab.check() == 0 and lab.memory.reused == 600 - len(lab.snap.errors)
    assert lab.memory.planned == len(lab.snap.errors)
    # a fresh discovery of the same fleet: new objects, same values
    lab.snap = load_snapshot(lab.root / "snapshot.json")
    lab.reload()  # and the same files read again
    assert lab.check() == 0


def test_devices_that_drifted_are_the_only_ones_planned(lab: Fleetlab) -> None:
    names = sorted(n for n, d in lab.snap.devices.items() if d.mode == "standalone")[:7]
    lab.snap = _observe(lab.snap, {n: _with_asa(lab.snap.devices[n], "9.0(4)") for n in names})
    assert lab.check() == 7
    plan = lab.plan(None)
    assert all(plan.device(n) is not None for n in names)
    lab.snap = load_snapshot(lab.root / "snapshot.json")  # they are back
    assert lab.check() == 7


def test_device_state_and_upstream_findings_are_per_device(lab: Fleetlab) -> None:
    a, b = sorted(lab.snap.devices)[10], sorted(lab.snap.devices)[20]
    lab.states = {a: DeviceState.MAINTENANCE}
    assert lab.check() == 1
    lab.findings = [Finding(FindingCode.NOT_CONVERGING, "flips back", device=b)]
    assert lab.check() == 1
    lab.findings, lab.states = [], {}
    assert lab.check() == 2


def test_a_policy_change_plans_the_devices_whose_targets_changed(lab: Fleetlab) -> None:
    before, _ = resolve_fleet(lab.desired, observed_models(lab.snap))
    text = (lab.root / "desired/regions.yaml").read_text()
    old = "tags: [asa]\n  images: {asa: 9.8(4), asdm: 7.20(1)}\n- name: jp-firepower"
    assert old in text
    (lab.root / "desired/regions.yaml").write_text(text.replace(old, old.replace("9.8(4)", "9.7(1)")))
    lab.reload()
    after, _ = resolve_fleet(lab.desired, observed_models(lab.snap))
    moved = {n for n in after if n in lab.snap.devices
             and after[n].targets != before[n].targets}
    assert 10 < len(moved) < 200
    assert lab.check() == len(moved)


def test_fleet_wide_inputs_plan_everything_again(lab: Fleetlab) -> None:
    everything = lab.managed() - len(lab.snap.errors)
    lab.status = {**lab.status, sorted(lab.status)[5]: ImageStatus.MISSING}
    assert lab.check() == everything
    assert lab.check() == 0
    # the catalog moved down a line: findings quote its file:line, so they are made again
    path = lab.root / "desired/images.yaml"
    path.write_text("# a comment\n" + path.read_text())
    lab.reload()
    assert lab.check() == everything


def test_a_device_leaving_a_shared_vpn_release_replans_those_naming_it(lab: Fleetlab) -> None:
    res, _ = resolve_fleet(lab.desired, observed_models(lab.snap))
    index = Fleet.build(lab.desired, res, lab.snap, lab.status).vpn_staying
    staying = sorted({n for names in index.values() for n in names})
    assert staying, "the generated fleet has branch pairs keeping their VPN packages"
    dev = lab.snap.devices[staying[0]]

    def newer(d: Any) -> Any:
        return {**d, ImageType.ANYCONNECT: "4.10.07073"}

    moved = replace(dev, running=newer(dev.running),
                    members=tuple(replace(m, running=newer(m.running)) for m in dev.members))
    lab.snap = _observe(lab.snap, {dev.name: moved})
    assert lab.check() == lab.managed() - len(lab.snap.errors)


def test_devices_that_left_the_inventory_are_forgotten(lab: Fleetlab) -> None:
    gone = sorted(lab.desired.inventory)[0]
    inventory = {n: d for n, d in lab.desired.inventory.items() if n != gone}
    lab.desired = replace(lab.desired, inventory=inventory)
    lab.check()
    assert len(lab.memory) < 600 and lab.memory.reused > 500


def test_resolution_is_kept_for_the_same_desired_state_and_models(lab: Fleetlab) -> None:
    models = dict(observed_models(lab.snap))
    memory = PlanMemory()
    assert memory.resolve(lab.desired, models) == resolve_fleet(lab.desired, models)
    assert memory.resolved == 600
    assert memory.resolve(lab.desired, models) == resolve_fleet(lab.desired, models)
    assert memory.resolved == 0
    # a unit replaced by another model, one that discovery no longer sees, a new device
    a, b = sorted(models)[:2]
    models[a] = ("ASA5506-X", models[a][1])
    del models[b]
    assert memory.resolve(lab.desired, models) == resolve_fleet(lab.desired, models)
    assert memory.resolved == 2
    lab.reload()  # another desired state (equal values): resolved from scratch
    assert memory.resolve(lab.desired, models) == resolve_fleet(lab.desired, models)
    assert memory.resolved == 600
