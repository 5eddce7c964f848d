"""End-to-end executor tests: a copy of the bundled example repository, its simulated twin served
in-process (httpx ASGITransport, real HTTP semantics, time scaled so a 7-minute reload takes a
fraction of a second), a real image repository with the catalog's synthetic images, and a real
SQLite state store. Nothing of our own is mocked: faults are injected into the simulator."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.core.model import DesiredState, TlsSettings
from reconciler.drivers.base import DriverOptions
from reconciler.core.plan.model import SavedPlan
from reconciler.executor import Events, JobRequest, JobResult, RetryPolicy, RunnerOptions
from reconciler.executor.session import Session, Workspace
from reconciler.loader import DirectorySource, load_desired
from reconciler.planning import load_desired_state
from reconciler.sim.app import create_app
from reconciler.sim.clock import ScaledClock
from reconciler.sim.example import twin_fleet
from reconciler.sim.fleetfile import fleet_from_dict
from reconciler.sim.fleet import SimCredentials, SimFleet
from reconciler.store import Job, JobDeviceStatus
from tests.conftest import PROJECT_ROOT

PASSWORD = "exec-test-password-5b1e"
TOKEN = "exec-test-token-0c77"
TIME_SCALE = 1000.0
# Shorter reloads than the twin's 420 s keep a wide margin below the 900 s reload timeout (0.9 s
# of wall time here), so a busy test machine never turns a slow poll into a RELOAD_TIMEOUT.
TIMINGS = {"reload_seconds": 120, "ready_seconds": 20, "install_seconds": 30}
FAST_RETRY = RetryPolicy(attempts=4, initial=1.0, maximum=5.0)


@pytest.fixture(scope="session")
def images(example_images: Path) -> Path:
    return example_images


def example_repo(dest: Path, *, patch: dict[str, str] | None = None) -> Path:
    for d in ("desired", "inventory"):
        shutil.copytree(PROJECT_ROOT / d, dest / d)
    for rel, text in (patch or {}).items():
        (dest / rel).write_text(text, encoding="utf-8")
    return dest


@dataclass
class Recorder(Events):
    """Keeps what the executor reported (for order and retry assertions)."""

    log: list[tuple[str, Any]] = field(default_factory=list)

    def device_started(self, device: str, steps: int) -> None:
        self.log.append(("start", device))

    def step_retry(self, device: str, step: Any, attempt: int, error: str, delay: float) -> None:
        self.log.append(("retry", (device, str(step.action), attempt, error)))

    def device_finished(self, device: str, status: JobDeviceStatus, state: Any, message: str) -> None:
        self.log.append(("end", (device, str(status))))

    def starts(self) -> list[str]:
        return [d for k, d in self.log if k == "start"]


@dataclass
class Lab:
    """The example repository, its twin, the image repository and a state store."""

    root: Path
    images: Path
    fleet: SimFleet
    state: Path | str  # a SQLite file or a postgresql:// URL
    events: Recorder = field(default_factory=Recorder)

    def factory(self, tls: TlsSettings, names: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.fleet)))

    def workspace(self, **runner: Any) -> Workspace:
        opts = RunnerOptions(retry=FAST_RETRY, poll=0.02, **runner)
        return Workspace(self.root, self.images, str(self.state), client_factory=self.factory,
                         driver_options=DriverOptions(poll_interval=5.0), runner=opts)

    def desired(self) -> DesiredState:
        return load_desired_state(self.root)[0]

    def session(self, actor: str = "tester", **runner: Any) -> Session:
        return Session(self.workspace(**runner), actor=actor)

    def sim(self, name: str) -> dict[str, Any]:
        return self.fleet.state(name)

    def fingerprint(self, name: str) -> dict[str, Any]:
        """The simulated device's state without what time alone changes (uptime)."""
        state = self.fleet.state(name)
        for u in state.get("units", ()):
            u.pop("uptime", None)
        return state

    def fingerprints(self, exclude: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        return {n: self.fingerprint(n) for n in self.fleet.devices if n not in set(exclude)}

    def running(self, name: str) -> dict[str, str]:
        """unit -> running system version, as the simulator knows it."""
        return {u["name"]: u["running_version"] for u in self.sim(name)["units"]}

    async def apply(self, names: list[str], request: JobRequest | None = None, *,
                    actor: str = "tester", before_run: Callable[[Session, Job], Any] | None = None,
                    **runner: Any) -> tuple[JobResult, SavedPlan]:
        """Plan `names` from fresh discovery and run the job; returns (result, saved plan)."""
        desired = self.desired()
        async with self.session(actor, **runner) as s:
            await s.recover(desired)
            saved, resolved = await s.plan(desired, names)
            job = s.create(saved, request or JobRequest(ignore_windows=True), resolved)
            if before_run is not None:
                before_run(s, job)
            result = await s.run(job, desired, events=self.events)
            return result, saved

    async def replan(self, names: list[str]) -> SavedPlan:
        """A fresh discovery and plan (what the next run would do)."""
        desired = self.desired()
        async with self.session() as s:
            saved, _ = await s.plan(desired, names)
            return saved


@pytest.fixture
def lab(tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield make_lab(tmp_path, images, monkeypatch, tmp_path / "state.db")


@pytest.fixture
def pg_lab(tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Lab:
    """The same, with the state store on PostgreSQL (a fresh schema)."""
    from reconciler.store import open_store

    with open_store(pg_url, migrate=True):
        pass
    return make_lab(tmp_path, images, monkeypatch, pg_url)


def make_lab(tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch,
             state: Path | str) -> Lab:
    root = example_repo(tmp_path / "repo")
    monkeypatch.setenv("RECONCILER_FW_PASSWORD", PASSWORD)
    monkeypatch.setenv("RECONCILER_AGENT_TOKEN", TOKEN)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    monkeypatch.delenv("RECONCILER_HOME", raising=False)
    desired, _ = load_desired(DirectorySource(root))
    doc, _ = twin_fleet(desired.inventory, desired.images)
    spec = fleet_from_dict({**doc, "timings": TIMINGS}, source="test twin")
    fleet = SimFleet(spec, SimCredentials("admin", PASSWORD, TOKEN), ScaledClock(TIME_SCALE))
    return Lab(root, images, fleet, state)


@pytest.fixture
async def session(lab: Lab) -> AsyncIterator[Session]:
    async with lab.session() as s:
        yield s
