"""Opening one inventory device: its HTTPS client (per its TLS settings) and its driver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from reconciler.core.model import CredentialRef, InventoryDevice
from reconciler.core.names import did_you_mean
from reconciler.drivers.base import Driver, DriverOptions, Resolver, Transcript
from reconciler.drivers.registry import driver_for
from reconciler.drivers.tls import client_for
from reconciler.errors import ConfigError
from reconciler.loader.credentials import resolve_credential


def find_device(devices: Mapping[str, InventoryDevice], name: str) -> InventoryDevice:
    dev = devices.get(name)
    if dev is None:
        raise ConfigError(f"device {name} is not in the inventory{did_you_mean(name, devices)}",
                          code="UNKNOWN_DEVICE", hint="`reconciler discover` lists the inventory's devices")
    return dev


def repo_resolver(root: Path) -> Resolver:
    """`env:` from the environment, `file:` relative to the repository root."""

    def resolve(ref: CredentialRef) -> str:
        return resolve_credential(ref, base_dir=root)

    return resolve


@asynccontextmanager
async def connect(device: InventoryDevice, *, root: Path, client: httpx.AsyncClient | None = None,
                  resolver: Resolver | None = None, transcript: Transcript | None = None,
                  options: DriverOptions | None = None) -> AsyncIterator[Driver]:
    """An opened driver for `device`. Without `client`, one is built from the device's TLS
    settings (relative `ca_bundle` paths from `root`) and closed afterwards."""
    own = client is None
    http = client if client is not None else client_for(device.tls, root=root, devices=[device.name],
                                                        max_connections=4)
    try:
        async with driver_for(device, http, resolver=resolver or repo_resolver(root), transcript=transcript,
                              options=options) as drv:
            yield drv
    finally:
        if own:
            await http.aclose()
