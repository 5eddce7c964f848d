"""Crash safety: the apply process dies (kill -9) at random points of a job; the next run always
finds the interrupted job, re-discovers, and converges the fleet without reloading again a unit
that had already been reloaded into its target.

Two kinds of kill:
- in-process hard kills (always on, >= 50, seeded): the runner is stopped dead at the N-th
  "step" — a request to a simulated device or a statement to the state store — and from that
  instant nothing it does reaches either: every later request and every SQL statement raises
  (the open transaction is rolled back, as the OS would drop it), so no cleanup code can record
  anything, exactly as after SIGKILL; its process-local identity is dropped (as the pid dies).
  The simulator keeps running: a unit that was told to reload finishes booting.
- real SIGKILLs of `reconciler apply` subprocesses against a simulator subprocess
  (5 always on, 50 with RECONCILER_LONG_TESTS=1).
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from reconciler.core.model import DeviceState, TlsSettings
from reconciler.executor import JobRequest
from reconciler.sim.app import create_app
from reconciler.store import JobDeviceStatus, JobStatus, open_store
from reconciler.store import owners
from tests.executor.conftest import Lab, make_lab
from tests.reliability.conftest import long_only
from tests.reliability.invariants import unexplained_in_progress

# RECONCILER_CRASH_SEED replays the loop with another seed (a failure prints its kill points)
SEED = int(os.environ.get("RECONCILER_CRASH_SEED", "82026"))
# (devices, every unit's final release, reloads each unit needs in all: hops)
SUBSETS: list[tuple[list[str], dict[str, int]]] = [
    (["fw-branch-01", "ep-win-001"], {"fw-branch-01": 1}),
    (["fw-dc-cluster"], {"unit-1": 1, "unit-2": 1, "unit-3": 1, "unit-4": 1}),
    (["fw-branch-01", "fw-multi-01"], {"fw-branch-01": 1, "fw-multi-01": 1}),
]
PAIR = (["fw-dc-pair"], {"primary": 3, "secondary": 3})
TARGET = {"ep-win-001": "7.3.2.1006", "ep-lnx-001": "7.3.2.1006"}
KILLS = 50


class Killed(BaseException):
    """kill -9: not an Exception, so no `except Exception` cleanup path swallows it."""


class KillSwitch:
    """Counts the dying runner's steps; at `at` it dies, and stays dead."""

    def __init__(self, at: int) -> None:
        self.at, self.count, self.dead, self.where = at, 0, False, ""
        self.armed = False  # planning runs before the job exists; the kill lands in the job

    def tick(self, what: str) -> None:
        if not self.armed:
            return
        if self.dead:
            raise Killed("dead")
        self.count += 1
        if self.count >= self.at:
            self.dead, self.where = True, what
            raise Killed(what)


class KillTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, switch: KillSwitch) -> None:
        self.inner, self.switch = inner, switch

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.switch.tick(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)


_ARMED: list[KillSwitch] = []


@event.listens_for(Engine, "before_cursor_execute")
def _sql_step(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if _ARMED:
        _ARMED[0].tick(statement.split(None, 1)[0])


async def killed_run(lab: Lab, names: list[str], switch: KillSwitch) -> None:
    """An `apply` of `names` that dies at the switch's step (or finishes first)."""
    def factory(tls: TlsSettings, _: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=KillTransport(
            httpx.ASGITransport(app=create_app(lab.fleet)), switch))

    ws = dataclasses.replace(lab.workspace(), client_factory=factory)
    from reconciler.executor.session import Session

    desired = lab.desired()
    issued = set(owners._issued)
    # planning happens before the job exists: the kill lands in the job (as in the long loop)
    async with Session(ws, actor="doomed") as s:
        await s.recover(desired)
        saved, resolved = await s.plan(desired, names)
        job = s.create(saved, JobRequest(ignore_windows=True), resolved)
        _ARMED.append(switch)
        switch.armed = True
        try:
            await s.run(job, desired)
        except (Killed, Exception):
            if not switch.dead:
                raise
        finally:
            _ARMED.clear()
    # the process is gone: its runner identity with it
    with owners._issued_lock:
        owners._issued.intersection_update(issued)


def snapshot(lab: Lab, names: list[str]) -> dict[str, dict[str, Any]]:
    return {n: {u["name"]: (u["reloads"], u.get("running_version")) for u in lab.sim(n)["units"]}
            for n in names if "units" in lab.sim(n)}


async def one_kill(lab: Lab, names: list[str], hops: dict[str, int], at: int) -> KillSwitch:
    switch = KillSwitch(at)
    await killed_run(lab, names, switch)
    with open_store(lab.state) as store:
        left_behind = store.get_job(1).status  # what the dead run's record says
    # the next run: recovery first, then plan from fresh discovery and run what is left
    desired = lab.desired()
    async with lab.session("next-run") as s:
        report = await s.recover(desired)
        saved, resolved = await s.plan(desired, names)
        left = [d.device for d in saved.plan.devices if d.steps]
        result = None
        if left:
            job = s.create(saved, JobRequest(ignore_windows=True), resolved)
            result = await s.run(job, desired)
    # the dead run's job is found and marked interrupted, whether it had started it or only
    # created it (its start rolled back by the kill: nothing was touched, nothing left created)
    found = left_behind in (JobStatus.DEPLOYING, JobStatus.CREATED)
    assert [j.id for j in report.interrupted] == ([1] if found else []), \
        (switch.where, left_behind)
    with open_store(lab.state) as store:
        assert unexplained_in_progress(store) == []
        jobs = store.list_jobs()
        first = next(j for j in jobs if j.id == 1)
        assert first.status.is_terminal, (switch.where, first.status)
        if found:
            assert first.status is JobStatus.INTERRUPTED, (switch.where, first.status)
        if left_behind is JobStatus.CREATED:
            assert first.started_at is None and {d.status for d in store.job_devices(1)} == {
                JobDeviceStatus.ABORTED}, switch.where
        assert store.leases() == []
        states = {n: store.get_device_state(n).state for n in names}
    assert result is None or result.job.status is JobStatus.DEPLOYED, \
        (switch.where, result.outcomes)
    assert all(s in (DeviceState.OPERATIONAL, DeviceState.CONFIGURATION_REQUIRED)
               for s in states.values()), states
    # converged: every unit on target, nothing left to plan
    for n in names:
        for unit, version in lab.running(n).items() if "units" in lab.sim(n) else ():
            assert version == "9.4(1)", (switch.where, n, unit, version)
        if n in TARGET:
            assert lab.sim(n)["version"] == TARGET[n]
    again = await lab.replan(names)
    assert all(again.plan.device(n) is None or not again.plan.device(n).steps for n in names)
    # no double reload: every unit was reloaded exactly as often as its hops need
    reloads = {u: r for units in snapshot(lab, names).values() for u, (r, _) in units.items()}
    assert reloads == hops, (switch.where, reloads)
    return switch


async def crash_loop(tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch,
                     kills: int, subsets: list[tuple[list[str], dict[str, int]]]) -> list[str]:
    rng = random.Random(SEED)
    # a clean run of each subset measures how many steps a job takes
    lengths = []
    for i, (names, _) in enumerate(subsets):
        lab = make_lab(tmp_path / f"calib-{i}", images, monkeypatch, tmp_path / f"calib-{i}.db")
        switch = KillSwitch(10 ** 9)
        await killed_run(lab, names, switch)
        lengths.append(switch.count)
    where: list[str] = []
    landed = 0
    # Readiness polls make a job's step count vary with machine load, so a kill drawn against the
    # calibrated length can fall after the job's end; go on until `kills` kills really landed
    # inside a job (bounded), rather than counting draws.
    for k in range(kills * 2):
        if landed >= kills:
            break
        i = k % len(subsets)
        names, hops = subsets[i]
        at = rng.randint(1, max(1, int(lengths[i] * 0.95)))
        run = tmp_path / f"kill-{k}"
        lab = make_lab(run, images, monkeypatch, run / "state.db")
        switch = await one_kill(lab, names, hops, at)
        where.append(f"{'+'.join(names)}@{at}/{lengths[i]}:{switch.where if switch.dead else 'done'}")
        landed += switch.dead
    return where


async def test_fifty_seeded_hard_kills_always_recover_and_converge(
        tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = await crash_loop(tmp_path, images, monkeypatch, KILLS, SUBSETS)
    killed = [w for w in where if not w.endswith(":done")]
    assert len(killed) >= KILLS, where  # at least fifty kills landed inside a job
    # the kills land everywhere: in device traffic and in store writes
    assert any(":GET " in w or ":PUT " in w for w in killed)
    assert any(w.split(":")[-1] in ("INSERT", "UPDATE", "SELECT", "DELETE") for w in killed)


@long_only
async def test_hard_kills_long_loop_with_the_pair(
        tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await crash_loop(tmp_path, images, monkeypatch, 200, [*SUBSETS, PAIR])


# ---------------------------------------------------------------- real SIGKILLs


def sigkill_once(tmp_path: Path, example_images: Path, seed: int) -> float:
    """`reconciler apply` (a real process, standalone + active/standby pair) is SIGKILLed after
    a seeded random delay; the next `reconciler apply` recovers and converges; every unit was
    reloaded exactly once in all (a fresh simulator per kill: the twin cannot be put back)."""
    from tests.cli.sim_process import reconciler, sim_repo

    delay = random.Random(SEED + seed).uniform(0.3, 4.0)
    names = ("fw-branch-01", "fw-pair-2")
    apply = ("apply", "--ignore-maintenance-windows", "--auto-approve",
             *(a for n in names for a in ("--device", n)))
    with sim_repo(tmp_path / "repo", example_images, time_scale=300) as sim:
        runner = subprocess.Popen([sys.executable, "-m", "reconciler", *apply], cwd=sim.root,
                                  env=sim.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(delay)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        r = reconciler(sim, *apply)
        assert r.returncode == 0, r.stdout + r.stderr
        for n in names:
            assert set(sim.running(n).values()) == {"9.4(1)"}, (delay, n)
            reloads = {u["name"]: u["reloads"] for u in sim.state(n)["units"]}
            assert set(reloads.values()) == {1}, (delay, n, reloads)
        with sqlite3.connect(sim.root / ".reconciler" / "state.db") as db:
            bad = db.execute("SELECT device FROM device_states WHERE state = "
                             "'upgrade-in-progress'").fetchall()
        assert bad == []
    return delay


@pytest.mark.parametrize("k", range(5))
def test_real_sigkill_is_recovered(tmp_path: Path, example_images: Path, k: int) -> None:
    sigkill_once(tmp_path, example_images, k)


@long_only
@pytest.mark.parametrize("k", range(5, 60))
def test_real_sigkill_long(tmp_path: Path, example_images: Path, k: int) -> None:
    sigkill_once(tmp_path, example_images, k)
