"""The machine a benchmark ran on and how busy it was: every benchmark prints this with its
figures and keeps it in its JSON, so that figures from a shared machine are read as such and a
rerun on a quiet one can be compared."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def loadavg() -> list[float]:
    """1, 5 and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    try:
        import yaml

        libyaml = bool(getattr(yaml, "__with_libyaml__", False))
    except ImportError:
        libyaml = False
    load = loadavg()
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem, 1),
            "python": platform.python_version(), "libyaml": libyaml,
            "platform": platform.platform(), "loadavg_start": load[0],
            "loadavg_start_1_5_15": load}


def banner(info: dict[str, Any]) -> str:
    return (f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, Python "
            f"{info['python']}, libyaml {'yes' if info['libyaml'] else 'NO'}; load average "
            + " ".join(f"{x:.2f}" for x in info["loadavg_start_1_5_15"]))


def finish(info: dict[str, Any]) -> str:
    """Record the load average at the end in `info`; the line to print."""
    load = loadavg()
    info["loadavg_end"], info["loadavg_end_1_5_15"] = load[0], load
    return "load average at the end: " + " ".join(f"{x:.2f}" for x in load)
