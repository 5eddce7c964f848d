"""Live progress: plain timestamped lines (CI) and per-device bars (a terminal); a listener that
fails is dropped without disturbing the job."""

from __future__ import annotations

import io

import pytest

from rich.console import Console

from reconciler.contract import StepAction
from reconciler.core.model import DeviceState
from reconciler.core.plan import Step
from reconciler.executor.events import Events, Fanout
from reconciler.render.progress import PlainProgress, RichProgress, progress_for
from reconciler.store import JobDeviceStatus

STEP = Step(9, StepAction.RELOAD, "secondary", via="primary", image="asa941-smp-k8.bin",
            version="9.4(1)", hop=2)


def drive(events: Events) -> None:
    events.job_started(3, "image-install-x", ["fw-dc-pair", "fw-branch-01"], 4)
    events.device_started("fw-dc-pair", 55)
    events.step_started("fw-dc-pair", 9, 55, STEP)
    events.step_retry("fw-dc-pair", STEP, 2, "FTP-426 connection closed", 1.5)
    events.step_finished("fw-dc-pair", 9, 55, STEP, "secondary is reloading")
    events.device_finished("fw-dc-pair", JobDeviceStatus.SUCCEEDED, DeviceState.OPERATIONAL, "ok")
    events.commentary("fw-branch-01", "fw-branch-01: DEVICE_LOCKED ...; not touched — wait")
    events.device_finished("fw-branch-01", JobDeviceStatus.SKIPPED, None, "DEVICE_LOCKED x")
    events.job_finished(3, "failed")


def test_plain_lines_form_a_timeline() -> None:
    buf = io.StringIO()
    with PlainProgress(Console(file=buf, width=200)) as p:
        drive(p)
    lines = buf.getvalue().splitlines()
    assert lines[0].endswith("job 3 image-install-x: 2 device(s), 4 at a time")
    assert any("fw-dc-pair [9/55] reload secondary via primary [hop 2]: reload into 9.4(1)" in x
               for x in lines)
    assert any("will be tried again (attempt 2) in 1.5s: FTP-426" in x for x in lines)
    assert any("fw-branch-01: skipped: DEVICE_LOCKED x" in x for x in lines)
    assert lines[-1].endswith("job 3: failed")


def test_bars_render_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    buf = io.StringIO()
    console = Console(file=buf, width=160, force_terminal=True)
    p = progress_for(console)
    assert isinstance(p, RichProgress)
    with p:
        drive(p)
    text = buf.getvalue()
    assert "fw-dc-pair" in text and "9/55" in text and "attempt 2" in text
    assert "fw-branch-01: skipped: DEVICE_LOCKED x" in text


def test_not_a_terminal_means_lines() -> None:
    assert isinstance(progress_for(Console(file=io.StringIO())), PlainProgress)


def test_a_failing_listener_is_dropped_not_fatal() -> None:
    class Broken(Events):
        def device_started(self, device: str, steps: int) -> None:
            raise BrokenPipeError("stdout closed")

    seen: list[str] = []

    class Fine(Events):
        def device_started(self, device: str, steps: int) -> None:
            seen.append(device)

    fan = Fanout(Broken(), Fine())
    fan.device_started("a", 1)
    fan.device_started("b", 1)
    assert seen == ["a", "b"] and len(fan.listeners) == 1
