"""Image-transfer error codes: what each means, whether retrying helps, and what to do.

Distilled from the seeds (SPEC section 6): FTP reply codes (RFC 959 as quoted by the agent
appendix), Windows-socket error codes, HTTP 413 from the image-manager troubleshooting chapter
("split the job"), and "not enough space on disk". A device or the simulator names a code with a
short key (`ftp-426`, `wsa-10054`, `http-413`, `disk-full`); drivers turn it into a
`TransientTransferError` (retry with backoff) or a `PermanentTransferError` (do not retry) that
carries the code, its meaning and the advice, so every message a user sees says all three.
The executor's retry policy (issue #5) reads `TransferCode.temporary` from here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.errors import PermanentDeviceError, TransientDeviceError


@dataclass(frozen=True, slots=True)
class TransferCode:
    key: str  # "ftp-426", "wsa-10054", "http-413", "disk-full"
    family: str  # "ftp" | "winsock" | "http" | "device"
    number: int | None
    name: str  # symbolic name ("WSAECONNRESET"), or a short label for FTP/HTTP
    meaning: str
    advice: str
    temporary: bool
    split: bool = False  # the remedy is a smaller transfer (HTTP 413)

    @property
    def label(self) -> str:
        """How the code is written in messages: `FTP 426`, `WSAECONNRESET 10054`, `HTTP 413`."""
        if self.family == "ftp":
            return f"FTP {self.number}"
        if self.family == "winsock":
            return f"{self.name} {self.number}"
        if self.family == "http":
            return f"HTTP {self.number}"
        return self.name


_RETRY = "transient: it is retried with backoff; if it persists, "
_FTP4 = _RETRY + "check the path between the reconciler and the device"

_CODES: tuple[TransferCode, ...] = (
    # -- FTP 4yz: transient negative completion (RFC 959: "the action may be requested again")
    TransferCode("ftp-421", "ftp", 421, "service not available",
                 "service not available, closing control connection",
                 _RETRY + "check that the device's HTTP server is enabled and not shutting down",
                 True),
    TransferCode("ftp-425", "ftp", 425, "can't open data connection",
                 "the data connection could not be opened",
                 _FTP4 + " (firewall rules, `http` allowed hosts on the device)", True),
    TransferCode("ftp-426", "ftp", 426, "connection closed",
                 "connection closed; transfer aborted", _FTP4 + " (link stability, MTU)", True),
    TransferCode("ftp-450", "ftp", 450, "file unavailable",
                 "requested file action not taken: file unavailable (e.g. file busy)",
                 _RETRY + "make sure no other session is writing the same file", True),
    TransferCode("ftp-451", "ftp", 451, "local error",
                 "requested action aborted: local error in processing",
                 _RETRY + "look at the device's log for file-system errors", True),
    TransferCode("ftp-452", "ftp", 452, "insufficient storage",
                 "requested action not taken: insufficient storage space in system",
                 _RETRY + "free space on the install disk (dir disk0:) and run again", True),
    # -- FTP 5yz: permanent negative completion ("do not repeat the request as is")
    TransferCode("ftp-500", "ftp", 500, "syntax error",
                 "syntax error, command unrecognized",
                 "permanent: the device rejected the copy command; check its software version "
                 "supports HTTPS copy", False),
    TransferCode("ftp-501", "ftp", 501, "syntax error in parameters",
                 "syntax error in parameters or arguments",
                 "permanent: check the destination path (disk name, file name characters)", False),
    TransferCode("ftp-502", "ftp", 502, "command not implemented", "command not implemented",
                 "permanent: the device does not support this transfer; copy the image by hand",
                 False),
    TransferCode("ftp-503", "ftp", 503, "bad sequence of commands", "bad sequence of commands",
                 "permanent: re-run the job from fresh discovery", False),
    TransferCode("ftp-504", "ftp", 504, "parameter not implemented",
                 "command not implemented for that parameter",
                 "permanent: choose another install location or transfer mode", False),
    TransferCode("ftp-530", "ftp", 530, "not logged in", "not logged in",
                 "permanent: check the credential reference and the user's privilege level "
                 "(15 for image installation)", False),
    TransferCode("ftp-532", "ftp", 532, "need account for storing files",
                 "an account is needed for storing files",
                 "permanent: give the management user write access to the file system", False),
    TransferCode("ftp-550", "ftp", 550, "file unavailable",
                 "requested action not taken: file unavailable (not found, no access)",
                 "permanent: check the file name and the user's access to the disk", False),
    TransferCode("ftp-551", "ftp", 551, "page type unknown",
                 "requested action aborted: page type unknown",
                 "permanent: re-fetch the image into the repository and run again", False),
    TransferCode("ftp-552", "ftp", 552, "storage allocation exceeded",
                 "requested file action aborted: exceeded storage allocation",
                 "permanent: free space on the install disk or choose install_location disk1",
                 False),
    TransferCode("ftp-553", "ftp", 553, "file name not allowed",
                 "requested action not taken: file name not allowed",
                 "permanent: rename the image in the catalog to a plain file name", False),
    # -- Windows sockets: network conditions that may clear
    TransferCode("wsa-10050", "winsock", 10050, "WSAENETDOWN", "the network is down",
                 _RETRY + "check the reconciler host's network", True),
    TransferCode("wsa-10051", "winsock", 10051, "WSAENETUNREACH", "the network is unreachable",
                 _RETRY + "check routing to the device's management network", True),
    TransferCode("wsa-10052", "winsock", 10052, "WSAENETRESET",
                 "the connection was dropped by keep-alive failure", _FTP4, True),
    TransferCode("wsa-10053", "winsock", 10053, "WSAECONNABORTED",
                 "the connection was aborted (timeout or protocol error)", _FTP4, True),
    TransferCode("wsa-10054", "winsock", 10054, "WSAECONNRESET",
                 "the connection was reset by the peer", _FTP4 + " (device reload, idle timeouts)",
                 True),
    TransferCode("wsa-10055", "winsock", 10055, "WSAENOBUFS", "no buffer space available",
                 _RETRY + "lower max_parallel", True),
    TransferCode("wsa-10060", "winsock", 10060, "WSAETIMEDOUT", "the connection timed out",
                 _FTP4 + " (slow link: raise the transfer timeout)", True),
    TransferCode("wsa-10061", "winsock", 10061, "WSAECONNREFUSED",
                 "the connection was refused by the target",
                 _RETRY + "check the device's `http server enable` and allowed hosts", True),
    TransferCode("wsa-10064", "winsock", 10064, "WSAEHOSTDOWN", "the host is down",
                 _RETRY + "check the device is powered and booted", True),
    TransferCode("wsa-10065", "winsock", 10065, "WSAEHOSTUNREACH", "no route to the host",
                 _RETRY + "check routing to the device", True),
    TransferCode("wsa-11002", "winsock", 11002, "WSATRY_AGAIN",
                 "temporary name-resolution failure (no answer from an authoritative server)",
                 _RETRY + "check the DNS servers", True),
    # -- Windows sockets: conditions retrying cannot fix
    TransferCode("wsa-10013", "winsock", 10013, "WSAEACCES",
                 "permission denied: the socket was accessed in a forbidden way",
                 "permanent: check local firewall/proxy policy on the reconciler host", False),
    TransferCode("wsa-10022", "winsock", 10022, "WSAEINVAL", "an invalid argument was supplied",
                 "permanent: check the device address and port in the inventory", False),
    TransferCode("wsa-11001", "winsock", 11001, "WSAHOST_NOT_FOUND", "host not found",
                 "permanent: fix the device address in inventory/devices.yaml or DNS", False),
    TransferCode("wsa-11003", "winsock", 11003, "WSANO_RECOVERY",
                 "a non-recoverable name-server error", "permanent: fix the DNS configuration",
                 False),
    TransferCode("wsa-11004", "winsock", 11004, "WSANO_DATA",
                 "the name is valid but has no address record",
                 "permanent: add an address record or use an IP address in the inventory", False),
    # -- HTTP and device conditions
    TransferCode("http-413", "http", 413, "request entity too large",
                 "the device refused a transfer this large in one request",
                 "split the transfer into smaller parts (the driver does this automatically) "
                 "or split the job so fewer images go in one run", False, split=True),
    TransferCode("disk-full", "device", None, "DISK_FULL", "not enough space on the disk",
                 "permanent: check the member's storage (`dir disk0:`), delete unneeded images "
                 "or choose install_location disk1, then run again", False),
)

TRANSFER_CODES: dict[str, TransferCode] = {c.key: c for c in _CODES}
_BY_NAME = {c.name.upper(): c for c in _CODES if c.family == "winsock"}
_KEY = re.compile(r"^\s*(ftp|wsa|winsock|http)?[-_ ]?(\d{3,5})\s*$", re.IGNORECASE)


def lookup(text: str | int) -> TransferCode | None:
    """Find a code from `ftp-426`, `FTP 426`, `426`, `wsa-10054`, `10054`, `WSAECONNRESET`,
    `http-413` or `disk-full`. Unknown FTP 4yz/5yz codes get a generic entry of their class."""
    s = str(text).strip()
    low = s.lower()
    if low in TRANSFER_CODES:
        return TRANSFER_CODES[low]
    if s.upper() in _BY_NAME:
        return _BY_NAME[s.upper()]
    m = _KEY.match(s)
    if not m:
        return None
    family = (m.group(1) or "").lower()
    number = int(m.group(2))
    if family in ("wsa", "winsock") or (not family and number >= 10000):
        return TRANSFER_CODES.get(f"wsa-{number}")
    if family == "http":
        return TRANSFER_CODES.get(f"http-{number}")
    known = TRANSFER_CODES.get(f"ftp-{number}")
    if known is not None:
        return known
    if 400 <= number < 500:
        return TransferCode(f"ftp-{number}", "ftp", number, "transient negative reply",
                            "transient negative completion reply", _FTP4, True)
    if 500 <= number < 600:
        return TransferCode(f"ftp-{number}", "ftp", number, "permanent negative reply",
                            "permanent negative completion reply",
                            "permanent: read the device's message and fix the cause", False)
    return None


class TransferErrorMixin:
    transfer: TransferCode


class TransientTransferError(TransientDeviceError, TransferErrorMixin):
    """A transfer failed for a reason that may clear (FTP 4yz, most Winsock errors)."""


class PermanentTransferError(PermanentDeviceError, TransferErrorMixin):
    """A transfer failed for a reason retrying cannot fix (FTP 5yz, disk full, access)."""


class TransferTooLargeError(PermanentTransferError):
    """HTTP 413: this request was too large; the same bytes in smaller parts may pass."""

    def __init__(self, message: str, *, max_bytes: int | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.max_bytes = max_bytes


def transfer_error(
    code: TransferCode | str,
    *,
    action: str,
    device: str | None = None,
    member: str | None = None,
    detail: str = "",
    max_bytes: int | None = None,
) -> TransientTransferError | PermanentTransferError:
    """Build the error for `code`; `action` says what failed ("copy to disk0:/asa.bin").

    An unknown code becomes a permanent error that quotes the device's own words, so a strange
    device never makes the reconciler retry forever.
    """
    info = code if isinstance(code, TransferCode) else lookup(code)
    if info is None:
        info = TransferCode(str(code), "device", None, str(code).upper(), "unrecognised error",
                            "permanent: read the device's message; report the code if it "
                            "should be classified", False)
    message = f"{action} failed: {info.label} {info.meaning}"
    if detail:
        message += f" (device said: {detail.strip()[:300]})"
    code_, hint = info.key.upper(), info.advice
    err: TransientTransferError | PermanentTransferError
    if info.split:
        err = TransferTooLargeError(message, max_bytes=max_bytes, code=code_, hint=hint, device=device, member=member)
    elif info.temporary:
        err = TransientTransferError(message, code=code_, hint=hint, device=device, member=member)
    else:
        err = PermanentTransferError(message, code=code_, hint=hint, device=device, member=member)
    err.transfer = info
    return err
