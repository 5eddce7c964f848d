"""`reconciler state migrate|show` end to end, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reconciler.cli import main
from reconciler.store import JobDeviceSpec, connect_store, new_owner_id, open_store


def run(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def run_ok(capsys, *argv):
    try:
        main(list(argv))
    except SystemExit as e:
        assert e.code in (0, None), capsys.readouterr()
    out = capsys.readouterr()
    return out.out, out.err


def test_migrate_creates_then_is_idempotent(capsys, state_url):
    out, _ = run_ok(capsys, "state", "migrate", "--state", state_url)
    assert "schema version 0 -> 2" in out and "applied 1:" in out and "applied 2:" in out
    out, _ = run_ok(capsys, "state", "migrate", "--state", state_url)
    assert "already at version 2, nothing to do" in out


def test_migrate_upgrades_an_older_schema(capsys, state_url):
    out, _ = run_ok(capsys, "state", "migrate", "--to", "1", "--state", state_url)
    assert "0 -> 1" in out
    out, _ = run_ok(capsys, "state", "show", "--state", state_url)
    assert "version 1 (this reconciler: 2)" in out and "state migrate" in out
    out, _ = run_ok(capsys, "state", "migrate", "--state", state_url)
    assert "1 -> 2" in out and "applied 2:" in out and "applied 1:" not in out
    with open_store(state_url, migrate=False) as store:
        assert store.schema_version() == 2


def test_show_text_and_json(capsys, state_url, monkeypatch):
    with open_store(state_url, migrate=True) as store:
        store.create_job([JobDeviceSpec("fw1")], created_by="ops")
        store.acquire("fw1", new_owner_id(), ttl=60, job_id=1)
        store.record_sync("c0ffee", branch="main")
    monkeypatch.setenv("RECONCILER_STATE", state_url)  # --state from the environment
    out, _ = run_ok(capsys, "state", "show")
    assert "jobs:           created 1" in out and "live leases:    1" in out
    assert "fw1" in out and "main @ c0ffee" in out
    out, _ = run_ok(capsys, "state", "show", "--format", "json")
    data = json.loads(out)
    assert data["schema_version"] == 2 and data["jobs_by_status"] == {"created": 1}
    assert [x["device"] for x in data["leases"]] == ["fw1"]


@pytest.mark.parametrize("url, words", [
    ("postgresql://u:Cl1-secret-pw@127.0.0.1:1/x?connect_timeout=2",
     ["STORE_UNAVAILABLE", "127.0.0.1"]),
    ("mysql://h/x", ["STORE_CONFIG", "unsupported"]),
    ("sqlite://", ["STORE_CONFIG", "in-memory"]),
])
def test_bad_state_urls_give_one_line_and_exit_1(capsys, url, words):
    code, out, err = run(capsys, "state", "show", "--state", url)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert all(w in lines[0] for w in words) and "Cl1-secret-pw" not in err


def test_migrate_in_a_real_process(tmp_path):
    db = tmp_path / "s.db"
    cmd = [sys.executable, "-m", "reconciler", "state", "migrate", "--state", str(db)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with connect_store(db) as store:
        assert store.schema_version() == 2
    bad = subprocess.run([sys.executable, "-m", "reconciler", "state", "migrate", "--state",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "is a directory" in bad.stderr
