"""Discovery and transfer throughput against the simulated fleet over loopback HTTPS.

    python bench/bench_discovery.py [-n 200] [-c 32] [--upload-mib 64]

Builds a fleet of N devices (standalone, active/standby, active/active, cluster and agent in
turn, from tests/fixtures/sim/small-fleet.yaml), serves it on 127.0.0.1 with TLS, discovers it
with `c` devices in flight, and streams an image to a standalone and to a cluster (spread).
Prints devices/s, HTTP requests/s, parse rate and MiB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
import time
from pathlib import Path

import yaml

from reconciler.core.model import CredentialRef, Credentials, DriverKind, InventoryDevice, TlsSettings
from reconciler.discovery import DiscoveryOptions, discover
from reconciler.drivers import cli_parsers as P
from reconciler.drivers.base import Transcript
from reconciler.drivers.registry import driver_for
from reconciler.drivers.sources import SyntheticSource
from reconciler.drivers.tls import client_for
from reconciler.sim.clock import ScaledClock
from reconciler.sim.fleet import SimCredentials, SimFleet
from reconciler.sim.fleetfile import fleet_from_dict
from reconciler.sim.server import serve_in_background

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "fixtures" / "sim" / "small-fleet.yaml"
CREDS = SimCredentials("admin", "bench-password-1", "bench-token-1")


def fleet_doc(n: int) -> dict:
    base = yaml.safe_load(SMALL.read_text())
    templates = base["devices"]
    devices = []
    for i in range(n):
        d = copy.deepcopy(templates[i % len(templates)])
        d["name"] = f"{d['name']}-{i:05d}"
        if d["driver"] == "asa" and d.get("mode", "standalone") == "standalone":
            d["members"][0]["name"] = d["name"]
        devices.append(d)
    return {**base, "devices": devices}


def inventory(fleet: SimFleet, url: str, tls: TlsSettings) -> list[InventoryDevice]:
    out = []
    for name, dev in fleet.devices.items():
        agent = dev.kind == "agent"
        creds = (Credentials(token=CredentialRef("env", "T")) if agent
                 else Credentials(username="admin", password=CredentialRef("env", "P")))
        out.append(InventoryDevice(name=name, address=f"{url}/d/{name}",
                                   driver=DriverKind.AGENT if agent else DriverKind.ASA, credentials=creds, tls=tls))
    return out


def resolver(ref: CredentialRef) -> str:
    return {"P": CREDS.password, "T": CREDS.token}[ref.ref]


async def bench(n: int, concurrency: int, upload_mib: int) -> None:
    fleet = SimFleet(fleet_from_dict(fleet_doc(n)), CREDS, ScaledClock(1000))
    with tempfile.TemporaryDirectory() as tmp:
        async with serve_in_background(fleet, tls_dir=Path(tmp)) as sim:
            assert sim.tls is not None
            tls = TlsSettings(ca_bundle=str(sim.tls.ca_path))
            devs = inventory(fleet, sim.url, tls)
            transcripts: dict[str, Transcript] = {}
            t0 = time.perf_counter()
            snap = await discover(devs, options=DiscoveryOptions(concurrency=concurrency, timeout=300),
                                  resolver=resolver, transcripts=transcripts)
            dt = time.perf_counter() - t0
            requests = sum(1 for t in transcripts.values() for e in t.entries if e.direction == "send")
            members = sum(len(d.members) for d in snap.devices.values())
            print(f"discovery: {len(snap.devices)} devices ({members} members, {len(snap.errors)} errors) "
                  f"in {dt:.2f}s = {len(snap.devices) / dt:,.0f} devices/s, {requests / dt:,.0f} requests/s "
                  f"(concurrency {concurrency})")

            size = upload_mib << 20
            for name in (devs[0].name, devs[3].name):
                async with client_for(tls, devices=[name]) as client:
                    async with driver_for(next(d for d in devs if d.name == name), client, resolver=resolver) as drv:
                        t0 = time.perf_counter()
                        res = await drv.copy_image("disk1" if "cluster" in name else "disk0", "bench.bin",
                                                   SyntheticSource("bench.bin", size))
                        dt = time.perf_counter() - t0
                print(f"copy_image to {name} ({len(res.members)} member(s)): {upload_mib} MiB in {dt:.2f}s = "
                      f"{upload_mib / dt:,.1f} MiB/s")

    text = (ROOT / "tests" / "fixtures" / "cli" / "show_failover_as.txt").read_text()
    k = 20000
    t0 = time.perf_counter()
    for _ in range(k):
        P.parse_show_failover(text)
    print(f"parse_show_failover: {k / (time.perf_counter() - t0):,.0f}/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="devices")
    ap.add_argument("-c", type=int, default=32, help="concurrency")
    ap.add_argument("--upload-mib", type=int, default=64)
    a = ap.parse_args()
    asyncio.run(bench(a.n, a.c, a.upload_mib))


if __name__ == "__main__":
    main()
