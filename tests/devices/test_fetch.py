"""Downloading files from the simulated example fleet: only from the active / control unit,
streamed to a partial file, checked (size, device-side sha-512), renamed into place."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.devices.fetch import fetch_file
from reconciler.errors import PermanentError, ReconcilerError
from reconciler.sim.app import create_app
from reconciler.sim.fleet import SimFleet
from tests.sim_support import open_driver


def sim_sha256(fleet: SimFleet, device: str, unit: str, path: str) -> str:
    disk, name = path.split(":/")
    return fleet.asa(device).unit(unit).disk(disk).files[name].content.digest("sha-256")  # type: ignore[union-attr]


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


async def test_fetch_from_the_active_unit(fleet: SimFleet, client: httpx.AsyncClient, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await fetch_file(drv, "disk0:/asdm-741.bin", tmp_path, progress=lambda d, t: seen.append((d, t)))
    out = tmp_path / "asdm-741.bin"
    assert r.dest == out and r.member == "primary" and r.verified
    assert r.size == out.stat().st_size == fleet.state("fw-dc-pair")["units"][0]["disks"]["disk0"]["files"]["asdm-741.bin"]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == r.sha256 == sim_sha256(fleet, "fw-dc-pair", "primary",
                                                                                   "disk0:/asdm-741.bin")
    assert seen[0] == (0, r.size) and seen[-1] == (r.size, r.size)
    assert leftovers(tmp_path) == ["asdm-741.bin"]  # no partial file left next to it


async def test_fetch_from_the_standby_is_refused_before_any_transfer(fleet: SimFleet, client: httpx.AsyncClient,
                                                                     tmp_path: Path) -> None:
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        with pytest.raises(PermanentError) as e:
            await fetch_file(drv, "disk0:/asdm-741.bin", tmp_path, member="secondary")
        assert e.value.code == "NOT_DOWNLOAD_UNIT" and e.value.member == "secondary"
        assert "only from the active unit of a failover pair (here primary)" in e.value.message
        assert "--member primary" in (e.value.hint or "")
        assert not any("download" in x.text for x in drv.transcript.entries)
    assert leftovers(tmp_path) == []
    # after a failover the other unit is the one to use
    fleet.apply("fw-dc-pair", "switchover", to="secondary")
    async with open_driver(fleet, "fw-dc-pair", client) as drv:
        r = await fetch_file(drv, "disk0:/asdm-741.bin", tmp_path, member="secondary")
    assert r.member == "secondary"


async def test_fetch_from_a_cluster_uses_the_control_unit_only(fleet: SimFleet, client: httpx.AsyncClient,
                                                              tmp_path: Path) -> None:
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        with pytest.raises(PermanentError) as e:
            await fetch_file(drv, "disk0:/csd_3.6.6228-k9.pkg", tmp_path, member="unit-3")
        assert "control unit of a cluster (here unit-1)" in e.value.message
        r = await fetch_file(drv, "csd_3.6.6228-k9.pkg", tmp_path / "csd.pkg")
    assert r.member == "unit-1" and r.dest == tmp_path / "csd.pkg" and r.dest.stat().st_size == r.size


async def test_a_file_only_on_a_data_unit_cannot_be_fetched(fleet: SimFleet, client: httpx.AsyncClient,
                                                           tmp_path: Path) -> None:
    fleet.apply("fw-dc-cluster", "put-file", path="disk1:/crashinfo.txt", size=4096, unit="unit-2")
    async with open_driver(fleet, "fw-dc-cluster", client) as drv:
        with pytest.raises(PermanentError) as e:
            await fetch_file(drv, "disk1:/crashinfo.txt", tmp_path)
    assert e.value.code == "FILE_NOT_FOUND" and "it is on unit-2" in (e.value.hint or "")
    assert "only from unit-1" in (e.value.hint or "")


async def test_an_existing_file_is_kept_unless_overwrite(fleet: SimFleet, client: httpx.AsyncClient,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "asdm-741.bin"
    out.write_bytes(b"mine")
    async with open_driver(fleet, "fw-branch-01", client) as drv:
        with pytest.raises(PermanentError) as e:
            await fetch_file(drv, "disk0:/asdm-741.bin", out)
        assert e.value.code == "FILE_EXISTS" and "--overwrite" in (e.value.hint or "")
        assert out.read_bytes() == b"mine"
        r = await fetch_file(drv, "disk0:/asdm-741.bin", out, overwrite=True)
    assert out.stat().st_size == r.size and r.size > 4
    with pytest.raises(PermanentError) as e:
        async with open_driver(fleet, "fw-branch-01", client) as drv:
            await fetch_file(drv, "disk0:/asdm-741.bin", tmp_path / "no" / "such" / "dir")
    assert e.value.code == "BAD_OUTPUT"


async def test_a_failed_device_check_leaves_nothing(fleet: SimFleet, client: httpx.AsyncClient, tmp_path: Path) -> None:
    fleet.add_fault("fw-branch-01", {"kind": "command-error", "command": "verify",
                                     "message": "%Error verifying disk0:/asdm-741.bin (I/O error)"})
    async with open_driver(fleet, "fw-branch-01", client) as drv:
        with pytest.raises(ReconcilerError) as e:
            await fetch_file(drv, "disk0:/asdm-741.bin", tmp_path)
    assert "I/O error" in str(e.value)
    assert leftovers(tmp_path) == []
    async with open_driver(fleet, "fw-branch-01", client) as drv:
        r = await fetch_file(drv, "disk0:/asdm-741.bin", tmp_path, verify=False)
    assert not r.verified and leftovers(tmp_path) == ["asdm-741.bin"]


def mangling(app: Any, mangle: Callable[[bytes], bytes]) -> Any:
    """The simulator with file downloads altered on the wire (a broken or tampering path)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or "/admin/files/" not in scope["path"]:
            return await app(scope, receive, send)
        body = bytearray()

        async def capture(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                capture.start = msg  # type: ignore[attr-defined]
            elif msg["type"] == "http.response.body":
                body.extend(msg.get("body", b""))
                if not msg.get("more_body"):
                    data = mangle(bytes(body))
                    start = dict(capture.start)  # type: ignore[attr-defined]
                    start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                    await send(start)
                    await send({"type": "http.response.body", "body": data, "more_body": False})

        await app(scope, receive, capture)

    return wrapped


@asynccontextmanager
async def mangled_client(fleet: SimFleet, mangle: Callable[[bytes], bytes]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mangling(create_app(fleet), mangle))) as c:
        yield c


@pytest.mark.parametrize(("mangle", "code"), [
    (lambda b: b[: len(b) // 2], "TRUNCATED"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "CHECKSUM_MISMATCH"),
])
async def test_a_short_or_altered_download_never_lands(fleet: SimFleet, tmp_path: Path,
                                                      mangle: Callable[[bytes], bytes], code: str) -> None:
    out = tmp_path / "asdm.bin"
    out.write_bytes(b"the previous copy")
    async with mangled_client(fleet, mangle) as c, open_driver(fleet, "fw-branch-02", c) as drv:
        with pytest.raises(ReconcilerError) as e:
            await fetch_file(drv, "disk0:/asdm-741.bin", out, overwrite=True)
    assert e.value.code == code
    assert leftovers(tmp_path) == ["asdm.bin"] and out.read_bytes() == b"the previous copy"


async def test_fetch_an_agent_package(fleet: SimFleet, client: httpx.AsyncClient, tmp_path: Path) -> None:
    async with open_driver(fleet, "ep-win-001", client) as drv:
        r = await fetch_file(drv, "agent-7.3.1.2048-x64.msi", tmp_path)
    assert r.verified and r.member == "ep-win-001" and r.dest.stat().st_size == 1048576
