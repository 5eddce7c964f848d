"""Graceful shutdown. First SIGTERM/SIGINT: no new cycle and no new device starts; devices
already running finish their whole run. Second: each running device stops before its next step
— never inside one (a copy, a reload and the wait after it are whole steps) — and the job ends
with every device accounted for; the next run re-discovers what was touched."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from reconciler.daemon.loop import DaemonContext
from reconciler.logging import get_logger


@contextlib.contextmanager
def graceful_shutdown(ctx: DaemonContext) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    log = get_logger(component="daemon")
    hits = 0

    def on_signal(sig: signal.Signals) -> None:
        nonlocal hits
        hits += 1
        ctx.stopping = True
        ctx.wake.set()
        runner = ctx.session.runner if ctx.session is not None else None
        if hits == 1:
            log.warning("shutdown_requested", signal=sig.name,
                        detail="no new device starts; running devices finish their run")
            if runner is not None:
                runner.request_stop(f"daemon shutting down ({sig.name})")
        else:
            log.warning("shutdown_now", signal=sig.name,
                        detail="running devices stop before their next step")
            if runner is not None:
                runner.stop_between_steps(f"daemon shutting down ({sig.name}, second signal)")

    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
