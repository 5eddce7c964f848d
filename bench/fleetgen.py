"""A realistic generated fleet for the benchmarks: desired/, inventory/, snapshot.json, simfleet.yaml.

    python bench/fleetgen.py OUT_DIR --devices 10000 [--seed 7] [--sim] [--address-base URL]

or, from Python, `generate_fleet(n, seed, out_dir)`. The fleet is what a large operator would
keep in git, not one policy entry per device:

- devices: 70% standalone units (5506-X/5508-X/5516-X branch boxes, 5525-X..5555-X, ASAv,
  Firepower 1120/2110), 20% active/standby pairs (5545-X, 5555-X, 5585, Firepower 2130, 5516-X),
  8% 5585 clusters of 2-8 units, 2% multiple-context units (standalone, active/standby or
  active/active); spread over sites (about 40 devices each, every 20th site a data centre) in
  ten regions;
- `desired/images.yaml`: the example catalog plus more releases and builds (9.5-9.8 for SMP,
  lfbff and ASAv; 9.14-9.20 for Firepower; ASDM 7.18/7.20), with the true sha256 of the
  synthetic image bytes;
- `desired/fleet.yaml` (defaults and global groups) and `desired/regions.yaml` (four groups per
  region: ASA target, Firepower target, data-centre VPN bundle, maintenance window);
  `desired/devices.yaml`: a few hundred per-device overrides (change-freeze pins, canaries,
  copy-only staging, accepted warnings);
- `snapshot.json`: what discovery would report, consistent with the catalog: each member's
  disks hold its running image (catalog size), the previous release kept as boot fallback, the
  ASDM image, VPN packages where configured (data-centre head-ends are upgraded, a few branch
  pairs keep theirs); boot lines, running files, free space. About half
  the fleet drifts (one or two releases behind, a few far behind, so pairs need hop passes), and
  a realistic sprinkle of problems: pending configuration sessions, nearly full disks, a standby
  that is not ready, a wrong configuration register, too little RAM, unreachable devices;
- with `sim=True`, `simfleet.yaml`: the same fleet in the simulator's fleet-file format
  (docs/simulator.md), so discovering it yields exactly `snapshot.json` (tests check this).

With `converged=True` (`--converged`) every device already runs what the policy wants: the same
devices, policy and problems, as after a completed rollout (the daemon benchmark's fleet).

Everything is deterministic in (n, seed).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciler.core.platforms import Platform, platform_of  # noqa: E402
from reconciler.core.versions import AsaVersion  # noqa: E402
from reconciler.images.synthetic import synthetic_sha256  # noqa: E402
from reconciler.sim.example import system_image_name  # noqa: E402

MiB = 1 << 20
PASSWORD_REF = "env:RECONCILER_FW_PASSWORD"
TAKEN_AT = "2024-05-01T03:00:00Z"

REGIONS = (("jp", "Asia/Tokyo"), ("kr", "Asia/Seoul"), ("sg", "Asia/Singapore"),
           ("au", "Australia/Sydney"), ("in", "Asia/Kolkata"), ("de", "Europe/Berlin"),
           ("uk", "Europe/London"), ("us-east", "America/New_York"),
           ("us-west", "America/Los_Angeles"), ("br", "America/Sao_Paulo"))
# per region (cycled): ASA target, Firepower target, ASDM target
REGION_TARGETS = (("9.8(4)", "9.20(2)", "7.20(1)"), ("9.8(4)", "9.18(4)", "7.18(1)"),
                  ("9.7(1)", "9.18(4)", "7.18(1)"), ("9.8(4)", "9.20(2)", "7.20(1)"),
                  ("9.6(4)", "9.16(3)", "7.18(1)"))

# ASA trains the catalog holds, oldest first, per build flavour
SMP_VERSIONS = ("8.4(6)", "9.0(4)", "9.1(6)", "9.2(3)", "9.3(3)", "9.4(1)", "9.5(3)", "9.6(4)",
                "9.7(1)", "9.8(2)", "9.8(4)")
LFBFF_VERSIONS = ("9.3(3)", "9.4(1)", "9.5(3)", "9.6(4)", "9.7(1)", "9.8(4)")
ASAV_VERSIONS = ("9.4(1)", "9.5(3)", "9.6(4)", "9.7(1)", "9.8(4)")
FPR_VERSIONS = ("9.14(1)", "9.15(1)", "9.16(3)", "9.17(1)", "9.18(4)", "9.19(1)", "9.20(2)")
ASDM_VERSIONS = ("7.4(1)", "7.16(1)", "7.18(1)", "7.20(1)")

VPN_OLD = (("anyconnect-win-4.9.06037-webdeploy-k9.pkg", "anyconnect", "4.9.06037", 3407872),
           ("csd_3.6.6228-k9.pkg", "csd", "3.6.6228", 1572864),
           ("hostscan_4.9.06037-k9.pkg", "hostscan", "4.9.06037", 1835008))
VPN_NEW = (("anyconnect-win-4.10.07073-webdeploy-k9.pkg", "anyconnect", "4.10.07073"),
           ("csd_3.6.6249-k9.pkg", "csd", "3.6.6249"),
           ("hostscan_4.10.07073-k9.pkg", "hostscan", "4.10.07073"))

# (model, weight, ram_mb, disk0 MiB)
STANDALONE_MODELS = (("ASA5506-X", 25, 4096, 256), ("ASA5508-X", 10, 8192, 256),
                     ("ASA5516-X", 12, 8192, 256), ("ASA5525-X", 10, 8192, 512),
                     ("ASA5545-X", 8, 12288, 512), ("ASA5555-X", 5, 16384, 512),
                     ("ASAv30", 10, 8192, 512), ("FPR-1120", 10, 8192, 512),
                     ("FPR-2110", 10, 16384, 512))
PAIR_MODELS = (("ASA5545-X", 25, 12288, 512), ("ASA5555-X", 25, 16384, 512),
               ("ASA5585-SSP-20", 25, 16384, 1024), ("FPR-2130", 15, 32768, 1024),
               ("ASA5516-X", 10, 8192, 256))
CLUSTER_MODELS = (("ASA5585-SSP-40", 60, 24576, 1024), ("ASA5585-SSP-60", 40, 49152, 1024))
MULTI_MODELS = (("ASA5555-X", 50, 16384, 512), ("ASA5585-SSP-20", 50, 16384, 1024))
CLUSTER_UNITS = (2, 2, 2, 3, 4, 4, 4, 5, 6, 8)


# ---------------------------------------------------------------------------- catalog


def _build(family: str) -> str:
    return {"asa5506x": "lfbff", "asav": "asav", "fpr2100": "fp2k", "fpr1000": "fp1k"}.get(family, "smp")


def _image_size(build: str, version: str) -> int:
    v = AsaVersion.parse(version)
    base = {"smp": 4.5, "lfbff": 7.0, "asav": 8.0, "fp2k": 9.0, "fp1k": 8.5}[build]
    growth = max(0, (v.major - 8) * 10 + v.minor - 4) * 0.25
    return int((base + growth) * MiB) // 4096 * 4096


def _asdm_name(version: str) -> str:
    v = AsaVersion.parse(version)
    return f"asdm-{v.major}{v.minor}{v.maintenance}.bin"


@functools.cache
def catalog() -> tuple[dict[str, Any], ...]:
    """The example catalog plus the extra releases, as `images:` entries (true synthetic sha256)."""
    example = yaml.load((ROOT / "desired" / "images.yaml").read_bytes(), Loader=yaml.CSafeLoader)
    images: dict[str, dict[str, Any]] = {i["name"]: i for i in example["images"]}

    def add(name: str, type_: str, version: str, platforms: list[str], size: int,
            smp: bool | None = None, min_ram: int | None = None) -> None:
        if name in images:
            return
        entry: dict[str, Any] = {"name": name, "type": type_, "version": version,
                                 "platforms": platforms}
        if smp is not None:
            entry["smp"] = smp
        entry["size"] = size
        entry["sha256"] = synthetic_sha256(name, size)
        if min_ram:
            entry["min_ram_mb"] = min_ram
        entry["source"] = f"synthetic:{name}"
        images[name] = entry

    for v in SMP_VERSIONS:
        add(system_image_name("asa5585", v), "asa", v, ["asa5500x", "asa5585"],
            _image_size("smp", v), smp=True, min_ram=8192 if AsaVersion.parse(v) >= AsaVersion(9, 5, 0) else 4096)
    for v in LFBFF_VERSIONS:
        add(system_image_name("asa5506x", v), "asa", v, ["asa5506x"], _image_size("lfbff", v),
            min_ram=4096)
    for v in ASAV_VERSIONS:
        add(system_image_name("asav", v), "asa", v, ["asav"], _image_size("asav", v), min_ram=2048)
    for v in FPR_VERSIONS:
        add(system_image_name("fpr2100", v), "asa", v, ["fpr2100"], _image_size("fp2k", v))
        add(system_image_name("fpr1000", v), "asa", v, ["fpr1000"], _image_size("fp1k", v))
    for v in ASDM_VERSIONS:
        fams = ["asa5500x", "asa5585", "asa5506x", "asav", "fpr1000", "fpr2100"]
        add(_asdm_name(v), "asdm", v, fams, int((2.5 + ASDM_VERSIONS.index(v) * 0.25) * MiB))
    return tuple(images.values())


def _system_versions(family: str) -> tuple[str, ...]:
    return {"asa5506x": LFBFF_VERSIONS, "asav": ASAV_VERSIONS, "fpr1000": FPR_VERSIONS,
            "fpr2100": FPR_VERSIONS}.get(family, SMP_VERSIONS)


# ---------------------------------------------------------------------------- the fleet


@dataclass
class Unit:
    name: str
    role: str
    serial: str
    ram_mb: int
    files: list[tuple[str, int]]
    disk0: int
    disk1: int | None = None
    standby_ready: bool | None = None
    groups: tuple[int, ...] = ()
    unit_id: int | None = None
    site_id: int | None = None
    ccl_ip: str | None = None
    ccl_mac: str | None = None


@dataclass
class Device:
    name: str
    model: str
    family: str
    mode: str
    site: str
    region: int
    tags: list[str]
    address: str
    asa: str  # running system version
    system: str  # running system image file name
    previous: str | None
    asdm: str
    vpn: bool
    units: list[Unit] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    register: str = "0x1"
    # (file, type, version, size) of the VPN packages it runs, when `vpn`
    vpn_packages: tuple[tuple[str, str, str, int], ...] = VPN_OLD
    pending: list[str] = field(default_factory=list)
    unreachable: bool = False


RESERVED = 2 * MiB


def _pick(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(table, weights=[t[1] for t in table])[0]


def _serial(name: str, i: int, prefix: str) -> str:
    h = zlib.crc32(f"{name}/{i}".encode())
    return f"{prefix}{h % 10000:04d}{chr(65 + h // 10000 % 26)}{chr(65 + h // 260000 % 26)}{h // 6760000 % 10}"


def _running_version(rng: random.Random, versions: tuple[str, ...], target: str,
                     converged: bool = False) -> str:
    """Running release: in sync about half the time, else one or two trains behind, rarely far
    (`converged`: always the target, drawing the same random numbers)."""
    idx = versions.index(target) if target in versions else len(versions) - 1
    r = rng.random()
    back = 0 if r < 0.5 or converged else 1 if r < 0.82 else 2 if r < 0.97 else 4
    return versions[max(0, idx - back)]


def _sizes() -> dict[str, int]:
    return {i["name"]: i["size"] for i in catalog()}


def _build_devices(n: int, rng: random.Random, address_base: str | None,
                   unreachable_rate: float, converged: bool = False) -> list[Device]:
    sizes = _sizes()
    n_sites = max(4, n // 40)
    sites = []
    for s in range(n_sites):
        region = s % len(REGIONS)
        dc = s % 20 == 0
        sites.append((f"{REGIONS[region][0]}-{'dc' if dc else 's'}{s:04d}", region, dc))
    dc_sites = [s for s in sites if s[2]]
    branch_sites = [s for s in sites if not s[2]] or sites
    devices: list[Device] = []
    per_site: dict[str, int] = {}
    for i in range(n):
        r = rng.random()
        kind = "standalone" if r < 0.70 else "pair" if r < 0.90 else "cluster" if r < 0.98 else "multi"
        if kind == "standalone":
            model, _, ram, disk0 = _pick(rng, STANDALONE_MODELS)
            mode = "standalone"
            site = rng.choice(branch_sites)
        elif kind == "pair":
            model, _, ram, disk0 = _pick(rng, PAIR_MODELS)
            mode = "active-standby"
            site = rng.choice(dc_sites if rng.random() < 0.5 else branch_sites)
        elif kind == "cluster":
            model, _, ram, disk0 = _pick(rng, CLUSTER_MODELS)
            mode = "cluster"
            site = rng.choice(dc_sites)
        else:
            model, _, ram, disk0 = _pick(rng, MULTI_MODELS)
            mode = rng.choice(("standalone", "standalone", "active-standby", "active-standby",
                               "active-active"))
            site = rng.choice(dc_sites)
        site_name, region, dc = site
        k = per_site[site_name] = per_site.get(site_name, 0) + 1
        name = f"{site_name}-fw{k:03d}"
        plat = platform_of(model)
        assert isinstance(plat, Platform)
        family = plat.family
        firepower = family.startswith("fpr")
        asa_t, fpr_t, asdm_t = REGION_TARGETS[region % len(REGION_TARGETS)]
        versions = _system_versions(family)
        version = _running_version(rng, versions, fpr_t if firepower else asa_t, converged)
        system = system_image_name(family, version)
        older = versions[:versions.index(version)]
        previous = system_image_name(family, older[-1]) if older else None
        asdm = asdm_t if rng.random() < 0.6 else rng.choice(ASDM_VERSIONS[:-1])
        if converged:
            asdm = asdm_t
        # VPN head-ends: most in data centres (upgraded by the dc-vpn groups), a few branch pairs
        # that no group targets, which keep the old packages (VPN_SHARED_POLICY names them)
        vpn = not firepower and mode != "standalone" and rng.random() < (0.6 if dc else 0.1)
        tags = ["firepower" if firepower else "asa", "datacenter" if dc else "branch"]
        if vpn:
            tags.append("vpn")
        if rng.random() < 0.1:
            tags.append("pci")
        address = (f"{address_base}/d/{name}" if address_base else
                   f"https://10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        dev = Device(name, model, family, mode, site_name, region, tags, address, version, system,
                     previous, asdm, vpn)
        if kind == "multi":
            dev.contexts = ["admin"] + [f"ctx-{c:02d}" for c in range(1, rng.randint(2, 8))]
        if rng.random() < 0.01:
            dev.pending = [f"change-{zlib.crc32(name.encode()) % 100000:05d}"]
        if rng.random() < 0.002:
            dev.register = "0x2"  # ignores the boot list: CONFIG_REGISTER
        dev.unreachable = rng.random() < unreachable_rate

        files = [(system, sizes[system])]
        if previous:
            files.append((previous, sizes[previous]))
        files.append((_asdm_name(asdm), sizes[_asdm_name(asdm)]))
        if vpn and converged and dc:  # what the data-centre VPN groups install
            dev.vpn_packages = tuple((f, t, v, sizes[f]) for f, t, v in VPN_NEW)
        if vpn:
            files += [(f, s) for f, _, _, s in dev.vpn_packages]
        files += [("FSCK0000.REC", 16384), ("crashinfo_20231107_021422_UTC", 180224)]
        if rng.random() < 0.01:  # a forgotten packet capture nearly fills disk0: DISK_SPACE
            used = RESERVED + sum(s for _, s in files)
            files.append(("capture-outside-20240304.pcap", disk0 * MiB - used - 3 * MiB))
        if ram >= 16384 and rng.random() < 0.02:
            ram = 4096  # a unit with a RAM shortfall: RAM_LOW
        n_units = {"standalone": 1, "cluster": rng.choice(CLUSTER_UNITS)}.get(mode, 2)
        for u in range(n_units):
            unit = Unit(name=name, role="standalone", serial=_serial(name, u, "JMX" if firepower else "JAD"),
                        ram_mb=ram, files=files, disk0=disk0 * MiB)
            if mode in ("active-standby", "active-active"):
                unit.name = ("primary", "secondary")[u]
                if mode == "active-standby":
                    unit.role = ("active", "standby")[u]
                    unit.standby_ready = None if u == 0 else rng.random() >= 0.005
                else:
                    unit.role = "active"
                    unit.groups = (u + 1,)
                    unit.standby_ready = True
            elif mode == "cluster":
                unit.name = f"unit-{u + 1}"
                unit.role = "control" if u == 0 else "data"
                unit.unit_id = u
                unit.site_id = 1 + u * 2 // n_units
                unit.ccl_ip = f"10.254.{i >> 8 & 255}.{(i & 255) * 8 % 250 + u + 1}"
                unit.ccl_mac = f"0050.56b4.{(i * 8 + u) & 0xffff:04x}"
                unit.disk1 = 1024 * MiB
            dev.units.append(unit)
        devices.append(dev)
    return devices


# ---------------------------------------------------------------------------- desired state


def _policy(devices: list[Device], rng: random.Random) -> tuple[dict[str, Any], dict[str, Any],
                                                                  dict[str, Any]]:
    fleet = {
        "defaults": {"settings": {
            "install_location": "disk0", "backup_current_image": True,
            "operation": "install-and-reload", "on_error": "continue", "order": "parallel",
            "max_parallel": 20, "reload_timeout": 900, "auto_apply": False, "cleanup": False}},
        "groups": [
            {"name": "clusters", "match": {"mode": "cluster"},
             "settings": {"order": "sequential", "reload_timeout": 1200}},
            {"name": "ha-pairs", "match": {"mode": "active-standby"},
             "settings": {"reload_timeout": 1200}},
            {"name": "pci-scope", "match": {"tags": ["pci"]},
             "settings": {"on_error": "stop", "max_parallel": 1}},
            {"name": "virtual", "match": {"model": "ASAv*"},
             "settings": {"backup_current_image": False}},
        ],
    }
    regions = []
    for r, (code, tz) in enumerate(REGIONS):
        asa_t, fpr_t, asdm_t = REGION_TARGETS[r % len(REGION_TARGETS)]
        regions += [
            {"name": f"{code}-asa", "match": {"site": f"{code}-*", "tags": ["asa"]},
             "images": {"asa": asa_t, "asdm": asdm_t}},
            {"name": f"{code}-firepower", "match": {"site": f"{code}-*", "tags": ["firepower"]},
             "images": {"asa": fpr_t, "asdm": asdm_t},
             "settings": {"backup_current_image": False}},
            {"name": f"{code}-dc-vpn", "match": {"site": f"{code}-dc*", "tags": ["vpn"]},
             "bundle": "vpn-2024"},
            {"name": f"{code}-window", "match": {"site": f"{code}-*"},
             "settings": {"maintenance_windows": [
                 {"days": ["sat", "sun"], "start": "01:00", "duration_minutes": 240, "tz": tz}]}},
        ]
    overrides = []
    n_over = max(5, round(len(devices) * 0.003))
    for dev in rng.sample(devices, min(n_over, len(devices))):
        r = rng.random()
        if r < 0.4:
            overrides.append({"name": dev.name, "description": "change freeze",
                              "images": {"asa": dev.asa}})
        elif r < 0.6:
            newest = _system_versions(dev.family)[-1]
            overrides.append({"name": dev.name, "description": "canary", "images": {"asa": newest}})
        elif r < 0.8:
            overrides.append({"name": dev.name, "settings": {"operation": "copy-only"}})
        else:
            overrides.append({"name": dev.name, "settings": {
                "accept_warnings": ["RAM_LOW", "HA_UPGRADE_PATH", "CONFIG_REQUIRED_AFTER"]}})
    return fleet, {"groups": regions}, {"devices": overrides}


def _dump(data: Any, header: str) -> str:
    return header + yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, width=100,
                              default_flow_style=None)


def _inventory_text(devices: list[Device], ca_bundle: str | None) -> str:
    out = ["# yaml-language-server: $schema=../schemas/inventory.schema.json\n",
           f"# {len(devices)} generated devices (bench/fleetgen.py)\n",
           "defaults:\n  driver: asa\n  credentials:\n    username: admin\n",
           f"    password: {PASSWORD_REF}\n"]
    if ca_bundle:
        out.append(f"  tls:\n    verify: true\n    ca_bundle: {ca_bundle}\n")
    out.append("\ndevices:\n")
    for d in devices:
        mode = f"    mode: {d.mode}\n" if d.mode != "standalone" else ""
        out.append(f"  - name: {d.name}\n    address: {d.address}\n    model: {d.model}\n"
                   f"{mode}    site: {d.site}\n    tags: [{', '.join(d.tags)}]\n")
    return "".join(out)


# ---------------------------------------------------------------------------- observed state


def _member_dict(d: Device, u: Unit) -> dict[str, Any]:
    disks = [{"name": "disk0", "size": u.disk0,
              "free": u.disk0 - RESERVED - sum(s for _, s in u.files),
              "files": [{"name": f, "size": s} for f, s in u.files]}]
    if u.disk1:
        disks.append({"name": "disk1", "size": u.disk1, "free": u.disk1 - MiB, "files": []})
    boot = [f"disk0:/{d.system}"] + ([f"disk0:/{d.previous}"] if d.previous else [])
    asdm_path = f"disk0:/{_asdm_name(d.asdm)}"
    m: dict[str, Any] = {
        "name": u.name, "role": u.role, "serial": u.serial, "reachable": True,
        "standby_ready": u.standby_ready, "ram_mb": u.ram_mb,
        "running": {"asa": d.asa, "asdm": d.asdm},
        "running_files": {"asa": f"disk0:/{d.system}", "asdm": asdm_path},
        "disks": disks, "boot": boot, "asdm_image": asdm_path,
    }
    if u.unit_id is not None:
        m.update(unit_id=u.unit_id, ccl_ip=u.ccl_ip, ccl_mac=u.ccl_mac, site_id=u.site_id)
    if u.groups:
        m["failover_groups_active"] = list(u.groups)
    return m


def _observed_dict(d: Device) -> dict[str, Any]:
    running = {"asa": d.asa, "asdm": d.asdm}
    if d.vpn:
        running.update({t: v for _, t, v, _ in d.vpn_packages})
    out: dict[str, Any] = {
        "name": d.name, "driver": "asa", "model": d.model, "platform": d.family, "mode": d.mode,
        "context_mode": "multiple" if d.contexts else "single", "contexts": d.contexts,
        "state": "operational", "pending_config_changes": bool(d.pending),
        "config_register": d.register, "running": dict(sorted(running.items())),
        "members": [_member_dict(d, u) for u in sorted(d.units, key=lambda u: u.name)
                    ] if d.mode != "cluster" else [_member_dict(d, u) for u in d.units],
    }
    if d.family.startswith("fpr"):
        out["appliance_mode"] = True
    return out


def _snapshot_text(devices: list[Device]) -> str:
    """One device per line: json.dumps with indent falls back to the pure-Python encoder, far
    too slow for 100,000 devices; the loader reads both forms the same way."""
    ok = [d for d in devices if not d.unreachable]
    errors = [{"device": d.name, "code": "UNREACHABLE",
               "message": f"{d.name}: UNREACHABLE connection timed out — check the address and "
                          "that HTTPS management is enabled", "temporary": True}
              for d in devices if d.unreachable]
    dumps = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
    lines = ",\n".join(dumps(_observed_dict(d)) for d in sorted(ok, key=lambda d: d.name))
    err = ",\n".join(dumps(e) for e in sorted(errors, key=lambda e: e["device"]))
    return (f'{{"format_version":1,"taken_at":"{TAKEN_AT}","devices":[\n{lines}\n],'
            f'"errors":[\n{err}\n]}}\n')


def _sim_device(d: Device) -> dict[str, Any]:
    config: dict[str, Any] = {"boot": [f"disk0:/{d.system}"] + ([f"disk0:/{d.previous}"] if d.previous else []),
                              "asdm": f"disk0:/{_asdm_name(d.asdm)}"}
    if d.vpn:
        pkg = {t: f for f, t, _, _ in d.vpn_packages}
        config.update(anyconnect=[f"disk0:/{pkg['anyconnect']}"], csd=f"disk0:/{pkg['csd']}",
                      hostscan=f"disk0:/{pkg['hostscan']}")
    members = []
    for u in d.units:
        disks = [{"name": "disk0", "size": u.disk0, "reserved": RESERVED,
                  "dirs": ["log", "crypto_archive", "coredumpinfo"],
                  "files": [{"name": f, "size": s} for f, s in u.files]}]
        if u.disk1:
            disks.append({"name": "disk1", "size": u.disk1, "reserved": MiB, "files": []})
        m: dict[str, Any] = {"name": u.name, "role": u.role, "serial": u.serial,
                             "ram_mb": u.ram_mb, "running": f"disk0:/{d.system}", "disks": disks}
        if d.mode in ("active-standby", "active-active"):
            m["failover_unit"] = u.name
            if u.standby_ready is False:
                m["standby_ready"] = False
        if u.groups:
            m["failover_groups"] = list(u.groups)
        if u.unit_id is not None:
            m.update(unit_id=u.unit_id, site_id=u.site_id, ccl_ip=u.ccl_ip, ccl_mac=u.ccl_mac)
        members.append(m)
    out: dict[str, Any] = {"name": d.name, "driver": "asa", "model": d.model, "hostname": d.name,
                           "mode": d.mode, "context_mode": "multiple" if d.contexts else "single"}
    if d.contexts:
        out["contexts"] = d.contexts
    out["config_register"] = d.register
    if d.pending:
        out["pending_changes"] = d.pending
    if d.family.startswith("fpr"):
        out["appliance_mode"] = True
    out["config"] = config
    out["members"] = members
    if d.unreachable:
        out["faults"] = [{"kind": "unreachable"}]
    return out


# ---------------------------------------------------------------------------- entry points


@dataclass(frozen=True)
class FleetInfo:
    root: Path
    devices: int
    members: int
    groups: int
    overrides: int
    unreachable: int
    files: dict[str, int]  # relative path -> bytes


def _install(dev: Device, version: str) -> None:
    """`dev` runs `version` of its system image, the release before it kept as boot fallback
    (its other files stay)."""
    sizes = _sizes()
    versions = _system_versions(dev.family)
    old = {dev.system, dev.previous}
    dev.asa, dev.system = version, system_image_name(dev.family, version)
    older = versions[:versions.index(version)]
    dev.previous = system_image_name(dev.family, older[-1]) if older else None
    files = [(dev.system, sizes[dev.system])]
    if dev.previous:
        files.append((dev.previous, sizes[dev.previous]))
    files += [f for f in dev.units[0].files if f[0] not in old]
    for u in dev.units:
        u.files = files


def generate_fleet(n: int, seed: int, out: str | Path, *, sim: bool = False,
                   address_base: str | None = None, ca_bundle: str | None = None,
                   unreachable_rate: float = 0.002, converged: bool = False,
                   sim_json: bool = False) -> FleetInfo:
    """Write desired/, inventory/devices.yaml, snapshot.json (and simfleet.yaml with `sim`)
    for `n` devices into `out`.

    `converged`: the same fleet (same devices, policy and problems) with every device already
    running what the policy wants (region targets, data-centre VPN bundle, canary overrides), as
    after a completed rollout: nothing drifts. `sim_json`: the simulated twin as simfleet.json
    (JSON is YAML too, so `reconciler simulate --fleet` reads it; Python reads it ~20x faster)."""
    root = Path(out)
    rng = random.Random(seed)
    devices = _build_devices(n, rng, address_base, unreachable_rate, converged)
    fleet, regions, overrides = _policy(devices, rng)
    if converged:
        by_name = {d.name: d for d in devices}
        for o in overrides["devices"]:
            want = o.get("images", {}).get("asa")
            if want and by_name[o["name"]].asa != want:
                _install(by_name[o["name"]], want)  # a canary already on the newest release
    (root / "desired").mkdir(parents=True, exist_ok=True)
    (root / "inventory").mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {
        "desired/images.yaml": _dump(
            {"images": list(catalog()),
             "bundles": [{"name": "vpn-2024", "images": [f for f, _, _ in VPN_NEW]},
                         {"name": "dc-9.8", "images": [system_image_name("asa5585", "9.8(4)"),
                                                       _asdm_name("7.20(1)")]}]},
            "# yaml-language-server: $schema=../schemas/images.schema.json\n"),
        "desired/fleet.yaml": _dump(fleet, "# yaml-language-server: $schema=../schemas/policy.schema.json\n"
                                    "# defaults and fleet-wide groups\n"),
        "desired/regions.yaml": _dump(regions, "# yaml-language-server: $schema=../schemas/policy.schema.json\n"
                                      "# per region: system images, Firepower, data-centre VPN, maintenance window\n"),
        "desired/devices.yaml": _dump(overrides, "# yaml-language-server: $schema=../schemas/policy.schema.json\n"
                                      "# per-device overrides\n"),
        "inventory/devices.yaml": _inventory_text(devices, ca_bundle),
        "snapshot.json": _snapshot_text(devices),
    }
    if sim:
        twin = {"version": 1, "auth": {"username": "admin", "password": PASSWORD_REF},
                "timings": {"reload_seconds": 420, "ready_seconds": 60},
                "devices": [_sim_device(d) for d in devices]}
        if sim_json:
            texts["simfleet.json"] = json.dumps(twin, separators=(",", ":")) + "\n"
        else:
            texts["simfleet.yaml"] = _dump(twin, "# simulated twin of the generated fleet "
                                                 "(docs/simulator.md)\n")
    sizes = {}
    for rel, text in texts.items():
        data = text.encode()
        (root / rel).write_bytes(data)
        sizes[rel] = len(data)
    return FleetInfo(root, n, sum(len(d.units) for d in devices),
                     len(fleet["groups"]) + len(regions["groups"]), len(overrides["devices"]),
                     sum(d.unreachable for d in devices), sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--devices", "-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sim", action="store_true", help="also write simfleet.yaml")
    ap.add_argument("--sim-json", action="store_true",
                    help="with --sim: write the twin as simfleet.json (faster to read)")
    ap.add_argument("--address-base", help="inventory addresses BASE/d/NAME (a simulator URL)")
    ap.add_argument("--converged", action="store_true",
                    help="every device already runs its targets (nothing drifts)")
    ap.add_argument("--unreachable-rate", type=float, default=0.002,
                    help="share of devices that do not answer (default 0.002)")
    a = ap.parse_args()
    info = generate_fleet(a.devices, a.seed, a.out, sim=a.sim, address_base=a.address_base,
                          converged=a.converged, unreachable_rate=a.unreachable_rate,
                          sim_json=a.sim_json)
    print(f"{info.devices} devices ({info.members} units), {info.groups} groups, "
          f"{info.overrides} overrides, {info.unreachable} unreachable in {info.root}")
    for rel, size in info.files.items():
        print(f"  {rel:<24} {size / 1e6:8.1f} MB")


if __name__ == "__main__":
    main()
