"""`reconciler device fetch-file NAME PATH [-o DEST]`: download a file from the device (only from
the active unit of a pair or the control unit of a cluster, as the seed says), streamed to a
hidden partial file, checked against the device's own sha-512 and renamed into place."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.device_cmds._common import FORMAT_VERSION, Options, common_options
from reconciler.cli.output import emit_json, human_size, progress_bar, show_progress


@click.command("fetch-file")
@click.argument("name")
@click.argument("path")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Local file or directory [default: the file's name in the current directory].")
@click.option("--member", default=None, metavar="M",
              help="The unit to download from; only the active/control unit is accepted.")
@click.option("--overwrite", is_flag=True, help="Replace an existing local file.")
@click.option("--no-verify", is_flag=True, help="Skip the device-side sha-512 check of the bytes received.")
@common_options
def command(opts: Options, name: str, path: str, output: Path | None, member: str | None, overwrite: bool,
            no_verify: bool) -> None:
    """Download PATH (disk0:/FILE or a file name) from device NAME."""
    from reconciler.devices.fetch import fetch_file

    device = opts.device(name)
    with progress_bar(show_progress() and not opts.json, f"{name} {path}") as progress:
        result = opts.run(device, lambda drv: fetch_file(drv, path, output, member=member, overwrite=overwrite,
                                                         verify=not no_verify, progress=progress))
    if opts.json:
        emit_json({"format_version": FORMAT_VERSION, "device": result.device, "member": result.member,
                   "path": result.path, "output": str(result.dest), "size": result.size, "sha256": result.sha256,
                   "sha512": result.sha512, "verified": result.verified, "ok": True})
        return
    check = "verified by the device (sha-512)" if result.verified else "not verified (--no-verify)"
    click.echo(f"fetched {result.path} from {result.member} to {result.dest}: {result.size} bytes "
               f"({human_size(result.size)}), sha256 {result.sha256}, {check}")
