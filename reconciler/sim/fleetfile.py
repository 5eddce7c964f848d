"""The simulated fleet file: YAML in, `SimFleetSpec` out (and back, for `--write-fleet`).

The file is validated against `schemas/simfleet.schema.json` and then checked for what a schema
cannot say (every running image exists on its member's disks and boots on the model, roles fit
the mode, files fit their disks). Every error names the file, the line and the device/member.
The format is documented in docs/simulator.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.model import ContextMode, ImageType, Mode
from reconciler.errors import ConfigError, Location
from reconciler.loader.schema import compiled
from reconciler.loader.yamlio import line_of_path, parse_yaml
from reconciler.sim.content import synthetic
from reconciler.sim.faults import Fault, FaultKind, Faults, FaultSpecError
from reconciler.sim.imagefiles import ImageFileInfo, boots_on
from reconciler.sim.model import (
    DEFAULT_MTIME,
    Config,
    SimAgent,
    SimAsa,
    SimDevice,
    SimDisk,
    SimFile,
    SimError,
    Timings,
    Unit,
    UnitState,
    split_path,
)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
          "KB": 1000, "MB": 1000**2, "GB": 1000**3}


@dataclass
class SimAuth:
    username: str = "admin"
    password: str | None = None  # reference, e.g. env:RECONCILER_FW_PASSWORD
    token: str | None = None


@dataclass
class SimFleetSpec:
    devices: dict[str, SimDevice]
    auth: SimAuth = field(default_factory=SimAuth)
    source: str = "<memory>"


def parse_size(value: int | str) -> int:
    if isinstance(value, int):
        return value
    m = _SIZE.match(value)
    if not m:
        raise ValueError(f"not a size: {value!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


# ---------------------------------------------------------------- reading


def load_fleet_file(path: str | Path) -> SimFleetSpec:
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the fleet file: {e.strerror}", location=Location(str(p)),
                          hint="pass an existing file to --fleet, or omit --fleet to simulate the "
                               "example twin of inventory/") from None
    doc = parse_yaml(text, str(p))
    blocking = [f for f in doc.findings if f.blocking]
    if doc.data is None or blocking:
        f = (blocking or doc.findings)[0]
        raise ConfigError(f.message, code=str(f.code), location=f.location)
    return fleet_from_dict(doc.data, source=str(p))


def fleet_from_dict(doc: Any, *, source: str = "<memory>") -> SimFleetSpec:
    """Validate a fleet document (from YAML with line numbers, or built in code) and build it."""
    if not isinstance(doc, dict):
        raise ConfigError("a fleet file is a mapping with a `devices:` list", location=Location(source, 1))
    errors = compiled("simfleet").errors(doc)
    if errors:
        e = errors[0]
        where = "/".join(map(str, e.path)) or "(top level)"
        raise ConfigError(f"{where}: {e.message}", code="SCHEMA", location=Location(source, line_of_path(doc, e.path)),
                          hint="schemas/simfleet.schema.json documents every field")
    default_timings = Timings(**doc.get("timings", {}))
    devices: dict[str, SimDevice] = {}
    for i, d in enumerate(doc["devices"]):
        loc = Location(source, getattr(d, "line", None))
        if d["name"] in devices:
            raise ConfigError(f"device {d['name']} is defined twice", code="DUPLICATE_NAME", location=loc)
        try:
            timings = Timings(**{**default_timings.__dict__, **d.get("timings", {})})
            devices[d["name"]] = (_asa(d, timings) if d["driver"] == "asa" else _agent(d, timings))
        except (ValueError, SimError, FaultSpecError) as e:
            raise ConfigError(str(e), device=d["name"], location=loc) from None
    a = doc.get("auth", {})
    auth = SimAuth(username=a.get("username", "admin"), password=a.get("password"), token=a.get("token"))
    return SimFleetSpec(devices=devices, auth=auth, source=source)


# ---------------------------------------------------------------- building devices


def _file(f: Mapping[str, Any]) -> SimFile:
    info = None
    if f.get("type"):
        if not f.get("version"):
            raise ValueError(f"file {f['name']}: `type` needs `version`")
        info = ImageFileInfo(ImageType(f["type"]), f["version"],
                             "smp" if "smp" in f["name"] else "")
    mtime = DEFAULT_MTIME
    if f.get("mtime"):
        mtime = datetime.fromisoformat(str(f["mtime"]).replace("Z", "+00:00"))
        if mtime.tzinfo is None:
            mtime = mtime.replace(tzinfo=UTC)
    return SimFile(f["name"], synthetic(f.get("seed", f["name"]), parse_size(f["size"])), mtime,
                   f.get("valid", True), info)


def _disk(d: Mapping[str, Any], owner: str) -> SimDisk:
    disk = SimDisk(d["name"], parse_size(d["size"]), parse_size(d.get("reserved", 0)),
                   dirs=list(d.get("dirs", [])))
    for f in d.get("files", []):
        if f["name"] in disk.files:
            raise ValueError(f"{owner} {d['name']}: file {f['name']} is listed twice")
        disk.files[f["name"]] = _file(f)
    if disk.used > disk.size:
        raise ValueError(f"{owner} {d['name']}: files and reserved space ({disk.used} bytes) exceed "
                         f"the disk size ({disk.size} bytes)")
    return disk


def _config(c: Mapping[str, Any] | None) -> Config:
    c = c or {}
    return Config(boot=list(c.get("boot", [])), asdm=c.get("asdm"),
                  anyconnect=list(c.get("anyconnect", [])), csd=c.get("csd"), hostscan=c.get("hostscan"))


_ROLES = {
    Mode.STANDALONE: ({"standalone"}, 1, 1),
    Mode.ACTIVE_STANDBY: ({"active", "standby"}, 2, 2),
    Mode.ACTIVE_ACTIVE: ({"active", "standby"}, 2, 2),
    Mode.CLUSTER: ({"control", "data"}, 1, 16),
}


def _asa(d: Mapping[str, Any], timings: Timings) -> SimAsa:
    mode = Mode(d.get("mode", "standalone"))
    roles, lo, hi = _ROLES[mode]
    members = d["members"]
    if not lo <= len(members) <= hi:
        raise ValueError(f"mode {mode} needs {lo}{'' if lo == hi else f'-{hi}'} member(s), "
                         f"the file lists {len(members)}")
    faults = Faults([Fault.from_dict(dict(f)) for f in d.get("faults", [])])
    units: list[Unit] = []
    for i, m in enumerate(members):
        role = m.get("role", "standalone" if mode is Mode.STANDALONE else
                     ("active" if i == 0 else "standby") if mode is not Mode.CLUSTER else
                     ("control" if i == 0 else "data"))
        if role not in roles:
            raise ValueError(f"member {m['name']}: role {role} does not fit mode {mode} "
                             f"(use {', '.join(sorted(roles))})")
        disks = {x["name"]: _disk(x, f"member {m['name']} disk") for x in m["disks"]}
        u = Unit(name=m["name"], serial=m.get("serial", f"SIM{abs(hash(m['name'])) % 10**8:08d}"),
                 ram_mb=m.get("ram_mb", 4096), disks=disks, running_image=m["running"],
                 running_version="", booted_at=-float(m.get("uptime_seconds", 45 * 86400)))
        if mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
            u.failover_id = m.get("failover_unit", "primary" if i == 0 else "secondary")
            u.active = role == "active" and mode is Mode.ACTIVE_STANDBY
            if mode is Mode.ACTIVE_ACTIVE:
                u.groups = set(m.get("failover_groups", [1] if role == "active" else [2]))
            u.ready = role == "active" or m.get("standby_ready", True)
            if not u.ready:
                u.not_ready_reason = "configuration synchronisation did not complete"
        if mode is Mode.CLUSTER:
            u.control = role == "control"
            u.unit_id = m.get("unit_id", i)
            u.site_id = m.get("site_id", 1)
            u.ccl_ip = m.get("ccl_ip", f"10.255.0.{i + 1}")
            u.ccl_mac = m.get("ccl_mac", f"0050.56a1.{i + 1:04x}")
            u.last_join = u.booted_at
        units.append(u)
    _check_roles(mode, units)
    running = _config(d.get("config"))
    dev = SimAsa(
        name=d["name"], model=d["model"], hostname=d.get("hostname", d["name"]), mode=mode,
        units=units, running=running,
        startup=_config(d["saved_config"]) if "saved_config" in d else running.copy(),
        context_mode=ContextMode(d.get("context_mode", "single")),
        contexts=list(d.get("contexts", [])), register=d.get("config_register", "0x1").lower(),
        pending_sessions=list(d.get("pending_changes", [])), timings=timings, faults=faults,
        cluster_name=d.get("cluster_name", d["name"] if mode is Mode.CLUSTER else ""),
        appliance_mode=d.get("appliance_mode"), strict_ha_versions=d.get("strict_ha_versions", True),
    )
    if dev.context_mode is ContextMode.MULTIPLE and not dev.contexts:
        dev.contexts = ["admin"]
    if dev.family == "unknown":
        raise ValueError(f"model {dev.model} is not a platform the simulator knows")
    for u in units:
        _check_running(dev, u)
        if faults.peek(FaultKind.STANDBY_NOT_READY, u.name) and not dev.is_active(u) and not u.control:
            u.ready = False
            u.not_ready_reason = "configuration synchronisation did not complete"
    return dev


def _check_roles(mode: Mode, units: list[Unit]) -> None:
    if mode is Mode.ACTIVE_STANDBY and sum(u.active for u in units) != 1:
        raise ValueError("an active/standby pair needs exactly one active member")
    if mode is Mode.ACTIVE_ACTIVE:
        owned = sorted(g for u in units for g in u.groups)
        if owned != [1, 2]:
            raise ValueError("an active/active pair must hold failover groups 1 and 2 exactly once "
                             "between its members (failover_groups)")
    if mode is Mode.CLUSTER and sum(u.control for u in units) != 1:
        raise ValueError("a cluster needs exactly one control member")
    if mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE) and len({u.failover_id for u in units}) != 2:
        raise ValueError("failover members must be one primary and one secondary")
    if len({u.name for u in units}) != len(units):
        raise ValueError("member names must be unique")


def _check_running(dev: SimAsa, u: Unit) -> None:
    path = u.running_image or ""
    disk_name, _ = split_path(path)
    f = dev.file_at(u, path)
    if f is None:
        raise ValueError(f"member {u.name}: running image {path} is not on its {disk_name} "
                         "(every running image must exist on the member's disks)")
    info = f.image
    if info is None or info.type is not ImageType.ASA:
        raise ValueError(f"member {u.name}: {path} is not a system image (name it like "
                         "asa941-smp-k8.bin or give `type: asa` and `version`)")
    if not boots_on(dev.family, info):
        raise ValueError(f"member {u.name}: {path} does not run on {dev.model} ({dev.family})")
    u.running_version = info.version
    u.state = UnitState.UP


def _agent(d: Mapping[str, Any], timings: Timings) -> SimAgent:
    disk = _disk(d.get("disk", {"name": "packages", "size": "512MiB"}), f"agent {d['name']} disk")
    return SimAgent(
        name=d["name"], platform=d["platform"], hostname=d.get("hostname", d["name"].upper()),
        version=d["agent_version"], disk=disk, serial=d.get("serial", ""),
        os_name=d.get("os", {"windows": "Windows 10 IoT Enterprise", "linux": "Ubuntu 22.04 LTS",
                             "macos": "macOS 14"}[d["platform"]]),
        ram_mb=d.get("ram_mb", 4096), timings=timings,
        faults=Faults([Fault.from_dict(dict(f)) for f in d.get("faults", [])]),
    )


# ---------------------------------------------------------------- writing


def _file_dict(f: SimFile) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "size": f.size}
    seed = getattr(f.content, "seed", None)
    if seed and seed != f.name:
        out["seed"] = seed
    if f.mtime != DEFAULT_MTIME:
        out["mtime"] = f.mtime.isoformat().replace("+00:00", "Z")
    if not f.valid:
        out["valid"] = False
    if f.info is not None:
        out.update(type=str(f.info.type), version=f.info.version)
    return out


def _disk_dict(d: SimDisk) -> dict[str, Any]:
    out: dict[str, Any] = {"name": d.name, "size": d.size}
    if d.reserved:
        out["reserved"] = d.reserved
    if d.dirs:
        out["dirs"] = list(d.dirs)
    out["files"] = [_file_dict(f) for f in d.files.values()]
    return out


def _config_dict(c: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"boot": list(c.boot)}
    for k in ("asdm", "csd", "hostscan"):
        if getattr(c, k):
            out[k] = getattr(c, k)
    if c.anyconnect:
        out["anyconnect"] = list(c.anyconnect)
    return out


def fleet_to_dict(spec: SimFleetSpec) -> dict[str, Any]:
    devices = []
    for dev in spec.devices.values():
        if isinstance(dev, SimAgent):
            devices.append({"name": dev.name, "driver": "agent", "platform": dev.platform,
                            "hostname": dev.hostname, "os": dev.os_name, "serial": dev.serial,
                            "ram_mb": dev.ram_mb, "agent_version": dev.version,
                            "disk": _disk_dict(dev.disk), "faults": dev.faults.to_list()})
            continue
        members = []
        for u in dev.units:
            m: dict[str, Any] = {"name": u.name, "role": _role(dev, u), "serial": u.serial,
                                 "ram_mb": u.ram_mb, "running": u.running_image}
            if u.failover_id:
                m["failover_unit"] = u.failover_id
                if not u.ready and not dev.is_active(u):
                    m["standby_ready"] = False
            if dev.mode is Mode.ACTIVE_ACTIVE:
                m["failover_groups"] = sorted(u.groups)
            if dev.mode is Mode.CLUSTER:
                m.update(unit_id=u.unit_id, site_id=u.site_id, ccl_ip=u.ccl_ip, ccl_mac=u.ccl_mac)
            m["disks"] = [_disk_dict(d) for d in u.disks.values()]
            members.append(m)
        out: dict[str, Any] = {
            "name": dev.name, "driver": "asa", "model": dev.model, "hostname": dev.hostname,
            "mode": str(dev.mode), "context_mode": str(dev.context_mode),
        }
        if dev.contexts:
            out["contexts"] = list(dev.contexts)
        out["config_register"] = dev.register
        if dev.pending_sessions:
            out["pending_changes"] = list(dev.pending_sessions)
        if dev.appliance_mode is not None:
            out["appliance_mode"] = dev.appliance_mode
        out["config"] = _config_dict(dev.running)
        if dev.startup != dev.running:
            out["saved_config"] = _config_dict(dev.startup)
        out["members"] = members
        if dev.faults.items:
            out["faults"] = dev.faults.to_list()
        devices.append(out)
    auth: dict[str, Any] = {"username": spec.auth.username}
    if spec.auth.password:
        auth["password"] = spec.auth.password
    if spec.auth.token:
        auth["token"] = spec.auth.token
    return {"version": 1, "auth": auth, "devices": devices}


def _role(dev: SimAsa, u: Unit) -> str:
    if dev.mode is Mode.STANDALONE:
        return "standalone"
    if dev.mode is Mode.CLUSTER:
        return "control" if u.control else "data"
    return "active" if dev.is_active(u) else "standby"


def dump_fleet(spec: SimFleetSpec) -> str:
    header = ("# Simulated fleet for `reconciler simulate --fleet FILE` (format: docs/simulator.md,\n"
              "# schema: schemas/simfleet.schema.json). Durations are simulated seconds.\n")
    return header + yaml.safe_dump(fleet_to_dict(spec), sort_keys=False, width=100)
