"""Device runs end to end against the simulated example fleet: every topology reaches its target
(and re-discovery agrees), and every injected fault ends in its documented outcome with nothing
else touched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.contract import StepAction
from reconciler.core.model import DeviceState, OnError, Order
from reconciler.executor import JobRequest
from reconciler.sim.faults import Fault
from reconciler.store import JobDeviceStatus, JobStatus, TranscriptKind, open_store
from tests.executor.conftest import Lab

RUN = JobRequest(ignore_windows=True)


def device_states(lab: Lab) -> dict[str, DeviceState]:
    with open_store(lab.state) as store:
        return {n: r.state for n, r in store.device_states().items()}


def job_device(lab: Lab, job_id: int, name: str) -> Any:
    with open_store(lab.state) as store:
        return next(d for d in store.job_devices(job_id) if d.device == name)


def transcript(lab: Lab, job_id: int, device: str | None = None) -> list[Any]:
    with open_store(lab.state) as store:
        return store.transcript(job_id, device)


# ---------------------------------------------------------------------------- topologies


async def test_standalone_reaches_its_target_and_rediscovery_agrees(lab: Lab) -> None:
    others = lab.fingerprints(exclude=["fw-branch-01"])
    result, saved = await lab.apply(["fw-branch-01"])
    assert result.ok and result.job.status is JobStatus.DEPLOYED
    assert lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}
    sim = lab.sim("fw-branch-01")
    assert sim["asdm"] == "disk0:/asdm-7161.bin"
    assert sim["saved_boot"] == ["disk0:/asa941-lfbff-k8.SPA", "disk0:/asa933-lfbff-k8.SPA"]
    assert sim["units"][0]["reloads"] == 1
    again = await lab.replan(["fw-branch-01"])
    assert again.plan.device("fw-branch-01") is None  # in sync: nothing left to do
    assert device_states(lab)["fw-branch-01"] is DeviceState.OPERATIONAL
    assert lab.fingerprints(exclude=["fw-branch-01"]) == others
    # the running image was backed up off the device; identical to the repository's copy
    d = job_device(lab, result.job.id, "fw-branch-01")
    assert d.old_images == {"asa": "asa933-lfbff-k8.SPA", "asdm": "asdm-741.bin"}
    assert d.new_images == {"asa": "asa941-lfbff-k8.SPA", "asdm": "asdm-7161.bin"}
    with open_store(lab.state) as store:
        notes = [c.text for c in store.commentary(result.job.id, "fw-branch-01")]
    assert any("backup" in n and "identical to the repository's asa933-lfbff-k8.SPA" in n
               for n in notes)


async def test_a_running_image_the_repository_lacks_is_backed_up_into_it(
        lab: Lab, tmp_path: Path) -> None:
    """The usual case for a backup: the release a device runs is no longer (or never was) in
    the image repository. The copy is kept under .backups/<device>/ and the run goes on."""
    running = "asa933-lfbff-k8.SPA"
    images = tmp_path / "images"
    images.mkdir()
    for f in lab.images.iterdir():  # hard links: the session's repository is only read
        if f.is_file() and f.name in set(lab.desired().images) - {running}:
            os.link(f, images / f.name)
    lab.images = images
    result, _ = await lab.apply(["fw-branch-01"])
    assert result.ok, result.outcomes
    kept = images / ".backups" / "fw-branch-01" / running
    image = lab.desired().images[running]
    assert kept.stat().st_size == image.size
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == image.sha256
    with open_store(lab.state) as store:
        notes = [c.text for c in store.commentary(result.job.id, "fw-branch-01")]
    assert any("backup" in n and f"saved to {kept}" in n for n in notes), notes


async def test_active_standby_pair_upgrades_through_its_hops_one_unit_at_a_time(lab: Lab) -> None:
    result, saved = await lab.apply(["fw-dc-pair"])
    assert result.ok, result.outcomes
    assert lab.running("fw-dc-pair") == {"primary": "9.4(1)", "secondary": "9.4(1)"}
    sim = lab.sim("fw-dc-pair")
    # three passes (9.2(3), 9.3(3), 9.4(1)); each reloads both units once
    assert [u["reloads"] for u in sim["units"]] == [3, 3]
    # the order of the seed: the standby is reloaded through the active first in every pass
    cmds = [e.text for e in transcript(lab, result.job.id)
            if e.kind is TranscriptKind.COMMAND and ("reload" in e.text or "failover active"
                                                     in e.text)]
    assert cmds[:3] == ["failover reload-standby", "no failover active", "failover reload-standby"]
    states = device_states(lab)
    assert states["fw-dc-pair"] is DeviceState.CONFIGURATION_REQUIRED  # VPN images copied
    again = await lab.replan(["fw-dc-pair"])
    # converged: the system image runs everywhere and the VPN packages sit on both units' flash;
    # activating them is the VPN policy's job, so nothing is planned again (no endless re-copy)
    # while the device waits in configuration-required for its operator
    assert again.plan.device("fw-dc-pair") is None
    for unit in lab.sim("fw-dc-pair")["units"]:
        files = {f for disk in unit["disks"].values() for f in disk["files"]}
        assert {"anyconnect-win-4.10.07073-webdeploy-k9.pkg", "csd_3.6.6249-k9.pkg",
                "hostscan_4.10.07073-k9.pkg"} <= files


async def test_cluster_reloads_data_units_one_by_one_then_hands_control_over(lab: Lab) -> None:
    result, _ = await lab.apply(["fw-dc-cluster"])
    assert result.ok, result.outcomes
    sim = lab.sim("fw-dc-cluster")
    assert {u["running_version"] for u in sim["units"]} == {"9.4(1)"}
    assert [u["reloads"] for u in sim["units"]] == [1, 1, 1, 1]
    assert sim["management_unit"] == "unit-2"  # control handed to the first upgraded unit
    cmds = [e.text for e in transcript(lab, result.job.id) if e.kind is TranscriptKind.COMMAND
            and ("reload" in e.text or "master unit" in e.text)]
    assert cmds == ["cluster exec unit unit-2 reload noconfirm",
                    "cluster exec unit unit-3 reload noconfirm",
                    "cluster exec unit unit-4 reload noconfirm",
                    "cluster master unit unit-2",  # 9.3(3) still says master
                    "cluster exec unit unit-1 reload noconfirm"]
    # the image went to the control unit once and was spread to every member (disk1)
    copies = [e.text for e in transcript(lab, result.job.id) if e.kind is TranscriptKind.COMMAND
              and e.text.startswith("copy ") and "asa941" in e.text]
    assert copies == ["copy 6291456 bytes to disk1:/asa941-smp-k8.bin"]
    assert all("asa941-smp-k8.bin" in u["disks"]["disk1"]["files"] for u in sim["units"])


async def test_multiple_context_device_upgrades_the_system_context(lab: Lab) -> None:
    result, saved = await lab.apply(["fw-multi-01"])
    assert result.ok, result.outcomes
    assert lab.running("fw-multi-01") == {"fw-multi-01": "9.4(1)"}
    assert saved.plan.device("fw-multi-01").contexts == ("admin", "ctx-a", "ctx-b")
    again = await lab.replan(["fw-multi-01"])
    assert again.plan.device("fw-multi-01") is None  # converged: nothing left to plan


async def test_agent_endpoint_installs_and_checks_its_version(lab: Lab) -> None:
    result, _ = await lab.apply(["ep-lnx-001"])
    assert result.ok
    assert lab.sim("ep-lnx-001")["version"] == "7.3.2.1006"


# ---------------------------------------------------------------------------- faults


async def test_disk_full_fails_only_that_device_before_anything_changes(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "disk-full"})
    before = lab.fingerprint("fw-branch-01")
    others = lab.fingerprints(exclude=["fw-branch-01", "ep-win-001"])
    result, _ = await lab.apply(["fw-branch-01", "ep-win-001"],
                                JobRequest(ignore_windows=True, on_error=OnError.CONTINUE))
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.FAILED and out.code == "DISK-FULL"
    assert "not enough space on the disk" in out.message  # the meaning
    assert "delete unneeded images" in out.message  # what to do
    assert out.state is DeviceState.OPERATIONAL  # nothing disruptive happened
    assert result.outcomes["ep-win-001"].status is JobDeviceStatus.SUCCEEDED
    assert result.job.status is JobStatus.FAILED
    after = lab.fingerprint("fw-branch-01")
    assert after["boot"] == before["boot"] and after["units"][0]["reloads"] == 0
    assert lab.fingerprints(exclude=["fw-branch-01", "ep-win-001"]) == others
    assert job_device(lab, result.job.id, "fw-branch-01").message == out.message


async def test_http_413_splits_the_transfer_and_succeeds(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "too-large", "max_bytes": 1 << 20})
    result, _ = await lab.apply(["fw-branch-01"])
    assert result.ok, result.outcomes
    notes = [e.text for e in transcript(lab, result.job.id)
             if e.kind is TranscriptKind.NOTE and "HTTP 413" in e.text]
    assert notes and "splitting the transfer" in notes[0]
    with open_store(lab.state) as store:
        comments = [c.text for c in store.commentary(result.job.id, "fw-branch-01")]
    assert any("parts (the device refused larger requests: HTTP 413)" in c for c in comments)


@pytest.mark.parametrize("times", [1, 3])
async def test_transient_transfer_errors_are_retried_with_backoff(lab: Lab, times: int) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "transfer-error", "code": "ftp-426",
                                         "times": times})
    result, _ = await lab.apply(["fw-branch-01"])
    assert result.ok, result.outcomes
    retries = [x for k, x in lab.events.log if k == "retry"]
    assert len(retries) == times
    assert all(r[1] == "copy" and "FTP 426" in r[3] for r in retries)
    assert [r[2] for r in retries] == list(range(2, times + 2))  # attempt numbers
    assert lab.sim("fw-branch-01")["faults"][0]["fired"] == times
    assert lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}


async def test_transient_errors_beyond_the_attempts_fail_the_device(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "transfer-error", "code": "wsa-10054"})
    result, _ = await lab.apply(["fw-branch-01"])
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.FAILED and out.code == "WSA-10054"
    assert "WSAECONNRESET 10054 the connection was reset by the peer" in out.message
    assert lab.sim("fw-branch-01")["faults"][0]["fired"] == 4  # FAST_RETRY.attempts
    assert out.state is DeviceState.OPERATIONAL


async def test_permanent_transfer_error_is_not_retried(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "transfer-error", "code": "ftp-550"})
    others = lab.fingerprints(exclude=["fw-branch-01"])
    result, _ = await lab.apply(["fw-branch-01"])
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.FAILED and out.code == "FTP-550"
    assert "FTP 550 requested action not taken: file unavailable" in out.message
    assert "permanent: check the file name" in out.message
    assert lab.sim("fw-branch-01")["faults"][0]["fired"] == 1
    assert not [x for k, x in lab.events.log if k == "retry"]
    assert lab.sim("fw-branch-01")["units"][0]["reloads"] == 0
    assert lab.fingerprints(exclude=["fw-branch-01"]) == others


async def test_unit_unreachable_after_reload_puts_the_device_in_maintenance(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "unreachable-after-reload"})
    others = lab.fingerprints(exclude=["fw-branch-01", "ep-win-001"])
    result, _ = await lab.apply(["fw-branch-01", "ep-win-001"])
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.FAILED and out.code == "RELOAD_TIMEOUT"
    assert "was not ready within 900s" in out.message and "reload_timeout" in out.message
    assert out.state is DeviceState.MAINTENANCE
    assert result.outcomes["ep-win-001"].status is JobDeviceStatus.SUCCEEDED  # only it fails
    assert device_states(lab)["fw-branch-01"] is DeviceState.MAINTENANCE
    assert lab.fingerprints(exclude=["fw-branch-01", "ep-win-001"]) == others


async def test_reload_timeout_puts_the_device_in_maintenance(lab: Lab) -> None:
    lab.fleet.add_fault("fw-fpr-01", {"kind": "slow-reload", "seconds": 5000})
    result, _ = await lab.apply(["fw-fpr-01"])
    out = result.outcomes["fw-fpr-01"]
    assert out.code == "RELOAD_TIMEOUT" and out.state is DeviceState.MAINTENANCE
    assert device_states(lab)["fw-fpr-01"] is DeviceState.MAINTENANCE


async def test_standby_not_ready_at_plan_time_blocks_the_pair_untouched(lab: Lab) -> None:
    lab.fleet.add_fault("fw-dc-pair", {"kind": "standby-not-ready", "member": "secondary"})
    before = lab.fingerprint("fw-dc-pair")
    saved = await lab.replan(["fw-dc-pair"])
    d = saved.plan.device("fw-dc-pair")
    assert d.blocked and "STANDBY_NOT_READY" in [str(f.code) for f in d.findings]
    assert lab.fingerprint("fw-dc-pair") == before


async def test_standby_not_ready_after_its_reload_stops_the_pair_in_maintenance(lab: Lab) -> None:
    result, _ = await lab.apply(["fw-dc-pair"], before_run=_after_plan(lab, "fw-dc-pair"))
    out = result.outcomes["fw-dc-pair"]
    assert out.code == "RELOAD_TIMEOUT" and "Cold Standby" in out.message
    assert out.state is DeviceState.MAINTENANCE
    units = {u["name"]: u for u in lab.sim("fw-dc-pair")["units"]}
    # the active was never switched over nor reloaded: traffic stayed on the old active
    assert units["primary"]["reloads"] == 0 and units["primary"]["active"]
    assert units["secondary"]["reloads"] == 1
    # later plans leave the device alone until an operator marks it operational
    again = await lab.replan(["fw-dc-pair"])
    assert "DEVICE_STATE" in [str(f.code) for f in again.plan.device("fw-dc-pair").findings
                              if f.blocking]
    assert not again.plan.device("fw-dc-pair").steps


def _after_plan(lab: Lab, device: str):  # type: ignore[no-untyped-def]
    def hook(session: Any, job: Any) -> None:
        # injected after planning (the planner saw a healthy pair): the standby reloads fine
        # but never reaches Standby Ready again
        lab.fleet.devices[device].faults.add(Fault.from_dict(
            {"kind": "standby-not-ready", "member": "secondary"}))
    return hook


async def test_corrupt_copy_fails_verification_before_any_change(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "corrupt-upload", "times": 10})
    result, _ = await lab.apply(["fw-branch-01"])
    out = result.outcomes["fw-branch-01"]
    assert out.code == "CHECKSUM_MISMATCH" and out.state is DeviceState.OPERATIONAL
    assert "delete it and copy again" in out.message
    assert lab.sim("fw-branch-01")["saved_boot"] == ["disk0:/asa933-lfbff-k8.SPA"]


async def test_on_error_stop_starts_no_new_device_after_a_failure(lab: Lab) -> None:
    lab.fleet.add_fault("ep-lnx-001", {"kind": "install-fails", "code": "ftp-552"})
    others = lab.fingerprints(exclude=["ep-lnx-001"])
    result, _ = await lab.apply(["ep-lnx-001", "ep-win-001", "fw-branch-01"],
                                JobRequest(ignore_windows=True, order=Order.SEQUENTIAL,
                                           on_error=OnError.STOP))
    assert result.outcomes["ep-lnx-001"].status is JobDeviceStatus.FAILED
    assert "FTP 552" in result.outcomes["ep-lnx-001"].message
    assert result.outcomes["ep-lnx-001"].state is DeviceState.OPERATIONAL  # the agent is up
    for name in ("ep-win-001", "fw-branch-01"):
        assert result.outcomes[name].status is JobDeviceStatus.ABORTED
        assert "on_error: stop after ep-lnx-001 failed" in result.outcomes[name].message
    assert result.job.status is JobStatus.FAILED
    assert lab.fingerprints(exclude=["ep-lnx-001"]) == others
    assert lab.events.starts() == ["ep-lnx-001"]


async def test_agent_install_with_a_transient_failure_is_installed_again(lab: Lab) -> None:
    lab.fleet.add_fault("ep-win-001", {"kind": "install-fails", "code": "wsa-10060", "times": 1})
    result, _ = await lab.apply(["ep-win-001"])
    assert result.ok, result.outcomes
    retries = [x for k, x in lab.events.log if k == "retry"]
    assert [(r[1], r[2]) for r in retries] == [("agent-install", 2)]
    assert "WSAETIMEDOUT 10060" in retries[0][3]
    assert lab.sim("ep-win-001")["version"] == "7.3.2.1006"


def test_every_step_action_has_a_handler() -> None:
    from reconciler.executor import HANDLERS

    assert set(HANDLERS) == set(StepAction)
