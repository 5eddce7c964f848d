"""The agent endpoints' JSON API (what the `agent` driver speaks), under `/d/<name>/api/v1`.

- `GET  status` -> hostname, platform, OS, serial, RAM, agent version and state, package store
- `POST checkin` -> the endpoint checks in; a pending re-image (fault `agent-revert`) happens here
- `PUT  packages/<file>` streamed package upload (`Content-Length`, optional `Content-Range`)
- `GET  packages/<file>` download; `DELETE packages/<file>`; `GET packages/<file>/digest?algorithm=`
- `POST install` `{"package", "version"}` -> 202 `{"job"}`; the agent restarts (503 meanwhile)
- `GET  install/<job>` -> `{"state": installing|succeeded|failed, "code", "message"}`
Bearer-token authentication. Errors: `{"error": {"code", "message"}}` plus `X-Transfer-Error`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sim.content import ALGORITHMS
from reconciler.sim.fleet import SimFleet
from reconciler.sim.http import common_headers, enter_device, error_response, file_response
from reconciler.sim.model import SimAgent, SimError, SimFile, split_path
from reconciler.sim.uploads import Target, receive_upload


def _ok(fleet: SimFleet, data: object, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=common_headers(fleet))


def _err(fleet: SimFleet, status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> Response:
    return error_response(fleet, "agent", status, code, message, headers)


async def _enter(request: Request) -> tuple[SimFleet, SimAgent | None, Response | None]:
    fleet: SimFleet = request.app.state.fleet
    dev, err = enter_device(request, "agent")
    return fleet, dev if isinstance(dev, SimAgent) else None, err


def _iso(fleet: SimFleet, sim_t: float | None) -> str | None:
    if sim_t is None:
        return None
    wall = datetime.now(UTC) - timedelta(seconds=(fleet.now() - sim_t) / fleet.time_scale)
    return wall.isoformat(timespec="seconds").replace("+00:00", "Z")


async def status(request: Request) -> Response:
    fleet, dev, err = await _enter(request)
    if err is not None:
        return err
    assert dev is not None
    d = dev.disk
    return _ok(fleet, {
        "hostname": dev.hostname, "platform": dev.platform, "os": dev.os_name, "serial": dev.serial,
        "ram_mb": dev.ram_mb,
        "agent": {"version": dev.version, "state": "idle"},
        "last_checkin": _iso(fleet, dev.last_checkin),
        "storage": [{"name": d.name, "size": d.size, "free": d.free,
                     "files": [{"name": f.name, "size": f.size} for f in d.files.values()]}],
    })


async def checkin(request: Request) -> Response:
    fleet, dev, err = await _enter(request)
    if err is not None:
        return err
    assert dev is not None
    result = dev.checkin(fleet.now())
    return _ok(fleet, {**result, "agent_version": dev.version, "checked_in_at": _iso(fleet, dev.last_checkin)})


async def put_package(request: Request) -> Response:
    fleet, dev, err = await _enter(request)
    if err is not None:
        return err
    assert dev is not None
    name = request.path_params["filename"]
    try:
        split_path(f"{dev.disk.name}:/{name}")
    except SimError:
        async for _ in request.stream():
            pass
        return _err(fleet, 400, None, f"invalid package name {name!r}")

    def render(status: int, code: str | None, message: str, headers: dict[str, str]) -> Response:
        if status >= 400:
            return _err(fleet, status, code, message, headers)
        resp = _ok(fleet, {"message": message, "received": int(headers.get("X-Received-Bytes", 0))})
        resp.headers.update(headers)
        return resp

    return await receive_upload(request, fleet, dev.name, dev.faults, [Target(dev.name, dev.disk)], name,
                                f"{dev.disk.name}/{name}", render)


async def _staged(request: Request) -> tuple[SimFleet, SimAgent | None, SimFile | None, Response | None]:
    """The device and the package the URL names, or the error answer."""
    fleet, dev, err = await _enter(request)
    if err is not None or dev is None:
        return fleet, None, None, err
    name = request.path_params["filename"]
    f = dev.disk.files.get(name)
    if f is None:
        return fleet, dev, None, _err(fleet, 404, "ftp-550", f"package {name} not found")
    return fleet, dev, f, None


async def get_package(request: Request) -> Response:
    fleet, dev, f, err = await _staged(request)
    if err is not None:
        return err
    assert dev is not None and f is not None
    if request.method == "DELETE":
        del dev.disk.files[f.name]
        return _ok(fleet, {"deleted": f.name})
    return file_response(fleet, f)


async def digest(request: Request) -> Response:
    fleet, dev, f, err = await _staged(request)
    if err is not None:
        return err
    assert f is not None
    alg = request.query_params.get("algorithm", "sha-256").lower()
    if alg not in ALGORITHMS:
        return _err(fleet, 400, None, f"algorithm must be one of {', '.join(ALGORITHMS)}")
    return _ok(fleet, {"package": f.name, "algorithm": alg, "digest": f.content.digest(alg), "size": f.size})


async def install(request: Request) -> Response:
    fleet, dev, err = await _enter(request)
    if err is not None:
        return err
    assert dev is not None
    try:
        body = await request.json()
        package, version = str(body["package"]), str(body["version"])
    except (ValueError, KeyError, TypeError):
        return _err(fleet, 400, None, 'install takes {"package": FILE, "version": VERSION}')
    try:
        job = dev.start_install(package, version, fleet.now())
    except SimError as e:
        return _err(fleet, 404, "ftp-550", str(e))
    if job.state == "failed":
        return _err(fleet, 422, job.code, job.message)
    return _ok(fleet, {"job": job.id, "state": job.state,
                       "restart_seconds": dev.timings.install_seconds / fleet.time_scale}, 202)


async def install_job(request: Request) -> Response:
    fleet, dev, err = await _enter(request)
    if err is not None:
        return err
    assert dev is not None
    try:
        job = dev.jobs[int(request.path_params["job"])]
    except (KeyError, ValueError):
        return _err(fleet, 404, None, "no such install job")
    return _ok(fleet, {"job": job.id, "package": job.package, "version": job.version, "state": job.state,
                       "code": job.code, "message": job.message})


def routes() -> list[Route]:
    base = "/d/{name}/api/v1"
    return [
        Route(f"{base}/status", status, methods=["GET"]),
        Route(f"{base}/checkin", checkin, methods=["POST"]),
        Route(f"{base}/packages/{{filename}}", put_package, methods=["PUT"]),
        Route(f"{base}/packages/{{filename}}", get_package, methods=["GET", "DELETE"]),
        Route(f"{base}/packages/{{filename}}/digest", digest, methods=["GET"]),
        Route(f"{base}/install", install, methods=["POST"]),
        Route(f"{base}/install/{{job}}", install_job, methods=["GET"]),
    ]
