"""The simulated twin of a repository's inventory: one simulated device per inventory device.

`twin_fleet(inventory, images)` builds a fleet document (the `--fleet` format) in which every
device of the inventory exists at its address, with the model, mode and platform the inventory
names, running images one or more releases behind the newest the catalog holds for it, and disks
sized for the catalog's (small, synthetic) images. For the bundled example fleet the devices are
shaped to show what a plan has to deal with:

- fw-branch-01/02: 5506-X/5516-X on 9.3(3)/9.4(1) with ASDM 7.4(1)
- fw-branch-03: a nearly full 64 MiB disk0 (a packet capture fills it), so the plan shows DISK_SPACE
- fw-dc-pair: a 5585 active/standby pair on 9.1(6), so reaching 9.4(1) hops via 9.2(3) and 9.3(3)
- fw-aa-pair: a 5545-X active/active pair (multiple context, groups 1 and 2 split)
- fw-dc-cluster: four 5585 units on 9.3(3) over two sites, each with disk0 and disk1
- fw-multi-01: a 5555-X in multiple-context mode with contexts admin, ctx-a, ctx-b
- fw-fpr-01: a Firepower 2110 in appliance mode on 9.14(1)
- fw-legacy-01: an ASA 5520 on 8.4(6)
- agents: every endpoint on agent 7.3.1.2048

Every running image exists on its member's disks. The result validates against
`schemas/simfleet.schema.json` like any hand-written fleet file.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.contract import Severity
from reconciler.core.model import DriverKind, Image, ImageType, InventoryDevice, Mode
from reconciler.core.platforms import Platform, platform_of
from reconciler.core.versions import AgentVersion, AsaVersion, VersionError
from reconciler.errors import ConfigError
from reconciler.sim.fleetfile import SimFleetSpec, fleet_from_dict

MiB = 1 << 20


@dataclass(frozen=True)
class Shape:
    """How a device of the twin looks; the defaults apply to devices without a curated shape."""

    version: str | None = None  # running system version; None: one release behind the newest
    asdm: str | None = "7.4(1)"
    units: int | None = None  # None: 1, 2 for pairs, 4 for clusters
    disk0_mib: int = 128
    disk1_mib: int | None = None
    free_mib: float | None = None  # fill disk0 with a capture file until this much is free
    contexts: tuple[str, ...] = ()
    ram_mb: int = 4096
    vpn: bool = False  # older AnyConnect/CSD/Hostscan packages on disk and configured
    appliance_mode: bool | None = None
    sites: tuple[int, ...] = ()
    agent_version: str = "7.3.1.2048"
    extra_files: tuple[tuple[str, int], ...] = field(default=())


SHAPES: dict[str, Shape] = {
    "fw-branch-01": Shape(version="9.3(3)", ram_mb=4096),
    "fw-branch-02": Shape(version="9.4(1)", ram_mb=8192),
    "fw-branch-03": Shape(version="9.3(3)", disk0_mib=64, free_mib=3, ram_mb=4096),
    "fw-dc-pair": Shape(version="9.1(6)", disk0_mib=256, ram_mb=12288, vpn=True),
    "fw-aa-pair": Shape(version="9.3(3)", disk0_mib=256, ram_mb=8192, contexts=("admin", "ctx-1", "ctx-2")),
    "fw-dc-cluster": Shape(version="9.3(3)", units=4, disk0_mib=128, disk1_mib=256, ram_mb=24576,
                           vpn=True, sites=(1, 1, 2, 2)),
    "fw-multi-01": Shape(version="9.2(3)", disk0_mib=256, ram_mb=16384, vpn=True,
                         contexts=("admin", "ctx-a", "ctx-b")),
    "fw-fpr-01": Shape(version="9.14(1)", asdm="7.14(1)", disk0_mib=256, ram_mb=16384, appliance_mode=True),
    "fw-legacy-01": Shape(version="8.4(6)", asdm="6.4(5)", disk0_mib=128, ram_mb=2048),
}

_BUILD = {"asa5506x": "lfbff", "asa5500": "", "asav": "asav", "fpr2100": "fp2k", "fpr1000": "fp1k"}
_SYNTH_SIZE = {"fp2k": 9 * MiB, "fp1k": 9 * MiB, "lfbff": 7 * MiB, "asav": 8 * MiB}


def _digits(v: AsaVersion) -> str:
    if v.minor >= 10 or v.maintenance >= 10:
        return f"{v.major}-{v.minor}-{v.maintenance}" + (f"-{v.interim}" if v.interim else "")
    return f"{v.major}{v.minor}{v.maintenance}" + (f"-{v.interim}" if v.interim else "")


def system_image_name(family: str, version: str) -> str:
    """Cisco's file name for a system image of `version` on `family`."""
    v = AsaVersion.parse(version)
    build = _BUILD.get(family, "smp")
    if build in ("fp2k", "fp1k"):
        return f"cisco-asa-{build}.{v.major}.{v.minor}.{v.maintenance}" + (f".{v.interim}" if v.interim else "") + ".SPA"
    if build == "asav":
        return f"asav{_digits(v)}.qcow2"
    if build == "lfbff":
        return f"asa{_digits(v)}-lfbff-k8.SPA"
    return f"asa{_digits(v)}{'-smp' if build == 'smp' else ''}-k8.bin"


def _catalog_system(images: Mapping[str, Image], family: str, smp_preferred: bool) -> list[Image]:
    out = [i for i in images.values() if i.type is ImageType.ASA and family in i.platforms]
    if smp_preferred and any(i.smp for i in out):
        out = [i for i in out if i.smp or i.smp is None]
    return sorted(out, key=lambda i: AsaVersion.parse(i.version))


def _file(images: Mapping[str, Image], name: str, default_size: int) -> dict[str, Any]:
    img = images.get(name)
    return {"name": name, "size": img.size if img else default_size}


def _serial(name: str, i: int, prefix: str) -> str:
    h = zlib.crc32(f"{name}/{i}".encode())
    return f"{prefix}{h % 10000:04d}{chr(65 + h // 10000 % 26)}{chr(65 + h // 260000 % 26)}{h // 6760000 % 10}"


def _asa_device(dev: InventoryDevice, plat: Platform, images: Mapping[str, Image]) -> dict[str, Any]:
    shape = SHAPES.get(dev.name, Shape())
    catalog = _catalog_system(images, plat.family, plat.smp_preferred)
    if shape.version is not None:
        version = shape.version
    elif len(catalog) >= 2:
        version = catalog[-2].version
    elif catalog:
        version = catalog[0].version
    else:
        version = "9.1(6)"
    running = next((i.name for i in catalog if AsaVersion.parse(i.version) == AsaVersion.parse(version)),
                   system_image_name(plat.family, version))
    older = [i for i in catalog if AsaVersion.parse(i.version) < AsaVersion.parse(version)]
    previous = older[-1].name if older else None
    synth = _SYNTH_SIZE.get(_BUILD.get(plat.family, "smp"), 5 * MiB)
    mode = dev.mode or Mode.STANDALONE
    n_units = shape.units or {Mode.STANDALONE: 1, Mode.CLUSTER: 4}.get(mode, 2)

    files = [_file(images, running, synth)]
    if previous:
        files.append(_file(images, previous, synth))
    asdm_path = None
    if shape.asdm:
        asdm_name = f"asdm-{_digits(AsaVersion.parse(shape.asdm)).replace('-', '')}.bin"
        files.append(_file(images, asdm_name, int(2.5 * MiB)))
        asdm_path = f"disk0:/{asdm_name}"
    config: dict[str, Any] = {"boot": [f"disk0:/{running}"]}
    if asdm_path:
        config["asdm"] = asdm_path
    dirs = ["log", "crypto_archive", "coredumpinfo"]
    if shape.vpn:
        vpn = [("anyconnect-win-4.9.06037-webdeploy-k9.pkg", int(3.25 * MiB)),
               ("csd_3.6.6228-k9.pkg", int(1.5 * MiB)), ("hostscan_4.9.06037-k9.pkg", int(1.75 * MiB))]
        files += [{"name": n, "size": s} for n, s in vpn]
        config.update(anyconnect=[f"disk0:/{vpn[0][0]}"], csd=f"disk0:/{vpn[1][0]}", hostscan=f"disk0:/{vpn[2][0]}")
        dirs.append("sdesktop")
    files += [{"name": n, "size": s} for n, s in shape.extra_files]
    files.append({"name": "FSCK0000.REC", "size": 16384})
    reserved = 2 * MiB
    if shape.free_mib is not None:
        used = reserved + sum(f["size"] for f in files)
        fill = shape.disk0_mib * MiB - used - int(shape.free_mib * MiB)
        if fill > 0:
            files.append({"name": "capture-outside-20240304.pcap", "size": fill})

    members = []
    for i in range(n_units):
        disks = [{"name": "disk0", "size": shape.disk0_mib * MiB, "reserved": reserved, "dirs": dirs,
                  "files": [dict(f) for f in files]}]
        if shape.disk1_mib:
            disks.append({"name": "disk1", "size": shape.disk1_mib * MiB, "reserved": MiB, "files": []})
        m: dict[str, Any] = {"serial": _serial(dev.name, i, "JAD" if plat.family != "fpr2100" else "JMX"),
                             "ram_mb": shape.ram_mb, "running": f"disk0:/{running}", "disks": disks}
        if mode is Mode.STANDALONE:
            m = {"name": dev.name, "role": "standalone", **m}
        elif mode is Mode.CLUSTER:
            m = {"name": f"unit-{i + 1}", "role": "control" if i == 0 else "data", **m,
                 "unit_id": i, "site_id": shape.sites[i] if i < len(shape.sites) else 1,
                 "ccl_ip": f"10.254.0.{i + 1}", "ccl_mac": f"0050.56b4.{i + 1:04x}"}
        else:
            m = {"name": "primary" if i == 0 else "secondary", "role": "active" if i == 0 else "standby", **m,
                 "failover_unit": "primary" if i == 0 else "secondary"}
            if mode is Mode.ACTIVE_ACTIVE:
                m["failover_groups"] = [i + 1]
        members.append(m)

    out: dict[str, Any] = {"name": dev.name, "driver": "asa", "model": dev.model or "ASA5516-X",
                           "hostname": dev.name, "mode": str(mode)}
    if shape.contexts or mode is Mode.ACTIVE_ACTIVE:
        out["context_mode"] = "multiple"
        out["contexts"] = list(shape.contexts or ("admin", "ctx-1", "ctx-2"))
    out["config_register"] = "0x1"
    if shape.appliance_mode is not None or plat.appliance_mode_required:
        out["appliance_mode"] = True if shape.appliance_mode is None else shape.appliance_mode
    out["config"] = config
    out["members"] = members
    return out


def _agent_device(dev: InventoryDevice, images: Mapping[str, Image]) -> dict[str, Any]:
    shape = SHAPES.get(dev.name, Shape())
    platform = (dev.platform or "windows").lower()
    candidates = sorted((i for i in images.values() if i.type is ImageType.AGENT and platform in i.platforms),
                        key=lambda i: AgentVersion.parse(i.version))
    version = shape.agent_version
    try:
        if candidates and AgentVersion.parse(version) > AgentVersion.parse(candidates[-1].version):
            version = candidates[0].version
    except VersionError:
        version = candidates[0].version if candidates else "7.3.1.2048"
    ext = {"windows": "x64.msi", "linux": "x86_64.rpm", "macos": "universal.pkg"}.get(platform, "x64.msi")
    pkg = f"agent-{version}-{ext}"
    return {
        "name": dev.name, "driver": "agent", "platform": platform, "hostname": dev.name.upper(),
        "serial": _serial(dev.name, 0, "VXC"), "ram_mb": 4096, "agent_version": version,
        "disk": {"name": "packages", "size": 256 * MiB, "files": [_file(images, pkg, MiB)]},
    }


def twin_fleet(inventory: Sequence[InventoryDevice] | Mapping[str, InventoryDevice],
               images: Mapping[str, Image]) -> tuple[dict[str, Any], list[str]]:
    """The fleet document for `inventory` and the names of devices that could not be simulated."""
    devs = list(inventory.values()) if isinstance(inventory, Mapping) else list(inventory)
    devices: list[dict[str, Any]] = []
    skipped: list[str] = []
    password = token = None
    username = "admin"
    for dev in devs:
        c = dev.credentials
        if c is not None:
            username = c.username or username
            password = password or (str(c.password) if c.password else None)
            token = token or (str(c.token) if c.token else None)
        if dev.driver is DriverKind.AGENT:
            devices.append(_agent_device(dev, images))
            continue
        plat = platform_of(dev.model or "")
        if not isinstance(plat, Platform) or plat.agent:
            skipped.append(f"{dev.name} (model {dev.model!r}: {getattr(plat, 'reason', 'not an ASA model')})")
            continue
        devices.append(_asa_device(dev, plat, images))
    auth: dict[str, Any] = {"username": username}
    if password:
        auth["password"] = password
    if token:
        auth["token"] = token
    doc = {"version": 1, "auth": auth,
           "timings": {"reload_seconds": 420, "ready_seconds": 60, "install_seconds": 120},
           "devices": devices}
    return doc, skipped


def load_twin(repo: Path | str) -> tuple[SimFleetSpec, list[str]]:
    """The simulated twin of `repo`'s inventory, with the catalog's images."""
    from reconciler.loader import DirectorySource, load_desired

    desired, findings = load_desired(DirectorySource(repo))
    broken = [f for f in findings if f.severity is Severity.ERROR and f.location
              and str(f.location.file).startswith("inventory/")]
    if broken or not desired.inventory:
        detail = "; ".join(f.line() for f in broken[:5]) or "no devices in inventory/"
        raise ConfigError(f"cannot build the simulated twin of {repo}: {detail}",
                          hint="fix the inventory (`reconciler validate`) or pass --fleet FILE")
    doc, skipped = twin_fleet(desired.inventory, desired.images)
    return fleet_from_dict(doc, source=f"twin of {repo}/inventory"), skipped
