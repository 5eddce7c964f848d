"""NOT_CONVERGING: a device the reconciler re-imaged towards the same target again and again,
that keeps drifting back (the agent appendix's endless re-image loop: an enforced device
configuration re-images the endpoint with the old agent, which triggers the upgrade again).

Pure. The executor records an attempt (device, target) each time a device run starts; a
different target starts counting from one. Here, before a cycle applies anything:

- a device the plan wants to move to target T, whose counter says it was already moved towards T
  `max_attempts` times, is NOT_CONVERGING: it gets a blocking finding, so no job touches it,
  until `reconciler device mark-operational NAME` resets its counter;
- a device found in sync at least `stable_after` after its last attempt converged: its counter
  is forgotten (so an upgrade months later starts from one). A device that flips back between
  two cycles is never seen in sync and keeps counting.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.plan import Plan
from reconciler.executor.device_run import target_key
from reconciler.store.models import AttemptCounter


@dataclass(frozen=True, slots=True)
class Verdict:
    not_converging: dict[str, Finding]  # device -> the blocking finding
    converged: tuple[str, ...]  # counters to forget


def judge(plan: Plan, counters: Mapping[str, AttemptCounter],
          max_attempts: Mapping[str, int], now: datetime, *,
          stable_after: timedelta = timedelta(hours=6), managed: Iterable[str] = ()) -> Verdict:
    """`plan` made without NOT_CONVERGING findings; `max_attempts`: device -> its setting;
    `managed`: the devices the plan covered (those it does not list are in sync)."""
    stuck: dict[str, Finding] = {}
    converged: list[str] = []
    listed = {dp.device for dp in plan.devices}
    for name in managed:
        c = counters.get(name)
        if c is not None and name not in listed and now - c.last_at >= stable_after:
            converged.append(name)  # in sync, with nothing to report
    for dp in plan.devices:
        c = counters.get(dp.device)
        if c is None:
            continue
        if dp.changes:
            limit = max(1, max_attempts.get(dp.device, 3))
            if c.target == target_key(dp) and c.count >= limit:
                stuck[dp.device] = Finding(
                    FindingCode.NOT_CONVERGING,
                    f"upgraded towards {c.target} {c.count} time(s) since "
                    f"{c.first_at:%Y-%m-%d %H:%M} UTC (last job {c.last_job_id}) and it drifted "
                    f"back every time; left alone until `reconciler device mark-operational "
                    f"{dp.device}`", device=dp.device)
        elif not dp.blocked and now - c.last_at >= stable_after:
            converged.append(dp.device)
    return Verdict(stuck, tuple(sorted(converged)))


def forgetting_due(counters: Iterable[AttemptCounter], now: datetime,
                   stable_after: timedelta, in_sync: Container[str]) -> bool:
    """A device last seen in sync (`in_sync`) has a counter old enough to be forgotten: a cycle
    must judge again even when nothing else changed (time did). Counters of devices that still
    drift (a NOT_CONVERGING one, say) or belong to another shard are never forgotten here, so
    they must not keep a settled daemon from reusing its plan."""
    return any(c.device in in_sync and now - c.last_at >= stable_after for c in counters)
