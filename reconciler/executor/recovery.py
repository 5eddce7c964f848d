"""Crash recovery, run before anything else by every apply, jobs and daemon run.

1. Deploying jobs whose runner is gone (heartbeat expired, or a dead process on this host) are
   marked `interrupted` — only one recoverer wins each job — with their unfinished devices;
   so are jobs still `created` by a run that died before starting them (no device touched).
2. Every device still `upgrade-in-progress` whose job is not deploying any more is settled by
   re-discovery, never by the old record: it is leased first (so no run touches it meanwhile),
   units that do not answer are given the job's reload timeout to come back (a unit killed
   mid-reload is usually just booting) — in a cluster that includes every unit the job was
   planned for or the store knows but `show cluster info` does not list (a rebooting unit is
   simply absent from it) — then the device is discovered again and set to
   - operational, or configuration-required when the plan predicted it, when every unit runs
     the job's target;
   - operational when every unit answers but the target was not reached (untouched, or half
     way: the next plan finishes the job and reloads only the units that lag);
   - maintenance when a unit does not answer.
   Each decision is written to the interrupted job's commentary and the device's state history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from reconciler.core.membership import missing_units, units_in_dict, with_missing_units
from reconciler.core.model import DeviceState, ImageType, InventoryDevice
from reconciler.core.observed import ObservedDevice
from reconciler.core.plan import Change, DevicePlan
from reconciler.core.versions import VersionError, same_release
from reconciler.drivers.base import Transcript
from reconciler.errors import ReconcilerError
from reconciler.executor.connect import Connector
from reconciler.executor.jobs import job_plan
from reconciler.logging import get_logger
from reconciler.store import Job, JobStatus, Store, new_owner_id, retire_owner_id
from reconciler.store.errors import ConflictError, IllegalTransitionError, NotFoundError

_PER_UNIT = (ImageType.ASA, ImageType.ASDM, ImageType.AGENT)


@dataclass(frozen=True, slots=True)
class Settled:
    device: str
    job_id: int | None
    state: DeviceState | None  # None: left alone (someone else holds it)
    detail: str


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    interrupted: tuple[Job, ...] = ()
    settled: tuple[Settled, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.interrupted and not self.settled

    def lines(self) -> list[str]:
        out = [interrupted_line(j) for j in self.interrupted]
        out += [f"{s.device}: {s.detail}" + (f" -> {s.state}" if s.state else "")
                for s in self.settled]
        return out


def interrupted_line(job: Job) -> str:
    if job.started_at is None:
        return (f"job {job.id} ({job.name}) was interrupted before it started: "
                f"{job.owner or 'the run that created it'} stopped first; no device was touched")
    return (f"job {job.id} ({job.name}) was interrupted: {job.owner or 'its runner'} stopped "
            "without finishing it")


def mark_interrupted_jobs(store: Store, actor: str) -> list[Job]:
    """Step 1 alone (cheap, no device traffic): what `jobs list` does."""
    marked = []
    for job in store.find_interrupted_jobs():
        done = store.mark_interrupted(job.id, actor=actor,
                                      reason=f"runner {job.owner} stopped without finishing the "
                                             "job (crashed, killed or lost its database)")
        if done is not None:
            marked.append(done)
    return marked


def unsettled_devices(store: Store) -> list[tuple[str, int | None]]:
    """Devices left upgrade-in-progress by a job that is not running any more."""
    out = []
    for name, rec in store.device_states().items():
        if rec.state is not DeviceState.UPGRADE_IN_PROGRESS:
            continue
        try:
            status = store.get_job(rec.job_id).status if rec.job_id is not None else None
        except NotFoundError:
            status = None
        if status is not JobStatus.DEPLOYING:
            out.append((name, rec.job_id))
    return out


def reached(observed: ObservedDevice, changes: Sequence[Change]) -> bool:
    """Every unit runs the target release of every changed system/ASDM/agent type and holds
    the changed VPN packages (which a job copies but never configures: VPN_SHARED_POLICY)."""
    for c in changes:
        if c.type not in _PER_UNIT:
            if not all(any(d.has(c.image) for d in m.disks) for m in observed.members):
                return False
            continue
        values = [m.running.get(c.type) for m in observed.members]
        try:
            if not values or not all(v and same_release(c.type, v, c.to_version) for v in values):
                return False
        except VersionError:
            return False
    return True


async def recover(store: Store, connector: Connector, inventory: Mapping[str, InventoryDevice],
                  *, actor: str, default_timeout: float = 900.0,
                  lease_ttl: float = 300.0) -> RecoveryReport:
    interrupted = await asyncio.to_thread(mark_interrupted_jobs, store, actor)
    pending = await asyncio.to_thread(unsettled_devices, store)
    owner = new_owner_id()
    settled = []
    try:
        results = await asyncio.gather(*(
            _settle(store, connector, inventory, name, job_id, actor=actor, owner=owner,
                    default_timeout=default_timeout, lease_ttl=lease_ttl)
            for name, job_id in pending))
        settled = list(results)
    finally:
        try:
            await asyncio.to_thread(store.release_all, owner)
        finally:
            retire_owner_id(owner)  # one identity per recovery: not kept for the process's life
    return RecoveryReport(tuple(interrupted), tuple(settled))


async def _settle(store: Store, connector: Connector, inventory: Mapping[str, InventoryDevice],
                  name: str, job_id: int | None, *, actor: str, owner: str,
                  default_timeout: float, lease_ttl: float) -> Settled:
    log = get_logger(component="recovery", device=name, job=job_id)
    lease = await asyncio.to_thread(store.acquire, name, owner, lease_ttl, job_id=job_id)
    if lease is None:
        return Settled(name, job_id, None, "another run holds the device; left for it")
    plan: DevicePlan | None = None
    # a cluster lists only the units in it now: the job's plan and the store say which units
    # belong to it, so a unit still rebooting is waited for, not overlooked
    expected: set[str] = set((await asyncio.to_thread(store.cluster_units, [name])).get(name, ()))
    if job_id is not None:
        with contextlib.suppress(ReconcilerError, KeyError, ValueError):
            saved = job_plan(await asyncio.to_thread(store.get_job, job_id))
            plan = saved.plan.device(name)
            expected.update(units_in_dict(saved.observed.get(name)))
    device = inventory.get(name)
    if device is None:
        state, detail = DeviceState.MAINTENANCE, \
            "not in the inventory any more, so it cannot be re-discovered"
    else:
        timeout = float(plan.settings.reload_timeout) if plan and plan.settings \
            else default_timeout
        observed, problem = await _look(connector, device, timeout, expected)
        if observed is None or problem:
            state, detail = DeviceState.MAINTENANCE, f"re-discovered: {problem}"
        elif plan is not None and reached(observed, plan.changes):
            state = (DeviceState.CONFIGURATION_REQUIRED if plan.configuration_required_after
                     else DeviceState.OPERATIONAL)
            detail = "re-discovered: every unit runs the job's target (" + ", ".join(
                f"{c.type} {c.to_version}" for c in plan.changes) + ")"
        else:
            state, detail = DeviceState.OPERATIONAL, \
                "re-discovered: every unit answers, the target is not reached; the next plan " \
                "continues from what the device runs"
    reason = f"recovery after job {job_id} was interrupted: {detail}"
    try:
        await asyncio.to_thread(store.set_device_state, name, state, actor=actor, reason=reason,
                                job_id=job_id, expected=DeviceState.UPGRADE_IN_PROGRESS)
    except (ConflictError, IllegalTransitionError) as e:
        log.info("recovery_state_changed_meanwhile", error=str(e))
        return Settled(name, job_id, None, f"changed meanwhile ({e.message}); left as it is")
    if job_id is not None:
        with contextlib.suppress(ReconcilerError):
            await asyncio.to_thread(store.add_commentary, job_id,
                                    f"recovered by {actor}: {detail} -> {state}", device=name)
    log.info("recovered", state=str(state), detail=detail)
    return Settled(name, job_id, state, detail)


async def _look(connector: Connector, device: InventoryDevice, timeout: float,
                expected: Collection[str] = ()) -> tuple[ObservedDevice | None, str]:
    """Discover `device`, giving units that do not answer — or, in a cluster, are `expected`
    but not listed — up to `timeout` (device time) to come back first. Returns (observed,
    problem)."""
    snap = await connector.discover([device], attempts=1)  # waiting is wait_ready's job
    observed = snap.devices.get(device.name)
    down: list[str | None] = []
    if observed is None:
        down = [None]
    else:
        observed = with_missing_units(observed, expected)
        down = [m.name for m in observed.members if not m.reachable]
    if not down:
        return observed, ""
    try:
        async with connector.driver(device, Transcript()) as drv:
            for member in down:
                await drv.wait_ready(member, timeout)
    except ReconcilerError as e:
        who = ", ".join(m for m in down if m) or "the device"
        return observed, f"{who} did not answer within {timeout:g}s ({e.code})"
    snap = await connector.discover([device])
    observed = snap.devices.get(device.name)
    if observed is None:
        err = snap.errors.get(device.name)
        return None, f"the device does not answer ({err.code if err else 'unknown'})"
    gone = missing_units(observed, expected)
    if gone:
        return observed, (f"unit(s) {', '.join(gone)} did not rejoin the cluster within "
                          f"{timeout:g}s (absent from `show cluster info`)")
    still = [m.name for m in observed.members if not m.reachable]
    if still:
        return observed, f"unit(s) {', '.join(still)} do not answer"
    return observed, ""
