"""`reconciler jobs` and `reconciler device` on a real SQLite store (no devices needed): listing,
showing (redacted transcript), abort rules, the approval workflow, purge, mark-operational."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.core.model import DeviceState, Order
from reconciler.secrets import register_secret
from reconciler.store import (JobDeviceSpec, JobDeviceStatus, JobProperties, TranscriptKind,
                              TranscriptLine, new_owner_id, open_store)
from tests.conftest import PROJECT_ROOT

SECRET = "hunter2-but-longer-7731"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def finished_job(db: Path, *, order: Order = Order.PARALLEL) -> int:
    register_secret(SECRET)
    owner = new_owner_id()
    with open_store(db) as store:
        job = store.create_job(
            [JobDeviceSpec("fw-branch-01", {"asa": "asa933-lfbff-k8.SPA"},
                           {"asa": "asa941-lfbff-k8.SPA"}),
             JobDeviceSpec("ep-win-001", {"agent": "7.3.1.2048"},
                           {"agent": "agent-7.3.2.1006-x64.msi"})],
            created_by="alice", ticket_id="CHG-9", properties=JobProperties(order=order))
        store.start_job(job.id, owner=owner, ttl=60)
        store.append_transcript(job.id, [
            TranscriptLine("fw-branch-01", TranscriptKind.COMMAND, "show version"),
            TranscriptLine("fw-branch-01", TranscriptKind.RESPONSE,
                           f"Cisco Adaptive Security Appliance ... enable password {SECRET}")])
        store.add_commentary(job.id, "[1/12] copy ...: done", device="fw-branch-01")
        for d in ("fw-branch-01", "ep-win-001"):
            store.set_job_device_status(job.id, d, JobDeviceStatus.RUNNING)
            store.set_job_device_status(job.id, d, JobDeviceStatus.SUCCEEDED, message="done")
        store.finish_job(job.id, owner=owner)
        return job.id


def test_list_and_show(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = finished_job(db)
    code, out, _ = run(capsys, "jobs", "list", "--state", str(db))
    assert code == 0 and "deployed" in out and "CHG-9" in out and "2: 2 ok, 0 failed" in out
    code, out, _ = run(capsys, "jobs", "show", str(job), "--state", str(db), "--transcript")
    assert code == 0
    for text in ("summary: to deploy 2, succeeded 2, failed 0", "asa933-lfbff-k8.SPA",
                 "asa941-lfbff-k8.SPA", "created -> deploying", "[1/12] copy ...: done",
                 "fw-branch-01 > show version"):
        assert text in out, text
    assert SECRET not in out and "enable password ***" in out
    code, out, _ = run(capsys, "jobs", "show", str(job), "--state", str(db), "--device",
                       "ep-win-001", "--format", "json")
    doc = json.loads(out)
    assert [d["device"] for d in doc["devices"]] == ["ep-win-001"]
    assert doc["summary"]["succeeded"] == 2 and doc["ticket_id"] == "CHG-9"
    code, out, _ = run(capsys, "jobs", "show", str(job), "--state", str(db), "--device",
                       "ep-win-001")
    assert "ep-win-001" in out and "fw-branch-01" not in out
    code, _, err = run(capsys, "jobs", "show", str(job), "--state", str(db), "--device", "nope")
    assert code == 1 and "not part of job" in err


def test_abort_rules(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = finished_job(db)
    code, _, err = run(capsys, "jobs", "abort", str(job), "--state", str(db))
    assert code == 1 and "already deployed" in err and len(err.strip().splitlines()) == 1
    with open_store(db) as store:
        running = store.create_job([JobDeviceSpec("a"), JobDeviceSpec("b")], created_by="x",
                                   properties=JobProperties(order=Order.SEQUENTIAL))
        store.start_job(running.id, owner=new_owner_id(), ttl=60)
        single = store.create_job([JobDeviceSpec("c")], created_by="x")
        store.start_job(single.id, owner=new_owner_id(), ttl=60)
    code, out, _ = run(capsys, "jobs", "abort", str(running.id), "--state", str(db),
                       "--actor", "ops")
    assert code == 0 and "devices not yet started are aborted" in out
    code, _, err = run(capsys, "jobs", "abort", str(single.id), "--state", str(db))
    assert code == 1 and "single device" in err


def test_approval_commands(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(db) as store:
        job = store.create_job([JobDeviceSpec("a")], created_by="alice", approval_required=True)
    state = ("--state", str(db))
    assert run(capsys, "jobs", "submit", str(job.id), *state, "--actor", "alice")[1].endswith(
        f"an approver runs `reconciler jobs approve {job.id}`\n")
    code, _, err = run(capsys, "jobs", "approve", str(job.id), *state, "--actor", "alice")
    assert code == 1 and "cannot also approve" in err
    code, out, _ = run(capsys, "jobs", "reject", str(job.id), *state, "--actor", "bob",
                       "--comment", "not in the freeze")
    assert code == 0 and "is rejected" in out
    code, out, _ = run(capsys, "jobs", "discard", str(job.id), *state, "--actor", "alice")
    assert code == 0 and "it will never run" in out
    code, out, _ = run(capsys, "jobs", "show", str(job.id), *state)
    assert "not in the freeze" in out and "rejected -> discarded" in out


def test_purge(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    finished_job(db)
    code, out, _ = run(capsys, "jobs", "purge", "--older-than", "7", "--state", str(db))
    assert code == 0 and out.startswith("purged 0 job(s)")
    code, out, _ = run(capsys, "jobs", "purge", "--older-than", "0", "--state", str(db))
    assert code == 0 and out.startswith("purged 1 job(s): image-install-")


def test_mark_operational(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = ("--repo", str(PROJECT_ROOT), "--state", str(db))
    with open_store(db) as store:
        store.set_device_state("fw-branch-01", DeviceState.MAINTENANCE, actor="executor",
                               reason="did not come back")
        store.record_attempt("fw-branch-01", "asa=x")
    code, _, err = run(capsys, "device", "mark-operational", "fw-branch-01", *repo,
                       "--reason", " ")
    assert code == 1 and "--reason cannot be blank" in err
    code, _, err = run(capsys, "device", "mark-operational", "fw-nowhere", *repo, "--reason", "x")
    assert code == 1 and "not in the inventory" in err
    with open_store(db) as store:
        store.acquire("fw-branch-01", "other:1:abc", 60, job_id=5)
    code, _, err = run(capsys, "device", "mark-operational", "fw-branch-01", *repo,
                       "--reason", "fixed")
    assert code == 1 and "DEVICE_LOCKED" in err and "jobs abort 5" in err
    with open_store(db) as store:
        store.release("fw-branch-01", "other:1:abc")
    code, out, _ = run(capsys, "device", "mark-operational", "fw-branch-01", *repo,
                       "--reason", "console: reseated the flash", "--actor", "carol")
    assert code == 0 and "maintenance -> operational (by carol" in out
    with open_store(db) as store:
        assert store.get_device_state("fw-branch-01").state is DeviceState.OPERATIONAL
        assert store.get_attempts("fw-branch-01") is None
    code, out, _ = run(capsys, "device", "states", *repo[2:], "--all", "--format", "json")
    assert json.loads(out)["devices"][0]["reason"] == "console: reseated the flash"


def test_forget_unit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = ("--state", str(db))
    code, _, err = run(capsys, "device", "forget-unit", "fw-dc-cluster", "unit-3", *state)
    assert code == 1 and "UNKNOWN_MEMBER unit-3 is not a known unit of fw-dc-cluster" in err
    assert "never discovered as a cluster" in err
    with open_store(db) as store:
        store.remember_cluster_units("fw-dc-cluster", ["unit-1", "unit-2", "unit-3"])
    code, _, err = run(capsys, "device", "forget-unit", "fw-dc-cluster", "unit-9", *state)
    assert code == 1 and "known units: unit-1, unit-2, unit-3" in err
    code, out, _ = run(capsys, "device", "forget-unit", "fw-dc-cluster", "unit-3", *state)
    assert code == 0 and out.strip() == \
        "fw-dc-cluster: unit-3 forgotten; units known now: unit-1, unit-2"
    with open_store(db) as store:
        assert store.cluster_units() == {"fw-dc-cluster": ("unit-1", "unit-2")}


@pytest.mark.parametrize("status,says", [
    ("failed", "reconciler jobs retry"), ("aborted", "reconciler jobs retry"),
    ("interrupted", "reconciler jobs retry"), ("created", "reconciler jobs submit"),
    ("submitted", "reconciler jobs approve"), ("deployed", "plan and apply anew"),
])
def test_a_job_that_cannot_be_deployed_says_what_to_do_instead(db: Path, status: str,
                                                               says: str) -> None:
    import dataclasses

    from reconciler.cli.jobs import _deploy_hint
    from reconciler.store import JobStatus

    with open_store(db) as store:
        job = store.get_job(finished_job(db))
    hint = _deploy_hint(dataclasses.replace(job, status=JobStatus(status)))
    assert says in hint and (str(job.id) in hint or status == "deployed")
