"""/healthz, /readyz and /metrics over real HTTP on loopback."""

from __future__ import annotations

import httpx

from reconciler.daemon.health import serve_health
from reconciler.daemon.loop import run_cycle
from tests.daemon.conftest import DaemonLab


async def test_health_and_metrics_endpoints(dlab: DaemonLab) -> None:
    ctx = dlab.context(auto_apply=False)
    async with serve_health(ctx, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            assert (await c.get("/readyz")).status_code == 503
            assert (await c.get("/healthz")).json()["status"] == "starting"
            await run_cycle(ctx)
            assert (await c.get("/readyz")).status_code == 200
            h = await c.get("/healthz")
            assert h.status_code == 200 and h.json()["status"] == "ok"
            text = (await c.get("/metrics")).text
            for series in ('reconciler_devices{state="drifting"}', "reconciler_drift_devices",
                           "reconciler_cycle_duration_seconds_count",
                           'reconciler_cycles_total{result="ok"}',
                           "reconciler_last_sync_info{", "reconciler_last_cycle_timestamp_seconds"):
                assert series in text, series
            # failing cycles turn /healthz to 503 with the reason
            dlab.repo.write("desired/fleet.yaml", "defaults: [broken\n")
            dlab.repo.commit("broken policy")
            for _ in range(ctx.config.healthy_after_failures):
                r = await run_cycle(ctx)
                assert not r.ok and r.error
            bad = await c.get("/healthz")
            assert bad.status_code == 503 and "failed cycles in a row" in bad.json()["reason"]
            assert (await c.get("/nope")).status_code == 404
