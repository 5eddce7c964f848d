"""`reconciler apply`, `jobs` and `device mark-operational` as an operator runs them: real
processes against a simulator process over loopback HTTPS, a real SQLite state store — and a
runner killed with SIGKILL mid-job, recovered by the next run."""

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

from tests.cli.sim_process import SimRepo, reconciler, sim_repo, transcript_has, under_git

APPLY = ("apply", "--ignore-maintenance-windows")


@pytest.fixture
def sim(tmp_path: Path, example_images: Path) -> Iterator[SimRepo]:
    with sim_repo(tmp_path / "repo", example_images) as repo:
        yield repo


def test_auto_approve_plans_prints_and_applies(sim: SimRepo) -> None:
    r = reconciler(sim, *APPLY, "--auto-approve", "--device", "fw-branch-01", "--device",
                   "fw-branch-03", "--ticket", "CHG-42")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "Plan: 1 device to change" in out and "DISK_SPACE" in out  # the plan comes first
    assert "blocked, not touched: fw-branch-03" in out
    assert "fw-branch-01 [12/12] check-version" in out  # progress lines (not a terminal)
    assert "deployed — to deploy 1, succeeded 1, failed 0" in out
    assert sim.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}
    assert sim.state("fw-branch-03")["units"][0]["reloads"] == 0

    listed = json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout)
    assert [(j["status"], j["ticket_id"]) for j in listed] == [("deployed", "CHG-42")]
    shown = reconciler(sim, "jobs", "show", str(listed[0]["id"]), "--transcript")
    assert shown.returncode == 0
    assert "reload noconfirm" in shown.stdout and "boot system disk0:/asa941" in shown.stdout
    assert "asa933-lfbff-k8.SPA" in shown.stdout and "asa941-lfbff-k8.SPA" in shown.stdout
    assert sim.env["RECONCILER_FW_PASSWORD"] not in shown.stdout + r.stdout  # redacted
    assert "operational -> upgrade-in-progress" in shown.stdout  # the device's state history


def test_a_saved_plan_is_applied_exactly_and_refused_when_stale(sim: SimRepo) -> None:
    plan = sim.root / "plan.json"
    r = reconciler(sim, "plan", "--discover", "--device", "fw-branch-01", "--device",
                   "ep-win-001", "--out", str(plan))
    assert plan.exists(), r.stderr
    # someone changes a planned device behind the plan's back
    sim.control("POST", "/devices/fw-branch-01/actions",
                json={"op": "put-file", "path": "disk0:/crashinfo.txt", "size": 4096,
                      "unit": "fw-branch-01"})
    stale = reconciler(sim, *APPLY, str(plan))
    assert stale.returncode == 3, stale.stdout + stale.stderr
    assert "STALE_PLAN the saved plan is stale: fw-branch-01: changed since the plan was made" \
        in stale.stderr and "plan --out` again" in stale.stderr
    assert sim.state("fw-branch-01")["units"][0]["reloads"] == 0  # nothing was touched
    assert json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout) == []

    reconciler(sim, "plan", "--discover", "--device", "fw-branch-01", "--device", "ep-win-001",
               "--out", str(plan))
    ok = reconciler(sim, *APPLY, str(plan))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "is current: 2 device(s) to change" in ok.stdout


def test_usage_errors_are_one_line(sim: SimRepo) -> None:
    r = reconciler(sim, "apply")
    assert r.returncode == 1 and "needs --auto-approve" in r.stderr
    plan = sim.root / "nope.json"
    r = reconciler(sim, "apply", str(plan), "--operation", "copy-only")
    assert r.returncode == 1 and "cannot change a saved plan" in r.stderr
    r = reconciler(sim, "apply", "--plan", str(plan))
    assert r.returncode == 1 and "nope.json: FILE_ERROR plan file does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_copy_only_operation_copies_and_verifies_without_reloading(sim: SimRepo) -> None:
    r = reconciler(sim, *APPLY, "--auto-approve", "--device", "fw-branch-01", "--operation",
                   "copy-only")
    assert r.returncode == 0, r.stdout + r.stderr
    st = sim.state("fw-branch-01")
    assert st["units"][0]["reloads"] == 0 and st["saved_boot"] == ["disk0:/asa933-lfbff-k8.SPA"]
    assert "asa941-lfbff-k8.SPA" in st["units"][0]["disks"]["disk0"]["files"]


def test_approval_workflow_from_the_command_line(sim: SimRepo) -> None:
    r = reconciler(sim, *APPLY, "--auto-approve", "--device", "ep-win-001",
                   "--require-approval", "--submit", "--actor", "alice")
    assert r.returncode == 0 and "is submitted" in r.stdout, r.stdout + r.stderr
    job = json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout)[0]["id"]
    r = reconciler(sim, "jobs", "approve", str(job), "--actor", "alice")
    assert r.returncode == 1 and "cannot also approve" in r.stderr
    r = reconciler(sim, "jobs", "deploy", str(job))
    assert r.returncode == 1 and "cannot be deployed" in r.stderr
    assert f"reconciler jobs approve {job}" in r.stderr  # says what to do instead
    assert reconciler(sim, "jobs", "approve", str(job), "--actor", "bob").returncode == 0
    r = reconciler(sim, "jobs", "deploy", str(job), "--actor", "bob")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sim.state("ep-win-001")["version"] == "7.3.2.1006"


def test_failed_job_retry_rollback_and_mark_operational(sim: SimRepo) -> None:
    sim.fault("fw-branch-01", {"kind": "unreachable-after-reload"})
    r = reconciler(sim, *APPLY, "--auto-approve", "--device", "fw-branch-01")
    assert r.returncode == 1
    assert "RELOAD_TIMEOUT" in r.stdout and "maintenance" in r.stdout
    assert "reconciler jobs retry 1" in r.stdout
    # the unit is repaired by hand; the device stays in maintenance until someone says so
    sim.control("DELETE", "/devices/fw-branch-01/faults")
    sim.control("POST", "/devices/fw-branch-01/actions",
                json={"op": "unit-up", "unit": "fw-branch-01"})
    time.sleep(0.5)
    r = reconciler(sim, "jobs", "retry", "1", "--auto-approve", "--ignore-maintenance-windows")
    # fresh discovery: the repaired unit booted the new image, so there is nothing to redo
    assert r.returncode == 0 and "nothing to retry" in r.stdout, r.stdout + r.stderr
    r = reconciler(sim, "device", "mark-operational", "fw-branch-01", "--reason",
                   "console: power-cycled, boots 9.4(1)", "--actor", "carol")
    assert r.returncode == 0 and "maintenance -> operational" in r.stdout
    states = json.loads(reconciler(sim, "device", "states", "fw-branch-01", "--history",
                                   "--format", "json").stdout)
    assert states["history"][-1]["actor"] == "carol"
    # roll back what job 1 changed: the device returns to 9.3(3)
    r = reconciler(sim, "jobs", "rollback", "1", "--auto-approve", "--ignore-maintenance-windows")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "created as the rollback of job 1" in r.stdout
    assert sim.running("fw-branch-01") == {"fw-branch-01": "9.3(3)"}
    listed = json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout)
    assert listed[0]["rollback_of"] == 1
    r = reconciler(sim, "jobs", "purge", "--older-than", "0")
    assert r.returncode == 0 and "purged" in r.stdout
    assert json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout) == []


def wait_for_command(db: Path, runner: subprocess.Popen[str], command: str) -> None:
    """Until the running `apply` has sent `command` (its transcript in the store says so)."""
    deadline = time.monotonic() + 60
    while not transcript_has(db, command):
        assert runner.poll() is None, runner.stdout.read() if runner.stdout else ""
        assert time.monotonic() < deadline, "the job never reached the reload"
        time.sleep(0.02)


def test_kill_9_mid_job_is_recovered_by_the_next_run(tmp_path: Path,
                                                     example_images: Path) -> None:
    # slower simulated time, so the runner can be killed while the standby reloads
    with sim_repo(tmp_path / "repo", example_images, time_scale=100) as sim:
        db = sim.root / ".reconciler" / "state.db"
        runner = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *APPLY, "--auto-approve", "--device",
             "fw-pair-2"], cwd=sim.root, env=sim.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            wait_for_command(db, runner, "failover reload-standby")
            runner.send_signal(signal.SIGKILL)
            runner.wait(timeout=10)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait(timeout=10)
            if runner.stdout is not None:
                runner.stdout.close()
        units = {u["name"]: u for u in sim.state("fw-pair-2")["units"]}
        assert units["secondary"]["reloads"] == 1 and units["primary"]["reloads"] == 0

        # the next run: recovery first (the job is found, marked interrupted, the pair is
        # re-discovered once the reloading unit is back), then a new plan finishes the job
        r = reconciler(sim, *APPLY, "--auto-approve", "--device", "fw-pair-2")
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout
        assert "recovery: a previous run did not finish" in out
        assert "job 1 (" in out and "was interrupted" in out
        assert "fw-pair-2: re-discovered: every unit answers, the target is not reached" in out
        # the upgraded standby is not reloaded again; only the old active is
        units = {u["name"]: u for u in sim.state("fw-pair-2")["units"]}
        assert units["secondary"]["reloads"] == 1 and units["primary"]["reloads"] == 1
        assert sim.running("fw-pair-2") == {"primary": "9.4(1)", "secondary": "9.4(1)"}

        jobs = {j["id"]: j for j in json.loads(
            reconciler(sim, "jobs", "list", "--format", "json").stdout)}
        assert jobs[1]["status"] == "interrupted" and jobs[2]["status"] == "deployed"
        shown = reconciler(sim, "jobs", "show", "1", "--format", "json")
        doc = json.loads(shown.stdout)
        assert doc["devices"][0]["status"] == "interrupted"
        assert [c["to"] for c in doc["device_states"]] == ["upgrade-in-progress", "operational"]
        assert any(c["text"].startswith("recovered by") for c in doc["commentary"])


def untimed(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Units without what time alone changes (uptime)."""
    return [{k: v for k, v in u.items() if k != "uptime"} for u in units]


def test_first_ctrl_c_aborts_the_job_and_exits_130(tmp_path: Path,
                                                   example_images: Path) -> None:
    """Ctrl-C while the first device of a sequential job reloads: no new device starts, the
    running one finishes its run, the job ends `aborted` (as `reconciler jobs abort` would
    leave it) and `apply` exits 130, the contract's code for a run stopped by Ctrl-C/SIGTERM."""
    with sim_repo(tmp_path / "repo", example_images, time_scale=100) as sim:
        db = sim.root / ".reconciler" / "state.db"
        pair_before = untimed(sim.state("fw-pair-2")["units"])
        runner = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *APPLY, "--auto-approve", "--order",
             "sequential", "--device", "fw-branch-01", "--device", "fw-pair-2"],
            cwd=sim.root, env=sim.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        try:
            wait_for_command(db, runner, "reload noconfirm")
            runner.send_signal(signal.SIGINT)
            out, _ = runner.communicate(timeout=120)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait(timeout=10)
        assert runner.returncode == 130, out
        assert "abort requested: no new device starts" in out and "Traceback" not in out
        [job] = json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout)
        assert job["status"] == "aborted", job
        doc = json.loads(reconciler(sim, "jobs", "show", str(job["id"]), "--format",
                                    "json").stdout)
        statuses = {d["device"]: (d["status"], d["message"]) for d in doc["devices"]}
        assert statuses["fw-branch-01"][0] == "succeeded"  # it finished its run
        assert statuses["fw-pair-2"][0] == "aborted"
        assert statuses["fw-pair-2"][1].startswith("not started: abort requested by")
        assert sim.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}
        assert untimed(sim.state("fw-pair-2")["units"]) == pair_before  # never touched
        states = json.loads(reconciler(sim, "device", "states", "--format", "json").stdout)
        assert states["devices"] == [], states  # every device is operational


def test_a_plan_made_from_uncommitted_edits_is_refused_unless_allowed(sim: SimRepo) -> None:
    repo = under_git(sim)
    head = repo.repo.head.commit.hexsha
    repo.replace("desired/devices.yaml", "devices:", "# reviewed? not yet\ndevices:")
    plan = sim.root / "dirty-plan.json"
    r = reconciler(sim, "plan", "--discover", "--device", "fw-branch-01", "--out", str(plan))
    assert plan.exists(), r.stdout + r.stderr
    assert json.loads(plan.read_text())["source"]["dirty"] is True

    refused = reconciler(sim, *APPLY, str(plan))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    line = refused.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(f"error: {plan}: PLAN_SOURCE the plan was made from uncommitted "
                           f"changes to desired/ or inventory/ (on top of {head[:12]})"), line
    assert "commit and review the change, then plan again (or pass --allow-dirty)" in line
    assert sim.state("fw-branch-01")["units"][0]["reloads"] == 0  # nothing was touched
    assert json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout) == []

    ok = reconciler(sim, *APPLY, str(plan), "--allow-dirty")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert sim.running("fw-branch-01") == {"fw-branch-01": "9.4(1)"}
    repo.close()


def test_a_plan_from_an_unmerged_branch_is_refused_with_branch(sim: SimRepo) -> None:
    repo = under_git(sim)
    repo.branch("pr-1")
    repo.replace("desired/devices.yaml", "devices:", "# CHG-7\ndevices:")
    pr = repo.commit("pr change")
    plan = sim.root / "pr-plan.json"
    r = reconciler(sim, "plan", "--discover", "--device", "ep-win-001", "--out", str(plan))
    assert plan.exists(), r.stdout + r.stderr
    doc = json.loads(plan.read_text())["source"]
    assert (doc["commit"], doc["dirty"]) == (pr, False), repo.repo.git.status()
    repo.checkout("main")
    tip = repo.repo.head.commit.hexsha

    refused = reconciler(sim, *APPLY, str(plan), "--branch", "main")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    line = refused.stderr.strip()
    assert "\n" not in line and line.startswith(
        f"error: {plan}: PLAN_SOURCE the plan's commit {pr[:12]} is not on branch main "
        f"(tip {tip[:12]})"), line
    assert "merge the change into main and plan again from it" in line
    assert json.loads(reconciler(sim, "jobs", "list", "--format", "json").stdout) == []
    # the same check on an unknown branch, and without a plan: the checked-out commit
    r = reconciler(sim, *APPLY, str(plan), "--branch", "release")
    assert r.returncode == 1 and "GIT revision 'release' not found" in r.stderr, r.stderr
    repo.checkout("pr-1")
    r = reconciler(sim, *APPLY, "--auto-approve", "--device", "ep-win-001", "--branch", "main")
    assert r.returncode == 1 and f"{pr[:12]} is not on branch main" in r.stderr, r.stderr

    repo.checkout("main")
    repo.repo.git.merge("--no-ff", "-q", "-m", "merge pr-1", "pr-1")
    ok = reconciler(sim, *APPLY, str(plan), "--branch", "main")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "is current: 1 device(s) to change" in ok.stdout
    repo.close()
