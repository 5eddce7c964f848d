"""Observed inventory: what discovery found on each device (SPEC section 2).

Pure values plus lossless conversion to/from the JSON snapshot document
(`schemas/snapshot.schema.json`). Reading and writing files is the caller's job.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.model import ContextMode, DeviceState, ImageType, Mode, Role

SNAPSHOT_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class Disk:
    name: str  # "disk0", "disk1"
    size: int
    free: int
    files: tuple[FileEntry, ...] = ()

    def has(self, filename: str) -> bool:
        return any(f.name == filename for f in self.files)


@dataclass(frozen=True, slots=True)
class Member:
    """One physical unit. Standalone devices have exactly one member named like the device."""

    name: str
    role: Role
    serial: str = ""
    reachable: bool = True
    standby_ready: bool | None = None  # failover only
    ram_mb: int | None = None
    running: Mapping[ImageType, str] = field(default_factory=dict)  # type -> version as shown
    running_files: Mapping[ImageType, str] = field(default_factory=dict)  # type -> file name
    disks: tuple[Disk, ...] = ()
    boot: tuple[str, ...] = ()  # boot system lines, e.g. "disk0:/asa941-smp-k8.bin"
    asdm_image: str | None = None
    unit_id: int | None = None
    ccl_ip: str | None = None
    ccl_mac: str | None = None
    site_id: int | None = None
    failover_groups_active: tuple[int, ...] = ()  # active/active: groups active on this unit

    def disk(self, name: str) -> Disk | None:
        return next((d for d in self.disks if d.name == name), None)


@dataclass(frozen=True, slots=True)
class ObservedDevice:
    name: str
    model: str
    platform: str
    mode: Mode
    context_mode: ContextMode = ContextMode.SINGLE
    contexts: tuple[str, ...] = ()
    state: DeviceState = DeviceState.OPERATIONAL
    pending_config_changes: bool = False
    config_register: str = "0x1"
    running: Mapping[ImageType, str] = field(default_factory=dict)
    members: tuple[Member, ...] = ()
    driver: str = "asa"
    appliance_mode: bool | None = None  # Firepower 1000/2000
    context: str | None = None  # set when this device is a user context of a multiple-context unit

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def by_role(self, role: Role) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.role == role)


@dataclass(frozen=True, slots=True)
class DiscoveryError:
    device: str
    code: str
    message: str
    temporary: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    devices: Mapping[str, ObservedDevice]
    errors: Mapping[str, DiscoveryError] = field(default_factory=dict)
    taken_at: str = ""  # ISO-8601 UTC
    format_version: int = SNAPSHOT_FORMAT_VERSION


# ---------------------------------------------------------------- JSON conversion


def _images(d: Mapping[ImageType, str]) -> dict[str, str]:
    return {str(k): v for k, v in sorted(d.items())}


def member_to_dict(m: Member) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "role": str(m.role),
        "serial": m.serial,
        "reachable": m.reachable,
        "standby_ready": m.standby_ready,
        "ram_mb": m.ram_mb,
        "running": _images(m.running),
        "running_files": _images(m.running_files),
        "disks": [
            {"name": d.name, "size": d.size, "free": d.free,
             "files": [{"name": f.name, "size": f.size} for f in d.files]}
            for d in m.disks
        ],
        "boot": list(m.boot),
        "asdm_image": m.asdm_image,
    }
    for key in ("unit_id", "ccl_ip", "ccl_mac", "site_id"):
        if getattr(m, key) is not None:
            out[key] = getattr(m, key)
    if m.failover_groups_active:
        out["failover_groups_active"] = list(m.failover_groups_active)
    return out


_NO_IMAGES: dict[ImageType, str] = {}


class _Builder:
    """Builds observed values from snapshot dicts, sharing equal parts.

    Across a fleet most units hold the same few file lists, disks, boot lines and version maps,
    so each distinct one is built once and shared (the values are frozen; the version maps are
    plain dicts that nothing mutates). At 100,000 devices this makes reading a snapshot about
    twice as fast and saves a third of its memory.
    """

    __slots__ = ("files", "disks", "images", "tuples")

    def __init__(self) -> None:
        self.files: dict[tuple[Any, Any], FileEntry] = {}
        self.disks: dict[tuple[Any, ...], tuple[Disk, ...]] = {}
        self.images: dict[tuple[tuple[Any, Any], ...], dict[ImageType, str]] = {}
        self.tuples: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def image_map(self, d: Mapping[str, str] | None) -> Mapping[ImageType, str]:
        if not d:
            return _NO_IMAGES  # one shared object, so the planner's memo keys match too
        key = tuple(d.items())
        out = self.images.get(key)
        if out is None:
            out = self.images[key] = {_enum(_IMAGE_TYPES, ImageType, k): v for k, v in key}
        return out

    def shared(self, items: Any) -> tuple[Any, ...]:
        t = tuple(items)
        return self.tuples.setdefault(t, t)

    def disk_list(self, disks: Any) -> tuple[Disk, ...]:
        # keyed by plain tuples of the values: hashing the frozen dataclasses would cost more
        key = tuple((x["name"], x["size"], x["free"], tuple(map(_NAME_SIZE, x.get("files", ()))))
                    for x in disks)
        out = self.disks.get(key)
        if out is None:
            out = self.disks[key] = tuple(
                Disk(name, size, free, tuple(self._file(f) for f in files))
                for name, size, free, files in key)
        return out

    def _file(self, key: tuple[Any, Any]) -> FileEntry:
        fe = self.files.get(key)
        if fe is None:
            fe = self.files[key] = FileEntry(*key)
        return fe

    def member(self, d: Mapping[str, Any]) -> Member:
        get = d.get
        return Member(
            d["name"], _enum(_ROLES, Role, d["role"]), get("serial", ""), get("reachable", True),
            get("standby_ready"), get("ram_mb"), self.image_map(get("running")),
            self.image_map(get("running_files")),
            self.disk_list(get("disks", ())), self.shared(get("boot", ())),
            get("asdm_image"), get("unit_id"), get("ccl_ip"), get("ccl_mac"), get("site_id"),
            tuple(get("failover_groups_active", ())),
        )

    def device(self, d: Mapping[str, Any]) -> ObservedDevice:
        get = d.get
        return ObservedDevice(
            name=d["name"],
            driver=get("driver", "asa"),
            model=d["model"],
            platform=d["platform"],
            mode=_enum(_MODES, Mode, d["mode"]),
            context_mode=_enum(_CONTEXT_MODES, ContextMode, get("context_mode", "single")),
            contexts=tuple(get("contexts", ())),
            state=_enum(_STATES, DeviceState, get("state", "operational")),
            pending_config_changes=get("pending_config_changes", False),
            config_register=get("config_register", "0x1"),
            running=self.image_map(get("running")),
            members=tuple(self.member(m) for m in get("members", ())),
            appliance_mode=get("appliance_mode"),
            context=get("context"),
        )


_NAME_SIZE = operator.itemgetter("name", "size")
_IMAGE_TYPES = {t.value: t for t in ImageType}
_ROLES = {r.value: r for r in Role}
_MODES = {m.value: m for m in Mode}
_CONTEXT_MODES = {m.value: m for m in ContextMode}
_STATES = {m.value: m for m in DeviceState}


def _enum(table: Mapping[Any, Any], cls: Any, value: Any) -> Any:
    found = table.get(value)
    return found if found is not None else cls(value)  # the enum's own error for bad values


def member_from_dict(d: Mapping[str, Any]) -> Member:
    return _Builder().member(d)


def device_to_dict(dev: ObservedDevice) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": dev.name,
        "driver": dev.driver,
        "model": dev.model,
        "platform": dev.platform,
        "mode": str(dev.mode),
        "context_mode": str(dev.context_mode),
        "contexts": list(dev.contexts),
        "state": str(dev.state),
        "pending_config_changes": dev.pending_config_changes,
        "config_register": dev.config_register,
        "running": _images(dev.running),
        "members": [member_to_dict(m) for m in dev.members],
    }
    if dev.appliance_mode is not None:
        out["appliance_mode"] = dev.appliance_mode
    if dev.context is not None:
        out["context"] = dev.context
    return out


def device_from_dict(d: Mapping[str, Any]) -> ObservedDevice:
    return _Builder().device(d)


def snapshot_to_dict(s: Snapshot) -> dict[str, Any]:
    return {
        "format_version": s.format_version,
        "taken_at": s.taken_at,
        "devices": [device_to_dict(s.devices[n]) for n in sorted(s.devices)],
        "errors": [
            {"device": e.device, "code": e.code, "message": e.message, "temporary": e.temporary}
            for _, e in sorted(s.errors.items())
        ],
    }


def snapshot_from_dict(d: Mapping[str, Any]) -> Snapshot:
    build = _Builder().device
    devices = {x["name"]: build(x) for x in d.get("devices", ())}
    errors = {
        x["device"]: DiscoveryError(x["device"], x["code"], x["message"], x.get("temporary", False))
        for x in d.get("errors", ())
    }
    return Snapshot(devices=devices, errors=errors, taken_at=d.get("taken_at", ""),
                    format_version=d.get("format_version", SNAPSHOT_FORMAT_VERSION))
