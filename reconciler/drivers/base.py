"""The driver contract: one typed, async interface for every device family (NAPALM style).

A driver talks to one inventory device over an `httpx.AsyncClient` that the caller owns (and
builds with `reconciler.drivers.tls.client_for`, so TLS verification is the caller's policy).
It is used as an async context manager; entering resolves the credential references (and
registers the values as secrets), leaving releases nothing the caller owns:

    async with AsaDriver(device, client, transcript=t) as drv:
        facts = await drv.get_facts()

Every `StepAction` of the plan maps to one method (see `ACTION_METHODS` and docs/drivers.md).
A driver that cannot do an action for its family raises `NotSupportedError` and leaves the
action out of `capabilities`. Errors are `TransientDeviceError` (retry may help: unreachable,
timeouts, FTP 4yz...) or `PermanentDeviceError` (it will not: authentication, TLS, refused
commands, FTP 5yz...), each naming the device, the member, the code and what to do.
Every command and answer is recorded, timestamped and redacted, in a `Transcript`.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import inspect
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx

from reconciler.contract import StepAction
from reconciler.core.model import CredentialRef, DriverKind, ImageType, InventoryDevice
from reconciler.core.observed import ObservedDevice
from reconciler.drivers.sources import ByteSource
from reconciler.loader.credentials import resolve_credential
from reconciler.errors import DeviceError, PermanentDeviceError, ReconcilerError, TransientDeviceError
from reconciler.secrets import redact, register_secret
from reconciler.transfer_errors import TransferTooLargeError, transfer_error

# ---------------------------------------------------------------- errors


class NotSupportedError(PermanentDeviceError):
    code = "NOT_SUPPORTED"


class AuthError(PermanentDeviceError):
    code = "AUTH_FAILED"


class TlsError(PermanentDeviceError):
    code = "TLS"


class UnreachableError(TransientDeviceError):
    code = "UNREACHABLE"


class ServiceUnavailableError(UnreachableError):
    """HTTP 503: the device's server answered that it could not serve the request — the
    command it carried was not run."""


class ReloadNotStartedError(TransientDeviceError):
    """A reload that was never carried out (refused with HTTP 503, or the unit could not be
    reached to send it): nothing is booting, so sending it again is safe."""

    code = "RELOAD_NOT_STARTED"


class DeviceTimeoutError(TransientDeviceError):
    code = "TIMEOUT"


class CommandError(PermanentDeviceError):
    """The device refused a command; the message quotes the command and the device's words."""

    code = "CLI_ERROR"


class ChecksumMismatchError(PermanentDeviceError):
    code = "CHECKSUM_MISMATCH"


class ReloadTimeoutError(PermanentDeviceError):
    """A unit did not come back (or did not become ready) within the reload timeout."""

    code = "RELOAD_TIMEOUT"


# ---------------------------------------------------------------- values


ALGORITHMS = ("md5", "sha-256", "sha-512")
_HASHLIB = {"md5": "md5", "sha-256": "sha256", "sha-512": "sha512"}


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str  # "md5" | "sha-256" | "sha-512" (as on the ASA's `verify /ALG`)
    value: str  # lower-case hex

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"digest algorithm must be one of {ALGORITHMS}")
        object.__setattr__(self, "value", self.value.lower())


@dataclass(frozen=True, slots=True)
class Digests:
    md5: str
    sha256: str
    sha512: str

    def get(self, algorithm: str) -> Digest:
        return Digest(algorithm, {"md5": self.md5, "sha-256": self.sha256, "sha-512": self.sha512}[algorithm])


class Hasher:
    """md5, sha-256 and sha-512 of a stream at once; `copy()` lets a rejected part be undone."""

    def __init__(self, _h: dict[str, Any] | None = None) -> None:
        self._h = _h or {a: hashlib.new(n) for a, n in _HASHLIB.items()}

    def update(self, data: bytes) -> None:
        for h in self._h.values():
            h.update(data)

    def copy(self) -> Hasher:
        return Hasher({a: h.copy() for a, h in self._h.items()})

    def digests(self) -> Digests:
        return Digests(self._h["md5"].hexdigest(), self._h["sha-256"].hexdigest(), self._h["sha-512"].hexdigest())


@dataclass(frozen=True, slots=True)
class UploadResult:
    path: str  # "disk0:/asa941-smp-k8.bin"
    members: tuple[str, ...]  # the members that hold the bytes (a cluster spreads them)
    offset: int
    length: int
    total: int
    complete: bool  # the whole file is now on the device(s)


@dataclass(frozen=True, slots=True)
class CopyResult:
    path: str
    members: tuple[str, ...]
    size: int
    digests: Digests  # of the bytes sent: compare sha256 with the catalog, verify with sha-512
    parts: int  # requests per member (more than 1 after HTTP 413 splits)


@dataclass(frozen=True, slots=True)
class CheckinResult:
    version: str
    reimaged_to: str | None  # the endpoint was re-imaged back to this version at check-in
    checked_in_at: str | None


@dataclass(frozen=True, slots=True)
class DriverOptions:
    poll_interval: float = 10.0  # seconds between readiness polls (divided by the time scale)
    time_scale: float | None = None  # None: adopt the simulator's X-Sim-Time-Scale, else 1
    command_timeout: float = 60.0  # seconds for one CLI/API request
    transfer_timeout: float = 1800.0  # seconds of inactivity allowed in a file transfer
    switchover_timeout: float = 120.0  # seconds for a role change to show (divided by the time scale)
    min_part_size: int = 64 * 1024  # HTTP 413 splitting stops here
    batch_commands: bool = True  # ASA: several CLI commands per request (see AsaDriver._batch)


# ---------------------------------------------------------------- transcript


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    at: str  # ISO-8601 UTC, milliseconds
    device: str
    member: str | None
    direction: str  # "send" | "recv" | "note"
    text: str


MAX_ENTRY = 64 * 1024


class Transcript:
    """Timestamped record of every command and answer, with secrets redacted on the way in.

    `sink` (optional) receives each entry as it is recorded, so a job can persist it live.
    """

    def __init__(self, sink: Callable[[TranscriptEntry], None] | None = None) -> None:
        self.entries: list[TranscriptEntry] = []
        self._sink = sink

    def record(self, device: str, member: str | None, direction: str, text: str) -> TranscriptEntry:
        clean = redact(text)
        if len(clean) > MAX_ENTRY:
            clean = clean[:MAX_ENTRY] + f"\n[... {len(clean) - MAX_ENTRY} more characters]"
        e = TranscriptEntry(datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                            device, member, direction, clean)
        self.entries.append(e)
        if self._sink is not None:
            self._sink(e)
        return e

    def lines(self) -> list[str]:
        arrow = {"send": ">", "recv": "<", "note": "#"}
        out = []
        for e in self.entries:
            who = f"{e.device}/{e.member}" if e.member and e.member != e.device else e.device
            for i, line in enumerate(e.text.splitlines() or [""]):
                out.append(f"{e.at} {who} {arrow.get(e.direction, '?')} {line}" if i == 0 else f"{' ' * len(e.at)} {who}   {line}")
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


# ---------------------------------------------------------------- credentials

Resolver = Callable[[CredentialRef], str]


def default_resolver(ref: CredentialRef) -> str:
    """`env:` from the environment, `file:` relative to the current directory."""
    return resolve_credential(ref)


# ---------------------------------------------------------------- the contract

ACTION_METHODS: dict[StepAction, str] = {
    StepAction.COPY: "copy_image",
    StepAction.VERIFY_COPY: "verify",
    StepAction.BACKUP: "backup",
    StepAction.DELETE_FILE: "delete_file",
    StepAction.SET_BOOT: "set_boot",
    StepAction.SET_ASDM: "set_asdm",
    StepAction.SAVE_CONFIG: "save_config",
    StepAction.RELOAD: "reload",
    StepAction.WAIT_READY: "wait_ready",
    StepAction.CHECK_VERSION: "running_versions",
    StepAction.SWITCH_ACTIVE: "switch_active",
    StepAction.HANDOFF_CONTROL: "handoff_control",
    StepAction.SET_FAILOVER_GROUPS: "set_failover_groups",
    StepAction.REDISCOVER: "get_facts",
    StepAction.AGENT_INSTALL: "install",
}


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, ssl.SSLError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def _naming_the_device(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a public driver method so that every DeviceError leaving it names the device, also
    those raised by code that cannot know it (the pure CLI parsers)."""
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def gen_wrapper(self: Driver, *args: Any, **kw: Any) -> AsyncIterator[Any]:
            try:
                async for item in fn(self, *args, **kw):
                    yield item
            except DeviceError as e:
                e.device = e.device or self.name
                raise
        return gen_wrapper

    @functools.wraps(fn)
    async def wrapper(self: Driver, *args: Any, **kw: Any) -> Any:
        try:
            return await fn(self, *args, **kw)
        except DeviceError as e:
            e.device = e.device or self.name
            raise
    return wrapper


class Driver(abc.ABC):
    kind: ClassVar[DriverKind]
    capabilities: ClassVar[frozenset[StepAction]]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for name, fn in list(vars(cls).items()):
            if not name.startswith("_") and (inspect.iscoroutinefunction(fn)
                                             or inspect.isasyncgenfunction(fn)):
                setattr(cls, name, _naming_the_device(fn))

    def __init__(
        self,
        device: InventoryDevice,
        client: httpx.AsyncClient,
        *,
        resolver: Resolver | None = None,
        transcript: Transcript | None = None,
        options: DriverOptions | None = None,
    ) -> None:
        self.device = device
        self.client = client
        self.transcript = transcript if transcript is not None else Transcript()
        self.options = options or DriverOptions()
        self._resolver = resolver or default_resolver
        self._scale: float | None = self.options.time_scale
        self._opened = False
        addr = device.address if "://" in device.address else f"https://{device.address}"
        self.base_url = addr.rstrip("/")

    @property
    def name(self) -> str:
        return self.device.name

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self._login(self._resolve_credentials())
        self._opened = True
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._opened = False

    def _resolve(self, ref: CredentialRef | None, what: str) -> str:
        if ref is None:
            raise AuthError(f"the inventory gives no {what}", device=self.name,
                            hint="add credentials to inventory/devices.yaml (env:NAME or file:PATH)")
        try:
            value = self._resolver(ref)
        except ReconcilerError as e:  # names the reference, never a value
            raise AuthError(f"cannot resolve the {what}: {e.message}", device=self.name,
                            hint=e.hint or "set the environment variable or create the file the reference names") from None
        except Exception as e:
            raise AuthError(f"cannot resolve the {what} {ref}: {e}", device=self.name,
                            hint="set the environment variable or create the file the reference names") from None
        register_secret(value)
        return value

    @abc.abstractmethod
    def _resolve_credentials(self) -> Any: ...

    @abc.abstractmethod
    def _login(self, credentials: Any) -> None: ...

    # ------------------------------------------------------------ time

    @property
    def time_scale(self) -> float:
        return self._scale or 1.0

    def _adopt_time_scale(self, response: httpx.Response) -> None:
        if self.options.time_scale is None:
            try:
                scale = float(response.headers.get("x-sim-time-scale", ""))
            except ValueError:
                return
            if scale > 0:
                self._scale = scale

    def _scaled(self, seconds: float) -> float:
        return seconds / self.time_scale

    # ------------------------------------------------------------ HTTP

    def _note(self, member: str | None, text: str) -> None:
        self.transcript.record(self.name, member, "note", text)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        member: str | None,
        label: str,
        headers: Mapping[str, str] | None = None,
        content: AsyncIterable[bytes] | bytes | None = None,
        json: Any = None,
        timeout: float | None = None,
        transfer: bool = False,
        record_body: bool = True,
    ) -> httpx.Response:
        """One request with the driver's authentication, mapped to the error hierarchy."""
        if not self._opened:
            raise RuntimeError("use the driver as `async with driver:`")
        self.transcript.record(self.name, member, "send", label)
        t = timeout or self.options.command_timeout
        try:
            resp = await self.client.request(
                method, url, headers=self._auth_headers(headers), content=content, json=json,
                timeout=httpx.Timeout(t, connect=min(t, 15.0)), auth=self._auth(),
            )
        except httpx.TimeoutException as e:
            self._note(member, f"timeout: {type(e).__name__}")
            if transfer:
                raise transfer_error("wsa-10060", action=label, device=self.name, member=member) from None
            raise DeviceTimeoutError(f"{label}: no answer within {t:g}s", device=self.name, member=member,
                                     hint="the device may be busy or reloading; it is retried") from None
        except httpx.TransportError as e:
            raise self._transport_error(e, label, member, transfer) from None
        self._adopt_time_scale(resp)
        body = resp.text if record_body else f"[{len(resp.content)} bytes]"
        self.transcript.record(self.name, member, "recv", f"HTTP {resp.status_code}\n{body}".rstrip())
        self._raise_for_status(resp, label, member)
        return resp

    def _auth_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        return dict(headers or {})

    def _auth(self) -> httpx.Auth | None:
        return None

    def _transport_error(self, e: httpx.TransportError, label: str, member: str | None,
                         transfer: bool) -> Exception:
        cause = _ssl_cause(e)
        if cause is not None:
            self._note(member, f"TLS failure: {cause}")
            return TlsError(f"certificate of {self.base_url} not accepted: {getattr(cause, 'verify_message', None) or cause}",
                            device=self.name, member=member,
                            hint="check tls.ca_bundle / tls.fingerprint in the inventory (for the "
                                 "simulator: .reconciler/sim/ca.pem)")
        self._note(member, f"transport error: {type(e).__name__}: {e}")
        if transfer:
            key = "wsa-10061" if isinstance(e, httpx.ConnectError) else "wsa-10054"
            return transfer_error(key, action=label, device=self.name, member=member, detail=str(e))
        if isinstance(e, httpx.ConnectError):
            return UnreachableError(f"cannot connect to {self.base_url}: {e or type(e).__name__}",
                                    device=self.name, member=member,
                                    hint="check the address in the inventory and that the device's "
                                         "HTTPS server allows the reconciler's address")
        return UnreachableError(f"{label}: connection failed ({type(e).__name__}: {e})", device=self.name,
                                member=member, hint="the device may be reloading; it is retried")

    def _raise_for_status(self, resp: httpx.Response, label: str, member: str | None) -> None:
        code = resp.headers.get("x-transfer-error")
        if code:
            max_bytes = resp.headers.get("x-max-request-bytes")
            raise transfer_error(code, action=label, device=self.name, member=member,
                                 detail=self._error_text(resp),
                                 max_bytes=int(max_bytes) if max_bytes and max_bytes.isdigit() else None)
        s = resp.status_code
        if s < 400:
            return
        detail = self._error_text(resp)
        if s == 401:
            raise AuthError(f"{label}: the device rejected the credentials", device=self.name, member=member,
                            hint=f"check the password/token the inventory references ({self._credential_refs()})")
        if s == 403:
            raise AuthError(f"{label}: forbidden ({detail})", device=self.name, member=member,
                            hint="the management user needs privilege 15 / the endpoint admin role")
        if s == 413:
            raise transfer_error("http-413", action=label, device=self.name, member=member, detail=detail)
        if s == 404:
            raise PermanentDeviceError(f"{label}: not found ({detail})", code="NOT_FOUND", device=self.name,
                                       member=member, hint="check the device address (base URL) in the inventory")
        if s in (502, 503, 504):
            retry = resp.headers.get("retry-after")
            # a 503 is the device's own "not now"; 502/504 come from something in between
            # that may have passed the request on
            cls = ServiceUnavailableError if s == 503 else UnreachableError
            raise cls(f"{label}: the device is not responding (HTTP {s})", device=self.name,
                      member=member, retry_after=float(retry) if retry and retry.isdigit() else None,
                      hint="the unit may be reloading; it is retried")
        if s == 429 or s >= 500:
            raise TransientDeviceError(f"{label}: HTTP {s} ({detail})", code=f"HTTP_{s}", device=self.name,
                                       member=member, hint="transient device error; it is retried")
        raise PermanentDeviceError(f"{label}: HTTP {s} ({detail})", code=f"HTTP_{s}", device=self.name,
                                   member=member, hint="the request was refused; see the device's message")

    @staticmethod
    def _error_text(resp: httpx.Response) -> str:
        try:
            body = resp.json()
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                return str(body["error"].get("message", ""))
        except ValueError:
            pass
        return " ".join(resp.text.split())[:300]

    def _credential_refs(self) -> str:
        c = self.device.credentials
        refs = [str(r) for r in (c.password, c.token) if r is not None] if c else []
        return ", ".join(refs) or "none given"

    async def _stream_body(self, chunks: AsyncIterable[bytes], size: int, hasher: Hasher | None,
                           member: str | None, label: str) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in chunks:
            sent += len(chunk)
            if sent > size:
                raise PermanentDeviceError(f"{label}: the source yields more than the {size} bytes announced",
                                           code="SOURCE_SIZE", device=self.name, member=member,
                                           hint="the image repository file changed; re-import it")
            if hasher is not None:
                hasher.update(chunk)
            yield chunk
        if sent != size:
            raise PermanentDeviceError(f"{label}: the source ended after {sent} of {size} bytes",
                                       code="SOURCE_SIZE", device=self.name, member=member,
                                       hint="the image repository file is truncated; re-import it")

    # ------------------------------------------------------------ the contract

    @abc.abstractmethod
    async def get_facts(self) -> ObservedDevice:
        """Discover the device: model, mode, roles, per-member disks and running images."""

    @abc.abstractmethod
    async def running_versions(self, member: str | None = None) -> Mapping[ImageType, str]:
        """What `member` (default: the management unit) runs now, type -> version."""

    @abc.abstractmethod
    async def upload(self, member: str | None, disk: str, filename: str, chunks: AsyncIterable[bytes],
                     size: int, *, offset: int = 0, total: int | None = None,
                     hasher: Hasher | None = None) -> UploadResult:
        """Stream `size` bytes into `disk:/filename` at `offset` of a `total`-byte file.

        `member=None` targets the management unit (on a cluster control unit: every member).
        Raises `TransferTooLargeError` on HTTP 413 (nothing was stored; send smaller parts).
        """

    @abc.abstractmethod
    async def verify(self, member: str | None, path: str, expected: Digest) -> Digest:
        """Have the device hash `path`; raise `ChecksumMismatchError` unless it equals `expected`."""

    async def copy_image(self, disk: str, filename: str, source: ByteSource, *,
                         members: Sequence[str] | None = None, part_size: int | None = None) -> CopyResult:
        """Copy `source` to every member that needs it (or `members`), splitting on HTTP 413.

        Standalone: the one unit. Failover: each unit in turn. Cluster: the control unit once,
        which spreads the image to every member. Returns the digests of the bytes sent.
        """
        targets = await self._copy_targets(members)
        part = min(part_size or source.size, source.size) or 1
        hasher: Hasher | None = Hasher()
        digests: Digests | None = None
        holders: list[str] = []
        parts = 1
        for target in targets:
            offset, count = 0, 0
            while offset < source.size or (source.size == 0 and count == 0):
                length = min(part, source.size - offset)
                attempt = hasher.copy() if hasher is not None else None
                try:
                    res = await self.upload(target, disk, filename, source.open(offset, length), length,
                                            offset=offset, total=source.size, hasher=attempt)
                except TransferTooLargeError as e:
                    smaller = min(e.max_bytes or length // 2, length // 2 if e.max_bytes is None else e.max_bytes)
                    if smaller < self.options.min_part_size or smaller >= length:
                        raise
                    self._note(target, f"HTTP 413 for {length} bytes: splitting the transfer into "
                                       f"parts of {smaller} bytes")
                    part = smaller
                    continue
                offset += length
                count += 1
                if attempt is not None:
                    hasher = attempt
                if res.complete:
                    holders.extend(m for m in res.members if m not in holders)
            parts = max(parts, count)
            if hasher is not None:
                digests, hasher = hasher.digests(), None
        assert digests is not None
        return CopyResult(f"{disk}:/{filename}", tuple(holders), source.size, digests, parts)

    async def _copy_targets(self, members: Sequence[str] | None) -> list[str | None]:
        return [None] if not members else list(members)

    async def backup(self, member: str | None, src: str, dst: str) -> None:
        """Copy `src` to `dst` on the member (a backup of the running image)."""
        raise NotSupportedError(f"{self.kind} devices have no on-device backup", device=self.name)

    async def delete_file(self, member: str | None, path: str, *, force: bool = False) -> None:
        """Delete `path`; refuses the running image or a boot-list entry unless `force`."""
        raise NotSupportedError(f"{self.kind} devices do not support deleting files", device=self.name)

    def fetch_file(self, path: str) -> AsyncIterator[bytes]:
        """Stream `path` down from the management unit (the seed: active/control unit only)."""
        raise NotSupportedError(f"{self.kind} devices do not support downloads", device=self.name)

    async def set_boot(self, images: Sequence[str]) -> None:
        """Make the boot list exactly `images`, in order (new image first, old one as fallback)."""
        raise NotSupportedError(f"{self.kind} devices have no boot list", device=self.name)

    async def set_asdm(self, path: str) -> None:
        raise NotSupportedError(f"{self.kind} devices have no ASDM image", device=self.name)

    async def save_config(self) -> None:
        raise NotSupportedError(f"{self.kind} devices have no saved configuration", device=self.name)

    async def set_config_register(self, value: str) -> None:
        raise NotSupportedError(f"{self.kind} devices have no configuration register", device=self.name)

    async def reload(self, member: str | None = None) -> None:
        """Reload `member` the way its topology requires (directly, through the active, through
        the control unit)."""
        raise NotSupportedError(f"{self.kind} devices are not reloaded by the reconciler", device=self.name)

    @abc.abstractmethod
    async def wait_ready(self, member: str | None, timeout: float) -> None:
        """Wait until `member` is back and ready (standby-ready, rejoined, agent up), at most
        `timeout` seconds of device time; raise `ReloadTimeoutError` otherwise."""

    async def switch_active(self, new_active: str | None = None) -> None:
        raise NotSupportedError(f"{self.kind} devices have no failover", device=self.name)

    async def handoff_control(self, member: str) -> None:
        raise NotSupportedError(f"{self.kind} devices have no cluster", device=self.name)

    async def set_failover_groups(self, placement: Mapping[int, str]) -> None:
        raise NotSupportedError(f"{self.kind} devices have no failover groups", device=self.name)

    async def checkin(self) -> CheckinResult:
        raise NotSupportedError(f"{self.kind} devices do not check in", device=self.name)

    async def install(self, version: str, filename: str, source: ByteSource | None = None) -> None:
        """Agents: stage `source` as `filename` (when given) and start installing `version`."""
        raise NotSupportedError(f"{self.kind} devices are not upgraded by an installer", device=self.name)


def supports(driver: type[Driver] | Driver, action: StepAction) -> bool:
    return action in driver.capabilities
