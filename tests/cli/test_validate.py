"""`reconciler validate`: every refusal, with file:line, code and message; exit codes; JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from tests.conftest import PROJECT_ROOT, SCENARIOS, MakeRepo

SCENARIO_NAMES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "expect.yaml").exists())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_the_example_fleet_is_clean() -> None:
    code, out = run("--repo", str(PROJECT_ROOT))
    assert code == 0, out
    assert out.strip() == ("validate: OK (21 images, 2 bundles, 6 groups, 3 overrides, "
                           "12 devices)")


def test_the_base_fixture_fleet_is_clean(make_repo: MakeRepo) -> None:
    code, out = run("--repo", str(make_repo()))
    assert code == 0, out
    assert out.startswith("validate: OK")


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_scenario(scenario: str, make_repo: MakeRepo) -> None:
    expect: dict[str, Any] = yaml.safe_load((SCENARIOS / scenario / "expect.yaml").read_text())
    repo = make_repo(f"scenarios/{scenario}")
    code, out = run("--repo", str(repo))
    lines = out.splitlines()
    problems = lines[:-1]
    assert lines[-1].startswith("validate: ")
    got = {(ln.split(": ", 2)[0], ln.split(": ", 2)[1].split(" ", 1)[0]) for ln in problems}
    want = {(f["at"], f["code"]) for f in expect["findings"]}
    assert got == want, out
    for f in expect["findings"]:
        [line] = [ln for ln in problems if ln.startswith(f"{f['at']}: {f['code']} ")]
        for text in f.get("contains", ()):
            assert text in line, line
        if "devices" in f:
            assert line.endswith(f"[device{'s' * (len(f['devices']) > 1)}: "
                                 f"{', '.join(f['devices'])}]"), line
    for secret in expect.get("absent", ()):
        assert secret not in out
    assert code == expect["exit"], out
    # the JSON form reports the same problems
    code_json, out_json = run("--repo", str(repo), "--format", "json")
    doc = json.loads(out_json)
    assert code_json == code
    assert doc["ok"] is (code == 0)
    assert {(f"{f['file']}:{f['line']}" if "line" in f else f["file"], f["code"])
            for f in doc["findings"]} == want
    for secret in expect.get("absent", ()):
        assert secret not in out_json


def test_warnings_fail_only_with_strict(make_repo: MakeRepo) -> None:
    repo = make_repo("scenarios/smp-fallback")
    assert run("--repo", str(repo))[0] == 0
    code, out = run("--repo", str(repo), "--strict")
    assert code == 1
    assert "validate: FAILED: 0 errors, 1 warning" in out


def test_oversized_file_is_refused_with_configurable_limit(make_repo: MakeRepo) -> None:
    repo = make_repo()
    size = (repo / "desired" / "images.yaml").stat().st_size
    code, out = run("--repo", str(repo), "--max-file-size", str(size - 1))
    assert code == 1
    assert (f"desired/images.yaml: YAML_LIMIT file is {size} bytes, above the {size - 1}-byte "
            "limit") in out
    assert run("--repo", str(repo), "--max-file-size", "1MiB")[0] == 0


def test_bad_size_option_is_a_usage_error(make_repo: MakeRepo) -> None:
    result = CliRunner().invoke(cli, ["validate", "--repo", str(make_repo()),
                                      "--max-file-size", "lots"])
    assert result.exit_code == 2
    assert "is not a size" in result.output


def test_an_empty_directory_names_the_missing_files(tmp_path: Path) -> None:
    code, out = run("--repo", str(tmp_path))
    assert code == 1
    assert "desired/images.yaml: FILE_ERROR no desired/*.yaml files" in out
    assert "inventory/devices.yaml: FILE_ERROR no inventory/*.yaml files" in out


def test_unreadable_file_is_a_finding_not_a_traceback(make_repo: MakeRepo) -> None:
    repo = make_repo()
    (repo / "desired" / "extra.yaml").mkdir()  # a directory where a file is expected: skipped
    target = repo / "desired" / "fleet.yaml"
    target.unlink()
    target.symlink_to("/etc/hostname")  # a link leading out of the repository
    code, out = run("--repo", str(repo))
    assert code == 1
    assert "desired/fleet.yaml: UNSAFE_PATH" in out
    assert "links outside" in out


def test_a_device_shared_problem_is_printed_once_with_its_devices(make_repo: MakeRepo) -> None:
    extra = "".join(
        f"  - name: lg-{i}\n    address: https://192.0.2.{60 + i}\n    driver: asa\n"
        f"    model: ASA5520\n    credentials: {{username: a, password: env:P}}\n"
        for i in range(7))
    repo = make_repo("scenarios/no-compatible", files={"inventory/more.yaml": "devices:\n" + extra})
    code, out = run("--repo", str(repo))
    assert code == 1
    [line] = [ln for ln in out.splitlines() if "NO_COMPATIBLE_IMAGE" in ln]
    assert line.endswith("[devices: legacy-1, lg-0, lg-1, lg-2, lg-3, +3 more]")


def test_repo_must_be_a_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--repo", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_console_script_exit_codes(make_repo: MakeRepo, tmp_path: Path) -> None:
    # through main(): the exit code of a failing validate must reach the shell
    import subprocess
    import sys

    exe = shutil.which("reconciler") or ""
    cmd = [exe] if exe else [sys.executable, "-m", "reconciler"]
    ok = subprocess.run([*cmd, "validate", "--repo", str(make_repo())], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*cmd, "validate", "--repo", str(make_repo("scenarios/alias-bomb"))],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stdout + bad.stderr
