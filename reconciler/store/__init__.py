"""Durable state: jobs, device states, leases, attempt counters (SQLite or PostgreSQL).

`open_store(url_or_path)` returns a `Store`; the values it returns live in `models`.
"""

from reconciler.store.api import Store
from reconciler.store.models import (AttemptCounter, CommentaryEntry, DeviceStateChange,
                                     DeviceStateRecord, Heartbeat, Job, JobDevice, JobDeviceSpec,
                                     JobDeviceStatus, JobHistoryEntry, JobProperties, JobStatus,
                                     JobSummary, Lease, MigrationResult, StoreInfo, SyncRecord,
                                     TranscriptEntry, TranscriptKind, TranscriptLine)
from reconciler.store.owners import new_owner_id, owner_alive, retire_owner_id
from reconciler.store.url import connect_store, open_store

__all__ = [
    "AttemptCounter", "CommentaryEntry", "DeviceStateChange", "DeviceStateRecord", "Heartbeat",
    "Job", "JobDevice", "JobDeviceSpec", "JobDeviceStatus", "JobHistoryEntry", "JobProperties",
    "JobStatus", "JobSummary", "Lease", "MigrationResult", "Store", "StoreInfo", "SyncRecord",
    "TranscriptEntry", "TranscriptKind", "TranscriptLine", "connect_store", "new_owner_id",
    "open_store", "owner_alive", "retire_owner_id",
]
