"""Shared pieces of the simulator's HTTP layer: device lookup, authentication, error answers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from reconciler.sim.faults import Fault, FaultKind
from reconciler.sim.fleet import SimFleet, UnknownDevice
from reconciler.sim.model import SimAgent, SimAsa, SimDevice, SimFile

REALM = 'Basic realm="Adaptive Security Appliance"'


def common_headers(fleet: SimFleet) -> dict[str, str]:
    return {"X-Sim-Time-Scale": f"{fleet.time_scale:g}", "Cache-Control": "no-store"}


def text(fleet: SimFleet, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(body, status_code=status, headers={**common_headers(fleet), **(headers or {})})


def request_commands(request: Request) -> list[str]:
    """The CLI commands of an `/admin/exec|config/<cmd>/...` request (URL-decoded, in order)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.decode("latin-1").split("?")[0].split("/")
    # ['', 'd', name, 'admin', 'exec'|'config', cmd, ...]
    if len(parts) > 5 and parts[3] == "admin" and parts[4] in ("exec", "config"):
        return [unquote(p) for p in parts[5:] if p]
    return []


def _http_fault(dev: SimDevice, request: Request) -> Fault | None:
    """A device-wide `http-error` fault; one with `command` fires only on requests carrying a
    CLI command that starts with it (a failure during one phase: boot change, hand-off...)."""
    for f in dev.faults.items:
        if f.kind is not FaultKind.HTTP_ERROR or f.exhausted:
            continue
        if f.command is None or any(c.startswith(f.command) for c in request_commands(request)):
            f.fired += 1
            return f
    return None


def enter_device(request: Request, kind: str) -> tuple[SimDevice | None, Response | None]:
    """Look up the device, apply due events and device-wide faults; None + the error answer."""
    fleet: SimFleet = request.app.state.fleet
    name = request.path_params["name"]
    try:
        dev = fleet.device(name)
    except UnknownDevice:
        return None, error_response(fleet, kind, 404, None, f"no device named {name} on this simulator")
    if dev.kind != kind:
        return None, error_response(fleet, kind, 404, None, f"{name} is an {dev.kind} device; this is the {kind} API")
    fault = _http_fault(dev, request)
    if fault is not None:
        return None, error_response(fleet, kind, fault.status, None, f"simulated HTTP {fault.status} from {name}")
    if isinstance(dev, SimAsa) and dev.management_unit() is None or isinstance(dev, SimAgent) and not dev.up:
        return None, error_response(fleet, kind, 503, None, f"{name} is not responding (reloading or down)",
                            {"Retry-After": "5"})
    if not _authorised(request, fleet, kind):
        return None, error_response(fleet, kind, 401, None, "authentication failed",
                            {"WWW-Authenticate": REALM if kind == "asa" else "Bearer"})
    return dev, None


def _authorised(request: Request, fleet: SimFleet, kind: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if kind == "agent":
        return scheme.lower() == "bearer" and fleet.credentials.token_ok(value.strip())
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return fleet.credentials.basic_ok(user, password)


def error_response(fleet: SimFleet, kind: str, status: int, code: str | None, message: str,
           headers: dict[str, str] | None = None) -> Response:
    h = {**common_headers(fleet), **(headers or {})}
    if code:
        h["X-Transfer-Error"] = code
    if kind == "agent":
        return JSONResponse({"error": {"code": code or f"http-{status}", "message": message}},
                            status_code=status, headers=h)
    return PlainTextResponse(message + "\n", status_code=status, headers=h)


def file_response(fleet: SimFleet, f: SimFile) -> StreamingResponse:
    """Stream a stored file back in chunks."""

    def body() -> Iterator[bytes]:
        yield from f.content.chunks()

    return StreamingResponse(body(), media_type="application/octet-stream",
                             headers={**common_headers(fleet), "Content-Length": str(f.size)})
