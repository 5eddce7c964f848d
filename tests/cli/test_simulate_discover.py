"""`reconciler simulate` and `reconciler discover`, end to end: a real simulator process on
loopback HTTPS serving the twin of a copy of the example repository, discovered by the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli, main
from reconciler.core.observed import snapshot_from_dict
from reconciler.sim.fleetfile import load_fleet_file
from tests.cli.sim_process import free_port, wait_listening
from tests.conftest import PROJECT_ROOT


def example_repo(dest: Path, port: int) -> Path:
    for d in ("desired", "inventory"):
        shutil.copytree(PROJECT_ROOT / d, dest / d)
    inv = dest / "inventory" / "devices.yaml"
    inv.write_text(inv.read_text().replace("127.0.0.1:18443", f"127.0.0.1:{port}"))
    return dest


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A `reconciler simulate` process for a copy of the example; yields (repo, credentials env)."""
    port = free_port()
    repo = example_repo(tmp_path / "repo", port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "simulate", "--repo", str(repo),
                             "--listen", f"127.0.0.1:{port}", "--time-scale", "1000"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_listening(proc, port)
        exports = (repo / ".reconciler" / "sim" / "env").read_text().splitlines()
        creds = dict(line.removeprefix("export ").split("=", 1) for line in exports)
        assert set(creds) == {"RECONCILER_FW_PASSWORD", "RECONCILER_AGENT_TOKEN"}
        assert (repo / ".reconciler" / "sim" / "env").stat().st_mode & 0o077 == 0
        yield repo, creds
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_discover_the_simulated_example(simulator: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    repo, creds = simulator
    out = tmp_path / "snap.json"
    code, stdout, stderr = run("discover", "--repo", str(repo), "--inventory", str(repo / "inventory/devices.yaml"),
                               "-o", str(out), "--transcripts", str(tmp_path / "t"), env=creds)
    assert code == 0, stdout + stderr
    snap = snapshot_from_dict(json.loads(out.read_text()))
    assert len(snap.devices) == 12 and not snap.errors
    assert "fw-dc-cluster" in stdout and "12 discovered, 0 failed" in stderr
    log = (tmp_path / "t" / "fw-dc-pair.log").read_text()
    assert "failover exec mate show version" in log and creds["RECONCILER_FW_PASSWORD"] not in log


def test_unreachable_devices_are_reported_and_optionally_fail(simulator: tuple[Path, dict[str, str]],
                                                             tmp_path: Path) -> None:
    repo, creds = simulator
    inv = repo / "inventory" / "devices.yaml"
    port = free_port()
    text = inv.read_text()
    broken = text.replace(f"{text.split('/d/fw-branch-01')[0].rsplit('https://', 1)[1]}/d/fw-branch-01",
                          f"127.0.0.1:{port}/d/fw-branch-01")
    inv.write_text(broken)
    args = ("discover", "--repo", str(repo), "--inventory", str(inv), "-o", "-", "--format", "json",
            "--device", "fw-branch-01", "--device", "fw-branch-02", "--attempts", "1")
    code, stdout, stderr = run(*args, env=creds)
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert [e["device"] for e in doc["errors"]] == ["fw-branch-01"] and doc["errors"][0]["code"] == "UNREACHABLE"
    assert [d["name"] for d in doc["devices"]] == ["fw-branch-02"]
    code, _, _ = run(*args, "--fail-on-error", env=creds)
    assert code == 1


def test_discover_without_the_credential_reports_each_device(simulator: tuple[Path, dict[str, str]]) -> None:
    repo, creds = simulator
    code, stdout, stderr = run("discover", "--repo", str(repo), "--inventory", str(repo / "inventory/devices.yaml"),
                               "-o", "-", "--format", "json", "--device", "fw-legacy-01",
                               env={"RECONCILER_FW_PASSWORD": ""})
    doc = json.loads(stdout)
    err = doc["errors"][0]
    assert err["code"] == "AUTH_FAILED" and "RECONCILER_FW_PASSWORD" in err["message"]


def test_discover_refuses_a_bad_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "inventory" / "devices.yaml"
    bad.parent.mkdir()
    bad.write_text("devices:\n  - name: fw\n    address: https://x\n    driver: pix\n")
    with pytest.raises(SystemExit) as e:
        main(["discover", "--inventory", str(bad), "-o", str(tmp_path / "s.json")])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "inventory/devices.yaml:4" in err and "nothing was discovered" in err
    assert not (tmp_path / "s.json").exists()


def test_simulate_writes_the_twin_as_a_fleet_file(tmp_path: Path) -> None:
    code, _, stderr = run("simulate", "--repo", str(PROJECT_ROOT), "--write-fleet", str(tmp_path / "twin.yaml"))
    assert code == 0 and "12 devices" in stderr
    assert len(load_fleet_file(tmp_path / "twin.yaml").devices) == 12


def test_simulate_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "fleet.yaml"
    bad.write_text("devices:\n  - name: fw\n    driver: asa\n    model: ASA5506-X\n    members: 3\n")
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--fleet", str(bad)])
    assert e.value.code == 1
    assert "fleet.yaml:5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--repo", str(PROJECT_ROOT), "--listen", "192.0.2.1:18443"])
    assert "loopback only" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.cli import discover as d

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("CI", "true")
    assert not d._show_progress()
    monkeypatch.delenv("CI")
    assert d._show_progress()
    with d._RichProgress(2) as p:
        p.started("a")
        p.finished("a", True)
        p.finished("b", False)
    assert p._failed == 1
