"""The PR comment stays under GitHub's size limit when a PR touches hundreds of devices."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from tests.gitops.repos import ROOT, FleetRepo

N = 400


def _big_fleet(repo: FleetRepo, tmp_path: Path) -> Path:
    """N branch firewalls like fw-branch-01 (inventory and observed), committed on main."""
    inv = yaml.safe_load(repo.read("inventory/devices.yaml"))
    template = next(d for d in inv["devices"] if d["name"] == "fw-branch-01")
    inv["devices"] = [{**template, "name": f"fw-b-{i:03d}",
                       "address": f"https://10.0.{i // 250}.{i % 250 + 1}"} for i in range(N)]
    repo.write("inventory/devices.yaml", yaml.safe_dump(inv, sort_keys=False))
    repo.write("desired/devices.yaml", "devices: []\n")
    repo.commit("a large branch fleet")
    snap = yaml.safe_load((ROOT / "tests/fixtures/plan/example-fleet.snapshot.yaml").read_text())
    observed = next(d for d in snap["devices"] if d["name"] == "fw-branch-01")
    devices = []
    for i in range(N):
        d = copy.deepcopy(observed)
        d["name"] = d["members"][0]["name"] = f"fw-b-{i:03d}"
        devices.append(d)
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({k: v for k, v in {**snap, "devices": devices}.items()
                                if not k.startswith("x-")}))
    return path


def test_a_large_pr_fits_in_one_comment(fleet_repo: FleetRepo, images: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = _big_fleet(fleet_repo, tmp_path)
    fleet_repo.branch("pr")
    fleet_repo.replace("desired/fleet.yaml", 'asdm: "7.16(1)"', 'asdm: "7.4(1)"')
    fleet_repo.commit("branch ASDM stays on 7.4(1)")
    try:
        main(["plan", "--repo", str(fleet_repo.path), "--base", "main", "--head", "pr",
              "--inventory", str(snapshot), "--images", str(images), "--format", "markdown",
              "--no-annotations"])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(out) < 65_536
    assert f"### Devices this PR changes ({N})" in out
    assert f"_… and {N - 100} more (see `--format json`)._" in out
    assert "more device(s) left out to fit the comment" in out
    assert out.count("| `fw-b-") >= 100
