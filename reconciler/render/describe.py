"""Human wording shared by the text and Markdown renderers."""

from __future__ import annotations

from reconciler.contract import StepAction
from reconciler.core.plan.model import Change, DevicePlan, Plan, Step

A = StepAction


def mib(n: int | None) -> str:
    return f"{(n or 0) / 1048576:.1f} MiB"


def describe_step(s: Step) -> str:
    """One line saying what the step does, with the parameters an operator reviews."""
    if s.action is A.COPY:
        spread = f"; spreads to {', '.join(s.spreads_to)}" if s.spreads_to else ""
        return f"copy {s.image} ({mib(s.size)}) to {s.path}{spread}"
    if s.action is A.VERIFY_COPY:
        return f"verify {s.path} (sha256 {(s.sha256 or '')[:12]}…)"
    if s.action is A.DELETE_FILE:
        return f"delete {s.path} ({mib(s.size)})"
    if s.action is A.BACKUP:
        return f"back up {s.path or 'the running image'} to the {s.dest or 'repository'}"
    if s.action is A.SET_BOOT:
        synced = f" (synced to {', '.join(s.synced_to)})" if s.synced_to else ""
        return "boot system " + ", ".join(s.boot) + synced
    if s.action is A.SET_ASDM:
        return f"asdm image {s.path}"
    if s.action is A.SAVE_CONFIG:
        return "write memory" + (f" (synced to {', '.join(s.synced_to)})" if s.synced_to else "")
    if s.action is A.RELOAD:
        return f"reload into {s.version} ({s.image})"
    if s.action is A.WAIT_READY:
        return f"wait until {s.wait_for} (up to {s.timeout} s)"
    if s.action is A.CHECK_VERSION:
        return f"expect {s.image_type} {s.version}"
    if s.action is A.SWITCH_ACTIVE:
        return f"make {s.member} active (traffic moves to the upgraded unit)"
    if s.action is A.HANDOFF_CONTROL:
        return f"make {s.member} the control unit"
    if s.action is A.SET_FAILOVER_GROUPS:
        groups = "; ".join(f"{u}: {', '.join(map(str, g)) or 'none'}"
                           for u, g in sorted((s.groups or {}).items()))
        return f"failover groups active — {groups}" + (f" ({s.note})" if s.note else "")
    if s.action is A.REDISCOVER:
        return f"re-discover {s.member}"
    if s.action is A.AGENT_INSTALL:
        return f"install agent {s.version} ({s.image})"
    return str(s.action)


def change_text(c: Change) -> str:
    hops = f" via {', '.join(c.hops)}" if c.hops else ""
    return f"{c.from_version or '—'} → {c.to_version}{hops}"


def status(d: DevicePlan) -> str:
    if d.blocked:
        return "blocked"
    if not d.changes:
        return "findings only"
    return f"{len(d.steps)} steps" if d.steps else "no steps"


def summary_line(plan: Plan) -> str:
    s = plan.summary
    parts = [f"{s.changed} device{'s' if s.changed != 1 else ''} to change "
             f"({s.changes} image change{'s' if s.changes != 1 else ''}, {s.steps} steps)",
             f"{s.blocked} blocked", f"{s.in_sync} in sync"]
    if s.warnings:
        parts.append(f"{s.warnings} warning{'s' if s.warnings != 1 else ''}")
    if s.unmanaged:
        parts.append(f"{s.unmanaged} without targets")
    return ", ".join(parts)


def ordered_devices(plan: Plan) -> list[DevicePlan]:
    """Blocked devices first (they need someone), then by name."""
    return sorted(plan.devices, key=lambda d: (not d.blocked, d.device))
