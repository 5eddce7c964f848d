"""The executor's events as the daemon's JSON log lines and job-outcome metrics, with the device
and job bound on every line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.core.model import DeviceState
from reconciler.core.plan import Step
from reconciler.daemon.metrics import Metrics
from reconciler.executor.events import Events
from reconciler.store import JobDeviceStatus


class MetricsEvents(Events):
    def __init__(self, metrics: Metrics, log: Any) -> None:
        self.metrics = metrics
        self.log = log
        self.in_step: dict[str, str] = {}  # device -> the step running now

    def job_started(self, job_id: int, name: str, devices: Sequence[str], slots: int) -> None:
        self.log.info("job_started", name=name, devices=list(devices), slots=slots)

    def job_waiting(self, until: str, why: str) -> None:
        self.log.info("job_waiting", until=until, why=why)

    def device_started(self, device: str, steps: int) -> None:
        self.log.info("device_started", device=device, steps=steps)

    def step_started(self, device: str, index: int, total: int, step: Step) -> None:
        self.in_step[device] = str(step.action)
        self.log.debug("step_started", device=device, step=index, of=total,
                       action=str(step.action))

    def step_finished(self, device: str, index: int, total: int, step: Step, result: str) -> None:
        self.in_step.pop(device, None)
        self.log.info("step_finished", device=device, step=index, of=total,
                      action=str(step.action), result=result)

    def step_retry(self, device: str, step: Step, attempt: int, error: str, delay: float) -> None:
        self.log.warning("step_retry", device=device, action=str(step.action), attempt=attempt,
                         error=error, delay=round(delay, 2))

    def device_finished(self, device: str, status: JobDeviceStatus, state: DeviceState | None,
                        message: str) -> None:
        self.in_step.pop(device, None)
        self.metrics.job_outcomes.labels(outcome=str(status)).inc()
        level = "info" if status is JobDeviceStatus.SUCCEEDED else "warning"
        getattr(self.log, level)("device_finished", device=device, status=str(status),
                                 device_state=str(state) if state else None,
                                 message=message or None)
