"""The daemon against the example's simulated twin (in-process, time-scaled), a real git
repository in a temp dir holding the example fleet, the real image repository and a real state
store. Fixtures come from the executor's lab; the repository is the lab's copy put under git."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import git
import pytest

from reconciler.daemon.loop import DaemonConfig, DaemonContext
from tests.executor.conftest import Lab, images, lab, pg_lab  # noqa: F401 - shared fixtures
from tests.gitops.repos import FleetRepo


class DaemonLab:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.repo = FleetRepo(lab.root)
        self.repo.commit("example fleet")
        self.contexts: list[DaemonContext] = []

    def context(self, **config: Any) -> DaemonContext:
        cfg = DaemonConfig(repo=str(self.lab.root), branch="main", interval=0.01, jitter=0.0,
                           auto_apply=config.pop("auto_apply", True),
                           ignore_windows=config.pop("ignore_windows", True),
                           stable_after=config.pop("stable_after", timedelta(0)), **config)
        ctx = DaemonContext.open(cfg, self.lab.workspace())
        self.contexts.append(ctx)
        return ctx

    def close(self) -> None:
        for c in self.contexts:
            c.close()
        self.repo.close()


@pytest.fixture
def dlab(lab: Lab) -> Iterator[DaemonLab]:  # noqa: F811
    d = DaemonLab(lab)
    yield d
    d.close()


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
                 ) -> None:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    _ = git
