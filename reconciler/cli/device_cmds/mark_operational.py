"""`reconciler device mark-operational NAME --reason TEXT`: an operator's decision that a device
in maintenance or configuration-required is fit for upgrades again (the source's "Make Device
Operational"). The change is recorded in the device's state history with the reason; the
device's attempt counter (NOT_CONVERGING) starts again from zero.

Refused while a run is upgrading the device (it holds the device's lease): wait for it, or abort
its job.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.core.model import DeviceState
from reconciler.errors import ConfigError, PermanentError


@click.command("mark-operational")
@click.argument("name")
@click.option("--reason", required=True,
              help="What was fixed (recorded in the device's state history).")
@click.option("--repo", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The desired-state repository (for the inventory check).")
@click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
              help="State store (default .reconciler/state.db).")
@click.option("--actor", help="Who decides (default $RECONCILER_ACTOR or the login name).")
@click.option("--force", is_flag=True, help="Also for a device the inventory does not list.")
def command(name: str, reason: str, root: Path, state_url: str | None, actor: str | None,
            force: bool) -> None:
    """Return a device in maintenance or configuration-required to operational."""
    from reconciler.cli.runs import actor_name
    from reconciler.store import open_store

    if not reason.strip():
        raise ConfigError("--reason cannot be blank", code="USAGE",
                          hint="say what was fixed; it goes into the state history")
    if not force and (root / "inventory").is_dir():
        from reconciler.planning import load_desired_state

        from reconciler.devices.session import find_device

        desired, _ = load_desired_state(root)
        try:
            find_device(desired.inventory, name)
        except ConfigError as e:
            raise ConfigError(e.message, code=e.code,
                              hint="check the name, or use --force for a removed device") from None
    who = actor_name(actor)
    with open_store(state_url, root=root) as store:
        current = store.get_device_state(name)
        lease = store.lease(name)
        if lease is not None:
            raise PermanentError(f"{name} is being worked on by job {lease.job_id} (runner "
                                 f"{lease.owner})", code="DEVICE_LOCKED", device=name,
                                 hint="wait for the job to finish, or abort it "
                                      f"(`reconciler jobs abort {lease.job_id}`)")
        if current.state is DeviceState.OPERATIONAL:
            click.echo(f"{name} is already operational")
            store.reset_attempts(name)
            return
        store.set_device_state(name, DeviceState.OPERATIONAL, actor=who, reason=reason,
                               expected=current.state)
        store.reset_attempts(name)
    click.echo(f"{name}: {current.state} -> operational (by {who}: {reason})")
    if current.state is DeviceState.UPGRADE_IN_PROGRESS:
        click.echo(f"note: {name} was upgrade-in-progress with no run holding it (its job "
                   f"{current.job_id} was interrupted); the next plan starts from what it runs",
                   err=True)
