"""Serving the simulated fleet over HTTPS with uvicorn, in the foreground or inside a test.

`serve_in_background(fleet, ...)` is an async context manager that starts uvicorn as a task on
the running event loop (port 0 picks a free port) and yields the base URL; tests and the demo
use it to get real HTTPS on loopback. `serve_forever` runs `reconciler simulate`.
The simulator refuses to listen anywhere but loopback: it accepts fake credentials and lets
anyone who can reach it rewrite its state through `/_sim`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from reconciler.errors import ConfigError
from reconciler.sim.app import create_app
from reconciler.sim.fleet import SimFleet
from reconciler.sim.tls import SimTls, ensure_tls


@dataclass(frozen=True)
class RunningSim:
    url: str  # https://127.0.0.1:PORT
    port: int
    tls: SimTls | None
    fleet: SimFleet

    def device_url(self, name: str) -> str:
        return f"{self.url}/d/{name}"


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen {listen!r}: write HOST:PORT, e.g. 127.0.0.1:18443")
    host = host.strip("[]") or "127.0.0.1"
    check_loopback(host)
    return host, int(port)


def check_loopback(host: str) -> None:
    try:
        loop = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loop = False
    if not loop:
        raise ConfigError(f"the simulator listens on loopback only, not {host}",
                          hint="use 127.0.0.1 or ::1; the simulator accepts fake credentials")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets: no 40 ms Nagle stalls
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}",
                          hint="another simulator may be running; stop it or choose another --listen port") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _EmbeddedServer(uvicorn.Server):
    """A server that leaves signal handling to its host process (a test, the demo)."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


def _server(fleet: SimFleet, tls: SimTls | None, *, control_api: bool, embedded: bool = False) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(fleet, control_api=control_api), log_level="warning", lifespan="off",
        access_log=False, ssl_certfile=str(tls.cert_path) if tls else None,
        ssl_keyfile=str(tls.key_path) if tls else None, timeout_keep_alive=30, timeout_graceful_shutdown=5,
    )
    return (_EmbeddedServer if embedded else uvicorn.Server)(config)


@asynccontextmanager
async def serve_in_background(
    fleet: SimFleet, *, host: str = "127.0.0.1", port: int = 0, tls_dir: Path | str | None = None,
    use_tls: bool = True, control_api: bool = True,
) -> AsyncIterator[RunningSim]:
    check_loopback(host)
    tls = ensure_tls(tls_dir, [host]) if use_tls and tls_dir is not None else None
    if use_tls and tls is None:
        raise ConfigError("serve_in_background needs tls_dir for HTTPS (or use_tls=False)")
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    server = _server(fleet, tls, control_api=control_api, embedded=True)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the simulator stopped while starting")
            await asyncio.sleep(0.01)
        scheme = "https" if tls else "http"
        shown = f"[{host}]" if ":" in host else host
        yield RunningSim(f"{scheme}://{shown}:{real_port}", real_port, tls, fleet)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def serve_forever(fleet: SimFleet, *, host: str, port: int, tls: SimTls, control_api: bool = True) -> None:
    sock = _bind(host, port)
    try:
        await _server(fleet, tls, control_api=control_api).serve(sockets=[sock])
    finally:
        sock.close()
