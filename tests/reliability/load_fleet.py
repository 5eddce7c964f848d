"""The load test's world: a generated fleet of N devices (`bench/fleetgen.py`: 70% standalone,
20% pairs, 8% clusters, 2% multiple-context) in a real git repository that the daemon follows
through a `file://` URL (mirrored and fetched every cycle, as in production), its simulated
twin in-process (httpx ASGI transport, time scale 1000), a real image repository holding the
images the workers need, and a real SQLite state store.

Most of the fleet is plan-only (`auto_apply: false`, fleetgen's default): every cycle
discovers it and reports its drift. A few standalone **workers** get `auto_apply: true` and a
pinned system release in `desired/load.yaml`:

- *flipped* workers: the scenario flips their pin between their release and the next one, so
  those cycles run real jobs (copy, verify, back up, boot change, reload). One of them has a
  full disk: its job fails, and `max_attempts: 1` makes it NOT_CONVERGING until the pin flips
  back (it is then in sync, and its counter is forgotten);
- *drifted* workers stay pinned; behind the daemon's back an operator (over the device's
  HTTPS CLI) drops the running image from the boot list, saves and reloads, so the unit boots
  its previous release; the daemon reports `drift_detected` and upgrades it again.

A few devices are **faulty** every cycle: one answers HTTP 503 to everything (retried, then
unreachable), one refuses `show version`; with `unreachable_device`, one does not answer at all
(the simulator's 503 with Retry-After: 5: discovery waits about ten seconds for it).

The scenario repeats a period of four cycles:

1. `flip`   a commit flips the pin: the flipped workers are upgraded (or downgraded back);
2. `drift`  the drifted workers were reverted by hand: detected and upgraded again;
3. `settle` nothing new happened: the plan is made again, nothing is left to apply;
4. `idle`   nothing changed at all: the previous plan is reused.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from bench.fleetgen import SMP_VERSIONS, generate_fleet
from reconciler.core.model import DesiredState, ImageStatus, TlsSettings
from reconciler.core.observed import Snapshot
from reconciler.core.platforms import platform_of
from reconciler.daemon.loop import DaemonConfig, DaemonContext
from reconciler.drivers.base import DriverOptions
from reconciler.executor import RetryPolicy, RunnerOptions
from reconciler.executor.session import Workspace
from reconciler.images.repository import ImageRepository
from reconciler.loader import DirectorySource, load_desired
from reconciler.loader.snapshot import load_snapshot
from reconciler.planning import make_plan
from reconciler.sim.app import create_app
from reconciler.sim.clock import ScaledClock
from reconciler.sim.example import system_image_name
from reconciler.sim.fleet import SimCredentials, SimFleet
from reconciler.sim.fleetfile import fleet_from_dict
from tests.gitops.repos import FleetRepo

PASSWORD = "load-test-password-61c2"
TIME_SCALE = 1000.0
# the executor lab's timings: a reload is 0.12 s of wall time, far below the 900 s (0.9 s) timeout
TIMINGS = {"reload_seconds": 120, "ready_seconds": 20, "install_seconds": 30}
PERIOD = ("flip", "drift", "settle", "idle")
WORKER_FAMILY = "asa5500x"  # 5525-X..5555-X: the SMP builds, one catalog line per release


@dataclass
class Worker:
    name: str
    low: str  # the release it runs at the start
    high: str  # the next release in the catalog
    flipped: bool = True  # False: pinned to `low`, reverted by hand before each drift cycle
    faulty: bool = False  # its disk is full: every job fails


@dataclass
class ClientLedger:
    """The HTTP clients the daemon got from the client factory (a Workspace hook), to check
    that every one is closed when its cycle ends."""

    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def open(self) -> int:
        self.clients = [c for c in self.clients if not c.is_closed]
        return len(self.clients)


class LoadLab:
    def __init__(self, tmp: Path, devices: int, *, flipped: int, drifted: int, seed: int = 7,
                 faulty: bool = True, unreachable_device: bool = False) -> None:
        gen = tmp / "gen"
        generate_fleet(devices, seed, gen, sim=True, address_base="https://sim",
                       unreachable_rate=0)
        doc = yaml.load((gen / "simfleet.yaml").read_bytes(), Loader=yaml.CSafeLoader)
        self.fleet = SimFleet(fleet_from_dict({**doc, "timings": TIMINGS}, source="load twin"),
                              SimCredentials("admin", PASSWORD, None), ScaledClock(TIME_SCALE))
        self.app = create_app(self.fleet)
        self.repo = FleetRepo(tmp / "remote")
        for part in ("desired", "inventory"):
            shutil.copytree(gen / part, self.root / part)
        desired, _ = load_desired(DirectorySource(self.root))
        snapshot = load_snapshot(gen / "snapshot.json")
        shutil.rmtree(gen)
        self.workers = _pick_workers(desired, snapshot, flipped, drifted,
                                     lambda n: len(self.fleet.state(n)["boot"]))
        self.pin = "low"
        self.repo.write("desired/load.yaml", self._policy())
        self.commits = [self.repo.commit(  # every commit, the branch tip lastf"{devices} generated devices; {len(self.workers)} "
                                         "workers auto-applied")]
        desired, _ = load_desired(DirectorySource(self.root))
        self._check_workers_plan(desired, snapshot)

        self.images = tmp / "images"
        repo = ImageRepository(self.images)
        for name in sorted({system_image_name("asa5585", v) for w in self.workers
                            for v in (w.low, w.high)}):
            repo.fetch(desired.images[name])

        names = sorted(desired.inventory)
        taken = {w.name for w in self.workers}
        # early in discovery order, so their retries overlap the other devices' discovery
        spare = [n for n in names if n not in taken
                 and self.fleet.state(n)["mode"] == "standalone"]
        self.faulty: dict[str, str] = {}
        if faulty:
            self.faulty = {spare[1]: "http-503", spare[2]: "refuses show version"}
            self.fleet.add_fault(spare[1], {"kind": "http-error", "status": 503})
            self.fleet.add_fault(spare[2], {"kind": "command-error", "command": "show version",
                                            "message": "ERROR: % Invalid input detected"})
        if unreachable_device:
            self.faulty[spare[0]] = "unreachable"
            self.fleet.add_fault(spare[0], {"kind": "unreachable"})
        for w in self.workers:
            if w.faulty:
                self.fleet.add_fault(w.name, {"kind": "disk-full"})
        self.ledger = ClientLedger()
        self.state = tmp / "state.db"
        self.reverted = 0  # hand reverts done

    @property
    def root(self) -> Path:
        return self.repo.root

    # ------------------------------------------------------------ the daemon

    def factory(self, tls: TlsSettings, names: Sequence[str]) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        self.ledger.clients.append(client)
        return client

    def context(self, factory: Callable[[TlsSettings, Sequence[str]], httpx.AsyncClient]
                | None = None) -> DaemonContext:
        ws = Workspace(self.root, self.images, str(self.state),
                       client_factory=factory or self.factory,
                       driver_options=DriverOptions(poll_interval=5.0),
                       runner=RunnerOptions(retry=RetryPolicy(attempts=4, initial=1.0, maximum=5.0),
                                            poll=0.02))
        # the production path: a URL, mirrored under $RECONCILER_HOME/git and fetched each cycle
        cfg = DaemonConfig(repo=f"file://{self.root}", branch="main", interval=0.01, jitter=0.0,
                           retry_initial=0.01, ignore_windows=True,
                           # back in sync at once counts as converged: the full-disk worker
                           # gets its attempt again in every period that pins it high
                           stable_after=timedelta(0))
        return DaemonContext.open(cfg, ws)

    # ------------------------------------------------------------ the scenario

    def phase_of(self, cycle: int) -> str:
        """Cycle 1 is the cold start; then the period repeats."""
        return "start" if cycle == 1 else PERIOD[(cycle - 2) % len(PERIOD)]

    async def before(self, cycle: int) -> None:
        """What happens in the world before `cycle` runs."""
        phase = self.phase_of(cycle)
        if phase == "flip":
            self.pin = "high" if self.pin == "low" else "low"
            self.repo.write("desired/load.yaml", self._policy())
            self.commits.append(self.repo.commit(f"workers to their {self.pin} release"))
        elif phase == "drift":
            for w in self.drifted():
                await self._revert_by_hand(w)

    def target(self, w: Worker) -> str:
        return w.high if self.pin == "high" and w.flipped else w.low

    def flipped(self, *, faulty: bool = False) -> list[Worker]:
        return [w for w in self.workers if w.flipped and w.faulty == faulty]

    def drifted(self) -> list[Worker]:
        return [w for w in self.workers if not w.flipped]

    def units(self) -> int:
        return sum(len(self.fleet.state(n)["units"]) for n in self.fleet.devices)

    def running(self, name: str) -> str:
        return str(self.fleet.state(name)["units"][0]["running_version"])

    async def _revert_by_hand(self, w: Worker) -> None:
        """An operator at the device's CLI puts the previous release back: drops the running
        image from the boot list, saves, reloads; we wait until the unit is back up."""
        state = self.fleet.state(w.name)
        running = state["units"][0]["running_image"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                     base_url=f"https://sim/d/{w.name}/admin",
                                     auth=("admin", PASSWORD)) as op:
            for path in (f"config/{quote(f'no boot system {running}', safe='')}",
                         "exec/write%20memory", "exec/reload%20noconfirm"):
                r = await op.get(path)
                assert r.status_code == 200 and "ERROR" not in r.text, (path, r.text)
        deadline = time.monotonic() + 30
        while self.fleet.state(w.name)["units"][0]["state"] != "up":
            assert time.monotonic() < deadline, f"{w.name} did not come back from its reload"
            await asyncio.sleep(0.02)
        assert self.running(w.name) != self.target(w), f"{w.name} still runs its target"
        self.reverted += 1

    # ------------------------------------------------------------ policy

    def _policy(self) -> str:
        devices = []
        for w in self.workers:
            # on_error continue: a worker in a `pci` site would otherwise stop the whole job
            # when the full-disk one fails first
            settings: dict[str, Any] = {"auto_apply": True, "on_error": "continue"}
            if w.faulty:
                settings["max_attempts"] = 1
            devices.append({"name": w.name, "description": "load test worker",
                            "images": {"asa": self.target(w)}, "settings": settings})
        return ("# yaml-language-server: $schema=../schemas/policy.schema.json\n"
                + yaml.safe_dump({"devices": devices}, sort_keys=False))

    def _check_workers_plan(self, desired: DesiredState, snapshot: Snapshot) -> None:
        status = {n: ImageStatus.PRESENT for n in desired.images}
        plan, _ = make_plan(desired, snapshot, status, {})
        planned = {d.device: d for d in plan.devices}
        for w in self.workers:
            dp = planned.get(w.name)
            assert dp is None or not (dp.changes or dp.steps or dp.blocked), \
                f"worker {w.name} is not in sync at the start: {dp}"


def _pick_workers(desired: DesiredState, snapshot: Snapshot, flipped: int, drifted: int,
                  boot_entries: Callable[[str], int]) -> list[Worker]:
    """Standalone SMP units that plan cleanly both ways between their release and the next: in
    sync with their groups' targets, no pending session, room on disk, enough RAM. The last
    flipped one gets the full disk; drifted ones need a second boot entry to fall back to."""
    overridden = set(desired.devices)
    status = {n: ImageStatus.PRESENT for n in desired.images}
    plan, _ = make_plan(desired, snapshot, status, {})
    planned = {d.device: d for d in plan.devices}
    usable = SMP_VERSIONS[2:-1]  # 9.1 and later (no configuration-required hop), not the newest
    flips: list[Worker] = []
    drifts: list[Worker] = []
    for name, dev in sorted(snapshot.devices.items()):
        if len(flips) == flipped and len(drifts) == drifted:
            break
        m = dev.members[0] if dev.members else None
        if (platform_of(dev.model).family != WORKER_FAMILY or str(dev.mode) != "standalone"
                or m is None or name in overridden or dev.pending_config_changes):
            continue
        running = m.running.get("asa")  # type: ignore[call-overload]
        dp = planned.get(name)
        if running not in usable or (dp is not None and (dp.changes or dp.blocked)):
            continue
        high = SMP_VERSIONS[SMP_VERSIONS.index(running) + 1]
        size = desired.images[system_image_name("asa5585", high)].size
        if m.disks[0].free < 4 * size or (m.ram_mb or 0) < 8192:
            continue
        if len(flips) < flipped:
            flips.append(Worker(name, running, high))
        elif boot_entries(name) >= 2:
            drifts.append(Worker(name, running, high, flipped=False))
    assert (len(flips), len(drifts)) == (flipped, drifted), \
        f"only {len(flips)} + {len(drifts)} workers found in the generated fleet"
    flips[-1].faulty = True
    return flips + drifts

