"""Planning at fleet scale: is `reconciler plan` dominated by reading the files?

Generates a fleet of N devices described by a handful of groups (not one policy entry per
device), with a realistic mix: standalone branch units, failover pairs, 4-unit clusters and agent
endpoints, about half of them drifting. Then times, best of --repeat runs:

  parse     YAML/JSON parsing alone (yaml CSafeLoader + json.loads): the floor
  load      load_desired + load_snapshot (parsing, schema checks, locations, model building)
  resolve   resolve_fleet
  plan      plan_fleet (drift, every check, steps, fingerprints)
  render    the plan as JSON

    python bench/plan_scale.py --devices 10000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.core.model import ImageStatus  # noqa: E402
from reconciler.core.plan import plan_fleet  # noqa: E402
from reconciler.core.plan.planner import observed_models  # noqa: E402
from reconciler.core.resolve import resolve_fleet  # noqa: E402
from reconciler.loader import DirectorySource, load_desired  # noqa: E402
from reconciler.loader.snapshot import load_snapshot  # noqa: E402
from reconciler.render.json import render_json  # noqa: E402

SITES = 16
DISK = {"name": "disk0", "size": 8_000_000_000, "free": 2_000_000_000,
        "files": [{"name": "asa933-smp-k8.bin", "size": 6029312}]}


def _unit(name: str, role: str, asa: str, asdm: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "role": role, "serial": f"JAF{i_hash(name):08d}",
            "reachable": True, "ram_mb": 16384, "running": {"asa": asa, "asdm": asdm},
            "disks": [DISK], "boot": ["disk0:/asa933-smp-k8.bin"], **kw}


def i_hash(text: str) -> int:
    return sum(ord(c) * 31 ** k for k, c in enumerate(text)) % 10**8


def generate(root: Path, n: int) -> None:
    (root / "desired").mkdir(parents=True)
    (root / "inventory").mkdir()
    shutil.copy(ROOT / "desired" / "images.yaml", root / "desired" / "images.yaml")
    groups = []
    for s in range(SITES):
        groups.append({"name": f"site-{s}-firewalls", "match": {"tags": [f"site-{s}", "fw"]},
                       "images": {"asa": "9.4(1)" if s % 2 else "9.3(3)", "asdm": "7.16(1)"},
                       "settings": {"reload_timeout": 600 + s}})
    groups.append({"name": "endpoints", "match": {"tags": ["endpoint"]},
                   "images": {"agent": "7.3.2.1006"}})
    (root / "desired" / "fleet.yaml").write_text(yaml.safe_dump(
        {"defaults": {"settings": {"backup_current_image": False, "max_parallel": 20}},
         "groups": groups}, sort_keys=False))
    inventory, observed = [], []
    for i in range(n):
        name, site = f"dev-{i:06d}", i % SITES
        kind = ("agent" if i % 20 == 0 else "cluster" if i % 10 == 1 else
                "pair" if i % 4 == 2 else "branch")
        drifting = (i // SITES) % 2 == 1  # about half of the fleet drifts
        target = "9.4(1)" if site % 2 else "9.3(3)"
        asa = {"9.4(1)": "9.3(3)", "9.3(3)": "9.2(3)"}[target] if drifting else target
        asdm = "7.4(1)" if drifting else "7.16(1)"
        agent = "7.3.1.2048" if drifting else "7.3.2.1006"
        entry: dict[str, Any] = {"name": name, "address": f"https://10.{i // 65536}.{i // 256 % 256}"
                                 f".{i % 256}/", "tags": [f"site-{site}"]}
        if kind == "agent":
            entry.update(driver="agent", platform="windows", tags=["endpoint"],
                         credentials={"token": "env:AGENT_TOKEN"})
            observed.append({"name": name, "driver": "agent", "model": "VXC 6215",
                             "platform": "windows", "mode": "standalone",
                             "running": {"agent": agent},
                             "members": [{"name": name, "role": "standalone",
                                          "running": {"agent": agent}}]})
        else:
            model = "ASA5506-X" if kind == "branch" else "ASA5585-SSP-20"
            entry.update(driver="asa", model=model, tags=[f"site-{site}", "fw"])
            if kind == "branch":
                mode, members = "standalone", [_unit(name, "standalone", asa, asdm)]
            elif kind == "pair":
                mode = "active-standby"
                members = [_unit(f"{name}-a", "active", asa, asdm),
                           _unit(f"{name}-b", "standby", asa, asdm, standby_ready=True)]
            else:
                mode = "cluster"
                members = [_unit(f"{name}-{u}", "control" if u == 1 else "data", asa, asdm,
                                 unit_id=u) for u in range(1, 5)]
            observed.append({"name": name, "driver": "asa", "model": model,
                             "platform": "asa5506x" if kind == "branch" else "asa5585",
                             "mode": mode, "running": {"asa": asa, "asdm": asdm},
                             "members": members})
        inventory.append(entry)
    (root / "inventory" / "devices.yaml").write_text(yaml.safe_dump(
        {"defaults": {"credentials": {"username": "admin", "password": "env:FW_PASSWORD"}},
         "devices": inventory}, sort_keys=False))
    (root / "snapshot.json").write_text(json.dumps(
        {"format_version": 1, "taken_at": "2024-05-01T00:00:00Z", "devices": observed}))


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        generate(root, args.devices)
        gen = time.perf_counter() - t0
        files = [*sorted((root / "desired").glob("*.yaml")), root / "inventory" / "devices.yaml"]
        size = sum(p.stat().st_size for p in files) + (root / "snapshot.json").stat().st_size

        def parse() -> None:
            for p in files:
                yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)
            json.loads((root / "snapshot.json").read_bytes())

        def load() -> Any:
            desired, findings = load_desired(DirectorySource(root))
            errors = [f.line() for f in findings if str(f.severity) == "error"]
            if errors:
                raise SystemExit("generated fleet does not load:\n" + "\n".join(errors[:5]))
            return desired, load_snapshot(root / "snapshot.json")

        t_parse, _ = best(parse, args.repeat)
        t_load, (desired, snapshot) = best(load, args.repeat)
        t_resolve, (resolved, rfind) = best(
            lambda: resolve_fleet(desired, observed_models(snapshot)), args.repeat)
        status = {n: ImageStatus.PRESENT for n in desired.images}
        t_plan, plan = best(lambda: plan_fleet(desired, resolved, snapshot, status,
                                               findings=rfind), args.repeat)
        t_render, text = best(lambda: render_json(plan), args.repeat)

    n = args.devices
    s = plan.summary
    print(f"fleet: {n} devices, {len(desired.groups)} groups, {size / 1e6:.1f} MB of input "
          f"(generated in {gen:.2f} s); plan: {s.changed} to change, {s.in_sync} in sync, "
          f"{s.blocked} blocked, {s.steps} steps, {len(text) / 1e6:.1f} MB JSON")
    print(f"{'stage':<10}{'seconds':>10}{'us/device':>12}{'x parse':>10}")
    for label, t in (("parse", t_parse), ("load", t_load), ("resolve", t_resolve),
                     ("plan", t_plan), ("render", t_render)):
        print(f"{label:<10}{t:>10.3f}{t / n * 1e6:>12.1f}{t / t_parse:>10.2f}")
    total = t_load + t_resolve + t_plan
    print(f"load+resolve+plan {total:.3f} s; planning is {t_plan / total:.0%} of it, "
          f"loading the files {t_load / total:.0%}")


if __name__ == "__main__":
    main()
