"""Jobs: creation, approval workflow, running, abort, finish, retry/rollback, records, purge."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from reconciler.core.model import OnError, Operation, Order
from reconciler.secrets import register_secret
from reconciler.store import (JobDeviceSpec, JobDeviceStatus, JobProperties, JobStatus,
                              TranscriptKind, TranscriptLine, new_owner_id)
from reconciler.store import schema as t
from reconciler.store.errors import (ConflictError, IllegalTransitionError, NotFoundError)
from reconciler.errors import PermanentError

OLD, NEW = {"asa": "asa915-smp-k8.bin", "asdm": "asdm-751.bin"}, {"asa": "asa9181-smp-k8.bin"}


def _devices(*names):
    return [JobDeviceSpec(n, OLD, NEW) for n in names]


def _run_to_end(store, job, outcomes, owner=None):
    owner = owner or new_owner_id()
    store.start_job(job.id, owner=owner, ttl=60)
    for device, status in outcomes.items():
        store.set_job_device_status(job.id, device, JobDeviceStatus.RUNNING)
        store.set_job_device_status(job.id, device, status, message=f"{device} {status}")
    return store.finish_job(job.id, owner=owner)


def test_create_records_everything_given(store):
    props = JobProperties(on_error=OnError.CONTINUE, order=Order.SEQUENTIAL, max_parallel=2,
                          operation=Operation.COPY_ONLY, backup_current_image=True,
                          non_intrusive=True, extra={"reload_timeout": 600})
    job = store.create_job(_devices("fw-b", "fw-a"), created_by="alice", name="q3-upgrade",
                           description="ASA 9.18 rollout", ticket_id="CHG-1234",
                           commit="0123abcd", plan_fingerprint="sha256:feed",
                           properties=props)
    again = store.get_job(job.id)
    assert again == job
    assert (job.name, job.description, job.ticket_id, job.commit, job.plan_fingerprint) == (
        "q3-upgrade", "ASA 9.18 rollout", "CHG-1234", "0123abcd", "sha256:feed")
    assert job.properties == props and job.status is JobStatus.CREATED
    assert job.created_by == "alice" and job.created_at.tzinfo is not None
    assert job.summary.to_deploy == 2 and job.summary.pending == 2
    devs = store.job_devices(job.id)
    assert [(d.device, d.seq) for d in devs] == [("fw-b", 0), ("fw-a", 1)]  # order kept
    assert devs[0].old_images == OLD and devs[0].new_images == NEW
    assert store.get_job("q3-upgrade") == job and store.get_job(str(job.id)) == job


def test_default_names_carry_a_timestamp_and_stay_unique(store):
    names = [store.create_job(_devices("fw1"), created_by="ci").name for _ in range(3)]
    assert all(re.fullmatch(r"image-install-\d{8}-\d{6}(-\d+)?", n) for n in names), names
    assert len(set(names)) == 3


def test_bad_jobs_are_refused(store):
    with pytest.raises(PermanentError, match="at least one device"):
        store.create_job([], created_by="x")
    with pytest.raises(PermanentError, match="listed twice.*fw1"):
        store.create_job(_devices("fw1", "fw2", "fw1"), created_by="x")
    with pytest.raises(PermanentError, match="max_parallel"):
        store.create_job(_devices("fw1"), created_by="x", properties=JobProperties(max_parallel=0))
    store.create_job(_devices("fw1"), created_by="x", name="one")
    with pytest.raises(ConflictError, match="already exists"):
        store.create_job(_devices("fw1"), created_by="x", name="one")
    with pytest.raises(NotFoundError, match="no job"):
        store.get_job("nope")
    with pytest.raises(NotFoundError):
        store.get_job(99999)


def test_run_without_approval_and_summary(store):
    job = store.create_job(_devices("fw1", "fw2", "fw3"), created_by="ops")
    done = _run_to_end(store, job, {"fw1": JobDeviceStatus.SUCCEEDED,
                                    "fw2": JobDeviceStatus.SUCCEEDED,
                                    "fw3": JobDeviceStatus.FAILED})
    assert done.status is JobStatus.FAILED and done.finished_at is not None
    s = done.summary
    assert (s.to_deploy, s.succeeded, s.failed, s.pending, s.running) == (3, 2, 1, 0, 0)
    devs = {d.device: d for d in store.job_devices(job.id)}
    assert devs["fw3"].message == "fw3 failed"
    assert devs["fw1"].started_at <= devs["fw1"].finished_at
    ok = store.create_job(_devices("fw4"), created_by="ops")
    assert _run_to_end(store, ok, {"fw4": JobDeviceStatus.SUCCEEDED}).status is JobStatus.DEPLOYED


def test_approval_workflow(store):
    job = store.create_job(_devices("fw1"), created_by="alice", approval_required=True)
    with pytest.raises(IllegalTransitionError, match="needs approval"):
        store.start_job(job.id, owner=new_owner_id(), ttl=60)
    store.submit_job(job.id, actor="alice")
    with pytest.raises(IllegalTransitionError, match="waits for an approver"):
        store.start_job(job.id, owner=new_owner_id(), ttl=60)
    with pytest.raises(IllegalTransitionError, match="cannot also approve"):
        store.approve_job(job.id, actor="alice")
    rejected = store.reject_job(job.id, actor="bob", comment="wrong window")
    assert rejected.status is JobStatus.REJECTED
    store.edit_job(job.id, actor="alice", comment="moved to Saturday")
    resubmitted = store.submit_job(job.id, actor="alice")
    assert resubmitted.submitted_by == "alice" and resubmitted.approved_by is None
    approved = store.approve_job(job.id, actor="bob")
    assert approved.status is JobStatus.APPROVED and approved.approved_by == "bob"
    done = _run_to_end(store, job, {"fw1": JobDeviceStatus.SUCCEEDED})
    assert done.status is JobStatus.DEPLOYED
    steps = [(h.from_status, h.to_status, h.actor) for h in store.job_history(job.id)]
    S = JobStatus
    assert [(f, to) for f, to, _ in steps] == [
        (None, S.CREATED), (S.CREATED, S.SUBMITTED), (S.SUBMITTED, S.REJECTED),
        (S.REJECTED, S.CREATED), (S.CREATED, S.SUBMITTED), (S.SUBMITTED, S.APPROVED),
        (S.APPROVED, S.DEPLOYING), (S.DEPLOYING, S.DEPLOYED)]
    assert store.job_history(job.id)[2].comment == "wrong window"


def test_self_approval_when_allowed(store):
    job = store.create_job(_devices("fw1"), created_by="alice", approval_required=True,
                           allow_self_approval=True)
    store.submit_job(job.id, actor="alice")
    assert store.approve_job(job.id, actor="alice").status is JobStatus.APPROVED


def test_discard_before_run_and_finished_jobs_never_change(store):
    job = store.create_job(_devices("fw1"), created_by="alice", approval_required=True)
    store.submit_job(job.id, actor="alice")
    discarded = store.discard_job(job.id, actor="alice")
    assert discarded.status is JobStatus.DISCARDED and discarded.finished_at is not None
    for action in (store.submit_job, store.approve_job, store.discard_job, store.edit_job):
        with pytest.raises(IllegalTransitionError, match="finished job never changes"):
            action(job.id, actor="bob")
    running = store.create_job(_devices("fw2", "fw3"), created_by="alice")
    store.start_job(running.id, owner=new_owner_id(), ttl=60)
    with pytest.raises(IllegalTransitionError, match="deploying; it cannot become discarded"):
        store.discard_job(running.id, actor="alice")


def test_schedule_and_due_jobs(store):
    job = store.create_job(_devices("fw1"), created_by="ops")
    later = store.create_job(_devices("fw2"), created_by="ops")
    with pytest.raises(IllegalTransitionError, match="no start time"):
        store._change(job.id, JobStatus.SCHEDULED, "ops", "")
    store.schedule_job(job.id, store.now() - timedelta(seconds=1), actor="ops")
    store.schedule_job(later.id, store.now() + timedelta(hours=2), actor="ops")
    assert [j.id for j in store.due_jobs()] == [job.id]
    assert store.start_job(job.id, owner=new_owner_id(), ttl=60).status is JobStatus.DEPLOYING
    sched = datetime(2030, 1, 5, 1, 0, tzinfo=UTC)
    from_props = store.create_job(_devices("fw3"), created_by="ops",
                                  properties=JobProperties(schedule=sched))
    assert from_props.scheduled_at == sched and from_props.properties.schedule == sched


def test_abort_rules(store):
    single = store.create_job(_devices("fw1"), created_by="ops")
    with pytest.raises(IllegalTransitionError, match="discard it instead"):
        store.request_abort(single.id, actor="ops")
    store.start_job(single.id, owner=new_owner_id(), ttl=60)
    with pytest.raises(IllegalTransitionError, match="runs to completion"):
        store.request_abort(single.id, actor="ops")

    owner = new_owner_id()
    seq = store.create_job(_devices("fw2", "fw3", "fw4"), created_by="ops",
                           properties=JobProperties(order=Order.SEQUENTIAL))
    store.start_job(seq.id, owner=owner, ttl=60)
    store.set_job_device_status(seq.id, "fw2", JobDeviceStatus.RUNNING)
    asked = store.request_abort(seq.id, actor="carol")
    assert asked.abort_requested and asked.abort_requested_by == "carol"
    assert store.request_abort(seq.id, actor="dave").abort_requested_by == "carol"
    # The runner sees the request, lets the running device finish, aborts the rest.
    assert store.get_job(seq.id).abort_requested
    store.set_job_device_status(seq.id, "fw2", JobDeviceStatus.SUCCEEDED)
    assert store.abort_pending_devices(seq.id, message="job aborted by carol") == ["fw3", "fw4"]
    done = store.finish_job(seq.id, owner=owner)
    assert done.status is JobStatus.ABORTED
    assert (done.summary.succeeded, done.summary.aborted) == (1, 2)
    assert any("abort requested by carol" in c.text for c in store.commentary(seq.id))
    with pytest.raises(IllegalTransitionError, match="already aborted"):
        store.request_abort(seq.id, actor="ops")


def test_stop_on_error_is_a_failure_not_an_abort(store):
    owner = new_owner_id()
    job = store.create_job(_devices("fw1", "fw2"), created_by="ops")
    store.start_job(job.id, owner=owner, ttl=60)
    store.set_job_device_status(job.id, "fw1", JobDeviceStatus.RUNNING)
    store.set_job_device_status(job.id, "fw1", JobDeviceStatus.FAILED)
    store.abort_pending_devices(job.id, message="on_error: stop")
    assert store.finish_job(job.id, owner=owner).status is JobStatus.FAILED


def test_finish_needs_every_outcome_and_the_owner(store):
    owner = new_owner_id()
    job = store.create_job(_devices("fw1", "fw2"), created_by="ops")
    store.start_job(job.id, owner=owner, ttl=60)
    store.acquire_many(["fw1", "fw2", "other"], owner, ttl=60, job_id=job.id)
    store.set_job_device_status(job.id, "fw1", JobDeviceStatus.RUNNING)
    with pytest.raises(ConflictError, match="still has 2 device"):
        store.finish_job(job.id, owner=owner)
    store.set_job_device_status(job.id, "fw1", JobDeviceStatus.SUCCEEDED)
    store.set_job_device_status(job.id, "fw2", JobDeviceStatus.SKIPPED,
                                message="locked by another run")
    with pytest.raises(ConflictError, match="run by"):
        store.finish_job(job.id, owner=new_owner_id())
    done = store.finish_job(job.id, owner=owner)
    assert done.status is JobStatus.FAILED  # a skipped device was not deployed
    assert [x.device for x in store.leases(owner=owner)] == ["other"]  # job's leases released


def test_a_job_its_creator_left_created_is_interrupted_before_start(store):
    """A run killed between creating and starting its job: the next run finds the job (the
    creator's process is gone, or its time to start ran out) instead of leaving it `created`
    for ever; approval jobs and jobs created without an owner wait on purpose."""
    gone = "elsewhere.example:4242:0badc0de"  # liveness unknowable from here: time decides
    live = new_owner_id()
    orphan = store.create_job(_devices("fw1", "fw2"), created_by="ci", owner=gone, ttl=60)
    mine = store.create_job(_devices("fw3"), created_by="ci", owner=live, ttl=60)
    approval = store.create_job(_devices("fw4"), created_by="ci", owner=gone, ttl=60,
                                approval_required=True)
    plain = store.create_job(_devices("fw5"), created_by="ci")
    store.acquire("fw1", gone, ttl=60, job_id=orphan.id)
    assert orphan.owner == gone and approval.owner is None
    assert store.find_interrupted_jobs() == []  # within its time: maybe just slow
    assert store.mark_interrupted(orphan.id, actor="next") is None
    with store._engine.begin() as conn:  # its time ran out (the clock cannot be moved)
        conn.execute(update(t.jobs).values(heartbeat_expires_at=store.now() - timedelta(1)))
    assert [j.id for j in store.find_interrupted_jobs()] == [orphan.id, mine.id]
    done = store.mark_interrupted(orphan.id, actor="next")
    assert done is not None and done.status is JobStatus.INTERRUPTED
    assert done.started_at is None and done.finished_at is not None
    assert store.mark_interrupted(orphan.id, actor="other") is None  # one recoverer wins
    devices = store.job_devices(orphan.id)
    assert {d.status for d in devices} == {JobDeviceStatus.ABORTED}
    assert all(d.message.startswith("not started: interrupted before it started") for d in devices)
    (last,) = store.job_history(orphan.id)[-1:]
    assert (last.from_status, last.to_status, last.actor) == (
        JobStatus.CREATED, JobStatus.INTERRUPTED, "next")
    assert "no device was touched" in last.comment
    assert store.lease("fw1") is None  # whatever it held under the job is released
    for job in (approval, plain):
        assert store.get_job(job.id).status is JobStatus.CREATED
    retry = store.create_job(_devices("fw1", "fw2"), created_by="ops", retry_of=orphan.id)
    assert retry.retry_of == orphan.id  # an interrupted job can be retried


def test_job_device_transitions_are_checked(store):
    job = store.create_job(_devices("fw1"), created_by="ops")
    with pytest.raises(IllegalTransitionError, match="pending; it cannot become succeeded"):
        store.set_job_device_status(job.id, "fw1", JobDeviceStatus.SUCCEEDED)
    with pytest.raises(NotFoundError, match="not part of job"):
        store.set_job_device_status(job.id, "fw9", JobDeviceStatus.RUNNING)
    with pytest.raises(PermanentError, match="pending devices cannot become running"):
        store.abort_pending_devices(job.id, message="x", status=JobDeviceStatus.RUNNING)


def test_a_runner_declared_dead_cannot_finish_later(store):
    owner = new_owner_id()
    job = store.create_job(_devices("fw1", "fw2"), created_by="ops")
    store.start_job(job.id, owner=owner, ttl=60)
    assert store.mark_interrupted(job.id, actor="ops") is None  # alive: refused
    assert store.mark_interrupted(job.id, actor="ops", reason="operator cleanup",
                                  force=True).status is JobStatus.INTERRUPTED
    assert store.heartbeat(owner, ttl=60).jobs == ()
    with pytest.raises(IllegalTransitionError):
        store.set_job_device_status(job.id, "fw1", JobDeviceStatus.RUNNING)
    with pytest.raises(IllegalTransitionError, match="interrupted"):
        store.finish_job(job.id, owner=owner, status=JobStatus.DEPLOYED)


def test_heartbeat_keeps_a_job_alive(store):
    owner = new_owner_id()
    job = store.create_job(_devices("fw1"), created_by="ops")
    started = store.start_job(job.id, owner=owner, ttl=60)
    beat = store.heartbeat(owner, ttl=120)
    assert beat.jobs == (job.id,)
    assert store.get_job(job.id).heartbeat_expires_at > started.heartbeat_expires_at
    assert store.find_interrupted_jobs() == []


def test_retry_and_rollback_link_to_the_origin(store):
    failed = _run_to_end(store, store.create_job(_devices("fw1"), created_by="ops"),
                         {"fw1": JobDeviceStatus.FAILED})
    deployed = _run_to_end(store, store.create_job(_devices("fw2"), created_by="ops"),
                           {"fw2": JobDeviceStatus.SUCCEEDED})
    fresh = store.create_job(_devices("fw3"), created_by="ops")
    retry = store.create_job(_devices("fw1"), created_by="ops", retry_of=failed.id)
    assert retry.retry_of == failed.id and retry.status is JobStatus.CREATED
    assert "retry of job" in store.job_history(retry.id)[0].comment
    with pytest.raises(IllegalTransitionError, match="cannot be retried"):
        store.create_job(_devices("fw2"), created_by="ops", retry_of=deployed.id)
    back = [JobDeviceSpec(d.device, d.new_images, d.old_images)
            for d in store.job_devices(deployed.id)]
    rollback = store.create_job(back, created_by="ops", rollback_of=deployed.id)
    assert rollback.rollback_of == deployed.id
    assert store.job_devices(rollback.id)[0].new_images == OLD
    with pytest.raises(IllegalTransitionError, match="cannot be rolled back"):
        store.create_job(_devices("fw3"), created_by="ops", rollback_of=fresh.id)


def test_list_jobs_filters(store):
    a = store.create_job(_devices("fw1", "fw2"), created_by="ops", ticket_id="CHG-1")
    b = store.create_job(_devices("fw2"), created_by="ops", ticket_id="CHG-2")
    c = store.create_job(_devices("fw3"), created_by="ops")
    store.discard_job(c.id, actor="ops")
    assert [j.id for j in store.list_jobs()] == [c.id, b.id, a.id]
    assert [j.id for j in store.list_jobs(device="fw2")] == [b.id, a.id]
    assert [j.id for j in store.list_jobs(ticket_id="CHG-1")] == [a.id]
    assert [j.id for j in store.list_jobs(statuses=[JobStatus.DISCARDED])] == [c.id]
    assert [j.id for j in store.list_jobs(limit=1, offset=1)] == [b.id]
    assert store.list_jobs()[-1].summary.to_deploy == 2


def test_transcript_batches_in_order_and_redacts(store):
    secret = "Tr4nscr1pt-S3cret"
    register_secret(secret)
    job = store.create_job(_devices("fw1", "fw2"), created_by="ops",
                           description=f"uses {secret}")
    assert secret not in store.get_job(job.id).description
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    lines = [TranscriptLine("fw1", TranscriptKind.COMMAND, "show version", member="primary",
                            at=t0),
             TranscriptLine("fw1", TranscriptKind.RESPONSE, "Cisco Adaptive Security ... 9.1(5)"),
             TranscriptLine("fw2", TranscriptKind.COMMAND,
                            f"copy /noconfirm https://admin:{secret}@repo/asa.bin disk0:"),
             TranscriptLine("fw2", TranscriptKind.ERROR, "HTTP 413")]
    assert store.append_transcript(job.id, lines) == 4
    assert store.append_transcript(job.id, []) == 0
    got = store.transcript(job.id)
    assert [(e.device, e.kind, e.member) for e in got] == [
        ("fw1", TranscriptKind.COMMAND, "primary"), ("fw1", TranscriptKind.RESPONSE, None),
        ("fw2", TranscriptKind.COMMAND, None), ("fw2", TranscriptKind.ERROR, None)]
    assert got[0].at == t0 and got[1].at > t0
    assert secret not in got[2].text and "admin:***@repo" in got[2].text
    assert [e.text for e in store.transcript(job.id, "fw2")] == [got[2].text, "HTTP 413"]
    assert store.transcript(job.id, after_id=got[1].id) == got[2:]
    assert len(store.transcript(job.id, limit=1)) == 1


def test_commentary_per_device_and_for_the_job(store):
    secret = "C0mmentary-S3cret"
    register_secret(secret)
    job = store.create_job(_devices("fw1"), created_by="ops")
    store.add_commentary(job.id, "starting", device=None)
    store.add_commentary(job.id, f"copying with {secret}", device="fw1")
    notes = store.commentary(job.id)
    assert [(c.device, c.text) for c in notes] == [(None, "starting"), ("fw1", "copying with ***")]
    assert [c.text for c in store.commentary(job.id, "fw1")] == ["copying with ***"]
    assert store.commentary(job.id, after_id=notes[0].id) == notes[1:]


def test_purge_removes_old_finished_jobs_with_their_records(store):
    old = _run_to_end(store, store.create_job(_devices("fw1"), created_by="ops", name="old"),
                      {"fw1": JobDeviceStatus.SUCCEEDED})
    store.append_transcript(old.id, [TranscriptLine("fw1", TranscriptKind.COMMAND, "reload")])
    store.add_commentary(old.id, "done")
    recent = _run_to_end(store, store.create_job(_devices("fw1"), created_by="ops",
                                                 name="recent"),
                         {"fw1": JobDeviceStatus.SUCCEEDED})
    stale_running = store.create_job(_devices("fw2", "fw3"), created_by="ops", name="running")
    store.start_job(stale_running.id, owner=new_owner_id(), ttl=60)
    stale_created = store.create_job(_devices("fw4"), created_by="ops", name="waiting")
    back = store.create_job(_devices("fw1"), created_by="ops", name="rollback",
                            rollback_of=old.id)
    long_ago = store.now() - timedelta(days=40)
    with store._engine.begin() as conn:  # age the records; the clock cannot be moved
        conn.execute(update(t.jobs).where(t.jobs.c.name.in_(["old", "running", "waiting"]))
                     .values(finished_at=None, updated_at=long_ago, created_at=long_ago))
        conn.execute(update(t.jobs).where(t.jobs.c.name == "old")
                     .values(finished_at=long_ago))
    assert store.purge_jobs(30) == ["old"]
    names = {j.name for j in store.list_jobs()}
    assert names == {"recent", "running", "waiting", "rollback"}
    assert store.transcript(old.id) == [] and store.commentary(old.id) == []
    assert store.job_devices(old.id) == [] and store.job_history(old.id) == []
    assert store.get_job("rollback").rollback_of is None  # the link goes, the job stays
    assert store.purge_jobs(0) == [recent.name]
    with pytest.raises(PermanentError, match="zero or more"):
        store.purge_jobs(-1)
    assert stale_created.status is JobStatus.CREATED and back.rollback_of == old.id
