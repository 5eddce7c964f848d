"""`reconciler simulate`: serve a simulated fleet on loopback HTTPS.

Without `--fleet` it serves the twin of the repository's inventory (`reconciler.sim.example`),
so `reconciler discover` finds every inventory device at its address with no setup beyond the
credentials. The simulator writes its CA to `.reconciler/sim/ca.pem` (what the example
inventory's `tls.ca_bundle` names) and accepts the credentials its fleet's `auth:` references
(by default the same `env:` variables the inventory uses). A variable that is not set gets a
random value, written to `.reconciler/sim/env` for `source`-ing in the shell that discovers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from reconciler.paths import sim_dir
from reconciler.sim.clock import ScaledClock
from reconciler.sim.example import load_twin
from reconciler.sim.fleet import SimFleet, credentials_for
from reconciler.sim.fleetfile import dump_fleet, load_fleet_file
from reconciler.sim.server import parse_listen, serve_forever
from reconciler.sim.tls import ensure_tls


@click.command("simulate")
@click.option("--fleet", "fleet_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fleet file (docs/simulator.md). Default: the twin of the repository's inventory.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Repository root (inventory/, desired/, .reconciler/).")
@click.option("--listen", default="127.0.0.1:18443", show_default=True, help="Loopback HOST:PORT.")
@click.option("--time-scale", default=1.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Simulated seconds per wall-clock second (900: a 15-minute reload takes one second).")
@click.option("--write-fleet", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the fleet file that would be served and exit.")
@click.option("--no-control-api", is_flag=True, help="Do not serve the /_sim control API.")
def command(fleet_file: Path | None, repo: Path, listen: str, time_scale: float, write_fleet: Path | None,
            no_control_api: bool) -> None:
    """Serve simulated ASA devices and agent endpoints on loopback HTTPS."""
    if fleet_file is not None:
        spec, skipped = load_fleet_file(fleet_file), list[str]()
    else:
        spec, skipped = load_twin(repo)
    for s in skipped:
        click.echo(f"warning: not simulated: {s}", err=True)
    if write_fleet is not None:
        write_fleet.write_text(dump_fleet(spec), encoding="utf-8")
        click.echo(f"wrote {write_fleet} ({len(spec.devices)} devices)", err=True)
        return
    host, port = parse_listen(listen)
    state = sim_dir(repo)
    creds, generated = credentials_for(spec.auth, repo, state)
    tls = ensure_tls(state, [host])
    fleet = SimFleet(spec, creds, ScaledClock(time_scale))
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"simulating {len(spec.devices)} devices at https://{shown}:{port}/d/<name> "
               f"(time scale {time_scale:g})", err=True)
    click.echo(f"  CA: {tls.ca_path}   server certificate sha256: {tls.fingerprint_colons}", err=True)
    if generated:
        click.echo(f"  credentials: {', '.join(generated)} were not set; generated values are in "
                   f"{state / 'env'} — run `source {state / 'env'}` in the shell that runs reconciler", err=True)
    if not no_control_api:
        click.echo(f"  control API: https://{shown}:{port}/_sim/devices", err=True)
    try:
        asyncio.run(serve_forever(fleet, host=host, port=port, tls=tls, control_api=not no_control_api))
    except KeyboardInterrupt:
        pass
