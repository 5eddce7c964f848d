"""load_revision: a commit when asked for one, else the disk with its commit and dirtiness."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.gitops.revision import load_revision
from tests.gitops.repos import FleetRepo


def test_from_disk_records_commit_and_dirty(fleet_repo: FleetRepo) -> None:
    head = fleet_repo.repo.head.commit.hexsha
    clean = load_revision(fleet_repo.path)
    assert (clean.desired.commit, clean.dirty, clean.prefix) == (head, False, "")
    fleet_repo.replace("desired/fleet.yaml", "reload_timeout: 900", "reload_timeout: 1200")
    dirty = load_revision(fleet_repo.path)
    assert dirty.desired.commit == head and dirty.dirty
    assert dirty.changed == ("desired/fleet.yaml",)
    assert dirty.desired.content_digest != clean.desired.content_digest
    assert dirty.desired.defaults.settings["reload_timeout"] == 1200  # the disk, as asked


def test_from_a_ref_ignores_the_disk(fleet_repo: FleetRepo) -> None:
    head = fleet_repo.repo.head.commit.hexsha
    fleet_repo.replace("desired/fleet.yaml", "reload_timeout: 900", "reload_timeout: 1200")
    rev = load_revision(fleet_repo.path, ref="main")
    assert rev.desired.commit == head and not rev.dirty
    assert rev.desired.defaults.settings["reload_timeout"] == 900
    assert rev.label.startswith("git:") and head[:12] in rev.label
    # --repo without --ref reads HEAD's commit, not the files
    assert load_revision(".", repo=fleet_repo.path).desired.defaults.settings[
        "reload_timeout"] == 900


def test_outside_git(tmp_path: Path) -> None:
    (tmp_path / "desired").mkdir()
    rev = load_revision(tmp_path)
    assert rev.desired.commit is None and not rev.dirty
    with pytest.raises(ConfigError, match="not inside a git repository"):
        load_revision(tmp_path, ref="main")
