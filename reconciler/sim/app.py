"""The simulated fleet as one ASGI app: every device under `/d/<name>`, control API under `/_sim`.

ASA wire protocol (the ASA HTTPS management interface, as the seed's manager uses it):
- `GET /d/<name>/admin/exec/<cmd>[/<cmd>...]` runs exec commands in order, each URL-encoded
  (a `/` inside a command is `%2F`); the answer is the CLI text, errors included.
- `GET|POST /d/<name>/admin/config/<cmd>[/<cmd>...]` runs configuration commands.
- `PUT /d/<name>/admin/files/<disk>/<file>` streams a file onto a unit (the simulator's
  stand-in for the ASA pulling it with `copy https://...`). Without `X-Target-Unit` it lands on
  the unit answering the management address; on a cluster control unit it is spread to every
  member, as the ASA does. `X-Target-Unit: <member>` targets one member (the failover mate or a
  cluster unit). `Content-Range` sends a part of a larger file.
- `GET /d/<name>/admin/files/<disk>/<file>` streams a file back, from the active unit of a pair
  or the control unit of a cluster only (the seed: downloads are supported there only).
HTTP basic authentication; `401` for bad credentials, `503` while the management unit is down.
Agent endpoints are in `reconciler.sim.agent_api`. Every answer carries `X-Sim-Time-Scale`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.core.model import Mode
from reconciler.sim import agent_api
from reconciler.sim.asa_cli import run_config, run_exec
from reconciler.sim.faults import FaultKind, FaultSpecError
from reconciler.sim.fleet import SimFleet, UnknownDevice
from reconciler.sim.http import common_headers, enter_device, error_response, file_response, text
from reconciler.sim.model import SimAsa, SimError, Unit, split_path
from reconciler.sim.uploads import Target, receive_upload

def _commands(request: Request, marker: str) -> list[str]:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    rest = path[path.index(marker) + len(marker):]
    return [unquote(p) for p in rest.split("/") if p]


# ---------------------------------------------------------------- ASA routes


async def asa_exec(request: Request) -> Response:
    dev, err = enter_device(request, "asa")
    if err is not None:
        return err
    assert isinstance(dev, SimAsa)
    fleet: SimFleet = request.app.state.fleet
    config = "/admin/config/" in request.url.path
    cmds = _commands(request, "/admin/config/" if config else "/admin/exec/")
    if not cmds:
        return text(fleet, "ERROR: no command given\n", 400)
    unit = dev.management_unit()
    out = []
    for c in cmds:
        if unit is None or not unit.up:
            break  # the unit reloaded part-way through the list
        now = fleet.now()
        out.append(run_config(dev, unit, c, now) if config else run_exec(dev, unit, c, now))
    return text(fleet, "\n".join(o.rstrip("\n") for o in out) + "\n")


def _file_targets(dev: SimAsa, mgmt: Unit, target: str | None, disk: str) -> list[Target] | str:
    if target:
        unit = dev.unit(target)
        if unit is None:
            return f"%Error: no unit {target} in {dev.name}"
        if unit is not mgmt and (not dev.reachable(unit) or dev.mode is Mode.CLUSTER and not dev.in_cluster(unit)):
            return f"unreachable:%Error: unit {target} is not reachable through {mgmt.name}"
        units = [unit]
    elif dev.mode is Mode.CLUSTER:
        units = [u for u in dev.units if dev.in_cluster(u)]  # the control unit spreads the image
    else:
        units = [mgmt]
    targets = []
    for u in units:
        d = u.disk(disk)
        if d is None:
            return f"%Error opening {disk}:/ on unit {u.name} (No such device)"
        targets.append(Target(u.name, d))
    return targets


async def asa_put_file(request: Request) -> Response:
    dev, err = enter_device(request, "asa")
    if err is not None:
        return err
    assert isinstance(dev, SimAsa)
    fleet: SimFleet = request.app.state.fleet
    disk, filename = request.path_params["disk"].lower(), request.path_params["filename"]
    try:
        split_path(f"{disk}:/{filename}")
    except SimError as e:
        async for _ in request.stream():
            pass
        return error_response(fleet, "asa", 400, None, str(e), {})
    mgmt = dev.management_unit()
    assert mgmt is not None
    targets = _file_targets(dev, mgmt, request.headers.get("x-target-unit"), disk)
    if isinstance(targets, str):
        async for _ in request.stream():
            pass
        if targets.startswith("unreachable:"):
            return text(fleet, targets.split(":", 1)[1] + "\n", 503)
        return text(fleet, targets + "\n", 404)

    def render(status: int, code: str | None, message: str, headers: dict[str, str]) -> Response:
        return error_response(fleet, "asa", status, code, message, headers) if status >= 400 else \
            text(fleet, message + "\n", status, headers)

    return await receive_upload(request, fleet, dev.name, dev.faults, targets, filename,
                                f"{disk}:/{filename}", render)


async def asa_get_file(request: Request) -> Response:
    dev, err = enter_device(request, "asa")
    if err is not None:
        return err
    assert isinstance(dev, SimAsa)
    fleet: SimFleet = request.app.state.fleet
    mgmt = dev.management_unit()
    assert mgmt is not None
    target = request.headers.get("x-target-unit")
    if target and target != mgmt.name:
        return text(fleet, "%Error: files can be downloaded from the active unit of a failover pair "
                    "or the control unit of a cluster only\n", 403)
    disk = mgmt.disk(request.path_params["disk"].lower())
    f = disk.files.get(request.path_params["filename"]) if disk else None
    if f is None:
        return text(fleet, f"%Error opening {request.path_params['disk']}:/{request.path_params['filename']} "
                    "(No such file or directory)\n", 404)
    return file_response(fleet, f)


# ---------------------------------------------------------------- control API


def _json(fleet: SimFleet, data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=common_headers(fleet))


async def ctl_health(request: Request) -> Response:
    fleet: SimFleet = request.app.state.fleet
    return _json(fleet, {"devices": len(fleet.devices), "time_scale": fleet.time_scale,
                         "sim_time": round(fleet.now(), 3)})


async def ctl_devices(request: Request) -> Response:
    fleet: SimFleet = request.app.state.fleet
    return _json(fleet, [{"name": d.name, "driver": d.kind} for d in fleet.devices.values()])


async def ctl_device(request: Request) -> Response:
    fleet: SimFleet = request.app.state.fleet
    try:
        return _json(fleet, fleet.state(request.path_params["name"]))
    except UnknownDevice:
        return _json(fleet, {"error": "no such device"}, 404)


async def ctl_faults(request: Request) -> Response:
    fleet: SimFleet = request.app.state.fleet
    name = request.path_params["name"]
    try:
        if request.method == "DELETE":
            fleet.clear_faults(name, request.query_params.get("kind"))
        else:
            body = await request.json()
            for spec in body if isinstance(body, list) else [body]:
                fleet.add_fault(name, spec)
        return _json(fleet, fleet.state(name))
    except UnknownDevice:
        return _json(fleet, {"error": "no such device"}, 404)
    except (FaultSpecError, ValueError, TypeError, json.JSONDecodeError) as e:
        return _json(fleet, {"error": str(e)}, 400)


async def ctl_actions(request: Request) -> Response:
    fleet: SimFleet = request.app.state.fleet
    name = request.path_params["name"]
    try:
        body = await request.json()
        op = body.pop("op")
        return _json(fleet, fleet.apply(name, op, **body))
    except UnknownDevice:
        return _json(fleet, {"error": "no such device"}, 404)
    except (SimError, KeyError, TypeError, ValueError, json.JSONDecodeError) as e:
        return _json(fleet, {"error": str(e)}, 400)


def create_app(fleet: SimFleet, *, control_api: bool = True) -> Starlette:
    routes = [
        Route("/d/{name}/admin/exec/{rest:path}", asa_exec, methods=["GET"]),
        Route("/d/{name}/admin/config/{rest:path}", asa_exec, methods=["GET", "POST"]),
        Route("/d/{name}/admin/files/{disk}/{filename}", asa_put_file, methods=["PUT"]),
        Route("/d/{name}/admin/files/{disk}/{filename}", asa_get_file, methods=["GET"]),
        *agent_api.routes(),
    ]
    if control_api:
        routes += [
            Route("/_sim/health", ctl_health),
            Route("/_sim/devices", ctl_devices),
            Route("/_sim/devices/{name}", ctl_device),
            Route("/_sim/devices/{name}/faults", ctl_faults, methods=["POST", "DELETE"]),
            Route("/_sim/devices/{name}/actions", ctl_actions, methods=["POST"]),
        ]
    app = Starlette(routes=routes)
    app.state.fleet = fleet
    return app
