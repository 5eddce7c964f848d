"""Crash recovery: a job whose runner died is found, marked interrupted, and its devices are
settled by re-discovery (target reached, untouched, or unreachable), before anything else."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from typing import Any

from reconciler.core.model import DeviceState
from reconciler.core.plan.model import SavedPlan
from reconciler.executor import Connector, JobRequest, create_job, recover
from reconciler.executor.recovery import interrupted_line
from reconciler.store import Job, JobDeviceStatus, JobStatus, Store, new_owner_id, open_store
from reconciler.store.owners import local_key
from reconciler.executor.session import Session, settings_of
from tests.executor.conftest import Lab, Recorder

RUN = JobRequest(ignore_windows=True)


def dead_owner() -> str:
    """The identity of a runner on this host whose process is gone (as after kill -9)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return f"{socket.gethostname()}:{p.pid}:{local_key()}-0123456789ab"


async def crashed_job(lab: Lab, names: list[str], owner: str) -> tuple[Job, SavedPlan]:
    """A job as a runner leaves it when it dies mid-way: deploying, its devices running and
    upgrade-in-progress, their leases still held."""
    desired = lab.desired()
    async with lab.session() as s:
        saved, resolved = await s.plan(desired, names)
        job = s.create(saved, RUN, resolved)
        s.store.start_job(job.id, owner=owner, ttl=600)
        s.store.acquire_many(names, owner, 600, job_id=job.id)
        for n in names:
            s.store.set_device_state(n, DeviceState.UPGRADE_IN_PROGRESS, actor="runner",
                                     job_id=job.id, expected=DeviceState.OPERATIONAL)
            s.store.set_job_device_status(job.id, n, JobDeviceStatus.RUNNING)
        return s.store.get_job(job.id), saved


async def half_done_upgrade(lab: Lab, name: str, saved: SavedPlan) -> None:
    """What the dead runner got through: the images copied, the boot list saved, the reload
    sent (the unit is still booting when recovery looks)."""
    plan = saved.plan.device(name)
    for step in plan.steps:
        if str(step.action) == "copy":
            lab.fleet.apply(name, "put-file", path=step.path, size=step.size, unit=name)
    boot = next(s.boot for s in plan.steps if str(s.action) == "set-boot")
    asdm = next(s.path for s in plan.steps if str(s.action) == "set-asdm")
    async with Connector(lab.root, client_factory=lab.factory) as conn:
        async with conn.driver(lab.desired().inventory[name]) as drv:
            await drv.set_boot(boot)
            await drv.set_asdm(asdm)
            await drv.save_config()
            await drv.reload()


async def run_recovery(lab: Lab, store: Store, actor: str = "next-run"):  # type: ignore[no-untyped-def]
    async with Connector(lab.root, client_factory=lab.factory) as conn:
        return await recover(store, conn, lab.desired().inventory, actor=actor)


async def test_a_dead_runners_job_is_interrupted_and_a_finished_reload_settles_it(lab: Lab) -> None:
    job, saved = await crashed_job(lab, ["fw-branch-01"], dead_owner())
    await half_done_upgrade(lab, "fw-branch-01", saved)
    assert lab.sim("fw-branch-01")["units"][0]["state"] != "up"  # still reloading
    with open_store(lab.state) as store:
        report = await run_recovery(lab, store)
        assert [j.id for j in report.interrupted] == [job.id]
        (settled,) = report.settled
        assert settled.state is DeviceState.OPERATIONAL
        assert "every unit runs the job's target (asa 9.4(1), asdm 7.16(1))" in settled.detail
        assert store.get_job(job.id).status is JobStatus.INTERRUPTED
        d = store.job_devices(job.id)[0]
        assert d.status is JobDeviceStatus.INTERRUPTED
        assert store.lease("fw-branch-01") is None  # the dead runner's lease is gone
        rec = store.get_device_state("fw-branch-01")
        assert rec.state is DeviceState.OPERATIONAL and "recovery after job" in rec.reason
        notes = [c.text for c in store.commentary(job.id)]
    assert any(n.startswith("interrupted: runner") for n in notes)
    assert any(n.startswith("recovered by next-run") for n in notes)
    # the next plan has nothing left to do for it: no unit is reloaded again
    again = await lab.replan(["fw-branch-01"])
    assert again.plan.device("fw-branch-01") is None
    assert lab.sim("fw-branch-01")["units"][0]["reloads"] == 1


async def test_an_untouched_device_goes_back_to_operational(lab: Lab) -> None:
    job, _ = await crashed_job(lab, ["fw-branch-01"], dead_owner())
    with open_store(lab.state) as store:
        report = await run_recovery(lab, store)
        (settled,) = report.settled
    assert settled.state is DeviceState.OPERATIONAL and "target is not reached" in settled.detail
    result, _ = await lab.apply(["fw-branch-01"])  # and the next run converges it
    assert result.ok and lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}


async def test_a_unit_that_does_not_come_back_puts_the_device_in_maintenance(lab: Lab) -> None:
    job, _ = await crashed_job(lab, ["fw-branch-01", "ep-win-001"], dead_owner())
    lab.fleet.add_fault("fw-branch-01", {"kind": "unreachable"})
    with open_store(lab.state) as store:
        report = await run_recovery(lab, store)
        states = {s.device: s.state for s in report.settled}
    assert states == {"fw-branch-01": DeviceState.MAINTENANCE,
                      "ep-win-001": DeviceState.OPERATIONAL}
    detail = next(s.detail for s in report.settled if s.device == "fw-branch-01")
    assert "did not answer within 900s" in detail


async def test_a_live_runners_job_is_left_alone(lab: Lab) -> None:
    me = new_owner_id()
    job, _ = await crashed_job(lab, ["ep-win-001"], me)
    with open_store(lab.state) as store:
        report = await run_recovery(lab, store)
        assert report.empty
        assert store.get_job(job.id).status is JobStatus.DEPLOYING
        assert store.get_device_state("ep-win-001").state is DeviceState.UPGRADE_IN_PROGRESS


async def test_recovery_runs_before_a_new_apply_touches_anything(lab: Lab) -> None:
    job, _ = await crashed_job(lab, ["fw-branch-01"], dead_owner())
    result, _ = await lab.apply(["fw-branch-01"])  # lab.apply recovers first, like the CLI
    assert result.ok
    with open_store(lab.state) as store:
        assert store.get_job(job.id).status is JobStatus.INTERRUPTED
        history = [(c.from_state, c.to_state, c.job_id)
                   for c in store.device_state_history("fw-branch-01")]
    assert history == [
        (DeviceState.OPERATIONAL, DeviceState.UPGRADE_IN_PROGRESS, job.id),
        (DeviceState.UPGRADE_IN_PROGRESS, DeviceState.OPERATIONAL, job.id),  # recovery
        (DeviceState.OPERATIONAL, DeviceState.UPGRADE_IN_PROGRESS, result.job.id),
        (DeviceState.UPGRADE_IN_PROGRESS, DeviceState.OPERATIONAL, result.job.id)]


class StopAfterReload(Recorder):
    """A second Ctrl-C the moment the reload of `unit` has been sent: the runner stops dead, the
    job is interrupted and the device left upgrade-in-progress for the next run."""

    def __init__(self, session: Session, unit: str) -> None:
        super().__init__()
        self.session, self.unit = session, unit

    def step_finished(self, device: str, index: int, total: int, step: Any, result: str) -> None:
        if str(step.action) == "reload" and step.member == self.unit:
            assert self.session.runner is not None
            self.session.runner.hard_stop()


async def cluster_stopped_while_unit_1_reloads(lab: Lab) -> Job:
    """fw-dc-cluster upgraded up to the reload of its old control unit (unit-1, the last unit
    to reload), then the runner is gone: unit-1 is absent from `show cluster info` while it
    boots; the other three run the target."""
    desired = lab.desired()
    async with lab.session("doomed") as s:
        saved, resolved = await s.plan(desired, ["fw-dc-cluster"])
        job = s.create(saved, RUN, resolved)
        with contextlib.suppress(asyncio.CancelledError):
            await s.run(job, desired, events=StopAfterReload(s, "unit-1"))
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
    listed = {u["name"]: u["state"] for u in lab.sim("fw-dc-cluster")["units"]}
    assert listed["unit-1"] != "up", listed  # still booting when the next run looks
    return job


async def test_a_cluster_unit_still_rebooting_is_waited_for_not_overlooked(lab: Lab) -> None:
    # unit-1 takes 700 s (device time) to boot: recovery must wait for it within the job's
    # reload timeout — its absence from the listing is not "every unit on target"
    lab.fleet.add_fault("fw-dc-cluster", {"kind": "slow-reload", "seconds": 700,
                                          "member": "unit-1"})
    job = await cluster_stopped_while_unit_1_reloads(lab)
    with open_store(lab.state) as store:
        report = await run_recovery(lab, store)
        (settled,) = report.settled
        assert settled.job_id == job.id
        assert settled.state is DeviceState.CONFIGURATION_REQUIRED, settled.detail
        assert "every unit runs the job's target" in settled.detail
    assert lab.running("fw-dc-cluster") == dict.fromkeys(
        ("unit-1", "unit-2", "unit-3", "unit-4"), "9.4(1)")
    assert {u["name"]: u["reloads"] for u in lab.sim("fw-dc-cluster")["units"]} == dict.fromkeys(
        ("unit-1", "unit-2", "unit-3", "unit-4"), 1)


async def test_a_cluster_unit_that_never_rejoins_puts_the_cluster_in_maintenance(lab: Lab) -> None:
    lab.fleet.add_fault("fw-dc-cluster", {"kind": "unreachable-after-reload", "member": "unit-1"})
    await cluster_stopped_while_unit_1_reloads(lab)
    with open_store(lab.state) as store:
        report = await run_recovery(lab, store)
    (settled,) = report.settled
    assert settled.state is DeviceState.MAINTENANCE
    assert "unit-1 did not answer within 1200s" in settled.detail, settled.detail  # its policy


async def test_a_job_left_created_by_a_killed_run_is_settled_by_the_next_run(lab: Lab) -> None:
    """Killed between creating its job and starting it (kill -9, or Ctrl-C before the signal
    handlers are in place): the job never ran; the next run records it interrupted before it
    started, its devices not started, and goes on — it is no longer left `created`."""
    desired = lab.desired()
    before = lab.fingerprints()
    async with lab.session("doomed") as s:
        saved, resolved = await s.plan(desired, ["fw-branch-01", "ep-win-001"])
        orphan = create_job(s.store, saved, RUN, created_by="doomed",
                            settings=settings_of(resolved), owner=dead_owner())
        waiting = s.create(saved, JobRequest(approval_required=True), resolved)
    result, _ = await lab.apply(["fw-branch-01"])  # the next run: recovery first
    assert result.ok
    with open_store(lab.state) as store:
        job = store.get_job(orphan.id)
        assert job.status is JobStatus.INTERRUPTED and job.started_at is None
        assert {d.device: d.status for d in store.job_devices(orphan.id)} == {
            "fw-branch-01": JobDeviceStatus.ABORTED, "ep-win-001": JobDeviceStatus.ABORTED}
        assert store.get_job(waiting.id).status is JobStatus.CREATED  # waits for approval
        history = [c.job_id for c in store.device_state_history("ep-win-001")]
    assert history == [] and lab.fingerprint("ep-win-001") == before["ep-win-001"]
    line = interrupted_line(job)
    assert line.startswith(f"job {orphan.id} (") and "interrupted before it started" in line
    assert "no device was touched" in line
