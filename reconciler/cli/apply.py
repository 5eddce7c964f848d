"""`reconciler apply`: run exactly a saved plan, or plan and run in one go.

    reconciler plan --discover --out plan.json      # review it
    reconciler apply plan.json                      # re-discovers; refuses a stale plan (exit 3)
    reconciler apply --auto-approve                 # discover, plan, print, run

Before anything else the run recovers from a previous run that died (its job is marked
interrupted and its devices re-discovered). Devices blocked in the plan are never touched.
Exit codes: 0 the job deployed (or nothing to do, or it was scheduled / created for approval),
1 the job failed or was aborted or the input is bad, 3 the saved plan is stale, 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli import runs
from reconciler.contract import ExitCode
from reconciler.core.model import Operation
from reconciler.errors import ConfigError


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plan", "plan_option", type=click.Path(dir_okay=False, path_type=Path),
              help="Same as the PLAN argument.")
@click.option("--auto-approve", is_flag=True,
              help="Without PLAN: plan and run without asking (the plan is printed first).")
@click.option("--device", "devices", multiple=True, metavar="NAME",
              help="Without PLAN: plan and run only these devices (repeatable).")
@click.option("--operation", type=click.Choice([o.value for o in Operation]),
              help="Without PLAN: install-and-reload, install-no-reload or copy-only for this "
                   "run (default: policy).")
@click.option("--backup/--no-backup", default=None,
              help="Without PLAN: back up the running system image first (default: policy).")
@click.option("--non-intrusive", is_flag=True, default=None,
              help="Without PLAN: copy and verify only, never trigger a failover.")
@click.option("--submit", is_flag=True, help="With --require-approval: submit the job at once.")
@click.option("--allow-dirty", is_flag=True,
              help="With PLAN: apply a plan made from uncommitted changes to desired/ or "
                   "inventory/ (refused by default: nobody reviewed those edits).")
@click.option("--branch", metavar="BRANCH",
              help="Refuse a plan whose commit is not on this branch of --repo (e.g. a plan "
                   "made from an unmerged pull request).")
@runs.job_options
@runs.store_options
def command(plan_file: Path | None, plan_option: Path | None, auto_approve: bool,
            devices: tuple[str, ...],
            operation: str | None, backup: bool | None, non_intrusive: bool | None,
            submit: bool, allow_dirty: bool, branch: str | None, root: Path,
            images_dir: Path | None, state_url: str | None, actor: str | None,
            **job_kw: Any) -> None:
    """Apply a saved plan, or plan and apply with --auto-approve."""
    if plan_file is not None and plan_option is not None and plan_file != plan_option:
        raise ConfigError("give the plan once (PLAN or --plan)", code="USAGE")
    plan_file = plan_file or plan_option
    overrides = {"--device": devices, "--operation": operation, "--backup": backup,
                 "--non-intrusive": non_intrusive}
    if plan_file is not None:
        given = [k for k, v in overrides.items() if v]
        if given:
            raise ConfigError(f"{', '.join(given)} cannot change a saved plan", code="USAGE",
                              hint="plan again with the settings you want, or apply without "
                                   "PLAN and with --auto-approve")
    elif not auto_approve and not sys.stdin.isatty():
        raise ConfigError("without a saved plan, apply needs --auto-approve (or a terminal to "
                          "confirm the plan)", code="USAGE",
                          hint="`reconciler plan --discover --out plan.json` then "
                               "`reconciler apply plan.json`")
    request = runs.request_from_options(job_kw)
    if operation or backup is not None or non_intrusive:
        from dataclasses import replace

        request = replace(request, operation=Operation(operation) if operation else None,
                          backup=backup, non_intrusive=non_intrusive or None)
    saved = None
    if plan_file is not None:
        from reconciler.loader.plan import load_plan

        saved = load_plan(plan_file)
        check_source(saved.plan.source, plan_file, root, branch=branch, allow_dirty=allow_dirty)
    runs.run_async(_apply(plan_file, saved, auto_approve, devices, request, submit, root,
                          images_dir, state_url, runs.actor_name(actor), job_kw, branch))


def check_source(source: Any, label: Path | str, root: Path, *, branch: str | None,
                 allow_dirty: bool) -> None:
    """Refuse, before anything touches a device, a plan made from unreviewed edits or (with
    --branch) from a commit that is not on the branch; the error names the plan."""
    from reconciler.errors import Location
    from reconciler.gitops.provenance import PlanSource, PlanSourceError, check_plan_source

    try:
        check_plan_source(PlanSource(source.commit, source.dirty, source.digest), repo=root,
                          branch=branch, allow_dirty=allow_dirty)
    except PlanSourceError as e:
        e.location = Location(str(label))
        raise


async def _apply(plan_file: Path | None, saved: Any, auto_approve: bool,
                 devices: tuple[str, ...], request: Any, submit: bool, root: Path,
                 images_dir: Path | None, state_url: str | None, actor: str,
                 job_kw: dict[str, Any], branch: str | None) -> ExitCode:
    from reconciler import planning
    from reconciler.core.plan.model import Source
    from reconciler.executor.jobs import runnable
    from reconciler.executor.session import Session
    from reconciler.render.text import print_plan

    out = runs.console()
    rev = planning.load_revision_checked(root)
    desired, findings = rev.desired, rev.findings
    if plan_file is None and branch is not None:
        # the operator confirms the printed plan, so local edits are theirs; the branch is not
        check_source(Source(desired.commit, "", rev.dirty), str(root), root, branch=branch,
                     allow_dirty=True)
    async with Session(runs.workspace(root, images_dir, state_url), actor=actor) as session:
        runs.print_recovery(out, await session.recover(desired))
        if plan_file is not None:
            snapshot = await session.check_fresh(saved, desired)
            resolved, _ = planning.resolve(desired, snapshot)
            out.print(f"plan {plan_file} ({saved.plan.fingerprint[:23]}…) is current: "
                      f"{len(runnable(saved.plan))} device(s) to change", markup=False)
        else:
            if devices:
                planning.check_devices(desired, devices)
            desired = _with_settings(desired, request, devices)
            saved, resolved = await session.plan(desired, devices or None, findings=findings,
                                                 dirty=rev.dirty)
            print_plan(saved.plan, out)
        plan = saved.plan
        blocked = [d.device for d in plan.devices if d.blocked]
        if blocked:
            out.print(f"blocked, not touched: {', '.join(blocked)} (see the plan for why and "
                      "what to do)", style="yellow", markup=False)
        if not runnable(plan):
            out.print("nothing to apply: every planned device is in sync or blocked")
            return ExitCode.OK
        if plan_file is None and not auto_approve and not click.confirm(
                "Apply these changes?", default=False):
            out.print("not applied")
            return ExitCode.OK
        job = session.create(saved, request, resolved)
        if request.approval_required:
            if submit:
                job = session.store.submit_job(job.id, actor=actor)
            out.print(f"job {job.id} {job.name} is {job.status}; it runs after approval: "
                      + (f"reconciler jobs submit {job.id}, then " if not submit else "")
                      + f"reconciler jobs approve {job.id}, then reconciler jobs deploy {job.id}",
                      markup=False)
            return ExitCode.OK
        return await runs.start_or_schedule(session, job, desired, out,
                                            no_wait=job_kw.get("no_wait", False),
                                            progress=job_kw.get("progress", "auto"))


def _with_settings(desired: Any, request: Any, devices: tuple[str, ...]) -> Any:
    """`--operation/--backup/--non-intrusive` as a per-device settings override, so the planner
    validates the steps they lead to (e.g. BACKUP_NOT_SUPPORTED on Firepower)."""
    patch: dict[str, Any] = {}
    if request.operation is not None:
        patch["operation"] = request.operation
    if request.backup is not None:
        patch["backup_current_image"] = request.backup
    if request.non_intrusive:
        patch["non_intrusive"] = True
    if not patch:
        return desired
    from reconciler.core.overrides import with_overrides

    names = devices or tuple(desired.inventory)
    return with_overrides(desired, reason="apply options " + ", ".join(
        f"{k}={v}" for k, v in sorted(patch.items())), settings={n: patch for n in names})
