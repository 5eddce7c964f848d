"""Real processes racing for the same devices, and a runner killed with SIGKILL mid-job."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import store_workers
from reconciler.core.model import DeviceState
from reconciler.store import JobDeviceSpec, JobDeviceStatus, JobStatus, new_owner_id

ctx = multiprocessing.get_context("spawn")
DEVICES = [f"fw-{i:02d}" for i in range(6)]


def _run(target, args_list):
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    return procs


def _join(procs, timeout=120):
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0, f"worker {p.pid} exited with {p.exitcode}"


def test_racing_processes_each_device_won_by_exactly_one(store, state_url):
    n = 5
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = _run(store_workers.race_once, [(state_url, DEVICES, barrier, results)] * n)
    outcomes = [results.get(timeout=120) for _ in range(n)]
    _join(procs)
    winners: dict[str, list[str]] = defaultdict(list)
    for owner, won in outcomes:
        for device in won:
            winners[device].append(owner)
    assert sorted(winners) == DEVICES, "every device is locked by someone"
    assert all(len(w) == 1 for w in winners.values()), winners
    held = {x.device: x.owner for x in store.leases()}
    assert held == {d: w[0] for d, w in winners.items()}


def test_holders_never_overlap_on_one_device(store, state_url):
    n, rounds = 4, 40
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = _run(store_workers.hold_and_release,
                 [(state_url, DEVICES[:2], rounds, barrier, results)] * n)
    intervals = [iv for _ in range(n) for iv in results.get(timeout=120)]
    _join(procs)
    owners = {owner for _, owner, _, _ in intervals}
    assert len(owners) > 1, "the race needs more than one winner to mean anything"
    by_device: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for device, owner, start, end in intervals:
        by_device[device].append((start, end, owner))
    for device, spans in by_device.items():
        spans.sort()
        for (s1, e1, o1), (s2, e2, o2) in zip(spans, spans[1:]):
            assert e1 <= s2, f"{device}: {o1} held it until {e1}, but {o2} got it at {s2}"
    assert store.leases() == []


def test_killed_runner_is_found_at_once_on_the_same_host(store, state_url):
    ready = ctx.Queue()
    child = ctx.Process(target=store_workers.crash_mid_job, args=(state_url, None, 300, ready))
    child.start()
    job_id, owner, pid = ready.get(timeout=120)
    assert [j.id for j in store.find_interrupted_jobs()] == []  # alive: not interrupted
    os.kill(pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL

    # The lease (300 s) has not expired, but this host can see the process is gone.
    found = store.find_interrupted_jobs()
    assert [j.id for j in found] == [job_id]
    _recover_and_check(store, job_id, owner)


def test_killed_runner_on_another_host_is_found_after_its_lease_expires(store, state_url):
    ttl = 2.0
    owner = f"elsewhere.example:{os.getpid()}:deadbeef"  # liveness unknowable from here
    ready = ctx.Queue()
    child = ctx.Process(target=store_workers.crash_mid_job, args=(state_url, owner, ttl, ready))
    child.start()
    job_id, owner, pid = ready.get(timeout=120)
    os.kill(pid, signal.SIGKILL)
    child.join(30)
    killed_at = time.monotonic()

    if time.monotonic() - killed_at < ttl / 2:
        assert store.find_interrupted_jobs() == []
        assert store.mark_interrupted(job_id, actor="me") is None  # still looks alive
        assert store.acquire("fw-a", new_owner_id(), ttl=10) is None
    deadline = time.monotonic() + 30
    while not store.find_interrupted_jobs():
        assert time.monotonic() < deadline, "the dead runner's job was never found"
        time.sleep(0.1)
    assert [j.id for j in store.find_interrupted_jobs()] == [job_id]
    _recover_and_check(store, job_id, owner)


def _recover_and_check(store, job_id, dead_owner):
    me = new_owner_id()
    job = store.mark_interrupted(job_id, actor=me)
    assert job is not None and job.status is JobStatus.INTERRUPTED
    assert job.finished_at is not None
    assert store.mark_interrupted(job_id, actor=me) is None  # a second recoverer does nothing
    devices = {d.device: d for d in store.job_devices(job_id)}
    assert {d.status for d in devices.values()} == {JobDeviceStatus.INTERRUPTED}
    # The dead runner's leases are gone, so the recovering run can lock and re-discover.
    assert store.leases(owner=dead_owner) == []
    assert set(store.acquire_many(["fw-a", "fw-b"], me, ttl=30)) == {"fw-a", "fw-b"}
    # The device it was upgrading keeps its state until re-discovery settles it.
    assert store.get_device_state("fw-a").state is DeviceState.UPGRADE_IN_PROGRESS
    assert store.get_device_state("fw-b").state is DeviceState.OPERATIONAL
    notes = [c.text for c in store.commentary(job_id)]
    assert any("re-discover" in n and "fw-a" in n and "fw-b" in n for n in notes), notes
    history = store.job_history(job_id)
    assert history[-1].from_status is JobStatus.DEPLOYING
    assert history[-1].to_status is JobStatus.INTERRUPTED
    assert store.find_interrupted_jobs() == []


def test_threads_racing_in_one_process(store):
    """Runners in threads of one process (the daemon's worker pool) race the same way."""
    start = threading.Barrier(8)

    def grab(i: int):
        me = f"{socket.gethostname()}:{os.getpid()}:thread{i}"
        start.wait()
        return me, sorted(store.acquire_many(DEVICES, me, ttl=60))

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(grab, range(8)))
    winners = defaultdict(list)
    for owner, won in outcomes:
        for d in won:
            winners[d].append(owner)
    assert sorted(winners) == DEVICES and all(len(w) == 1 for w in winners.values())


def test_concurrent_creators_get_distinct_default_names(store):
    start = threading.Barrier(6)

    def create(_):
        start.wait()
        return store.create_job([JobDeviceSpec("fw1")], created_by="ci").name

    with ThreadPoolExecutor(6) as pool:
        names = list(pool.map(create, range(6)))
    assert len(set(names)) == 6, names
