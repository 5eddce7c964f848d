"""Real git repositories in temp dirs, seeded with the bundled example fleet.

Every test runs with an empty global git config (no user signing defaults, no hooks from the
machine), and commits with a fixed identity so nothing depends on who runs the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.cli.test_cli_plan import images  # noqa: F401 - the real image repository fixture
from tests.gitops.repos import FleetRepo


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("RECONCILER_HOME", str(home / ".reconciler"))
    for var in ("GITHUB_ACTIONS", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GIT_DIR",
                "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    yield
    # the CLI points structlog at the captured stderr, which pytest closes after the test
    structlog.reset_defaults()


@pytest.fixture
def fleet_repo(tmp_path: Path) -> Iterator[FleetRepo]:
    repo = FleetRepo(tmp_path / "fleet")
    repo.seed_example()
    yield repo
    repo.close()



@pytest.fixture(scope="session")
def example_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example fleet as discovery saw it (the planner's fixture), saved as JSON."""
    import json

    import yaml

    from reconciler.core.observed import snapshot_from_dict, snapshot_to_dict
    from tests.gitops.repos import ROOT

    data = yaml.safe_load((ROOT / "tests/fixtures/plan/example-fleet.snapshot.yaml").read_text())
    path = tmp_path_factory.mktemp("observed") / "snapshot.json"
    path.write_text(json.dumps(snapshot_to_dict(snapshot_from_dict(data))))
    return path
