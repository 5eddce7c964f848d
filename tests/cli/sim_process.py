"""A copy of the example repository served by a real `reconciler simulate` process on loopback
HTTPS, with its image repository filled, for end-to-end tests of `apply`, `jobs` and `device`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import PROJECT_ROOT

# short reloads: a wide margin below the 900 s reload timeout whatever the time scale
TIMINGS = {"reload_seconds": 120, "ready_seconds": 20, "install_seconds": 30}
# an extra active/standby pair one release behind (a single pass, no HA hops)
EXTRA_PAIR = """
  - name: fw-pair-2
    address: https://127.0.0.1:18443/d/fw-pair-2
    driver: asa
    model: ASA5585-SSP-20
    mode: active-standby
    site: tokyo-dc
    tags: [edge]
"""
EXTRA_TARGET = """  - name: fw-pair-2
    images:
      asa: "9.4(1)"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(proc: subprocess.Popen[str], port: int, timeout: float = 30) -> None:
    """Until the simulator process accepts connections (fail the test if it dies first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"the simulator did not start:\n{out}")
            time.sleep(0.05)


@dataclass
class SimRepo:
    root: Path
    port: int
    env: dict[str, str]  # the credentials (and a clean environment) for reconciler processes
    proc: subprocess.Popen[str]

    @property
    def ca(self) -> Path:
        return self.root / ".reconciler" / "sim" / "ca.pem"

    def control(self, method: str, path: str, **kw: Any) -> Any:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        with httpx.Client(verify=ctx, base_url=f"https://127.0.0.1:{self.port}") as c:
            r = c.request(method, f"/_sim{path}", **kw)
            r.raise_for_status()
            return r.json()

    def state(self, device: str) -> dict[str, Any]:
        return self.control("GET", f"/devices/{device}")  # type: ignore[no-any-return]

    def fault(self, device: str, fault: dict[str, Any]) -> None:
        self.control("POST", f"/devices/{device}/faults", json=fault)

    def running(self, device: str) -> dict[str, str]:
        return {u["name"]: u["running_version"] for u in self.state(device)["units"]}


@contextmanager
def sim_repo(dest: Path, images: Path, *, time_scale: float = 500.0) -> Iterator[SimRepo]:
    from reconciler.loader import DirectorySource, load_desired
    from reconciler.sim.example import twin_fleet

    port = free_port()
    for d in ("desired", "inventory"):
        shutil.copytree(PROJECT_ROOT / d, dest / d)
    inv = dest / "inventory" / "devices.yaml"
    inv.write_text((inv.read_text() + EXTRA_PAIR).replace("127.0.0.1:18443",
                                                          f"127.0.0.1:{port}"))
    over = dest / "desired" / "devices.yaml"
    over.write_text(over.read_text() + EXTRA_TARGET)
    shutil.copytree(images, dest / ".reconciler" / "images")
    desired, _ = load_desired(DirectorySource(dest))
    doc, _ = twin_fleet(desired.inventory, desired.images)
    fleet_file = dest / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump({**doc, "timings": TIMINGS}, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["CI"] = "true"  # plain progress lines
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "simulate", "--repo", str(dest),
                             "--fleet", str(fleet_file), "--listen", f"127.0.0.1:{port}",
                             "--time-scale", str(time_scale)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_listening(proc, port)
        exports = (dest / ".reconciler" / "sim" / "env").read_text().splitlines()
        env.update(dict(line.removeprefix("export ").split("=", 1) for line in exports))
        yield SimRepo(dest, port, env, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def reconciler(repo: SimRepo, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as its own process (like an operator or CI would)."""
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=repo.root,
                          env=repo.env, capture_output=True, text=True, timeout=timeout)


def transcript_has(db: Path, *needles: str) -> bool:
    """Whether the SQLite store's transcript holds any of these texts (read-only, never blocks
    the process under test for long)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            for needle in needles:
                row = conn.execute("SELECT count(*) FROM transcript WHERE text LIKE ?",
                                   (f"%{needle}%",)).fetchone()
                if row and row[0]:
                    return True
    except sqlite3.Error:
        return False
    return False


def under_git(repo: SimRepo) -> Any:
    """Put the simulator's repository copy under git (one commit on main), for `daemon` and
    plan provenance; run state, the fleet file and saved plans stay untracked."""
    from tests.gitops.repos import FleetRepo

    (repo.root / ".gitignore").write_text("/.reconciler/\n/fleet.yaml\n/*.json\n/*.log\n")
    fleet = FleetRepo(repo.root)
    fleet.commit("the fleet")
    return fleet


def planned_steps(repo: SimRepo, *state: str) -> dict[str, list[dict[str, Any]]]:
    """device -> its steps in a fresh plan of the whole fleet (devices with steps only)."""
    r = reconciler(repo, "plan", "--discover", "--format", "json", *state)
    assert r.stdout.strip(), r.stderr
    return {d["device"]: d["steps"] for d in json.loads(r.stdout)["devices"] if d.get("steps")}


def planned_reloads(repo: SimRepo, *state: str) -> dict[str, dict[str, int]]:
    """device -> unit -> how many reloads a fresh plan gives that unit: what ONE upgrade of
    each device costs."""
    out: dict[str, dict[str, int]] = {}
    for device, steps in planned_steps(repo, *state).items():
        for step in steps:
            if step["action"] == "reload":
                units = out.setdefault(device, {})
                units[step["member"]] = units.get(step["member"], 0) + 1
    return out
