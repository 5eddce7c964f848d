"""`test-copy` against the simulated example fleet: a verdict per member (ok, HTTP 413, disk
missing, disk full, transfer error, verify failed, unreachable) and never a probe left behind."""

from __future__ import annotations

import httpx
import pytest

from reconciler.core.model import Role
from reconciler.core.storage import ProbeStatus
from reconciler.devices.testcopy import DEFAULT_PROBE_SIZE, PROBE_PREFIX, run_test_copy
from reconciler.errors import PermanentError
from reconciler.sim.fleet import SimFleet
from tests.sim_support import open_driver, probes_left

MiB = 1 << 20


def by_member(report):  # type: ignore[no-untyped-def]
    return {m.member: m for m in report.members}


async def test_every_member_of_a_cluster_receives_the_probe(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        r = await run_test_copy(drv, disk="disk1")
    assert r.ok and r.disk == "disk1" and r.probe.startswith(f"disk1:/{PROBE_PREFIX}")
    assert [(m.member, m.role, m.status, m.cleanup) for m in r.members] == [
        ("unit-1", Role.CONTROL, ProbeStatus.OK, "deleted"), ("unit-2", Role.DATA, ProbeStatus.OK, "deleted"),
        ("unit-3", Role.DATA, ProbeStatus.OK, "deleted"), ("unit-4", Role.DATA, ProbeStatus.OK, "deleted")]
    assert all(m.attempts[0].size == DEFAULT_PROBE_SIZE and "verified" in m.message for m in r.members)
    assert probes_left(fleet, "fw-dc-cluster") == [] and r.leftovers == ()


async def test_a_413_and_a_missing_disk1_are_reported_per_member(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.add_fault("fw-dc-cluster", {"kind": "too-large", "max_bytes": 32 * 1024, "member": "unit-2"})
    del fleet.asa("fw-dc-cluster").unit("unit-4").disks["disk1"]  # type: ignore[union-attr]
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        r = await run_test_copy(drv, disk="disk1")
    m = by_member(r)
    assert not r.ok
    assert m["unit-1"].status is ProbeStatus.OK and m["unit-3"].status is ProbeStatus.OK
    too = m["unit-2"]
    assert too.status is ProbeStatus.TOO_LARGE and too.code == "HTTP-413" and too.blocking
    assert "HTTP 413" in too.message and "at most 32768 bytes" in too.message
    # the driver splits copies down to 64 KiB, no further: this unit will refuse every part
    assert "parts of at least 65536 bytes" in too.advice and "request-size limit" in too.advice
    assert "splitting the job" in too.advice  # the seed's advice for HTTP 413, with its limit
    assert too.attempts[0].max_bytes == 32768 and too.cleanup == "nothing-left"
    gone = m["unit-4"]
    assert gone.status is ProbeStatus.DISK_MISSING and gone.code == "INSTALL_LOCATION_MISSING"
    assert "unit-4 has no disk1 (its disks: disk0)" in gone.message and "install_location" in gone.advice
    assert gone.attempts == () and gone.cleanup == "not-needed"
    assert probes_left(fleet, "fw-dc-cluster") == []


async def test_a_413_above_a_size_that_passes_is_not_blocking(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.add_fault("fw-dc-pair", {"kind": "too-large", "max_bytes": 1 * MiB})
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await run_test_copy(drv, disk="disk0", sizes=(8 * MiB, DEFAULT_PROBE_SIZE))
    assert r.sizes == (DEFAULT_PROBE_SIZE, 8 * MiB) and r.ok
    for m in r.members:
        assert m.status is ProbeStatus.TOO_LARGE and not m.blocking
        assert [a.status for a in m.attempts] == [ProbeStatus.OK, ProbeStatus.TOO_LARGE]
        assert "65536-byte requests pass" in m.message and "parts of at most 1048576 bytes" in m.message
        assert "split the job" in m.advice  # the seed's advice for HTTP 413
        assert m.cleanup == "deleted"  # the small probe landed and was removed
    assert probes_left(fleet, "fw-dc-pair") == []


async def test_disk_full_is_reported_from_the_listing_and_from_the_device(fleet: SimFleet,
                                                                         client: httpx.AsyncClient) -> None:
    # fw-branch-03's disk0 is nearly full (3 MiB free): a 4 MiB probe cannot fit, per the listing
    async with open_driver(fleet, "fw-branch-03", client) as drv:
        r = await run_test_copy(drv, disk="disk0", sizes=(4 * MiB,))
    (m,) = r.members
    assert m.status is ProbeStatus.DISK_FULL and m.code == "DISK_SPACE" and "3145728 bytes free" in m.message
    assert "reconciler device storage fw-branch-03" in m.advice
    # the device says "not enough space" although dir shows room (the simulator's disk-full fault)
    fleet.add_fault("fw-dc-pair", {"kind": "disk-full", "disk": "disk0", "member": "secondary"})
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await run_test_copy(drv, disk="disk0")
    m = by_member(r)
    assert m["primary"].status is ProbeStatus.OK
    assert m["secondary"].status is ProbeStatus.DISK_FULL and m["secondary"].code == "DISK-FULL"
    assert "delete unneeded images" in m["secondary"].advice
    assert not r.ok and probes_left(fleet, "fw-dc-pair") == []


async def test_a_transfer_error_names_its_code_meaning_and_advice(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.add_fault("fw-dc-pair", {"kind": "transfer-error", "code": "ftp-426", "member": "secondary"})
    fleet.add_fault("fw-aa-pair", {"kind": "transfer-error", "code": "ftp-552", "member": "primary"})
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await run_test_copy(drv, disk="disk0")
    m = by_member(r)["secondary"]
    assert m.status is ProbeStatus.TRANSFER_ERROR and m.code == "FTP-426" and m.attempts[0].temporary is True
    assert "failed: FTP 426 connection closed; transfer aborted (device said: " in m.message
    assert "retried with backoff" in m.advice
    async with open_driver(fleet, "fw-aa-pair", client) as drv:
        r = await run_test_copy(drv, disk="disk0")
    m = by_member(r)["primary"]
    assert m.code == "FTP-552" and m.attempts[0].temporary is False and "install_location disk1" in m.advice
    assert by_member(r)["secondary"].status is ProbeStatus.OK
    assert probes_left(fleet, "fw-aa-pair") == []


async def test_a_corrupt_copy_fails_verification_and_is_still_removed(fleet: SimFleet,
                                                                     client: httpx.AsyncClient) -> None:
    fleet.add_fault("fw-multi-01", {"kind": "corrupt-upload"})
    async with open_driver(fleet, "fw-multi-01", client) as drv:
        r = await run_test_copy(drv, disk="disk0")
    (m,) = r.members
    assert m.status is ProbeStatus.VERIFY_FAILED and m.code == "CHECKSUM_MISMATCH" and m.cleanup == "deleted"
    assert probes_left(fleet, "fw-multi-01") == []


async def test_an_unreachable_standby_is_reported_not_tried(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.apply("fw-dc-pair", "unit-down", unit="secondary")
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await run_test_copy(drv, disk="disk0")
    m = by_member(r)
    assert m["primary"].status is ProbeStatus.OK
    assert m["secondary"].status is ProbeStatus.UNREACHABLE and m["secondary"].code == "STANDBY_UNREACHABLE"
    assert not r.ok


async def test_a_probe_the_device_will_not_delete_is_reported(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    fleet.add_fault("fw-branch-02", {"kind": "command-error", "command": "delete",
                                     "message": "%Error deleting disk0:/x (Device busy)"})
    async with open_driver(fleet, "fw-branch-02", client) as drv:
        r = await run_test_copy(drv, disk="disk0")
    (m,) = r.members
    assert m.status is ProbeStatus.OK and m.cleanup == "failed" and "Device busy" in m.cleanup_message
    assert r.leftovers == ("fw-branch-02",) and not r.ok
    assert len(probes_left(fleet, "fw-branch-02")) == 1


async def test_only_the_members_asked_for(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        r = await run_test_copy(drv, disk="disk0", members=["unit-3"])
        with pytest.raises(PermanentError) as e:
            await run_test_copy(drv, disk="disk0", members=["unit-9"])
        assert e.value.code == "UNKNOWN_MEMBER"
        with pytest.raises(PermanentError):
            await run_test_copy(drv, disk="disk0", sizes=(0,))
    assert [m.member for m in r.members] == ["unit-3"] and r.ok


async def test_an_agent_endpoint_is_probed_on_its_package_store(fleet: SimFleet, client: httpx.AsyncClient) -> None:
    async with open_driver(fleet, "ep-win-002", client) as drv:
        r = await run_test_copy(drv, disk="disk0")  # install_location means nothing to an agent
    assert r.ok and r.disk == "packages" and r.members[0].cleanup == "deleted"
    assert probes_left(fleet, "ep-win-002") == []
