"""`reconciler device test-copy NAME [--disk D] [--size SIZE]...`: check, before a job, that a
transfer from the reconciler to each member's install disk works — the seed's "Test File Copy",
its first step for an HTTP 413 and for "Invalid flash device". Reports per member; exit 1 when a
job's copy to some member would fail or a probe could not be removed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from reconciler.cli.device_cmds._common import FORMAT_VERSION, Options, common_options, warn
from reconciler.cli.output import emit_json, human_size, print_table
from reconciler.contract import ExitCode, Severity
from reconciler.core.model import DesiredState, InventoryDevice
from reconciler.core.observed import ObservedDevice
from reconciler.devices.testcopy import DEFAULT_PROBE_SIZE, ProbeReport
from reconciler.errors import ConfigError


def _sizes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[int, ...]:
    from reconciler.loader.yamlio import parse_size

    try:
        return tuple(parse_size(v) for v in values)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _load_desired(opts: Options, devices: dict[str, InventoryDevice]) -> DesiredState:
    from reconciler.loader import DirectorySource, load_desired

    desired, findings = load_desired(DirectorySource(opts.repo))
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        warn(f"the desired state in {opts.repo} has {len(errors)} error(s) (`reconciler validate` lists them); "
             "the install location is resolved from what loaded")
    # the inventory given with --inventory is the one whose devices we talk to
    return replace(desired, inventory=devices)


def install_disk(desired: DesiredState, facts: ObservedDevice) -> str:
    """The device's resolved `install_location` (defaults < groups < device), for its observed
    model and mode."""
    from reconciler.core.resolve import resolve_device

    resolved, findings = resolve_device(desired, facts.name, facts.model, facts.mode)
    if any(f.code == "UNKNOWN_DEVICE" for f in findings):
        raise ConfigError(f"{facts.name} is not in the desired state's inventory, so its install_location "
                          "is unknown", hint="pass --disk disk0 (or disk1)")
    return str(resolved.settings.install_location)


def report_dict(r: ProbeReport) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "device": r.device, "disk": r.disk, "probe": r.probe,
            "sizes": list(r.sizes), "ok": r.ok, "leftovers": list(r.leftovers), "leftover_check": r.leftover_check,
            "members": [{"member": m.member, "role": str(m.role), "status": str(m.status), "code": m.code,
                         "blocking": m.blocking, "message": m.message, "advice": m.advice,
                         "cleanup": m.cleanup, "cleanup_message": m.cleanup_message or None,
                         "attempts": [{"size": a.size, "status": str(a.status), "code": a.code,
                                       "message": a.message, "temporary": a.temporary, "max_bytes": a.max_bytes}
                                      for a in m.attempts]} for m in r.members]}


def _print(r: ProbeReport) -> None:
    sizes = ", ".join(human_size(s) for s in r.sizes)
    click.echo(f"{r.device}: test copy of {sizes} to {r.disk} on each member (probe {r.probe})")
    print_table(("MEMBER", "ROLE", "RESULT", "CODE", "DETAIL"),
                [(m.member, str(m.role), str(m.status), m.code or "-", m.message) for m in r.members])
    for m in r.members:
        if m.advice and m.status.value != "ok":
            click.echo(f"{m.member}: {m.advice}")
    failed = [m for m in r.members if m.cleanup == "failed"]
    for m in failed:
        warn(f"could not delete the probe on {m.member}: {m.cleanup_message}")
    if r.leftovers:
        for member in r.leftovers:
            warn(f"the probe {r.probe} is still on {member}: delete it with `reconciler device delete-file "
                 f"{r.device} {r.probe} --member {member}`")
    elif r.leftover_check != "done":
        warn(f"could not confirm the probe was removed ({r.leftover_check}); check with "
             f"`reconciler device storage {r.device}`")
    elif any(m.cleanup != "not-needed" for m in r.members):
        click.echo(f"probe removed from every member ({r.disk} re-read to confirm)")
    blocking = [m.member for m in r.members if m.blocking]
    click.echo(f"{len(r.members) - len(blocking)} of {len(r.members)} member(s) can receive images on {r.disk}")


@click.command("test-copy")
@click.argument("name")
@click.option("--disk", default=None, metavar="D",
              help="The disk to test [default: the device's resolved install_location].")
@click.option("--member", "members", multiple=True, metavar="M", help="Only this member (repeatable).")
@click.option("--size", "sizes", multiple=True, callback=_sizes, metavar="SIZE",
              help=f"Probe size (repeatable, e.g. --size 64KiB --size 16MiB to see whether large requests "
                   f"get HTTP 413) [default: {DEFAULT_PROBE_SIZE // 1024}KiB].")
@common_options
def command(opts: Options, name: str, disk: str | None, members: tuple[str, ...], sizes: tuple[int, ...]) -> None:
    """Copy a small probe file to each member's install disk of device NAME over HTTPS, verify it
    on the device and delete it; report per member (ok, HTTP 413, disk missing, disk full,
    transfer error code with its meaning and advice)."""
    from reconciler.devices.testcopy import run_test_copy

    devices = opts.devices()
    from reconciler.devices.session import find_device

    device = find_device(devices, name)
    desired = _load_desired(opts, devices) if disk is None else None

    async def op(drv: Any) -> ProbeReport:
        facts = await drv.get_facts()
        target = disk if desired is None else install_disk(desired, facts)
        assert target is not None
        return await run_test_copy(drv, disk=target.lower(), sizes=sizes or (DEFAULT_PROBE_SIZE,), members=members,
                               facts=facts)

    report = opts.run(device, op)
    if opts.json:
        emit_json(report_dict(report))
    else:
        _print(report)
    if not report.ok:
        raise click.exceptions.Exit(ExitCode.ERROR)
