"""Shared helpers for tests that run the simulated fleet (in-process or on loopback HTTPS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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
