"""Secrets: credentials are references only. Known, distinctive secrets are planted (the ASA
password and the agent token through `env:` references, the password also through a `file:`
reference for one device), the story is run with faults that produce error messages, and every
output is scanned for the secrets and their encodings (basic auth sends base64; URLs carry
percent-encoding): captured stdout/stderr and structlog lines at debug level, transcripts,
commentary, job records and device-state history, the raw bytes of the SQLite file (and its
WAL), the saved plan in JSON, Markdown and text, and the simulator's state dump."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from reconciler.core.model import OnError, Order
from reconciler.executor import JobRequest
from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.store import open_store
from tests.executor.conftest import PASSWORD, TOKEN, Lab


def forms(secret: str) -> list[str]:
    """The secret as it could leak: plain, base64 (alone and in `user:secret`), URL-encoded."""
    out = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(),
           base64.b64encode(f"admin:{secret}".encode()).decode()}
    return sorted(out)


NEEDLES = forms(PASSWORD) + forms(TOKEN)


def leaks(name: str, data: str | bytes) -> list[str]:
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
    return [f"{name}: {n}" for n in NEEDLES if n.encode() in raw]


async def test_no_secret_reaches_any_output(lab: Lab, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # one device reads its password from a file (same value: the simulator has one password)
    secret_file = lab.root / "secrets" / "fw-branch-01.pw"
    secret_file.parent.mkdir()
    secret_file.write_text(PASSWORD + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    inv = lab.root / "inventory" / "devices.yaml"
    text = inv.read_text(encoding="utf-8").replace(
        "    model: ASA5506-X\n    site: tokyo\n",
        "    model: ASA5506-X\n    site: tokyo\n    credentials:\n      username: admin\n"
        "      password: file:secrets/fw-branch-01.pw\n", 1)
    inv.write_text(text, encoding="utf-8")
    assert "file:secrets/fw-branch-01.pw" in text

    # faults that make the executor and drivers talk: errors, retries, a refused command
    lab.fleet.add_fault("fw-branch-01", {"kind": "transfer-error", "code": "ftp-426", "times": 2})
    lab.fleet.add_fault("fw-branch-01", {"kind": "too-large", "max_bytes": 1 << 20})
    lab.fleet.add_fault("fw-multi-01", {"kind": "command-error", "command": "boot system",
                                        "message": f"ERROR: boot system refused"})
    lab.fleet.add_fault("ep-lnx-001", {"kind": "install-fails", "code": "ftp-552"})
    names = ["fw-branch-01", "fw-multi-01", "ep-lnx-001", "ep-win-001"]
    result, saved = await lab.apply(names, JobRequest(ignore_windows=True, order=Order.PARALLEL,
                                                      on_error=OnError.CONTINUE))
    assert result.outcomes["fw-branch-01"].status.value == "succeeded"
    assert result.outcomes["fw-multi-01"].status.value == "failed"
    assert result.outcomes["ep-lnx-001"].status.value == "failed"

    found: list[str] = []
    # the plan, in every format (the PR comment is the Markdown)
    found += leaks("plan.json", render_json(saved.plan))
    found += leaks("plan.md", render_markdown(saved.plan))
    found += leaks("plan.txt", render_text(saved.plan, steps=True))
    # the store: every record, through the API...
    with open_store(lab.state) as store:
        job = result.job.id
        records = {
            "transcript": [e.text for e in store.transcript(job)],
            "commentary": [c.text for c in store.commentary(job)],
            "job": [repr(store.get_job(job)), repr(store.job_devices(job)),
                    repr(store.job_history(job))],
            "states": [repr(store.device_state_history())],
        }
        assert len(records["transcript"]) > 100  # the story really ran
    for name, items in records.items():
        found += leaks(name, "\n".join(items))
    # ...and the raw database bytes (whatever a column or a page holds)
    for f in sorted(Path(str(lab.state)).parent.glob(Path(str(lab.state)).name + "*")):
        found += leaks(f.name, f.read_bytes())
    # the simulator's own view
    found += leaks("sim state", json.dumps([lab.fleet.state(n) for n in names]))
    # everything written to the terminal and the logs
    out = capsys.readouterr()
    found += leaks("stdout", out.out) + leaks("stderr", out.err)
    found += leaks("log records", "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records))
    # every file the run left in the repository and the state directory
    for f in lab.root.rglob("*"):
        if f.is_file() and f != secret_file:
            found += leaks(str(f.relative_to(lab.root)), f.read_bytes())
    assert found == []
