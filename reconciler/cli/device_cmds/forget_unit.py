"""`reconciler device forget-unit NAME UNIT`: an operator's word that a cluster unit left the
cluster for good.

A cluster lists only the units in it now, so the reconciler remembers every unit it has seen in
each cluster (reconciler.core.membership): a known unit missing from `show cluster info` is
treated as unreachable — it blocks plans (`STANDBY_UNREACHABLE`) and crash recovery waits for
it — instead of being silently dropped. After a unit is removed for good, forget it here. A
unit the cluster lists again is learned again at the next discovery.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.errors import PermanentError


@click.command("forget-unit")
@click.argument("name")
@click.argument("unit")
@click.option("--repo", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The desired-state repository (where .reconciler/ lives).")
@click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
              help="State store (default .reconciler/state.db).")
def command(name: str, unit: str, root: Path, state_url: str | None) -> None:
    """Forget a unit that left cluster NAME for good (it no longer blocks plans)."""
    from reconciler.store import open_store

    with open_store(state_url, root=root) as store:
        known = store.cluster_units([name]).get(name, ())
        if unit not in known:
            raise PermanentError(
                f"{unit} is not a known unit of {name}", code="UNKNOWN_MEMBER", device=name,
                hint=(f"known units: {', '.join(known)}" if known else
                      f"no units of {name} are known (it was never discovered as a cluster)"))
        left = store.forget_cluster_unit(name, unit)
    click.echo(f"{name}: {unit} forgotten; units known now: {', '.join(left or ()) or 'none'}")
