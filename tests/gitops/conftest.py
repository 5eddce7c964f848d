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


_EXAMPLE_SECRETS = {"RECONCILER_FW_PASSWORD": "gitops-fw-password-3c9e",
                    "RECONCILER_AGENT_TOKEN": "gitops-agent-token-51aa"}


@pytest.fixture(scope="session")
def example_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example fleet as discovery sees it: the simulator's twin of the inventory,
    discovered by the real drivers through an in-process transport, saved as a snapshot file."""
    import asyncio
    import os

    import httpx

    from reconciler.discovery import DiscoveryOptions, discover
    from reconciler.loader import DirectorySource, load_inventory, save_snapshot
    from reconciler.sim.app import create_app
    from reconciler.sim.clock import ScaledClock
    from reconciler.sim.example import load_twin
    from reconciler.sim.fleet import SimCredentials, SimFleet
    from tests.gitops.repos import ROOT

    saved = {k: os.environ.get(k) for k in _EXAMPLE_SECRETS}
    os.environ.update(_EXAMPLE_SECRETS)
    try:
        spec, _ = load_twin(ROOT)
        fleet = SimFleet(spec, SimCredentials("admin", *_EXAMPLE_SECRETS.values()),
                         ScaledClock(1000))
        devices, _ = load_inventory(DirectorySource(ROOT))
        app = create_app(fleet)
        snap = asyncio.run(discover(
            list(devices.values()), options=DiscoveryOptions(concurrency=12, timeout=60),
            client_factory=lambda tls, names: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app))))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert not snap.errors and len(snap.devices) == 12
    path = tmp_path_factory.mktemp("observed") / "snapshot.json"
    save_snapshot(snap, path)
    return path
