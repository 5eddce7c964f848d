"""ASA driver behaviour that depends on topology: failover pairs, active/active, clusters."""

from dataclasses import replace

import pytest

from reconciler.core.model import ContextMode, ImageType, Mode, Role
from reconciler.drivers.base import (CommandError, ReloadNotStartedError, ReloadTimeoutError,
                                     Transcript, UnreachableError)
from reconciler.drivers.sources import SyntheticSource
from reconciler.errors import PermanentDeviceError, TemporaryError
from tests.sim_support import FAST, asgi_client, make_fleet, open_driver

ASA923 = SyntheticSource("asa923-smp-k8.bin", 5767168)
ASA941 = SyntheticSource("asa941-smp-k8.bin", 6291456)


@pytest.fixture
def fleet():
    return make_fleet()


async def test_failover_pair_discovery(fleet):
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-pair", c) as drv:
        facts = await drv.get_facts()
    assert facts.mode is Mode.ACTIVE_STANDBY
    primary, secondary = facts.members
    assert (primary.name, primary.role, primary.standby_ready) == ("primary", Role.ACTIVE, None)
    assert (secondary.name, secondary.role, secondary.standby_ready) == ("secondary", Role.STANDBY, True)
    assert secondary.serial == "JAF1501BBBB" and secondary.running[ImageType.ASA] == "9.1(6)"
    assert secondary.disks[0].name == "disk0" and secondary.disks[0].files


async def test_unreachable_standby_is_reported_in_the_member_not_as_a_failure(fleet):
    fleet.apply("fw-pair", "unit-down", unit="secondary")
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-pair", c) as drv:
        facts = await drv.get_facts()
    secondary = facts.member("secondary")
    assert not secondary.reachable and secondary.standby_ready is False and secondary.disks == ()
    assert secondary.serial == ""  # show failover prints "Mate Unknown" when the mate is gone


async def test_active_standby_upgrade_procedure(fleet):
    """SPEC 4: copy to both, set boot on the active, save, reload the standby through the active,
    wait, switch active, reload the old active, wait, both run the target."""
    t = Transcript()
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-pair", c, transcript=t) as drv:
        res = await drv.copy_image("disk0", ASA923.name, ASA923)
        assert res.members == ("primary", "secondary")
        for m in res.members:
            await drv.verify(m, f"disk0:/{ASA923.name}", res.digests.get("sha-512"))
        await drv.set_boot([f"disk0:/{ASA923.name}", "disk0:/asa916-smp-k8.bin"])
        await drv.save_config()
        await drv.reload("secondary")
        await drv.wait_ready("secondary", 900)
        assert (await drv.running_versions("secondary"))[ImageType.ASA] == "9.2(3)"
        await drv.switch_active("secondary")
        assert (await drv.topology()).local == "secondary"
        await drv.reload("primary")
        await drv.wait_ready("primary", 900)
        facts = await drv.get_facts()
    assert {m.name: (m.role, m.running[ImageType.ASA]) for m in facts.members} == {
        "primary": (Role.STANDBY, "9.2(3)"), "secondary": (Role.ACTIVE, "9.2(3)")}
    sent = [e.text for e in t.entries if e.direction == "send"]
    assert "failover reload-standby" in sent and "no failover active" in sent
    assert "failover exec mate verify /sha-512 disk0:/asa923-smp-k8.bin" in sent


async def test_skipping_a_minor_leaves_the_standby_not_ready(fleet):
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-pair", c) as drv:
        await drv.copy_image("disk0", ASA941.name, ASA941)
        await drv.set_boot([f"disk0:/{ASA941.name}", "disk0:/asa916-smp-k8.bin"])
        await drv.save_config()
        await drv.reload("secondary")
        with pytest.raises(ReloadTimeoutError) as e:
            await drv.wait_ready("secondary", 900)
    assert "Cold Standby" in str(e.value) and e.value.member == "secondary"


async def test_a_unit_that_does_not_come_back_times_out(fleet):
    fleet.add_fault("fw-solo", {"kind": "unreachable-after-reload"})
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        await drv.reload()
        with pytest.raises(ReloadTimeoutError) as e:
            await drv.wait_ready(None, 900)
    assert "reload_timeout" in str(e.value)


async def test_a_reload_the_device_refuses_with_503_is_reported_as_not_started(fleet):
    """HTTP 503 is the device's "not now": the reload never ran. Reporting it as "under way"
    made the executor wait for a reboot that never came and park the device in maintenance."""
    fleet.add_fault("fw-solo", {"kind": "http-error", "status": 503, "command": "reload",
                                "times": 1})
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        with pytest.raises(ReloadNotStartedError) as e:
            await drv.reload()
        assert e.value.code == "RELOAD_NOT_STARTED" and isinstance(e.value, TemporaryError)
        assert "fw-solo did not go down" in str(e.value) and "`reload noconfirm`" in str(e.value)
        assert fleet.state("fw-solo")["units"][0]["reloads"] == 0
        await drv.reload()  # sent again: this time it runs, and the wait sees the reboot
        await drv.wait_ready(None, 900)
    assert fleet.state("fw-solo")["units"][0]["reloads"] == 1


async def test_a_reload_slower_than_the_timeout(fleet):
    fleet.add_fault("fw-solo", {"kind": "slow-reload", "seconds": 1500})
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        await drv.reload()
        with pytest.raises(ReloadTimeoutError):
            await drv.wait_ready(None, 900)
        await drv.wait_ready(None, 1200)  # still booting at 900 s, up at 1500 s


async def test_cluster_upgrade_through_the_control_unit(fleet):
    t = Transcript()
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-cluster", c, transcript=t) as drv:
        facts = await drv.get_facts()
        assert [(m.name, m.role, m.unit_id) for m in facts.members] == [
            ("unit-1", Role.CONTROL, 0), ("unit-2", Role.DATA, 1), ("unit-3", Role.DATA, 2)]
        assert all({d.name for d in m.disks} == {"disk0", "disk1"} for m in facts.members)
        res = await drv.copy_image("disk1", ASA941.name, ASA941)
        assert res.members == ("unit-1", "unit-2", "unit-3") and res.parts == 1
        puts = [e for e in t.entries if e.direction == "send" and e.text.startswith("copy ")]
        assert len(puts) == 1  # one stream; the control unit spreads it
        await drv.set_boot([f"disk1:/{ASA941.name}", "disk0:/asa933-smp-k8.bin"])
        await drv.save_config()
        for unit in ("unit-2", "unit-3"):
            await drv.reload(unit)
            await drv.wait_ready(unit, 900)
        await drv.handoff_control("unit-2")
        assert (await drv.topology()).local == "unit-2"
        await drv.reload("unit-1")
        await drv.wait_ready("unit-1", 900)
        facts = await drv.get_facts()
    assert {m.name: (m.role, m.running[ImageType.ASA]) for m in facts.members} == {
        "unit-1": (Role.DATA, "9.4(1)"), "unit-2": (Role.CONTROL, "9.4(1)"), "unit-3": (Role.DATA, "9.4(1)")}
    sent = [e.text for e in t.entries if e.direction == "send"]
    assert "cluster exec unit unit-2 reload noconfirm" in sent and "cluster master unit unit-2" in sent


async def test_cluster_unit_out_of_the_cluster(fleet):
    fleet.apply("fw-cluster", "unit-down", unit="unit-3")
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-cluster", c) as drv:
        facts = await drv.get_facts()
        assert [m.name for m in facts.members] == ["unit-1", "unit-2"]
        with pytest.raises(UnreachableError) as e:
            await drv.reload("unit-3")
    assert e.value.member == "unit-3"


async def test_active_active_group_placement_and_restore(fleet):
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-aa", c) as drv:
        facts = await drv.get_facts()
        assert facts.mode is Mode.ACTIVE_ACTIVE and facts.context_mode is ContextMode.MULTIPLE
        assert facts.contexts == ("admin", "ctx-1", "ctx-2")
        assert {m.name: m.failover_groups_active for m in facts.members} == {"primary": (1,), "secondary": (2,)}
        await drv.set_failover_groups({1: "primary", 2: "primary"})
        facts = await drv.get_facts()
        assert {m.name: (m.role, m.failover_groups_active) for m in facts.members} == {
            "primary": (Role.ACTIVE, (1, 2)), "secondary": (Role.STANDBY, ())}
        await drv.set_failover_groups({2: "secondary"})
        facts = await drv.get_facts()
    assert {m.name: m.failover_groups_active for m in facts.members} == {"primary": (1,), "secondary": (2,)}


async def test_set_boot_is_all_or_nothing(fleet):
    fleet.add_fault("fw-solo", {"kind": "command-error", "command": "boot system disk0:/asa941",
                                "message": "ERROR: boot system rejected", "times": 1})
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        with pytest.raises(CommandError):
            await drv.set_boot(["disk0:/asa941-lfbff-k8.SPA", "disk0:/asa933-lfbff-k8.SPA"])
        facts = await drv.get_facts()
    assert facts.members[0].boot == ("disk0:/asa933-lfbff-k8.SPA",)


async def test_save_config_failure_is_reported(fleet):
    fleet.add_fault("fw-solo", {"kind": "command-error", "command": "write memory",
                                "message": "ERROR: flash is write-protected"})
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        with pytest.raises(CommandError) as e:
            await drv.save_config()
    assert "write-protected" in str(e.value)


async def test_delete_refuses_the_running_image_and_boot_entries(fleet):
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        with pytest.raises(PermanentDeviceError) as e:
            await drv.delete_file(None, "disk0:/asa933-lfbff-k8.SPA")
        assert e.value.code == "FILE_IN_USE"
        await drv.delete_file(None, "disk0:/asa924-lfbff-k8.SPA")
        await drv.backup(None, "disk0:/asa933-lfbff-k8.SPA", "disk0:/asa933-lfbff-k8.SPA.bak")
        names = [f.name for f in (await drv.get_facts()).members[0].disks[0].files]
    assert "asa924-lfbff-k8.SPA" not in names and "asa933-lfbff-k8.SPA.bak" in names


async def test_pending_changes_register_and_asdm(fleet):
    fleet.apply("fw-solo", "set-pending", sessions=["acl-change-4711"])
    fleet.apply("fw-solo", "set-register", value="0x41")
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c) as drv:
        facts = await drv.get_facts()
        assert facts.pending_config_changes and facts.config_register == "0x41"
        await drv.set_asdm("disk0:/asdm-741.bin")
        await drv.set_config_register("0x1")
        assert (await drv.get_facts()).config_register == "0x1"
        with pytest.raises(PermanentDeviceError):
            await drv.set_config_register("1; reload")


async def test_bad_paths_never_reach_the_device(fleet):
    t = Transcript()
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c, transcript=t) as drv:
        for bad in ("disk0:/../x", "flash:x", "disk0:/a b"):
            with pytest.raises(PermanentDeviceError):
                await drv.set_boot([bad])
    assert not [e for e in t.entries if e.direction == "send"]


async def test_wait_ready_without_a_member_follows_the_reloaded_unit(fleet):
    """Reloading the active moves the management address; wait_ready(None) still waits for the
    unit that was reloaded, not for whichever unit answers now."""
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-pair", c) as drv:
        await drv.reload()  # the active (primary); the secondary takes over
        assert (await drv.topology()).local == "secondary"
        await drv.wait_ready(None, 900)
        facts = await drv.get_facts()
    primary = facts.member("primary")
    assert primary.role is Role.STANDBY and primary.standby_ready


async def test_wait_ready_keeps_polling_while_the_whole_pair_is_down(fleet):
    fleet.apply("fw-pair", "unit-down", unit="secondary")
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-pair", c) as drv:
        await drv.reload("primary")  # nothing answers on the management address for a while
        await drv.wait_ready("primary", 900)
        assert (await drv.topology()).local == "primary"


@pytest.mark.parametrize("name", ["fw-solo", "fw-pair", "fw-aa", "fw-cluster"])
async def test_discovery_batches_commands_and_learns_exactly_what_single_commands_do(fleet, name):
    """The ASA's HTTPS interface takes several commands per request; discovery sends three or
    four requests instead of a dozen, and sees the same device as one command per request."""
    batched, single = Transcript(), Transcript()
    async with asgi_client(fleet) as c:
        async with open_driver(fleet, name, c, transcript=batched) as drv:
            facts = await drv.get_facts()
        async with open_driver(fleet, name, c, transcript=single,
                               options=replace(FAST, batch_commands=False)) as drv:
            reference = await drv.get_facts()
    assert facts == reference
    sends = [e.text for e in batched.entries if e.direction == "send"]
    assert len(sends) <= 4 < len([e for e in single.entries if e.direction == "send"])
    assert sends[0].startswith("show version / show clock / show mode / show clock / show failover")


async def test_an_answer_that_cannot_be_split_falls_back_to_one_command_per_request(fleet):
    # a device whose `show bootvar` answer happens to contain a clock line: the split is refused
    fleet.add_fault("fw-solo", {"kind": "command-error", "command": "show bootvar",
                                "message": "BOOT variable = disk0:/asa916-smp-k8.bin\n"
                                           "09:00:00.000 UTC Mon Jan 15 2024\n"})
    t = Transcript()
    async with asgi_client(fleet) as c, open_driver(fleet, "fw-solo", c, transcript=t) as drv:
        facts = await drv.get_facts()
    assert facts.members[0].boot == ("disk0:/asa916-smp-k8.bin",)
    notes = [e.text for e in t.entries if e.direction == "note"]
    assert any("one at a time" in n for n in notes)
    sends = [e.text for e in t.entries if e.direction == "send"]
    assert "show bootvar" in sends and "dir disk0:" in sends  # after the fallback: singly
