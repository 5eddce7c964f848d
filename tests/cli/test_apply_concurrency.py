"""Two `reconciler apply --auto-approve` processes started at the same moment on the same
fleet and the same state store (PostgreSQL, and SQLite on one host): every device is upgraded
exactly once — the leases decide who works on it, never both."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.sim_process import SimRepo, planned_steps, reconciler, sim_repo


@pytest.fixture
def sim(tmp_path: Path, example_images: Path) -> Iterator[SimRepo]:
    with sim_repo(tmp_path / "repo", example_images) as repo:
        yield repo


def _reloads(sim: SimRepo, name: str) -> dict[str, int]:
    return {u["name"]: u["reloads"] for u in sim.state(name).get("units", ())}


def _two_runners(sim: SimRepo, state: str) -> None:
    r = reconciler(sim, "state", "migrate", "--state", state)
    assert r.returncode == 0, r.stdout + r.stderr
    steps = planned_steps(sim, "--state", state)
    needed: dict[str, dict[str, int]] = {}
    for device, device_steps in steps.items():
        for s in device_steps:
            if s["action"] == "reload":
                units = needed.setdefault(device, {})
                units[s["member"]] = units.get(s["member"], 0) + 1
    devices = [d["name"] for d in sim.control("GET", "/devices")]
    before = {n: _reloads(sim, n) for n in devices}
    assert steps and needed  # the example fleet drifts: there is work to race for

    procs = [subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve",
         "--ignore-maintenance-windows", "--state", state, "--actor", actor],
        cwd=sim.root, env=sim.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for actor in ("runner-a", "runner-b")]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode in (0, 1) and "Traceback" not in out, out

    listed = json.loads(reconciler(sim, "jobs", "list", "--format", "json", "--state",
                                   state).stdout)
    runs: dict[str, list[tuple[int, str, str]]] = {}
    for j in listed:
        doc = json.loads(reconciler(sim, "jobs", "show", str(j["id"]), "--format", "json",
                                    "--state", state).stdout)
        for d in doc["devices"]:
            runs.setdefault(d["device"], []).append((j["id"], d["status"], d["message"]))
    for device in steps:
        done = [r for r in runs.get(device, []) if r[1] == "succeeded"]
        assert len(done) == 1, (device, runs.get(device), outs)
        for _, status, message in runs[device]:
            # the other runner never touched it: locked (lease) or not started after that
            assert status in ("succeeded", "skipped", "aborted"), (device, runs[device])
            if status == "skipped":
                assert "DEVICE_LOCKED" in message or "DEVICE_STATE" in message, message
    assert set(runs) <= set(steps), runs  # no job touched a device without planned steps
    for name in devices:
        now = _reloads(sim, name)
        done_reloads = {u: now[u] - before[name][u] for u in now if now[u] != before[name][u]}
        assert done_reloads == needed.get(name, {}), (name, done_reloads, needed.get(name))
    assert planned_steps(sim, "--state", state) == {}  # the whole fleet is in sync now
    if len(listed) == 2:  # both planned the work: the loser's devices are the winner's
        assert any(r[1] == "skipped" for rs in runs.values() for r in rs), runs


@pytest.mark.postgres
def test_two_apply_processes_on_postgresql_upgrade_each_device_once(sim: SimRepo,
                                                                    pg_url: str) -> None:
    _two_runners(sim, pg_url)


def test_two_apply_processes_on_sqlite_upgrade_each_device_once(sim: SimRepo) -> None:
    _two_runners(sim, str(sim.root / ".reconciler" / "shared.db"))


