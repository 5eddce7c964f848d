"""What the executor reports while it runs, for live progress (a terminal, CI logs, the daemon's
metrics). Every method has a do-nothing default, so a listener implements only what it shows.
The job record in the state store is the durable account; these events are for watching it."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from reconciler.core.model import DeviceState
from reconciler.core.plan import Step
from reconciler.logging import get_logger
from reconciler.store import JobDeviceStatus


class Events:
    def job_started(self, job_id: int, name: str, devices: Sequence[str], slots: int) -> None:
        pass

    def job_waiting(self, until: str, why: str) -> None:
        """Nothing can start before `until` (a schedule or a maintenance window)."""

    def device_started(self, device: str, steps: int) -> None:
        pass

    def step_started(self, device: str, index: int, total: int, step: Step) -> None:
        pass

    def step_finished(self, device: str, index: int, total: int, step: Step, result: str) -> None:
        pass

    def step_retry(self, device: str, step: Step, attempt: int, error: str, delay: float) -> None:
        pass

    def commentary(self, device: str | None, text: str) -> None:
        pass

    def device_finished(self, device: str, status: JobDeviceStatus, state: DeviceState | None,
                        message: str) -> None:
        pass

    def job_finished(self, job_id: int, status: str) -> None:
        pass


class Fanout(Events):
    """Send every event to several listeners. A listener that fails (a closed terminal, a full
    pipe) is logged and dropped: showing progress must never interrupt an upgrade half-way."""

    def __init__(self, *listeners: Events) -> None:
        self.listeners = list(listeners)

    def _each(self, name: str, *args: object) -> None:
        for x in list(self.listeners):
            try:
                getattr(x, name)(*args)
            except Exception as e:  # noqa: BLE001 - see the class docstring
                self.listeners.remove(x)
                with contextlib.suppress(Exception):  # the log may share the broken stream
                    get_logger(component="executor").warning(
                        "progress_listener_dropped", listener=type(x).__name__, error=repr(e))

    def job_started(self, job_id: int, name: str, devices: Sequence[str], slots: int) -> None:
        self._each("job_started", job_id, name, devices, slots)

    def job_waiting(self, until: str, why: str) -> None:
        self._each("job_waiting", until, why)

    def device_started(self, device: str, steps: int) -> None:
        self._each("device_started", device, steps)

    def step_started(self, device: str, index: int, total: int, step: Step) -> None:
        self._each("step_started", device, index, total, step)

    def step_finished(self, device: str, index: int, total: int, step: Step, result: str) -> None:
        self._each("step_finished", device, index, total, step, result)

    def step_retry(self, device: str, step: Step, attempt: int, error: str, delay: float) -> None:
        self._each("step_retry", device, step, attempt, error, delay)

    def commentary(self, device: str | None, text: str) -> None:
        self._each("commentary", device, text)

    def device_finished(self, device: str, status: JobDeviceStatus, state: DeviceState | None,
                        message: str) -> None:
        self._each("device_finished", device, status, state, message)

    def job_finished(self, job_id: int, status: str) -> None:
        self._each("job_finished", job_id, status)
