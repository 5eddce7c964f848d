"""Tables of the state store (SQLAlchemy Core) and the migrations that create and upgrade them.

One schema serves SQLite and PostgreSQL. Times are stored in UTC (`UTCDateTime`): SQLite keeps
them as ISO text, which orders correctly; PostgreSQL as timestamptz. The schema version lives in
`store_schema_version`, one row per applied step. Migration steps are an ordered list; each is
idempotent (it checks before it creates), and `migrate()` runs the missing ones in one
transaction, serialised between concurrent migrators (advisory lock on PostgreSQL, BEGIN
IMMEDIATE on SQLite), so two daemons starting together cannot both upgrade the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Connection, DateTime, Engine,
                        ForeignKey, Index, Integer, MetaData, String, Table, Text, func, inspect,
                        select, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from reconciler.store.models import MigrationResult


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on both backends."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A growing id: BIGINT on PostgreSQL, INTEGER PRIMARY KEY (the rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Name = String(255)

metadata = MetaData()

schema_version = Table(
    "store_schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

# ---- version 1: jobs, device states, leases (issue #5) ----

jobs = Table(
    "jobs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", Name, nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("ticket_id", Name),
    Column("commit", String(64)),
    Column("plan_fingerprint", String(128)),
    Column("properties", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("approval_required", Boolean, nullable=False, default=False),
    Column("allow_self_approval", Boolean, nullable=False, default=False),
    Column("created_by", Name, nullable=False),
    Column("submitted_by", Name),
    Column("approved_by", Name),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("scheduled_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("owner", String(300)),
    Column("heartbeat_expires_at", UTCDateTime),
    Column("abort_requested_at", UTCDateTime),
    Column("abort_requested_by", Name),
    Column("retry_of", Id, ForeignKey("jobs.id", ondelete="SET NULL")),
    Column("rollback_of", Id, ForeignKey("jobs.id", ondelete="SET NULL")),
    Index("ix_jobs_status", "status"),
    Index("ix_jobs_ticket", "ticket_id"),
    Index("ix_jobs_created", "created_at"),
)

job_devices = Table(
    "job_devices", metadata,
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("device", Name, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("old_images", Json, nullable=False),
    Column("new_images", Json, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("message", Text, nullable=False, default=""),
    Index("ix_job_devices_device", "device"),
)

job_history = Table(
    "job_history", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("actor", Name, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Index("ix_job_history_job", "job_id", "id"),
)

transcript = Table(
    "transcript", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("device", Name, nullable=False),
    Column("member", Name),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_transcript_job_device", "job_id", "device", "id"),
)

commentary = Table(
    "commentary", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("device", Name),
    Column("at", UTCDateTime, nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_commentary_job", "job_id", "id"),
)

device_states = Table(
    "device_states", metadata,
    Column("device", Name, primary_key=True),
    Column("state", String(30), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL")),
    Column("actor", Name, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

device_state_history = Table(
    "device_state_history", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("device", Name, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_state", String(30), nullable=False),
    Column("to_state", String(30), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL")),
    Column("actor", Name, nullable=False),
    Index("ix_device_state_history_device", "device", "id"),
)

# The job id is informational only (no foreign key): a lease must survive the purge of an old
# job record, and locks for work outside a job (e.g. discovery) carry no job at all.
device_leases = Table(
    "device_leases", metadata,
    Column("device", Name, primary_key=True),
    Column("owner", String(300), nullable=False),
    Column("job_id", Id),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("renewed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("generation", BigInteger, nullable=False),
    Index("ix_device_leases_owner", "owner"),
    Index("ix_device_leases_expires", "expires_at"),
)

# ---- version 2: daemon bookkeeping (issue #6) ----

device_attempts = Table(
    "device_attempts", metadata,
    Column("device", Name, primary_key=True),
    Column("target", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("last_job_id", Id),
)

store_meta = Table(
    "store_meta", metadata,
    Column("key", Name, primary_key=True),
    Column("value", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Step:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _create(*tables: Table) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        metadata.create_all(conn, tables=list(tables), checkfirst=True)
    return run


STEPS: tuple[Step, ...] = (
    Step(1, "jobs, job records, device states and leases",
         _create(jobs, job_devices, job_history, transcript, commentary, device_states,
                 device_state_history, device_leases)),
    Step(2, "attempt counters and store metadata (daemon)", _create(device_attempts, store_meta)),
)
LATEST_VERSION = STEPS[-1].version

# Any constant shared by every migrator of one database; "reconcil" in ASCII.
_PG_MIGRATION_LOCK = 0x7265636F6E63696C


def current_version(conn: Connection) -> int:
    """The applied schema version; 0 for an empty database."""
    if not inspect(conn).has_table(schema_version.name):
        return 0
    return int(conn.execute(select(func.coalesce(func.max(schema_version.c.version), 0)))
               .scalar_one())


def migrate(engine: Engine, target: int | None = None) -> MigrationResult:
    """Bring the schema to `target` (default: the latest). Safe to run any number of times and
    from several processes at once."""
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"schema version {target} is unknown (latest is {LATEST_VERSION})")
    applied: list[str] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        schema_version.create(conn, checkfirst=True)
        before = current_version(conn)
        for step in STEPS:
            if before < step.version <= target:
                step.apply(conn)
                conn.execute(schema_version.insert().values(
                    version=step.version, name=step.name, applied_at=datetime.now(UTC)))
                applied.append(f"{step.version}: {step.name}")
    return MigrationResult(from_version=before, to_version=max(before, target),
                           applied=tuple(applied))
