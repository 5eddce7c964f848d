"""The git side of `reconciler plan`: pull-request mode output and GitHub annotations.

`reconciler.cli.plan` keeps its options and flow; it calls `run_pr_mode` for `--base/--head`
and `emit_annotations` where findings are known. Annotations go to stderr so stdout stays the
document (a PR comment redirected to a file); the GitHub runner reads workflow commands from
both streams.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import click

from reconciler.cli.validate import collect
from reconciler.contract import ExitCode
from reconciler.core.findings import Finding
from reconciler.errors import ConfigError, Location
from reconciler.gitops.annotations import annotate, in_github_actions
from reconciler.gitops.prmode import (
    PrPlan,
    SnapshotLoader,
    StatesLoader,
    StatusLoader,
    plan_pull_request,
)


def annotations_wanted(flag: bool | None) -> bool:
    """`--annotations/--no-annotations`, else on inside GitHub Actions."""
    return in_github_actions() if flag is None else flag


def emit_annotations(findings: Iterable[Finding], *, prefix: str = "",
                     locations: Mapping[str, Location] | None = None) -> None:
    for line in annotate(findings, prefix=prefix, device_locations=locations):
        click.echo(line, err=True)


def github_link_base(commit: str, env: Mapping[str, str] | None = None) -> str | None:
    """`https://github.com/owner/repo/blob/<commit>/` inside GitHub Actions, else None."""
    e = env if env is not None else os.environ
    server, repo = e.get("GITHUB_SERVER_URL"), e.get("GITHUB_REPOSITORY")
    return f"{server.rstrip('/')}/{repo}/blob/{commit}/" if server and repo else None


def run_pr_mode(*, repo: str, base: str | None, head: str | None, snapshot: SnapshotLoader,
                image_status: StatusLoader, device_states: StatesLoader,
                fatal: Callable[[list[Finding]], list[Finding]], only: set[str] | None,
                fmt: str, out: Path | None, detailed: bool, steps: bool,
                annotations: bool | None, fetch: bool = True) -> ExitCode:
    if base is None:
        raise ConfigError("--head needs --base: the revision the pull request is compared with",
                          code="USAGE", hint="e.g. --base origin/main --head HEAD")
    pr = plan_pull_request(repo, base, head or "HEAD", snapshot=snapshot,
                           image_status=image_status, device_states=device_states, fatal=fatal,
                           only=only, fetch=fetch)
    if annotations_wanted(annotations):
        for line in pr.annotations():
            click.echo(line, err=True)
    if out is not None:
        _save(pr, out)
    if fmt == "markdown":
        from reconciler.gitops.comment import render_pr_markdown

        sys.stdout.write(render_pr_markdown(pr, link_base=github_link_base(pr.head)))
    elif fmt == "json":
        doc = pr.plan.to_dict()
        doc["pr"] = pr.to_dict()
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_text(pr, steps=steps)
    return pr.exit_code(detailed)


def _save(pr: PrPlan, out: Path) -> None:
    if not pr.planned or pr.snapshot is None:
        click.echo(f"not saved to {out}: nothing was planned", err=True)
        return
    from reconciler.core.plan.fingerprint import saved_plan
    from reconciler.loader.plan import save_plan

    save_plan(saved_plan(pr.plan, pr.snapshot.devices), out)
    click.echo(f"plan of the PR's devices saved to {out} ({pr.plan.fingerprint[:23]}…)",
               err=True)


def _print_text(pr: PrPlan, *, steps: bool) -> None:
    echo = click.echo
    echo(f"Pull request: base {pr.base[:12]} (merge base of {pr.base_ref}) -> head "
         f"{pr.head[:12]} ({pr.head_ref})")
    for note in (pr.changes.base_incomplete, pr.changes.head_incomplete):
        if note:
            echo(f"warning: {note}")
    problems = collect(list(pr.problems))
    if problems:
        echo("Validation problems:")
        for p in problems:
            echo(f"  {p.text()}")
    if pr.changes.planned:
        echo(f"Devices this PR changes ({len(pr.changes.planned)}):")
        for c in pr.changes.planned:
            echo(f"  {c.device}: {'; '.join(c.reasons)}")
    else:
        echo("This PR changes no device's images or steps.")
    if pr.planned and (pr.plan.devices or pr.plan.fleet_findings):
        from rich.console import Console

        from reconciler.render.text import print_plan

        print_plan(pr.plan, Console(soft_wrap=False), steps=steps)
    elif pr.fatal:
        echo(f"not planned: fix the {len(pr.fatal)} error(s) above")
    elif not pr.planned and pr.changes.planned:
        echo("not planned: no observed state (--inventory SNAPSHOT or --discover)")
    if pr.drifting:
        echo(f"Already drifting, not changed by this PR ({len(pr.drifting)}): "
             + ", ".join(d.device for d in pr.drifting))
    if pr.changes.removed:
        echo("Removed from the inventory: " + ", ".join(c.device for c in pr.changes.removed))
    if pr.changes.unplanned:
        echo(f"Other changes, nothing to re-plan ({len(pr.changes.unplanned)}):")
        for c in pr.changes.unplanned:
            echo(f"  {c.device}: {'; '.join(c.reasons)}")
