"""`reconciler validate`: load and check the whole desired-state repository, offline.

Prints each problem as `file:line: CODE message` (the form editors and CI annotations link
from), then a summary line. A problem that several devices share is printed once with the
devices it affects. Exit 0 when there is no error (warnings are shown but pass unless
`--strict`), 1 otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from reconciler.contract import ExitCode, Severity
from reconciler.core.findings import Finding
from reconciler.core.resolve import resolve_fleet
from reconciler.loader import DirectorySource, YamlLimits, load_desired
from reconciler.loader.yamlio import DEFAULT_LIMITS, parse_size

_MAX_DEVICES_SHOWN = 5


@dataclass(slots=True)
class Problem:
    """One finding as printed: shared by all the devices it affects."""

    finding: Finding
    devices: list[str] = field(default_factory=list)

    def text(self) -> str:
        line = self.finding.line()
        if self.devices:
            shown = ", ".join(self.devices[:_MAX_DEVICES_SHOWN])
            more = len(self.devices) - _MAX_DEVICES_SHOWN
            line += f" [device{'s' if len(self.devices) > 1 else ''}: {shown}"
            line += f", +{more} more]" if more > 0 else "]"
        return line

    def to_dict(self) -> dict[str, Any]:
        out = self.finding.to_dict()
        if self.devices:
            out["devices"] = self.devices
        return out


def collect(findings: list[Finding]) -> list[Problem]:
    """Merge per-device copies of one problem and drop those the static checks already report
    at the same place; sort by file and line."""
    static = {(f.code, f.location) for f in findings if f.device is None}
    merged: dict[tuple[Any, ...], Problem] = {}
    for f in findings:
        if f.device is not None and (f.code, f.location) in static:
            continue
        key = (f.code, f.location, f.message, f.member)
        p = merged.get(key)
        if p is None:
            p = merged[key] = Problem(f)
        if f.device is not None and f.device not in p.devices:
            p.devices.append(f.device)
    return sorted(merged.values(), key=lambda p: (
        p.finding.location.file if p.finding.location else "~",
        p.finding.location.line or 0 if p.finding.location else 0,
        str(p.finding.code), p.finding.message))


def run_validate(repo: Path, limits: YamlLimits = DEFAULT_LIMITS
                 ) -> tuple[list[Problem], dict[str, Any]]:
    source = DirectorySource(repo)
    desired, findings = load_desired(source, limits)
    _, resolve_findings = resolve_fleet(desired)
    problems = collect(findings + resolve_findings)
    summary = {
        "errors": sum(1 for p in problems if p.finding.severity is Severity.ERROR),
        "warnings": sum(1 for p in problems if p.finding.severity is Severity.WARNING),
        "images": len(desired.images),
        "bundles": len(desired.bundles),
        "groups": len(desired.groups),
        "overrides": len(desired.devices),
        "devices": len(desired.inventory),
        "content_digest": desired.content_digest,
    }
    return problems, summary


@click.command("validate")
@click.option("--repo", "repo", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The desired-state repository (holds desired/ and "
              "inventory/).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--max-file-size", default=str(DEFAULT_LIMITS.max_bytes), show_default=True,
              envvar="RECONCILER_MAX_FILE_SIZE",
              help="Refuse YAML files larger than this (bytes, or 32MiB, 64M, ...).")
def command(repo: Path, fmt: str, strict: bool, max_file_size: str) -> None:
    """Check the image catalog, fleet policy and inventory; resolve every device's targets."""
    if not repo.is_dir():
        raise click.BadParameter(f"{repo} is not a directory", param_hint="--repo")
    try:
        max_bytes = parse_size(max_file_size)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--max-file-size") from None
    limits = YamlLimits(max_bytes=max_bytes, max_depth=DEFAULT_LIMITS.max_depth,
                        max_expanded_nodes=DEFAULT_LIMITS.max_expanded_nodes)
    problems, summary = run_validate(repo, limits)
    failed = summary["errors"] > 0 or (strict and summary["warnings"] > 0)
    if fmt == "json":
        click.echo(json.dumps({"ok": not failed, "summary": summary,
                               "findings": [p.to_dict() for p in problems]}, indent=2))
    else:
        for p in problems:
            click.echo(p.text())
        click.echo(_summary_line(summary, failed))
    if failed:
        raise click.exceptions.Exit(ExitCode.ERROR)


def _summary_line(s: dict[str, Any], failed: bool) -> str:
    counts = (f"{s['images']} images, {s['bundles']} bundles, {s['groups']} groups, "
              f"{s['overrides']} overrides, {s['devices']} devices")
    if not s["errors"] and not s["warnings"]:
        return f"validate: OK ({counts})"
    verdict = "FAILED" if failed else "OK with warnings"
    return (f"validate: {verdict}: {s['errors']} error{'s' * (s['errors'] != 1)}, "
            f"{s['warnings']} warning{'s' * (s['warnings'] != 1)} ({counts})")
