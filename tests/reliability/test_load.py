"""Load: the daemon's real loop (`run_loop`) over a generated fleet for many cycles, with
memory, file descriptors, tasks, threads, child processes, store connections and HTTP clients
sampled after every cycle (tests/reliability/leaks.py says how they are judged, and
tests/reliability/load_fleet.py what the world does between cycles).

- always on: 200 devices, 21 cycles: the cold start and two periods of warm-up, then three
  periods of flip / drift / settle / idle;
- `RECONCILER_LONG_TESTS=1`: 5,000 devices, 33 cycles (six measured periods), with one more
  device that does not answer at all.

Memory is judged on what malloc has handed out (heap), pymalloc blocks, gc-tracked objects and
RSS; tracemalloc would triple the run time. Run with `PYTHONTRACEMALLOC=1` to add the traced
Python heap and, on failure, the source lines whose memory grew. Both tests print a table of the
samples (`pytest -s`); docs/reliability.md, *Load*, keeps the figures. The detector itself is
tested on synthetic series and on a real leak injected through the Workspace's client-factory
hook.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from reconciler.core.model import TlsSettings
from reconciler.daemon.loop import CycleResult, run_loop
from reconciler.logging import configure_logging
from reconciler.store import JobDeviceStatus
from tests.reliability.conftest import long_only
from tests.reliability.leaks import KiB, MiB, Budget, Sample, Verdict, find_leaks, probe
from tests.reliability.load_fleet import PASSWORD, PERIOD, LoadLab

SHORT = 200  # devices, always on
SMALL = 100  # devices, for the detector's own test
# the cold start and two periods, so that both directions of the flip have run once: pools
# fill, the new release is uploaded (the simulator keeps one copy of its bytes), caches warm
WARMUP = 1 + 2 * len(PERIOD)


@pytest.fixture
def load_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RECONCILER_FW_PASSWORD", PASSWORD)
    monkeypatch.setenv("RECONCILER_HOME", str(tmp_path / "home"))  # the git mirror lives here
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    configure_logging(fmt="json", verbosity=0)  # as `reconciler daemon` does: warnings and up
    yield tmp_path
    structlog.reset_defaults()


@dataclass
class Run:
    """What the run keeps of each cycle: a sample and a few numbers, never the result itself
    (that would be a leak of the test's own)."""

    samples: list[Sample] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time of each cycle
    applied: list[int] = field(default_factory=list)  # devices each cycle's job ran
    # live objects by type at the end of warm-up (to name what grew, should anything grow)
    types: collections.Counter[str] = field(default_factory=collections.Counter)
    snapshot: tracemalloc.Snapshot | None = None  # the same, by line, when tracing


async def run_daemon(lab: LoadLab, cycles: int, *, check: bool = True,
                     factory: Callable[[TlsSettings, Sequence[str]], httpx.AsyncClient] | None = None
                     ) -> Run:
    """`cycles` cycles of the real loop; the world changes between cycles (lab.before), every
    cycle is sampled right after it and (with `check`) its outcome checked against the
    scenario."""
    ctx = lab.context(factory)
    pool = ctx.store._engine.pool  # checked-out connections: nothing else exposes them
    run = Run()
    started = time.monotonic()

    def on_cycle(result: CycleResult) -> None:
        run.seconds.append(time.monotonic() - started)
        run.applied.append(len(result.eligible))
        phase = lab.phase_of(result.cycle)
        if check:
            expect(lab, result, phase)
        run.samples.append(probe(result.cycle, store_file=lab.state, pool=pool,
                                 open_clients=lab.ledger.open, phase=phase))
        if result.cycle == WARMUP:  # after the sample: what it costs is in every later one
            run.types = live_types()
            if tracemalloc.is_tracing():
                run.snapshot = tracemalloc.take_snapshot()

    async def between(seconds: float) -> None:
        nonlocal started
        await lab.before(len(run.samples) + 1)
        await asyncio.sleep(seconds)
        started = time.monotonic()

    try:
        last = await run_loop(ctx, max_cycles=cycles, sleep=between, on_cycle=on_cycle)
    finally:
        ctx.close()
    assert last is not None and last.cycle == cycles == len(run.samples)
    return run


def expect(lab: LoadLab, r: CycleResult, phase: str) -> None:
    """The cycle did what the scenario asks of it: real work, not just a loop that runs."""
    assert not r.error or r.error.startswith("job "), f"cycle {r.cycle} ({phase}): {r.error}"
    assert r.commit == lab.commits[-1]  # the branch tip, fetched through the mirror
    for name in lab.faulty:
        assert r.devices[name].state == "unreachable", (r.cycle, name, r.devices[name])
    good = {w.name for w in lab.flipped()}
    bad = lab.flipped(faulty=True)[0]
    failing = lab.target(bad) != bad.low  # the full disk never lets it leave its low release
    drifted = {w.name for w in lab.drifted()}
    succeeded, failed = str(JobDeviceStatus.SUCCEEDED), str(JobDeviceStatus.FAILED)
    if phase == "start":
        assert r.ok and r.job_id is None and not r.eligible
    elif phase == "flip":
        assert set(r.eligible) == good | ({bad.name} if failing else set()), (r.cycle, r.eligible)
        assert not [n for n in good if r.devices[n].newly_drifted]  # the commit moved them
        assert r.outcomes == {**{n: succeeded for n in good},
                              **({bad.name: failed} if failing else {})}, r.outcomes
    elif phase == "drift":
        assert all(r.devices[n].newly_drifted for n in drifted), r.devices
        assert set(r.eligible) == drifted and r.outcomes == {n: succeeded for n in drifted}
    else:
        assert r.ok and r.job_id is None, (r.cycle, phase, r.error, r.eligible)
        assert r.reused_plan == (phase == "idle"), (r.cycle, phase)
    if phase != "start":
        for w in lab.workers:
            want = w.low if w.faulty else lab.target(w)
            assert lab.running(w.name) == want, (r.cycle, w.name)
        if phase != "flip":
            assert r.devices[bad.name].state == ("not_converging" if failing else "in_sync")
            assert {n for n in good | drifted if r.devices[n].state != "in_sync"} == \
                (drifted if phase == "drift" else set())


def table(run: Run) -> str:
    lines = [f"{'cycle':>5} {'phase':>7} {'s':>6} {'applied':>7} {'rss MiB':>8} "
             f"{'heap MiB':>8} {'traced MiB':>10} {'blocks':>9} {'objects':>9} {'fds':>4} {'db fds':>6} "
             f"{'db conns':>8} {'tasks':>5} {'threads':>7} {'exec':>4} {'child':>5} {'clients':>7}"]
    for s, t, n in zip(run.samples, run.seconds, run.applied, strict=True):
        traced = f"{s.traced / MiB:10.2f}" if s.traced is not None else f"{'-':>10}"
        heap = f"{s.heap / MiB:8.2f}" if s.heap is not None else f"{'-':>8}"
        lines.append(f"{s.cycle:>5} {s.phase:>7} {t:6.1f} {n:>7} "
                     f"{s.rss / MiB:8.1f} {heap} {traced} {s.blocks:>9,} {s.objects:>9,} {s.fds:>4} "
                     f"{s.store_fds:>6} {s.store_connections:>8} {s.tasks:>5} {s.threads:>7} "
                     f"{s.pool_threads:>4} {s.children:>5} {s.open_clients:>7}")
    return "\n".join(lines)


def report(run: Run, verdict: Verdict, title: str) -> str:
    after = [s for s in run.samples if s.cycle > WARMUP]
    growth = ", ".join(f"{k} {v:+,.0f}/cycle" for k, v in verdict.growth.items())
    lines = [title, table(run),
             f"cycle seconds: first {run.seconds[0]:.1f}, median after warm-up "
             f"{sorted(run.seconds[WARMUP:])[len(run.seconds[WARMUP:]) // 2]:.1f}, "
             f"max {max(run.seconds):.1f}; total {sum(run.seconds):.0f}",
             f"after warm-up at phase idle: {growth}",
             f"rss after warm-up {after[0].rss / MiB:.1f} MiB -> end {after[-1].rss / MiB:.1f} "
             f"MiB; peak of the run {max(s.rss for s in run.samples) / MiB:.1f} MiB"]
    grown = live_types() - run.types
    lines.append("live objects that grew since the end of warm-up, by type: "
                 + (", ".join(f"{k} +{v:,}" for k, v in grown.most_common(8)) or "none"))
    if run.snapshot is not None:
        lines.append("largest growth by line since the end of warm-up:")
        for stat in tracemalloc.take_snapshot().compare_to(run.snapshot, "lineno")[:8]:
            lines.append(f"  {stat}")
    return "\n".join(lines)


def live_types() -> collections.Counter[str]:
    gc.collect()
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def _assert_no_leak(run: Run, title: str) -> None:
    verdict = find_leaks(run.samples, warmup=WARMUP, phase="idle")
    text = report(run, verdict, title)
    print(text)
    assert verdict.ok, "\n".join(verdict.problems) + "\n\n" + text


# ---------------------------------------------------------------- the load runs


async def test_daemon_cycles_over_a_generated_fleet_leave_nothing_behind(load_env: Path) -> None:
    lab = LoadLab(load_env, SHORT, flipped=3, drifted=1)
    run = await run_daemon(lab, WARMUP + 3 * len(PERIOD))
    assert [s.phase for s in run.samples if s.cycle > WARMUP].count("idle") == 3
    _assert_no_leak(run, f"{SHORT} devices ({lab.units()} units), {len(lab.workers)} workers, faulty: {lab.faulty}")


@long_only
@pytest.mark.timeout(3600)
async def test_daemon_cycles_over_5000_devices_leave_nothing_behind(load_env: Path) -> None:
    t0 = time.monotonic()
    lab = LoadLab(load_env, 5000, flipped=6, drifted=2, unreachable_device=True)
    setup = time.monotonic() - t0
    run = await run_daemon(lab, WARMUP + 6 * len(PERIOD))  # 33 cycles
    _assert_no_leak(run, f"5,000 devices ({lab.units()} units), {len(lab.workers)} workers, faulty: {lab.faulty}; "
                         f"setup {setup:.0f} s")


# ---------------------------------------------------------------- the detector


def _series(n: int, **per_cycle: Callable[[int], int]) -> list[Sample]:
    """A clean run of `n` cycles (phase-aligned noise only) with some fields overridden."""
    base = Sample(cycle=0, rss=200 * MiB, traced=40 * MiB, heap=30 * MiB, blocks=900_000,
                  objects=700_000,
                  fds=12, store_fds=3, store_connections=1, checked_out=0, tasks=1, threads=1,
                  pool_threads=2, children=0, open_clients=0)
    out = []
    for c in range(1, n + 1):
        noise = (c * 7919) % 13 - 6  # deterministic jitter
        s = replace(base, cycle=c, phase=PERIOD[c % len(PERIOD)],
                    rss=base.rss + noise * 400 * KiB, traced=(base.traced or 0) + noise * 3 * KiB,
                    heap=(base.heap or 0) + noise * 8 * KiB,
                    blocks=base.blocks + noise * 20, objects=base.objects + noise * 10)
        out.append(replace(s, **{k: f(c) for k, f in per_cycle.items()}))
    return out


def test_the_detector_passes_a_clean_series_and_pools_that_fill_up() -> None:
    assert find_leaks(_series(21), warmup=6, phase="idle").ok
    # the store's pool and the executor grow to their cap after warm-up: explained, not a leak
    grown = _series(21, store_connections=lambda c: 1 + min(c // 5, 3),
                    store_fds=lambda c: 3 * (1 + min(c // 5, 3)),
                    pool_threads=lambda c: min(2 + c // 3, 6))
    assert find_leaks(grown, warmup=6, phase="idle").ok


@pytest.mark.parametrize(("field_name", "per_cycle", "needle"), [
    ("traced", lambda c: 40 * MiB + c * 100 * KiB, "traced: grows"),  # 100 KiB kept per cycle
    ("rss", lambda c: 200 * MiB + c * 3 * MiB, "rss: grows"),
    ("heap", lambda c: 30 * MiB + c * 256 * KiB, "heap: grows"),  # a 256 KiB buffer per cycle
    ("blocks", lambda c: 900_000 + c * 2_000, "blocks: grows"),
    ("objects", lambda c: 700_000 + c * 1_000, "objects: grows"),
    ("fds", lambda c: 12 + (c > 9), "fds: 12 after warm-up"),  # one fd, once, after warm-up
    ("fds", lambda c: 12 + c // 5, "fds: "),  # one per period
    ("tasks", lambda c: 1 + (c == 15), "tasks: 1 expected"),  # a task alive after one cycle
    ("threads", lambda c: 1 + c // 10, "threads: "),
    ("children", lambda c: int(c > 12), "children: "),  # a git never waited for
    ("checked_out", lambda c: int(c == 3), "checked_out: 0 expected"),
    ("open_clients", lambda c: int(c >= 20), "open_clients: 0 expected"),
    ("store_fds", lambda c: 3 + c, "store fds: "),  # fds on the db no pooled connection explains
    ("pool_threads", lambda c: 4 * c, "pool threads: "),  # more workers than the pools allow
])
def test_the_detector_flags_each_kind_of_leak(field_name: str, per_cycle: Callable[[int], int],
                                              needle: str) -> None:
    verdict = find_leaks(_series(21, **{field_name: per_cycle}), warmup=6, phase="idle")
    assert not verdict.ok and any(p.startswith(needle) for p in verdict.problems), verdict.problems


async def test_the_detector_catches_a_real_leak_in_the_running_daemon(load_env: Path) -> None:
    """The same scenario on a small fleet, with a client factory (the Workspace's hook for an
    in-process simulator) that on every call keeps 2 MiB and a thousand small objects, leaves a
    file open, starts a task that never ends and hands out one extra client it never closes.
    Nothing in the daemon is patched; the detector must name each of them."""
    lab = LoadLab(load_env, SMALL, flipped=2, drifted=1, faulty=False)  # faster cycles
    warmup = 1 + len(PERIOD)  # the leaks are large: one period of warm-up is plenty
    kept: list[Any] = []
    files: list[Any] = []
    tasks: list[asyncio.Task[Any]] = []

    def leaky(tls: TlsSettings, names: Sequence[str]) -> httpx.AsyncClient:
        kept.append((bytearray(2 * MiB), [[i] for i in range(1000)]))  # lists: gc-tracked
        # 2 MiB a call is at least 2 MiB a cycle: over RSS's budget too
        files.append(open(os.devnull, "rb"))  # noqa: SIM115 - the leak under test
        tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait()))
        lab.factory(tls, names)  # an extra client, registered and never closed
        return lab.factory(tls, names)

    try:
        run = await run_daemon(lab, warmup + 3 * len(PERIOD), factory=leaky, check=False)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in lab.ledger.clients:
            await c.aclose()
        for f in files:
            f.close()
    verdict = find_leaks(run.samples, warmup=warmup, phase="idle")
    text = "\n".join(verdict.problems)
    for needle in ("heap: grows", "rss: grows", "blocks: grows", "objects: grows", "fds: ",
                   "tasks: ", "open_clients: "):
        assert any(p.startswith(needle) for p in verdict.problems), f"{needle!r} not in\n{text}"
    # and the growth it measured is about the leak's size per cycle
    calls = len(tasks) / len(run.samples)
    assert verdict.growth["objects"] >= 0.8 * calls * 1000, (verdict.growth, calls)
    assert verdict.growth["heap"] >= 0.8 * calls * 2 * MiB, (verdict.growth, calls)
