"""Listing and deleting files on the simulated example fleet, member by member."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.core.model import Role, TlsSettings
from reconciler.core.storage import DeviceStorage, FileUse
from reconciler.devices.files import delete_file, read_storage
from reconciler.drivers.registry import driver_for
from reconciler.drivers.tls import client_for
from reconciler.errors import PermanentError
from reconciler.sim.fleet import SimFleet
from reconciler.sim.server import serve_in_background
from tests.sim_support import FAST, inventory_device, open_driver, resolver, sim_storage

EVERY_DEVICE = ["fw-branch-01", "fw-branch-02", "fw-branch-03", "fw-dc-pair", "fw-aa-pair", "fw-dc-cluster",
                "fw-multi-01", "fw-fpr-01", "fw-legacy-01", "ep-win-001", "ep-win-002", "ep-lnx-001"]


def shape(s: DeviceStorage) -> dict[str, dict[str, Any]]:
    return {m.name: {"disks": {d.name: {"size": d.size, "free": d.free, "files": {
        f.name: {"size": f.size, "running": FileUse.RUNNING in f.uses,
                 "boot": f.boot_index if FileUse.BOOT in f.uses else None,
                 "asdm": FileUse.ASDM in f.uses, "webvpn": FileUse.VPN in f.uses} for f in d.files}}
        for d in m.disks}} for m in s.members}


def files_on(fleet: SimFleet, device: str, unit: str, disk: str = "disk0") -> dict[str, int]:
    return next(u for u in fleet.state(device)["units"] if u["name"] == unit)["disks"][disk]["files"]


@pytest.mark.parametrize("name", EVERY_DEVICE)
async def test_the_listing_is_what_the_simulator_holds(fleet: SimFleet, client: httpx.AsyncClient, name: str) -> None:
    async with open_driver(fleet, name, client) as drv:
        _, storage = await read_storage(drv)
    assert shape(storage) == sim_storage(fleet, name)


async def test_every_unit_of_a_pair_and_a_cluster_is_listed_with_its_role(fleet: SimFleet,
                                                                         client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        _, pair = await read_storage(drv)
    assert [(m.name, m.role) for m in pair.members] == [("primary", Role.ACTIVE), ("secondary", Role.STANDBY)]
    # each unit has its own file system: a file added on one unit shows on that unit only
    fleet.apply("fw-dc-cluster", "put-file", path="disk1:/anyconnect-big.pkg", size=5 << 20, unit="unit-3")
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        _, cl = await read_storage(drv)
        _, only = await read_storage(drv, ["unit-3"])
    assert [m.role for m in cl.members] == [Role.CONTROL, Role.DATA, Role.DATA, Role.DATA]
    assert [m.name for m in cl.members if m.disk("disk1").files] == ["unit-3"]  # type: ignore[union-attr]
    assert [m.name for m in only.members] == ["unit-3"]
    assert shape(cl) == sim_storage(fleet, "fw-dc-cluster")


async def test_the_listing_over_loopback_https(fleet: SimFleet, tmp_path: Any) -> None:
    async with serve_in_background(fleet, tls_dir=tmp_path / "sim") as sim:
        dev = inventory_device(fleet, "fw-dc-cluster", sim.url, TlsSettings(ca_bundle="sim/ca.pem"))
        async with client_for(dev.tls, root=tmp_path, devices=[dev.name]) as http, \
                driver_for(dev, http, resolver=resolver, options=FAST) as drv:
            _, storage = await read_storage(drv)
    assert shape(storage) == sim_storage(fleet, "fw-dc-cluster")


async def test_a_running_image_is_refused_without_force(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    before = sim_storage(fleet, "fw-dc-pair")
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "disk0:/asa916-smp-k8.bin", member="secondary")
    assert e.value.code == "FILE_IN_USE" and e.value.device == "fw-dc-pair" and e.value.member == "secondary"
    assert "is the running image and boot line 1 of secondary" in e.value.message
    assert "--force" in (e.value.hint or "")
    assert sim_storage(fleet, "fw-dc-pair") == before  # nothing deleted anywhere


async def test_a_running_image_is_deleted_with_force_and_a_warning(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    size = files_on(fleet, "fw-dc-pair", "secondary")["asa916-smp-k8.bin"]
    free = fleet.state("fw-dc-pair")["units"][1]["disks"]["disk0"]["free"]
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await delete_file(drv, "disk0:/asa916-smp-k8.bin", member="secondary", force=True)
    assert r.ok and r.forced and [m.deleted for m in r.members] == [True]
    assert len(r.warnings) == 1 and "running image" in r.warnings[0] and "--force" in r.warnings[0]
    assert "asa916-smp-k8.bin" not in files_on(fleet, "fw-dc-pair", "secondary")
    assert "asa916-smp-k8.bin" in files_on(fleet, "fw-dc-pair", "primary")  # the other unit is untouched
    assert r.members[0].free_after == free + size


async def test_a_boot_referenced_image_is_refused_then_forced(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.apply("fw-branch-01", "put-file", path="disk0:/asa941-lfbff-k8.SPA", size=3 << 20)
    async with open_driver(fleet, "fw-branch-01", client) as drv:
        await drv.set_boot(["disk0:/asa941-lfbff-k8.SPA", "disk0:/asa933-lfbff-k8.SPA"])
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "asa941-lfbff-k8.SPA")
        assert e.value.code == "FILE_IN_USE" and "boot line 1 of fw-branch-01" in e.value.message
        assert "boot list first" in (e.value.hint or "")
        assert "asa941-lfbff-k8.SPA" in files_on(fleet, "fw-branch-01", "fw-branch-01")
        r = await delete_file(drv, "asa941-lfbff-k8.SPA", force=True)
    assert r.ok and "boot line 1" in r.warnings[0] and "next reload skips" in r.warnings[0]
    assert "asa941-lfbff-k8.SPA" not in files_on(fleet, "fw-branch-01", "fw-branch-01")


async def test_the_asdm_image_and_webvpn_packages_are_kept(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-multi-01", client) as drv:
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "disk0:/asdm-741.bin")
        assert "the ASDM image" in e.value.message
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "disk0:/anyconnect-win-4.9.06037-webdeploy-k9.pkg")
        assert "webvpn package" in e.value.message


async def test_an_unused_file_is_deleted_and_the_space_shows(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    pcap = "capture-outside-20240304.pcap"
    size = files_on(fleet, "fw-branch-03", "fw-branch-03")[pcap]
    free = fleet.state("fw-branch-03")["units"][0]["disks"]["disk0"]["free"]
    async with open_driver(fleet, "fw-branch-03", client) as drv:
        r = await delete_file(drv, f"disk0:/{pcap}")
    assert r.ok and not r.warnings and r.members[0].deleted
    assert r.members[0].free_after == free + size
    assert pcap not in files_on(fleet, "fw-branch-03", "fw-branch-03")


async def test_a_data_unit_file_is_deleted_through_the_control_unit(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        r = await delete_file(drv, "disk0:/asa923-smp-k8.bin", member="unit-3")
    assert r.ok and [m.check.member for m in r.members] == ["unit-3"]
    holders = [u["name"] for u in fleet.state("fw-dc-cluster")["units"] if "asa923-smp-k8.bin" in u["disks"]["disk0"]["files"]]
    assert holders == ["unit-1", "unit-2", "unit-4"]


async def test_all_members_is_checked_on_every_unit_before_anything_is_deleted(
        fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await delete_file(drv, "asa904-smp-k8.bin", all_members=True)
        assert r.ok and [m.check.member for m in r.members] == ["primary", "secondary"]
        assert all("asa904-smp-k8.bin" not in files_on(fleet, "fw-dc-pair", u) for u in ("primary", "secondary"))
        # one unit runs a different image: the whole delete is refused, neither copy is touched
        fleet.apply("fw-dc-pair", "put-file", path="disk0:/asa924-smp-k8.bin", size=1 << 20, unit="primary")
        fleet.apply("fw-dc-pair", "put-file", path="disk0:/asa924-smp-k8.bin", size=1 << 20, unit="secondary")
        await drv.set_boot(["disk0:/asa916-smp-k8.bin", "disk0:/asa924-smp-k8.bin"])
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "asa924-smp-k8.bin", all_members=True)
    assert "boot line 2 of primary; disk0:/asa924-smp-k8.bin is boot line 2 of secondary" in e.value.message
    assert all("asa924-smp-k8.bin" in files_on(fleet, "fw-dc-pair", u) for u in ("primary", "secondary"))


async def test_usage_errors_name_what_to_do(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "asa904-smp-k8.bin")
        assert e.value.code == "MEMBER_REQUIRED" and "primary (active), secondary (standby)" in (e.value.hint or "")
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "nope.bin", member="primary")
        assert e.value.code == "FILE_NOT_FOUND"
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "nope.bin", all_members=True)
        assert e.value.code == "FILE_NOT_FOUND"
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "x.bin", member="primary", all_members=True)
        assert e.value.code == "USAGE"
        with pytest.raises(PermanentError) as e:
            await delete_file(drv, "disk0:/../etc", member="primary")
        assert e.value.code == "BAD_PATH"


async def test_dry_run_deletes_nothing(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    before = sim_storage(fleet, "fw-aa-pair")
    async with open_driver(fleet, "fw-aa-pair", client) as drv:
        r = await delete_file(drv, "disk0:/asa933-smp-k8.bin", all_members=True, force=True, dry_run=True)
    assert r.dry_run and len(r.warnings) == 2 and not any(m.deleted for m in r.members)
    assert sim_storage(fleet, "fw-aa-pair") == before


async def test_an_agent_package_is_deleted(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "ep-lnx-001", client) as drv:
        r = await delete_file(drv, "packages:/agent-7.3.1.2048-x86_64.rpm")
    assert r.ok and fleet.state("ep-lnx-001")["packages"] == {}
    assert r.members[0].free_after == fleet.devices["ep-lnx-001"].disk.size  # type: ignore[union-attr]


async def test_a_device_that_refuses_the_delete_is_reported(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.add_fault("fw-branch-02", {"kind": "command-error", "command": "delete",
                                     "message": "%Error deleting disk0:/asa933-lfbff-k8.SPA (Permission denied)"})
    async with open_driver(fleet, "fw-branch-02", client) as drv:
        r = await delete_file(drv, "disk0:/asa933-lfbff-k8.SPA")
    assert not r.ok and not r.members[0].deleted
    assert r.members[0].error is not None and "Permission denied" in str(r.members[0].error)
    assert "asa933-lfbff-k8.SPA" in files_on(fleet, "fw-branch-02", "fw-branch-02")
