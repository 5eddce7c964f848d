"""The agent driver: a JSON API on agent-managed endpoints (check-in, agent version, install).

Endpoints live under `{base}/api/v1` and take a bearer token: `GET status`, `POST checkin`,
`PUT packages/<file>` (streamed, `Content-Range` for parts), `GET|DELETE packages/<file>`,
`GET packages/<file>/digest?algorithm=`, `POST install` -> job, `GET install/<job>`.
An endpoint has one member (named like the device) and one package store (its "disk").
The agent restarts while it installs, so `install` is followed by `wait_ready`, which also
reports a failed installation with its FTP/Winsock code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.contract import StepAction
from reconciler.core.model import DriverKind, ImageType, Mode, Role
from reconciler.core.observed import Disk, FileEntry, Member, ObservedDevice
from reconciler.drivers.base import (
    CheckinResult,
    ChecksumMismatchError,
    Digest,
    Driver,
    Hasher,
    ReloadTimeoutError,
    UploadResult,
)
from reconciler.drivers.sources import ByteSource
from reconciler.errors import PermanentDeviceError, TemporaryError
from reconciler.transfer_errors import transfer_error

STORE = "packages"


class AgentDriver(Driver):
    kind = DriverKind.AGENT
    capabilities = frozenset({
        StepAction.COPY, StepAction.VERIFY_COPY, StepAction.DELETE_FILE, StepAction.WAIT_READY,
        StepAction.CHECK_VERSION, StepAction.REDISCOVER, StepAction.AGENT_INSTALL,
    })

    _token: str | None = None

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._job: tuple[int, str, float] | None = None  # install job id, version, when started

    def _resolve_credentials(self) -> str:
        c = self.device.credentials
        return self._resolve(c.token if c else None, "token")

    def _login(self, credentials: str) -> None:
        self._token = credentials

    def _auth_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        return {**(headers or {}), "Authorization": f"Bearer {self._token}"}

    def _api(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{path}"

    async def _json(self, method: str, path: str, label: str, **kw: Any) -> Any:
        resp = await self._send(method, self._api(path), member=self.name, label=label, **kw)
        try:
            return resp.json()
        except ValueError:
            raise PermanentDeviceError(f"{label}: the endpoint did not answer JSON", code="BAD_ANSWER",
                                       device=self.name, hint="check the address: is this an agent endpoint?") from None

    @staticmethod
    def _package(path: str) -> str:
        name = path.split(":/", 1)[1] if ":/" in path else path
        if not name or "/" in name:
            raise PermanentDeviceError(f"{path!r} is not a package name", code="BAD_PATH",
                                       hint=f"use {STORE}:/FILE or FILE")
        return name

    # ------------------------------------------------------------ discovery

    async def get_facts(self) -> ObservedDevice:
        st = await self._json("GET", "status", "GET status")
        try:
            version = str(st["agent"]["version"])
            platform = str(st["platform"])
            disks = tuple(Disk(d["name"], int(d["size"]), int(d["free"]),
                               tuple(FileEntry(f["name"], int(f["size"])) for f in d.get("files", ())))
                          for d in st.get("storage", ()))
        except (KeyError, TypeError, ValueError) as e:
            raise PermanentDeviceError(f"GET status: unexpected answer ({e})", code="BAD_ANSWER", device=self.name,
                                       hint="the endpoint's agent API differs from the one this driver speaks") from None
        running = {ImageType.AGENT: version}
        member = Member(name=self.name, role=Role.STANDALONE, serial=str(st.get("serial", "")),
                        ram_mb=st.get("ram_mb"), running=running, disks=disks)
        return ObservedDevice(name=self.name, model=platform, platform=platform, mode=Mode.STANDALONE,
                              running=running, members=(member,), driver=str(self.kind))

    async def running_versions(self, member: str | None = None) -> Mapping[ImageType, str]:
        st = await self._json("GET", "status", "GET status")
        return {ImageType.AGENT: str(st["agent"]["version"])}

    async def checkin(self) -> CheckinResult:
        r = await self._json("POST", "checkin", "POST checkin")
        return CheckinResult(version=str(r.get("agent_version", "")), reimaged_to=r.get("reimaged_to"),
                             checked_in_at=r.get("checked_in_at"))

    # ------------------------------------------------------------ packages

    async def upload(self, member: str | None, disk: str, filename: str, chunks: AsyncIterable[bytes],
                     size: int, *, offset: int = 0, total: int | None = None,
                     hasher: Hasher | None = None) -> UploadResult:
        total = size if total is None else total
        name = self._package(filename)
        headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        rng = ""
        if offset or total != size:
            headers["Content-Range"] = f"bytes {offset}-{offset + size - 1}/{total}"
            rng = f", bytes {offset}-{offset + size - 1} of {total}"
        label = f"stage {size} bytes{rng} as {name}"
        resp = await self._send("PUT", self._api(f"packages/{quote(name, safe='')}"), member=self.name, label=label,
                                headers=headers, transfer=True, timeout=self.options.transfer_timeout,
                                content=self._stream_body(chunks, size, hasher, self.name, label))
        received = resp.headers.get("x-received-bytes")
        complete = (int(received) if received and received.isdigit() else offset + size) >= total
        return UploadResult(f"{STORE}:/{name}", (self.name,), offset, size, total, complete)

    async def verify(self, member: str | None, path: str, expected: Digest) -> Digest:
        name = self._package(path)
        r = await self._json("GET", f"packages/{quote(name, safe='')}/digest?algorithm={expected.algorithm}",
                             f"digest {expected.algorithm} {name}")
        got = str(r.get("digest", "")).lower()
        if got != expected.value:
            raise ChecksumMismatchError(f"{name}: {expected.algorithm} is {got}, expected {expected.value}",
                                        device=self.name, member=self.name,
                                        hint="the staged package is corrupt; delete it and copy again")
        return Digest(expected.algorithm, got)

    async def delete_file(self, member: str | None, path: str, *, force: bool = False) -> None:
        name = self._package(path)
        await self._json("DELETE", f"packages/{quote(name, safe='')}", f"delete {name}")

    async def fetch_file(self, path: str) -> AsyncIterator[bytes]:
        name = self._package(path)
        self.transcript.record(self.name, self.name, "send", f"download {name}")
        try:
            async with self.client.stream("GET", self._api(f"packages/{quote(name, safe='')}"),
                                          headers=self._auth_headers(None),
                                          timeout=httpx.Timeout(self.options.transfer_timeout, connect=15.0)) as resp:
                self._adopt_time_scale(resp)
                if resp.status_code >= 400:
                    await resp.aread()
                    self.transcript.record(self.name, self.name, "recv", f"HTTP {resp.status_code}\n{resp.text}")
                    self._raise_for_status(resp, f"download {name}", self.name)
                async for chunk in resp.aiter_bytes():
                    yield chunk
        except httpx.TransportError as e:
            raise self._transport_error(e, f"download {name}", self.name, True) from None

    # ------------------------------------------------------------ install

    async def install(self, version: str, filename: str, source: ByteSource | None = None) -> None:
        name = self._package(filename)
        if source is not None:
            await self.copy_image(STORE, name, source)
        r = await self._json("POST", "install", f"install {name} (agent {version})",
                             json={"package": name, "version": version})
        self._job = (int(r["job"]), version, time.monotonic())

    async def wait_ready(self, member: str | None, timeout: float) -> None:
        t0 = time.monotonic()
        last = "no answer yet"
        while True:
            failed: dict[str, Any] | None = None
            try:
                if self._job is not None:
                    job_id, version, _ = self._job
                    r = await self._json("GET", f"install/{job_id}", f"install job {job_id}")
                    last = f"install {r.get('state')}"
                    if r.get("state") == "failed":
                        failed = r
                    elif r.get("state") == "succeeded":
                        self._job = None
                        return
                else:
                    await self._json("GET", "status", "GET status")
                    return
            except TemporaryError as e:
                last = e.message
            if failed is not None and self._job is not None:
                version = self._job[1]
                self._job = None
                raise transfer_error(failed.get("code") or "unknown", action=f"install of agent {version}",
                                     device=self.name, member=self.name, detail=str(failed.get("message", "")))
            if (time.monotonic() - t0) * self.time_scale >= timeout:
                raise ReloadTimeoutError(f"the endpoint was not back within {timeout:g}s (last: {last})",
                                         device=self.name, member=self.name,
                                         hint="check the endpoint; the agent service may not have restarted")
            await asyncio.sleep(max(0.005, self._scaled(self.options.poll_interval)))

