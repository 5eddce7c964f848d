"""The state store: one API over SQLite and PostgreSQL.

What it keeps: jobs (with their devices, transcript, commentary and status history), device
states (with history), device leases, per-device attempt counters and small metadata such as the
last synced commit. Every public method is one database transaction.

Concurrency rules:
- Leases are rows claimed atomically with `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired OR
  mine RETURNING`: exactly one of any number of racing runners gets a row back. On PostgreSQL the
  clock is the server's (`clock_timestamp()`), so runners on different hosts agree on expiry; on
  SQLite every writer starts with `BEGIN IMMEDIATE` and all runners share the host's clock.
- Job and device-state changes lock the row (`FOR UPDATE` on PostgreSQL; the database on SQLite)
  and are checked against the transition tables in `models`.
- All text written (transcript, commentary, messages, reasons, descriptions) passes through
  `reconciler.secrets.redact` here, the last line of defence against leaked credentials.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (Connection, Engine, Row, and_, bindparam, case, delete, exc, func, or_,
                        select, text, update)
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect

from reconciler.core.model import DeviceState
from reconciler.errors import ReconcilerError
from reconciler.secrets import redact
from reconciler.store import schema as t
from reconciler.store.errors import (ConflictError, IllegalTransitionError, NotFoundError,
                                     PermanentError, SchemaVersionError, StoreUnavailableError)
from reconciler.store.models import (DEVICE_STATE_TRANSITIONS, JOB_DEVICE_TRANSITIONS,
                                     JOB_TRANSITIONS, AttemptCounter, CommentaryEntry,
                                     DeviceStateChange, DeviceStateRecord, Heartbeat, Job,
                                     JobDevice, JobDeviceSpec, JobDeviceStatus, JobHistoryEntry,
                                     JobProperties, JobStatus, JobSummary, Lease,
                                     MigrationResult, StoreInfo, SyncRecord, TranscriptEntry,
                                     TranscriptKind, TranscriptLine)
from reconciler.store.owners import owner_alive

DEFAULT_JOB_PREFIX = "image-install"
_PG_JOB_NAME_LOCK = 0x7265636F6A6F6273  # "recojobs"
_NOT_STARTED = frozenset({JobStatus.CREATED, JobStatus.SUBMITTED, JobStatus.APPROVED,
                          JobStatus.REJECTED, JobStatus.SCHEDULED})
_RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.ABORTED, JobStatus.INTERRUPTED})
_UNITS = "cluster-units:"  # store_meta key prefix: the units seen in a cluster device
# a job created by a run that meant to start it at once (approval jobs wait on purpose)
_ORPHAN_CREATED = and_(t.jobs.c.status == JobStatus.CREATED.value, t.jobs.c.owner.is_not(None),
                       t.jobs.c.approval_required.is_(False))


class Store:
    """Durable state shared by every run, the daemon and the CLI. Open with `open_store()`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url
        self.backend = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
        self._claim: Any = None

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.backend}: {self.url})"

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                if not write and self.backend == "sqlite":
                    conn.execution_options(sqlite_begin="DEFERRED")
                with conn.begin():
                    yield conn
        except ReconcilerError:
            raise
        except exc.DBAPIError as e:
            raise translate_db_error(e, self.url) from None

    def _now(self, conn: Connection) -> datetime:
        if self.backend == "postgresql":
            value = conn.execute(select(func.clock_timestamp())).scalar_one()
            return value.astimezone(UTC)
        return datetime.now(UTC)

    def _insert(self, table: Any) -> Any:
        return (pg.insert(table) if self.backend == "postgresql"
                else sqlite_dialect.insert(table))

    def now(self) -> datetime:
        """The store's clock (the database server's on PostgreSQL), which leases go by."""
        with self._tx(write=False) as conn:
            return self._now(conn)

    # ------------------------------------------------------------------ schema

    def schema_version(self) -> int:
        with self._tx(write=False) as conn:
            return t.current_version(conn)

    def migrate(self, target: int | None = None) -> MigrationResult:
        try:
            return t.migrate(self._engine, target)
        except exc.DBAPIError as e:
            raise translate_db_error(e, self.url) from None

    # ------------------------------------------------------------------ jobs

    def create_job(
        self,
        devices: Sequence[JobDeviceSpec],
        *,
        created_by: str,
        name: str | None = None,
        description: str = "",
        ticket_id: str | None = None,
        commit: str | None = None,
        plan_fingerprint: str | None = None,
        properties: JobProperties | None = None,
        approval_required: bool = False,
        allow_self_approval: bool = False,
        retry_of: int | None = None,
        rollback_of: int | None = None,
        owner: str | None = None,
        ttl: float = 300.0,
    ) -> Job:
        """Record a new job in `created` state; devices run in the order given.

        `owner`: the run that creates the job to start it at once (a job without approval).
        If that run dies before `start_job` — its process is gone (seen from this host), or
        `ttl` seconds pass without a start — recovery finds the job (`find_interrupted_jobs`)
        instead of leaving it `created` for ever."""
        properties = properties or JobProperties()
        if owner is not None:
            _check_ttl(ttl)
        names = [d.device for d in devices]
        if not names:
            raise PermanentError("a job needs at least one device")
        dupes = sorted(n for n, c in Counter(names).items() if c > 1)
        if dupes:
            raise PermanentError(f"devices listed twice in one job: {', '.join(dupes)}")
        if properties.max_parallel < 1:
            raise PermanentError(f"max_parallel must be at least 1, not {properties.max_parallel}")
        if name is not None and not name.strip():
            raise PermanentError("a job name cannot be blank")
        with self._tx() as conn:
            if self.backend == "postgresql":
                # Serialise job creation (rare) so concurrent runs never pick the same default
                # name; SQLite's BEGIN IMMEDIATE already does.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_JOB_NAME_LOCK})
            now = self._now(conn)
            for ref, allowed, what in ((retry_of, _RETRYABLE, "retried"),
                                       (rollback_of, None, "rolled back")):
                if ref is not None:
                    origin = self._job_row(conn, ref)
                    ok = (JobStatus(origin.status) in allowed if allowed
                          else JobStatus(origin.status).has_run)
                    if not ok:
                        raise IllegalTransitionError(
                            f"job {origin.name} is {origin.status} and cannot be {what}",
                            hint="retry a failed, aborted or interrupted job; roll back a job "
                                 "that ran")
            job_name = name.strip() if name else self._free_job_name(conn, now)
            if conn.execute(select(t.jobs.c.id).where(t.jobs.c.name == job_name)).first():
                raise ConflictError(f"a job named {job_name!r} already exists",
                                    hint="choose another name or leave it out for a default")
            job_id = conn.execute(t.jobs.insert().values(
                name=job_name, description=redact(description), ticket_id=ticket_id,
                commit=commit, plan_fingerprint=plan_fingerprint,
                properties=properties.to_dict(), status=JobStatus.CREATED.value,
                approval_required=approval_required, allow_self_approval=allow_self_approval,
                created_by=created_by, created_at=now, updated_at=now,
                scheduled_at=properties.schedule, retry_of=retry_of, rollback_of=rollback_of,
                **({"owner": owner, "heartbeat_expires_at": now + timedelta(seconds=ttl)}
                   if owner is not None and not approval_required else {}),
            ).returning(t.jobs.c.id)).scalar_one()
            conn.execute(t.job_devices.insert(), [
                {"job_id": job_id, "device": d.device, "seq": i,
                 "status": JobDeviceStatus.PENDING.value, "old_images": dict(d.old_images),
                 "new_images": dict(d.new_images), "message": ""}
                for i, d in enumerate(devices)])
            origin_note = (f"retry of job {retry_of}" if retry_of is not None else
                           f"rollback of job {rollback_of}" if rollback_of is not None else "")
            self._history(conn, job_id, None, JobStatus.CREATED, created_by, origin_note, now)
            return self._load_job(conn, job_id)

    def _free_job_name(self, conn: Connection, now: datetime) -> str:
        base = f"{DEFAULT_JOB_PREFIX}-{now:%Y%m%d-%H%M%S}"
        taken = set(conn.execute(select(t.jobs.c.name).where(t.jobs.c.name.like(f"{base}%")))
                    .scalars())
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def get_job(self, ref: int | str) -> Job:
        """A job by id (int or digits) or by name; NotFoundError when there is none."""
        with self._tx(write=False) as conn:
            return self._job_from_row(conn, self._job_row(conn, ref))

    def list_jobs(self, *, statuses: Iterable[JobStatus] | None = None,
                  ticket_id: str | None = None, device: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[Job]:
        """Newest first."""
        q = select(t.jobs)
        if statuses is not None:
            q = q.where(t.jobs.c.status.in_([JobStatus(s).value for s in statuses]))
        if ticket_id is not None:
            q = q.where(t.jobs.c.ticket_id == ticket_id)
        if device is not None:
            q = q.where(t.jobs.c.id.in_(select(t.job_devices.c.job_id)
                                        .where(t.job_devices.c.device == device)))
        q = q.order_by(t.jobs.c.id.desc()).limit(limit).offset(offset)
        with self._tx(write=False) as conn:
            rows = conn.execute(q).all()
            summaries = self._summaries(conn, [r.id for r in rows])
            return [_job(r, summaries.get(r.id, JobSummary())) for r in rows]

    def job_devices(self, job_id: int) -> list[JobDevice]:
        with self._tx(write=False) as conn:
            rows = conn.execute(select(t.job_devices).where(t.job_devices.c.job_id == job_id)
                                .order_by(t.job_devices.c.seq)).all()
        return [_job_device(r) for r in rows]

    def job_history(self, job_id: int) -> list[JobHistoryEntry]:
        with self._tx(write=False) as conn:
            rows = conn.execute(select(t.job_history).where(t.job_history.c.job_id == job_id)
                                .order_by(t.job_history.c.id)).all()
        return [JobHistoryEntry(id=r.id, job_id=r.job_id, at=r.at,
                                from_status=JobStatus(r.from_status) if r.from_status else None,
                                to_status=JobStatus(r.to_status), actor=r.actor,
                                comment=r.comment) for r in rows]

    # -- approval workflow and scheduling

    def submit_job(self, job_id: int, *, actor: str, comment: str = "") -> Job:
        return self._change(job_id, JobStatus.SUBMITTED, actor, comment, submitted_by=actor)

    def approve_job(self, job_id: int, *, actor: str, comment: str = "") -> Job:
        return self._change(job_id, JobStatus.APPROVED, actor, comment, approved_by=actor)

    def reject_job(self, job_id: int, *, actor: str, comment: str = "") -> Job:
        return self._change(job_id, JobStatus.REJECTED, actor, comment)

    def edit_job(self, job_id: int, *, actor: str, comment: str = "") -> Job:
        """Back to `created` for changes; any approval is void and must be given again."""
        return self._change(job_id, JobStatus.CREATED, actor, comment, submitted_by=None,
                            approved_by=None)

    def discard_job(self, job_id: int, *, actor: str, comment: str = "") -> Job:
        return self._change(job_id, JobStatus.DISCARDED, actor, comment)

    def schedule_job(self, job_id: int, at: datetime, *, actor: str, comment: str = "") -> Job:
        return self._change(job_id, JobStatus.SCHEDULED, actor,
                            comment or f"start at {at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
                            scheduled_at=at)

    def due_jobs(self) -> list[Job]:
        """Scheduled jobs whose start time has come, oldest schedule first."""
        with self._tx(write=False) as conn:
            now = self._now(conn)
            rows = conn.execute(select(t.jobs).where(
                t.jobs.c.status == JobStatus.SCHEDULED.value, t.jobs.c.scheduled_at <= now)
                .order_by(t.jobs.c.scheduled_at, t.jobs.c.id)).all()
            summaries = self._summaries(conn, [r.id for r in rows])
            return [_job(r, summaries.get(r.id, JobSummary())) for r in rows]

    def _change(self, job_id: int, to: JobStatus, actor: str, comment: str,
                **values: Any) -> Job:
        if to is JobStatus.DEPLOYING:
            raise PermanentError("use start_job() to deploy: a deploying job needs an owner")
        with self._tx() as conn:
            now = self._now(conn)
            row = self._job_row(conn, job_id, lock=True)
            self._transition(conn, row, to, actor, comment, now, **values)
            return self._load_job(conn, row.id)

    def _transition(self, conn: Connection, row: Row[Any], to: JobStatus, actor: str,
                    comment: str, now: datetime, **values: Any) -> None:
        frm = JobStatus(row.status)
        if to not in JOB_TRANSITIONS[frm]:
            raise IllegalTransitionError(f"job {row.name} is {frm}; it cannot become {to}",
                                         hint=_transition_hint(frm, to))
        if row.approval_required and to in (JobStatus.SCHEDULED, JobStatus.DEPLOYING) \
                and frm is JobStatus.CREATED:
            raise IllegalTransitionError(
                f"job {row.name} needs approval before it can be {to}",
                hint="submit it, then an approver approves it")
        if to is JobStatus.APPROVED and not row.allow_self_approval \
                and row.submitted_by == actor:
            raise IllegalTransitionError(
                f"{actor} submitted job {row.name} and cannot also approve it",
                hint="ask another approver, or create the job with self-approval allowed")
        if to is JobStatus.SCHEDULED and values.get("scheduled_at", row.scheduled_at) is None:
            raise IllegalTransitionError(f"job {row.name} has no start time to be scheduled for",
                                         hint="give a schedule time")
        values.update(status=to.value, updated_at=now)
        if to.is_terminal:
            values.setdefault("finished_at", now)
        res = conn.execute(update(t.jobs).where(t.jobs.c.id == row.id,
                                                t.jobs.c.status == frm.value).values(**values))
        if res.rowcount != 1:
            raise ConflictError(f"job {row.name} changed while it was being updated",
                                hint="look at the job again and repeat the action")
        self._history(conn, row.id, frm, to, actor, comment, now)

    def _history(self, conn: Connection, job_id: int, frm: JobStatus | None, to: JobStatus,
                 actor: str, comment: str, now: datetime) -> None:
        conn.execute(t.job_history.insert().values(
            job_id=job_id, at=now, from_status=frm.value if frm else None, to_status=to.value,
            actor=actor, comment=redact(comment)))

    # -- running

    def start_job(self, job_id: int, *, owner: str, ttl: float, actor: str | None = None) -> Job:
        """Move the job to `deploying`, owned by the runner `owner` for `ttl` seconds; the owner
        keeps it alive with `heartbeat()`. Devices are locked separately (`acquire_many`)."""
        _check_ttl(ttl)
        with self._tx() as conn:
            now = self._now(conn)
            row = self._job_row(conn, job_id, lock=True)
            self._transition(conn, row, JobStatus.DEPLOYING, actor or owner, f"runner {owner}",
                             now, owner=owner, started_at=now,
                             heartbeat_expires_at=now + timedelta(seconds=ttl))
            return self._load_job(conn, row.id)

    def heartbeat(self, owner: str, ttl: float) -> Heartbeat:
        """Extend every deploying job and every lease `owner` holds by `ttl` seconds from now.

        Compare the result with what you think you hold: a job or lease missing from it was
        taken from you (declared dead and interrupted, or its lease taken over) — stop touching
        those devices.
        """
        _check_ttl(ttl)
        with self._tx() as conn:
            now = self._now(conn)
            until = now + timedelta(seconds=ttl)
            job_ids = conn.execute(
                update(t.jobs).where(t.jobs.c.owner == owner,
                                     t.jobs.c.status == JobStatus.DEPLOYING.value)
                .values(heartbeat_expires_at=until, updated_at=now)
                .returning(t.jobs.c.id)).scalars().all()
            leases = conn.execute(
                update(t.device_leases).where(t.device_leases.c.owner == owner)
                .values(expires_at=until, renewed_at=now)
                .returning(*t.device_leases.c)).all()
        return Heartbeat(jobs=tuple(sorted(job_ids)),
                         leases=tuple(sorted((_lease(r) for r in leases), key=lambda x: x.device)))

    def set_job_device_status(self, job_id: int, device: str, status: JobDeviceStatus, *,
                              message: str = "") -> JobDevice:
        with self._tx() as conn:
            now = self._now(conn)
            row = conn.execute(select(t.job_devices).where(
                t.job_devices.c.job_id == job_id, t.job_devices.c.device == device)
                .with_for_update()).first()
            if row is None:
                raise NotFoundError(f"device {device} is not part of job {job_id}", device=device)
            frm = JobDeviceStatus(row.status)
            if status is not frm and status not in JOB_DEVICE_TRANSITIONS[frm]:
                raise IllegalTransitionError(
                    f"device {device} in job {job_id} is {frm}; it cannot become {status}",
                    device=device)
            values: dict[str, Any] = {"status": status.value}
            if message:
                values["message"] = redact(message)
            if status is JobDeviceStatus.RUNNING and row.started_at is None:
                values["started_at"] = now
            if status.is_final and row.finished_at is None:
                values["finished_at"] = now
            conn.execute(update(t.job_devices).where(t.job_devices.c.job_id == job_id,
                                                     t.job_devices.c.device == device)
                         .values(**values))
            return _job_device(conn.execute(select(t.job_devices).where(
                t.job_devices.c.job_id == job_id, t.job_devices.c.device == device)).one())

    def abort_pending_devices(self, job_id: int, *, message: str,
                              status: JobDeviceStatus = JobDeviceStatus.ABORTED) -> list[str]:
        """Mark every device that has not started as `status` (aborted, or skipped); returns them."""
        if status not in JOB_DEVICE_TRANSITIONS[JobDeviceStatus.PENDING] \
                or status is JobDeviceStatus.RUNNING:
            raise PermanentError(f"pending devices cannot become {status}")
        with self._tx() as conn:
            now = self._now(conn)
            return sorted(conn.execute(
                update(t.job_devices).where(t.job_devices.c.job_id == job_id,
                                            t.job_devices.c.status == JobDeviceStatus.PENDING.value)
                .values(status=status.value, message=redact(message), finished_at=now)
                .returning(t.job_devices.c.device)).scalars())

    def request_abort(self, job_id: int, *, actor: str) -> Job:
        """Ask the runner of a deploying job to stop starting devices.

        Sequential jobs abort every device not yet started; parallel jobs let the running batch
        finish. A job of one device runs to completion once started, so that is refused.
        """
        with self._tx() as conn:
            now = self._now(conn)
            row = self._job_row(conn, job_id, lock=True)
            status = JobStatus(row.status)
            if status in _NOT_STARTED:
                raise IllegalTransitionError(f"job {row.name} has not started ({status})",
                                             hint="discard it instead")
            if status is not JobStatus.DEPLOYING:
                raise IllegalTransitionError(f"job {row.name} is already {status}")
            count = conn.execute(select(func.count()).select_from(t.job_devices)
                                 .where(t.job_devices.c.job_id == row.id)).scalar_one()
            if count == 1:
                raise IllegalTransitionError(
                    f"job {row.name} has a single device; once started it runs to completion",
                    hint="wait for it to finish")
            if row.abort_requested_at is None:
                conn.execute(update(t.jobs).where(t.jobs.c.id == row.id).values(
                    abort_requested_at=now, abort_requested_by=actor, updated_at=now))
                conn.execute(t.commentary.insert().values(
                    job_id=row.id, device=None, at=now, text=f"abort requested by {actor}"))
            return self._load_job(conn, row.id)

    def finish_job(self, job_id: int, *, owner: str, status: JobStatus | None = None,
                   comment: str = "", abort_requested_by: str | None = None) -> Job:
        """End a deploying job. Without `status` it is derived from its devices: deployed when
        every device succeeded, aborted when an abort left devices unstarted, failed otherwise.
        `abort_requested_by`: the runner was told to stop where it runs (Ctrl-C, SIGTERM) —
        an abort like `request_abort`, recorded now if none was. Releases the owner's leases on
        the job's devices."""
        with self._tx() as conn:
            now = self._now(conn)
            row = self._job_row(conn, job_id, lock=True)
            if JobStatus(row.status) is JobStatus.DEPLOYING and row.owner != owner:
                raise ConflictError(f"job {row.name} is run by {row.owner}, not {owner}")
            counts = Counter(JobDeviceStatus(s) for s in conn.execute(
                select(t.job_devices.c.status).where(t.job_devices.c.job_id == row.id)).scalars())
            open_ = counts[JobDeviceStatus.PENDING] + counts[JobDeviceStatus.RUNNING]
            if open_:
                raise ConflictError(f"job {row.name} still has {open_} device(s) pending or "
                                    "running", hint="record every device's outcome first")
            abort: dict[str, Any] = {}
            if abort_requested_by is not None and row.abort_requested_at is None:
                abort = {"abort_requested_at": now, "abort_requested_by": abort_requested_by}
            if status is None:
                status = _outcome(counts, row.abort_requested_at is not None or bool(abort))
            self._transition(conn, row, status, owner, comment, now, heartbeat_expires_at=None,
                             **abort)
            conn.execute(delete(t.device_leases).where(
                t.device_leases.c.owner == owner,
                t.device_leases.c.device.in_(select(t.job_devices.c.device)
                                             .where(t.job_devices.c.job_id == row.id))))
            return self._load_job(conn, row.id)

    # -- crash recovery

    def find_interrupted_jobs(self) -> list[Job]:
        """Deploying jobs whose runner is gone: its heartbeat expired (store clock), or it ran on
        this host and its process no longer exists. Also jobs still `created` by a run that
        meant to start them at once (they have an owner) and is gone the same way: killed
        between creating and starting the job."""
        with self._tx(write=False) as conn:
            now = self._now(conn)
            rows = conn.execute(select(t.jobs).where(or_(
                t.jobs.c.status == JobStatus.DEPLOYING.value, _ORPHAN_CREATED))
                .order_by(t.jobs.c.id)).all()
            dead = [r for r in rows if _runner_dead(r, now)]
            summaries = self._summaries(conn, [r.id for r in dead])
            return [_job(r, summaries.get(r.id, JobSummary())) for r in dead]

    def mark_interrupted(self, job_id: int, *, actor: str, reason: str = "",
                         force: bool = False) -> Job | None:
        """Record that the runner of a deploying job died. Its unfinished devices become
        `interrupted` and its leases on them are released; the devices keep their device state
        (usually upgrade-in-progress) until re-discovery settles them.

        Returns None when the job is not deploying any more or its runner turned out alive
        (unless `force`), so concurrent recoverers do not both act on one job.
        """
        with self._tx() as conn:
            now = self._now(conn)
            row = self._job_row(conn, job_id, lock=True)
            if JobStatus(row.status) is JobStatus.CREATED and row.owner \
                    and not row.approval_required:
                if not force and not _runner_dead(row, now):
                    return None
                return self._interrupted_before_start(conn, row, now, actor)
            if JobStatus(row.status) is not JobStatus.DEPLOYING:
                return None
            if not force and not _runner_dead(row, now):
                return None
            why = reason or f"runner {row.owner} stopped without finishing the job"
            unfinished = conn.execute(
                update(t.job_devices).where(
                    t.job_devices.c.job_id == row.id,
                    t.job_devices.c.status.in_([JobDeviceStatus.PENDING.value,
                                                JobDeviceStatus.RUNNING.value]))
                .values(status=JobDeviceStatus.INTERRUPTED.value, finished_at=now,
                        message=redact(why))
                .returning(t.job_devices.c.device)).scalars().all()
            self._transition(conn, row, JobStatus.INTERRUPTED, actor, why, now,
                             heartbeat_expires_at=None)
            if row.owner:
                conn.execute(delete(t.device_leases).where(
                    t.device_leases.c.owner == row.owner,
                    t.device_leases.c.device.in_(select(t.job_devices.c.device)
                                                 .where(t.job_devices.c.job_id == row.id))))
            note = (f"interrupted: {why}; devices to re-discover: {', '.join(sorted(unfinished))}"
                    if unfinished else f"interrupted: {why}")
            conn.execute(t.commentary.insert().values(job_id=row.id, device=None, at=now,
                                                      text=redact(note)))
            return self._load_job(conn, row.id)

    def _interrupted_before_start(self, conn: Connection, row: Row[Any], now: datetime,
                                  actor: str) -> Job:
        """A job whose creating run died before starting it: it touched nothing; it ends
        interrupted (retry makes a new job) with every device not started, and anything
        recorded under it is released."""
        why = (f"interrupted before it started: run {row.owner} created the job and stopped "
               "before starting it (killed or crashed); no device was touched")
        conn.execute(update(t.job_devices).where(
            t.job_devices.c.job_id == row.id,
            t.job_devices.c.status == JobDeviceStatus.PENDING.value)
            .values(status=JobDeviceStatus.ABORTED.value, finished_at=now,
                    message=redact(f"not started: {why}")))
        self._transition(conn, row, JobStatus.INTERRUPTED, actor, why, now,
                         heartbeat_expires_at=None)
        conn.execute(delete(t.device_leases).where(t.device_leases.c.job_id == row.id))
        conn.execute(t.commentary.insert().values(job_id=row.id, device=None, at=now,
                                                  text=redact(why)))
        return self._load_job(conn, row.id)

    # -- transcript and commentary

    def append_transcript(self, job_id: int, lines: Sequence[TranscriptLine]) -> int:
        """Append many lines in one transaction (one INSERT of many rows); returns the count."""
        if not lines:
            return 0
        with self._tx() as conn:
            now = self._now(conn)
            conn.execute(t.transcript.insert(), [
                {"job_id": job_id, "device": ln.device, "member": ln.member,
                 "at": ln.at or now, "kind": TranscriptKind(ln.kind).value,
                 "text": redact(ln.text)} for ln in lines])
        return len(lines)

    def transcript(self, job_id: int, device: str | None = None, *, after_id: int = 0,
                   limit: int | None = None) -> list[TranscriptEntry]:
        q = select(t.transcript).where(t.transcript.c.job_id == job_id,
                                       t.transcript.c.id > after_id)
        if device is not None:
            q = q.where(t.transcript.c.device == device)
        q = q.order_by(t.transcript.c.id).limit(limit)
        with self._tx(write=False) as conn:
            rows = conn.execute(q).all()
        return [TranscriptEntry(id=r.id, job_id=r.job_id, device=r.device, member=r.member,
                                at=r.at, kind=TranscriptKind(r.kind), text=r.text) for r in rows]

    def add_commentary(self, job_id: int, text: str, *, device: str | None = None) -> None:
        with self._tx() as conn:
            conn.execute(t.commentary.insert().values(job_id=job_id, device=device,
                                                      at=self._now(conn), text=redact(text)))

    def commentary(self, job_id: int, device: str | None = None, *,
                   after_id: int = 0) -> list[CommentaryEntry]:
        q = select(t.commentary).where(t.commentary.c.job_id == job_id,
                                       t.commentary.c.id > after_id)
        if device is not None:
            q = q.where(t.commentary.c.device == device)
        with self._tx(write=False) as conn:
            rows = conn.execute(q.order_by(t.commentary.c.id)).all()
        return [CommentaryEntry(id=r.id, job_id=r.job_id, device=r.device, at=r.at, text=r.text)
                for r in rows]

    # -- purge

    def purge_jobs(self, older_than_days: float) -> list[str]:
        """Delete finished jobs (and their records) that ended more than N days ago; jobs that
        have not finished are never purged. Returns the names purged."""
        if older_than_days < 0:
            raise PermanentError(f"purge age must be zero or more days, not {older_than_days}")
        with self._tx() as conn:
            cutoff = self._now(conn) - timedelta(days=older_than_days)
            ended = func.coalesce(t.jobs.c.finished_at, t.jobs.c.updated_at)
            return sorted(conn.execute(delete(t.jobs).where(
                t.jobs.c.status.in_([s.value for s in JobStatus if s.is_terminal]),
                ended < cutoff).returning(t.jobs.c.name)).scalars())

    # ------------------------------------------------------------------ device states

    def get_device_state(self, device: str) -> DeviceStateRecord:
        """The recorded state; a device never recorded is operational."""
        with self._tx(write=False) as conn:
            row = conn.execute(select(t.device_states)
                               .where(t.device_states.c.device == device)).first()
        return _state(row) if row else _default_state(device)

    def device_states(self, devices: Iterable[str] | None = None) -> dict[str, DeviceStateRecord]:
        """Recorded states; with `devices`, every one of them (defaults for unrecorded ones)."""
        q = select(t.device_states)
        wanted = None if devices is None else list(devices)
        if wanted is not None:
            q = q.where(t.device_states.c.device.in_(wanted))
        with self._tx(write=False) as conn:
            found = {r.device: _state(r) for r in conn.execute(q)}
        if wanted is not None:
            for d in wanted:
                found.setdefault(d, _default_state(d))
        return dict(sorted(found.items()))

    def set_device_state(self, device: str, state: DeviceState, *, actor: str,
                         reason: str = "", job_id: int | None = None,
                         expected: DeviceState | None = None) -> DeviceStateRecord:
        """Change a device's state, recording the transition. `expected` makes it a
        compare-and-set: refused (ConflictError) when the device is in another state."""
        state = DeviceState(state)
        with self._tx() as conn:
            now = self._now(conn)
            row = conn.execute(select(t.device_states).where(t.device_states.c.device == device)
                               .with_for_update()).first()
            current = DeviceState(row.state) if row else DeviceState.OPERATIONAL
            if expected is not None and current is not DeviceState(expected):
                raise ConflictError(f"device {device} is {current}, not {expected}",
                                    device=device, hint="re-discover and plan again")
            if state is current:
                return _state(row) if row else _default_state(device)
            if state not in DEVICE_STATE_TRANSITIONS[current]:
                raise IllegalTransitionError(
                    f"device {device} is {current}; it cannot become {state}", device=device,
                    hint="fix the device, then `reconciler device mark-operational "
                         f"{device}`" if state is DeviceState.UPGRADE_IN_PROGRESS else None)
            reason = redact(reason)
            values = {"state": state.value, "reason": reason, "job_id": job_id,
                      "actor": actor, "updated_at": now}
            if row:
                conn.execute(update(t.device_states).where(t.device_states.c.device == device)
                             .values(**values))
            else:
                conn.execute(t.device_states.insert().values(device=device, **values))
            conn.execute(t.device_state_history.insert().values(
                device=device, at=now, from_state=current.value, to_state=state.value,
                reason=reason, job_id=job_id, actor=actor))
            return DeviceStateRecord(device=device, state=state, reason=reason,
                                     job_id=job_id, actor=actor, updated_at=now)

    def device_state_history(self, device: str | None = None, *, job_id: int | None = None,
                             limit: int | None = None) -> list[DeviceStateChange]:
        """Oldest first."""
        h = t.device_state_history
        q = select(h)
        if device is not None:
            q = q.where(h.c.device == device)
        if job_id is not None:
            q = q.where(h.c.job_id == job_id)
        with self._tx(write=False) as conn:
            rows = conn.execute(q.order_by(h.c.id.desc()).limit(limit)).all()
        return [DeviceStateChange(id=r.id, device=r.device, at=r.at,
                                  from_state=DeviceState(r.from_state),
                                  to_state=DeviceState(r.to_state), reason=r.reason,
                                  job_id=r.job_id, actor=r.actor) for r in reversed(rows)]

    # ------------------------------------------------------------------ leases

    def acquire(self, device: str, owner: str, ttl: float, *,
                job_id: int | None = None) -> Lease | None:
        """Lock `device` for `owner` for `ttl` seconds. None when someone else holds a live
        lease. Acquiring a lease you already hold renews it."""
        return self.acquire_many([device], owner, ttl, job_id=job_id).get(device)

    def acquire_many(self, devices: Iterable[str], owner: str, ttl: float, *,
                     job_id: int | None = None) -> dict[str, Lease]:
        """Lock as many of `devices` as are free, in one transaction; returns those won.

        Devices are claimed in sorted order, so two runners claiming overlapping sets cannot
        deadlock each other on PostgreSQL.
        """
        _check_ttl(ttl)
        won: dict[str, Lease] = {}
        with self._tx() as conn:
            now = self._now(conn)
            params = {"owner": owner, "job_id": job_id, "now": now,
                      "until": now + timedelta(seconds=ttl)}
            stmt = self._claim_stmt()
            for device in sorted(set(devices)):
                row = conn.execute(stmt, {**params, "device": device}).first()
                if row is not None:
                    won[device] = _lease(row)
        return won

    def _claim_stmt(self) -> Any:
        """The lease upsert, built once: taken when free, expired or already mine."""
        if self._claim is None:
            L = t.device_leases
            ins = self._insert(L).values(
                device=bindparam("device", type_=L.c.device.type),
                owner=bindparam("owner", type_=L.c.owner.type),
                job_id=bindparam("job_id", type_=L.c.job_id.type),
                acquired_at=bindparam("now", type_=t.UTCDateTime),
                renewed_at=bindparam("now", type_=t.UTCDateTime),
                expires_at=bindparam("until", type_=t.UTCDateTime), generation=1)
            mine = L.c.owner == ins.excluded.owner
            self._claim = ins.on_conflict_do_update(
                index_elements=[L.c.device],
                set_={"owner": ins.excluded.owner,
                      "job_id": func.coalesce(ins.excluded.job_id, case((mine, L.c.job_id))),
                      "acquired_at": case((mine, L.c.acquired_at),
                                          else_=ins.excluded.acquired_at),
                      "renewed_at": ins.excluded.renewed_at,
                      "expires_at": ins.excluded.expires_at,
                      "generation": case((mine, L.c.generation), else_=L.c.generation + 1)},
                where=or_(mine, L.c.expires_at <= ins.excluded.acquired_at),
            ).returning(*L.c)
        return self._claim

    def renew(self, device: str, owner: str, ttl: float) -> Lease | None:
        """Extend `owner`'s lease by `ttl` seconds from now; None when it is no longer yours."""
        _check_ttl(ttl)
        with self._tx() as conn:
            now = self._now(conn)
            row = conn.execute(update(t.device_leases).where(
                t.device_leases.c.device == device, t.device_leases.c.owner == owner)
                .values(expires_at=now + timedelta(seconds=ttl), renewed_at=now)
                .returning(*t.device_leases.c)).first()
        return _lease(row) if row else None

    def release(self, device: str, owner: str) -> bool:
        """Give the lease back; False when `owner` did not hold it (any more)."""
        with self._tx() as conn:
            res = conn.execute(delete(t.device_leases).where(
                t.device_leases.c.device == device, t.device_leases.c.owner == owner))
            return res.rowcount == 1

    def release_all(self, owner: str) -> list[str]:
        """Release every lease of `owner` (clean shutdown); returns the devices."""
        with self._tx() as conn:
            return sorted(conn.execute(delete(t.device_leases).where(
                t.device_leases.c.owner == owner).returning(t.device_leases.c.device)).scalars())

    def lease(self, device: str) -> Lease | None:
        """The live lease on `device`, if any."""
        with self._tx(write=False) as conn:
            now = self._now(conn)
            row = conn.execute(select(t.device_leases).where(
                t.device_leases.c.device == device, t.device_leases.c.expires_at > now)).first()
        return _lease(row) if row else None

    def leases(self, owner: str | None = None) -> list[Lease]:
        """Live leases (of `owner`, or everyone's), by device."""
        with self._tx(write=False) as conn:
            now = self._now(conn)
            q = select(t.device_leases).where(t.device_leases.c.expires_at > now)
            if owner is not None:
                q = q.where(t.device_leases.c.owner == owner)
            rows = conn.execute(q.order_by(t.device_leases.c.device)).all()
        return [_lease(r) for r in rows]

    def expire_leases(self) -> list[Lease]:
        """Delete leases whose time ran out (their runners died or hung); returns them.
        Not needed for correctness — an expired lease can be taken over anyway — but it keeps
        `leases()` and `state show` honest and names dead runners for the log."""
        with self._tx() as conn:
            now = self._now(conn)
            rows = conn.execute(delete(t.device_leases).where(
                t.device_leases.c.expires_at <= now).returning(*t.device_leases.c)).all()
        return sorted((_lease(r) for r in rows), key=lambda x: x.device)

    # ------------------------------------------------------------------ attempt counters

    def record_attempt(self, device: str, target: str, *,
                       job_id: int | None = None) -> AttemptCounter:
        """Count one more upgrade of `device` towards `target` (e.g. the desired images as a
        stable string). A different target starts counting from 1 again."""
        A = t.device_attempts
        with self._tx() as conn:
            now = self._now(conn)
            ins = self._insert(A).values(device=device, target=target, count=1, first_at=now,
                                         last_at=now, last_job_id=job_id)
            same = A.c.target == ins.excluded.target
            row = conn.execute(ins.on_conflict_do_update(
                index_elements=[A.c.device],
                set_={"target": ins.excluded.target,
                      "count": case((same, A.c.count + 1), else_=1),
                      "first_at": case((same, A.c.first_at), else_=ins.excluded.first_at),
                      "last_at": ins.excluded.last_at, "last_job_id": ins.excluded.last_job_id},
            ).returning(*A.c)).one()
        return _attempts(row)

    def get_attempts(self, device: str) -> AttemptCounter | None:
        with self._tx(write=False) as conn:
            row = conn.execute(select(t.device_attempts)
                               .where(t.device_attempts.c.device == device)).first()
        return _attempts(row) if row else None

    def attempt_counters(self) -> list[AttemptCounter]:
        with self._tx(write=False) as conn:
            rows = conn.execute(select(t.device_attempts)
                                .order_by(t.device_attempts.c.device)).all()
        return [_attempts(r) for r in rows]

    def reset_attempts(self, device: str) -> bool:
        """Forget the counter (the device converged, or an operator cleared NOT_CONVERGING)."""
        with self._tx() as conn:
            return conn.execute(delete(t.device_attempts).where(
                t.device_attempts.c.device == device)).rowcount == 1

    # ------------------------------------------------------------------ metadata

    def set_meta(self, key: str, value: Any) -> None:
        """Store a small JSON value under `key` (last writer wins)."""
        with self._tx() as conn:
            self._set_meta(conn, key, value, self._now(conn))

    def _set_meta(self, conn: Connection, key: str, value: Any, now: datetime) -> None:
        M = t.store_meta
        ins = self._insert(M).values(key=key, value=value, updated_at=now)
        conn.execute(ins.on_conflict_do_update(
            index_elements=[M.c.key],
            set_={"value": ins.excluded.value, "updated_at": ins.excluded.updated_at}))

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._tx(write=False) as conn:
            row = conn.execute(select(t.store_meta.c.value)
                               .where(t.store_meta.c.key == key)).first()
        return default if row is None else row.value

    def record_sync(self, commit: str, *, branch: str) -> SyncRecord:
        """Remember the last desired-state commit fully reconciled on `branch`."""
        with self._tx() as conn:
            now = self._now(conn)
            self._set_meta(conn, _sync_key(branch), {"commit": commit, "at": now.isoformat()},
                           now)
        return SyncRecord(branch=branch, commit=commit, at=now)

    def last_sync(self, branch: str) -> SyncRecord | None:
        value = self.get_meta(_sync_key(branch))
        return _sync(branch, value) if value else None

    def last_syncs(self) -> list[SyncRecord]:
        with self._tx(write=False) as conn:
            rows = conn.execute(select(t.store_meta).where(t.store_meta.c.key.like("sync:%"))
                                .order_by(t.store_meta.c.key)).all()
        return [_sync(r.key.removeprefix("sync:"), r.value) for r in rows]

    # -- cluster membership (reconciler.core.membership: a listing omits a reloading unit)

    def cluster_units(self, devices: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
        """Per cluster device, every unit discovery has seen in it (and no operator forgot)."""
        # one row per cluster (few): read them all rather than bind thousands of names
        with self._tx(write=False) as conn:
            rows = conn.execute(select(t.store_meta).where(
                t.store_meta.c.key.like(f"{_UNITS}%"))).all()
        wanted = None if devices is None else set(devices)
        out = {r.key.removeprefix(_UNITS): tuple(r.value) for r in rows
               if isinstance(r.value, list) and r.value}
        return {d: u for d, u in sorted(out.items()) if wanted is None or d in wanted}

    def remember_cluster_units(self, device: str, units: Iterable[str]) -> None:
        """Record the units of cluster `device`; an empty list forgets the device."""
        names = sorted(set(units))
        with self._tx() as conn:
            if names:
                self._set_meta(conn, _UNITS + device, names, self._now(conn))
            else:
                conn.execute(delete(t.store_meta).where(t.store_meta.c.key == _UNITS + device))

    def forget_cluster_unit(self, device: str, unit: str) -> tuple[str, ...] | None:
        """Drop `unit` from what is known of cluster `device` (it left the cluster for good).
        Returns the units still known, or None when `unit` was not known."""
        with self._tx() as conn:
            row = conn.execute(select(t.store_meta.c.value).where(
                t.store_meta.c.key == _UNITS + device)).first()
            known = list(row.value) if row is not None and isinstance(row.value, list) else []
            if unit not in known:
                return None
            left = sorted(u for u in known if u != unit)
            if left:
                self._set_meta(conn, _UNITS + device, left, self._now(conn))
            else:
                conn.execute(delete(t.store_meta).where(t.store_meta.c.key == _UNITS + device))
            return tuple(left)

    # ------------------------------------------------------------------ overview

    def info(self) -> StoreInfo:
        with self._tx(write=False) as conn:
            version = t.current_version(conn)
            if version < t.LATEST_VERSION:
                return StoreInfo(self.backend, self.url, version, t.LATEST_VERSION, {}, 0, {}, ())
            now = self._now(conn)
            by_status = {s: n for s, n in conn.execute(
                select(t.jobs.c.status, func.count()).group_by(t.jobs.c.status)).all()}
            active = conn.execute(select(func.count()).select_from(t.device_leases)
                                  .where(t.device_leases.c.expires_at > now)).scalar_one()
            odd = {r.device: r.state for r in conn.execute(
                select(t.device_states.c.device, t.device_states.c.state)
                .where(t.device_states.c.state != DeviceState.OPERATIONAL.value)
                .order_by(t.device_states.c.device))}
        return StoreInfo(self.backend, self.url, version, t.LATEST_VERSION,
                         dict(sorted(by_status.items())), active, odd, tuple(self.last_syncs()))

    # ------------------------------------------------------------------ helpers

    def _job_row(self, conn: Connection, ref: int | str, *, lock: bool = False) -> Row[Any]:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            q = select(t.jobs).where(t.jobs.c.id == int(ref))
        else:
            q = select(t.jobs).where(t.jobs.c.name == ref)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise NotFoundError(f"no job {ref!r}", hint="`reconciler jobs list` shows the jobs")
        return row

    def _summaries(self, conn: Connection, ids: Sequence[int]) -> dict[int, JobSummary]:
        if not ids:
            return {}
        counts: dict[int, dict[JobDeviceStatus, int]] = {}
        for job_id, status, n in conn.execute(
                select(t.job_devices.c.job_id, t.job_devices.c.status, func.count())
                .where(t.job_devices.c.job_id.in_(list(ids)))
                .group_by(t.job_devices.c.job_id, t.job_devices.c.status)):
            counts.setdefault(job_id, {})[JobDeviceStatus(status)] = n
        return {j: JobSummary.from_counts(c) for j, c in counts.items()}

    def _job_from_row(self, conn: Connection, row: Row[Any]) -> Job:
        return _job(row, self._summaries(conn, [row.id]).get(row.id, JobSummary()))

    def _load_job(self, conn: Connection, job_id: int) -> Job:
        return self._job_from_row(conn, self._job_row(conn, job_id))


# ---------------------------------------------------------------------- module helpers

def translate_db_error(e: exc.DBAPIError, where: str) -> ReconcilerError:
    """One clear line for a database failure, classified temporary or permanent."""
    detail = " ".join(str(e.orig).split()) if e.orig is not None else str(e)
    detail = redact(detail)
    low = detail.lower()
    if "no such table" in low or ("relation" in low and "does not exist" in low):
        return SchemaVersionError(f"the state store {where} has no reconciler schema ({detail})",
                                  hint=f"run `reconciler state migrate --state {where}`")
    if isinstance(e, exc.IntegrityError):
        return ConflictError(f"the state store {where} refused the change: {detail}")
    if "unable to open database file" in low or "readonly database" in low:
        return StoreUnavailableError(f"cannot write the state store {where}: {detail}",
                                     hint="check the path and its permissions")
    if isinstance(e, (exc.OperationalError, exc.InterfaceError)):
        hint = ("another process holds the database; retry" if "locked" in low else
                "check that the server runs and the --state URL is right")
        return StoreUnavailableError(f"cannot use the state store {where}: {detail}", hint=hint)
    return PermanentError(f"state store {where}: {detail}")


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise PermanentError(f"a lease/heartbeat time must be positive, not {ttl}")


def _runner_dead(row: Row[Any], now: datetime) -> bool:
    expired = row.heartbeat_expires_at is None or row.heartbeat_expires_at <= now
    return expired or owner_alive(row.owner) is False


def _outcome(counts: Mapping[JobDeviceStatus, int], abort_requested: bool) -> JobStatus:
    bad = sum(counts.get(s, 0) for s in (JobDeviceStatus.FAILED, JobDeviceStatus.INTERRUPTED,
                                         JobDeviceStatus.SKIPPED))
    if bad:
        return JobStatus.FAILED
    if counts.get(JobDeviceStatus.ABORTED, 0):
        return JobStatus.ABORTED if abort_requested else JobStatus.FAILED
    return JobStatus.DEPLOYED


def _transition_hint(frm: JobStatus, to: JobStatus) -> str:
    if frm.is_terminal:
        return "a finished job never changes; retry or roll back creates a new job"
    allowed = ", ".join(sorted(JOB_TRANSITIONS[frm])) or "nothing"
    if frm is JobStatus.SUBMITTED and to in (JobStatus.DEPLOYING, JobStatus.SCHEDULED):
        return "the job waits for an approver"
    if frm is JobStatus.DEPLOYING:
        return "a deploying job ends as deployed, failed, aborted or interrupted"
    return f"from {frm} it can become: {allowed}"


def _job(r: Row[Any], summary: JobSummary) -> Job:
    return Job(
        id=r.id, name=r.name, description=r.description, ticket_id=r.ticket_id, commit=r.commit,
        plan_fingerprint=r.plan_fingerprint, properties=JobProperties.from_dict(r.properties),
        status=JobStatus(r.status), approval_required=r.approval_required,
        allow_self_approval=r.allow_self_approval, created_by=r.created_by,
        submitted_by=r.submitted_by, approved_by=r.approved_by, created_at=r.created_at,
        updated_at=r.updated_at, scheduled_at=r.scheduled_at, started_at=r.started_at,
        finished_at=r.finished_at, owner=r.owner, heartbeat_expires_at=r.heartbeat_expires_at,
        abort_requested_at=r.abort_requested_at, abort_requested_by=r.abort_requested_by,
        retry_of=r.retry_of, rollback_of=r.rollback_of, summary=summary)


def _job_device(r: Row[Any]) -> JobDevice:
    return JobDevice(job_id=r.job_id, device=r.device, seq=r.seq,
                     status=JobDeviceStatus(r.status), old_images=dict(r.old_images),
                     new_images=dict(r.new_images), started_at=r.started_at,
                     finished_at=r.finished_at, message=r.message)


def _state(r: Row[Any]) -> DeviceStateRecord:
    return DeviceStateRecord(device=r.device, state=DeviceState(r.state), reason=r.reason,
                             job_id=r.job_id, actor=r.actor, updated_at=r.updated_at)


def _default_state(device: str) -> DeviceStateRecord:
    return DeviceStateRecord(device=device, state=DeviceState.OPERATIONAL, reason="",
                             job_id=None, actor="", updated_at=None)


def _lease(r: Row[Any]) -> Lease:
    return Lease(device=r.device, owner=r.owner, job_id=r.job_id, acquired_at=r.acquired_at,
                 expires_at=r.expires_at, generation=r.generation)


def _attempts(r: Row[Any]) -> AttemptCounter:
    # A column named `count` clashes with the tuple method of the same name; read it by key.
    return AttemptCounter(device=r.device, target=r.target, count=r._mapping["count"],
                          first_at=r.first_at, last_at=r.last_at, last_job_id=r.last_job_id)


def _sync_key(branch: str) -> str:
    return f"sync:{branch}"


def _sync(branch: str, value: Mapping[str, Any]) -> SyncRecord:
    return SyncRecord(branch=branch, commit=value["commit"],
                      at=datetime.fromisoformat(value["at"]))
