"""Reaching devices: one HTTPS client per distinct TLS setting, shared by every device that uses
it, and a driver per device run. Tests and the demo plug in a client factory (an in-process
simulator through `httpx.ASGITransport`); production builds clients with
`reconciler.drivers.tls.client_for` from each device's TLS settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType

import httpx

from reconciler.core.model import CredentialRef, InventoryDevice, TlsSettings
from reconciler.core.observed import Snapshot
from reconciler.discovery import ClientFactory, Progress
from reconciler.drivers.base import Driver, DriverOptions, Transcript
from reconciler.drivers.registry import driver_for
from reconciler.drivers.tls import client_for

__all__ = ["ClientFactory", "Connector", "Resolver"]

Resolver = Callable[[CredentialRef], str]


class Connector:
    """Use as `async with Connector(root) as conn:`; clients are closed on exit."""

    def __init__(self, root: Path, *, client_factory: ClientFactory | None = None,
                 resolver: Resolver | None = None, driver_options: DriverOptions | None = None,
                 max_connections: int = 32) -> None:
        from reconciler.planning import credential_resolver

        self.root = Path(root)
        self.client_factory = client_factory
        self.resolver: Resolver = resolver or credential_resolver(self.root)
        self.driver_options = driver_options or DriverOptions()
        self._max = max_connections
        self._clients: dict[TlsSettings, httpx.AsyncClient] = {}
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            await c.aclose()

    async def client(self, device: InventoryDevice) -> httpx.AsyncClient:
        async with self._lock:
            c = self._clients.get(device.tls)
            if c is None:
                if self.client_factory is not None:
                    c = self.client_factory(device.tls, [device.name])
                else:
                    c = client_for(device.tls, root=self.root, devices=[device.name],
                                   max_connections=self._max)
                self._clients[device.tls] = c
            return c

    @asynccontextmanager
    async def driver(self, device: InventoryDevice,
                     transcript: Transcript | None = None) -> AsyncIterator[Driver]:
        client = await self.client(device)
        async with driver_for(device, client, resolver=self.resolver, transcript=transcript,
                              options=self.driver_options) as drv:
            yield drv

    async def discover(self, devices: Sequence[InventoryDevice], *,
                       progress: Progress | None = None, transcripts: dict[str, Transcript] | None = None,
                       attempts: int | None = None) -> Snapshot:
        """A fresh discovery through the same clients' settings (unreachable devices become
        errors in the snapshot, never exceptions). `attempts=1`: one look, no retries."""
        from reconciler.discovery import DiscoveryOptions, discover

        options = DiscoveryOptions(root=self.root)
        if attempts is not None:
            options = DiscoveryOptions(root=self.root, attempts=attempts)
        return await discover(list(devices), options=options,
                              client_factory=self.client_factory, resolver=self.resolver,
                              driver_options=self.driver_options, progress=progress,
                              transcripts=transcripts)
