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
from reconciler.core.catalog import unsafe_image_name
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

    async def _json(self, method: str, path: str, label: str, **kw: Any) -> dict[str, Any]:
        """The JSON object the endpoint answered; anything else is a BAD_ANSWER naming the call."""
        resp = await self._send(method, self._api(path), member=self.name, label=label, **kw)
        try:
            body = resp.json()
        except ValueError:
            raise PermanentDeviceError(f"{label}: the endpoint did not answer JSON", code="BAD_ANSWER",
                                       device=self.name, hint="check the address: is this an agent endpoint?") from None
        if not isinstance(body, dict):
            raise self._bad_answer(label, f"a JSON {type(body).__name__} instead of an object")
        return body

    def _bad_answer(self, label: str, why: str) -> PermanentDeviceError:
        return PermanentDeviceError(f"{label}: unexpected answer ({why})", code="BAD_ANSWER", device=self.name,
                                    hint="the endpoint's agent API differs from the one this driver speaks")

    def _version(self, st: dict[str, Any], label: str) -> str:
        agent = st.get("agent")
        version = agent.get("version") if isinstance(agent, dict) else None
        if not isinstance(version, str) or not version.strip():
            raise self._bad_answer(label, "no agent.version string")
        return version

    @staticmethod
    def _package(path: str) -> str:
        name = path.split(":/", 1)[1] if ":/" in path else path
        why = unsafe_image_name(name) if name else "empty"
        if why:
            raise PermanentDeviceError(f"{path!r} is not a package name ({why})", code="BAD_PATH",
                                       hint=f"use {STORE}:/FILE or FILE")
        return name

    # ------------------------------------------------------------ discovery

    async def get_facts(self) -> ObservedDevice:
        st = await self._json("GET", "status", "GET status")
        version = self._version(st, "GET status")
        platform = st.get("platform")
        if not isinstance(platform, str) or not platform:
            raise self._bad_answer("GET status", "no platform string")
        ram_mb = st.get("ram_mb")
        if ram_mb is not None and not _is_count(ram_mb):
            raise self._bad_answer("GET status", f"ram_mb is {_shown(ram_mb)}, not a number of MB")
        try:
            disks = tuple(self._disk(d) for d in _list(st.get("storage", []), "storage"))
        except (KeyError, TypeError, ValueError) as e:
            raise self._bad_answer("GET status", str(e)) from None
        running = {ImageType.AGENT: version}
        serial = st.get("serial")
        member = Member(name=self.name, role=Role.STANDALONE, serial=serial if isinstance(serial, str) else "",
                        ram_mb=ram_mb, running=running, disks=disks)
        return ObservedDevice(name=self.name, model=platform, platform=platform, mode=Mode.STANDALONE,
                              running=running, members=(member,), driver=str(self.kind))

    @staticmethod
    def _disk(d: Any) -> Disk:
        if not isinstance(d, dict):
            raise TypeError(f"a storage entry is {_shown(d)}")
        name, size, free = d["name"], d["size"], d["free"]
        if not isinstance(name, str) or not _is_count(size) or not _is_count(free):
            raise ValueError(f"storage entry {_shown(d)} needs a name and sizes in bytes")
        files = []
        for f in _list(d.get("files", []), "files"):
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not _is_count(f.get("size")):
                raise ValueError(f"file entry {_shown(f)} needs a name and a size in bytes")
            files.append(FileEntry(f["name"], f["size"]))
        return Disk(name, size, free, tuple(files))

    async def running_versions(self, member: str | None = None) -> Mapping[ImageType, str]:
        st = await self._json("GET", "status", "GET status")
        return {ImageType.AGENT: self._version(st, "GET status")}

    async def checkin(self) -> CheckinResult:
        r = await self._json("POST", "checkin", "POST checkin")
        version, reimaged, at = r.get("agent_version", ""), r.get("reimaged_to"), r.get("checked_in_at")
        if not isinstance(version, str) or not all(v is None or isinstance(v, str) for v in (reimaged, at)):
            raise self._bad_answer("POST checkin", "agent_version, reimaged_to and checked_in_at must be strings")
        return CheckinResult(version=version, reimaged_to=reimaged, checked_in_at=at)

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
        job = r.get("job")
        if not _is_count(job):
            raise self._bad_answer(f"install {name}", f"job is {_shown(job)}, not a job number")
        self._job = (job, version, time.monotonic())

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
                raise transfer_error(str(failed.get("code") or "unknown"), action=f"install of agent {version}",
                                     device=self.name, member=self.name, detail=str(failed.get("message", "")))
            if (time.monotonic() - t0) * self.time_scale >= timeout:
                raise ReloadTimeoutError(f"the endpoint was not back within {timeout:g}s (last: {last})",
                                         device=self.name, member=self.name,
                                         hint="check the endpoint; the agent service may not have restarted")
            await asyncio.sleep(max(0.005, self._scaled(self.options.poll_interval)))


def _is_count(v: Any) -> bool:
    """A non-negative integer as JSON gives it (not a bool, not a float, not a string)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise TypeError(f"{what} is {_shown(v)}, not a list")
    return v


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
