"""Simulator tests run on a manual clock: time moves only when a test advances it."""

import pytest

from reconciler.sim.clock import ManualClock
from reconciler.sim.fleet import SimFleet
from tests.sim_support import make_fleet


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fleet(clock: ManualClock) -> SimFleet:
    return make_fleet(clock=clock)
