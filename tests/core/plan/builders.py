"""Small hand-built inputs for the planner's unit tests (scenario tests load YAML fixtures)."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.core.model import (DesiredState, DriverKind, Image, ImageStatus, ImageType,
                                   InventoryDevice, PolicyEntry, ResolvedDevice, Settings, Target)
from reconciler.core.observed import Snapshot, snapshot_from_dict

MiB = 1 << 20


def img(name: str, type_: str, version: str, platforms: str, size_mib: float = 5,
        smp: bool | None = None, ram: int | None = None) -> Image:
    return Image(name, ImageType(type_), version, tuple(platforms.split(",")),
                 int(size_mib * MiB), "ab" * 32, smp=smp, min_ram_mb=ram)


CATALOG: dict[str, Image] = {i.name: i for i in (
    img("asa824-k8.bin", "asa", "8.2(4)", "asa5500", 3),
    img("asa846-smp-k8.bin", "asa", "8.4(6)", "asa5500x,asa5585", 4.5, smp=True),
    img("asa904-smp-k8.bin", "asa", "9.0(4)", "asa5500x,asa5585", 5, smp=True),
    img("asa916-smp-k8.bin", "asa", "9.1(6)", "asa5500x,asa5585", 5.25, smp=True, ram=4096),
    img("asa916-k8.bin", "asa", "9.1(6)", "asa5500,asa5585", 4, smp=False, ram=1024),
    img("asa923-smp-k8.bin", "asa", "9.2(3)", "asa5500x,asa5585", 5.5, smp=True, ram=4096),
    img("asa933-smp-k8.bin", "asa", "9.3(3)", "asa5500x,asa5585", 5.75, smp=True, ram=4096),
    img("asa941-smp-k8.bin", "asa", "9.4(1)", "asa5500x,asa5585", 6, smp=True, ram=8192),
    img("asa941-lfbff-k8.SPA", "asa", "9.4(1)", "asa5506x", 7.25, ram=4096),
    img("asdm-741.bin", "asdm", "7.4(1)", "asa5500,asa5500x,asa5585,asa5506x", 2.5),
    img("anyconnect-win-4.10.07073-webdeploy-k9.pkg", "anyconnect", "4.10.07073",
        "asa5500,asa5500x,asa5585,asa5506x", 3.5),
    img("agent-7.3.2.1006-x64.msi", "agent", "7.3.2.1006", "windows", 1),
)}


def desired(*devices: str, images: dict[str, Image] | None = None) -> DesiredState:
    inv = {n: InventoryDevice(n, f"https://127.0.0.1/d/{n}",
                              DriverKind.AGENT if n.startswith("ep-") else DriverKind.ASA, None)
           for n in devices}
    return DesiredState(images=images or CATALOG, bundles={}, defaults=PolicyEntry("defaults"),
                        groups=(), devices={}, inventory=inv, commit="c0ffee",
                        content_digest="d" * 64)


def resolved(name: str, targets: dict[str, str], **settings: Any) -> ResolvedDevice:
    t = {ImageType(k): Target(ImageType(k), CATALOG[v], "test") for k, v in targets.items()}
    if "accept_warnings" in settings:
        settings["accept_warnings"] = frozenset(settings["accept_warnings"])
    return ResolvedDevice(name, t, Settings(**settings))


def snapshot(text: str) -> Snapshot:
    return snapshot_from_dict(yaml.safe_load(text))


def all_present() -> dict[str, ImageStatus]:
    return {n: ImageStatus.PRESENT for n in CATALOG}


def pair_yaml(name: str = "fw1", version: str = "9.3(3)") -> str:
    """A 5585 active/standby pair as a snapshot device (YAML list item)."""
    return f"""
  - name: {name}
    model: ASA5585-SSP-20
    platform: asa5585
    mode: active-standby
    running: {{asa: "{version}"}}
    members:
      - {{name: a, role: active, ram_mb: 16384, running: {{asa: "{version}"}},
         disks: [{{name: disk0, size: 8000000000, free: 100000000}}]}}
      - {{name: b, role: standby, standby_ready: true, ram_mb: 16384, running: {{asa: "{version}"}},
         disks: [{{name: disk0, size: 8000000000, free: 100000000}}]}}"""
