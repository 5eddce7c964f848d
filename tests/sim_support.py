"""Shared helpers for tests that run the simulated fleet (in-process or on loopback HTTPS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from reconciler.core.model import (
    CredentialRef,
    Credentials,
    DriverKind,
    InventoryDevice,
    TlsSettings,
)
from reconciler.drivers.base import DriverOptions, Transcript
from reconciler.drivers.registry import driver_for
from reconciler.sim.app import create_app
from reconciler.sim.clock import Clock, ScaledClock
from reconciler.sim.fleet import SimCredentials, SimFleet
from reconciler.sim.fleetfile import load_fleet_file
from reconciler.sim.server import RunningSim

FIXTURES = Path(__file__).parent / "fixtures" / "sim"
SMALL_FLEET = FIXTURES / "small-fleet.yaml"
PASSWORD = "sim-test-password-7f3a"
TOKEN = "sim-test-token-91c2"
CREDS = SimCredentials("admin", PASSWORD, TOKEN)
SECRETS = {"SIM_TEST_PASSWORD": PASSWORD, "SIM_TEST_TOKEN": TOKEN}
FAST = DriverOptions(poll_interval=5.0, switchover_timeout=120.0)


def resolver(ref: CredentialRef) -> str:
    return SECRETS[ref.ref]


def make_fleet(path: Path = SMALL_FLEET, *, clock: Clock | None = None, time_scale: float = 2000.0) -> SimFleet:
    return SimFleet(load_fleet_file(path), CREDS, clock or ScaledClock(time_scale))


def inventory_device(fleet: SimFleet, name: str, base_url: str = "https://sim",
                     tls: TlsSettings | None = None, password: str = "SIM_TEST_PASSWORD") -> InventoryDevice:
    """The inventory entry a user would write for a simulated device."""
    dev = fleet.devices[name]
    if dev.kind == "agent":
        creds = Credentials(token=CredentialRef("env", "SIM_TEST_TOKEN"))
        return InventoryDevice(name=name, address=f"{base_url}/d/{name}", driver=DriverKind.AGENT,
                               credentials=creds, platform=getattr(dev, "platform", None), tls=tls or TlsSettings())
    creds = Credentials(username="admin", password=CredentialRef("env", password))
    return InventoryDevice(name=name, address=f"{base_url}/d/{name}", driver=DriverKind.ASA, credentials=creds,
                           model=getattr(dev, "model", None), tls=tls or TlsSettings())


def inventory(fleet: SimFleet, base_url: str = "https://sim", tls: TlsSettings | None = None) -> list[InventoryDevice]:
    return [inventory_device(fleet, n, base_url, tls) for n in fleet.devices]


@asynccontextmanager
async def asgi_client(fleet: SimFleet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fleet))) as client:
        yield client


@asynccontextmanager
async def open_driver(fleet: SimFleet, name: str, client: httpx.AsyncClient, *,
                      transcript: Transcript | None = None, options: DriverOptions = FAST,
                      base_url: str = "https://sim"):  # type: ignore[no-untyped-def]
    async with driver_for(inventory_device(fleet, name, base_url), client, resolver=resolver,
                          transcript=transcript, options=options) as drv:
        yield drv


# ---------------------------------------------------------------- the example twin, served in a thread

# the example inventory references these variables; the twin accepts the same values as CREDS
EXAMPLE_ENV = {"RECONCILER_FW_PASSWORD": PASSWORD, "RECONCILER_AGENT_TOKEN": TOKEN}


def example_fleet(time_scale: float = 2000.0) -> SimFleet:
    """The twin of the bundled example (inventory/ and desired/ of the project); it accepts CREDS,
    so `open_driver` and a CLI run with EXAMPLE_ENV both get in."""
    from reconciler.sim.example import load_twin
    from tests.conftest import PROJECT_ROOT

    spec, _ = load_twin(PROJECT_ROOT)
    return SimFleet(spec, CREDS, ScaledClock(time_scale))


def example_repo(dest: Path, base_url: str) -> Path:
    """A copy of the example repository whose inventory points at `base_url` (a running simulator
    whose TLS material is in `dest/.reconciler/sim`, as the inventory's ca_bundle expects)."""
    import shutil

    from tests.conftest import PROJECT_ROOT

    for d in ("desired", "inventory"):
        shutil.copytree(PROJECT_ROOT / d, dest / d)
    inv = dest / "inventory" / "devices.yaml"
    inv.write_text(inv.read_text().replace("https://127.0.0.1:18443", base_url))
    return dest


@contextmanager
def serve_in_thread(fleet: SimFleet, tls_dir: Path) -> Iterator[RunningSim]:
    """`serve_in_background` on its own event loop in a thread, for code under test that runs
    `asyncio.run` itself (the CLI through click's CliRunner)."""
    import asyncio
    import threading

    from reconciler.sim.server import serve_in_background

    started = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        box["stop"], box["loop"] = stop, asyncio.get_running_loop()
        try:
            async with serve_in_background(fleet, tls_dir=tls_dir) as sim:
                box["sim"] = sim
                started.set()
                await stop.wait()
        except BaseException as e:  # surfaced to the test below
            box["error"] = e
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    started.wait(30)
    if "sim" not in box:
        raise RuntimeError(f"the simulator did not start: {box.get('error')!r}")
    try:
        yield box["sim"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


def sim_storage(fleet: SimFleet, name: str) -> dict[str, dict[str, Any]]:
    """What the simulator holds for each member of `name`, in the shape `reconciler device storage
    --format json` reports it: member -> disks (size, free, files with running/boot/asdm flags)."""
    state = fleet.state(name)
    if state["driver"] == "agent":
        pkgs = state["packages"]
        disk = fleet.devices[name].disk  # type: ignore[union-attr]
        return {name: {"disks": {disk.name: {"size": disk.size, "free": disk.free, "files": {
            f: {"size": s, "running": False, "boot": None, "asdm": False, "webvpn": False}
            for f, s in pkgs.items()}}}}}
    boot = state["boot"]
    cfg = fleet.devices[name].running  # type: ignore[union-attr]
    webvpn = {*cfg.anyconnect, cfg.csd, cfg.hostscan}
    out: dict[str, dict[str, Any]] = {}
    for u in state["units"]:
        disks = {}
        for dname, d in u["disks"].items():
            files = {}
            for fname, size in d["files"].items():
                path = f"{dname}:/{fname}"
                files[fname] = {"size": size, "running": path == u["running_image"],
                                "boot": boot.index(path) + 1 if path in boot else None, "asdm": path == state["asdm"],
                                "webvpn": path in webvpn}
            disks[dname] = {"size": d["size"], "free": d["free"], "files": files}
        out[u["name"]] = {"disks": disks}
    return out


def reported_storage(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The same shape from a `device storage --format json` document."""
    return {m["name"]: {"disks": {d["name"]: {"size": d["size"], "free": d["free"], "files": {
        f["name"]: {"size": f["size"], "running": f["running"], "boot": f["boot"], "asdm": f["asdm"],
                    "webvpn": f["webvpn"]}
        for f in d["files"]}} for d in m["disks"]}} for m in doc["members"]}


def probes_left(fleet: SimFleet, name: str, prefix: str = "reconciler-probe-") -> list[str]:
    """Every probe file still on any member's disk (or partially received) — must be empty."""
    from reconciler.sim.model import SimAgent

    dev = fleet.devices[name]
    disks = [dev.disk] if isinstance(dev, SimAgent) else [d for u in dev.units for d in u.disks.values()]
    return [f"{d.name}:/{f}" for d in disks for f in [*d.files, *d.partials] if f.startswith(prefix)]
