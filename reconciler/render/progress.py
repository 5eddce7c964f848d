"""Live progress of a job: per-device bars on a terminal, timestamped lines elsewhere (CI logs).

Both are `reconciler.executor.Events` listeners. The bars show, per device, the step it is on
(x/N), what that step does (unit, image) and its status; retries, failures and skipped devices
are printed above the bars as they happen. The plain form prints one line per event, so a CI
log reads as a timeline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reconciler.core.model import DeviceState
from reconciler.core.plan import Step
from reconciler.executor.actions import describe
from reconciler.executor.events import Events
from reconciler.store import JobDeviceStatus

_STYLE = {JobDeviceStatus.SUCCEEDED: "green", JobDeviceStatus.FAILED: "red",
          JobDeviceStatus.ABORTED: "yellow", JobDeviceStatus.SKIPPED: "yellow",
          JobDeviceStatus.INTERRUPTED: "red"}


def interactive(console: Console) -> bool:
    """Bars only on a terminal, never under CI."""
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return console.is_terminal and not ci


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


class PlainProgress(Events):
    """`12:00:01 fw-branch-01 [3/12] verify-copy disk0:/asa941-lfbff-k8.SPA on fw-branch-01`."""

    def __init__(self, console: Console, *, steps: bool = True) -> None:
        self.console = console
        self.steps = steps

    def _line(self, text: str, style: str | None = None) -> None:
        self.console.print(f"{_now()} {text}", style=style, highlight=False, soft_wrap=True,
                           markup=False)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def job_started(self, job_id: int, name: str, devices: Sequence[str], slots: int) -> None:
        self._line(f"job {job_id} {name}: {len(devices)} device(s), {slots} at a time")

    def job_waiting(self, until: str, why: str) -> None:
        self._line(f"waiting until {until}: {why}", "yellow")

    def device_started(self, device: str, steps: int) -> None:
        self._line(f"{device}: started ({steps} steps)")

    def step_started(self, device: str, index: int, total: int, step: Step) -> None:
        if self.steps:
            self._line(f"{device} [{index}/{total}] {describe(step)}")

    def step_retry(self, device: str, step: Step, attempt: int, error: str, delay: float) -> None:
        self._line(f"{device}: {step.action} will be tried again (attempt {attempt}) in "
                   f"{delay:.1f}s: {error}", "yellow")

    def commentary(self, device: str | None, text: str) -> None:
        if device is None or "not touched" in text or text.startswith("no new device"):
            self._line(f"{device + ': ' if device else ''}{text}")

    def device_finished(self, device: str, status: JobDeviceStatus, state: DeviceState | None,
                        message: str) -> None:
        tail = f" (device {state})" if state else ""
        text = message if status is not JobDeviceStatus.SUCCEEDED else "done"
        self._line(f"{device}: {status}{tail}: {text}", _STYLE.get(status))

    def job_finished(self, job_id: int, status: str) -> None:
        self._line(f"job {job_id}: {status}", "green" if status == "deployed" else "red")


class RichProgress(Events):
    """One bar per device: `fw-dc-pair ━━━━━━╸━━━ 23/55 reload primary via secondary  0:00:04`."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.fields[device]:<16}"), BarColumn(bar_width=28),
            MofNCompleteColumn(), TextColumn("{task.fields[status]:<10}"),
            TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
            console=console, transient=False, refresh_per_second=8)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.__exit__(et, e, tb)

    def _print(self, text: str, style: str | None = None) -> None:
        self.progress.console.print(text, style=style, highlight=False, markup=False,
                                    soft_wrap=True)

    def _task(self, device: str) -> TaskID:
        if device not in self.tasks:
            self.tasks[device] = self.progress.add_task("", total=None, device=device,
                                                        status="waiting", start=False)
        return self.tasks[device]

    def job_started(self, job_id: int, name: str, devices: Sequence[str], slots: int) -> None:
        self._print(f"job {job_id} {name}: {len(devices)} device(s), {slots} at a time", "bold")
        for d in devices:
            self._task(d)

    def job_waiting(self, until: str, why: str) -> None:
        self._print(f"waiting until {until}: {why}", "yellow")

    def device_started(self, device: str, steps: int) -> None:
        t = self._task(device)
        self.progress.start_task(t)
        self.progress.update(t, total=steps, completed=0, status="running")

    def step_started(self, device: str, index: int, total: int, step: Step) -> None:
        self.progress.update(self._task(device), description=describe(step))

    def step_finished(self, device: str, index: int, total: int, step: Step, result: str) -> None:
        self.progress.update(self._task(device), completed=index)

    def step_retry(self, device: str, step: Step, attempt: int, error: str, delay: float) -> None:
        self.progress.update(self._task(device), status=f"retry {attempt}")
        self._print(f"{device}: {step.action} will be tried again (attempt {attempt}): {error}",
                    "yellow")

    def commentary(self, device: str | None, text: str) -> None:
        if device is None and not text.startswith("runner "):
            self._print(text)

    def device_finished(self, device: str, status: JobDeviceStatus, state: DeviceState | None,
                        message: str) -> None:
        t = self._task(device)
        label = str(status) if state in (None, DeviceState.OPERATIONAL) else f"{status}"
        self.progress.update(t, status=label,
                             description=f"device {state}" if state else "not touched")
        if status is not JobDeviceStatus.SUCCEEDED:
            self._print(f"{device}: {status}: {message}", _STYLE.get(status))

    def job_finished(self, job_id: int, status: str) -> None:
        pass


def progress_for(console: Console, *, live: bool | None = None) -> RichProgress | PlainProgress:
    """Bars on a terminal, plain lines otherwise."""
    if live is None:
        live = interactive(console)
    return RichProgress(console) if live else PlainProgress(console)
