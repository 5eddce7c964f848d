"""Jobs from plans: what a job records when it is created, and the plans behind retry and
rollback.

A job keeps the saved plan it runs (plan + the observed state it was made from), so an approved
job deploys exactly what was approved — after a freshness check — and `jobs show` can say what
was planned. Its properties are the operator's choices, else derived from the devices' policy:
the job is sequential only when every device's policy says so, yet devices whose policy says
`order: sequential` never run at the same time as each other (`extra.sequential`);
`max_parallel` is the smallest any device allows; `on_error` is `stop` when any device asks for
it. Per device it records the images it replaces and installs (old/new: type -> image).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from reconciler.contract import StepAction
from reconciler.core.model import ImageType, MaintenanceWindow, OnError, Operation, Order, Settings
from reconciler.core.plan import DevicePlan, Plan
from reconciler.core.plan.model import SavedPlan
from reconciler.core.windows import window_from_dict, window_to_dict
from reconciler.errors import PermanentError
from reconciler.store import Job, JobDeviceSpec, JobDeviceStatus, JobProperties, Store


@dataclass(frozen=True)
class JobRequest:
    """What the operator asked for; None means "from the devices' policy"."""

    name: str | None = None
    description: str = ""
    ticket_id: str | None = None
    on_error: OnError | None = None
    order: Order | None = None
    max_parallel: int | None = None
    operation: Operation | None = None
    backup: bool | None = None
    non_intrusive: bool | None = None
    not_before: datetime | None = None
    ignore_windows: bool = False
    approval_required: bool = False
    allow_self_approval: bool = False


def runnable(plan: Plan) -> list[DevicePlan]:
    """The devices a job of this plan touches: not blocked and with steps, in plan order."""
    return [d for d in plan.devices if d.steps and not d.blocked]


def device_spec(d: DevicePlan) -> JobDeviceSpec:
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for c in d.changes:
        new[str(c.type)] = c.image
        was = c.from_image or c.from_version
        if was:
            old[str(c.type)] = was
    return JobDeviceSpec(d.device, old_images=old, new_images=new)


def properties_for(plan: Plan, request: JobRequest, settings: Mapping[str, Settings]
                   ) -> tuple[JobProperties, list[str]]:
    """The job's properties and the devices of its sequential lane."""
    devices = runnable(plan)
    own = [settings[d.device] for d in devices if d.device in settings]
    sequential = sorted(d.device for d in devices
                        if d.settings is not None and d.settings.order is Order.SEQUENTIAL)
    if request.order is not None:
        order = request.order
    elif devices and len(sequential) == len(devices):
        order = Order.SEQUENTIAL
    else:
        order = Order.PARALLEL
    if request.order is not None:
        sequential = []  # the operator's order is the job's order
    max_parallel = request.max_parallel or min(
        (d.settings.max_parallel for d in devices if d.settings), default=4)
    on_error = request.on_error or (
        OnError.STOP if any(d.settings and d.settings.on_error is OnError.STOP for d in devices)
        else OnError.CONTINUE)
    operations = Counter(d.settings.operation for d in devices if d.settings)
    operation = request.operation or (operations.most_common(1)[0][0] if operations
                                      else Operation.INSTALL_AND_RELOAD)
    backup = request.backup if request.backup is not None else any(
        s.action is StepAction.BACKUP for d in devices for s in d.steps)
    non_intrusive = request.non_intrusive if request.non_intrusive is not None else any(
        s.non_intrusive for s in own)
    return JobProperties(on_error=on_error, order=order, max_parallel=max_parallel,
                         operation=operation, backup_current_image=backup,
                         non_intrusive=non_intrusive, schedule=request.not_before), sequential


def create_job(store: Store, saved: SavedPlan, request: JobRequest, *, created_by: str,
               settings: Mapping[str, Settings], origin: str = "apply",
               retry_of: int | None = None, rollback_of: int | None = None,
               owner: str | None = None, ttl: float = 300.0) -> Job:
    """Record a job for the runnable devices of `saved` (status `created`). `owner`: the run
    that starts it next (recovery settles the job if that run dies first; see
    `Store.create_job`)."""
    devices = runnable(saved.plan)
    if not devices:
        raise PermanentError("nothing to apply: no device of the plan has steps to run",
                             code="NOTHING_TO_DO", hint="every device is in sync or blocked")
    props, sequential = properties_for(saved.plan, request, settings)
    windows = {d.device: [window_to_dict(w) for w in settings[d.device].maintenance_windows]
               for d in devices if d.device in settings}
    extra: dict[str, Any] = {
        "origin": origin, "plan": saved.to_dict(), "sequential": sequential,
        "windows": {k: v for k, v in windows.items() if v},
        "ignore_windows": request.ignore_windows,
    }
    props = replace(props, extra=extra)
    return store.create_job(
        [device_spec(d) for d in devices], created_by=created_by, name=request.name,
        description=request.description, ticket_id=request.ticket_id,
        commit=saved.plan.source.commit, plan_fingerprint=saved.plan.fingerprint,
        properties=props, approval_required=request.approval_required,
        allow_self_approval=request.allow_self_approval, retry_of=retry_of,
        rollback_of=rollback_of, owner=owner, ttl=ttl)


def job_plan(job: Job) -> SavedPlan:
    doc = job.properties.extra.get("plan")
    if not isinstance(doc, Mapping):
        raise PermanentError(f"job {job.name} carries no plan (created by another tool?)",
                             code="NO_PLAN", hint="create a new job with `reconciler apply`")
    return SavedPlan.from_dict(doc)


def job_windows(job: Job) -> dict[str, tuple[MaintenanceWindow, ...]]:
    raw = job.properties.extra.get("windows") or {}
    return {d: tuple(window_from_dict(w) for w in ws) for d, ws in raw.items()}


def job_sequential(job: Job) -> list[str]:
    return list(job.properties.extra.get("sequential") or [])


def request_from(job: Job, **changes: Any) -> JobRequest:
    """A retry or rollback keeps the original job's properties unless told otherwise."""
    p = job.properties
    base = JobRequest(description=job.description, ticket_id=job.ticket_id, on_error=p.on_error,
                      order=p.order if not job_sequential(job) else None,
                      max_parallel=p.max_parallel, approval_required=job.approval_required,
                      allow_self_approval=job.allow_self_approval,
                      ignore_windows=bool(p.extra.get("ignore_windows")))
    return replace(base, **changes)


def job_device_names(store: Store, job: Job) -> list[str]:
    return [d.device for d in store.job_devices(job.id)]


def rollback_targets(store: Store, job: Job) -> tuple[dict[str, dict[ImageType, str]], list[str]]:
    """Per device the images the job replaced (type -> image name or version), for the devices
    the job touched; and notes about what cannot be rolled back."""
    if not job.status.has_run:
        raise PermanentError(f"job {job.name} is {job.status}: it never ran, so there is "
                             "nothing to roll back", code="ILLEGAL_TRANSITION",
                             hint="discard it instead")
    targets: dict[str, dict[ImageType, str]] = {}
    notes: list[str] = []
    for d in store.job_devices(job.id):
        if d.status not in (JobDeviceStatus.SUCCEEDED, JobDeviceStatus.FAILED,
                            JobDeviceStatus.INTERRUPTED):
            continue  # never started: nothing to undo
        for kind, new in sorted(d.new_images.items()):
            old = d.old_images.get(kind)
            if old is None:
                notes.append(f"{d.device}: {kind} {new} was installed where none was; it stays")
                continue
            targets.setdefault(d.device, {})[ImageType(kind)] = old
    return targets, notes
