"""`test-copy`: does a transfer from the reconciler to each member's install disk work?

The seed's "Test File Copy" and its troubleshooting for HTTP 413 and "Invalid flash device":
before a job, copy a small probe file to every member's install disk the way a job copies an
image (HTTPS, one request per member, the failover mate and cluster units addressed through the
management unit), have the device verify it, and delete it. Each member gets its own verdict:
ok, HTTP 413 (too much in one request), disk missing, disk full, a transfer error code with its
meaning and advice, a failed verification, or unreachable.

Probes are streamed synthetic bytes under a random name, so they never overwrite a real file and
never sit in memory whole. The probe is removed on every member it was sent to in a `finally`,
whatever happened, and the disks are read again afterwards to prove nothing was left behind;
a cleanup that failed is part of the report.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.core.model import DriverKind, Role
from reconciler.core.observed import ObservedDevice
from reconciler.core.storage import DISK_MISSING_ADVICE, ProbeStatus, probe_targets
from reconciler.drivers.agent import STORE
from reconciler.drivers.base import ChecksumMismatchError, Driver, Hasher
from reconciler.drivers.sources import SyntheticSource
from reconciler.errors import PermanentError, ReconcilerError, TemporaryError
from reconciler.transfer_errors import TRANSFER_CODES, TransferTooLargeError
from reconciler.devices.files import member_arg

DEFAULT_PROBE_SIZE = 64 * 1024  # the smallest part the drivers split a copy into after HTTP 413
MAX_PROBE_SIZE = 4 * 1024 ** 3
PROBE_PREFIX = "reconciler-probe-"

_413_ADVICE = TRANSFER_CODES["http-413"].advice


@dataclass(frozen=True)
class ProbeAttempt:
    size: int
    status: ProbeStatus
    code: str | None = None  # HTTP-413, FTP-426, DISK-FULL, CHECKSUM_MISMATCH, ...
    message: str = ""
    advice: str = ""
    temporary: bool | None = None  # for errors: would a job retry it?
    max_bytes: int | None = None  # HTTP 413: the largest request the device said it takes


@dataclass(frozen=True)
class MemberProbe:
    member: str
    role: Role
    status: ProbeStatus
    code: str | None
    message: str
    advice: str
    attempts: tuple[ProbeAttempt, ...] = ()
    cleanup: str = "not-needed"  # not-needed | deleted | nothing-left | failed
    cleanup_message: str = ""

    @property
    def blocking(self) -> bool:
        """Would a job's copy to this member fail? A 413 above a size that passed is split around."""
        if self.status is ProbeStatus.OK:
            return False
        if self.status is ProbeStatus.TOO_LARGE:
            return not any(a.status is ProbeStatus.OK for a in self.attempts)
        return True


@dataclass(frozen=True)
class ProbeReport:
    device: str
    disk: str
    probe: str  # the probe's path on the device
    sizes: tuple[int, ...]
    members: tuple[MemberProbe, ...]
    leftovers: tuple[str, ...] = ()  # members whose disk still holds the probe afterwards
    leftover_check: str = "done"  # done | failed: <why>

    @property
    def ok(self) -> bool:
        return (not any(m.blocking for m in self.members) and not self.leftovers
                and self.leftover_check == "done" and all(m.cleanup != "failed" for m in self.members))


def _classify(e: ReconcilerError, size: int, min_part: int) -> ProbeAttempt:
    info = getattr(e, "transfer", None)
    temporary = isinstance(e, TemporaryError)
    if isinstance(e, TransferTooLargeError):
        limit = f" (the device takes at most {e.max_bytes} bytes per request)" if e.max_bytes else ""
        advice = _413_ADVICE
        if size <= min_part or (e.max_bytes is not None and e.max_bytes < min_part):
            # the driver splits a copy down to min_part bytes and no further: this will not pass
            advice = (f"copies are split into parts of at least {min_part} bytes, which this unit refuses: "
                      "check the request-size limit of the HTTP server or proxy in front of it; "
                      "splitting the job so fewer images go in one run (the seed's advice) helps only "
                      "with a larger limit")
        return ProbeAttempt(size, ProbeStatus.TOO_LARGE, e.code,
                            f"HTTP 413 for a {size}-byte request: too much in one transfer{limit}",
                            advice, False, e.max_bytes)
    if info is not None and info.key == "disk-full":
        return ProbeAttempt(size, ProbeStatus.DISK_FULL, e.code, e.message, info.advice, False)
    if info is not None:  # the message already names the code and its meaning, and quotes the device
        return ProbeAttempt(size, ProbeStatus.TRANSFER_ERROR, e.code, e.message, info.advice, temporary)
    if e.code == "NOT_FOUND" and "no such device" in e.message.lower():
        return ProbeAttempt(size, ProbeStatus.DISK_MISSING, "INSTALL_LOCATION_MISSING", e.message,
                            DISK_MISSING_ADVICE, False)
    if isinstance(e, ChecksumMismatchError):
        return ProbeAttempt(size, ProbeStatus.VERIFY_FAILED, e.code, e.message,
                            "the bytes stored differ from those sent: check the path for devices that "
                            "alter HTTPS payloads, and the disk's health (fsck)", False)
    if e.code in ("UNREACHABLE", "TIMEOUT"):
        return ProbeAttempt(size, ProbeStatus.UNREACHABLE, e.code, e.message, e.hint or "", True)
    return ProbeAttempt(size, ProbeStatus.ERROR, e.code, e.message, e.hint or "", temporary)


def _verdict(attempts: Sequence[ProbeAttempt]) -> ProbeAttempt:
    failed = [a for a in attempts if a.status is not ProbeStatus.OK]
    if not failed:
        return attempts[-1]
    a = failed[0]
    passed = [x.size for x in attempts if x.status is ProbeStatus.OK]
    if a.status is ProbeStatus.TOO_LARGE and passed:
        return ProbeAttempt(a.size, a.status, a.code,
                            f"{max(passed)}-byte requests pass but {a.message}; copies are sent in parts "
                            f"of at most {a.max_bytes or max(passed)} bytes", a.advice, a.temporary, a.max_bytes)
    if passed:
        return ProbeAttempt(a.size, a.status, a.code, f"{max(passed)}-byte probe ok; {a.message}", a.advice,
                            a.temporary, a.max_bytes)
    return a


def _absent(e: ReconcilerError) -> bool:
    text = e.message.lower()
    return e.code == "NOT_FOUND" or "no such file" in text or "not found" in text


class _Prober:
    def __init__(self, drv: Driver, facts: ObservedDevice, disk: str, name: str) -> None:
        self.drv, self.facts, self.disk, self.name = drv, facts, disk, name
        self.path = f"{disk}:/{name}"

    async def send(self, member: str, size: int, seed: str) -> ProbeAttempt:
        target = member_arg(self.facts, member)
        hasher = Hasher()
        source = SyntheticSource(self.name, size, seed)
        try:
            await self.drv.upload(target, self.disk, self.name, source.open(), size, hasher=hasher)
            await self.drv.verify(target, self.path, hasher.digests().get("sha-512"))
        except ReconcilerError as e:
            return _classify(e, size, self.drv.options.min_part_size)
        return ProbeAttempt(size, ProbeStatus.OK, message=f"{size} bytes copied and verified (sha-512)")

    async def remove(self, member: str) -> tuple[str, str]:
        try:
            await self.drv.delete_file(member_arg(self.facts, member), self.path, force=True)
        except ReconcilerError as e:
            if _absent(e):
                return "nothing-left", ""
            return "failed", str(e)
        return "deleted", ""


async def run_test_copy(drv: Driver, *, disk: str, sizes: Sequence[int] = (DEFAULT_PROBE_SIZE,),
                    members: Sequence[str] = (), facts: ObservedDevice | None = None) -> ProbeReport:
    """Copy a probe of each size (smallest first) to every member's `disk`, verify, delete."""
    sizes = tuple(sorted(set(sizes)))
    if not sizes or sizes[0] <= 0 or sizes[-1] > MAX_PROBE_SIZE:
        raise PermanentError(f"probe sizes must be between 1 byte and {MAX_PROBE_SIZE} bytes", code="USAGE")
    facts = facts or await drv.get_facts()
    if drv.kind is DriverKind.AGENT:
        disk = STORE  # an agent endpoint has one store, whatever install_location says
    name = f"{PROBE_PREFIX}{secrets.token_hex(4)}.bin"
    prober = _Prober(drv, facts, disk, name)
    seed = secrets.token_hex(8)  # fresh content each run: nothing on the device can already match
    results: list[MemberProbe] = []
    for t in probe_targets(facts, disk, sizes[0], members):
        m = t.member
        if t.status is not None:
            code = {ProbeStatus.DISK_MISSING: "INSTALL_LOCATION_MISSING", ProbeStatus.DISK_FULL: "DISK_SPACE",
                    ProbeStatus.UNREACHABLE: "STANDBY_UNREACHABLE" if m.role is Role.STANDBY else "UNREACHABLE"}
            results.append(MemberProbe(m.name, m.role, t.status, code.get(t.status), t.message, t.advice))
            continue
        target_disk = m.disk(disk)
        free = target_disk.free if target_disk is not None else 0
        attempts: list[ProbeAttempt] = []
        sent = False
        try:
            for size in sizes:
                if size > free:
                    attempts.append(ProbeAttempt(size, ProbeStatus.DISK_FULL, "DISK_SPACE",
                                                 f"{disk} on {m.name} has {free} bytes free; a {size}-byte probe "
                                                 "cannot fit", TRANSFER_CODES["disk-full"].advice, False))
                    break
                sent = True
                a = await prober.send(m.name, size, seed)
                attempts.append(a)
                if a.status is not ProbeStatus.OK:
                    break
        finally:
            # whatever happened (even an interrupt), never leave the probe behind
            cleanup, why = await prober.remove(m.name) if sent else ("not-needed", "")
        v = _verdict(attempts)
        results.append(MemberProbe(m.name, m.role, v.status, v.code, v.message, v.advice, tuple(attempts),
                                   cleanup, why))
    leftovers: tuple[str, ...] = ()
    check = "done"
    if any(r.cleanup != "not-needed" for r in results):
        leftovers, check = await _leftovers(prober)
    return ProbeReport(facts.name, disk, prober.path, sizes, tuple(results), leftovers, check)


async def _leftovers(prober: _Prober) -> tuple[tuple[str, ...], str]:
    """Read every member's disks again; try once more to delete a probe still there."""
    try:
        after = await prober.drv.get_facts()
    except ReconcilerError as e:
        return (), f"failed: {e}"
    left = []
    for m in after.members:
        d = m.disk(prober.disk)
        if d is not None and d.has(prober.name):
            status, _ = await prober.remove(m.name)
            if status != "deleted":
                left.append(m.name)
    return tuple(left), "done"
