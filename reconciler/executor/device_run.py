"""One device's part of a job: its planned steps, in order, through its driver.

- The device state goes operational -> upgrade-in-progress before the first step (a
  compare-and-set: a device another run or an operator changed meanwhile is skipped, untouched)
  and, at the end, to operational, configuration-required (the plan predicted it) or
  maintenance (a unit did not come back).
- A step is never resumed half-way: temporary errors repeat the whole step with backoff when the
  step is safe to repeat (see `actions.repeatable`: not a reload, unless the device refused
  it before it started); everything else fails the device.
- A failure before anything disruptive happened leaves the device operational (its running
  images are what they were). After a reload or a role change, the device is looked at again:
  any unit that does not answer puts the device in maintenance; a unit that did not come back
  within the reload timeout always does. Only this device fails; the job goes on (or stops
  starting new devices, with on_error: stop).
- Every command and answer goes to the job's transcript (redacted), every step to its commentary.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.contract import FindingCode
from reconciler.core.membership import missing_units
from reconciler.core.model import DeviceState, InventoryDevice
from reconciler.core.plan import DevicePlan, Step
from reconciler.drivers.base import ReloadNotStartedError, ReloadTimeoutError, Transcript
from reconciler.drivers.base import TranscriptEntry as DriverEntry
from reconciler.errors import PermanentError, ReconcilerError
from reconciler.executor.actions import DISRUPTIVE, StepContext, describe, repeatable, run_step
from reconciler.executor.connect import Connector
from reconciler.executor.events import Events
from reconciler.executor.images import ImageSupply
from reconciler.executor.retry import RetryPolicy, call_with_retries
from reconciler.logging import get_logger
from reconciler.store import JobDeviceStatus, Store, TranscriptKind
from reconciler.store.buffer import TranscriptBuffer
from reconciler.store.errors import ConflictError, IllegalTransitionError, NotFoundError

_ERROR_NOTES = ("timeout:", "transport error:", "TLS failure:")


class LeaseLostError(PermanentError):
    code = "DEVICE_LOCKED"


class StoppedError(PermanentError):
    """Our own runner was told to stop between steps (a second shutdown signal): the device is
    consistent — no step was cut — and ours to leave in an honest state."""

    code = "STOPPED"


@dataclass(frozen=True, slots=True)
class DeviceOutcome:
    device: str
    status: JobDeviceStatus
    state: DeviceState | None  # the device state it was left in (None: not changed)
    message: str
    code: str | None = None  # the error code when it failed
    steps_done: int = 0


def changes_text(plan: DevicePlan) -> str:
    return ", ".join(f"{c.type} {c.from_version or '-'} -> {c.to_version}" for c in plan.changes)


def target_key(plan: DevicePlan) -> str:
    """What the device is being moved to, as a stable string (attempt counters key on it)."""
    return ",".join(f"{c.type}={c.image}" for c in sorted(plan.changes, key=lambda c: c.type))


def transcript_sink(buffer: TranscriptBuffer) -> Callable[[DriverEntry], None]:
    def sink(e: DriverEntry) -> None:
        if e.direction == "send":
            kind = TranscriptKind.COMMAND
        elif e.direction == "recv":
            kind = TranscriptKind.RESPONSE
        elif e.text.startswith(_ERROR_NOTES):
            kind = TranscriptKind.ERROR
        else:
            kind = TranscriptKind.NOTE
        buffer.add(e.device, kind, e.text, member=e.member)

    return sink


class DeviceRun:
    def __init__(self, *, store: Store, job_id: int, plan: DevicePlan, device: InventoryDevice,
                 connector: Connector, images: ImageSupply, buffer: TranscriptBuffer,
                 events: Events, retry: RetryPolicy, actor: str,
                 lease_lost: Callable[[], str | None] = lambda: None,
                 stop_requested: Callable[[], str | None] = lambda: None,
                 probe_timeout: float = 120.0) -> None:
        self.store = store
        self.job_id = job_id
        self.plan = plan
        self.device = device
        self.connector = connector
        self.images = images
        self.buffer = buffer
        self.events = events
        self.retry = retry
        self.actor = actor
        self.lease_lost = lease_lost
        self.stop_requested = stop_requested
        self.probe_timeout = probe_timeout
        self.name = plan.device
        self.log = get_logger(component="executor", job=job_id, device=self.name)
        self.transcript = Transcript(sink=transcript_sink(buffer))

    # ------------------------------------------------------------ store helpers

    async def _comment(self, text: str) -> None:
        self.events.commentary(self.name, text)
        await asyncio.to_thread(self.store.add_commentary, self.job_id, text, device=self.name)

    async def _status(self, status: JobDeviceStatus, message: str = "") -> None:
        try:
            await asyncio.to_thread(self.store.set_job_device_status, self.job_id, self.name,
                                    status, message=message)
        except (IllegalTransitionError, NotFoundError) as e:
            # the job was declared interrupted by another run while we worked
            self.log.warning("job_device_status_refused", status=str(status), error=str(e))

    async def _state(self, state: DeviceState, reason: str, expected: DeviceState
                     ) -> DeviceState | None:
        try:
            rec = await asyncio.to_thread(self.store.set_device_state, self.name, state,
                                          actor=self.actor, reason=reason, job_id=self.job_id,
                                          expected=expected)
            return rec.state
        except (ConflictError, IllegalTransitionError) as e:
            self.log.warning("device_state_refused", state=str(state), error=str(e))
            await self._comment(f"device state not changed to {state}: {e}")
            return None

    async def _flush(self) -> None:
        await asyncio.to_thread(self.buffer.flush)

    # ------------------------------------------------------------ the run

    async def run(self) -> DeviceOutcome:
        steps = self.plan.steps
        # an upgrade starts only from operational (compare-and-set against other runs/operators)
        try:
            await asyncio.to_thread(
                self.store.set_device_state, self.name, DeviceState.UPGRADE_IN_PROGRESS,
                actor=self.actor, job_id=self.job_id, expected=DeviceState.OPERATIONAL,
                reason=f"job {self.job_id}: {changes_text(self.plan)}")
        except (ConflictError, IllegalTransitionError):
            rec = await asyncio.to_thread(self.store.get_device_state, self.name)
            msg = (f"{self.name}: {FindingCode.DEVICE_STATE} the device is {rec.state}"
                   + (f" ({rec.reason})" if rec.reason else "")
                   + f"; not touched — fix the device, then `reconciler device mark-operational "
                     f"{self.name}`")
            await self._status(JobDeviceStatus.SKIPPED, msg)
            await self._comment(msg)
            self.events.device_finished(self.name, JobDeviceStatus.SKIPPED, None, msg)
            return DeviceOutcome(self.name, JobDeviceStatus.SKIPPED, None, msg,
                                 str(FindingCode.DEVICE_STATE))
        await asyncio.to_thread(self.store.record_attempt, self.name, target_key(self.plan),
                                job_id=self.job_id)
        await self._status(JobDeviceStatus.RUNNING)
        self.events.device_started(self.name, len(steps))
        await self._comment(f"started: {changes_text(self.plan)}; {len(steps)} steps")
        done = 0
        disrupted = before = False
        try:
            async with self.connector.driver(self.device, self.transcript) as drv:
                ctx = StepContext(self.plan, drv, self.images)
                for i, step in enumerate(steps, 1):
                    stop = self.stop_requested()
                    if stop:
                        raise StoppedError(
                            f"stopped before step {i}/{len(steps)} ({stop}); the device is "
                            "consistent: no step was cut", device=self.name,
                            hint="run again (the next plan continues from what it runs now)")
                    why = self.lease_lost()
                    if why:
                        raise LeaseLostError(f"stopped before step {i}: {why}", device=self.name,
                                             hint="another run took the device over; look at "
                                                  "`reconciler jobs list`")
                    before = disrupted
                    disrupted = disrupted or step.action in DISRUPTIVE
                    result = await self._step(ctx, i, len(steps), step)
                    done = i
                    self.events.step_finished(self.name, i, len(steps), step, result)
                    await self._comment(f"[{i}/{len(steps)}] {describe(step)}: {result}")
                    await self._flush()
        except asyncio.CancelledError:
            # a hard stop: the job is recorded as interrupted and the next run re-discovers us
            await asyncio.shield(self._flush())
            raise
        except Exception as e:  # noqa: BLE001 - every failure is recorded, none escapes
            await self._flush()
            if isinstance(e, ReloadNotStartedError):
                disrupted = before  # the reload never happened: the device is as it was
            return await self._failed(e, done, disrupted)
        return await self._succeeded(done)

    async def _step(self, ctx: StepContext, i: int, total: int, step: Step) -> str:
        self.events.step_started(self.name, i, total, step)

        def on_retry(attempt: int, err: BaseException, delay: float) -> None:
            text = f"[{i}/{total}] {step.action} attempt {attempt} of {self.retry.attempts} " \
                   f"in {delay:.1f}s after: {err}"
            self.transcript.record(self.name, step.member, "note", text)
            self.events.step_retry(self.name, step, attempt, str(err), delay)
            self.store.add_commentary(self.job_id, text, device=self.name)

        return await call_with_retries(lambda: run_step(ctx, step), self.retry,
                                       time_scale=lambda: ctx.driver.time_scale,
                                       on_retry=on_retry,
                                       retry_on=functools.partial(repeatable, step.action))

    async def _succeeded(self, done: int) -> DeviceOutcome:
        summary = changes_text(self.plan)
        if self.plan.configuration_required_after:
            why = [f.message for f in self.plan.findings
                   if f.code is FindingCode.CONFIG_REQUIRED_AFTER] or ["the plan predicted it"]
            target, reason = DeviceState.CONFIGURATION_REQUIRED, "; ".join(why)
        else:
            target, reason = DeviceState.OPERATIONAL, f"job {self.job_id} upgraded: {summary}"
        state = await self._state(target, reason, DeviceState.UPGRADE_IN_PROGRESS)
        msg = f"{summary}: done" + (f"; {state}: {reason}" if state is
                                    DeviceState.CONFIGURATION_REQUIRED else "")
        await self._status(JobDeviceStatus.SUCCEEDED, msg)
        await self._comment(f"succeeded; device is {state or 'unchanged'}")
        self.events.device_finished(self.name, JobDeviceStatus.SUCCEEDED, state, msg)
        return DeviceOutcome(self.name, JobDeviceStatus.SUCCEEDED, state, msg, None, done)

    async def _failed(self, err: BaseException, done: int, disrupted: bool) -> DeviceOutcome:
        if isinstance(err, ReconcilerError):
            message, code = str(err), err.code
        else:
            self.log.exception("device_run_crashed", error=repr(err))
            message = (f"{self.name}: INTERNAL {type(err).__name__}: {err} — please report this "
                       "with the job's transcript (`reconciler jobs show --transcript`)")
            code = "INTERNAL"
        if isinstance(err, LeaseLostError):
            # another run holds the device now: its state is that run's (or recovery's) to set
            await self._status(JobDeviceStatus.FAILED, message)
            await self._comment(f"stopped at step {done + 1}/{len(self.plan.steps)}: {message}")
            self.events.device_finished(self.name, JobDeviceStatus.FAILED, None, message)
            return DeviceOutcome(self.name, JobDeviceStatus.FAILED, None, message, code, done)
        if isinstance(err, ReloadTimeoutError):
            state, why = DeviceState.MAINTENANCE, \
                f"{err.member or 'a unit'} did not come back within the reload timeout: {message}"
        elif disrupted:
            ok, detail = await self._probe()
            state = DeviceState.OPERATIONAL if ok else DeviceState.MAINTENANCE
            why = f"job {self.job_id} failed after a disruptive step; {detail}: {message}"
        else:
            state, why = DeviceState.OPERATIONAL, \
                f"job {self.job_id} failed before anything disruptive; running images unchanged"
        final = await self._state(state, why, DeviceState.UPGRADE_IN_PROGRESS)
        await self._status(JobDeviceStatus.FAILED, message)
        await self._comment(f"failed at step {done + 1}/{len(self.plan.steps)}: {message}; "
                            f"device is {final or 'unchanged'}")
        self.events.device_finished(self.name, JobDeviceStatus.FAILED, final, message)
        return DeviceOutcome(self.name, JobDeviceStatus.FAILED, final, message, code, done)

    async def _probe(self) -> tuple[bool, str]:
        """Does every unit answer? Decides operational vs maintenance after a failure."""
        try:
            async with asyncio.timeout(self.probe_timeout):
                async with self.connector.driver(self.device, self.transcript) as drv:
                    facts = await drv.get_facts()
        except Exception as e:  # noqa: BLE001 - not answering is the finding
            code = e.code if isinstance(e, ReconcilerError) else type(e).__name__
            return False, f"the device does not answer ({code})"
        finally:
            await self._flush()
        # a cluster lists only the units in it now: a unit of the plan that is not listed is
        # still rebooting or gone, not fine
        gone = missing_units(facts, self.units())
        if gone:
            return False, f"unit(s) {', '.join(gone)} not in the cluster (`show cluster info`)"
        down = [m.name for m in facts.members if not m.reachable]
        if down:
            return False, f"unit(s) {', '.join(down)} do not answer"
        return True, "every unit answers"

    def units(self) -> set[str]:
        """The units the plan works on (a cluster's, as named in its steps)."""
        return {u for s in self.plan.steps for u in (s.member, *s.spreads_to) if u}
