"""Reload, boot, failover and cluster behaviour of the simulated devices, on a manual clock."""

import pytest

from reconciler.core.model import Mode
from reconciler.sim.asa_cli import run_config, run_exec
from reconciler.sim.model import SimAsa, UnitState, ha_compatible


def sh(dev: SimAsa, cmd: str, unit=None) -> str:
    unit = unit or dev.management_unit()
    assert unit is not None, "the management unit is down"
    return run_exec(dev, unit, cmd, 0.0)


def conf(dev: SimAsa, cmd: str) -> str:
    unit = dev.management_unit()
    assert unit is not None, "the management unit is down"
    return run_config(dev, unit, cmd, 0.0)


def put(fleet, name, path, size=7340032, unit=None):
    fleet.apply(name, "put-file", path=path, size=size, unit=unit)


def test_reload_takes_reload_seconds_and_boots_the_saved_boot_list(fleet, clock):
    dev = fleet.asa("fw-solo")
    put(fleet, "fw-solo", "disk0:/asa941-lfbff-k8.SPA", 7602176)
    conf(dev, "no boot system disk0:/asa933-lfbff-k8.SPA")
    conf(dev, "boot system disk0:/asa941-lfbff-k8.SPA")
    conf(dev, "boot system disk0:/asa933-lfbff-k8.SPA")
    assert "[OK]" in sh(dev, "write memory")
    sh(dev, "reload noconfirm")
    unit = dev.units[0]
    assert unit.state == UnitState.BOOTING and fleet.asa("fw-solo").management_unit() is None
    clock.advance(599)
    assert fleet.asa("fw-solo").management_unit() is None
    clock.advance(1)
    dev = fleet.asa("fw-solo")
    assert dev.management_unit() is unit and unit.running_version == "9.4(1)"
    assert "up 0 secs" in sh(dev, "show version")


def test_unsaved_boot_lines_are_lost_at_reload(fleet, clock):
    dev = fleet.asa("fw-solo")
    put(fleet, "fw-solo", "disk0:/asa941-lfbff-k8.SPA", 7602176)
    conf(dev, "clear configure boot system")
    conf(dev, "boot system disk0:/asa941-lfbff-k8.SPA")
    sh(dev, "reload noconfirm")
    clock.advance(600)
    dev = fleet.asa("fw-solo")
    assert dev.units[0].running_version == "9.3(3)"
    assert dev.running.boot == ["disk0:/asa933-lfbff-k8.SPA"]


def test_missing_or_corrupt_first_image_falls_back(fleet, clock):
    dev = fleet.asa("fw-solo")
    fleet.apply("fw-solo", "put-file", path="disk0:/asa941-lfbff-k8.SPA", size=7602176, valid=False)
    dev.startup.boot = ["disk0:/asa941-lfbff-k8.SPA", "disk0:/asa933-lfbff-k8.SPA"]
    sh(dev, "reload noconfirm")
    clock.advance(600)
    assert fleet.asa("fw-solo").units[0].running_image == "disk0:/asa933-lfbff-k8.SPA"


def test_image_for_another_platform_does_not_boot_and_running_image_stays(fleet, clock):
    dev = fleet.asa("fw-solo")
    put(fleet, "fw-solo", "disk0:/asa941-smp-k8.bin", 6291456)  # an SMP image on a 5506-X
    dev.startup.boot = ["disk0:/asa941-smp-k8.bin"]
    sh(dev, "reload noconfirm")
    clock.advance(600)
    assert fleet.asa("fw-solo").units[0].running_version == "9.3(3)"


def test_register_zero_boots_to_rommon_and_other_values_ignore_the_list(fleet, clock):
    dev = fleet.asa("fw-solo")
    put(fleet, "fw-solo", "disk0:/asa941-lfbff-k8.SPA", 7602176)
    dev.startup.boot = ["disk0:/asa941-lfbff-k8.SPA"]
    conf(dev, "config-register 0x2101")
    assert "(will be 0x2101 at next reload)" in sh(dev, "show version")
    sh(dev, "reload noconfirm")
    clock.advance(600)
    dev = fleet.asa("fw-solo")
    assert dev.units[0].running_version == "9.3(3)"  # boot list ignored: first image on disk0
    conf(dev, "config-register 0x0")
    sh(dev, "reload noconfirm")
    clock.advance(10_000)
    assert fleet.asa("fw-solo").units[0].state == UnitState.ROMMON


def test_active_standby_reload_standby_and_switchover(fleet, clock):
    dev = fleet.asa("fw-pair")
    primary, secondary = dev.units
    sh(dev, "failover reload-standby")
    assert secondary.state == UnitState.BOOTING
    assert "Other host: Secondary - Not Detected" in sh(dev, "show failover")
    clock.advance(600)
    assert "Other host: Secondary - Cold Standby" in sh(fleet.asa("fw-pair"), "show failover")
    clock.advance(60)
    dev = fleet.asa("fw-pair")
    assert "Other host: Secondary - Standby Ready" in sh(dev, "show failover")
    sh(dev, "no failover active")
    assert dev.management_unit() is secondary
    assert "This host: Secondary - Active" in sh(dev, "show failover")
    # the old active reloads; the pair keeps running on the secondary
    sh(dev, "failover exec mate reload noconfirm")
    assert dev.management_unit() is secondary and primary.state == UnitState.BOOTING


def test_reloading_the_active_fails_over_and_it_returns_as_standby(fleet, clock):
    dev = fleet.asa("fw-pair")
    primary, secondary = dev.units
    sh(dev, "reload noconfirm")
    assert dev.management_unit() is secondary
    clock.advance(660)
    dev = fleet.asa("fw-pair")
    assert not dev.is_active(primary) and primary.ready


def test_incompatible_versions_never_reach_standby_ready(fleet, clock):
    dev = fleet.asa("fw-pair")
    put(fleet, "fw-pair", "disk0:/asa941-smp-k8.bin", 6291456, unit="secondary")
    dev.startup.boot = ["disk0:/asa941-smp-k8.bin", "disk0:/asa916-smp-k8.bin"]
    sh(dev, "failover reload-standby")
    clock.advance(10_000)
    out = sh(fleet.asa("fw-pair"), "show failover")
    assert "Secondary - Cold Standby" in out and "not compatible" in out
    assert "Switchover not performed" in sh(dev, "no failover active")


def test_standby_not_ready_fault_and_unreachable_after_reload(fleet, clock):
    fleet.add_fault("fw-pair", {"kind": "standby-not-ready", "member": "secondary"})
    assert "Secondary - Cold Standby" in sh(fleet.asa("fw-pair"), "show failover")
    fleet.clear_faults("fw-pair")
    fleet.add_fault("fw-pair", {"kind": "unreachable-after-reload", "member": "secondary"})
    dev = fleet.asa("fw-pair")
    sh(dev, "failover reload-standby")
    clock.advance(100_000)
    assert "Secondary - Failed" in sh(fleet.asa("fw-pair"), "show failover")
    assert "not detected" in sh(dev, "failover exec mate show version")


def test_slow_reload_fault(fleet, clock):
    fleet.add_fault("fw-solo", {"kind": "slow-reload", "seconds": 2000, "times": 1})
    dev = fleet.asa("fw-solo")
    sh(dev, "reload noconfirm")
    clock.advance(1999)
    assert fleet.asa("fw-solo").management_unit() is None
    clock.advance(1)
    assert fleet.asa("fw-solo").management_unit() is not None


def test_active_active_group_moves(fleet):
    dev = fleet.asa("fw-aa")
    primary, secondary = dev.units
    assert (primary.groups, secondary.groups) == ({1}, {2})
    sh(dev, "failover active group 2")
    assert (primary.groups, secondary.groups) == ({1, 2}, set())
    sh(dev, "no failover active group 1")
    assert dev.management_unit() is secondary  # the admin context follows group 1


def test_cluster_reload_of_data_unit_rejoins_as_data(fleet, clock):
    dev = fleet.asa("fw-cluster")
    u1, u2, u3 = dev.units
    out = sh(dev, "cluster exec unit unit-2 reload noconfirm")
    assert "unit-2:" in out and u2.state == UnitState.BOOTING
    assert "unit-2" not in sh(dev, "show cluster info")
    clock.advance(660)
    info = sh(fleet.asa("fw-cluster"), "show cluster info")
    assert 'Unit "unit-2" in state SLAVE' in info


def test_cluster_control_reload_elects_a_new_control_and_handoff(fleet, clock):
    dev = fleet.asa("fw-cluster")
    u1, u2, u3 = dev.units
    sh(dev, "reload noconfirm")
    assert dev.management_unit() is u2
    clock.advance(660)
    dev = fleet.asa("fw-cluster")
    assert u1.ready and not u1.control
    sh(dev, "cluster master unit unit-1")
    assert dev.management_unit() is u1 and not u2.control


def test_config_commands_only_on_active_or_control(fleet):
    dev = fleet.asa("fw-pair")
    assert "standby state" in run_config(dev, dev.units[1], "boot system disk0:/asa916-smp-k8.bin", 0)
    cl = fleet.asa("fw-cluster")
    assert "control node" in run_config(cl, cl.units[1], "asdm image disk0:/x.bin", 0)
    assert "control node" in sh(cl, "write memory", cl.units[2])


def test_write_memory_on_the_active_is_what_the_standby_boots(fleet, clock):
    dev = fleet.asa("fw-pair")
    for u in ("primary", "secondary"):
        put(fleet, "fw-pair", "disk0:/asa923-smp-k8.bin", 5767168, unit=u)
    conf(dev, "no boot system disk0:/asa916-smp-k8.bin")
    conf(dev, "boot system disk0:/asa923-smp-k8.bin")
    conf(dev, "boot system disk0:/asa916-smp-k8.bin")
    sh(dev, "write memory")
    sh(dev, "failover reload-standby")
    clock.advance(660)
    dev = fleet.asa("fw-pair")
    assert dev.units[1].running_version == "9.2(3)" and dev.units[1].ready  # 9.1 -> 9.2 may pair


def test_local_copy_verify_delete(fleet):
    dev = fleet.asa("fw-solo")
    out = sh(dev, "copy /noconfirm disk0:/asdm-741.bin disk0:/asdm-741.bin.bak")
    assert "2621440 bytes copied" in out
    md5 = sh(dev, "verify /md5 disk0:/asdm-741.bin.bak").rsplit("= ", 1)[1].strip()
    assert md5 == sh(dev, "verify /md5 disk0:/asdm-741.bin").rsplit("= ", 1)[1].strip()
    assert "Signature Verified" in sh(dev, "verify disk0:/asa933-lfbff-k8.SPA")
    assert sh(dev, "delete /noconfirm disk0:/asdm-741.bin.bak") == ""
    assert "No such file" in sh(dev, "delete /noconfirm disk0:/asdm-741.bin.bak")


def test_copy_refuses_when_the_disk_is_full(fleet):
    dev = fleet.asa("fw-solo")
    put(fleet, "fw-solo", "disk0:/filler.bin", dev.units[0].disk("disk0").free - 1000)
    assert "No space left on device" in sh(dev, "copy /noconfirm disk0:/asdm-741.bin disk0:/copy.bin")


def test_unknown_commands_answer_like_the_asa(fleet):
    assert "Invalid input detected" in sh(fleet.asa("fw-solo"), "show frobnicate")
    assert "Invalid input detected" in sh(fleet.asa("fw-solo"), "show cluster info")  # a 5506-X has no cluster
    assert sh(fleet.asa("fw-pair"), "show cluster info").startswith("Clustering is not enabled")


def test_command_error_fault(fleet):
    fleet.add_fault("fw-solo", {"kind": "command-error", "command": "write memory",
                                "message": "ERROR: flash is write-protected", "times": 1})
    dev = fleet.asa("fw-solo")
    assert sh(dev, "write memory") == "ERROR: flash is write-protected"
    assert "[OK]" in sh(dev, "write memory")


def test_ha_version_rule():
    assert ha_compatible("9.1(6)", "9.2(3)") and ha_compatible("9.3(3)", "9.3(1)")
    assert not ha_compatible("9.1(6)", "9.4(1)")
    assert ha_compatible("8.4(7)", "9.0(1)")  # a new major from the previous one


def test_modes_of_the_fixture(fleet):
    assert [fleet.asa(n).mode for n in ("fw-solo", "fw-pair", "fw-aa", "fw-cluster")] == [
        Mode.STANDALONE, Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE, Mode.CLUSTER]
