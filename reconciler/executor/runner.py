"""The job runner: leases, heartbeat, and a work-conserving scheduler over the job's devices.

- Every device of the job is leased up front (`acquire_many`); a device another live runner
  holds is skipped with DEVICE_LOCKED and never touched. The leases and the job's heartbeat are
  renewed in the background every third of the lease time; a lease that comes back missing
  (taken over after we stalled) stops that device at its next step boundary.
- Slots: `max_parallel` for a parallel job, one for a sequential job. A device starts the moment
  a slot frees (no batches); in a parallel job the longest expected run goes first (the plan's
  order is only alphabetical there; see core/plan/estimate.py). Devices whose own policy says
  `order: sequential` never run at the same time as each other, even inside a parallel job. A
  device starts only inside one of its maintenance windows and not before the job's start time;
  until then it waits without holding a slot (in a sequential job the queue waits for it,
  keeping the order).
- Stop conditions, checked before every start: an abort request (`reconciler jobs abort`, or
  Ctrl-C), a failure with `on_error: stop`, or the job being taken from us. Then no new device
  starts, the devices running finish their whole run, and the rest are recorded `aborted` (a
  local stop request ends the job `aborted` too, recorded as an abort by the runner's actor).
  That is the SPEC's abort in both orders: sequential -> every device not yet started is aborted;
  parallel -> the running devices finish, later ones never start. A single-device job runs to
  completion (the store refuses to abort it).
- A second interruption (`hard_stop()`, a second Ctrl-C) cancels the running devices between two
  commands; the job is recorded `interrupted` and the next run re-discovers its devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.core.model import InventoryDevice, MaintenanceWindow, Order
from reconciler.core.plan import DevicePlan, Plan
from reconciler.core.plan.estimate import longest_first
from reconciler.core.windows import describe_all, earliest_start, is_open
from reconciler.errors import ReconcilerError
from reconciler.executor.connect import Connector
from reconciler.executor.device_run import DeviceOutcome, DeviceRun
from reconciler.executor.events import Events, Fanout
from reconciler.executor.images import ImageSupply
from reconciler.executor.retry import RetryPolicy
from reconciler.logging import get_logger
from reconciler.timezones import zone
from reconciler.store import (Job, JobDeviceStatus, JobStatus, Store, new_owner_id,
                              retire_owner_id)
from reconciler.store.buffer import TranscriptBuffer


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunnerOptions:
    lease_ttl: float = 300.0  # seconds; renewed every third of it
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: float = 1.0  # seconds between checks for an abort or an opening window
    ignore_windows: bool = False  # an emergency change outside the maintenance windows
    probe_timeout: float = 120.0  # looking at a device after a failure
    clock: Callable[[], datetime] = utcnow


@dataclass(frozen=True)
class JobResult:
    job: Job
    outcomes: Mapping[str, DeviceOutcome]

    @property
    def ok(self) -> bool:
        return self.job.status is JobStatus.DEPLOYED


@dataclass
class Schedule:
    """When each device may start."""

    windows: Mapping[str, Sequence[MaintenanceWindow]]
    not_before: datetime | None
    ignore_windows: bool

    def ready(self, device: str, now: datetime) -> bool:
        if self.not_before is not None and now < self.not_before:
            return False
        return self.ignore_windows or is_open(self.windows.get(device, ()), now, zone)

    def earliest(self, device: str, now: datetime) -> datetime:
        at = max(now, self.not_before) if self.not_before else now
        if self.ignore_windows:
            return at
        return earliest_start(self.windows.get(device, ()), at, zone)


class JobRunner:
    def __init__(self, store: Store, connector: Connector, images: ImageSupply, *,
                 options: RunnerOptions | None = None, events: Events | None = None,
                 actor: str = "reconciler", owner: str | None = None) -> None:
        self.store = store
        self.connector = connector
        self.images = images
        self.options = options or RunnerOptions()
        self.events = Fanout(events) if events is not None else Fanout()
        self.actor = actor
        self.owner = owner or new_owner_id()
        self._stop_requested: str | None = None
        self._hard_stop = False
        self._step_stop: str | None = None
        self._lost: dict[str, str] = {}
        self._job_lost = False
        self._task: asyncio.Task[Any] | None = None
        self._wake = asyncio.Event()

    # ------------------------------------------------------------ control from outside

    def request_stop(self, reason: str) -> None:
        """Start no new device; running ones finish (an abort, asked locally: the job ends
        `aborted` when devices were left unstarted, as after `reconciler jobs abort`)."""
        self._stop_requested = self._stop_requested or reason
        self._wake.set()

    @property
    def stop_reason(self) -> str | None:
        """Why a stop was asked for locally (None: it was not)."""
        return self._stop_requested

    def stop_between_steps(self, reason: str) -> None:
        """Start no new device, and stop each running one before its next step (never inside
        one): it ends failed with `reason`, looked at again if a disruptive step had run."""
        self._step_stop = self._step_stop or reason
        self.request_stop(reason)

    def hard_stop(self) -> None:
        """Cancel the running devices now; the job becomes interrupted."""
        self._hard_stop = True
        if self._task is not None:
            self._task.cancel()

    # ------------------------------------------------------------ the run

    async def run(self, job: Job, plan: Plan, inventory: Mapping[str, InventoryDevice], *,
                  windows: Mapping[str, Sequence[MaintenanceWindow]] | None = None,
                  sequential: Collection[str] = (), not_before: datetime | None = None
                  ) -> JobResult:
        """Run `job` (created from `plan`) to its end and return its final record."""
        try:
            return await self._run(job, plan, inventory, windows=windows,
                                   sequential=sequential, not_before=not_before)
        finally:
            retire_owner_id(self.owner)  # whatever this run left behind is recoverable now

    async def _run(self, job: Job, plan: Plan, inventory: Mapping[str, InventoryDevice], *,
                   windows: Mapping[str, Sequence[MaintenanceWindow]] | None,
                   sequential: Collection[str], not_before: datetime | None) -> JobResult:
        self._task = asyncio.current_task()
        log = get_logger(component="executor", job=job.id)
        ttl = self.options.lease_ttl
        job = await asyncio.to_thread(self.store.start_job, job.id, owner=self.owner, ttl=ttl,
                                      actor=self.actor)
        records = await asyncio.to_thread(self.store.job_devices, job.id)
        plans = {d.device: d for d in plan.devices}
        names = [r.device for r in records]
        props = job.properties
        slots = 1 if props.order is Order.SEQUENTIAL else max(1, props.max_parallel)
        self.events.job_started(job.id, job.name, names, slots)
        outcomes: dict[str, DeviceOutcome] = {}
        buffer = TranscriptBuffer(self.store, job.id)
        schedule = Schedule(windows or {}, not_before, self.options.ignore_windows)
        await self._note(job.id, f"runner {self.owner} started: {len(names)} device(s), "
                                 f"{props.order} order, {slots} slot(s), on_error {props.on_error}"
                         + ("; maintenance windows ignored on request"
                            if self.options.ignore_windows else ""))

        queue: list[str] = []
        won = await asyncio.to_thread(self.store.acquire_many, names, self.owner, ttl,
                                      job_id=job.id)
        for name in names:
            skip: tuple[str, str] | None = None
            if name not in won:
                lease = await asyncio.to_thread(self.store.lease, name)
                holder = f"job {lease.job_id} of runner {lease.owner}" if lease else "another run"
                skip = ("DEVICE_LOCKED", f"{holder} holds the device's lease; not touched — wait "
                                         "for the other run, or check `reconciler jobs list`")
            elif name not in plans or not plans[name].steps:
                skip = ("NOT_PLANNED", "the job's plan has no steps for it; not touched")
            elif name not in inventory:
                skip = ("UNKNOWN_DEVICE", "not in the inventory any more; not touched — add it "
                                          "back or leave it out")
            if skip is None:
                queue.append(name)
                continue
            why = f"{name}: {skip[0]} {skip[1]}"
            await asyncio.to_thread(self.store.set_job_device_status, job.id, name,
                                    JobDeviceStatus.SKIPPED, message=why)
            await self._note(job.id, why, device=name)
            outcomes[name] = DeviceOutcome(name, JobDeviceStatus.SKIPPED, None, why, skip[0])
            self.events.device_finished(name, JobDeviceStatus.SKIPPED, None, why)

        if props.order is Order.PARALLEL:
            # the plan's order is alphabetical, not a constraint: start the longest runs first
            queue = longest_first(queue, plans)
        heartbeat = asyncio.create_task(self._heartbeat(job.id, set(won)))
        running: dict[asyncio.Task[DeviceOutcome], str] = {}
        failed_first: str | None = None
        stop: str | None = None
        try:
            while queue or running:
                if stop is None:
                    stop = await self._stop_reason(job.id, props.on_error == "stop" and failed_first)
                    if stop is not None:
                        aborted = await asyncio.to_thread(self.store.abort_pending_devices, job.id,
                                                          message=f"not started: {stop}")
                        for name in aborted:
                            outcomes[name] = DeviceOutcome(name, JobDeviceStatus.ABORTED, None,
                                                           f"not started: {stop}")
                            self.events.device_finished(name, JobDeviceStatus.ABORTED, None,
                                                        f"not started: {stop}")
                        await self._note(job.id, f"no new device starts: {stop}"
                                         + (f"; aborted: {', '.join(aborted)}" if aborted else ""))
                        queue.clear()
                started = self._start_ready(job, queue, running, slots, sequential, schedule,
                                            plans, inventory, buffer) if stop is None else 0
                if not running and queue and not started:
                    await self._wait_for_window(job.id, queue, schedule, props.order)
                    continue
                if not running:
                    continue
                self._wake.clear()
                wake = asyncio.create_task(self._wake.wait())
                await asyncio.wait([*running, wake], timeout=self.options.poll,
                                   return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
                for task in [t for t in running if t.done()]:
                    name = running.pop(task)
                    outcome = task.result()
                    outcomes[name] = outcome
                    if outcome.status is JobDeviceStatus.FAILED and failed_first is None:
                        failed_first = name
        except BaseException as e:
            # a hard stop (second Ctrl-C) or the state store failing under us: stop touching
            # devices, record the job as interrupted; the next run re-discovers its devices
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            why = ("stopped by the operator before the job finished"
                   if isinstance(e, asyncio.CancelledError)
                   else f"the runner failed: {type(e).__name__}: {e}")
            await asyncio.shield(self._interrupted(job.id, buffer, heartbeat, why))
            raise
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        await asyncio.to_thread(buffer.close)
        # a stop asked for here (Ctrl-C, SIGTERM) is an abort, as `reconciler jobs abort` is
        final = await asyncio.to_thread(
            self.store.finish_job, job.id, owner=self.owner, comment=self._summary(outcomes),
            abort_requested_by=self.actor if self._stop_requested else None)
        log.info("job_finished", status=str(final.status))
        self.events.job_finished(final.id, str(final.status))
        return JobResult(final, outcomes)

    # ------------------------------------------------------------ scheduling

    def _start_ready(self, job: Job, queue: list[str], running: dict[asyncio.Task[DeviceOutcome], str],
                     slots: int, sequential: Collection[str], schedule: Schedule,
                     plans: Mapping[str, DevicePlan], inventory: Mapping[str, InventoryDevice],
                     buffer: TranscriptBuffer) -> int:
        now = self.options.clock()
        strict = job.properties.order is Order.SEQUENTIAL
        started = 0
        for name in list(queue):
            if len(running) >= slots:
                break
            lane_busy = name in sequential and any(n in sequential for n in running.values())
            if lane_busy or not schedule.ready(name, now):
                if strict:
                    break  # a sequential job keeps its order
                continue
            queue.remove(name)
            run = DeviceRun(store=self.store, job_id=job.id, plan=plans[name],
                            device=inventory[name], connector=self.connector, images=self.images,
                            buffer=buffer, events=self.events, retry=self.options.retry,
                            actor=self.actor, lease_lost=functools.partial(self._lease_lost, name),
                            stop_requested=lambda: self._step_stop,
                            probe_timeout=self.options.probe_timeout)
            running[asyncio.create_task(run.run(), name=f"device:{name}")] = name
            started += 1
        return started

    async def _wait_for_window(self, job_id: int, queue: list[str], schedule: Schedule,
                               order: Order) -> None:
        now = self.options.clock()
        heads = queue[:1] if order is Order.SEQUENTIAL else queue
        at = min(schedule.earliest(n, now) for n in heads)
        if at > now:
            why = (f"{heads[0]}: not before {schedule.not_before:%Y-%m-%d %H:%M} UTC"
                   if schedule.not_before and at <= schedule.not_before + timedelta(seconds=1)
                   else f"maintenance window ({describe_all(schedule.windows.get(heads[0], ()))})")
            self.events.job_waiting(at.isoformat(timespec="seconds"), why)
        delay = max(0.0, (at - now).total_seconds())
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=min(max(delay, 0.01),
                                                                  self.options.poll))

    async def _stop_reason(self, job_id: int, failed: str | bool | None) -> str | None:
        if self._job_lost:
            return "the job was taken over by another run (our heartbeat had lapsed)"
        if self._stop_requested:
            return self._stop_requested
        job = await asyncio.to_thread(self.store.get_job, job_id)
        if job.abort_requested:
            return f"abort requested by {job.abort_requested_by}"
        if failed:
            return f"on_error: stop after {failed} failed"
        return None

    # ------------------------------------------------------------ leases

    def _lease_lost(self, device: str) -> str | None:
        if self._job_lost:
            return "the job was declared interrupted by another run"
        return self._lost.get(device)

    async def _heartbeat(self, job_id: int, held: set[str]) -> None:
        ttl = self.options.lease_ttl
        log = get_logger(component="executor", job=job_id)
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                hb = await asyncio.to_thread(self.store.heartbeat, self.owner, ttl)
            except ReconcilerError as e:  # a short database outage: try again next round
                log.warning("heartbeat_failed", error=str(e))
                continue
            if job_id not in hb.jobs:
                self._job_lost = True
                self._wake.set()
            kept = {lease.device for lease in hb.leases}
            for device in held - kept:
                self._lost.setdefault(device, "its lease was taken over by another run")

    async def _interrupted(self, job_id: int, buffer: TranscriptBuffer,
                           heartbeat: asyncio.Task[None], why: str) -> None:
        heartbeat.cancel()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(buffer.close)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.mark_interrupted, job_id, actor=self.actor,
                                    reason=why, force=True)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.release_all, self.owner)

    async def _note(self, job_id: int, text: str, device: str | None = None) -> None:
        self.events.commentary(device, text)
        await asyncio.to_thread(self.store.add_commentary, job_id, text, device=device)

    @staticmethod
    def _summary(outcomes: Mapping[str, DeviceOutcome]) -> str:
        counts: dict[str, int] = {}
        for o in outcomes.values():
            counts[str(o.status)] = counts.get(str(o.status), 0) + 1
        return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))

