"""working_tree_state: a plan from files on disk knows its commit and whether it was dirty."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.gitops.worktree import working_tree_state
from tests.gitops.repos import FleetRepo


def test_clean_checkout(fleet_repo: FleetRepo) -> None:
    state = working_tree_state(fleet_repo.path)
    assert state == (fleet_repo.repo.head.commit.hexsha, False, (), "")
    commit, dirty = state[:2]  # the (commit, dirty) that plans record
    assert commit and not dirty


def test_only_loaded_files_count(fleet_repo: FleetRepo) -> None:
    fleet_repo.write("README.md", "edited\n")
    fleet_repo.write("desired/notes.txt", "not yaml: never loaded\n")
    fleet_repo.write("tools/x.yaml", "a: 1\n")
    assert working_tree_state(fleet_repo.path).dirty is False


def test_edited_new_deleted_and_staged(fleet_repo: FleetRepo) -> None:
    fleet_repo.replace("desired/fleet.yaml", "max_parallel: 4", "max_parallel: 8")
    fleet_repo.write("desired/new.yml", "{}\n")
    (fleet_repo.root / "desired/devices.yaml").unlink()
    fleet_repo.replace("inventory/devices.yaml", "site: tokyo\n", "site: kyoto\n")
    fleet_repo.repo.git.add("inventory/devices.yaml")  # staged but not committed: still dirty
    state = working_tree_state(fleet_repo.path)
    assert state.dirty
    assert state.changed == ("desired/devices.yaml", "desired/fleet.yaml", "desired/new.yml",
                             "inventory/devices.yaml")
    fleet_repo.commit("all of it")
    assert working_tree_state(fleet_repo.path) == (fleet_repo.repo.head.commit.hexsha, False, (), "")


def test_subdirectory_root(tmp_path: Path) -> None:
    repo = FleetRepo(tmp_path / "mono", subdir="fleet")
    repo.seed_example()
    assert working_tree_state(repo.root).dirty is False
    assert working_tree_state(repo.root).subdir == "fleet"
    repo.write("desired/extra.yaml", "{}\n")
    assert working_tree_state(repo.root).changed == ("desired/extra.yaml",)
    repo.close()


def test_mode_only_change_is_not_dirty(fleet_repo: FleetRepo) -> None:
    os.chmod(fleet_repo.root / "desired/fleet.yaml", 0o755)  # same bytes: not a content change
    assert working_tree_state(fleet_repo.path).dirty is False


def test_outside_git_and_before_first_commit(tmp_path: Path) -> None:
    assert working_tree_state(tmp_path)[:3] == (None, False, ())
    repo = FleetRepo(tmp_path / "new")
    repo.write("desired/images.yaml", "images: []\n")
    state = working_tree_state(repo.path)
    assert state == (None, True, ("desired/images.yaml",), "")
    repo.close()
