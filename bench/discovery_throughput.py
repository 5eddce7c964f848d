"""Discovery throughput against the simulated fleet on loopback HTTPS, against the HTTP limit.

    python bench/discovery_throughput.py [--sizes 1000,5000] [--concurrency 16] [--repeat 3]
                                         [--budget 230]

For each size, `bench/fleetgen.py` writes a fleet (70% standalone, 20% pairs, 8% clusters of 2-8
units, 2% multiple-context) and its simulated twin; `reconciler simulate` serves the twin from a
separate process (uvicorn, TLS, 127.0.0.1), so the server does not share the client's event loop.
Then, up to `--repeat` times (as many as fit the `--budget` of seconds, at least once per size;
the whole command stays under five minutes), back to back in this process:

  discovery   `reconciler.discovery.discover` of every inventory device (the inventory as
              `load_desired` reads it, credentials through `resolve_credential`, the default
              client factory, logging as the CLI configures it): devices/s, HTTP requests/s;
  raw         the same number of requests from the same kind of client (`client_for` with the
              same TLS settings and connection limit, HTTP basic auth, the same concurrency) to
              the simulator's cheapest endpoint (`GET /_sim/health`): the request rate this
              client and this server can reach at all -- the limit.

`% of limit` is discovery's request rate over the raw rate of the same repeat. Both processes
compete for the machine's two cores (and with anything else running), so the CPU seconds each
side used are reported too. Prints a table and writes bench/results/discovery_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.fleetgen import generate_fleet  # noqa: E402
from bench.machine import banner, finish, machine  # noqa: E402
from reconciler.core.model import CredentialRef, TlsSettings  # noqa: E402
from reconciler.discovery import DiscoveryOptions, discover  # noqa: E402
from reconciler.drivers.base import DriverOptions, Transcript  # noqa: E402
from reconciler.drivers.tls import client_for  # noqa: E402
from reconciler.loader import DirectorySource, load_desired  # noqa: E402
from reconciler.loader.credentials import resolve_credential  # noqa: E402
from reconciler.logging import configure_logging  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-discovery-7d1e9c"  # the simulator's stand-in device password
CA = ".reconciler/sim/ca.pem"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Simulator:
    """`reconciler simulate --fleet` in a child process."""

    def __init__(self, repo: Path, port: int) -> None:
        self.repo, self.port = repo, port
        self.url = f"https://127.0.0.1:{port}"
        self.log = open(repo / "simulator.log", "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "RECONCILER_FW_PASSWORD": PASSWORD}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "simulate", "--fleet", str(repo / "simfleet.yaml"),
             "--repo", str(repo), "--listen", f"127.0.0.1:{port}", "--time-scale", "1000"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 180) -> float:
        t0 = time.perf_counter()
        ca = self.repo / CA
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"the simulator exited: {(self.repo / 'simulator.log').read_text()[-2000:]}")
            if ca.is_file():
                try:
                    r = httpx.get(f"{self.url}/_sim/health", verify=str(ca), timeout=2)
                    if r.status_code == 200:
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise SystemExit("the simulator did not come up")

    def cpu(self) -> float:
        return cpu_of(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def resolver(ref: CredentialRef) -> str:
    return resolve_credential(ref)


async def run_discovery(devices: list[Any], repo: Path, concurrency: int, batch: bool) -> dict[str, Any]:
    transcripts: dict[str, Transcript] = {}
    opts = DiscoveryOptions(concurrency=concurrency, timeout=300, root=repo)
    c0, t0 = time.process_time(), time.perf_counter()
    snap = await discover(devices, options=opts, resolver=resolver, transcripts=transcripts,
                          driver_options=DriverOptions(batch_commands=batch))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    requests = sum(1 for t in transcripts.values() for e in t.entries if e.direction == "send")
    if snap.errors:
        first = next(iter(snap.errors.values()))
        raise SystemExit(f"{len(snap.errors)} devices failed discovery, e.g. {first.message}")
    return {"devices": len(snap.devices), "members": sum(len(d.members) for d in snap.devices.values()),
            "requests": requests, "seconds": wall, "client_cpu": cpu, "snapshot": snap}


async def run_raw(url: str, tls: TlsSettings, repo: Path, names: list[str], requests: int,
                  concurrency: int) -> dict[str, Any]:
    """`requests` GETs of the cheapest endpoint, `concurrency` at a time, same client setup."""
    auth = httpx.BasicAuth("admin", PASSWORD)
    left = requests
    bad = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal left, bad
        while left > 0:
            left -= 1
            r = await client.get(f"{url}/_sim/health", auth=auth)
            bad += r.status_code != 200

    async with client_for(tls, root=repo, devices=names, max_connections=max(4, concurrency)) as client:
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if bad:
        raise SystemExit(f"{bad} raw requests failed")
    return {"requests": requests, "seconds": wall, "client_cpu": cpu}


def bench_size(n: int, concurrency: int, repeat: int, seed: int, deadline: float,
               batch: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"discovery-{n}-") as tmp:
        repo = Path(tmp)
        port = free_port()
        generate_fleet(n, seed, repo, sim=True, address_base=f"https://127.0.0.1:{port}",
                       ca_bundle=CA, unreachable_rate=0)
        sim = Simulator(repo, port)
        try:
            startup = sim.wait_ready()
            os.environ["RECONCILER_FW_PASSWORD"] = PASSWORD
            desired, _ = load_desired(DirectorySource(repo))
            devices = list(desired.inventory.values())
            tls = devices[0].tls
            names = [d.name for d in devices]
            runs: list[dict[str, Any]] = []
            for _ in range(repeat):
                if runs and time.perf_counter() + last > deadline:
                    break  # another repeat would not fit the time budget
                r0 = time.perf_counter()
                s0 = sim.cpu()
                disc = asyncio.run(run_discovery(devices, repo, concurrency, batch))
                s1 = sim.cpu()
                raw = asyncio.run(run_raw(sim.url, tls, repo, names, disc["requests"], concurrency))
                s2 = sim.cpu()
                disc["server_cpu"], raw["server_cpu"] = s1 - s0, s2 - s1
                snap = disc.pop("snapshot")
                want = {d["name"]: d for d in json.loads((repo / "snapshot.json").read_text())["devices"]}
                from reconciler.core.observed import device_to_dict

                same = sum(1 for name, d in snap.devices.items() if device_to_dict(d) == want.get(name))
                disc["matches_generated_snapshot"] = same == len(want) == len(snap.devices)
                runs.append({"discovery": disc, "raw": raw})
                last = time.perf_counter() - r0
        finally:
            sim.stop()
    d_rate = [r["discovery"]["requests"] / r["discovery"]["seconds"] for r in runs]
    r_rate = [r["raw"]["requests"] / r["raw"]["seconds"] for r in runs]
    ratios = [d / r for d, r in zip(d_rate, r_rate, strict=True)]
    first = runs[0]["discovery"]
    return {
        "devices": n, "units": first["members"], "concurrency": concurrency, "repeats": len(runs),
        "requests_per_device": first["requests"] / n, "simulator_startup_s": round(startup, 1),
        "discovery_s": statistics.median(r["discovery"]["seconds"] for r in runs),
        "devices_per_s": statistics.median(n / r["discovery"]["seconds"] for r in runs),
        "discovery_requests_per_s": statistics.median(d_rate),
        "raw_requests_per_s": statistics.median(r_rate),
        "percent_of_limit": 100 * statistics.median(ratios),
        "client_cpu_per_request_ms": {
            "discovery": 1000 * statistics.median(r["discovery"]["client_cpu"] / r["discovery"]["requests"] for r in runs),
            "raw": 1000 * statistics.median(r["raw"]["client_cpu"] / r["raw"]["requests"] for r in runs)},
        "server_cpu_per_request_ms": {
            "discovery": 1000 * statistics.median(r["discovery"]["server_cpu"] / r["discovery"]["requests"] for r in runs),
            "raw": 1000 * statistics.median(r["raw"]["server_cpu"] / r["raw"]["requests"] for r in runs)},
        "snapshot_matches_generated": all(r["discovery"]["matches_generated_snapshot"] for r in runs),
        "runs": runs,
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'devices':>8} {'units':>6} {'runs':>4} {'req/dev':>8} {'disc s':>7} {'devices/s':>10} {'req/s':>7} "
          f"{'raw req/s':>10} {'% limit':>8} {'client ms/req':>14} {'server ms/req':>14}")
    for r in rows:
        c, s = r["client_cpu_per_request_ms"], r["server_cpu_per_request_ms"]
        print(f"{r['devices']:>8,} {r['units']:>6,} {r['repeats']:>4} {r['requests_per_device']:>8.1f} {r['discovery_s']:>7.1f} "
              f"{r['devices_per_s']:>10.1f} {r['discovery_requests_per_s']:>7.0f} {r['raw_requests_per_s']:>10.0f} "
              f"{r['percent_of_limit']:>7.0f}% {c['discovery']:>6.2f} / {c['raw']:<5.2f} "
              f"{s['discovery']:>6.2f} / {s['raw']:<5.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--concurrency", "-c", type=int, default=DiscoveryOptions().concurrency)
    ap.add_argument("--repeat", type=int, default=3, help="runs per size at most")
    ap.add_argument("--budget", type=float, default=230,
                    help="seconds: a size is repeated only while the next run fits (each size runs once)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--one-command-per-request", action="store_true",
                    help="discover without batching CLI commands (for comparison)")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    configure_logging(verbosity=0)  # what `reconciler discover` does by default: warnings only
    info = machine()
    print(f"{banner(info)}.\nClient and simulator are separate processes sharing these CPUs; "
          f"medians of up to {a.repeat} runs per size (as many as fit {a.budget:g} s), each "
          "discovery compared with a raw run right after it")
    t0 = time.perf_counter()
    rows = []
    sizes = [int(x) for x in a.sizes.split(",") if x]
    for i, n in enumerate(sizes):
        # the budget left is shared by the sizes still to run, in proportion to their size
        left = a.budget - (time.perf_counter() - t0)
        share = left * n / sum(sizes[i:])
        rows.append(bench_size(n, a.concurrency, a.repeat, a.seed, time.perf_counter() + share,
                               batch=not a.one_command_per_request))
        print_rows(rows[-1:])
    elapsed = time.perf_counter() - t0
    end_line = finish(info)
    print()
    print(banner(info))
    print_rows(rows)
    print("client/server ms/req: CPU milliseconds per request, discovery / raw")
    for r in rows:
        verdict = "met" if r["percent_of_limit"] >= 60 else (
            f"missed by {60 - r['percent_of_limit']:.0f} points")
        print(f"{r['devices']:,} devices: discovery reaches {r['percent_of_limit']:.0f}% of the raw request "
              f"rate (target >= 60%: {verdict}); snapshot equals the generated one: "
              f"{r['snapshot_matches_generated']}")
    print(f"benchmark took {elapsed:.0f} s; {end_line}")
    if not a.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = {"benchmark": "discovery_throughput", "batched": not a.one_command_per_request,
               "command": "python bench/discovery_throughput.py " + " ".join(sys.argv[1:]),
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": info,
               "repeat": a.repeat, "seconds": round(elapsed, 1), "sizes": rows}
        name = "discovery_throughput" + ("_unbatched" if a.one_command_per_request else "") + ".json"
        (RESULTS / name).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    main()
