"""Plan scale: load + validate + resolve + plan a generated fleet, against the parse floor.

    python bench/plan_scale.py [--sizes 1000,10000,100000] [--repeat 3] [--profile SIZE]

For each size, `bench/fleetgen.py` writes a realistic fleet (groups and a few hundred overrides,
not one policy entry per device; a ~1.3 KB-per-device discovery snapshot) into a temporary
directory. Then, `--repeat` times, two fresh Python processes run back to back:

  floor   only parses the same files: `yaml.load(CSafeLoader)` of every desired/*.yaml and
          inventory/*.yaml and `json.loads` of snapshot.json, with the cyclic garbage collector
          paused exactly as the real path pauses it (reconciler.core.bulk.gc_paused) -- the
          fair floor; the same parse with the collector left on is reported too (`floor+gc`).
  plan    what `reconciler plan` does before rendering: load_desired (YAML, schema validation,
          model, desired-state checks), load_snapshot (JSON, schema, model), resolve_fleet,
          plan_fleet (drift, every check, steps, fingerprints).

Each process reports its own in-process stage timings, its CPU time and its peak RSS
(resource.getrusage ru_maxrss, so the memory figure is per size and per kind of process); the
parent also times the whole process (interpreter start and imports included). Figures are
medians over the repeats; `x floor` is the median of the per-pair ratios plan/floor (wall
clock), each pair measured back to back so that load from other processes on the machine affects
both sides alike, and `x CPU` the same with CPU time, which such load disturbs far less. Both
stages are single-threaded: on an otherwise idle machine wall-clock time is about CPU time.

Prints a table and writes bench/results/plan_scale.json. `--profile SIZE` runs the plan stages
once under cProfile instead and prints the top functions.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from bench.machine import banner, finish, machine  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ------------------------------------------------------------------------------ child processes


def child_floor(root: Path, gc_on: bool) -> dict[str, Any]:
    import yaml

    from reconciler.core.bulk import gc_paused

    files = sorted([*root.glob("desired/*.yaml"), *root.glob("inventory/*.yaml")])
    c0 = time.process_time()
    t0 = time.perf_counter()
    if gc_on:
        docs = [yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader) for p in files]
        snap = json.loads((root / "snapshot.json").read_bytes())
    else:
        with gc_paused():
            docs = [yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader) for p in files]
            snap = json.loads((root / "snapshot.json").read_bytes())
    t = time.perf_counter() - t0
    cpu = time.process_time() - c0
    assert docs and snap["devices"]
    return {"parse": t, "cpu": cpu, "peak_mb": _peak_mb()}


def child_plan(root: Path) -> dict[str, Any]:
    from reconciler.contract import Severity
    from reconciler.core.model import ImageStatus
    from reconciler.core.plan import plan_fleet
    from reconciler.core.plan.planner import observed_models
    from reconciler.core.resolve import resolve_fleet
    from reconciler.loader import DirectorySource, load_desired
    from reconciler.loader.snapshot import load_snapshot

    out: dict[str, Any] = {}
    cpu_at = [time.process_time()]
    c0 = cpu_at[0]
    t0 = time.perf_counter()
    desired, findings = load_desired(DirectorySource(root))
    t1 = time.perf_counter()
    cpu_at.append(time.process_time())
    errors = [f.line() for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise SystemExit("the generated fleet does not load:\n" + "\n".join(errors[:5]))
    snapshot = load_snapshot(root / "snapshot.json")
    t2 = time.perf_counter()
    cpu_at.append(time.process_time())
    resolved, rfind = resolve_fleet(desired, observed_models(snapshot))
    t3 = time.perf_counter()
    cpu_at.append(time.process_time())
    status = {n: ImageStatus.PRESENT for n in desired.images}
    plan = plan_fleet(desired, resolved, snapshot, status, findings=rfind)
    t4 = time.perf_counter()
    cpu_at.append(time.process_time())
    cpu = time.process_time() - c0
    s = plan.summary
    out.update(load_desired=t1 - t0, load_snapshot=t2 - t1, resolve=t3 - t2, plan=t4 - t3,
               total=t4 - t0, cpu=cpu, peak_mb=_peak_mb(),
               cpu_stages={k: b - a for k, a, b in zip(
                   ("load_desired", "load_snapshot", "resolve", "plan"), cpu_at, cpu_at[1:])},
               summary={"devices": s.devices, "in_sync": s.in_sync, "changed": s.changed,
                        "blocked": s.blocked, "steps": s.steps, "errors": s.errors,
                        "warnings": s.warnings})
    return out


def child_profile(root: Path) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    child_plan(root)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


# ------------------------------------------------------------------------------ parent


def run_child(kind: str, root: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(root)],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process"] = wall
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_size(n: int, repeat: int, seed: int) -> dict[str, Any]:
    from bench.fleetgen import generate_fleet

    with tempfile.TemporaryDirectory(prefix=f"plan-scale-{n}-") as tmp:
        t0 = time.perf_counter()
        info = generate_fleet(n, seed, tmp)
        gen = time.perf_counter() - t0
        floors, floors_gc, plans = [], [], []
        for _ in range(repeat):
            floors.append(run_child("floor", Path(tmp)))
            plans.append(run_child("plan", Path(tmp)))
        floors_gc.append(run_child("floor-gc", Path(tmp)))
    ratios = [p["total"] / f["parse"] for p, f in zip(plans, floors, strict=True)]
    cpu_ratios = [p["cpu"] / f["cpu"] for p, f in zip(plans, floors, strict=True)]
    keys = ("load_desired", "load_snapshot", "resolve", "plan", "total", "cpu", "process", "peak_mb")
    return {
        "devices": n, "units": info.members, "groups": info.groups, "overrides": info.overrides,
        "input_mb": round(sum(info.files.values()) / 1e6, 1), "generate_s": round(gen, 2),
        "floor_s": median([f["parse"] for f in floors]),
        "floor_cpu_s": median([f["cpu"] for f in floors]),
        "floor_gc_s": median([f["parse"] for f in floors_gc]),
        "floor_peak_mb": median([f["peak_mb"] for f in floors]),
        **{f"{k}_s" if k != "peak_mb" else k: median([p[k] for p in plans]) for k in keys},
        "cpu_stages_s": {k: median([p["cpu_stages"][k] for p in plans])
                         for k in ("load_desired", "load_snapshot", "resolve", "plan")},
        "ratio_to_floor": median(ratios),
        "cpu_ratio_to_floor": median(cpu_ratios),
        "runs": {"floor": [f["parse"] for f in floors], "plan_total": [p["total"] for p in plans],
                 "floor_cpu": [f["cpu"] for f in floors], "plan_cpu": [p["cpu"] for p in plans],
                 "ratios": ratios},
        "summary": plans[-1]["summary"],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'devices':>8} {'units':>7} {'input MB':>8} {'floor s':>7} {'desired':>7} {'snapshot':>8} "
          f"{'resolve':>7} {'plan':>5} {'total s':>7} {'CPU s':>6} {'x floor':>7} {'process':>7} "
          f"{'peak MB':>7} {'floor+gc':>8} {'floor CPU':>9} {'x CPU':>9}")
    for r in rows:
        print(f"{r['devices']:>8,} {r['units']:>7,} {r['input_mb']:>8.1f} {r['floor_s']:>7.2f} "
              f"{r['load_desired_s']:>7.2f} {r['load_snapshot_s']:>8.2f} {r['resolve_s']:>7.2f} "
              f"{r['plan_s']:>5.2f} {r['total_s']:>7.2f} {r['cpu_s']:>6.2f} {r['ratio_to_floor']:>7.2f} "
              f"{r['process_s']:>7.2f} {r['peak_mb']:>7.0f} {r['floor_gc_s']:>8.2f} "
              f"{r['floor_cpu_s']:>9.2f} {r['cpu_ratio_to_floor']:>9.2f}")
    print("seconds are wall-clock medians; total = load_desired + load_snapshot + resolve + plan in "
          "one process, CPU s its CPU time;\nx floor = median of total/floor over back-to-back pairs; "
          "process = the whole `python` run incl. start-up and exit; peak = max RSS of that run;\n"
          "floor+gc = the same parse with the garbage collector left on (the real path pauses it); "
          "x CPU = CPU s / floor CPU s,\nwhich other processes on the machine disturb much less than "
          "wall-clock time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", type=int, metavar="SIZE", help="cProfile the plan stages once")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, root = a.child[0], Path(a.child[1])
        if kind == "profile":
            child_profile(root)
            return
        result = (child_floor(root, gc_on=False) if kind == "floor" else
                  child_floor(root, gc_on=True) if kind == "floor-gc" else child_plan(root))
        print(json.dumps(result))
        return
    if a.profile:
        from bench.fleetgen import generate_fleet

        with tempfile.TemporaryDirectory() as tmp:
            generate_fleet(a.profile, a.seed, tmp)
            subprocess.run([sys.executable, __file__, "--child", "profile", tmp], check=True, cwd=ROOT)
        return

    sizes = [int(x) for x in a.sizes.split(",") if x]
    info = machine()
    print(f"{banner(info)} (other processes share the CPUs: medians of {a.repeat} runs, ratios "
          "measured back to back)")
    rows = []
    t0 = time.perf_counter()
    for n in sizes:
        rows.append(bench_size(n, a.repeat, a.seed))
        r = rows[-1]
        print(f"  {n:,} devices: total {r['total_s']:.2f} s (CPU {r['cpu_s']:.2f} s), floor "
              f"{r['floor_s']:.2f} s, x{r['ratio_to_floor']:.2f}, peak {r['peak_mb']:.0f} MB", flush=True)
    end_line = finish(info)
    elapsed = time.perf_counter() - t0
    print()
    print(banner(info))
    print_table(rows)
    big = rows[-1]
    print(f"\nplan of {big['devices']:,}: {big['summary']}")
    print(f"targets at 100,000 devices: total < 10 s, peak < 2048 MB, <= 3x the parse floor; "
          f"benchmark took {elapsed:.0f} s; {end_line}")
    for r in rows:
        if r["devices"] == 100_000:
            misses = []
            if r["total_s"] >= 10:
                misses.append(f"total {r['total_s']:.1f} s is {r['total_s'] - 10:.1f} s over 10 s "
                              f"(CPU time {r['cpu_s']:.1f} s; load average "
                              f"{info['loadavg_start']:.1f} -> {info['loadavg_end']:.1f})")
            if r["peak_mb"] >= 2048:
                misses.append(f"peak {r['peak_mb']:.0f} MB is over 2048 MB")
            if r["ratio_to_floor"] > 3:
                misses.append(f"{r['ratio_to_floor']:.2f}x the floor is over 3x")
            print("100,000 devices: " + ("all targets met" if not misses else "; ".join(misses)))
    if not a.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = {"benchmark": "plan_scale", "command": "python bench/plan_scale.py " + " ".join(sys.argv[1:]),
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": info,
               "repeat": a.repeat, "seconds": round(elapsed, 1), "sizes": rows}
        (RESULTS / "plan_scale.json").write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {RESULTS / 'plan_scale.json'}")


if __name__ == "__main__":
    gc.collect()
    main()
