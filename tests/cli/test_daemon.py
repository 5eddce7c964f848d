"""`reconciler daemon --once --format json`: one cycle as a CI step, a real process against a
simulator process over loopback HTTPS, the repository under git; the report's shape is the
one docs/daemon.md documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.sim_process import SimRepo, planned_steps, reconciler, sim_repo, under_git

STATES = {"in_sync", "drifting", "blocked", "not_converging", "unreachable"}
TOP = {"cycle", "commit", "ok", "error", "refused", "started", "duration_seconds", "reused_plan",
       "counts", "drift", "devices", "applied", "job", "stages_seconds", "work"}
WORK = {"desired_loaded", "discovered", "changed", "planned", "reused"}
DEVICE = {"device", "state", "changes", "reason", "newly_drifted", "reimaged_to"}


@pytest.fixture
def sim(tmp_path: Path, example_images: Path) -> Iterator[SimRepo]:
    with sim_repo(tmp_path / "repo", example_images) as repo:
        fleet = under_git(repo)
        yield repo
        fleet.close()


def once(sim: SimRepo, *args: str) -> tuple[int, dict[str, Any]]:
    r = reconciler(sim, "daemon", "--repo", str(sim.root), "--once", "--format", "json", *args,
                   timeout=300)
    assert r.stdout.strip(), r.stderr
    return r.returncode, json.loads(r.stdout)


def test_once_json_reports_drift_plan_only_then_applies(sim: SimRepo) -> None:
    head = under_git_head(sim)
    drifting = set(planned_steps(sim))
    code, doc = once(sim)  # policy default: auto_apply false, plan only
    assert code == 0, doc
    assert set(doc) == TOP and doc["ok"] is True and doc["cycle"] == 1
    assert doc["commit"] == head and doc["error"] == "" and doc["refused"] == ""
    names = [d["device"] for d in doc["devices"]]
    assert names == sorted(names) and len(names) == 13  # the example's 12 + fw-pair-2
    assert all(set(d) == DEVICE and d["state"] in STATES for d in doc["devices"])
    states = {d["device"]: d for d in doc["devices"]}
    assert sum(doc["counts"].values()) == len(names)
    assert doc["counts"] == {s: sum(1 for d in doc["devices"] if d["state"] == s)
                             for s in {d["state"] for d in doc["devices"]}}
    assert {n for n, d in states.items() if d["state"] == "drifting"} == drifting
    assert states["fw-branch-03"]["state"] == "blocked" and \
        "DISK_SPACE" in states["fw-branch-03"]["reason"]
    assert states["fw-branch-01"]["changes"] == ["asa 9.3(3) -> 9.4(1)", "asdm 7.4(1) -> 7.16(1)"]
    assert set(doc["drift"]) == {n for n, d in states.items() if d["changes"]}
    assert drifting <= set(doc["drift"]) and "fw-branch-03" in doc["drift"]
    assert doc["applied"] == [] and doc["job"] is None
    assert sim.state("fw-branch-01")["units"][0]["reloads"] == 0  # nothing applied
    # a first cycle reads the policy, discovers and plans every device
    assert doc["work"] == {"desired_loaded": True, "discovered": 13, "changed": None,
                           "planned": 13, "reused": 0}
    stages = doc["stages_seconds"]
    assert {"git", "load", "discover", "plan", "report", "store_write"} <= set(stages)
    assert all(v >= 0 for v in stages.values()) and set(doc["work"]) == WORK
    assert sum(stages.values()) <= doc["duration_seconds"] + 0.01

    code, doc = once(sim, "--auto-apply", "--ignore-maintenance-windows")
    assert code == 0, doc
    assert sorted(doc["applied"]) == sorted(drifting)
    assert doc["job"]["status"] == "deployed" and doc["job"]["id"] == 1
    assert doc["job"]["outcomes"] == {n: "succeeded" for n in drifting}
    code, doc = once(sim)
    assert code == 0 and doc["counts"].get("drifting", 0) == 0, doc["counts"]
    assert doc["drift"] == ["fw-aa-pair", "fw-branch-03"]  # blocked: drift nobody may apply


def test_once_json_exits_1_when_the_cycle_fails(sim: SimRepo) -> None:
    code, doc = once(sim, "--branch", "release")
    assert code == 1 and doc["ok"] is False
    assert "release" in doc["error"] and doc["devices"] == []


def under_git_head(sim: SimRepo) -> str:
    import git

    with git.Repo(sim.root) as repo:
        return str(repo.head.commit.hexsha)
