"""`reconciler jobs`: image installation jobs (SPEC 5; the source's "Install Jobs" page).

    jobs list                      newest first: status, devices, who, ticket
    jobs show ID [--transcript]    summary, per-device old/new images, commentary, history
    jobs abort ID                  start no new device (running ones finish their run)
    jobs retry ID                  a new job for the same devices from fresh discovery
    jobs rollback ID               a new job back to the images the job replaced
    jobs purge --older-than DAYS   delete finished jobs (with transcripts and commentary)
    jobs submit|approve|reject|discard|deploy ID   the approval workflow
    jobs recover                   settle what a crashed run left behind (apply does it too)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from reconciler.cli import runs
from reconciler.contract import ExitCode
from reconciler.core.model import DesiredState
from reconciler.errors import ConfigError, PermanentError, StalePlanError
from reconciler.store import Job, JobStatus, Store, TranscriptKind

_ARROW = {TranscriptKind.COMMAND: ">", TranscriptKind.RESPONSE: "<", TranscriptKind.ERROR: "!",
          TranscriptKind.NOTE: "#"}


@click.group("jobs")
def command() -> None:
    """Image installation jobs: list, show, abort, retry, rollback, purge, approval."""


def _open(root: Path, state_url: str | None) -> Store:
    from reconciler.store import open_store

    return open_store(state_url, root=root)


def _job(store: Store, ref: str) -> Job:
    return store.get_job(ref)


def _interrupted_note(out: Console, store: Store, actor: str) -> None:
    """The cheap half of recovery: runners that died are recorded; devices wait for apply."""
    from reconciler.executor.recovery import (interrupted_line, mark_interrupted_jobs,
                                              unsettled_devices)

    for job in mark_interrupted_jobs(store, actor):
        out.print(interrupted_line(job), style="yellow", markup=False)
    waiting = unsettled_devices(store)
    if waiting:
        out.print(f"{len(waiting)} device(s) of interrupted jobs await re-discovery "
                  f"({', '.join(n for n, _ in waiting)}): `reconciler jobs recover` (apply does "
                  "it first thing)", style="yellow", markup=False)


def _when(at: Any) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}" if at else "-"


# ---------------------------------------------------------------------------- list / show


@command.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in JobStatus]), help="Only jobs in this status.")
@click.option("--device", help="Only jobs that include this device.")
@click.option("--ticket", "ticket_id", help="Only jobs with this ticket id.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@runs.store_options
def list_(statuses: tuple[str, ...], device: str | None, ticket_id: str | None, limit: int,
          fmt: str, root: Path, images_dir: Path | None, state_url: str | None,
          actor: str | None) -> None:
    """List jobs, newest first."""
    out = runs.console()
    with _open(root, state_url) as store:
        if fmt == "text":
            _interrupted_note(out, store, runs.actor_name(actor))
        jobs = store.list_jobs(statuses=[JobStatus(s) for s in statuses] or None,
                               ticket_id=ticket_id, device=device, limit=limit)
        if fmt == "json":
            click.echo(json.dumps([_job_dict(j) for j in jobs], indent=2))
            return
        if not jobs:
            out.print("no jobs")
            return
        t = Table(show_edge=False, pad_edge=False)
        for col in ("id", "name", "status", "devices", "created", "by", "finished", "ticket",
                    "origin"):
            t.add_column(col)
        for j in jobs:
            s = j.summary
            devices = f"{s.to_deploy}: {s.succeeded} ok, {s.failed} failed" + (
                f", {s.aborted + s.skipped + s.interrupted} other"
                if s.aborted + s.skipped + s.interrupted else "")
            origin = (f"retry of {j.retry_of}" if j.retry_of else
                      f"rollback of {j.rollback_of}" if j.rollback_of else "")
            t.add_row(str(j.id), j.name, _status(j.status), devices, _when(j.created_at),
                      j.created_by, _when(j.finished_at), j.ticket_id or "", origin)
        out.print(t)


def _status(status: JobStatus) -> str:
    style = {JobStatus.DEPLOYED: "green", JobStatus.FAILED: "red", JobStatus.INTERRUPTED: "red",
             JobStatus.DEPLOYING: "cyan"}.get(status, "yellow")
    return f"[{style}]{status}[/{style}]"


def _job_dict(j: Job) -> dict[str, Any]:
    props = j.properties.to_dict()
    extra = props.pop("extra", {})
    props["sequential_devices"] = extra.get("sequential", [])
    props["maintenance_windows_ignored"] = bool(extra.get("ignore_windows"))
    return {
        "id": j.id, "name": j.name, "status": str(j.status), "description": j.description,
        "ticket_id": j.ticket_id, "commit": j.commit, "plan_fingerprint": j.plan_fingerprint,
        "properties": props, "approval_required": j.approval_required,
        "created_by": j.created_by, "submitted_by": j.submitted_by,
        "approved_by": j.approved_by, "created_at": _iso(j.created_at),
        "scheduled_at": _iso(j.scheduled_at), "started_at": _iso(j.started_at),
        "finished_at": _iso(j.finished_at), "abort_requested_by": j.abort_requested_by,
        "retry_of": j.retry_of, "rollback_of": j.rollback_of,
        "summary": {"to_deploy": j.summary.to_deploy, "succeeded": j.summary.succeeded,
                    "failed": j.summary.failed, "aborted": j.summary.aborted,
                    "skipped": j.summary.skipped, "interrupted": j.summary.interrupted,
                    "pending": j.summary.pending, "running": j.summary.running},
    }


def _iso(at: Any) -> str | None:
    return at.isoformat() if at else None


@command.command("show")
@click.argument("job_ref")
@click.option("--device", help="Only this device's records.")
@click.option("--transcript", "with_transcript", is_flag=True,
              help="Include every command sent and every answer (secrets redacted).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@runs.store_options
def show(job_ref: str, device: str | None, with_transcript: bool, fmt: str, root: Path,
         images_dir: Path | None, state_url: str | None, actor: str | None) -> None:
    """A job: summary, per-device old/new images and status, commentary, history, transcript."""
    out = runs.console()
    with _open(root, state_url) as store:
        if fmt == "text":
            _interrupted_note(out, store, runs.actor_name(actor))
        job = _job(store, job_ref)
        devices = [d for d in store.job_devices(job.id) if device is None or d.device == device]
        if device is not None and not devices:
            raise ConfigError(f"device {device} is not part of job {job.id}",
                              hint="devices: " + ", ".join(
                                  d.device for d in store.job_devices(job.id)))
        history = store.job_history(job.id)
        states = store.device_state_history(device, job_id=job.id)
        commentary = store.commentary(job.id, device)
        transcript = store.transcript(job.id, device) if with_transcript else []
        if fmt == "json":
            doc = _job_dict(job)
            doc["devices"] = [{"device": d.device, "status": str(d.status),
                               "old_images": dict(d.old_images), "new_images": dict(d.new_images),
                               "started_at": _iso(d.started_at),
                               "finished_at": _iso(d.finished_at), "message": d.message}
                              for d in devices]
            doc["history"] = [{"at": _iso(h.at), "from": str(h.from_status) if h.from_status
                               else None, "to": str(h.to_status), "actor": h.actor,
                               "comment": h.comment} for h in history]
            doc["device_states"] = [{"at": _iso(c.at), "device": c.device,
                                     "from": str(c.from_state), "to": str(c.to_state),
                                     "actor": c.actor, "reason": c.reason} for c in states]
            doc["commentary"] = [{"at": _iso(c.at), "device": c.device, "text": c.text}
                                 for c in commentary]
            if with_transcript:
                doc["transcript"] = [{"at": _iso(e.at), "device": e.device, "member": e.member,
                                      "kind": str(e.kind), "text": e.text} for e in transcript]
            click.echo(json.dumps(doc, indent=2))
            return
        _print_job(out, store, job, device)
        if history:
            out.print("\n[bold]history[/bold]")
            for h in history:
                frm = f"{h.from_status} -> " if h.from_status else ""
                out.print(f"  {_when(h.at)}  {frm}{h.to_status}  by {h.actor}"
                          + (f"  {h.comment}" if h.comment else ""), markup=False)
        if states:
            out.print("\n[bold]device states[/bold]")
            for change in states:
                out.print(f"  {_when(change.at)}  {change.device}: {change.from_state} -> "
                          f"{change.to_state}  by {change.actor}"
                          + (f"  ({change.reason})" if change.reason else ""), markup=False)
        if commentary:
            out.print("\n[bold]commentary[/bold]")
            for c in commentary:
                out.print(f"  {_when(c.at)}  {c.device or 'job'}: {c.text}", markup=False)
        if with_transcript:
            out.print(f"\n[bold]transcript[/bold] ({len(transcript)} entries)")
            for e in transcript:
                who = f"{e.device}/{e.member}" if e.member and e.member != e.device else e.device
                lines = e.text.splitlines() or [""]
                out.print(f"  {e.at:%H:%M:%S.%f}"[:-3] + f" {who} {_ARROW[e.kind]} {lines[0]}",
                          markup=False, highlight=False)
                for line in lines[1:]:
                    out.print(f"  {' ' * 12} {who}   {line}", markup=False, highlight=False)


def _print_job(out: Console, store: Store, job: Job, device: str | None) -> None:
    p = job.properties
    extra = p.extra
    out.print(f"[bold]job {job.id} {job.name}[/bold]: {_status(job.status)}")
    if job.description:
        out.print(f"  description: {job.description}", markup=False)
    out.print(f"  ticket: {job.ticket_id or '-'}   commit: {job.commit or '(working tree)'}   "
              f"plan: {job.plan_fingerprint or '-'}", markup=False)
    out.print(f"  created {_when(job.created_at)} by {job.created_by}; started "
              f"{_when(job.started_at)}; finished {_when(job.finished_at)}", markup=False)
    if job.approval_required:
        out.print(f"  approval: submitted by {job.submitted_by or '-'}, approved by "
                  f"{job.approved_by or '-'}", markup=False)
    seq = extra.get("sequential") or []
    out.print(f"  properties: order {p.order}"
              + (f" (one at a time among {', '.join(seq)})" if seq else "")
              + f", max_parallel {p.max_parallel}, on_error {p.on_error}, operation "
              f"{p.operation}, backup {'yes' if p.backup_current_image else 'no'}, "
              f"non-intrusive {'yes' if p.non_intrusive else 'no'}, schedule "
              f"{_when(p.schedule)}"
              + (", maintenance windows ignored" if extra.get("ignore_windows") else ""),
              markup=False)
    if job.retry_of:
        out.print(f"  retry of job {job.retry_of}")
    if job.rollback_of:
        out.print(f"  rollback of job {job.rollback_of}")
    if job.abort_requested_by:
        out.print(f"  abort requested by {job.abort_requested_by} at "
                  f"{_when(job.abort_requested_at)}", markup=False)
    out.print(f"  summary: {runs.summary_line(job)}")
    out.print(runs.job_table(store, job, device=device))


# ---------------------------------------------------------------------------- abort / purge


@command.command("abort")
@click.argument("job_ref")
@runs.store_options
def abort(job_ref: str, root: Path, images_dir: Path | None, state_url: str | None,
          actor: str | None) -> None:
    """Stop starting devices. Sequential: every device not yet started is aborted. Parallel:
    running devices finish their run, later ones never start. A one-device job runs to the end."""
    with _open(root, state_url) as store:
        job = store.request_abort(_job(store, job_ref).id, actor=runs.actor_name(actor))
        how = ("devices not yet started are aborted" if str(job.properties.order) == "sequential"
               else "running devices finish their run, later ones never start")
        click.echo(f"abort requested for job {job.id} {job.name}: {how}")


@command.command("purge")
@click.option("--older-than", "days", required=True, type=click.FloatRange(min=0),
              help="Delete finished jobs that ended more than this many days ago.")
@runs.store_options
def purge(days: float, root: Path, images_dir: Path | None, state_url: str | None,
          actor: str | None) -> None:
    """Delete finished jobs older than N days, with their transcripts and commentary (jobs that
    have not finished are never purged)."""
    with _open(root, state_url) as store:
        names = store.purge_jobs(days)
    click.echo(f"purged {len(names)} job(s)" + (f": {', '.join(names)}" if names else ""))


# ---------------------------------------------------------------------------- approval


def _workflow(name: str, method: str, doc: str) -> None:
    @command.command(name, help=doc)
    @click.argument("job_ref")
    @click.option("--comment", default="", help="Recorded in the job's history.")
    @runs.store_options
    def cmd(job_ref: str, comment: str, root: Path, images_dir: Path | None,
            state_url: str | None, actor: str | None) -> None:
        with _open(root, state_url) as store:
            job = getattr(store, method)(_job(store, job_ref).id, actor=runs.actor_name(actor),
                                         comment=comment)
        nxt = {JobStatus.SUBMITTED: f"an approver runs `reconciler jobs approve {job.id}`",
               JobStatus.APPROVED: f"run it with `reconciler jobs deploy {job.id}`",
               JobStatus.REJECTED: "edit the plan and create a new job, or discard it",
               JobStatus.DISCARDED: "it will never run"}.get(job.status, "")
        click.echo(f"job {job.id} {job.name} is {job.status}" + (f": {nxt}" if nxt else ""))


_workflow("submit", "submit_job", "Submit a created job for approval.")
_workflow("approve", "approve_job", "Approve a submitted job (not your own, unless allowed).")
_workflow("reject", "reject_job", "Reject a submitted job.")
_workflow("discard", "discard_job", "Discard a job that has not run; it never will.")


# ---------------------------------------------------------------------------- running


def _run(coro_fn: Any, *args: Any) -> None:
    runs.run_async(coro_fn(*args))


@command.command("deploy")
@click.argument("job_ref")
@click.option("--no-wait", is_flag=True,
              help="Before its start time or window: leave it scheduled and exit.")
@click.option("--progress", type=click.Choice(["auto", "bars", "lines"]), default="auto",
              show_default=True)
@runs.store_options
def deploy(job_ref: str, no_wait: bool, progress: str, root: Path, images_dir: Path | None,
           state_url: str | None, actor: str | None) -> None:
    """Run an approved (or scheduled) job, after checking its plan is still current."""
    _run(_deploy, job_ref, no_wait, progress, root, images_dir, state_url,
         runs.actor_name(actor))


def _deploy_hint(job: Job) -> str:
    """What to do instead of deploying a job in `job.status`."""
    if job.status in (JobStatus.FAILED, JobStatus.ABORTED, JobStatus.INTERRUPTED):
        return (f"run its devices again as a new job from fresh discovery: "
                f"`reconciler jobs retry {job.id}`")
    if job.status is JobStatus.CREATED:
        return f"it needs approval: `reconciler jobs submit {job.id}`, then an approver approves it"
    if job.status is JobStatus.SUBMITTED:
        return f"an approver runs `reconciler jobs approve {job.id}` first, then deploy it"
    return ("only approved or scheduled jobs (or created jobs without approval) are deployed; "
            "plan and apply anew for another change")


async def _deploy(job_ref: str, no_wait: bool, progress: str, root: Path,
                  images_dir: Path | None, state_url: str | None, actor: str) -> ExitCode:
    from reconciler.executor import job_plan
    from reconciler.executor.session import Session
    from reconciler.planning import load_desired_state

    out = runs.console()
    desired, _ = load_desired_state(root)
    async with Session(runs.workspace(root, images_dir, state_url), actor=actor) as s:
        runs.print_recovery(out, await s.recover(desired))
        job = _job(s.store, job_ref)
        if job.status not in (JobStatus.APPROVED, JobStatus.SCHEDULED) and not (
                job.status is JobStatus.CREATED and not job.approval_required):
            raise PermanentError(f"job {job.name} is {job.status} and cannot be deployed",
                                 code="ILLEGAL_TRANSITION", hint=_deploy_hint(job))
        try:
            await s.check_fresh(job_plan(job), desired)
        except StalePlanError as e:
            raise StalePlanError(f"job {job.name}'s plan is stale: {e.message}",
                                 hint=f"discard it (`reconciler jobs discard {job.id}`) and "
                                      "create a new job from a new plan") from None
        return await runs.start_or_schedule(s, job, desired, out, no_wait=no_wait,
                                            progress=progress)


NewJob = Callable[..., Coroutine[Any, Any, ExitCode]]


def _new_job_command(name: str, doc: str) -> Callable[[NewJob], NewJob]:
    def deco(fn: NewJob) -> NewJob:
        @command.command(name, help=doc)
        @click.argument("job_ref")
        @click.option("--auto-approve", is_flag=True, help="Run the new job without asking.")
        @runs.job_options
        @runs.store_options
        def cmd(job_ref: str, auto_approve: bool, root: Path, images_dir: Path | None,
                state_url: str | None, actor: str | None, **job_kw: Any) -> None:
            _run(fn, job_ref, auto_approve, job_kw, root, images_dir, state_url,
                 runs.actor_name(actor))

        return fn

    return deco


def _changed(job_kw: dict[str, Any]) -> dict[str, Any]:
    """Options the operator gave for the new job (the rest follow the original job)."""
    req = runs.request_from_options(job_kw)
    out: dict[str, Any] = {}
    for key in ("name", "ticket_id", "on_error", "order", "max_parallel", "not_before"):
        if getattr(req, key) is not None:
            out[key] = getattr(req, key)
    if req.description:
        out["description"] = req.description
    if req.ignore_windows:
        out["ignore_windows"] = True
    if req.approval_required:
        out["approval_required"] = True
        out["allow_self_approval"] = req.allow_self_approval
    return out


async def _new_job(kind: str, job_ref: str, auto_approve: bool, job_kw: dict[str, Any],
                   root: Path, images_dir: Path | None, state_url: str | None,
                   actor: str) -> ExitCode:
    import sys

    from reconciler.core.overrides import with_overrides
    from reconciler.executor import request_from, rollback_targets, runnable
    from reconciler.executor.session import Session
    from reconciler.planning import load_revision_checked
    from reconciler.render.text import print_plan

    out = runs.console()
    rev = load_revision_checked(root)
    desired, findings = rev.desired, rev.findings
    if not auto_approve and not sys.stdin.isatty():
        raise ConfigError(f"jobs {kind} needs --auto-approve without a terminal to confirm on",
                          code="USAGE")
    async with Session(runs.workspace(root, images_dir, state_url), actor=actor) as s:
        runs.print_recovery(out, await s.recover(desired))
        old = _job(s.store, job_ref)
        names = [d.device for d in s.store.job_devices(old.id)]
        if kind == "retry":
            if old.status not in (JobStatus.FAILED, JobStatus.ABORTED, JobStatus.INTERRUPTED):
                raise PermanentError(f"job {old.name} is {old.status}; only failed, aborted or "
                                     "interrupted jobs are retried", code="ILLEGAL_TRANSITION",
                                     hint="roll back a deployed job instead, or plan anew")
            plan_state: DesiredState = desired
            notes: list[str] = []
        else:
            targets, notes = rollback_targets(s.store, old)
            if not targets:
                out.print(f"nothing to roll back: job {old.id} changed no device", markup=False)
                return ExitCode.OK
            names = sorted(targets)
            plan_state = with_overrides(desired, reason=f"rollback of job {old.id}",
                                        targets=targets)
        gone = sorted(set(names) - set(desired.inventory))
        if gone:
            raise ConfigError(f"job {old.id} includes device(s) no longer in the inventory: "
                              f"{', '.join(gone)}", code="UNKNOWN_DEVICE",
                              hint="add them back to inventory/devices.yaml, or plan the others "
                                   "with `reconciler apply --device`")
        for n in notes:
            out.print(f"note: {n}", markup=False)
        saved, resolved = await s.plan(plan_state, names, findings=findings, dirty=rev.dirty)
        print_plan(saved.plan, out)
        if not runnable(saved.plan):
            out.print(f"nothing to {kind}: every device of job {old.id} is where it should be, "
                      "or blocked (see above)", markup=False)
            return ExitCode.OK if not any(d.blocked for d in saved.plan.devices) \
                else ExitCode.ERROR
        if not auto_approve and not click.confirm(f"Run this {kind} as a new job?",
                                                  default=False):
            out.print("not run")
            return ExitCode.OK
        request = request_from(old, **_changed(job_kw))
        job = s.create(saved, request, resolved, origin=kind,
                       retry_of=old.id if kind == "retry" else None,
                       rollback_of=old.id if kind == "rollback" else None)
        out.print(f"job {job.id} {job.name} created as the {kind} of job {old.id}", markup=False)
        if job.approval_required:
            out.print(f"it runs after approval: reconciler jobs submit {job.id}, then approve, "
                      "then deploy", markup=False)
            return ExitCode.OK
        return await runs.start_or_schedule(s, job, desired, out,
                                            no_wait=job_kw.get("no_wait", False),
                                            progress=job_kw.get("progress", "auto"))


@_new_job_command("retry", "Retry a failed, aborted or interrupted job: a new job for the same "
                           "devices, planned from fresh discovery (a half-done step is never "
                           "resumed).")
async def _retry(*args: Any) -> ExitCode:
    return await _new_job("retry", *args)


@_new_job_command("rollback", "Roll a job back: a new job that takes its devices back to the "
                              "images it replaced, planned and validated like any other.")
async def _rollback(*args: Any) -> ExitCode:
    return await _new_job("rollback", *args)


@command.command("recover")
@runs.store_options
def recover_cmd(root: Path, images_dir: Path | None, state_url: str | None,
                actor: str | None) -> None:
    """Find jobs whose runner died, mark them interrupted and re-discover their devices."""
    _run(_recover, root, images_dir, state_url, runs.actor_name(actor))


async def _recover(root: Path, images_dir: Path | None, state_url: str | None,
                   actor: str) -> ExitCode:
    from reconciler.executor.session import Session
    from reconciler.planning import load_desired_state

    out = runs.console()
    desired, _ = load_desired_state(root)
    async with Session(runs.workspace(root, images_dir, state_url), actor=actor) as s:
        report = await s.recover(desired)
    if report.empty:
        out.print("nothing to recover")
    runs.print_recovery(out, report)
    return ExitCode.OK
