"""Device storage: what each member's disks hold and which files must not be deleted. Pure.

Every physical unit of a pair or cluster has its own file system (the seed's device chapter), so
everything here is per member. One rule decides whether a file may be deleted, and the planner's
disk-space cleanup uses the same rule: a file is *in use* when the unit runs it, when a
`boot system` line names it, or when `asdm image` points at it. Deleting a running image leaves
no fallback; deleting a boot-list entry makes the next reload fall through to the next line (or
ROMMON). The seed's manager warns before deleting such a file; the reconciler refuses unless
forced.

Downloads come only from the unit answering the management address: the active unit of a
failover pair, the control unit of a cluster (the seed: "image download is supported only on the
control unit ... only on the active device of the pair").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.core.model import ImageType, Mode, Role
from reconciler.core.observed import Disk, FileEntry, Member, ObservedDevice
from reconciler.errors import PermanentError

# `flash:` is the ASA's alias of disk0 (`show file systems`: "disk0: flash:").
_ALIASES = {"flash": "disk0"}


class FileUse(enum.StrEnum):
    RUNNING = "running"  # the system image the unit booted
    BOOT = "boot"  # named by a `boot system` line
    ASDM = "asdm"  # the `asdm image` line
    VPN = "webvpn"  # an AnyConnect/CSD/HostScan package of the version the remote-access VPN runs


@dataclass(frozen=True, slots=True, order=True)
class DevicePath:
    """`disk0:/asa941-smp-k8.bin`. `disk` is None for a bare file name."""

    disk: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.disk}:/{self.name}" if self.disk else self.name

    def matches(self, disk: str, name: str) -> bool:
        # ASA flash is FAT (case-insensitive); a reference without a disk matches every disk,
        # which errs on the side of keeping a file.
        return (self.disk is None or self.disk == disk.lower()) and self.name.casefold() == name.casefold()


def parse_path(text: str) -> DevicePath:
    """`disk0:/x.bin`, `disk0:x.bin`, `flash:/x.bin`, `DISK1:/x.bin` or a bare `x.bin`."""
    s = text.strip()
    if ":" in s:
        disk, _, rest = s.partition(":")
        disk = disk.strip().lower()
        disk = _ALIASES.get(disk, disk)
        name = rest.lstrip("/")
    else:
        disk, name = None, s.lstrip("/")
    if not name or name in (".", "..") or any(p in ("", ".", "..") for p in name.split("/")) or (
            disk is not None and not disk.isalnum()):
        raise PermanentError(f"{text!r} is not a file path like disk0:/asa941-smp-k8.bin", code="BAD_PATH",
                             hint="write DISK:/FILE (disk0:/..., disk1:/..., packages:/... on agents) or a file name")
    return DevicePath(disk, name)


def _path(text: str | None) -> DevicePath | None:
    if not text:
        return None
    try:
        return parse_path(text)
    except PermanentError:
        return None


@dataclass(frozen=True, slots=True)
class FileStatus:
    disk: str
    name: str
    size: int
    uses: frozenset[FileUse] = frozenset()
    boot_index: int | None = None  # 1-based position in the boot list

    @property
    def path(self) -> str:
        return f"{self.disk}:/{self.name}"

    @property
    def in_use(self) -> bool:
        return bool(self.uses)

    @property
    def deletable(self) -> bool:
        return not self.uses

    def describe_uses(self) -> str:
        """`running, boot 1, asdm` (empty when unused)."""
        out = []
        if FileUse.RUNNING in self.uses:
            out.append("running")
        if FileUse.BOOT in self.uses:
            out.append(f"boot {self.boot_index}" if self.boot_index else "boot")
        if FileUse.ASDM in self.uses:
            out.append("asdm")
        if FileUse.VPN in self.uses:
            out.append("webvpn")
        return ", ".join(out)


@dataclass(frozen=True, slots=True)
class DiskStatus:
    name: str
    size: int
    free: int
    files: tuple[FileStatus, ...] = ()

    @property
    def used(self) -> int:
        return max(0, self.size - self.free)

    @property
    def files_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def reclaimable(self) -> int:
        """Bytes held by files that are not in use (what deleting them all would free)."""
        return sum(f.size for f in self.files if f.deletable)

    @property
    def percent_free(self) -> int:
        return 100 * self.free // self.size if self.size else 0


@dataclass(frozen=True, slots=True)
class MemberStorage:
    name: str
    role: Role
    reachable: bool
    disks: tuple[DiskStatus, ...]
    running_image: str | None = None  # "disk0:/asa941-smp-k8.bin"
    boot: tuple[str, ...] = ()
    asdm_image: str | None = None

    def disk(self, name: str) -> DiskStatus | None:
        return next((d for d in self.disks if d.name == name), None)


@dataclass(frozen=True, slots=True)
class DeviceStorage:
    device: str
    mode: Mode
    members: tuple[MemberStorage, ...]


# ---------------------------------------------------------------- the one rule


def _running_path(member: Member) -> DevicePath | None:
    return _path(member.running_files.get(ImageType.ASA))


def _asdm_path(member: Member) -> DevicePath | None:
    return _path(member.asdm_image or member.running_files.get(ImageType.ASDM))


# VPN packages name their version: anyconnect-win-4.9.06037-webdeploy-k9.pkg, csd_3.6.6228-k9.pkg
_VPN_PREFIX = {ImageType.ANYCONNECT: "anyconnect", ImageType.CSD: "csd", ImageType.HOSTSCAN: "hostscan"}


def _vpn_package(name: str, vpn: Mapping[ImageType, str]) -> bool:
    """Is `name` a package of the version the device's webvpn runs? Discovery reports the versions
    `show webvpn anyconnect|csd|hostscan` shows, not the files, so the file is judged by its name."""
    low = name.lower()
    for t, prefix in _VPN_PREFIX.items():
        version = vpn.get(t)
        if version and re.match(rf"{prefix}[-_].*(?<![0-9.]){re.escape(version.lower())}(?![0-9]|\.[0-9])", low):
            return True
    return False


def file_uses(member: Member, disk: str, name: str, vpn: Mapping[ImageType, str] | None = None
              ) -> tuple[frozenset[FileUse], int | None]:
    """Why `disk:/name` on `member` must be kept: its uses and its 1-based boot-list position.
    `vpn` is the device's running AnyConnect/CSD/HostScan versions (`ObservedDevice.running`)."""
    uses: set[FileUse] = set()
    run = _running_path(member)
    if run is not None and run.matches(disk, name):
        uses.add(FileUse.RUNNING)
    boot_index = None
    for i, line in enumerate(member.boot, 1):
        p = _path(line)
        if p is not None and p.matches(disk, name):
            uses.add(FileUse.BOOT)
            boot_index = boot_index or i
    asdm = _asdm_path(member)
    if asdm is not None and asdm.matches(disk, name):
        uses.add(FileUse.ASDM)
    if vpn and _vpn_package(name, vpn):
        uses.add(FileUse.VPN)
    return frozenset(uses), boot_index


def in_use(member: Member, disk: str, name: str, vpn: Mapping[ImageType, str] | None = None) -> bool:
    """True when the member runs the file, a boot line names it, `asdm image` points at it (or,
    given the device's VPN versions, it is the webvpn package of that version)."""
    return bool(file_uses(member, disk, name, vpn)[0])


def unreferenced_files(member: Member, disk: str, vpn: Mapping[ImageType, str] | None = None
                       ) -> tuple[FileEntry, ...]:
    """Files on the member's `disk` that may be deleted without touching what it runs or boots.

    The planner's cleanup starts from these (and narrows them to system/ASDM images)."""
    d = member.disk(disk)
    return tuple(f for f in d.files if not in_use(member, disk, f.name, vpn)) if d else ()


def _file_status(member: Member, disk: Disk, f: FileEntry, vpn: Mapping[ImageType, str] | None) -> FileStatus:
    uses, idx = file_uses(member, disk.name, f.name, vpn)
    return FileStatus(disk.name, f.name, f.size, uses, idx)


def member_storage(member: Member, vpn: Mapping[ImageType, str] | None = None) -> MemberStorage:
    run = _running_path(member)
    asdm = _asdm_path(member)
    disks = tuple(DiskStatus(d.name, d.size, d.free, tuple(_file_status(member, d, f, vpn) for f in d.files))
                  for d in member.disks)
    return MemberStorage(member.name, member.role, member.reachable, disks,
                         str(run) if run else None, member.boot, str(asdm) if asdm else None)


def select_members(device: ObservedDevice, names: Sequence[str] = ()) -> tuple[Member, ...]:
    """The members named (all when none are); an unknown name is an error listing the members."""
    if not names:
        return device.members
    known = {m.name: m for m in device.members}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise PermanentError(f"{device.name} has no member {', '.join(unknown)}", code="UNKNOWN_MEMBER",
                             device=device.name, hint="its members: " + _member_list(device))
    return tuple(known[n] for n in dict.fromkeys(names))


def device_storage(device: ObservedDevice, members: Sequence[str] = ()) -> DeviceStorage:
    return DeviceStorage(device.name, device.mode,
                         tuple(member_storage(m, device.running) for m in select_members(device, members)))


def _member_list(device: ObservedDevice) -> str:
    return ", ".join(f"{m.name} ({m.role})" for m in device.members) or "none discovered"


# ---------------------------------------------------------------- locating a file


@dataclass(frozen=True, slots=True)
class Located:
    member: Member
    file: FileStatus


def locate(device: ObservedDevice, member: Member, path: str) -> Located:
    """Find `path` on `member`'s disks; a bare name must be on exactly one disk."""
    p = parse_path(path)
    if not member.reachable:
        raise PermanentError(f"{member.name} did not answer discovery, so its files are unknown",
                             code="MEMBER_UNREACHABLE", device=device.name, member=member.name,
                             hint="restore the unit's connectivity (show failover / show cluster info) and run again")
    hits = [(d, f) for d in member.disks for f in d.files
            if (p.disk is None or p.disk == d.name) and f.name == p.name]
    if not hits:  # FAT: a name that differs only in case is the same file
        hits = [(d, f) for d in member.disks for f in d.files if p.matches(d.name, f.name)]
    if not hits:
        if p.disk is not None and member.disk(p.disk) is None:
            raise PermanentError(f"{member.name} has no {p.disk}", code="DISK_MISSING", device=device.name,
                                 member=member.name,
                                 hint="its disks: " + (", ".join(d.name for d in member.disks) or "none reported"))
        where = [m.name for m in device.members if m is not member
                 and any(p.matches(d.name, f.name) for d in m.disks for f in d.files)]
        hint = (f"it is on {', '.join(where)}" if where else
                f"`reconciler device storage {device.name}` lists the files")
        raise PermanentError(f"{p} is not on {member.name}", code="FILE_NOT_FOUND", device=device.name,
                             member=member.name, hint=hint)
    if len(hits) > 1:
        raise PermanentError(f"{p.name} is on several disks of {member.name}: "
                             + ", ".join(f"{d.name}:/{f.name}" for d, f in hits), code="AMBIGUOUS_PATH",
                             device=device.name, member=member.name, hint="name the disk, e.g. disk0:/" + p.name)
    d, f = hits[0]
    return Located(member, _file_status(member, d, f, device.running))


# ---------------------------------------------------------------- deleting


@dataclass(frozen=True, slots=True)
class DeleteCheck:
    device: str
    member: str
    file: FileStatus

    @property
    def refused(self) -> bool:
        """Refused unless forced: the file is running, in the boot list or the ASDM image."""
        return self.file.in_use

    def reason(self) -> str:
        """`disk0:/asa.bin is the running image and boot line 1 of primary`."""
        parts = []
        if FileUse.RUNNING in self.file.uses:
            parts.append("the running image")
        if FileUse.BOOT in self.file.uses:
            parts.append(f"boot line {self.file.boot_index}" if self.file.boot_index else "in the boot list")
        if FileUse.ASDM in self.file.uses:
            parts.append("the ASDM image")
        if FileUse.VPN in self.file.uses:
            parts.append("the webvpn package of the version the remote-access VPN runs")
        return f"{self.file.path} is {' and '.join(parts)} of {self.member}"

    def consequence(self) -> str:
        if FileUse.RUNNING in self.file.uses:
            return ("the unit keeps running from memory, but its next reload has no fallback to this "
                    "image and may end in ROMMON")
        if FileUse.BOOT in self.file.uses:
            return "the next reload skips this boot line (or ends in ROMMON if no other line is bootable)"
        if FileUse.ASDM in self.file.uses:
            return "ASDM stops working until `asdm image` points at an existing file"
        return "remote-access clients can no longer download or update the package"

    def advice(self) -> str:
        if FileUse.RUNNING in self.file.uses:
            return "keep it as the fallback until the upgrade is confirmed; --force deletes it anyway"
        if FileUse.BOOT in self.file.uses:
            return "remove it from the boot list first (boot system); --force deletes it anyway"
        if FileUse.ASDM in self.file.uses:
            return "point `asdm image` at another file first; --force deletes it anyway"
        return "point the webvpn configuration (anyconnect/csd/hostscan image) at another package first; " \
               "--force deletes it anyway"


def check_delete(device: ObservedDevice, members: Iterable[Member], path: str) -> tuple[DeleteCheck, ...]:
    """One check per member holding the file; the caller refuses all if any is `refused`."""
    return tuple(DeleteCheck(device.name, m.name, locate(device, m, path).file) for m in members)


def members_holding(device: ObservedDevice, path: str) -> tuple[Member, ...]:
    """Reachable members on which `path` exists (for deleting a file on every unit)."""
    p = parse_path(path)
    return tuple(m for m in device.members if m.reachable
                 and any(p.matches(d.name, f.name) for d in m.disks for f in d.files))


def single_member(device: ObservedDevice, name: str | None, what: str) -> Member:
    """The member named, or the only one; a pair or cluster needs a name."""
    if name is not None:
        return select_members(device, [name])[0]
    if len(device.members) == 1:
        return device.members[0]
    raise PermanentError(f"{device.name} is {device.mode} with {len(device.members)} members, each with its own "
                         f"disks: say which one to {what}", code="MEMBER_REQUIRED", device=device.name,
                         hint="add --member NAME (members: " + _member_list(device) + ")")


# ---------------------------------------------------------------- downloading


def download_unit(device: ObservedDevice) -> Member | None:
    """The unit that serves downloads: the one answering the management address."""
    if device.mode is Mode.CLUSTER:
        return next(iter(device.by_role(Role.CONTROL)), None)
    if device.mode is Mode.ACTIVE_ACTIVE:
        # the management address (admin context) follows failover group 1
        return next((m for m in device.members if 1 in m.failover_groups_active),
                    next(iter(device.by_role(Role.ACTIVE)), None))
    if device.mode is Mode.ACTIVE_STANDBY:
        return next(iter(device.by_role(Role.ACTIVE)), None)
    return device.members[0] if device.members else None


def check_fetch(device: ObservedDevice, member: str | None, path: str) -> Located:
    """Where a download of `path` comes from; refuses a standby or data unit, naming the unit to use."""
    unit = download_unit(device)
    if unit is None:
        raise PermanentError(f"{device.name} has no {'control' if device.mode is Mode.CLUSTER else 'active'} "
                             "unit now", code="NO_DOWNLOAD_UNIT", device=device.name,
                             hint="downloads need the active unit of a pair or the control unit of a cluster; "
                                  "check show failover / show cluster info")
    if member is not None and member != unit.name:
        m = select_members(device, [member])[0]
        kind = "the control unit of a cluster" if device.mode is Mode.CLUSTER else "the active unit of a failover pair"
        raise PermanentError(
            f"{m.name} is the {m.role} unit: files can be downloaded only from {kind} (here {unit.name})",
            code="NOT_DOWNLOAD_UNIT", device=device.name, member=m.name,
            hint=f"fetch from {unit.name} (--member {unit.name}); if the file exists only on {m.name}, make "
                 f"{m.name} {'the control unit' if device.mode is Mode.CLUSTER else 'active'} first")
    try:
        return locate(device, unit, path)
    except PermanentError as e:
        if e.code == "FILE_NOT_FOUND" and device.mode is not Mode.STANDALONE:
            e.hint = (f"{e.hint}; downloads come only from {unit.name} ({unit.role}): copy the file there "
                      "or change roles first")
        raise


# ---------------------------------------------------------------- test copy


class ProbeStatus(enum.StrEnum):
    """Outcome of a test copy on one member (`reconciler device test-copy`)."""

    OK = "ok"
    TOO_LARGE = "too-large"  # HTTP 413
    DISK_MISSING = "disk-missing"
    DISK_FULL = "disk-full"
    TRANSFER_ERROR = "transfer-error"  # an FTP/Winsock code
    VERIFY_FAILED = "verify-failed"  # the device's checksum disagrees with the bytes sent
    UNREACHABLE = "unreachable"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    member: Member
    status: ProbeStatus | None = None  # set when the member is not worth trying
    message: str = ""
    advice: str = ""


DISK_MISSING_ADVICE = ("choose an install_location every member has (--disk or settings), or add the disk; "
                       "on a multiple-context device managed as single context, discover the system context "
                       "(the seed's \"Invalid flash device\")")


def probe_targets(device: ObservedDevice, disk: str, size: int, members: Sequence[str] = ()) -> tuple[ProbeTarget, ...]:
    """Members to copy a `size`-byte probe to, with the ones that cannot take it already judged."""
    out = []
    for m in select_members(device, members):
        if not m.reachable:
            out.append(ProbeTarget(m, ProbeStatus.UNREACHABLE, f"{m.name} did not answer discovery",
                                   "restore the unit's connectivity; a copy to it would fail"))
            continue
        d = m.disk(disk)
        if d is None:
            have = ", ".join(x.name for x in m.disks) or "none reported"
            out.append(ProbeTarget(m, ProbeStatus.DISK_MISSING, f"{m.name} has no {disk} (its disks: {have})",
                                   DISK_MISSING_ADVICE))
            continue
        if d.free < size:
            out.append(ProbeTarget(m, ProbeStatus.DISK_FULL,
                                   f"{disk} on {m.name} has {d.free} bytes free, the probe needs {size}",
                                   f"delete files on {m.name} (`reconciler device storage {device.name} --member "
                                   f"{m.name}` shows what is reclaimable) or choose another install_location"))
            continue
        out.append(ProbeTarget(m))
    return tuple(out)
