"""Fleet-wide invariants checked after every fault and every kill."""

from __future__ import annotations

from reconciler.core.model import DeviceState
from reconciler.store import JobDeviceStatus, JobStatus, Store

_LIVE_JOB = {JobStatus.DEPLOYING, JobStatus.INTERRUPTED}
_LIVE_DEVICE = {JobDeviceStatus.RUNNING, JobDeviceStatus.INTERRUPTED}


def unexplained_in_progress(store: Store) -> list[str]:
    """Devices that are upgrade-in-progress without a running or interrupted job that holds
    them running/interrupted (nothing would ever settle them): must always be empty."""
    bad = []
    for name, rec in store.device_states().items():
        if rec.state is not DeviceState.UPGRADE_IN_PROGRESS:
            continue
        job = store.get_job(rec.job_id) if rec.job_id is not None else None
        ok = job is not None and job.status in _LIVE_JOB and any(
            d.device == name and d.status in _LIVE_DEVICE for d in store.job_devices(job.id))
        if not ok:
            bad.append(f"{name} (job {rec.job_id}: {job.status if job else 'none'})")
    return bad
