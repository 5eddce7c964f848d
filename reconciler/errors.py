"""One exception hierarchy for the whole product.

`TemporaryError` means "the same call may succeed later" (retry with backoff); `PermanentError`
means "retrying will not help". The executor, discovery and the daemon decide what to do from the
class alone, the way kopf separates temporary from permanent handler errors.
Every error carries enough context to print one clear line: where (file:line or device/member),
what (code and meaning) and what to do (hint). The CLI prints `str(err)`, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the user's desired-state repository."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def place(location: Location | None, device: str | None, member: str | None) -> str:
    """Where something happened: file:line, else device/member, else device."""
    if location is not None:
        return str(location)
    if device and member and member != device:
        return f"{device}/{member}"
    return device or ""


def coded_line(where: str, code: str, message: str) -> str:
    """The `where: CODE message` form shared by errors, findings and CI annotations."""
    return f"{where}: {code} {message}" if where else f"{code} {message}"


class ReconcilerError(Exception):
    """Base of every error the product raises on purpose."""

    code: str = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        location: Location | None = None,
        device: str | None = None,
        member: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint
        self.location = location
        self.device = device
        self.member = member

    def where(self) -> str:
        return place(self.location, self.device, self.member)

    def __str__(self) -> str:
        text = coded_line(self.where(), self.code, self.message)
        if self.hint:
            text += f" — {self.hint}"
        return text


class TemporaryError(ReconcilerError):
    """Retry may help (timeouts, FTP 4yz, transient Winsock errors, HTTP 5xx, busy locks)."""

    code = "TEMPORARY"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class PermanentError(ReconcilerError):
    """Retry will not help (bad input, FTP 5yz, auth failure, refused image)."""

    code = "PERMANENT"


class ConfigError(PermanentError):
    """The desired-state repository or the inventory is invalid."""

    code = "CONFIG"


class DeviceError(ReconcilerError):
    """A device answered with an error or did not behave as expected."""

    code = "DEVICE"


class TransientDeviceError(DeviceError, TemporaryError):
    code = "DEVICE_TEMPORARY"


class PermanentDeviceError(DeviceError, PermanentError):
    code = "DEVICE_PERMANENT"


class StalePlanError(PermanentError):
    code = "STALE_PLAN"


class LockedError(TemporaryError):
    code = "DEVICE_LOCKED"
