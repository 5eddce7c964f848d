"""Observed inventory: what discovery found on each device (SPEC section 2).

Pure values plus lossless conversion to/from the JSON snapshot document
(`schemas/snapshot.schema.json`). Reading and writing files is the caller's job.
"""

from __future__ import annotations

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


def member_from_dict(d: Mapping[str, Any]) -> Member:
    return Member(
        name=d["name"],
        role=Role(d["role"]),
        serial=d.get("serial", ""),
        reachable=d.get("reachable", True),
        standby_ready=d.get("standby_ready"),
        ram_mb=d.get("ram_mb"),
        running={ImageType(k): v for k, v in d.get("running", {}).items()},
        running_files={ImageType(k): v for k, v in d.get("running_files", {}).items()},
        disks=tuple(
            Disk(x["name"], x["size"], x["free"],
                 tuple(FileEntry(f["name"], f["size"]) for f in x.get("files", ())))
            for x in d.get("disks", ())
        ),
        boot=tuple(d.get("boot", ())),
        asdm_image=d.get("asdm_image"),
        unit_id=d.get("unit_id"),
        ccl_ip=d.get("ccl_ip"),
        ccl_mac=d.get("ccl_mac"),
        site_id=d.get("site_id"),
        failover_groups_active=tuple(d.get("failover_groups_active", ())),
    )


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
    return ObservedDevice(
        name=d["name"],
        driver=d.get("driver", "asa"),
        model=d["model"],
        platform=d["platform"],
        mode=Mode(d["mode"]),
        context_mode=ContextMode(d.get("context_mode", "single")),
        contexts=tuple(d.get("contexts", ())),
        state=DeviceState(d.get("state", "operational")),
        pending_config_changes=d.get("pending_config_changes", False),
        config_register=d.get("config_register", "0x1"),
        running={ImageType(k): v for k, v in d.get("running", {}).items()},
        members=tuple(member_from_dict(m) for m in d.get("members", ())),
        appliance_mode=d.get("appliance_mode"),
        context=d.get("context"),
    )


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
    devices = {x["name"]: device_from_dict(x) for x in d.get("devices", ())}
    errors = {
        x["device"]: DiscoveryError(x["device"], x["code"], x["message"], x.get("temporary", False))
        for x in d.get("errors", ())
    }
    return Snapshot(devices=devices, errors=errors, taken_at=d.get("taken_at", ""),
                    format_version=d.get("format_version", SNAPSHOT_FORMAT_VERSION))
