"""`reconciler daemon` stopped by SIGTERM while it upgrades: a real daemon process against a
real simulator process (loopback HTTPS, time-scaled), a real git repository and SQLite store.

First signal: no new device starts, the running ones finish their whole run, the job ends and
the daemon exits 0. Second signal: running devices stop before their next step (never inside
one) and end failed with STOPPED; the next run finishes them without repeating a reload."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.sim_process import (SimRepo, planned_reloads, reconciler, sim_repo,
                                  transcript_has, under_git)

RELOAD_STARTED = ("reload noconfirm", "failover reload-standby", "failover exec mate reload",
                  "cluster exec unit")
STOP_BOUND = 120.0  # seconds: running devices finish their run (simulated reloads of ~1.4 s)


@pytest.fixture
def sim(tmp_path: Path, example_images: Path) -> Iterator[SimRepo]:
    # slow enough that a reload is still running when the signal arrives
    with sim_repo(tmp_path / "repo", example_images, time_scale=100) as repo:
        fleet = under_git(repo)
        yield repo
        fleet.close()


def start_daemon(sim: SimRepo, *extra: str) -> subprocess.Popen[str]:
    log = open(sim.root / "daemon.log", "w")  # noqa: SIM115 - closed by the process's end
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "daemon", "--repo", str(sim.root), "--auto-apply",
         "--ignore-maintenance-windows", "--interval", "1h", "--jitter", "0", *extra],
        cwd=sim.root, env=sim.env, stdout=log, stderr=subprocess.STDOUT, text=True)


def wait_for_reload(sim: SimRepo, proc: subprocess.Popen[str]) -> None:
    db = sim.root / ".reconciler" / "state.db"
    deadline = time.monotonic() + 120
    while not transcript_has(db, *RELOAD_STARTED):
        assert proc.poll() is None, (sim.root / "daemon.log").read_text()
        assert time.monotonic() < deadline, "no device run reached a reload"
        time.sleep(0.02)


def wait_exit(sim: SimRepo, proc: subprocess.Popen[str], bound: float = STOP_BOUND) -> int:
    try:
        return proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        pytest.fail(f"the daemon did not stop within {bound}s after SIGTERM:\n"
                    + (sim.root / "daemon.log").read_text()[-4000:])


def jobs(sim: SimRepo) -> list[dict[str, Any]]:
    r = reconciler(sim, "jobs", "list", "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def job(sim: SimRepo, job_id: int) -> dict[str, Any]:
    r = reconciler(sim, "jobs", "show", str(job_id), "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def at_target(state: dict[str, Any], new_images: dict[str, str]) -> bool:
    """Every image the job installed is what the device runs (images are named by file)."""
    if state["driver"] == "agent":
        return state["version"] in new_images.get("agent", state["version"])
    ok = all(u["running_image"].endswith(f":/{new_images['asa']}") for u in state["units"]) \
        if "asa" in new_images else True
    if "asdm" in new_images:
        ok = ok and str(state["asdm"]).endswith(new_images["asdm"])
    return ok


def would_boot(state: dict[str, Any], unit: dict[str, Any]) -> str:
    """What a reload of this unit would boot now: the first saved boot entry present on the
    unit, else the image it runs (the simulator's — and the ASA's — rule for a plain register)."""
    for path in state["saved_boot"]:
        disk, _, name = path.partition(":/")
        if name in unit["disks"].get(disk, {}).get("files", {}):
            return path
    return str(unit["running_image"])


def unit_consistency(state: dict[str, Any]) -> list[str]:
    """Problems that would mean a unit was left inside a step."""
    problems = []
    for u in state.get("units", ()):
        if u["state"] != "up":
            problems.append(f"{state['name']}/{u['name']} is {u['state']}")
        elif would_boot(state, u) != u["running_image"]:
            problems.append(f"{state['name']}/{u['name']} runs {u['running_image']} but would "
                            f"boot {would_boot(state, u)}")
    return problems


def _sigterm_mid_reload(sim: SimRepo, *, times: int) -> tuple[int, str]:
    """Start the daemon, send it SIGTERM `times` times once a unit reloads; its exit code and log."""
    daemon = start_daemon(sim)
    try:
        wait_for_reload(sim, daemon)
        for i in range(times):
            if i:
                time.sleep(0.05)
            daemon.send_signal(signal.SIGTERM)
        code = wait_exit(sim, daemon)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)
    return code, (sim.root / "daemon.log").read_text()


def test_sigterm_mid_run_finishes_running_devices_and_exits_0(sim: SimRepo) -> None:
    before = {n: sim.state(n) for n in _devices(sim)}
    code, log = _sigterm_mid_reload(sim, times=1)
    assert code == 0, log[-4000:]
    assert '"event": "shutdown_requested"' in log and "Traceback" not in log

    [listed] = jobs(sim)
    # finished, not left deploying; the first SIGTERM is an abort (as a Ctrl-C of `apply` and
    # `reconciler jobs abort` are): a job with devices that never started ends `aborted`
    assert listed["status"] in ("deployed", "aborted"), listed
    doc = job(sim, listed["id"])
    statuses = {d["device"]: d["status"] for d in doc["devices"]}
    assert "succeeded" in statuses.values()  # the run that was reloading finished
    assert set(statuses.values()) <= {"succeeded", "aborted"}, statuses
    for d in doc["devices"]:
        now = sim.state(d["device"])
        if d["status"] == "succeeded":
            assert at_target(now, d["new_images"]), (d, now)
        else:  # never started: not one command changed it
            assert now.get("units") == before[d["device"]].get("units") or \
                now.get("version") == before[d["device"]].get("version"), d["device"]
            assert _reloads(now) == _reloads(before[d["device"]]), d["device"]
    for name in _devices(sim):
        assert unit_consistency(sim.state(name)) == [], name
    assert all(s["to"] != "upgrade-in-progress" or _later_left(doc, s) for s in
               doc["device_states"]), doc["device_states"]


def _devices(sim: SimRepo) -> list[str]:
    return [d["name"] for d in sim.control("GET", "/devices")]


def _reloads(state: dict[str, Any]) -> dict[str, int]:
    return {u["name"]: u["reloads"] for u in state.get("units", ())}


def _later_left(doc: dict[str, Any], entry: dict[str, Any]) -> bool:
    """A device that entered upgrade-in-progress in the job also left it."""
    return any(c["device"] == entry["device"] and c["from"] == "upgrade-in-progress"
               for c in doc["device_states"])


def test_second_sigterm_stops_devices_between_steps_and_the_next_run_finishes(
        sim: SimRepo) -> None:
    before = {n: _reloads(sim.state(n)) for n in _devices(sim)}
    needed = planned_reloads(sim)
    code, log = _sigterm_mid_reload(sim, times=2)
    assert code == 0, log[-4000:]
    assert '"event": "shutdown_now"' in log and "Traceback" not in log

    [listed] = jobs(sim)
    assert listed["status"] == "failed", listed  # finished, every device accounted for
    doc = job(sim, listed["id"])
    statuses = {d["device"]: d["status"] for d in doc["devices"]}
    assert set(statuses.values()) <= {"succeeded", "failed", "aborted"}, statuses
    stopped = [d for d in doc["devices"] if d["status"] == "failed"]
    assert stopped, statuses  # the device that was reloading stopped before its next step
    for d in stopped:
        assert ": STOPPED stopped before step" in d["message"], d
        assert "second signal" in d["message"] and "DEVICE_LOCKED" not in d["message"]
    assert all(s["to"] != "upgrade-in-progress" or _later_left(doc, s) for s in
               doc["device_states"]), doc["device_states"]

    # no unit is left inside a step: the reload that was under way completes on its own and
    # every unit comes up (none rebooting forever, none in ROMMON)
    deadline = time.monotonic() + 30
    while any(u["state"] != "up" for n in _devices(sim) for u in sim.state(n).get("units", ())):
        assert time.monotonic() < deadline, {n: sim.state(n)["units"] for n in _devices(sim)
                                             if sim.state(n).get("units")}
        time.sleep(0.1)

    # the next run plans from what the devices run and finishes without repeating a reload
    again = reconciler(sim, "daemon", "--repo", str(sim.root), "--once", "--format", "json",
                       "--auto-apply", "--ignore-maintenance-windows", timeout=240)
    report = json.loads(again.stdout)
    assert again.returncode == 0, again.stdout + again.stderr
    assert report["job"] and report["job"]["status"] == "deployed", report["job"]
    final = reconciler(sim, "daemon", "--repo", str(sim.root), "--once", "--format", "json",
                       "--no-auto-apply")
    states = {d["device"]: d["state"] for d in json.loads(final.stdout)["devices"]}
    assert "drifting" not in states.values(), states
    for name in _devices(sim):
        now = _reloads(sim.state(name))
        # exactly the reloads one uninterrupted upgrade needs: none repeated, none skipped
        done = {u: now[u] - before[name][u] for u in now if now[u] != before[name][u]}
        assert done == needed.get(name, {}), (name, done, needed.get(name))
        assert unit_consistency(sim.state(name)) == [], name
