"""Rollout makespan: the real executor (work-conserving slots) against the lower bound and against
a batch-by-batch strategy, on identical fresh simulated fleets.

    python bench/rollout_makespan.py [--devices 32] [--parallel 4] [--repeat 3] [--time-scale 600]

The fleet: N devices cloned from the bundled example's plannable shapes (standalone 5506-X and
5516-X, a 5585 active/standby pair going through two HA hops, a four-unit cluster, a
multiple-context 5555-X, a Firepower 2110, a legacy 5520, Windows and Linux agents), each with its
own reload, ready and install times and, for about half of them, a slow link (slow-link fault,
simulated bytes/s), so device durations differ widely. The simulator runs in-process behind
httpx's ASGI transport (real HTTP semantics), time-scaled; the state store is a fresh SQLite
file per run; images come from a real image repository with the catalog's synthetic images.

Per repeat, on two fresh twins of the same fleet (same seed):
- work-conserving: one job, `max_parallel = C`, order parallel, exactly what `reconciler apply`
  runs (`Session.run`);
- batch-by-batch: the same runner driven in batches of C devices (one job per batch, started when
  the previous batch's job has finished) — the strategy the executor replaced; it lives here only.
Discovery and planning happen before the clock starts, for both.

Lower bound = max(longest device's run, sum of device runs / C), where a device's run is its own
measured duration inside the work-conserving job (device_started -> device_finished, no queueing).
Figures are medians over the repeats; ratios are taken within the same repeat. Writes
bench/results/rollout_makespan.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.core.model import DesiredState, Order, TlsSettings  # noqa: E402
from reconciler.drivers.base import DriverOptions  # noqa: E402
from reconciler.executor import Events, JobRequest, RetryPolicy, RunnerOptions  # noqa: E402
from reconciler.executor.session import Session, Workspace  # noqa: E402
from reconciler.images.repository import ImageRepository  # noqa: E402
from reconciler.loader import DirectorySource, load_desired  # noqa: E402
from reconciler.planning import load_desired_state  # noqa: E402
from reconciler.sim.app import create_app  # noqa: E402
from reconciler.sim.clock import ScaledClock  # noqa: E402
from reconciler.sim.example import twin_fleet  # noqa: E402
from reconciler.sim.fleet import SimCredentials, SimFleet  # noqa: E402
from reconciler.sim.fleetfile import fleet_from_dict  # noqa: E402
from reconciler.store import JobDeviceStatus  # noqa: E402

PASSWORD = "bench-makespan-password"
TOKEN = "bench-makespan-token"
# the example's shapes that plan to a runnable upgrade (fw-aa-pair and fw-branch-03 are blocked
# on purpose in the example; they would add nothing to a makespan)
SHAPES = ("fw-branch-01", "fw-branch-02", "fw-dc-pair", "fw-dc-cluster", "fw-multi-01",
          "fw-fpr-01", "ep-win-001", "ep-lnx-001")


# ---------------------------------------------------------------- the fleet


def build_repo(dest: Path, n: int) -> Path:
    """A copy of the example repository whose inventory holds N clones of SHAPES."""
    for d in ("desired", "inventory"):
        shutil.copytree(ROOT / d, dest / d)
    inv = yaml.safe_load((dest / "inventory/devices.yaml").read_text())
    by_name = {d["name"]: d for d in inv["devices"]}
    missing = [s for s in SHAPES if s not in by_name]
    if missing:
        raise SystemExit(f"the example inventory lacks {missing}; update SHAPES")
    overrides = yaml.safe_load((dest / "desired/devices.yaml").read_text())["devices"]
    per_shape = {o["name"]: o for o in overrides}
    devices, device_overrides = [], []
    for i in range(n):
        shape = SHAPES[i % len(SHAPES)]
        name = f"{shape}-{i:03d}"
        devices.append({**by_name[shape], "name": name,
                        "address": f"https://127.0.0.1:18443/d/{name}"})
        if shape in per_shape:
            device_overrides.append({**per_shape[shape], "name": name})
    inv["devices"] = devices
    (dest / "inventory/devices.yaml").write_text(yaml.safe_dump(inv, sort_keys=False))
    (dest / "desired/devices.yaml").write_text(yaml.safe_dump({"devices": device_overrides},
                                                              sort_keys=False))
    return dest


def fleet_doc(desired: DesiredState, seed: int) -> dict[str, Any]:
    """The twin with per-device timings and slow links drawn from `seed` (identical per call).

    Each clone is the example twin's curated device of its shape (versions, disks, units), so
    clusters get their disk1 and the pair its two HA hops, renamed."""
    example, _ = load_desired(DirectorySource(ROOT))
    doc, skipped = twin_fleet({s: example.inventory[s] for s in SHAPES}, example.images)
    if skipped:
        raise SystemExit(f"cannot simulate: {skipped}")
    shapes = {d["name"]: d for d in doc["devices"]}
    rnd = random.Random(seed)
    devices = []
    for name in desired.inventory:
        shape = name.rsplit("-", 1)[0]
        dev = copy.deepcopy(shapes[shape])
        dev["name"] = name
        for m in dev.get("members", ()):
            if m["name"] == shape:
                m["name"] = name
        dev["timings"] = {"reload_seconds": rnd.choice((90, 180, 300, 420, 600)),
                          "ready_seconds": rnd.choice((20, 40, 60)),
                          "install_seconds": rnd.choice((60, 120, 240, 360))}
        if rnd.random() < 0.5:
            # 64 KiB/s .. 1 MiB/s: a 10 MiB image takes 10 s .. 160 s of simulated time
            bps = rnd.choice((64, 128, 256, 512, 1024)) * 1024
            dev.setdefault("faults", []).append({"kind": "slow-link", "bytes_per_second": bps})
        devices.append(dev)
    return {**doc, "devices": devices}


@dataclass
class Timeline(Events):
    """Wall-clock start and end of every device run (the scheduler's view)."""

    start: dict[str, float] = field(default_factory=dict)
    end: dict[str, float] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)

    def device_started(self, device: str, steps: int) -> None:
        self.start[device] = time.perf_counter()

    def device_finished(self, device: str, status: JobDeviceStatus, state: Any, message: str) -> None:
        self.end[device] = time.perf_counter()
        self.status[device] = f"{status}" + (f": {message}" if status is not JobDeviceStatus.SUCCEEDED else "")

    def durations(self) -> dict[str, float]:
        return {d: self.end[d] - self.start[d] for d in self.start if d in self.end}


@dataclass
class Lab:
    root: Path
    images: Path
    time_scale: float
    seed: int

    def fleet(self, desired: DesiredState) -> SimFleet:
        spec = fleet_from_dict(fleet_doc(desired, self.seed), source="bench twin")
        return SimFleet(spec, SimCredentials("admin", PASSWORD, TOKEN), ScaledClock(self.time_scale))

    def session(self, fleet: SimFleet, state: Path) -> Session:
        app = create_app(fleet)

        def factory(tls: TlsSettings, names: Any) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

        runner = RunnerOptions(retry=RetryPolicy(attempts=4, initial=1.0, maximum=5.0), poll=0.05,
                               ignore_windows=True)
        ws = Workspace(self.root, self.images, str(state), client_factory=factory,
                       driver_options=DriverOptions(poll_interval=5.0), runner=runner)
        return Session(ws, actor="bench")


def request(c: int) -> JobRequest:
    return JobRequest(order=Order.PARALLEL, max_parallel=c, ignore_windows=True)


def check(timeline: Timeline, expected: Sequence[str], what: str) -> None:
    bad = {d: s for d, s in timeline.status.items() if not s.startswith("succeeded")}
    missing = set(expected) - set(timeline.status)
    if bad or missing:
        raise SystemExit(f"{what}: not every device succeeded: {bad} missing {sorted(missing)}")


async def work_conserving(lab: Lab, desired: DesiredState, c: int, tmp: Path
                          ) -> tuple[float, Timeline, list[str]]:
    fleet = lab.fleet(desired)
    async with lab.session(fleet, tmp / "wc.db") as s:
        saved, resolved = await s.plan(desired)
        names = [d.device for d in saved.plan.devices if d.steps and not d.blocked]
        job = s.create(saved, request(c), resolved)
        timeline = Timeline()
        t0 = time.perf_counter()
        result = await s.run(job, desired, events=timeline)
        makespan = time.perf_counter() - t0
    check(timeline, names, "work-conserving")
    if not result.ok:
        raise SystemExit(f"work-conserving job ended {result.job.status}")
    return makespan, timeline, names


async def batch_by_batch(lab: Lab, desired: DesiredState, c: int, order: Sequence[str], tmp: Path
                         ) -> tuple[float, Timeline]:
    """Start C devices, wait for all of them, start the next C (one job per batch)."""
    fleet = lab.fleet(desired)
    async with lab.session(fleet, tmp / "batch.db") as s:
        snapshot = await s.discover(desired)
        jobs = []
        for i in range(0, len(order), c):
            saved, resolved = await s.plan(desired, order[i:i + c], snapshot=snapshot)
            jobs.append(s.create(saved, request(c), resolved))
        timeline = Timeline()
        t0 = time.perf_counter()
        for job in jobs:
            result = await s.run(job, desired, events=timeline)
            if not result.ok:
                raise SystemExit(f"batch job ended {result.job.status}")
        makespan = time.perf_counter() - t0
    check(timeline, order, "batch-by-batch")
    return makespan, timeline


def bound(durations: dict[str, float], c: int) -> tuple[float, float, float]:
    longest = max(durations.values())
    area = sum(durations.values()) / c
    return max(longest, area), longest, area


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["RECONCILER_FW_PASSWORD"] = PASSWORD
    os.environ["RECONCILER_AGENT_TOKEN"] = TOKEN
    os.environ.pop("RECONCILER_STATE", None)
    os.environ.pop("RECONCILER_HOME", None)
    with tempfile.TemporaryDirectory(prefix="bench-makespan-") as tmpdir:
        tmp = Path(tmpdir)
        root = build_repo(tmp / "repo", args.devices)
        images = tmp / "images"
        desired0, _ = load_desired(DirectorySource(root))
        repo = ImageRepository(images)
        for image in desired0.images.values():
            repo.fetch(image)
        desired = load_desired_state(root)[0]
        lab = Lab(root, images, args.time_scale, args.seed)
        runs = []
        for r in range(args.repeat):
            run_dir = tmp / f"run{r}"
            run_dir.mkdir()
            wc, wc_tl, order = await work_conserving(lab, desired, args.parallel, run_dir)
            bt, bt_tl = await batch_by_batch(lab, desired, args.parallel, order, run_dir)
            lb, longest, area = bound(wc_tl.durations(), args.parallel)
            lb_b, _, _ = bound(bt_tl.durations(), args.parallel)
            run = {"makespan": wc, "bound": lb, "longest": longest, "area": area,
                   "ratio": wc / lb, "batch": bt, "batch_bound": lb_b,
                   "speedup": bt / wc, "devices": len(order),
                   "order": order,
                   "durations": {d: round(v, 4) for d, v in wc_tl.durations().items()}}
            runs.append(run)
            print(f"run {r + 1}/{args.repeat}: makespan {wc:.2f}s  bound {lb:.2f}s "
                  f"(longest {longest:.2f}s, work/C {area:.2f}s)  ratio {wc / lb:.3f}  "
                  f"batch {bt:.2f}s  speed-up {bt / wc:.2f}x", flush=True)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return {"benchmark": "rollout_makespan",
            "params": {"devices": args.devices, "parallel": args.parallel, "repeat": args.repeat,
                       "time_scale": args.time_scale, "seed": args.seed},
            "median": {k: round(med(k), 4) for k in ("makespan", "bound", "longest", "area",
                                                      "ratio", "batch", "batch_bound", "speedup")},
            "target": {"ratio_max": 1.10, "met": med("ratio") <= 1.10 and med("speedup") > 1.0},
            "runs": runs}


def table(res: dict[str, Any]) -> str:
    m, p = res["median"], res["params"]
    rows = [("devices / max_parallel", f"{res['runs'][0]['devices']} / {p['parallel']}"),
            ("work-conserving makespan", f"{m['makespan']:.2f} s"),
            ("lower bound", f"{m['bound']:.2f} s (longest {m['longest']:.2f} s, work/C {m['area']:.2f} s)"),
            ("makespan / bound", f"{m['ratio']:.3f} (target <= 1.10)"),
            ("batch-by-batch makespan", f"{m['batch']:.2f} s"),
            ("speed-up vs batch", f"{m['speedup']:.2f}x"),
            ("target met", "yes" if res["target"]["met"] else "no")]
    w = max(len(k) for k, _ in rows)
    head = f"rollout makespan — medians of {p['repeat']} run(s), time scale {p['time_scale']:g}"
    return "\n".join([head] + [f"  {k.ljust(w)}  {v}" for k, v in rows])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=32, help="fleet size (default 32)")
    ap.add_argument("--parallel", type=int, default=4, help="max_parallel C (default 4)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per strategy (default 3)")
    ap.add_argument("--time-scale", type=float, default=600.0,
                    help="simulated seconds per wall second (default 600)")
    ap.add_argument("--seed", type=int, default=7, help="fleet heterogeneity seed")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/rollout_makespan.json")
    args = ap.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    from reconciler.logging import configure_logging

    configure_logging(verbosity=-1)  # info lines (one per discovery) would drown the figures
    from bench.machine import banner, finish, machine

    info = machine()
    print(banner(info), flush=True)
    t0 = time.perf_counter()
    res = asyncio.run(main_async(args))
    res["wall_seconds"] = round(time.perf_counter() - t0, 1)
    end_line = finish(info)
    res["machine"] = info
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(banner(info))
    print(table(res))
    print(f"{end_line}; wrote {args.out} ({res['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
