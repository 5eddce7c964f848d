"""Simulated time.

Every duration in a fleet file (reload, rejoin, install, link speed) is in *simulated* seconds.
`ScaledClock` runs simulated time `time_scale` times faster than the wall clock, so with
`--time-scale 900` a 15-minute reload takes one second. `ManualClock` only moves when a test
says so, which makes reload and rejoin timing exact and instant to test.
State changes that are due at a time (a unit finishing its boot) are applied lazily by the
model when the device is next looked at, so the simulator needs no background tasks.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    time_scale: float

    def now(self) -> float:
        """Simulated seconds since the simulator started."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass."""
        ...


class ScaledClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError("time scale must be positive")
        self.time_scale = float(time_scale)
        self._t0 = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.time_scale

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds / self.time_scale)


class ManualClock:
    """A clock for tests: `advance()` moves it; `sleep()` advances it and yields once."""

    time_scale = 1.0

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)
