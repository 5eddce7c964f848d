"""`reconciler device storage NAME [--member M]`: each member's disks, free space and files, and
which files are running, in the boot list or the ASDM image (and so are kept by deletes and by
the planner's cleanup)."""

from __future__ import annotations

from typing import Any

import click

from reconciler.cli.device_cmds._common import FORMAT_VERSION, Options, common_options
from reconciler.cli.output import emit_json, human_size, print_table
from reconciler.core.storage import DeviceStorage, DiskStatus, FileUse, MemberStorage


def _disk_dict(d: DiskStatus) -> dict[str, Any]:
    return {"name": d.name, "size": d.size, "free": d.free, "used": d.used, "reclaimable": d.reclaimable,
            "files": [{"name": f.name, "path": f.path, "size": f.size, "running": FileUse.RUNNING in f.uses,
                       "boot": f.boot_index if FileUse.BOOT in f.uses else None, "asdm": FileUse.ASDM in f.uses,
                       "webvpn": FileUse.VPN in f.uses, "in_use": f.in_use, "deletable": f.deletable} for f in d.files]}


def storage_dict(s: DeviceStorage) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "device": s.device, "mode": str(s.mode), "ok": True,
            "members": [{"name": m.name, "role": str(m.role), "reachable": m.reachable,
                         "running_image": m.running_image, "boot": list(m.boot), "asdm_image": m.asdm_image,
                         "disks": [_disk_dict(d) for d in m.disks]} for m in s.members]}


def _print_member(m: MemberStorage) -> None:
    click.echo(f"{m.name} ({m.role})" + ("" if m.reachable else ": UNREACHABLE, its disks are unknown"))
    if not m.reachable:
        return
    if m.running_image:
        click.echo(f"  running: {m.running_image}")
    click.echo("  boot:    " + (", ".join(m.boot) or "(no boot system lines: boots the first image on disk0)"))
    if m.asdm_image:
        click.echo(f"  asdm:    {m.asdm_image}")
    if not m.disks:
        click.echo("  no disks reported")
    for d in m.disks:
        click.echo(f"  {d.name}: {human_size(d.size)} total, {human_size(d.free)} free ({d.percent_free}%), "
                   f"{len(d.files)} file(s), {human_size(d.reclaimable)} reclaimable")
        if d.files:
            print_table(("FILE", "BYTES", "SIZE", "IN USE"),
                        [(f.name, str(f.size), human_size(f.size), f.describe_uses() or "-") for f in d.files],
                        right=("BYTES", "SIZE"), indent=4)


@click.command("storage")
@click.argument("name")
@click.option("--member", "members", multiple=True, metavar="M",
              help="Only this member (repeatable; default: every unit of the pair or cluster).")
@common_options
def command(opts: Options, name: str, members: tuple[str, ...]) -> None:
    """List each member's disks (size, free), files, and which files are running or referenced
    by a boot line or the ASDM image. Reads the device now (fresh discovery)."""
    from reconciler.devices.files import read_storage

    device = opts.device(name)
    _, storage = opts.run(device, lambda drv: read_storage(drv, members))
    if opts.json:
        emit_json(storage_dict(storage))
        return
    n = len(storage.members)
    click.echo(f"{storage.device}: {storage.mode}, {n} member{'s' if n != 1 else ''} shown")
    for m in storage.members:
        _print_member(m)
    unreachable = [m.name for m in storage.members if not m.reachable]
    if unreachable:
        click.echo(f"warning: {', '.join(unreachable)} did not answer; their storage is unknown", err=True)
