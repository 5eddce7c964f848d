"""How long a device's planned steps are expected to take, for ordering the devices of a parallel
job longest first.

With `max_parallel = C`, a work-conserving runner that happens to start a long device (a pair
going through two HA hops reloads six times) last finishes that device long after every other
slot went idle; starting the longest expected runs first (longest-processing-time-first) keeps
the job within 4/3 of the best possible makespan instead of 2 - 1/C. Only the relative order
matters, so the figures are nominal: a reload and the wait after it cost what a typical ASA
reload does; a transfer costs its bytes over a nominal management link. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.contract import StepAction
from reconciler.core.plan.model import DevicePlan, Step

NOMINAL_LINK = 1024 * 1024  # bytes/s to or from a device's management interface
COMMAND = 2.0  # one CLI command and its answer
# seconds; a reload's wait-ready carries the boot and the rejoin/standby-ready time
COST: dict[StepAction, float] = {
    StepAction.RELOAD: 10.0,
    StepAction.WAIT_READY: 420.0,
    StepAction.AGENT_INSTALL: 120.0,
    StepAction.SWITCH_ACTIVE: 30.0,
    StepAction.HANDOFF_CONTROL: 60.0,
    StepAction.REDISCOVER: 10.0,
}
TRANSFER = (StepAction.COPY, StepAction.BACKUP)


def step_seconds(step: Step) -> float:
    if step.action in TRANSFER and step.size:
        return COMMAND + step.size / NOMINAL_LINK
    if step.action is StepAction.VERIFY_COPY and step.size:
        return COMMAND + step.size / (50 * NOMINAL_LINK)  # the device hashes the file
    return COST.get(step.action, COMMAND)


def expected_seconds(plan: DevicePlan) -> float:
    """Nominal duration of the device's planned steps run one after the other."""
    return sum(step_seconds(s) for s in plan.steps)


def longest_first(names: Iterable[str], plans: Mapping[str, DevicePlan]) -> list[str]:
    """`names` ordered by expected duration, longest first; ties keep their given order."""
    cost = {n: expected_seconds(plans[n]) if n in plans else 0.0 for n in names}
    return sorted(cost, key=lambda n: -cost[n])
