"""Real git repositories in temp dirs, seeded with the bundled example fleet.

Every test runs with an empty global git config (no user signing defaults, no hooks from the
machine), and commits with a fixed identity so nothing depends on who runs the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitops.repos import FleetRepo


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("RECONCILER_HOME", str(home / ".reconciler"))
    for var in ("GITHUB_ACTIONS", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fleet_repo(tmp_path: Path) -> Iterator[FleetRepo]:
    repo = FleetRepo(tmp_path / "fleet")
    repo.seed_example()
    yield repo
    repo.close()
