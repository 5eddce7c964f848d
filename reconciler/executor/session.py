"""One run of the reconciler against the fleet, for the CLI, the demo and the daemon: the state
store and the device connections open, crash recovery done first, then plans made from fresh
discovery, saved plans checked for freshness, jobs created and run.

    async with Session(Workspace(root, images_dir, state_url), actor="alice") as s:
        report = await s.recover(desired)                  # always first
        saved, resolved = await s.plan(desired, names)     # discover + plan
        job = s.create(saved, JobRequest(), resolved)
        result = await s.run(job, desired, events=listener)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType

from reconciler.core.findings import Finding
from reconciler.core.model import (DesiredState, DeviceState, ImageStatus, ResolvedDevice,
                                   Settings)
from reconciler.core.observed import Snapshot
from reconciler.core.plan.fingerprint import check_fresh, planned, saved_plan
from reconciler.core.plan.incremental import PlanMemory
from reconciler.core.plan.model import Plan, SavedPlan
from reconciler.discovery import Progress
from reconciler.drivers.base import DriverOptions
from reconciler.errors import PermanentError
from reconciler.executor.connect import ClientFactory, Connector
from reconciler.executor.events import Events
from reconciler.executor.images import ImageSupply
from reconciler.executor.jobs import (JobRequest, create_job, job_plan, job_sequential,
                                      job_windows, runnable)
from reconciler.executor.recovery import RecoveryReport, recover
from reconciler.executor.runner import JobResult, JobRunner, RunnerOptions, Schedule
from reconciler.planning import with_known_units
from reconciler.store import (Job, JobStatus, Store, new_owner_id, open_store,
                              retire_owner_id)


@dataclass(frozen=True)
class Workspace:
    root: Path  # the desired-state repository (relative ca_bundle and file: credentials)
    images_dir: Path
    state_url: str | None = None  # None: $RECONCILER_STATE or ROOT/.reconciler/state.db
    client_factory: ClientFactory | None = None  # tests/demo: an in-process simulator
    driver_options: DriverOptions | None = None
    runner: RunnerOptions = field(default_factory=RunnerOptions)


def settings_of(resolved: Mapping[str, ResolvedDevice]) -> dict[str, Settings]:
    return {n: r.settings for n, r in resolved.items()}


class Session:
    def __init__(self, workspace: Workspace, *, actor: str, store: Store | None = None) -> None:
        self.ws = workspace
        self.actor = actor
        self._own_store = store is None
        self.store = store if store is not None else open_store(workspace.state_url,
                                                                root=workspace.root)
        self.connector = Connector(workspace.root, client_factory=workspace.client_factory,
                                   driver_options=workspace.driver_options)
        self.images = ImageSupply(workspace.images_dir)
        self.runner: JobRunner | None = None
        # job id -> the identity this session recorded on it when creating it; the runner that
        # starts the job takes it over (and retires it when it ends), the rest go at exit
        self._owners: dict[int, str] = {}

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.connector.aclose()
        for owner in self._owners.values():
            retire_owner_id(owner)  # created here, never started here: this run has ended
        self._owners.clear()
        if self._own_store:
            self.store.close()

    # ------------------------------------------------------------ recovery

    async def recover(self, desired: DesiredState) -> RecoveryReport:
        return await recover(self.store, self.connector, desired.inventory, actor=self.actor,
                             lease_ttl=self.ws.runner.lease_ttl)

    # ------------------------------------------------------------ planning

    async def discover(self, desired: DesiredState, names: Iterable[str] | None = None,
                       *, progress: Progress | None = None) -> Snapshot:
        """A fresh discovery; a cluster unit the store knows but the cluster did not list (it
        is reloading, or gone) is in it as an unreachable unit (reconciler.core.membership)."""
        from reconciler.planning import inventory_devices

        snapshot = await self.connector.discover(inventory_devices(desired, names),
                                                 progress=progress)
        return await asyncio.to_thread(with_known_units, self.store, snapshot)

    async def plan(self, desired: DesiredState, names: Iterable[str] | None = None, *,
                   findings: Sequence[Finding] = (), snapshot: Snapshot | None = None,
                   progress: Progress | None = None, dirty: bool = False,
                   states: Mapping[str, DeviceState] | None = None,
                   memory: PlanMemory | None = None
                   ) -> tuple[SavedPlan, dict[str, ResolvedDevice]]:
        """Discover (unless given a snapshot) and plan `names` (default: every device).
        `dirty`: the desired files differ from their commit (the plan records it).
        `states`: the device states, when the caller just read them from the store.
        `memory`: plan again only the devices that changed since its last plan (the daemon)."""
        if snapshot is None:
            only = set(names) if names is not None else None
            snapshot = await self.discover(desired, only, progress=progress)
        plan, resolved = await self.plan_unsaved(desired, names, findings=findings,
                                                 snapshot=snapshot, dirty=dirty, states=states,
                                                 memory=memory)
        return saved_plan(plan, snapshot.devices), resolved

    async def plan_unsaved(self, desired: DesiredState, names: Iterable[str] | None, *,
                           snapshot: Snapshot, findings: Sequence[Finding] = (),
                           dirty: bool = False, states: Mapping[str, DeviceState] | None = None,
                           images: Mapping[str, ImageStatus] | None = None,
                           memory: PlanMemory | None = None
                           ) -> tuple[Plan, dict[str, ResolvedDevice]]:
        """`plan` of a snapshot, without the observed dicts a saved plan carries (one per
        device with steps): for a plan that is reported, never saved or applied (the daemon's
        report of every cycle). `images`: the image repository's status, when the caller
        just read it."""
        from reconciler.planning import make_plan

        only = set(names) if names is not None else None
        status = images if images is not None else await self.image_status(desired)
        if states is None:
            records = await asyncio.to_thread(self.store.device_states, only or desired.inventory)
            states = {n: r.state for n, r in records.items()}
        return make_plan(desired, snapshot, status, states, only=only, findings=findings,
                         dirty=dirty, memory=memory)

    async def image_status(self, desired: DesiredState) -> dict[str, ImageStatus]:
        """What the local image repository holds of the catalog (stat; hashes only new files)."""
        from reconciler.planning import image_status

        return await asyncio.to_thread(image_status, self.ws.images_dir, desired)

    async def check_fresh(self, saved: SavedPlan, desired: DesiredState) -> Snapshot:
        """Re-discover the planned devices; StalePlanError (exit 3) when anything changed."""
        names = sorted(planned(saved.plan))
        snapshot = await self.discover(desired, names)
        check_fresh(saved, desired.commit, desired.content_digest, snapshot.devices)
        return snapshot

    # ------------------------------------------------------------ jobs

    def create(self, saved: SavedPlan, request: JobRequest,
               resolved: Mapping[str, ResolvedDevice], *, origin: str = "apply",
               retry_of: int | None = None, rollback_of: int | None = None) -> Job:
        # this process starts the job next: should it die first, its identity tells recovery
        # that the job was left behind (an approval job waits on purpose and gets none)
        owner = new_owner_id()
        job = create_job(self.store, saved, request, created_by=self.actor,
                         settings=settings_of(resolved), origin=origin, retry_of=retry_of,
                         rollback_of=rollback_of, owner=owner, ttl=self.ws.runner.lease_ttl)
        self._owners[job.id] = owner
        return job

    def earliest_start(self, job: Job, now: datetime) -> datetime:
        """When the first device of `job` may start (schedule and maintenance windows)."""
        if job.properties.extra.get("ignore_windows") and job.properties.schedule is None:
            return now
        schedule = Schedule(job_windows(job), job.properties.schedule,
                             bool(job.properties.extra.get("ignore_windows")))
        names = [d.device for d in runnable(job_plan(job).plan)]
        return min((schedule.earliest(n, now) for n in names), default=now)

    async def wait_for_start(self, job: Job, *, no_wait: bool = False,
                             events: Events | None = None) -> Job | None:
        """Hold a job until its start time: it is `scheduled` meanwhile (and may be discarded).
        Returns the job when it may start now, None with `no_wait` when it must wait."""
        clock = self.ws.runner.clock
        at = self.earliest_start(job, clock())
        if at <= clock():
            return job
        if job.status is not JobStatus.SCHEDULED:
            job = await asyncio.to_thread(self.store.schedule_job, job.id, at, actor=self.actor)
        if no_wait:
            return None
        if events is not None:
            events.job_waiting(at.isoformat(timespec="seconds"), "schedule / maintenance window")
        while clock() < at:
            await asyncio.sleep(min(self.ws.runner.poll * 5, max(0.01, (at - clock()).total_seconds())))
            job = await asyncio.to_thread(self.store.get_job, job.id)
            if job.status is not JobStatus.SCHEDULED:
                raise PermanentError(f"job {job.name} became {job.status} while it waited",
                                     code="JOB_CHANGED")
        return job

    async def run(self, job: Job, desired: DesiredState, *, events: Events | None = None,
                  options: RunnerOptions | None = None) -> JobResult:
        """Run a created/approved/scheduled job to its end (call `wait_for_start` first)."""
        opts = options or self.ws.runner
        if job.properties.extra.get("ignore_windows"):
            opts = replace(opts, ignore_windows=True)
        self.runner = JobRunner(self.store, self.connector, self.images, options=opts,
                                events=events, actor=self.actor,
                                owner=self._owners.pop(job.id, None))
        return await self.runner.run(job, job_plan(job).plan, desired.inventory,
                                     windows=job_windows(job), sequential=job_sequential(job),
                                     not_before=job.properties.schedule)
