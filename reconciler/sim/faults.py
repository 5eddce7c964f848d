"""Fault injection for simulated devices and members.

A fault is declared in the fleet file (or added at run time through the control API) for a
device, optionally for one member, and fires either every time (`times` omitted) or the first
`times` times and then never again ("N times then succeed"). Kinds and their parameters:

| kind                      | parameters                    | effect                                              |
|---------------------------|-------------------------------|-----------------------------------------------------|
| `transfer-error`          | `code` (`ftp-426`, `wsa-10054`...) | an upload fails with that FTP/Winsock code      |
| `too-large`               | `max_bytes`                   | uploads bigger than `max_bytes` in one request get HTTP 413 |
| `disk-full`               | `disk` (optional)             | writes fail with "not enough space" whatever `dir` says |
| `corrupt-upload`          |                               | the stored bytes differ from the bytes sent (verify fails, image does not boot) |
| `slow-link`               | `bytes_per_second`            | uploads are throttled to that rate (simulated time) |
| `slow-reload`             | `seconds`                     | a reload takes this long instead of `reload_seconds` |
| `unreachable-after-reload`|                               | the unit never comes back from its next reload      |
| `unreachable`             |                               | the unit (or the device) does not answer now        |
| `standby-not-ready`       |                               | after boot the unit stays Cold Standby / never rejoins the cluster |
| `http-error`              | `status` (default 503), `command` | requests to the device fail with that HTTP status; with `command`, only CLI requests carrying a command that starts with it |
| `command-error`           | `command`, `message`          | a CLI command starting with `command` answers `message` |
| `install-fails`           | `code`                        | an agent install fails with that code               |
| `agent-revert`            |                               | after an agent install, the next check-in re-images the old version back (the seed's endless re-image loop) |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class FaultKind(enum.StrEnum):
    TRANSFER_ERROR = "transfer-error"
    TOO_LARGE = "too-large"
    DISK_FULL = "disk-full"
    CORRUPT_UPLOAD = "corrupt-upload"
    SLOW_LINK = "slow-link"
    SLOW_RELOAD = "slow-reload"
    UNREACHABLE_AFTER_RELOAD = "unreachable-after-reload"
    UNREACHABLE = "unreachable"
    STANDBY_NOT_READY = "standby-not-ready"
    HTTP_ERROR = "http-error"
    COMMAND_ERROR = "command-error"
    INSTALL_FAILS = "install-fails"
    AGENT_REVERT = "agent-revert"


_PARAMS: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.TRANSFER_ERROR: ("code",),
    FaultKind.TOO_LARGE: ("max_bytes",),
    FaultKind.SLOW_LINK: ("bytes_per_second",),
    FaultKind.SLOW_RELOAD: ("seconds",),
    FaultKind.COMMAND_ERROR: ("command",),
    FaultKind.INSTALL_FAILS: ("code",),
}


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    kind: FaultKind
    member: str | None = None
    times: int | None = None  # None: always
    code: str | None = None
    max_bytes: int | None = None
    disk: str | None = None
    bytes_per_second: int | None = None
    seconds: float | None = None
    status: int = 503
    command: str | None = None
    message: str | None = None
    fired: int = field(default=0, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fault:
        try:
            kind = FaultKind(d["kind"])
        except (KeyError, ValueError):
            raise FaultSpecError(f"unknown fault kind {d.get('kind')!r}; one of: "
                                 + ", ".join(k.value for k in FaultKind)) from None
        for p in _PARAMS.get(kind, ()):
            if d.get(p) in (None, ""):
                raise FaultSpecError(f"fault {kind} needs `{p}`")
        known = {f for f in cls.__dataclass_fields__ if f != "fired"}
        extra = set(d) - known
        if extra:
            raise FaultSpecError(f"fault {kind}: unknown keys {sorted(extra)}")
        times = d.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultSpecError("`times` must be a positive integer (omit it for 'always')")
        args = {k: v for k, v in d.items() if k != "kind"}
        return cls(kind=kind, **args)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": str(self.kind)}
        for k in ("member", "times", "code", "max_bytes", "disk", "bytes_per_second", "seconds",
                  "command", "message"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.kind is FaultKind.HTTP_ERROR:
            out["status"] = self.status
        if self.fired:
            out["fired"] = self.fired
        return out

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, member: str | None) -> bool:
        return self.member is None or self.member == member


class Faults:
    """The faults of one device."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.items: list[Fault] = list(faults or [])

    def add(self, fault: Fault) -> None:
        self.items.append(fault)

    def clear(self, kind: FaultKind | None = None) -> None:
        self.items = [f for f in self.items if kind is not None and f.kind is not kind]

    def peek(self, kind: FaultKind, member: str | None = None) -> Fault | None:
        """The active fault of `kind` for `member`, without using one of its `times`."""
        return next((f for f in self.items if f.kind is kind and not f.exhausted and f.matches(member)), None)

    def fire(self, kind: FaultKind, member: str | None = None) -> Fault | None:
        """The active fault of `kind` for `member`, counting this use against its `times`."""
        f = self.peek(kind, member)
        if f is not None:
            f.fired += 1
        return f

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.items]
