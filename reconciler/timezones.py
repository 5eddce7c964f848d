"""Time zones for maintenance windows: IANA names through the system's (or tzdata's) database,
looked up once each. Kept outside the pure core, which takes this lookup as a parameter."""

from __future__ import annotations

import functools
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.errors import ConfigError


@functools.lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"maintenance window time zone {name!r} is unknown",
                          hint="use an IANA name such as UTC or Asia/Tokyo") from None
