"""Daemon idle cycle: a converged fleet, an unchanged commit, and small known changes.

    python bench/daemon_idle.py [--devices 10000] [--idle 3] [--drift 1,10,100]
                                [--tracemalloc auto|on|off] [--budget 285] [--seed 7]

Setup (outside every clock): `bench/fleetgen.py --converged` writes a fleet in which every device
already runs what the policy wants (same shape as the plan benchmark's: 70% standalone, 20%
pairs, 8% clusters of 2-8 units, 2% multiple-context; groups and a few hundred overrides) and
its simulated twin, in a child process so that generating it leaves nothing in this one. The
desired state goes into a real git repository (GitPython, one commit); the twin is served
in-process through httpx's ASGI transport (the way the tests and the demo serve it: no TLS, no
sockets, but every request goes through the simulator's real HTTP application); the state store
is a real SQLite file; the daemon is `reconciler.daemon.loop.run_cycle` with the CLI's defaults
(plan-only: `auto_apply` is false in the generated policy).

Cycles, in order, each measured alone:

  cold            the first cycle: reads and validates the policy, discovers, plans every device
  idle            `--idle` cycles with the commit and the fleet unchanged
  drift-K         K more standalone devices rolled back behind the daemon's back (their boot
                  order swapped and the unit reloaded in the simulator, as an operator would),
                  for each K of `--drift` (with `--pending`, one more cycle with nothing new:
                  the drift is still there, the daemon is plan-only so it stays)
  commit-group    a commit moving one group's ASA version (sg-asa 9.7(1) -> 9.8(4))
  commit-devices  a commit adding three per-device overrides

Per cycle: wall-clock and CPU time (the process's, threads included: the simulator runs in this
process too, so discovery's CPU is the client's and the simulator's), the daemon's own stage
timings and work counters (the cycle report's `stages_seconds` and `work`), HTTP requests,
state-store statements (SQLAlchemy events on the store's engine: reads, and rows written), peak
RSS during the cycle (VmHWM reset before it) and RSS after it. Python heap figures come from
tracemalloc, which slows every allocation about fivefold, so they are taken on extra cycles at
the end (`--tracemalloc on`: a cycle with nothing changed since the last one, and a drift-10
cycle; `auto`: the first, only if it fits the `--budget` of seconds). Discovery is also compared with the raw request floor: as many
requests as an idle cycle's discovery made, to the simulator's cheapest endpoint
(`/_sim/health`) through the same kind of client with the same concurrency. And planning is
timed alone (CPU seconds of `make_plan` as the daemon calls it, on the observations the daemon
holds, after K = 0/1/10/100/1000 devices changed), with the daemon's memory and from scratch:
the plan stage without the noise of the rest of the cycle and of a shared machine.

Prints the figures with the machine and load average, and writes
bench/results/daemon_idle.json. Runs in about 4 minutes at 10,000 devices on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import git  # noqa: E402
import httpx  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.machine import banner, finish, machine  # noqa: E402
from reconciler.daemon.loop import CycleResult, DaemonConfig, DaemonContext, run_cycle  # noqa: E402
from reconciler.discovery import DiscoveryOptions  # noqa: E402
from reconciler.executor.session import Workspace  # noqa: E402
from reconciler.images.repository import ImageRepository  # noqa: E402
from reconciler.logging import configure_logging  # noqa: E402
from reconciler.sim.app import create_app  # noqa: E402
from reconciler.sim.clock import ScaledClock  # noqa: E402
from reconciler.sim.fleet import SimCredentials, SimFleet  # noqa: E402
from reconciler.sim.fleetfile import fleet_from_dict  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-daemon-idle-4c1e"  # the simulator's stand-in device password
TIME_SCALE = 1000.0  # a 420 s reload takes 0.42 s
AUTHOR = git.Actor("Bench", "bench@example.com")


# ------------------------------------------------------------------------------ measuring


def rss_mb() -> float:
    return _status_kib("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_kib("VmHWM") / 1024


def _status_kib(key: str) -> int:
    m = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM, so the next peak is this cycle's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class CountingApp:
    """The simulator's ASGI app, counting the HTTP requests it serves and the time spent in it
    (the ASGI transport runs the app inline in the requesting task, so that time is the
    simulator's share of discovery; approximate: a request's await points are counted too)."""

    def __init__(self, app: Any) -> None:
        self.app, self.requests, self.seconds = app, 0, 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seconds += time.perf_counter() - t0


@dataclass
class StoreCounter:
    """Statements the state store sends: reads, write statements and the rows they changed."""

    reads: int = 0
    writes: int = 0
    rows: int = 0

    def attach(self, engine: Any) -> None:
        event.listen(engine, "after_cursor_execute", self._after)

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            self.writes += 1
            self.rows += max(0, cursor.rowcount)
        elif verb in ("SELECT", "WITH"):
            self.reads += 1

    def snapshot(self) -> tuple[int, int, int]:
        return self.reads, self.writes, self.rows


# ------------------------------------------------------------------------------ the lab


@dataclass
class Lab:
    root: Path
    repo: git.Repo
    fleet: SimFleet
    app: CountingApp
    ctx: DaemonContext
    store: StoreCounter
    setup: dict[str, float] = field(default_factory=dict)
    rolled_back: list[str] = field(default_factory=list)

    def commit(self, message: str) -> str:
        self.repo.git.add("--all")
        return str(self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha)


def build_lab(tmp: Path, n: int, seed: int) -> Lab:
    setup: dict[str, float] = {}
    gen, root = tmp / "gen", tmp / "repo"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "bench" / "fleetgen.py"), str(gen), "--devices",
                    str(n), "--seed", str(seed), "--converged", "--sim", "--address-base",
                    "https://sim.invalid", "--unreachable-rate", "0", "--sim-json"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    setup["generate_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    root.mkdir()
    for d in ("desired", "inventory"):
        shutil.copytree(gen / d, root / d)
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("commit", "gpgsign", "false")
    repo.git.add("--all")
    repo.index.commit("converged fleet", author=AUTHOR, committer=AUTHOR)
    setup["git_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    doc = json.loads((gen / "simfleet.json").read_bytes())
    fleet = SimFleet(fleet_from_dict(doc, source="simfleet.json"),
                     SimCredentials("admin", PASSWORD, "unused-token"), ScaledClock(TIME_SCALE))
    del doc
    shutil.rmtree(gen)
    app = CountingApp(create_app(fleet))
    setup["simulator_s"] = time.perf_counter() - t0

    # the images a commit moving sg-asa to 9.8(4) needs (copies come from the repository)
    t0 = time.perf_counter()
    images = tmp / "images"
    from reconciler.loader import DirectorySource, load_desired

    desired, _ = load_desired(DirectorySource(root))
    store = ImageRepository(images)
    for image in desired.images.values():
        if str(image.type) == "asa" and image.version == "9.8(4)":
            store.fetch(image)
    del desired
    setup["images_s"] = time.perf_counter() - t0

    os.environ["RECONCILER_FW_PASSWORD"] = PASSWORD

    def client(tls: Any, names: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    ws = Workspace(root, images, str(tmp / "state.db"), client_factory=client)
    ctx = DaemonContext.open(DaemonConfig(repo=str(root), branch="main"), ws)
    counter = StoreCounter()
    counter.attach(ctx.store._engine)  # noqa: SLF001 - instrumentation of the real engine
    return Lab(root, repo, fleet, app, ctx, counter, setup)


# ------------------------------------------------------------------------------ changes


def standalone_candidates(lab: Lab, rng: random.Random) -> list[str]:
    """In-sync standalone devices with a fallback image in their boot list, shuffled."""
    names = [n for n, d in sorted(lab.fleet.devices.items())
             if getattr(d, "mode", None) is not None and str(d.mode) == "standalone"
             and len(d.units) == 1 and len(d.startup.boot) >= 2 and not d.contexts]
    rng.shuffle(names)
    return names


async def roll_back(lab: Lab, names: list[str]) -> None:
    """Behind the daemon's back: boot the fallback image first, save, reload."""
    for name in names:
        dev = lab.fleet.asa(name)
        boot = list(dev.startup.boot)
        dev.startup.boot = dev.running.boot = [boot[1], boot[0], *boot[2:]]
        lab.fleet.apply(name, "reload")
    deadline = time.monotonic() + 60
    while not all(lab.fleet.asa(n).units[0].up for n in names):
        if time.monotonic() > deadline:
            raise SystemExit("the rolled-back devices did not come back from their reload")
        await asyncio.sleep(0.05)
    lab.rolled_back += names


def commit_group(lab: Lab) -> str:
    path = lab.root / "desired" / "regions.yaml"
    text = path.read_text()
    old = "- name: sg-asa\n  match:\n    site: sg-*\n    tags: [asa]\n  images: {asa: 9.7(1),"
    if old not in text:
        raise SystemExit("the generated regions.yaml changed shape: update bench/daemon_idle.py")
    path.write_text(text.replace(old, old.replace("9.7(1)", "9.8(4)")))
    return lab.commit("sg: ASA 9.8(4)")


def commit_devices(lab: Lab, rng: random.Random, skip: set[str]) -> tuple[str, list[str]]:
    """Three in-sync standalone devices pinned to their fallback release."""
    path = lab.root / "desired" / "devices.yaml"
    doc = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    overridden = {d["name"] for d in doc["devices"]}
    picked = [n for n in standalone_candidates(lab, rng) if n not in skip and n not in overridden][:3]
    from reconciler.sim.imagefiles import identify

    text = path.read_text()
    if not text.rstrip().endswith("}") and "\ndevices:\n" not in text:
        raise SystemExit("the generated devices.yaml changed shape: update bench/daemon_idle.py")
    for name in picked:  # appended: the other overrides keep their lines
        fallback = lab.fleet.asa(name).startup.boot[1].split(":/", 1)[1]
        info = identify(fallback)
        assert info is not None
        text += f"- name: {name}\n  description: held back\n  images: {{asa: '{info.version}'}}\n"
    path.write_text(text)
    return lab.commit("hold three devices back"), picked


# ------------------------------------------------------------------------------ cycles


async def measured(lab: Lab, kind: str, expect: dict[str, Any], traced: bool = False
                   ) -> dict[str, Any]:
    gc.collect()
    rss0 = rss_mb()
    reset_peak_rss()
    req0, sim0, st0 = lab.app.requests, lab.app.seconds, lab.store.snapshot()
    if traced:
        tracemalloc.start()
        heap0 = tracemalloc.get_traced_memory()[0]
    c0, t0 = time.process_time(), time.perf_counter()
    r: CycleResult = await run_cycle(lab.ctx)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = peak_rss_mb()
    heap: dict[str, float] = {}
    if traced:
        cur, top = tracemalloc.get_traced_memory()
        heap = {"heap_peak_mb": (top - heap0) / 2**20, "heap_retained_mb": (cur - heap0) / 2**20}
        tracemalloc.stop()
    st1 = lab.store.snapshot()
    gc.collect()
    if not r.ok:
        raise SystemExit(f"{kind} cycle failed: {r.error}")
    work = r.work.to_dict()
    for key, want in expect.items():
        if work.get(key) != want:
            raise SystemExit(f"{kind}: work.{key} is {work.get(key)}, expected {want}: {work}")
    stages = dict(r.stages.seconds)
    row = {
        "kind": kind, "traced": traced, "wall_s": wall, "cpu_s": cpu,
        "report_duration_s": r.duration, "reused_plan": r.reused_plan, "counts": r.counts(),
        "work": work, "stages_s": stages,
        "not_discovery_s": wall - stages.get("discover", 0.0),
        "requests": lab.app.requests - req0, "simulator_s": lab.app.seconds - sim0,
        "store": {"reads": st1[0] - st0[0], "write_statements": st1[1] - st0[1],
                  "rows_written": st1[2] - st0[2]},
        "rss_before_mb": rss0, "rss_peak_mb": peak, "rss_after_mb": rss_mb(), **heap,
    }
    print(f"  {kind:<15} {wall:6.2f} s  CPU {cpu:6.2f} s  discover {stages.get('discover', 0):6.2f} s"
          f"  rest {row['not_discovery_s']:5.2f} s  changed {str(work['changed']):>5}  planned "
          f"{work['planned']:>6,}  parsed {'yes' if work['desired_loaded'] else 'no ':3}  reused "
          f"plan {'yes' if r.reused_plan else 'no ':3}  store writes {row['store']['write_statements']}"
          f" ({row['store']['rows_written']} rows)"
          f"  RSS {peak:,.0f} MB" + (f"  heap peak {heap['heap_peak_mb']:.1f} MB" if traced else ""),
          flush=True)
    return row


async def raw_floor(lab: Lab, requests: int, concurrency: int) -> dict[str, Any]:
    """`requests` GETs of /_sim/health, `concurrency` at a time, through the same kind of client."""
    auth = httpx.BasicAuth("admin", PASSWORD)
    left, bad = requests, 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal left, bad
        while left > 0:
            left -= 1
            r = await client.get("https://sim.invalid/_sim/health", auth=auth)
            bad += r.status_code != 200

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lab.app)) as client:
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if bad:
        raise SystemExit(f"{bad} raw requests failed")
    return {"requests": requests, "seconds": wall, "cpu_s": cpu, "concurrency": concurrency}


def planning_alone(lab: Lab, sizes: tuple[int, ...] = (0, 1, 10, 100, 1000), repeat: int = 3
                   ) -> dict[str, Any]:
    """CPU seconds of planning alone (`make_plan`, as the daemon calls it) on the fleet the last
    cycle saw: from scratch, and with a memory warmed on that fleet after K devices' observations
    changed (their system release differs): the cycle's plan stage without the noise of the
    rest of the cycle and of the machine."""
    from reconciler.core.model import ImageType
    from reconciler.core.observed import Snapshot
    from reconciler.core.plan.incremental import PlanMemory
    from reconciler.daemon.loop import read_branch
    from reconciler.planning import image_status, make_plan

    rev = read_branch(lab.ctx.config, lab.ctx.desired_cache)  # cached: nothing parsed
    basis = lab.ctx._basis  # noqa: SLF001 - the observations the daemon holds
    assert basis is not None
    base = Snapshot(dict(basis.observed))
    status = image_status(lab.ctx.workspace.images_dir, rev.desired)
    names = [n for n, d in sorted(base.devices.items()) if str(d.mode) == "standalone"]

    def changed(k: int) -> Snapshot:
        out = dict(base.devices)
        for n in names[:k]:
            d = out[n]
            version = "9.0(4)" if d.running.get(ImageType.ASA) != "9.0(4)" else "9.1(6)"
            out[n] = replace(d, running={**d.running, ImageType.ASA: version},
                             members=tuple(replace(m, running={**m.running, ImageType.ASA: version})
                                           for m in d.members))
        return Snapshot(out)

    def cpu(fn: Any) -> float:
        gc.collect()
        c0 = time.process_time()
        fn()
        return time.process_time() - c0

    rows = []
    memory = PlanMemory()
    make_plan(rev.desired, base, status, {}, findings=rev.findings, memory=memory)
    for k in sizes:
        snap, times, scratch, planned = changed(k), [], [], 0
        for _ in range(repeat):
            scratch.append(cpu(lambda: make_plan(rev.desired, snap, status, {},
                                                 findings=rev.findings)))
            times.append(cpu(lambda: make_plan(rev.desired, snap, status, {},
                                               findings=rev.findings, memory=memory)))
            planned = memory.planned
            # back to the fleet the memory was warmed on (plans the K devices again)
            make_plan(rev.desired, base, status, {}, findings=rev.findings, memory=memory)
        rows.append({"changed": k, "planned": planned, "cpu_s": statistics.median(times),
                     "scratch_cpu_s": statistics.median(scratch)})
    return {"devices": len(base.devices), "rows": rows}


async def run_all(lab: Lab, a: argparse.Namespace, t_start: float) -> dict[str, Any]:
    rng = random.Random(a.seed)
    n = a.devices
    rows = [await measured(lab, "cold", {"desired_loaded": True, "changed": None, "planned": n})]
    for _ in range(a.idle):
        rows.append(await measured(lab, "idle", {"desired_loaded": False, "changed": 0,
                                                 "planned": 0}))
    idle = [r for r in rows if r["kind"] == "idle"]
    candidates = standalone_candidates(lab, rng)
    used = 0
    for k in a.drift:
        batch = candidates[used:used + k]
        used += k
        await roll_back(lab, batch)
        rows.append(await measured(lab, f"drift-{k}", {"desired_loaded": False, "changed": k,
                                                       "planned": k}))
    if a.pending:
        rows.append(await measured(lab, "pending", {"desired_loaded": False, "changed": 0,
                                                    "planned": 0}))
    commit_group(lab)
    rows.append(await measured(lab, "commit-group", {"desired_loaded": True, "changed": 0}))
    _, held = commit_devices(lab, rng, set(lab.rolled_back))
    rows.append(await measured(lab, "commit-devices", {"desired_loaded": True, "changed": 0,
                                                       "planned": len(held)}))

    floor = await raw_floor(lab, idle[-1]["requests"] if idle else rows[0]["requests"],
                            DiscoveryOptions().concurrency)
    alone = planning_alone(lab)

    # last, so that the memory tracemalloc leaves behind does not inflate the RSS figures above
    traced: list[dict[str, Any]] = []
    typical = statistics.median(r["wall_s"] for r in idle) if idle else rows[0]["wall_s"]
    left = a.budget - (time.perf_counter() - t_start)
    if a.tracemalloc == "on" or (a.tracemalloc == "auto" and left > 6 * typical):
        # nothing changed since the last cycle (the drift and the commits' changes are left:
        # plan-only), so nothing is parsed or planned
        traced.append(await measured(lab, "unchanged", {"changed": 0, "planned": 0},
                                     traced=True))
    elif a.tracemalloc == "auto":
        print(f"  (tracemalloc skipped: a traced cycle takes ~{6 * typical:.0f} s, {left:.0f} s "
              f"of the {a.budget:g} s budget are left; --tracemalloc on forces it)")
    if a.tracemalloc == "on" and a.drift:
        batch = candidates[used:used + 10]
        await roll_back(lab, batch)
        traced.append(await measured(lab, "drift-10", {"changed": len(batch),
                                                       "planned": len(batch)}, traced=True))
    return {"cycles": rows, "traced": traced, "raw_floor": floor, "planning_alone": alone}


# ------------------------------------------------------------------------------ report


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        med = statistics.median
        stages = sorted({s for r in rs for s in r["stages_s"]})
        out.append({
            "kind": kind, "cycles": len(rs),
            "wall_s": med(r["wall_s"] for r in rs), "cpu_s": med(r["cpu_s"] for r in rs),
            "discover_s": med(r["stages_s"].get("discover", 0.0) for r in rs),
            "not_discovery_s": med(r["not_discovery_s"] for r in rs),
            "stages_s": {s: med(r["stages_s"].get(s, 0.0) for r in rs) for s in stages},
            "work": rs[-1]["work"], "reused_plan": rs[-1]["reused_plan"],
            "requests": rs[-1]["requests"], "store": rs[-1]["store"],
            "simulator_s": med(r["simulator_s"] for r in rs),
            "rss_peak_mb": max(r["rss_peak_mb"] for r in rs),
            "rss_after_mb": rs[-1]["rss_after_mb"],
        })
    return out


BREAKDOWN = (("git", "git read"), ("load", "parse+validate"), ("discover", "discovery"),
             ("store_read", "store reads"), ("compare", "compare"), ("plan", "plan"),
             ("report", "drift report"), ("store_write", "store writes"))


def print_tables(kinds: list[dict[str, Any]], traced: list[dict[str, Any]],
                 floor: dict[str, Any], alone: dict[str, Any], baseline: float) -> None:
    print(f"\n{'cycle':<15} {'n':>2} {'wall s':>7} {'CPU s':>6} {'discover':>8} {'rest s':>7} "
          f"{'changed':>7} {'parsed':>6} {'planned':>7} {'reused':>6} {'plan':>5} {'writes':>7} "
          f"{'RSS peak':>8} {'RSS after':>9}")
    for k in kinds:
        w = k["work"]
        print(f"{k['kind']:<15} {k['cycles']:>2} {k['wall_s']:>7.2f} {k['cpu_s']:>6.2f} "
              f"{k['discover_s']:>8.2f} {k['not_discovery_s']:>7.3f} {str(w['changed']):>7} "
              f"{'yes' if w['desired_loaded'] else 'no':>6} {w['planned']:>7,} {w['reused']:>6,} "
              f"{'kept' if k['reused_plan'] else 'new':>5} "
          f"{k['store']['write_statements']:>3}/{k['store']['rows_written']:<3} "
              f"{k['rss_peak_mb']:>6,.0f}MB {k['rss_after_mb']:>7,.0f}MB")
    print("wall/CPU: medians of the cycles of that kind (CPU: this process, the in-process "
          "simulator included); rest = wall - discovery;\nchanged: devices whose observation "
          "differs from the last cycle; parsed: the policy files were parsed and validated; "
          "planned/reused: devices\nplanned / whose plan was kept; plan: the whole plan was "
          "kept (reused_plan) or made; writes: write statements/rows changed in the store;\nRSS: this process "
          f"(the simulated fleet held in it: {baseline:,.0f} MB before the first cycle)")
    for t in traced:
        print(f"tracemalloc, an extra {t['kind']} cycle ({t['wall_s']:.0f} s traced): Python heap "
              f"peak {t['heap_peak_mb']:.1f} MB above the start of the cycle, "
              f"{t['heap_retained_mb']:.1f} MB allocated in it still alive after it")
    print("\nwhere the time goes (median seconds per stage):")
    print(f"{'cycle':<15} " + " ".join(f"{label:>14}" for _, label in BREAKDOWN))
    for k in kinds:
        print(f"{k['kind']:<15} " + " ".join(f"{k['stages_s'].get(s, 0.0):>14.4f}"
                                             for s, _ in BREAKDOWN))
    print(f"\nplanning alone (make_plan as the daemon calls it, CPU seconds, median of 3) of the "
          f"{alone['devices']:,} devices the daemon holds, after K of them changed:")
    print(f"{'K changed':>10} {'planned':>8} {'with memory':>12} {'from scratch':>13}")
    for r in alone["rows"]:
        print(f"{r['changed']:>10,} {r['planned']:>8,} {r['cpu_s']:>11.3f}s {r['scratch_cpu_s']:>12.3f}s")
    idle = next((k for k in kinds if k["kind"] == "idle"), kinds[0])
    rate = floor["requests"] / floor["seconds"]
    disc_rate = idle["requests"] / idle["discover_s"] if idle["discover_s"] else 0.0
    print(f"\ndiscovery of an idle cycle: {idle['requests']:,} requests in "
          f"{idle['discover_s']:.2f} s = {disc_rate:,.0f} req/s; raw floor (the same number "
          f"of /_sim/health requests, same client and concurrency {floor['concurrency']}): "
          f"{floor['seconds']:.2f} s = {rate:,.0f} req/s -> discovery runs at "
          f"{100 * disc_rate / rate:.0f}% of the raw rate and is "
          f"{100 * idle['discover_s'] / idle['wall_s']:.0f}% of the idle cycle; of its "
          f"{idle['discover_s']:.2f} s, {idle['simulator_s']:.2f} s are spent inside the in-process "
          f"simulator answering (the devices' side), {idle['discover_s'] - idle['simulator_s']:.2f} s "
          "in the daemon's client")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", "-n", type=int, default=10_000)
    ap.add_argument("--idle", type=int, default=3, help="idle cycles (unchanged commit and fleet)")
    ap.add_argument("--drift", default="1,10,100", help="devices rolled back per drift cycle")
    ap.add_argument("--pending", action="store_true",
                    help="one more cycle after the drift ones, nothing new (drift outstanding)")
    ap.add_argument("--tracemalloc", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--budget", type=float, default=285,
                    help="seconds: `--tracemalloc auto` traces a cycle only if it fits")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    a.drift = [int(x) for x in a.drift.split(",") if x]
    a.pending = a.pending and bool(a.drift)
    t_start = time.perf_counter()
    info = machine()
    print(banner(info) + f"\ndaemon cycles against a converged {a.devices:,}-device fleet (simulator in-process, "
          "SQLite store, git repository)")
    with tempfile.TemporaryDirectory(prefix="daemon-idle-") as tmp, \
            open(Path(tmp) / "daemon.log", "w") as log:
        # the daemon logs as `reconciler daemon` does (JSON, warnings: drift_detected...), to a
        # file so that the figures stay readable
        configure_logging(fmt="json", verbosity=0, stream=log)
        lab = build_lab(Path(tmp), a.devices, a.seed)
        gc.collect()
        baseline = rss_mb()
        units = sum(len(getattr(d, "units", ())) for d in lab.fleet.devices.values())
        print(f"setup: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in lab.setup.items())
              + f"; {units:,} units; RSS {baseline:,.0f} MB before the first cycle", flush=True)
        out = asyncio.run(run_all(lab, a, t_start))
        lab.ctx.close()
        lab.repo.close()
    end_line = finish(info)
    elapsed = time.perf_counter() - t_start
    kinds = summarise(out["cycles"])
    print()
    print(banner(info))
    print_tables(kinds, out["traced"], out["raw_floor"], out["planning_alone"], baseline)
    print(f"{end_line}; benchmark took {elapsed:.0f} s")
    if not a.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        doc = {"benchmark": "daemon_idle",
               "command": "python bench/daemon_idle.py " + " ".join(sys.argv[1:]),
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": info,
               "devices": a.devices, "units": units, "seconds": round(elapsed, 1),
               "setup": lab.setup, "rss_before_first_cycle_mb": baseline, "kinds": kinds,
               "raw_floor": out["raw_floor"], "planning_alone": out["planning_alone"],
               "cycles": out["cycles"], "traced": out["traced"]}
        (RESULTS / "daemon_idle.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {RESULTS / 'daemon_idle.json'}")


if __name__ == "__main__":
    main()
