"""Device operations run against the twin of the bundled example, in-process (ASGI)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from reconciler.sim.fleet import SimFleet
from tests.sim_support import asgi_client, example_fleet


@pytest.fixture
def fleet() -> SimFleet:
    return example_fleet()


@pytest.fixture
async def client(fleet: SimFleet) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(fleet) as c:
        yield c
