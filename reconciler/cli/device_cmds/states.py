"""`reconciler device states [NAME] [--history]`: device states as the state store keeps them
(operational, upgrade-in-progress, configuration-required, maintenance), why, and since when."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("states")
@click.argument("name", required=False)
@click.option("--history", is_flag=True, help="Every state change (of NAME, or of all devices).")
@click.option("--all", "show_all", is_flag=True, help="Also list operational devices.")
@click.option("--repo", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True)
@click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
              help="State store (default .reconciler/state.db).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def command(name: str | None, history: bool, show_all: bool, root: Path, state_url: str | None,
            fmt: str) -> None:
    """Device states (not operational ones by default) and their history."""
    from rich.table import Table

    from reconciler.cli.runs import console as runs_console

    from reconciler.core.model import DeviceState
    from reconciler.store import open_store

    with open_store(state_url, root=root) as store:
        records = store.device_states([name] if name else None)
        changes = store.device_state_history(name) if history else []
    shown = [r for r in records.values()
             if name or show_all or r.state is not DeviceState.OPERATIONAL]
    if fmt == "json":
        click.echo(json.dumps({
            "devices": [{"device": r.device, "state": str(r.state), "reason": r.reason,
                         "job_id": r.job_id, "actor": r.actor,
                         "since": r.updated_at.isoformat() if r.updated_at else None}
                        for r in shown],
            "history": [{"at": c.at.isoformat(), "device": c.device, "from": str(c.from_state),
                         "to": str(c.to_state), "reason": c.reason, "job_id": c.job_id,
                         "actor": c.actor} for c in changes]}, indent=2))
        return
    out = runs_console()
    if not shown:
        out.print("every device is operational")
    else:
        t = Table(show_edge=False, pad_edge=False)
        for col in ("device", "state", "since", "by", "job", "reason"):
            t.add_column(col, overflow="fold")
        for r in shown:
            t.add_row(r.device, str(r.state),
                      f"{r.updated_at:%Y-%m-%d %H:%M:%S}" if r.updated_at else "-", r.actor or "-",
                      str(r.job_id or "-"), r.reason)
        out.print(t)
    for c in changes:
        out.print(f"{c.at:%Y-%m-%d %H:%M:%S}  {c.device}: {c.from_state} -> {c.to_state}  by "
                  f"{c.actor}" + (f"  job {c.job_id}" if c.job_id else "")
                  + (f"  ({c.reason})" if c.reason else ""), markup=False)
