"""Jobs beyond one run: retry from fresh discovery, rollback to the old images (verified by
re-discovery), purge, and the approval workflow."""

from __future__ import annotations

import pytest

from reconciler.core.model import DeviceState, ImageType
from reconciler.core.overrides import with_overrides
from reconciler.executor import JobRequest, request_from, rollback_targets
from reconciler.executor.jobs import job_plan
from reconciler.store import JobDeviceSpec, JobDeviceStatus, JobStatus, open_store
from reconciler.store.errors import IllegalTransitionError
from tests.executor.conftest import Lab

RUN = JobRequest(ignore_windows=True)


async def test_retry_is_a_new_job_planned_from_fresh_discovery(lab: Lab) -> None:
    lab.fleet.add_fault("fw-branch-01", {"kind": "transfer-error", "code": "ftp-550"})
    failed, _ = await lab.apply(["fw-branch-01", "ep-win-001"])
    assert failed.job.status is JobStatus.FAILED
    lab.fleet.clear_faults("fw-branch-01")  # the operator fixed the cause

    desired = lab.desired()
    async with lab.session() as s:
        await s.recover(desired)
        names = [d.device for d in s.store.job_devices(failed.job.id)]
        saved, resolved = await s.plan(desired, names)
        # ep-win-001 succeeded the first time: fresh discovery shows it in sync
        assert [d.device for d in saved.plan.devices if d.steps] == ["fw-branch-01"]
        retry = s.create(saved, request_from(failed.job), resolved, origin="retry",
                         retry_of=failed.job.id)
        result = await s.run(retry, desired)
    assert result.ok and result.job.retry_of == failed.job.id
    assert result.job.id != failed.job.id
    assert lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}
    with open_store(lab.state) as store:
        assert store.get_job(failed.job.id).status is JobStatus.FAILED  # finished jobs never change
        assert store.job_history(retry.id)[0].comment == f"retry of job {failed.job.id}"


async def test_a_deployed_job_cannot_be_retried(lab: Lab) -> None:
    done, _ = await lab.apply(["ep-win-001"])
    with open_store(lab.state) as store, pytest.raises(IllegalTransitionError,
                                                       match="cannot be retried"):
        store.create_job([JobDeviceSpec("ep-win-001")], created_by="x", retry_of=done.job.id)


async def test_rollback_returns_devices_to_the_images_the_job_replaced(lab: Lab) -> None:
    forward, _ = await lab.apply(["fw-branch-01", "ep-win-001"])
    assert forward.ok
    assert lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}

    desired = lab.desired()
    async with lab.session() as s:
        targets, notes = rollback_targets(s.store, forward.job)
        assert targets == {"fw-branch-01": {ImageType.ASA: "asa933-lfbff-k8.SPA",
                                            ImageType.ASDM: "asdm-741.bin"},
                           "ep-win-001": {ImageType.AGENT: "7.3.1.2048"}}
        back = with_overrides(desired, reason=f"rollback of job {forward.job.id}",
                              targets=targets)
        saved, resolved = await s.plan(back, sorted(targets))
        pair = saved.plan.device("fw-branch-01")
        assert [str(c.to_version) for c in pair.changes] == ["9.3(3)", "7.4(1)"]
        assert "DOWNGRADE" in [str(f.code) for f in pair.findings]  # validated like any plan
        job = s.create(saved, request_from(forward.job), resolved, origin="rollback",
                       rollback_of=forward.job.id)
        result = await s.run(job, desired)
    assert result.ok, result.outcomes
    assert result.job.rollback_of == forward.job.id
    assert lab.running("fw-branch-01") == {"fw-branch-01": "9.3(3)"}
    assert lab.sim("ep-win-001")["version"] == "7.3.1.2048"
    # re-discovery agrees, and the job recorded the way back
    snap = await _discover(lab, ["fw-branch-01"])
    assert snap.devices["fw-branch-01"].running[ImageType.ASA] == "9.3(3)"
    with open_store(lab.state) as store:
        d = next(x for x in store.job_devices(job.id) if x.device == "fw-branch-01")
    assert d.old_images["asa"] == "asa941-lfbff-k8.SPA" and d.new_images["asa"] == \
        "asa933-lfbff-k8.SPA"


async def _discover(lab: Lab, names: list[str]):  # type: ignore[no-untyped-def]
    async with lab.session() as s:
        return await s.discover(lab.desired(), names)


async def test_rollback_of_a_job_that_never_ran_is_refused(lab: Lab) -> None:
    desired = lab.desired()
    async with lab.session() as s:
        saved, resolved = await s.plan(desired, ["ep-win-001"])
        job = s.create(saved, RUN, resolved)
        with pytest.raises(Exception, match="never ran"):
            rollback_targets(s.store, job)


async def test_purge_removes_finished_jobs_older_than_n_days(lab: Lab) -> None:
    done, _ = await lab.apply(["ep-win-001"])
    desired = lab.desired()
    async with lab.session() as s:
        saved, resolved = await s.plan(desired, ["ep-lnx-001"])
        waiting = s.create(saved, RUN, resolved)
        assert s.store.purge_jobs(30) == []  # too recent
        assert s.store.purge_jobs(0) == [done.job.name]  # finished: gone with its records
        assert s.store.transcript(done.job.id) == []
        assert s.store.get_job(waiting.id).status is JobStatus.CREATED  # not finished: kept


async def test_approval_workflow_gates_the_run(lab: Lab) -> None:
    desired = lab.desired()
    request = JobRequest(ignore_windows=True, approval_required=True)
    async with lab.session(actor="alice") as s:
        saved, resolved = await s.plan(desired, ["ep-win-001"])
        job = s.create(saved, request, resolved)
        assert job.status is JobStatus.CREATED and job.approval_required
        with pytest.raises(IllegalTransitionError, match="needs approval"):
            await s.run(job, desired)
        s.store.submit_job(job.id, actor="alice")
        with pytest.raises(IllegalTransitionError, match="cannot also approve"):
            s.store.approve_job(job.id, actor="alice")
        s.store.approve_job(job.id, actor="bob", comment="CAB 12")
        # deploying runs exactly the approved plan, after a freshness check
        await s.check_fresh(job_plan(s.store.get_job(job.id)), desired)
        result = await s.run(s.store.get_job(job.id), desired)
    assert result.ok
    with open_store(lab.state) as store:
        path = [str(h.to_status) for h in store.job_history(job.id)]
    assert path == ["created", "submitted", "approved", "deploying", "deployed"]


async def test_rejected_and_discarded_jobs_never_run(lab: Lab) -> None:
    desired = lab.desired()
    request = JobRequest(ignore_windows=True, approval_required=True)
    async with lab.session(actor="alice") as s:
        saved, resolved = await s.plan(desired, ["ep-win-001"])
        job = s.create(saved, request, resolved)
        s.store.submit_job(job.id, actor="alice")
        s.store.reject_job(job.id, actor="bob", comment="not this week")
        s.store.discard_job(job.id, actor="alice")
        with pytest.raises(IllegalTransitionError):
            await s.run(s.store.get_job(job.id), desired)
    assert lab.sim("ep-win-001")["version"] == "7.3.1.2048"


async def test_configuration_required_device_is_left_alone_until_marked(lab: Lab) -> None:
    result, _ = await lab.apply(["fw-legacy-01"])  # 8.4 -> 9.1 crosses 9.0(1)
    assert result.outcomes["fw-legacy-01"].state is DeviceState.CONFIGURATION_REQUIRED
    assert result.outcomes["fw-legacy-01"].status is JobDeviceStatus.SUCCEEDED
    with open_store(lab.state) as store:
        rec = store.get_device_state("fw-legacy-01")
    assert "9.0(1) introduces unified (IPv4/IPv6) access rules" in rec.reason
