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

from collections.abc import Iterable, Mapping
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
          max_attempts: Mapping[str, int], now: datetime, *, planned: Iterable[str],
          stable_after: timedelta = timedelta(hours=6)) -> Verdict:
    """`plan` made without NOT_CONVERGING findings for the devices `planned`; `max_attempts`:
    device -> its setting."""
    stuck: dict[str, Finding] = {}
    converged: list[str] = []
    # the plan lists only devices with something to say: a planned device it leaves out is in
    # sync, the case that matters most here (other daemons' shards are not planned: left alone)
    listed = {dp.device for dp in plan.devices}
    for name in sorted(set(planned) - listed):
        c = counters.get(name)
        if c is not None and now - c.last_at >= stable_after:
            converged.append(name)
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
    return Verdict(stuck, tuple(converged))
