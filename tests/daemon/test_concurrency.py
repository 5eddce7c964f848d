"""Two daemons on one fleet and one state store (PostgreSQL and SQLite), started together:
every device is upgraded exactly once — the leases decide who works on it, never both."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.daemon.loop import run_cycle
from reconciler.store import JobDeviceStatus
from tests.daemon.conftest import DaemonLab
from tests.executor.conftest import Lab


async def _two_daemons(lab: Lab) -> None:
    dl = DaemonLab(lab)
    try:
        before = {n: _reloads(lab, n) for n in lab.fleet.devices}
        a, b = dl.context(actor="daemon-a"), dl.context(actor="daemon-b")
        ra, rb = await asyncio.gather(run_cycle(a), run_cycle(b))
        done_a = {n for n, s in ra.outcomes.items() if s == str(JobDeviceStatus.SUCCEEDED)}
        done_b = {n for n, s in rb.outcomes.items() if s == str(JobDeviceStatus.SUCCEEDED)}
        assert not done_a & done_b, "a device was upgraded by both daemons"
        wanted = set(ra.eligible) | set(rb.eligible)
        assert done_a | done_b == wanted and wanted
        # one device run per device (the executor counts each run it starts) ...
        for n in wanted:
            assert a.store.get_attempts(n).count == 1, n
        # ... and no unit reloaded that neither daemon upgraded
        for n in set(lab.fleet.devices) - wanted:
            assert _reloads(lab, n) == before[n], n
        # the device the other one held was skipped as locked, not run twice
        for r, other in ((ra, done_b), (rb, done_a)):
            for n in other & set(r.outcomes):
                assert r.outcomes[n] == str(JobDeviceStatus.SKIPPED)
        again = await run_cycle(a)
        assert not [n for n, d in again.devices.items() if d.state == "drifting"]
    finally:
        dl.close()


def _reloads(lab: Lab, name: str) -> dict[str, Any]:
    return {u["name"]: u["reloads"] for u in lab.sim(name).get("units", ())}


@pytest.mark.postgres
async def test_two_daemons_on_postgresql_upgrade_each_device_once(pg_lab: Lab) -> None:
    await _two_daemons(pg_lab)


async def test_two_daemons_on_sqlite_upgrade_each_device_once(lab: Lab) -> None:
    await _two_daemons(lab)
