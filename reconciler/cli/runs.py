"""What `apply`, `jobs` and `demo` share: options, the session, running a job with live progress
and Ctrl-C handling, and the job summary at the end."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import getpass
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from reconciler.contract import ExitCode
from reconciler.core.model import DesiredState, DeviceState, OnError, Order
from reconciler.executor import JobRequest, JobResult, RecoveryReport
from reconciler.executor.session import Session, Workspace
from reconciler.store import Job, JobDeviceStatus, JobStatus, Store
from reconciler.store.errors import IllegalTransitionError


def actor_name(given: str | None = None) -> str:
    if given:
        return given
    env = os.environ.get("RECONCILER_ACTOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid-{os.getuid()}"


def store_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--repo, --images, --state, --actor."""

    @click.option("--repo", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
                  show_default=True, help="The desired-state repository (desired/, inventory/).")
    @click.option("--images", "images_dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Local image repository (default .reconciler/images).")
    @click.option("--state", "state_url", envvar="RECONCILER_STATE", metavar="URL",
                  help="State store (SQLite path or postgresql:// URL; default "
                       ".reconciler/state.db).")
    @click.option("--actor", help="Who is acting, for the job record (default $RECONCILER_ACTOR "
                                  "or the login name).")
    @functools.wraps(f)
    def wrapper(*a: Any, **kw: Any) -> Any:
        return f(*a, **kw)

    return wrapper


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601; a time without a zone is local time."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time like 2026-01-10T01:00 or "
                                 "2026-01-10T01:00+09:00", param_hint="--not-before") from None
    if at.tzinfo is None:
        at = at.astimezone()
    return at.astimezone(UTC)


def job_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The job properties an operator may set (SPEC 5; the source's job "Properties" tab)."""

    @click.option("--name", "job_name", help="Job name (default image-install-<timestamp>).")
    @click.option("--description", default="", help="What the job is for.")
    @click.option("--ticket", "ticket_id", help="Change ticket id (any string; searchable).")
    @click.option("--on-error", type=click.Choice([e.value for e in OnError]),
                  help="stop: start no new device after a failure; continue: go on "
                       "(default: from the devices' policy).")
    @click.option("--order", type=click.Choice([o.value for o in Order]),
                  help="parallel (up to --max-parallel at once) or sequential (default: policy).")
    @click.option("--max-parallel", type=click.IntRange(1, 1000),
                  help="Devices at once in a parallel job (default: policy).")
    @click.option("--not-before", metavar="TIME",
                  help="Start no earlier than this (ISO 8601, e.g. 2026-01-10T01:00+09:00).")
    @click.option("--no-wait", is_flag=True,
                  help="Outside the start time or maintenance window: record the job as "
                       "scheduled and exit instead of waiting.")
    @click.option("--ignore-maintenance-windows", "ignore_windows", is_flag=True,
                  help="Emergency change: run outside the devices' maintenance windows (recorded "
                       "in the job).")
    @click.option("--require-approval", is_flag=True,
                  help="Create the job for the approval workflow (submit, approve, deploy) "
                       "instead of running it.")
    @click.option("--allow-self-approval", is_flag=True,
                  help="With --require-approval: the submitter may approve the job.")
    @click.option("--progress", type=click.Choice(["auto", "bars", "lines"]), default="auto",
                  show_default=True, help="Live progress: bars on a terminal, lines otherwise.")
    @functools.wraps(f)
    def wrapper(*a: Any, **kw: Any) -> Any:
        return f(*a, **kw)

    return wrapper


def request_from_options(kw: dict[str, Any]) -> JobRequest:
    return JobRequest(
        name=kw.get("job_name"), description=kw.get("description") or "",
        ticket_id=kw.get("ticket_id"),
        on_error=OnError(kw["on_error"]) if kw.get("on_error") else None,
        order=Order(kw["order"]) if kw.get("order") else None,
        max_parallel=kw.get("max_parallel"), not_before=parse_time(kw.get("not_before")),
        ignore_windows=bool(kw.get("ignore_windows")),
        approval_required=bool(kw.get("require_approval")),
        allow_self_approval=bool(kw.get("allow_self_approval")))


def workspace(root: Path, images_dir: Path | None, state_url: str | None) -> Workspace:
    from reconciler.paths import image_repo_dir

    return Workspace(root, images_dir or image_repo_dir(root), state_url)


def console() -> Console:
    """Terminal width on a terminal; wide enough for the tables in logs and pipes."""
    import sys

    return Console(soft_wrap=False, highlight=False,
                   width=None if sys.stdout.isatty() else 160)


def print_recovery(out: Console, report: RecoveryReport) -> None:
    if report.empty:
        return
    out.print("[bold]recovery[/bold]: a previous run did not finish; its devices were "
              "re-discovered first", style="yellow")
    for line in report.lines():
        out.print(f"  {line}", markup=False)


async def run_job(session: Session, job: Job, desired: DesiredState, out: Console, *,
                  progress: str = "auto") -> JobResult:
    """Run with live progress. First Ctrl-C (or SIGTERM): no new device starts, running ones
    finish (an abort); a second one stops now and leaves the job interrupted."""
    from reconciler.render.progress import progress_for

    loop = asyncio.get_running_loop()
    hits = 0

    def on_signal() -> None:
        nonlocal hits
        hits += 1
        runner = session.runner
        if runner is None:
            return
        if hits == 1:
            try:
                session.store.request_abort(job.id, actor=session.actor)
                out.print("abort requested: no new device starts, running devices finish their "
                          "run; press Ctrl-C again to stop now", style="yellow")
            except IllegalTransitionError as e:
                out.print(f"{e.message}; press Ctrl-C again to stop it now (the job will be "
                          "interrupted and its device re-discovered by the next run)",
                          style="yellow", markup=False)
            runner.request_stop(f"abort requested by {session.actor} (interrupt)")
        else:
            runner.hard_stop()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    live = None if progress == "auto" else progress == "bars"
    try:
        with progress_for(out, live=live) as events:
            return await session.run(job, desired, events=events)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def job_table(store: Store, job: Job, *, brief: bool = False, device: str | None = None) -> Table:
    """Per device: status, old -> new image per type, device state and what to know (`brief`:
    notes cut to one line; `jobs show` has them whole)."""
    t = Table(title=f"job {job.id} {job.name}: {job.status}", title_justify="left",
              show_edge=False, pad_edge=False)
    for col in ("device", "status", "type", "old image", "new image", "device state", "note"):
        t.add_column(col, overflow="fold")
    devices = [d for d in store.job_devices(job.id) if device is None or d.device == device]
    states = store.device_states([d.device for d in devices])
    for d in devices:
        state = states[d.device]
        style = {"succeeded": "green", "failed": "red"}.get(str(d.status), "yellow")
        if d.status is JobDeviceStatus.SUCCEEDED:
            note = state.reason if state.state is DeviceState.CONFIGURATION_REQUIRED else ""
        else:
            note = d.message
        if brief and len(note) > 90:
            note = note[:89] + "…"
        kinds = sorted(d.new_images) or [""]
        for i, kind in enumerate(kinds):
            first = i == 0
            t.add_row(d.device if first else "", f"[{style}]{d.status}[/{style}]" if first else "",
                      kind, d.old_images.get(kind, "-"), d.new_images.get(kind, ""),
                      str(state.state) if first else "", note if first else "")
    return t


def summary_line(job: Job) -> str:
    s = job.summary
    parts = [f"to deploy {s.to_deploy}", f"succeeded {s.succeeded}", f"failed {s.failed}"]
    for label, n in (("aborted", s.aborted), ("skipped", s.skipped),
                     ("interrupted", s.interrupted)):
        if n:
            parts.append(f"{label} {n}")
    return ", ".join(parts)


def print_result(out: Console, store: Store, job: Job) -> None:
    out.print(job_table(store, job))
    style = "green" if job.status is JobStatus.DEPLOYED else "red"
    out.print(f"job {job.id} {job.name}: [{style}]{job.status}[/{style}] — {summary_line(job)}")
    if job.status is not JobStatus.DEPLOYED:
        out.print(f"details: reconciler jobs show {job.id} --transcript; to try again from fresh "
                  f"discovery: reconciler jobs retry {job.id}", markup=False)


def exit_code(job: Job) -> ExitCode:
    if job.status is JobStatus.DEPLOYED:
        return ExitCode.OK
    if job.status is JobStatus.INTERRUPTED:
        return ExitCode.INTERRUPTED
    return ExitCode.ERROR


async def start_or_schedule(session: Session, job: Job, desired: DesiredState, out: Console, *,
                            no_wait: bool, progress: str, report: bool = True) -> ExitCode:
    """Wait for the job's start time/window (or schedule it and return), run it, report."""
    ready = await session.wait_for_start(job, no_wait=no_wait)
    if ready is None:
        job = session.store.get_job(job.id)
        at = job.scheduled_at
        when = f"{at:%Y-%m-%d %H:%M} UTC" if at else "later"
        out.print(f"job {job.id} {job.name} is scheduled for {when} (its start time or the "
                  f"devices' maintenance window); run `reconciler jobs deploy {job.id}` then, "
                  "or let the daemon start it", markup=False)
        return ExitCode.OK
    try:
        result = await run_job(session, ready, desired, out, progress=progress)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        out.print(f"job {job.id} stopped: it is recorded as interrupted; the next run "
                  "re-discovers its devices before anything else", style="red")
        return ExitCode.INTERRUPTED
    if report:
        print_result(out, session.store, result.job)
    stopped_here = session.runner is not None and session.runner.stop_reason is not None
    if stopped_here and result.job.status is JobStatus.ABORTED:
        return ExitCode.INTERRUPTED  # Ctrl-C / SIGTERM stopped the job before its end
    return exit_code(result.job)


def run_async(coro: Any) -> None:
    """Run a command's coroutine and exit with its code; a policy that cannot be planned and a
    stale plan are reported the way `plan` reports them (exit 1 and 3)."""
    from reconciler.errors import StalePlanError
    from reconciler.planning import UnplannableError

    try:
        code = asyncio.run(coro)
    except UnplannableError as e:
        for f in e.findings:
            click.echo(f"error: {f.line()} — {f.action}", err=True)
        click.echo(f"nothing done: fix the {len(e.findings)} error(s) above", err=True)
        code = ExitCode.ERROR
    except StalePlanError as e:
        click.echo(f"error: {e}", err=True)
        code = ExitCode.STALE_PLAN
    click.get_current_context().exit(code)
