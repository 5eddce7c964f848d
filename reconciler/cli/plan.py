"""`reconciler plan`: what would change, what is blocked and why, in text, JSON or Markdown.

Reads the desired state (desired/, inventory/), an observed snapshot (`--inventory`) or a fresh
discovery (`--discover`), the local image repository's status, then runs the pure planner.
A desired state with errors that are not about one device (a YAML syntax error, an unknown
image...) is not planned at all: a plan from half a policy would be wrong, not partial.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.contract import ExitCode
from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState, DeviceState, ImageStatus, ResolvedDevice
from reconciler.core.observed import Snapshot
from reconciler.core.plan import Plan, plan_fleet
from reconciler import planning
from reconciler.errors import ConfigError
from reconciler.planning import fatal_findings

__all__ = ["command", "exit_code", "fatal_findings", "render"]

if TYPE_CHECKING:
    from reconciler.gitops.revision import Revision


def _load_desired(repo: str, ref: str | None, fetch: bool) -> Revision:
    """The files under `repo`, or with `--ref` the commit's tree (`repo` a path or a URL; a URL
    alone means the remote's default branch)."""
    from reconciler.gitops.revision import load_revision
    from reconciler.gitops.source import is_url

    if ref is None and not is_url(repo):
        return load_revision(repo)
    return load_revision(".", repo=repo, ref=ref or "HEAD", fetch=fetch)


def _local_root(repo: str) -> Path:
    """Where .reconciler/ (images, state, TLS material) lives: the repository when it is a
    directory here, else the current directory."""
    from reconciler.gitops.source import is_url

    return Path(".") if is_url(repo) else Path(repo)


def _load_snapshot(path: Path) -> Snapshot:
    from reconciler.loader import load_snapshot

    return load_snapshot(path)


def _discover(root: Path, desired: DesiredState, only: set[str] | None) -> Snapshot:
    return planning.discover_now(root, desired, only)


def _known_units(root: Path, state_url: str | None, snapshot: Snapshot) -> Snapshot:
    """Cluster units the state store knows but the snapshot's listing lacks (reloading, or
    gone) are added as unreachable, so such a cluster is never reported in sync."""
    return planning.stored_known_units(root, state_url, snapshot)


def _image_status(images_dir: Path, desired: DesiredState) -> dict[str, ImageStatus]:
    return planning.image_status(images_dir, desired)


def _resolve(desired: DesiredState, snapshot: Snapshot
             ) -> tuple[dict[str, ResolvedDevice], list[Finding]]:
    from reconciler.core.plan.planner import observed_models
    from reconciler.core.resolve import resolve_fleet

    return resolve_fleet(desired, observed_models(snapshot))


def _device_states(root: Path, state_url: str | None, names: Iterable[str]
                   ) -> dict[str, DeviceState]:
    return planning.stored_device_states(root, state_url, names)


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
@click.option("--repo", "repo", default=".", show_default=True, metavar="PATH_OR_URL",
              help="The desired-state repository (desired/, inventory/); with --ref or "
                   "--base/--head a git repository path or clone URL.")
@click.option("--ref", help="Plan the desired state of this commit (branch, tag, SHA, "
              "origin/main, HEAD~1) instead of the files on disk.")
@click.option("--base", help="Pull-request mode: the base revision (e.g. the target branch); "
              "only devices the PR changes are planned.")
@click.option("--head", help="Pull-request mode: the PR's revision (default HEAD).")
@click.option("--annotations/--no-annotations", default=None,
              help="Print GitHub Actions annotations for problems on stderr (default: on when "
                   "GITHUB_ACTIONS=true).")
@click.option("--fetch/--no-fetch", default=True, show_default=True,
              help="With a clone URL: fetch before reading (--no-fetch reads the cached mirror).")
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
def command(repo: str, ref: str | None, base: str | None, head: str | None,
            annotations: bool | None, fetch: bool, snapshot_path: Path | None, discover: bool,
            fmt: str, out: Path | None, detailed_exitcode: bool, devices: tuple[str, ...],
            steps: bool, images_dir: Path | None, state_url: str | None) -> None:
    """Plan the image changes that bring the fleet to its desired state."""
    from reconciler.gitops.plancli import (
        annotations_wanted,
        emit_annotations,
        run_pr_mode,
    )
    from reconciler.paths import image_repo_dir

    root = _local_root(repo)
    if discover and snapshot_path is not None:
        raise ConfigError("give only one of --inventory SNAPSHOT or --discover", code="USAGE")
    if base is not None or head is not None:
        if ref is not None:
            raise ConfigError("--ref does not go with --base/--head", code="USAGE",
                              hint="--head names the PR's revision")
        only_pr = set(devices) if devices else None
        click.get_current_context().exit(run_pr_mode(
            repo=repo, base=base, head=head, fatal=fatal_findings, only=only_pr, fmt=fmt,
            out=out, detailed=detailed_exitcode, steps=steps, annotations=annotations,
            fetch=fetch,
            snapshot=lambda d: (
                _known_units(root, state_url, _discover(root, d, only_pr)) if discover else
                _known_units(root, state_url, _load_snapshot(snapshot_path)) if snapshot_path
                else None),
            image_status=lambda d: _image_status(images_dir or image_repo_dir(root), d),
            device_states=lambda d: _device_states(root, state_url, only_pr or d.inventory)))
    if discover == (snapshot_path is not None):
        # not a click usage error: its exit status 2 would read as "changes" to CI
        raise ConfigError("give exactly one of --inventory SNAPSHOT or --discover",
                          code="USAGE", hint="`reconciler discover --out snapshot.json` writes one")
    rev = _load_desired(repo, ref, fetch)
    desired, load_findings = rev.desired, rev.findings
    annotate = annotations_wanted(annotations)
    locations = {n: d.loc for n, d in desired.inventory.items() if d.loc is not None}
    fatal = fatal_findings(load_findings)
    if fatal:
        if annotate:
            emit_annotations(fatal, prefix=rev.prefix, locations=locations)
        _refuse(fatal)
    only = set(devices) if devices else None
    if only:
        unknown = sorted(only - set(desired.inventory))
        if unknown:
            raise ConfigError(f"unknown device(s): {', '.join(unknown)}",
                              hint="use names from inventory/devices.yaml")

    snapshot = _discover(root, desired, only) if discover else _load_snapshot(snapshot_path)  # type: ignore[arg-type]
    snapshot = _known_units(root, state_url, snapshot)
    resolved, resolve_findings = _resolve(desired, snapshot)
    fatal = fatal_findings(resolve_findings)
    if fatal:
        if annotate:
            emit_annotations(fatal, prefix=rev.prefix, locations=locations)
        _refuse(fatal)
    status = _image_status(images_dir or image_repo_dir(root), desired)
    states = _device_states(root, state_url, only or desired.inventory)
    plan = plan_fleet(desired, resolved, snapshot, status, device_states=states, only=only,
                      findings=[*load_findings, *resolve_findings])
    if rev.dirty:
        plan = replace(plan, source=replace(plan.source, dirty=True))
    if annotate:
        emit_annotations([*plan.fleet_findings, *(f for d in plan.devices for f in d.findings)],
                         prefix=rev.prefix, locations=locations)

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
