"""`reconciler device delete-file NAME PATH [--member M | --all-members] [--force]`: free space
on a member. Refuses a running image, a boot-list entry or the ASDM image unless --force (then it
warns), as the seed's manager warns before deleting an image that is active and referenced."""

from __future__ import annotations

from typing import Any

import click

from reconciler.cli.device_cmds._common import FORMAT_VERSION, Options, common_options, error_dict, warn
from reconciler.cli.output import emit_json, human_size
from reconciler.contract import ExitCode
from reconciler.devices.files import DeleteResult


def result_dict(r: DeleteResult) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "device": r.device, "path": r.path, "forced": r.forced,
            "dry_run": r.dry_run, "ok": r.ok, "warnings": list(r.warnings),
            "members": [{"member": m.check.member, "path": m.check.file.path, "size": m.check.file.size,
                         "uses": sorted(str(u) for u in m.check.file.uses), "deleted": m.deleted,
                         "free_after": m.free_after, "error": error_dict(m.error) if m.error else None}
                        for m in r.members]}


@click.command("delete-file")
@click.argument("name")
@click.argument("path")
@click.option("--member", default=None, metavar="M",
              help="The unit whose disk holds the file (needed for a pair or cluster).")
@click.option("--all-members", is_flag=True, help="Delete the file on every unit that holds it.")
@click.option("--force", is_flag=True,
              help="Delete even a running image, a boot-list entry or the ASDM image (with a warning).")
@click.option("--dry-run", is_flag=True, help="Check and show what would be deleted; delete nothing.")
@common_options
def command(opts: Options, name: str, path: str, member: str | None, all_members: bool, force: bool,
            dry_run: bool) -> None:
    """Delete PATH (disk0:/FILE, disk1:/FILE or a file name) on a member of device NAME."""
    from reconciler.devices.files import delete_file

    device = opts.device(name)
    result = opts.run(device, lambda drv: delete_file(drv, path, member=member, all_members=all_members,
                                                      force=force, dry_run=dry_run))
    for w in result.warnings:
        warn(w)
    if opts.json:
        emit_json(result_dict(result))
    else:
        for m in result.members:
            where = f"{m.check.file.path} ({human_size(m.check.file.size)}) on {m.check.member}"
            if result.dry_run:
                click.echo(f"would delete {where}")
            elif m.error is not None:
                click.echo(f"error: {m.error}", err=True)
            else:
                free = f"; {m.check.file.disk} now has {human_size(m.free_after)} free" if m.free_after is not None else ""
                click.echo(f"deleted {where}{free}")
    if not result.ok:
        raise click.exceptions.Exit(ExitCode.ERROR)
