"""Code that runs in child processes (multiprocessing "spawn"), so it lives in a module the
children can import. Every child opens its own Store from the URL, like a separate runner."""

from __future__ import annotations

import os
import random
import time
from typing import Any

from reconciler.core.model import DeviceState
from reconciler.store import (JobDeviceSpec, JobDeviceStatus, new_owner_id, open_store)


def race_once(url: str, devices: list[str], barrier: Any, results: Any) -> None:
    """Wait for everyone, then try to lock all `devices` in one go (in a shuffled order)."""
    store = open_store(url, migrate=False)
    me = new_owner_id()
    order = devices[:]
    random.shuffle(order)
    barrier.wait()
    won = store.acquire_many(order, me, ttl=60)
    results.put((me, sorted(won)))
    store.close()


def hold_and_release(url: str, devices: list[str], rounds: int, barrier: Any,
                     results: Any) -> None:
    """Repeatedly lock a random device, hold it briefly, release it; report every holding
    interval so the parent can check that no two holders overlapped."""
    store = open_store(url, migrate=False)
    me = new_owner_id()
    rng = random.Random(os.getpid())
    intervals: list[tuple[str, str, float, float]] = []
    barrier.wait()
    for _ in range(rounds):
        device = rng.choice(devices)
        lease = store.acquire(device, me, ttl=30)
        if lease is None:
            continue
        start = time.time()
        time.sleep(rng.uniform(0.001, 0.01))
        end = time.time()
        assert store.release(device, me)
        intervals.append((device, me, start, end))
    results.put(intervals)
    store.close()


def crash_mid_job(url: str, owner: str | None, ttl: float, ready: Any) -> None:
    """Start a job, lock its devices, begin upgrading one, tell the parent, then hang until
    killed with SIGKILL (nothing gets a chance to clean up)."""
    store = open_store(url, migrate=False)
    owner = owner or new_owner_id()
    job = store.create_job([JobDeviceSpec("fw-a", {"asa": "asa915.bin"}, {"asa": "asa9181.bin"}),
                            JobDeviceSpec("fw-b", {"asa": "asa915.bin"}, {"asa": "asa9181.bin"})],
                           created_by="crasher")
    store.start_job(job.id, owner=owner, ttl=ttl)
    assert set(store.acquire_many(["fw-a", "fw-b"], owner, ttl=ttl, job_id=job.id)) == {
        "fw-a", "fw-b"}
    store.set_job_device_status(job.id, "fw-a", JobDeviceStatus.RUNNING)
    store.set_device_state("fw-a", DeviceState.UPGRADE_IN_PROGRESS, actor=owner, job_id=job.id)
    store.add_commentary(job.id, "copying asa9181.bin to disk0:", device="fw-a")
    ready.put((job.id, owner, os.getpid()))
    while True:
        time.sleep(1)
