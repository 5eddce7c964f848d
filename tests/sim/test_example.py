"""The simulated twin of the bundled example fleet (and of any inventory)."""

from pathlib import Path

import pytest

from reconciler.core.model import ContextMode, ImageType, Mode
from reconciler.core.resolve import resolve_fleet
from reconciler.core.versions import parse_version
from reconciler.loader import DirectorySource, load_desired
from reconciler.sim.example import load_twin, system_image_name, twin_fleet
from reconciler.sim.fleetfile import dump_fleet, fleet_from_dict
from reconciler.sim.imagefiles import identify
from reconciler.sim.model import SimAgent, SimAsa

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def desired():
    state, _ = load_desired(DirectorySource(ROOT))
    return state


@pytest.fixture(scope="module")
def twin():
    spec, skipped = load_twin(ROOT)
    assert skipped == []
    return spec


def asa(twin, name) -> SimAsa:
    dev = twin.devices[name]
    assert isinstance(dev, SimAsa)
    return dev


def test_every_inventory_device_is_simulated_at_its_address(twin, desired):
    assert set(twin.devices) == set(desired.inventory)
    for name, inv in desired.inventory.items():
        assert inv.address.endswith(f"/d/{name}")
        assert twin.devices[name].kind == str(inv.driver)
        if isinstance(twin.devices[name], SimAsa):
            assert twin.devices[name].model == inv.model


def test_credentials_are_the_inventory_references(twin):
    assert (twin.auth.username, twin.auth.password, twin.auth.token) == (
        "admin", "env:RECONCILER_FW_PASSWORD", "env:RECONCILER_AGENT_TOKEN")


def test_every_running_image_is_on_its_members_disks(twin):
    for dev in twin.devices.values():
        if isinstance(dev, SimAgent):
            assert any(f.image and f.image.version == dev.version for f in dev.disk.files.values())
            continue
        for u in dev.units:
            f = dev.file_at(u, u.running_image)
            assert f is not None and f.image.version == u.running_version, (dev.name, u.name)
            assert dev.bootable(u, u.running_image)


def test_catalog_images_on_disk_have_catalog_sizes(twin, desired):
    for dev in twin.devices.values():
        disks = [dev.disk] if isinstance(dev, SimAgent) else [d for u in dev.units for d in u.disks.values()]
        for d in disks:
            for f in d.files.values():
                if f.name in desired.images:
                    assert f.size == desired.images[f.name].size, f.name


def test_the_example_shapes(twin):
    assert asa(twin, "fw-legacy-01").units[0].running_version == "8.4(6)"
    pair = asa(twin, "fw-dc-pair")
    assert pair.mode is Mode.ACTIVE_STANDBY and {u.running_version for u in pair.units} == {"9.1(6)"}
    aa = asa(twin, "fw-aa-pair")
    assert aa.mode is Mode.ACTIVE_ACTIVE and [sorted(u.groups) for u in aa.units] == [[1], [2]]
    cl = asa(twin, "fw-dc-cluster")
    assert cl.mode is Mode.CLUSTER and len(cl.units) == 4
    assert all(set(u.disks) == {"disk0", "disk1"} and u.running_version == "9.3(3)" for u in cl.units)
    assert sorted({u.site_id for u in cl.units}) == [1, 2]
    multi = asa(twin, "fw-multi-01")
    assert multi.context_mode is ContextMode.MULTIPLE and multi.contexts == ["admin", "ctx-a", "ctx-b"]
    fpr = asa(twin, "fw-fpr-01")
    assert fpr.appliance_mode and fpr.units[0].running_version == "9.14(1)"
    assert {d.version for d in twin.devices.values() if isinstance(d, SimAgent)} == {"7.3.1.2048"}


def test_fw_branch_03_has_no_room_for_its_targets(twin, desired):
    resolved, _ = resolve_fleet(desired)
    need = sum(t.image.size for t in resolved["fw-branch-03"].targets.values() if t.type in (ImageType.ASA, ImageType.ASDM))
    free = asa(twin, "fw-branch-03").units[0].disks["disk0"].free
    assert 0 < free < need and free < resolved["fw-branch-03"].targets[ImageType.ASA].image.size
    for name in ("fw-branch-01", "fw-dc-pair"):
        assert asa(twin, name).units[0].disks["disk0"].free > 4 * need


def test_most_devices_are_behind_their_targets(twin, desired):
    resolved, _ = resolve_fleet(desired)
    behind = 0
    for name, dev in twin.devices.items():
        kind = ImageType.AGENT if isinstance(dev, SimAgent) else ImageType.ASA
        target = resolved[name].targets.get(kind)
        running = dev.version if isinstance(dev, SimAgent) else dev.units[0].running_version
        if target and parse_version(kind, running) < parse_version(kind, target.image.version):
            behind += 1
    assert behind >= len(twin.devices) - 2


def test_every_catalog_image_name_announces_its_version(desired):
    for img in desired.images.values():
        info = identify(img.name)
        assert info is not None and info.type is img.type, img.name
        assert parse_version(img.type, info.version) == parse_version(img.type, img.version), img.name


def test_the_twin_is_a_valid_fleet_file(twin, tmp_path):
    path = tmp_path / "twin.yaml"
    path.write_text(dump_fleet(twin))
    from reconciler.sim.fleetfile import load_fleet_file

    assert set(load_fleet_file(path).devices) == set(twin.devices)


def test_devices_without_a_curated_shape_get_a_sensible_default(desired):
    from dataclasses import replace

    inv = {n: d for n, d in desired.inventory.items()}
    inv["fw-new-1"] = replace(inv["fw-branch-01"], name="fw-new-1", address="https://127.0.0.1:18443/d/fw-new-1",
                              model="ASA5545-X", mode=Mode.ACTIVE_STANDBY)
    inv["pix-1"] = replace(inv["fw-branch-01"], name="pix-1", model="PIX-515E")
    doc, skipped = twin_fleet(inv, desired.images)
    spec = fleet_from_dict(doc)
    new = spec.devices["fw-new-1"]
    assert isinstance(new, SimAsa) and new.mode is Mode.ACTIVE_STANDBY
    assert new.units[0].running_version == "9.3(3)"  # one release behind the catalog's newest
    assert skipped and skipped[0].startswith("pix-1")


def test_system_image_names():
    assert system_image_name("asa5585", "9.12(1)") == "asa9-12-1-smp-k8.bin"
    assert system_image_name("fpr1000", "9.14(1)15") == "cisco-asa-fp1k.9.14.1.15.SPA"
    assert system_image_name("asa5500", "8.4(6)") == "asa846-k8.bin"
    assert system_image_name("asav", "9.4(1)") == "asav941.qcow2"
