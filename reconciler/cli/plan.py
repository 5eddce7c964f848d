"""`reconciler plan`: what would change, what is blocked and why, in text, JSON or Markdown.

Reads the desired state (desired/, inventory/), an observed snapshot (`--inventory`) or a fresh
discovery (`--discover`), the local image repository's status, then runs the pure planner.
A desired state with errors that are not about one device (a YAML syntax error, an unknown
image...) is not planned at all: a plan from half a policy would be wrong, not partial.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click

from reconciler.contract import ExitCode, FindingCode, Severity
from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState, DeviceState, ImageStatus, ResolvedDevice
from reconciler.core.observed import Snapshot
from reconciler.core.plan import Plan, plan_fleet
from reconciler.errors import ConfigError


def _load_desired(root: Path) -> tuple[DesiredState, list[Finding]]:
    from reconciler.loader import DirectorySource, load_desired

    return load_desired(DirectorySource(root))


def _load_snapshot(path: Path) -> Snapshot:
    from reconciler.loader import load_snapshot

    return load_snapshot(path)


def _discover(root: Path, desired: DesiredState, only: set[str] | None) -> Snapshot:
    """A fresh discovery of the inventory (or of `only`); unreachable devices become
    DiscoveryErrors in the snapshot, so they are reported by the plan, not fatal."""
    import asyncio

    try:
        from reconciler.discovery import DiscoveryOptions, discover
    except ImportError as e:  # the driver layer is an optional part of an installation
        raise ConfigError("discovery is not available in this installation",
                          hint="discover elsewhere with `reconciler discover --out snapshot.json` "
                               "and pass --inventory snapshot.json") from e
    from reconciler.core.model import CredentialRef
    from reconciler.loader.credentials import resolve_credential

    def resolver(ref: CredentialRef) -> str:
        return resolve_credential(ref, base_dir=root)

    devices = [d for n, d in sorted(desired.inventory.items()) if only is None or n in only]
    return asyncio.run(discover(devices, options=DiscoveryOptions(root=root), resolver=resolver))


def _image_status(images_dir: Path, desired: DesiredState) -> dict[str, ImageStatus]:
    from reconciler.images.repository import ImageRepository

    return ImageRepository(images_dir).status(desired.images)


def _resolve(desired: DesiredState, snapshot: Snapshot
             ) -> tuple[dict[str, ResolvedDevice], list[Finding]]:
    from reconciler.core.plan.planner import observed_models
    from reconciler.core.resolve import resolve_fleet

    return resolve_fleet(desired, observed_models(snapshot))


def _device_states(root: Path, state_url: str | None, names: Iterable[str]
                   ) -> dict[str, DeviceState]:
    """Device states from the state store. Without --state/$RECONCILER_STATE a store that does
    not exist yet means every device is operational: planning never creates one."""
    from reconciler.paths import sqlite_path
    from reconciler.store import open_store

    if state_url is None and not sqlite_path(root).exists():
        return {}
    with open_store(state_url, root=root) as store:
        return {n: r.state for n, r in store.device_states(names).items()}


# errors the planner finds again per device (blocking only the devices concerned)
_DEVICE_SCOPED = {FindingCode.BUNDLE_SYSTEM_IMAGES, FindingCode.UNSUPPORTED_IMAGE}


def fatal_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors that are not about one device: the desired state cannot be trusted as a whole."""
    return [f for f in findings
            if f.severity is Severity.ERROR and not f.device and f.code not in _DEVICE_SCOPED]


def exit_code(plan: Plan, detailed: bool) -> ExitCode:
    """Errors anywhere -> 1 (the plan is still printed); else with --detailed-exitcode 2 when
    something would change, 0 when nothing would."""
    if plan.has_errors:
        return ExitCode.ERROR
    if detailed and plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


def render(plan: Plan, fmt: str, *, steps: bool) -> str | None:
    if fmt == "json":
        from reconciler.render.json import render_json

        return render_json(plan)
    if fmt == "markdown":
        from reconciler.render.markdown import render_markdown

        return render_markdown(plan)
    return None  # text goes straight to the console (colours on a terminal)


@click.command("plan")
@click.option("--repo", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The desired-state repository (desired/, inventory/).")
@click.option("--inventory", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Observed snapshot (JSON or YAML) from `reconciler discover --out`.")
@click.option("--discover", is_flag=True, help="Discover the fleet now instead of reading a "
              "snapshot.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the plan (JSON with fingerprints) for `reconciler apply --plan`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes, 0 when none, 1 on errors.")
@click.option("--device", "devices", multiple=True, metavar="NAME",
              help="Plan only this device (repeatable).")
@click.option("--steps", is_flag=True, help="Text format: list every step of every device.")
@click.option("--images", "images_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Local image repository (default .reconciler/images).")
@click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
              help="State store with the device states (SQLite path or postgresql:// URL; "
                   "default .reconciler/state.db when it exists).")
def command(root: Path, snapshot_path: Path | None, discover: bool, fmt: str, out: Path | None,
            detailed_exitcode: bool, devices: tuple[str, ...], steps: bool,
            images_dir: Path | None, state_url: str | None) -> None:
    """Plan the image changes that bring the fleet to its desired state."""
    from reconciler.paths import image_repo_dir

    if discover == (snapshot_path is not None):
        # not a click usage error: its exit status 2 would read as "changes" to CI
        raise ConfigError("give exactly one of --inventory SNAPSHOT or --discover",
                          code="USAGE", hint="`reconciler discover --out snapshot.json` writes one")
    desired, load_findings = _load_desired(root)
    fatal = fatal_findings(load_findings)
    if fatal:
        _refuse(fatal)
    only = set(devices) if devices else None
    if only:
        unknown = sorted(only - set(desired.inventory))
        if unknown:
            raise ConfigError(f"unknown device(s): {', '.join(unknown)}",
                              hint="use names from inventory/devices.yaml")

    snapshot = _discover(root, desired, only) if discover else _load_snapshot(snapshot_path)  # type: ignore[arg-type]
    resolved, resolve_findings = _resolve(desired, snapshot)
    fatal = fatal_findings(resolve_findings)
    if fatal:
        _refuse(fatal)
    status = _image_status(images_dir or image_repo_dir(root), desired)
    states = _device_states(root, state_url, only or desired.inventory)
    plan = plan_fleet(desired, resolved, snapshot, status, device_states=states, only=only,
                      findings=[*load_findings, *resolve_findings])

    if out is not None:
        from reconciler.core.plan.fingerprint import saved_plan
        from reconciler.loader.plan import save_plan

        save_plan(saved_plan(plan, snapshot.devices), out)
    text = render(plan, fmt, steps=steps)
    if text is None:
        from rich.console import Console

        from reconciler.render.text import print_plan

        print_plan(plan, Console(soft_wrap=False), steps=steps)
        if out is not None:
            click.echo(f"plan saved to {out} ({plan.fingerprint[:23]}…)", err=True)
    else:
        sys.stdout.write(text)
    click.get_current_context().exit(exit_code(plan, detailed_exitcode))


def _refuse(findings: list[Finding]) -> None:
    for f in findings:
        click.echo(f"error: {f.line()} — {f.action}", err=True)
    click.echo(f"not planned: fix the {len(findings)} error(s) above (`reconciler validate` "
               "lists everything)", err=True)
    click.get_current_context().exit(ExitCode.ERROR)
