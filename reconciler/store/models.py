"""Values the state store returns: jobs, their devices and records, device states, leases.

Everything here is a frozen dataclass or an enum; the store never hands out live rows. The job
life cycle (with the optional approval workflow of the source's Image Manager) is the table
`JOB_TRANSITIONS`; the store refuses any transition that is not in it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.core.model import DeviceState, OnError, Operation, Order


class JobStatus(enum.StrEnum):
    """One status per job, covering both the approval workflow and the run.

    Without approval: created -> deploying -> deployed | failed | aborted.
    With approval:    created -> submitted -> approved | rejected -> deploying -> ...
    A job that has not started can be discarded; a scheduled job waits for its time.
    `interrupted` is set by the next run when the runner of a deploying job died — or when the
    run that created a job (without approval) died before it could start it.
    """

    CREATED = "created"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    DISCARDED = "discarded"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_JOB_STATUSES

    @property
    def has_run(self) -> bool:
        """The job touched devices (so it can be retried or rolled back)."""
        return self in (JobStatus.DEPLOYED, JobStatus.FAILED, JobStatus.ABORTED,
                        JobStatus.INTERRUPTED)


TERMINAL_JOB_STATUSES = frozenset({JobStatus.DEPLOYED, JobStatus.FAILED, JobStatus.ABORTED,
                                   JobStatus.INTERRUPTED, JobStatus.DISCARDED})

_S = JobStatus
# from -> allowed targets. A rejected job can be edited (back to created) and resubmitted.
JOB_TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    # created -> interrupted: the run that created it died before starting it (recovery)
    _S.CREATED: frozenset({_S.SUBMITTED, _S.SCHEDULED, _S.DEPLOYING, _S.DISCARDED,
                           _S.INTERRUPTED}),
    _S.SUBMITTED: frozenset({_S.APPROVED, _S.REJECTED, _S.CREATED, _S.DISCARDED}),
    _S.REJECTED: frozenset({_S.CREATED, _S.SUBMITTED, _S.DISCARDED}),
    _S.APPROVED: frozenset({_S.SCHEDULED, _S.DEPLOYING, _S.DISCARDED}),
    _S.SCHEDULED: frozenset({_S.DEPLOYING, _S.DISCARDED}),
    _S.DEPLOYING: frozenset({_S.DEPLOYED, _S.FAILED, _S.ABORTED, _S.INTERRUPTED}),
    _S.DEPLOYED: frozenset(),
    _S.FAILED: frozenset(),
    _S.ABORTED: frozenset(),
    _S.INTERRUPTED: frozenset(),
    _S.DISCARDED: frozenset(),
}


class JobDeviceStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"  # never started because the job was aborted or stopped on error
    SKIPPED = "skipped"  # left out at run time (e.g. locked by another run, blocked)
    INTERRUPTED = "interrupted"  # the runner died while the device was running or pending

    @property
    def is_final(self) -> bool:
        return self not in (JobDeviceStatus.PENDING, JobDeviceStatus.RUNNING)


_D = JobDeviceStatus
JOB_DEVICE_TRANSITIONS: Mapping[JobDeviceStatus, frozenset[JobDeviceStatus]] = {
    _D.PENDING: frozenset({_D.RUNNING, _D.ABORTED, _D.SKIPPED, _D.INTERRUPTED, _D.FAILED}),
    _D.RUNNING: frozenset({_D.SUCCEEDED, _D.FAILED, _D.INTERRUPTED}),
    _D.SUCCEEDED: frozenset(),
    _D.FAILED: frozenset(),
    _D.ABORTED: frozenset(),
    _D.SKIPPED: frozenset(),
    _D.INTERRUPTED: frozenset(),
}

_O = DeviceState
# An upgrade may only start on an operational device; the other moves are the executor's
# outcomes or an operator's manual decision (mark-operational, put into maintenance).
DEVICE_STATE_TRANSITIONS: Mapping[DeviceState, frozenset[DeviceState]] = {
    _O.OPERATIONAL: frozenset({_O.UPGRADE_IN_PROGRESS, _O.MAINTENANCE, _O.CONFIGURATION_REQUIRED}),
    _O.UPGRADE_IN_PROGRESS: frozenset({_O.OPERATIONAL, _O.CONFIGURATION_REQUIRED, _O.MAINTENANCE}),
    _O.MAINTENANCE: frozenset({_O.OPERATIONAL, _O.CONFIGURATION_REQUIRED}),
    _O.CONFIGURATION_REQUIRED: frozenset({_O.OPERATIONAL, _O.MAINTENANCE}),
}


class TranscriptKind(enum.StrEnum):
    COMMAND = "command"  # sent to the device
    RESPONSE = "response"  # what the device answered
    ERROR = "error"  # transport/protocol error instead of a response
    NOTE = "note"  # the driver's or executor's remark: a split, a retry, proof of a reboot


@dataclass(frozen=True, slots=True)
class JobProperties:
    """How a job runs (the source's job "properties" tab)."""

    on_error: OnError = OnError.STOP
    order: Order = Order.PARALLEL
    max_parallel: int = 4
    operation: Operation = Operation.INSTALL_AND_RELOAD
    backup_current_image: bool = False
    non_intrusive: bool = False
    schedule: datetime | None = None  # start no earlier than this (UTC)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "on_error": str(self.on_error), "order": str(self.order),
            "max_parallel": self.max_parallel, "operation": str(self.operation),
            "backup_current_image": self.backup_current_image,
            "non_intrusive": self.non_intrusive,
            "schedule": self.schedule.isoformat() if self.schedule else None,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JobProperties:
        sched = d.get("schedule")
        return cls(
            on_error=OnError(d.get("on_error", OnError.STOP)),
            order=Order(d.get("order", Order.PARALLEL)),
            max_parallel=int(d.get("max_parallel", 4)),
            operation=Operation(d.get("operation", Operation.INSTALL_AND_RELOAD)),
            backup_current_image=bool(d.get("backup_current_image", False)),
            non_intrusive=bool(d.get("non_intrusive", False)),
            schedule=datetime.fromisoformat(sched) if sched else None,
            extra=dict(d.get("extra") or {}),
        )


@dataclass(frozen=True, slots=True)
class JobSummary:
    """The source's job summary: devices to deploy, deployed successfully, deployed with errors."""

    to_deploy: int = 0
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    aborted: int = 0
    skipped: int = 0
    interrupted: int = 0

    @classmethod
    def from_counts(cls, counts: Mapping[JobDeviceStatus, int]) -> JobSummary:
        return cls(to_deploy=sum(counts.values()),
                   **{s.value: counts.get(s, 0) for s in JobDeviceStatus})


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    name: str
    description: str
    ticket_id: str | None
    commit: str | None
    plan_fingerprint: str | None
    properties: JobProperties
    status: JobStatus
    approval_required: bool
    allow_self_approval: bool
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    created_at: datetime
    updated_at: datetime
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    owner: str | None  # runner id (host:pid:uuid) while deploying; before, the creating run's
    heartbeat_expires_at: datetime | None
    abort_requested_at: datetime | None
    abort_requested_by: str | None
    retry_of: int | None
    rollback_of: int | None
    summary: JobSummary

    @property
    def abort_requested(self) -> bool:
        return self.abort_requested_at is not None


@dataclass(frozen=True, slots=True)
class JobDeviceSpec:
    """A device as it enters a job: what it runs now and what it will run (type -> image)."""

    device: str
    old_images: Mapping[str, str] = field(default_factory=dict)
    new_images: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobDevice:
    job_id: int
    device: str
    seq: int
    status: JobDeviceStatus
    old_images: Mapping[str, str]
    new_images: Mapping[str, str]
    started_at: datetime | None
    finished_at: datetime | None
    message: str


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """What a caller appends; the store stamps id and job."""

    device: str
    kind: TranscriptKind
    text: str
    member: str | None = None
    at: datetime | None = None  # defaults to the time of the append


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    id: int
    job_id: int
    device: str
    member: str | None
    at: datetime
    kind: TranscriptKind
    text: str


@dataclass(frozen=True, slots=True)
class CommentaryEntry:
    id: int
    job_id: int
    device: str | None  # None: a line about the whole job
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class JobHistoryEntry:
    id: int
    job_id: int
    at: datetime
    from_status: JobStatus | None
    to_status: JobStatus
    actor: str
    comment: str


@dataclass(frozen=True, slots=True)
class DeviceStateRecord:
    device: str
    state: DeviceState
    reason: str
    job_id: int | None
    actor: str
    updated_at: datetime | None  # None: never recorded, operational by default


@dataclass(frozen=True, slots=True)
class DeviceStateChange:
    id: int
    device: str
    at: datetime
    from_state: DeviceState
    to_state: DeviceState
    reason: str
    job_id: int | None
    actor: str


@dataclass(frozen=True, slots=True)
class Lease:
    """A time-bounded lock on one device. `generation` grows with every acquisition, so a
    holder can tell that it lost the lease in between (a fencing token)."""

    device: str
    owner: str
    job_id: int | None
    acquired_at: datetime
    expires_at: datetime
    generation: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a runner still holds after renewing: its deploying jobs and its leases."""

    jobs: tuple[int, ...]
    leases: tuple[Lease, ...]


@dataclass(frozen=True, slots=True)
class AttemptCounter:
    """How often the reconciler re-imaged `device` towards `target` without converging."""

    device: str
    target: str
    count: int
    first_at: datetime
    last_at: datetime
    last_job_id: int | None


@dataclass(frozen=True, slots=True)
class SyncRecord:
    branch: str
    commit: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MigrationResult:
    from_version: int
    to_version: int
    applied: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoreInfo:
    backend: str  # "sqlite" | "postgresql"
    url: str  # password hidden
    schema_version: int
    latest_version: int
    jobs_by_status: Mapping[str, int]
    active_leases: int
    devices_not_operational: Mapping[str, str]
    last_syncs: tuple[SyncRecord, ...]
