"""`reconciler state`: create/upgrade the state store's schema and show what it holds."""

from __future__ import annotations

import json
from typing import Any

import click

from reconciler.store import connect_store
from reconciler.store.schema import LATEST_VERSION

_STATE_HELP = ("State store: a SQLite file path, sqlite:///FILE or postgresql://USER@HOST:PORT/DB "
               "(default: $RECONCILER_STATE, else .reconciler/state.db).")


def _state_option(f: Any) -> Any:
    return click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
                        help=_STATE_HELP)(f)


@click.group("state")
def command() -> None:
    """Create/upgrade the state store and show what it holds (jobs, device states, leases)."""


@command.command("migrate")
@_state_option
@click.option("--to", "target", type=click.IntRange(1, LATEST_VERSION), default=None,
              metavar="VERSION", help=f"Stop at this schema version (default: {LATEST_VERSION}).")
def migrate(state_url: str | None, target: int | None) -> None:
    """Create the schema, or upgrade it to this reconciler's version. Safe to repeat, and safe
    while daemons run: concurrent migrations are serialised."""
    with connect_store(state_url) as store:
        result = store.migrate(target)
        where = f"{store.backend} {store.url}"
    if result.applied:
        click.echo(f"{where}: schema version {result.from_version} -> {result.to_version}")
        for step in result.applied:
            click.echo(f"  applied {step}")
    else:
        click.echo(f"{where}: schema already at version {result.to_version}, nothing to do")


@command.command("show")
@_state_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--leases/--no-leases", default=True, show_default=True,
              help="List the live device leases.")
def show(state_url: str | None, fmt: str, leases: bool) -> None:
    """Backend, schema version, jobs by status, live leases, devices not operational and the
    last synced commits."""
    with connect_store(state_url) as store:
        info = store.info()
        current = info.schema_version == info.latest_version
        lease_list = store.leases() if leases and current else []
    if fmt == "json":
        click.echo(json.dumps({
            "backend": info.backend, "url": info.url, "schema_version": info.schema_version,
            "latest_version": info.latest_version, "jobs_by_status": dict(info.jobs_by_status),
            "active_leases": info.active_leases,
            "devices_not_operational": dict(info.devices_not_operational),
            "last_syncs": [{"branch": s.branch, "commit": s.commit, "at": s.at.isoformat()}
                           for s in info.last_syncs],
            "leases": [{"device": x.device, "owner": x.owner, "job_id": x.job_id,
                        "expires_at": x.expires_at.isoformat(), "generation": x.generation}
                       for x in lease_list],
        }, indent=2))
        return
    click.echo(f"backend:        {info.backend}")
    click.echo(f"location:       {info.url}")
    click.echo(f"schema:         version {info.schema_version} (this reconciler: "
               f"{info.latest_version})")
    if not current:
        click.echo(f"                run `reconciler state migrate --state {info.url}`")
        return
    jobs = ", ".join(f"{s} {n}" for s, n in info.jobs_by_status.items()) or "none"
    click.echo(f"jobs:           {jobs}")
    odd = ", ".join(f"{d} ({s})" for d, s in info.devices_not_operational.items()) or "none"
    click.echo(f"not operational: {odd}")
    for s in info.last_syncs:
        click.echo(f"last sync:      {s.branch} @ {s.commit} ({s.at:%Y-%m-%d %H:%M:%S} UTC)")
    click.echo(f"live leases:    {info.active_leases}")
    for x in lease_list:
        job = f" job {x.job_id}" if x.job_id is not None else ""
        click.echo(f"  {x.device:<24} {x.owner}{job} until {x.expires_at:%H:%M:%S} UTC")
