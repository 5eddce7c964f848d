"""Driver kind -> driver class. The only place that knows every driver."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.core.model import DriverKind, InventoryDevice
from reconciler.drivers.agent import AgentDriver
from reconciler.drivers.asa import AsaDriver
from reconciler.drivers.base import Driver
from reconciler.errors import ConfigError

DRIVERS: dict[DriverKind, type[Driver]] = {
    DriverKind.ASA: AsaDriver,
    DriverKind.AGENT: AgentDriver,
}


def driver_class(kind: DriverKind | str) -> type[Driver]:
    try:
        return DRIVERS[DriverKind(kind)]
    except ValueError:
        raise ConfigError(f"unknown driver {kind!r}", hint="drivers: " + ", ".join(k.value for k in DRIVERS)) from None


def driver_for(device: InventoryDevice, client: httpx.AsyncClient, **kw: Any) -> Driver:
    """A driver for `device`; use it as `async with driver_for(dev, client) as drv:`."""
    return driver_class(device.driver)(device, client, **kw)
