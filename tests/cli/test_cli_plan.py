"""`reconciler plan` end to end: the bundled example fleet, a real image repository (synthetic
images fetched into it), a real SQLite state store, the real CLI entry point and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler.cli import main
from reconciler.core.model import DeviceState
from reconciler.core.observed import snapshot_from_dict, snapshot_to_dict
from tests.cli.test_simulate_discover import simulator  # noqa: F401 - a simulator process fixture

ROOT = Path(__file__).parents[2]
SNAPSHOT = ROOT / "tests" / "fixtures" / "plan" / "example-fleet.snapshot.yaml"
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())


@pytest.fixture(scope="session")
def images(example_images: Path) -> Path:
    """Every example catalog image, fetched from its synthetic source into a real repository."""
    return example_images


@pytest.fixture
def fleet(tmp_path: Path, images: Path) -> Path:
    """A copy of the example repository with a discovery snapshot saved as JSON next to it."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "desired", root / "desired")
    shutil.copytree(ROOT / "inventory", root / "inventory")
    snap = snapshot_from_dict(yaml.safe_load(SNAPSHOT.read_text()))
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_dict(snap)))
    return root


def run(root: Path, images: Path, *args: str, capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, str, str]:
    try:
        main(["plan", "--repo", str(root), "--images", str(images), *args])
        code = 0
    except SystemExit as e:  # main() exits only for a non-zero status
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_json_plan_of_the_example_fleet_is_valid_and_saved_with_its_fingerprint(
        fleet: Path, images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(fleet, images, "--inventory", str(fleet / "snapshot.json"), "--format",
                       "json", "--out", str(fleet / "plan.json"), "--detailed-exitcode",
                       capsys=capsys)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    saved = json.loads((fleet / "plan.json").read_text())
    assert {k: v for k, v in saved.items() if k != "observed"} == doc
    assert set(saved["observed"]) == {d["device"] for d in doc["devices"] if d["steps"]}
    assert code == 1  # fw-aa-pair is left active/active on purpose in the example
    by_name = {d["device"]: d for d in doc["devices"]}
    assert [f["code"] for f in by_name["fw-aa-pair"]["findings"] if f["severity"] == "error"] \
        == ["ACTIVE_ACTIVE"]
    assert by_name["fw-dc-pair"]["changes"][0]["hops"] == ["asa923-smp-k8.bin",
                                                           "asa933-smp-k8.bin"]
    assert "fw-branch-02" not in by_name and "ep-win-002" not in by_name  # in sync
    assert doc["summary"]["in_sync"] == 2 and doc["summary"]["blocked"] == 1
    assert doc["fingerprint"].startswith("sha256:")
    assert all(d["observed_digest"] for d in doc["devices"])


@pytest.mark.parametrize("devices,expected", [
    (["fw-dc-cluster"], 2),  # changes
    (["fw-branch-02", "ep-win-002"], 0),  # in sync
    (["fw-aa-pair", "fw-branch-01"], 1),  # an error anywhere
])
def test_detailed_exit_codes(fleet: Path, images: Path, capsys: pytest.CaptureFixture[str],
                             devices: list[str], expected: int) -> None:
    args = [a for d in devices for a in ("--device", d)]
    code, out, _ = run(fleet, images, "--inventory", str(fleet / "snapshot.json"),
                       "--detailed-exitcode", "--format", "json", *args, capsys=capsys)
    assert code == expected
    assert {d["device"] for d in json.loads(out)["devices"]} <= set(devices)


def test_without_detailed_exitcode_changes_exit_zero(fleet: Path, images: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(fleet, images, "--inventory", str(fleet / "snapshot.json"), "--device",
                       "fw-dc-cluster", capsys=capsys)
    assert code == 0
    assert "fw-dc-cluster" in out and "Changes" in out


def test_markdown_for_a_pull_request(fleet: Path, images: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(fleet, images, "--inventory", str(fleet / "snapshot.json"), "--format",
                    "markdown", capsys=capsys)
    assert out.startswith("### reconciler plan: 9 devices to change")
    first = next(line for line in out.splitlines() if line.startswith("#### "))
    assert first.startswith("#### ⛔ `fw-aa-pair`")
    assert "<details><summary>55 steps</summary>" in out  # fw-dc-pair, three passes


def test_text_lists_every_step_on_request(fleet: Path, images: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(fleet, images, "--inventory", str(fleet / "snapshot.json"), "--steps",
                    "--device", "fw-dc-cluster", capsys=capsys)
    assert "Steps: fw-dc-cluster" in out and "handoff-control" in out


def test_missing_images_block_only_the_devices_that_need_them(
        fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty-repo"
    code, out, _ = run(fleet, empty, "--inventory", str(fleet / "snapshot.json"), "--format",
                       "json", "--device", "ep-win-001", "--device", "fw-branch-02",
                       capsys=capsys)
    (dev,) = json.loads(out)["devices"]
    assert dev["device"] == "ep-win-001" and dev["blocked"] and code == 1
    assert [f["code"] for f in dev["findings"]] == ["IMAGE_NOT_IN_REPOSITORY"]


def test_device_states_come_from_the_state_store(fleet: Path, images: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.store import open_store

    db = fleet / "state.db"
    with open_store(db) as store:
        store.set_device_state("fw-branch-01", DeviceState.MAINTENANCE, actor="test",
                               reason="did not come back after reload")
    code, out, _ = run(fleet, images, "--inventory", str(fleet / "snapshot.json"), "--state",
                       str(db), "--format", "json", "--device", "fw-branch-01", capsys=capsys)
    (dev,) = json.loads(out)["devices"]
    assert [f["code"] for f in dev["findings"]] == ["DEVICE_STATE"] and code == 1
    # planning never creates a store it was not given
    assert not (fleet / ".reconciler" / "state.db").exists()


def test_a_cluster_unit_the_store_knows_but_the_snapshot_lacks_blocks_it(
        fleet: Path, images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.store import open_store

    db = fleet / "state.db"
    args = ("--inventory", str(fleet / "snapshot.json"), "--state", str(db), "--format", "json",
            "--device", "fw-dc-cluster")
    open_store(db).close()  # the store exists (planning never creates one)
    run(fleet, images, *args, capsys=capsys)
    with open_store(db) as store:
        assert store.cluster_units() == {}  # planning reads what is known; it records nothing
        # an earlier apply saw a fifth unit (reloading now, or gone)
        store.remember_cluster_units("fw-dc-cluster", [f"fw-dc-cluster-{i}" for i in range(1, 6)])
    code, out, _ = run(fleet, images, *args, capsys=capsys)
    (dev,) = json.loads(out)["devices"]
    assert code == 1 and dev["blocked"] and dev["steps"] == []
    assert [(f["code"], f.get("member")) for f in dev["findings"] if f["severity"] == "error"] \
        == [("STANDBY_UNREACHABLE", "fw-dc-cluster-5")]
    with open_store(db) as store:
        store.forget_cluster_unit("fw-dc-cluster", "fw-dc-cluster-5")
    code, out, _ = run(fleet, images, *args, capsys=capsys)
    (dev,) = json.loads(out)["devices"]
    assert not dev["blocked"] and dev["steps"]


def test_a_broken_policy_is_not_planned_and_says_where(fleet: Path, images: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = fleet / "desired" / "fleet.yaml"
    path.write_text(path.read_text().replace("groups:\n", "groups:\n  - name: [unclosed\n", 1))
    code, out, err = run(fleet, images, "--inventory", str(fleet / "snapshot.json"),
                         "--detailed-exitcode", capsys=capsys)
    assert code == 1 and out == ""
    assert "desired/fleet.yaml:" in err and "YAML_SYNTAX" in err and "not planned" in err


@pytest.mark.parametrize("args,message", [
    ([], "give exactly one of --inventory SNAPSHOT or --discover"),
    (["--inventory", "nope.json"], "nope.json"),
    (["--inventory", "SNAP", "--device", "fw-nowhere"], "unknown device(s): fw-nowhere"),
])
def test_bad_invocations_are_one_clear_line_and_exit_1(
        fleet: Path, images: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        message: str) -> None:
    args = [str(fleet / "snapshot.json") if a == "SNAP" else a for a in args]
    code, out, err = run(fleet, images, "--detailed-exitcode", *args, capsys=capsys)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_plan_discovers_the_simulated_example_fleet(
        simulator: tuple[Path, dict[str, str]], images: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, creds = simulator
    for k, v in creds.items():
        monkeypatch.setenv(k, v)
    code, out, _ = run(repo, images, "--discover", "--format", "json", "--out",
                       str(repo / "plan.json"), capsys=capsys)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    by_name = {d["device"]: d for d in doc["devices"]}
    codes = {n: {f["code"] for f in d["findings"]} for n, d in by_name.items()}
    assert not [n for n, c in codes.items() if c & {"DEVICE_UNREACHABLE", "NOT_OBSERVED"}]
    assert "ACTIVE_ACTIVE" in codes["fw-aa-pair"]  # the twin splits the failover groups
    assert "DISK_SPACE" in codes["fw-branch-03"]  # a capture file fills its disk0
    assert by_name["fw-dc-pair"]["changes"][0]["hops"] == ["asa923-smp-k8.bin",
                                                           "asa933-smp-k8.bin"]
    assert code == 1 and (repo / "plan.json").exists()
