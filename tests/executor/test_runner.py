"""The job runner: work-conserving slots, the sequential lane, abort in both orders, on_error,
leases held by other runs, and waiting for start times and maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.core.model import DeviceState, Order
from reconciler.executor import JobRequest
from reconciler.store import JobDeviceStatus, JobStatus, open_store
from reconciler.store.errors import IllegalTransitionError
from tests.executor.conftest import Lab, Recorder

RUN = JobRequest(ignore_windows=True)


class AbortAfter(Recorder):
    """Requests an abort (as `reconciler jobs abort` would, from another process) as soon as
    `n` devices have started."""

    def __init__(self, lab: Lab, n: int) -> None:
        super().__init__()
        self.lab, self.n = lab, n
        self.job_id = 0
        self.refused: str | None = None

    def job_started(self, job_id: int, name: str, devices: Any, slots: int) -> None:
        self.job_id = job_id

    def device_started(self, device: str, steps: int) -> None:
        super().device_started(device, steps)
        if len(self.starts()) == self.n:
            with open_store(self.lab.state) as store:
                try:
                    store.request_abort(self.job_id, actor="ops")
                except IllegalTransitionError as e:
                    self.refused = e.message


def order_of(events: Recorder) -> list[tuple[str, str]]:
    return [(k, v if isinstance(v, str) else v[0]) for k, v in events.log if k in ("start", "end")]


async def test_parallel_slots_are_work_conserving_not_batches(lab: Lab) -> None:
    # fw-dc-pair needs three passes (six reloads); the others one reload each
    result, _ = await lab.apply(["fw-branch-01", "fw-dc-pair", "fw-fpr-01", "fw-legacy-01"],
                                JobRequest(ignore_windows=True, max_parallel=2))
    assert result.ok, result.outcomes
    seq = order_of(lab.events)
    pair_done = seq.index(("end", "fw-dc-pair"))
    # both later devices started while the slow pair was still running: a freed slot is used
    assert seq.index(("start", "fw-fpr-01")) < pair_done
    assert seq.index(("start", "fw-legacy-01")) < pair_done
    # never more than two at once
    running, peak = 0, 0
    for kind, _ in seq:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2


async def test_sequential_policy_devices_never_overlap_inside_a_parallel_job(lab: Lab) -> None:
    # the datacenter group says order: sequential; the branch device does not
    names = ["fw-branch-01", "fw-dc-cluster", "fw-multi-01"]
    result, _ = await lab.apply(names)
    assert result.ok, result.outcomes
    assert result.job.properties.order is Order.PARALLEL
    assert result.job.properties.extra["sequential"] == ["fw-dc-cluster", "fw-multi-01"]
    seq = order_of(lab.events)
    assert seq.index(("end", "fw-dc-cluster")) < seq.index(("start", "fw-multi-01"))
    # ...while the branch device ran alongside the cluster
    assert seq.index(("start", "fw-branch-01")) < seq.index(("end", "fw-dc-cluster"))


async def test_a_job_is_sequential_when_every_device_says_so(lab: Lab) -> None:
    result, _ = await lab.apply(["fw-dc-cluster", "fw-multi-01"])
    assert result.job.properties.order is Order.SEQUENTIAL
    assert result.job.properties.max_parallel == 4 and result.ok


async def test_abort_in_sequential_order_aborts_every_device_not_yet_started(lab: Lab) -> None:
    names = ["ep-lnx-001", "ep-win-001", "fw-branch-01"]
    lab.events = AbortAfter(lab, 1)
    others = lab.fingerprints(exclude=["ep-lnx-001"])
    result, _ = await lab.apply(names, JobRequest(ignore_windows=True, order=Order.SEQUENTIAL))
    assert result.outcomes["ep-lnx-001"].status is JobDeviceStatus.SUCCEEDED  # ran to its end
    for name in ("ep-win-001", "fw-branch-01"):
        assert result.outcomes[name].status is JobDeviceStatus.ABORTED
        assert result.outcomes[name].message == "not started: abort requested by ops"
    assert result.job.status is JobStatus.ABORTED
    assert lab.fingerprints(exclude=["ep-lnx-001"]) == others  # nothing else touched
    with open_store(lab.state) as store:
        assert store.get_job(result.job.id).abort_requested_by == "ops"
        assert store.get_device_state("ep-win-001").updated_at is None  # never changed


async def test_abort_in_parallel_order_lets_running_devices_finish(lab: Lab) -> None:
    # the firewalls (a reload each) are expected to take longer than the agents: they go first
    names = ["ep-lnx-001", "ep-win-001", "fw-branch-01", "fw-fpr-01"]
    lab.events = AbortAfter(lab, 2)
    others = lab.fingerprints(exclude=["fw-branch-01", "fw-fpr-01"])
    result, _ = await lab.apply(names, JobRequest(ignore_windows=True, max_parallel=2))
    assert [result.outcomes[n].status for n in names] == [
        JobDeviceStatus.ABORTED, JobDeviceStatus.ABORTED,
        JobDeviceStatus.SUCCEEDED, JobDeviceStatus.SUCCEEDED]
    assert result.job.status is JobStatus.ABORTED
    assert sorted(lab.events.starts()) == ["fw-branch-01", "fw-fpr-01"]  # started together
    assert lab.fingerprints(exclude=["fw-branch-01", "fw-fpr-01"]) == others


async def test_parallel_job_starts_the_longest_expected_run_first(lab: Lab) -> None:
    # plan order is alphabetical; the pair (two HA hops: six reloads) goes first, the agent last
    names = ["ep-lnx-001", "fw-branch-01", "fw-dc-pair"]
    result, _ = await lab.apply(names, JobRequest(ignore_windows=True, max_parallel=1))
    assert result.ok, result.outcomes
    assert result.job.properties.order is Order.PARALLEL
    assert lab.events.starts() == ["fw-dc-pair", "fw-branch-01", "ep-lnx-001"]


async def test_sequential_job_keeps_the_plan_order(lab: Lab) -> None:
    names = ["ep-lnx-001", "fw-branch-01"]
    result, _ = await lab.apply(names, JobRequest(ignore_windows=True, order=Order.SEQUENTIAL))
    assert result.ok, result.outcomes
    assert lab.events.starts() == ["ep-lnx-001", "fw-branch-01"]


async def test_a_single_device_job_cannot_be_aborted_once_started(lab: Lab) -> None:
    lab.events = AbortAfter(lab, 1)
    result, _ = await lab.apply(["fw-branch-01"])
    assert lab.events.refused and "single device" in lab.events.refused  # type: ignore[attr-defined]
    assert result.ok and lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}


async def test_local_stop_request_behaves_like_an_abort(lab: Lab) -> None:
    class StopAfterFirst(Recorder):
        def device_started(self, device: str, steps: int) -> None:
            super().device_started(device, steps)
            session.runner.request_stop("abort requested by tester (interrupt)")  # type: ignore[union-attr]

    desired = lab.desired()
    async with lab.session() as session:
        saved, resolved = await session.plan(desired, ["ep-lnx-001", "ep-win-001"])
        job = session.create(saved, JobRequest(ignore_windows=True, order=Order.SEQUENTIAL),
                             resolved)
        result = await session.run(job, desired, events=StopAfterFirst())
    assert result.outcomes["ep-lnx-001"].status is JobDeviceStatus.SUCCEEDED  # ran to its end
    assert result.outcomes["ep-win-001"].status is JobDeviceStatus.ABORTED
    assert result.outcomes["ep-win-001"].message == \
        "not started: abort requested by tester (interrupt)"
    # a stop asked for where the job runs is an abort, recorded like `reconciler jobs abort`
    assert result.job.status is JobStatus.ABORTED
    assert result.job.abort_requested_by == "tester" and result.job.abort_requested_at


async def test_a_device_leased_by_another_run_is_skipped_untouched(lab: Lab) -> None:
    with open_store(lab.state) as store:
        assert store.acquire("fw-branch-01", "ci-runner-7:4242:0badc0de", 600, job_id=99)
    before = lab.fingerprint("fw-branch-01")
    result, _ = await lab.apply(["fw-branch-01", "ep-win-001"])
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.SKIPPED and out.code == "DEVICE_LOCKED"
    assert "job 99 of runner ci-runner-7:4242:0badc0de holds the device's lease" in out.message
    assert result.outcomes["ep-win-001"].status is JobDeviceStatus.SUCCEEDED
    assert lab.fingerprint("fw-branch-01") == before
    with open_store(lab.state) as store:
        assert store.get_device_state("fw-branch-01").state is DeviceState.OPERATIONAL
        assert store.lease("fw-branch-01").owner == "ci-runner-7:4242:0badc0de"  # still theirs
        assert not store.leases(owner=result.job.owner)  # ours were released


class SteppingClock:
    """Moves `step` forward on every reading (so waiting loops make progress instantly)."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


async def test_a_job_outside_its_window_is_scheduled_and_waits(lab: Lab) -> None:
    # the example's windows: Sat and Sun 01:00-05:00 Asia/Tokyo; Fri 15:50 UTC is 00:50 JST
    clock = SteppingClock(datetime(2026, 1, 9, 15, 50, tzinfo=UTC), timedelta(seconds=30))
    desired = lab.desired()
    async with lab.session(clock=clock) as s:
        saved, resolved = await s.plan(desired, ["fw-branch-01"])
        job = s.create(saved, JobRequest(), resolved)
        assert await s.wait_for_start(job, no_wait=True) is None
        job = s.store.get_job(job.id)
        assert job.status is JobStatus.SCHEDULED
        assert job.scheduled_at == datetime(2026, 1, 9, 16, 0, tzinfo=UTC)
        started = await s.wait_for_start(job)
        assert started is not None and clock.now >= datetime(2026, 1, 9, 16, 0, tzinfo=UTC)
        result = await s.run(started, desired)
    assert result.ok
    with open_store(lab.state) as store:
        statuses = [str(h.to_status) for h in store.job_history(job.id)]
    assert statuses == ["created", "scheduled", "deploying", "deployed"]


async def test_devices_wait_for_their_own_window_inside_a_running_job(lab: Lab) -> None:
    overrides = (lab.root / "desired" / "devices.yaml").read_text() + (
        "  - name: ep-win-001\n    settings:\n      maintenance_windows:\n"
        "        - {days: [fri], start: \"17:00\", duration_minutes: 60, tz: UTC}\n")
    (lab.root / "desired" / "devices.yaml").write_text(overrides)

    class Waits(Recorder):
        def job_waiting(self, until: str, why: str) -> None:
            self.log.append(("wait", (until, why)))

    lab.events = Waits()
    clock = SteppingClock(datetime(2026, 1, 9, 16, 58, tzinfo=UTC), timedelta(seconds=5))
    result, _ = await lab.apply(["ep-win-001", "fw-branch-01"], JobRequest(), clock=clock)
    assert result.ok, result.outcomes
    assert lab.events.starts()[0] == "fw-branch-01"  # its window (the weekend one) is open
    waits = [v for k, v in lab.events.log if k == "wait"]
    assert waits and waits[0][0].startswith("2026-01-09T17:00") and "fri 17:00" in waits[0][1]


@pytest.mark.parametrize("order", [Order.PARALLEL, Order.SEQUENTIAL])
async def test_job_records_old_and_new_images_and_summary(lab: Lab, order: Order) -> None:
    result, _ = await lab.apply(["ep-win-001", "fw-branch-02"],
                                JobRequest(ignore_windows=True, order=order, ticket_id="CHG-1"))
    with open_store(lab.state) as store:
        job = store.get_job(result.job.id)
        devices = {d.device: d for d in store.job_devices(job.id)}
    assert job.ticket_id == "CHG-1" and job.properties.order is order
    assert job.summary.to_deploy == 2 and job.summary.succeeded == 2
    assert devices["fw-branch-02"].old_images == {"asdm": "asdm-741.bin"}
    assert devices["fw-branch-02"].new_images == {"asdm": "asdm-7161.bin"}
    assert devices["ep-win-001"].old_images == {"agent": "7.3.1.2048"}


async def test_a_lease_taken_over_mid_run_stops_the_device_at_the_next_step(lab: Lab) -> None:
    class Thief(Recorder):
        """Another run takes the device over while the copy is under way (as after our
        runner stalled beyond its lease)."""

        def step_started(self, device: str, index: int, total: int, step: Any) -> None:
            if index == 2:
                with open_store(lab.state) as store:
                    lease = store.lease(device)
                    assert lease is not None
                    store.release(device, lease.owner)
                    store.acquire(device, "other-runner:1:feedbeef", 600, job_id=77)

    lab.events = Thief()
    result, _ = await lab.apply(["fw-branch-01"], lease_ttl=0.3)
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.FAILED and out.code == "DEVICE_LOCKED"
    assert "its lease was taken over by another run" in out.message
    assert out.steps_done < 12
    assert lab.sim("fw-branch-01")["units"][0]["reloads"] == 0  # stopped before any reload
    with open_store(lab.state) as store:
        assert store.lease("fw-branch-01").owner == "other-runner:1:feedbeef"  # untouched


@pytest.mark.parametrize("after", ["copy", "wait-ready"])
async def test_stop_between_steps_ends_the_device_stopped_and_consistent(lab: Lab,
                                                                       after: str) -> None:
    """A second shutdown signal: the step under way finishes, the next never starts; the device
    ends failed with STOPPED (not DEVICE_LOCKED), in an honest state, and the next run
    finishes it without repeating what was done."""
    desired = lab.desired()

    class StopAfter(Recorder):
        def step_finished(self, device: str, index: int, total: int, step: Any,
                          result: str) -> None:
            super().step_finished(device, index, total, step, result)
            if str(step.action) == after:
                session.runner.stop_between_steps("daemon shutting down (SIGTERM, second "  # type: ignore[union-attr]
                                                  "signal)")

    async with lab.session() as session:
        saved, resolved = await session.plan(desired, ["fw-branch-01"])
        job = session.create(saved, JobRequest(ignore_windows=True), resolved)
        result = await session.run(job, desired, events=StopAfter())
    out = result.outcomes["fw-branch-01"]
    assert out.status is JobDeviceStatus.FAILED and out.code == "STOPPED", out
    assert "daemon shutting down (SIGTERM, second signal)" in out.message
    assert "the device is consistent" in out.message and "another run" not in out.message
    assert out.state is DeviceState.OPERATIONAL  # not left upgrade-in-progress
    assert result.job.status is JobStatus.FAILED
    reloads = lab.sim("fw-branch-01")["units"][0]["reloads"]
    assert reloads == (1 if after == "wait-ready" else 0)
    unit = lab.sim("fw-branch-01")["units"][0]
    assert unit["state"] == "up"
    with open_store(lab.state) as store:
        assert store.get_device_state("fw-branch-01").state is DeviceState.OPERATIONAL
        assert store.lease("fw-branch-01") is None  # released with the job

    if after == "copy":  # the next run finishes the job from where it stopped
        again, _ = await lab.apply(["fw-branch-01"])
        assert again.ok
    # (stopped after the reload: only the final version check was left, nothing to redo)
    assert lab.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}
    assert lab.sim("fw-branch-01")["units"][0]["reloads"] == 1  # one reload in all


def test_not_before_and_windows_combine() -> None:
    from reconciler.core.model import MaintenanceWindow
    from reconciler.executor.runner import Schedule

    weekend = MaintenanceWindow(("sat",), "01:00", 60, "UTC")
    friday = datetime(2026, 1, 9, 12, tzinfo=UTC)
    s = Schedule({"a": (weekend,)}, friday + timedelta(hours=1), ignore_windows=False)
    assert not s.ready("b", friday) and s.earliest("b", friday) == friday + timedelta(hours=1)
    assert s.earliest("a", friday) == datetime(2026, 1, 10, 1, tzinfo=UTC)
    assert s.ready("a", datetime(2026, 1, 10, 1, 30, tzinfo=UTC))
    forced = Schedule({"a": (weekend,)}, None, ignore_windows=True)
    assert forced.ready("a", friday) and forced.earliest("a", friday) == friday


async def test_jobs_run_and_recover_on_postgresql_too(pg_lab: Lab) -> None:
    lab = pg_lab
    result, _ = await lab.apply(["fw-branch-01", "ep-win-001"])
    assert result.ok, result.outcomes
    lab.fleet.add_fault("fw-fpr-01", {"kind": "unreachable-after-reload"})
    failed, _ = await lab.apply(["fw-fpr-01"])
    assert failed.outcomes["fw-fpr-01"].state is DeviceState.MAINTENANCE
    with open_store(lab.state) as store:
        assert [j.status for j in store.list_jobs()] == [JobStatus.FAILED, JobStatus.DEPLOYED]
        assert store.get_device_state("fw-fpr-01").state is DeviceState.MAINTENANCE
        assert store.transcript(result.job.id, "fw-branch-01")
