"""`/healthz`, `/readyz` and `/metrics` on a small asyncio HTTP server (no framework: it must not
take over the process's signal handling, and it serves three fixed paths).

- `/healthz`: 200 while cycles succeed; 503 with the reason after `healthy_after_failures`
  failed cycles in a row or when no cycle succeeded for three intervals.
- `/readyz`: 200 once a cycle has succeeded.
- `/metrics`: Prometheus text format.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST

from reconciler.daemon.loop import DaemonContext


def health(ctx: DaemonContext) -> tuple[int, dict[str, object]]:
    cfg = ctx.config
    body: dict[str, object] = {"cycle": ctx.cycle, "failures_in_a_row": ctx.failures}
    if ctx.last is not None:
        body["commit"] = ctx.last.commit
    if ctx.failures >= cfg.healthy_after_failures:
        reason = ctx.last.error if ctx.last is not None and ctx.last.error else "cycles fail"
        return 503, {**body, "status": "failing", "reason": f"{ctx.failures} failed cycles in a "
                                                            f"row; last: {reason}"}
    if ctx.last_ok_at is not None:
        age = time.monotonic() - ctx.last_ok_at
        body["seconds_since_success"] = round(age, 1)
        if age > 3 * cfg.interval + 600:
            return 503, {**body, "status": "stale",
                         "reason": f"no successful cycle for {age:.0f} s"}
    return 200, {**body, "status": "ok" if ctx.last_ok_at is not None else "starting"}


def ready(ctx: DaemonContext) -> tuple[int, dict[str, object]]:
    if ctx.last_ok_at is None:
        return 503, {"status": "not ready", "reason": "no cycle has succeeded yet"}
    return 200, {"status": "ready"}


async def _handle(ctx: DaemonContext, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
        while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
            pass
        parts = line.decode("latin-1").split()
        method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
        ctype = "application/json"
        if method not in ("GET", "HEAD"):
            status, body = 405, b'{"error": "method not allowed"}'
        elif path == "/metrics":
            status, body, ctype = 200, ctx.metrics.render(), CONTENT_TYPE_LATEST
        elif path in ("/healthz", "/readyz"):
            status, doc = health(ctx) if path == "/healthz" else ready(ctx)
            body = json.dumps(doc).encode()
        else:
            status, body = 404, b'{"error": "not found: /healthz, /readyz, /metrics"}'
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed",
                  503: "Service Unavailable"}[status]
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        writer.write(head + (b"" if method == "HEAD" else body))
        await writer.drain()
    except (TimeoutError, ConnectionError, UnicodeDecodeError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def serve_health(ctx: DaemonContext, host: str, port: int
                       ) -> AsyncIterator[asyncio.Server]:
    server = await asyncio.start_server(lambda r, w: _handle(ctx, r, w), host, port)
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
