"""plan_fleet: desired state + observed snapshot -> Plan. Pure: no I/O, no clock, no randomness.

Per device: drift, then every validation, then the steps. Errors block only their device; warnings
never block; a warning whose code the device's `accept_warnings` lists becomes a quiet
WARNING_ACCEPTED info. Devices that are in sync and have nothing to report are only counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace

from reconciler.contract import FindingCode, Severity
from reconciler.core.bulk import gc_paused
from reconciler.core.findings import Finding
from reconciler.core.model import (DesiredState, DeviceState, Image, ImageStatus, ImageType,
                                   Mode, ResolvedDevice)
from reconciler.core.observed import ObservedDevice, Snapshot
from reconciler.core.plan.checks.device import device_checks
from reconciler.core.plan.checks.ha import ha_checks, unreachable_units
from reconciler.core.plan.checks.images import bundle_checks, image_checks, repository_checks
from reconciler.core.plan.checks.transitions import transition_checks
from reconciler.core.plan.context import DeviceContext, Fleet
from reconciler.core.plan.diff import diff_device
from reconciler.core.plan.fingerprint import plan_fingerprint, planned
from reconciler.core.plan.incremental import PlanMemory
from reconciler.core.plan.model import Change, DevicePlan, JobSettings, Plan, Source, Summary
from reconciler.core.plan.space import SpacePlan, plan_space
from reconciler.core.plan.steps import build_steps, forget_file_templates
from reconciler.core.plan.templates import PlanTemplates
from reconciler.core.plan.topology import topology_of
from reconciler.core.platforms import Platform, Unsupported, platform_of

# a finding sorts by severity (errors first), then the order checks run in
_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _job_settings(r: ResolvedDevice, fleet: Fleet) -> JobSettings:
    s = r.settings
    hit = fleet.memo.jobs.get(id(s))  # devices of one profile share their Settings
    if hit is None or hit[0] is not s:
        hit = fleet.memo.jobs[id(s)] = (s, JobSettings(
            s.operation, s.on_error, s.order, s.max_parallel, s.reload_timeout,
            str(s.install_location)))
    return hit[1]


def _accept(findings: Iterable[Finding], accepted: frozenset[str]) -> list[Finding]:
    out = []
    for f in findings:
        if f.severity is Severity.WARNING and str(f.code) in accepted:
            f = Finding(FindingCode.WARNING_ACCEPTED,
                        f"{f.code} accepted by accept_warnings: {f.message}", f.device, f.member,
                        f.location)
        out.append(f)
    return sorted(out, key=lambda f: _RANK[f.severity])


def _merge(upstream: Iterable[Finding], own: Iterable[Finding]) -> list[Finding]:
    """Upstream findings (resolution) first; a check of ours that reports a code upstream already
    reported for the same unit is dropped, and so is an exact repeat."""
    up = list(upstream)
    said = {(str(f.code), f.member) for f in up}
    if any(f.code is FindingCode.CLUSTER_PLATFORM for f in own):
        up = [f for f in up if f.code is not FindingCode.IMAGE_PLATFORM]  # the error says it
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for f in up + [f for f in own if (str(f.code), f.member) not in said]:
        key = (str(f.code), f.message, f.member)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def observed_models(snapshot: Snapshot) -> dict[str, tuple[str, Mode | None]]:
    """What resolution needs from discovery: the model (agents: their OS platform) and mode."""
    return {n: (d.platform if d.driver == "agent" else d.model, d.mode)
            for n, d in snapshot.devices.items()}


_PLATFORMS: dict[tuple[str, str], Platform | Unsupported] = {}


def _platform(dev: ObservedDevice) -> Platform | Unsupported:
    key = (dev.driver, dev.platform if dev.driver == "agent" else dev.model)
    p = _PLATFORMS.get(key)
    if p is None:
        if len(_PLATFORMS) > 4096:
            _PLATFORMS.clear()
        p = _PLATFORMS[key] = platform_of(key[1])  # pure in the model: safe to keep
    return p


def _copies(ctx: DeviceContext) -> dict[str, tuple[Image, ...]]:
    """Per unit, the images it lacks on the install disk (same name and size counts as there)."""
    out: dict[str, tuple[Image, ...]] = {}
    sizes = ctx.fleet.memo.sizes
    for m in ctx.topology.members:
        disk = m.disk(ctx.disk)
        have = sizes(disk) if disk else {}
        out[m.name] = tuple(i for i in ctx.disk_images if have.get(i.name) != i.size)
    return out


def plan_device(name: str, resolved: ResolvedDevice, observed: ObservedDevice | None,
                snapshot: Snapshot, fleet: Fleet, state: DeviceState | None,
                upstream: list[Finding]) -> DevicePlan | None:
    """The plan of one device, or None when it is in sync and has nothing to report."""
    settings = _job_settings(resolved, fleet)
    driver = observed.driver if observed else "asa"
    inv = fleet.desired.inventory.get(name)
    if inv is not None and observed is None:
        driver = str(inv.driver)

    def blocked_plan(extra: list[Finding], mode: Mode | None = None,
                     digest: str | None = None, changes: tuple[Change, ...] = ()) -> DevicePlan:
        findings = _accept(_merge(upstream, extra), resolved.settings.accept_warnings)
        return DevicePlan(name, mode, driver, changes=changes, findings=tuple(findings),
                          settings=settings, observed_digest=digest)

    if observed is None:
        err = snapshot.errors.get(name)
        if err is not None:
            f = Finding(FindingCode.DEVICE_UNREACHABLE,
                        f"discovery failed: {err.code} {err.message}"
                        + (" (temporary: discover again)" if err.temporary else ""), name)
        else:
            f = Finding(FindingCode.NOT_OBSERVED,
                        f"{name} is in the inventory but not in the snapshot taken "
                        f"{snapshot.taken_at or '(no time)'}: run `reconciler discover` again",
                        name)
        return blocked_plan([f], inv.mode if inv else None)

    drifts, drift_findings = diff_device(resolved, observed, fleet.memo.diffs)
    # a unit that does not answer (or a cluster unit missing from the listing) runs something
    # unknown: the device is not in sync, whatever the other units run
    answering = all(m.reachable for m in observed.members)
    if not drifts and not upstream and not drift_findings and answering:
        return None  # in sync: the common case at fleet scale, kept cheap
    digest = fleet.memo.hasher.digest(observed)
    changes = tuple(d.change for d in drifts)
    platform = _platform(observed)
    if isinstance(platform, Unsupported):
        if not changes and not upstream:
            return None
        return blocked_plan([*drift_findings, Finding(
            FindingCode.UNSUPPORTED_DEVICE,
            f"{name} ({observed.model}): {platform.reason}; manage its images by hand and "
            "remove it from the targets", name)], observed.mode, digest, changes)
    topology = topology_of(observed)
    if isinstance(topology, str):
        if not changes and not upstream:
            return None
        return blocked_plan([*drift_findings, Finding(
            FindingCode.NOT_OBSERVED, f"{topology}: run `reconciler discover` again", name)],
            observed.mode, digest, changes)
    if not drifts:
        unknown = [] if answering else unreachable_units(name, observed.mode, topology)
        if not upstream and not drift_findings and not unknown:
            return None
        return blocked_plan([*drift_findings, *unknown], observed.mode, digest)

    ctx = DeviceContext(name, resolved, observed, platform, topology, tuple(drifts), fleet)
    effective_state = state if state is not None else observed.state
    findings: list[Finding] = [*drift_findings]
    findings += device_checks(ctx, effective_state)
    findings += bundle_checks(ctx)
    findings += image_checks(ctx)
    findings += ha_checks(ctx)
    transitions, config_required = transition_checks(ctx)
    findings += transitions

    space = SpacePlan()
    copies: dict[str, tuple[Image, ...]] = {}
    if ctx.is_agent:
        if ctx.agent is not None and not ctx.stage_only:
            findings += repository_checks(ctx, [ctx.agent])
    else:
        copies = _copies(ctx)
        to_copy = {i.name: i for imgs in copies.values() for i in imgs}
        findings += repository_checks(ctx, to_copy.values())
        keep = frozenset(i.name for i in ctx.disk_images)
        space = plan_space(name, topology.members, ctx.disk, copies,
                           cleanup=resolved.settings.cleanup, keep=keep,
                           catalog=fleet.desired.images)
        findings += space.findings

    findings = _accept(_merge(upstream, findings), resolved.settings.accept_warnings)
    blocked = any(f.severity is Severity.ERROR for f in findings)
    hops = ctx.passes[:-1]
    if hops:
        changes = tuple(replace(c, hops=tuple(i.name for i in hops))
                        if c.type is ImageType.ASA else c for c in changes)
    steps = () if blocked else build_steps(ctx, copies, space.deletions)
    notes: list[str] = []
    if ctx.is_agent and ctx.stage_only:
        notes.append("copy-only/non_intrusive: agents have no separate copy stage, nothing is "
                     "installed")
    elif ctx.settings.non_intrusive and not ctx.user_context:
        notes.append("non_intrusive: images are copied and verified only (no boot change, no "
                     "reload, no failover)")
    if ctx.user_context:
        notes.append(f"user context {observed.context!r}: AnyConnect images are copied only")
    return DevicePlan(
        name, observed.mode, driver, changes=changes, findings=tuple(findings), steps=steps,
        settings=settings,
        contexts=observed.contexts if ctx.sets_boot and not ctx.user_context else (),
        configuration_required_after=config_required and not blocked,
        observed_digest=digest, notes=tuple(notes))


def plan_fleet(desired: DesiredState, resolved: Mapping[str, ResolvedDevice], snapshot: Snapshot,
               image_status: Mapping[str, ImageStatus],
               device_states: Mapping[str, DeviceState] | None = None,
               only: set[str] | None = None, findings: Iterable[Finding] = (),
               memory: PlanMemory | None = None) -> Plan:
    """Plan every managed device (or only those in `only`).

    `findings` are upstream results (resolution: CONFLICTING_TARGETS, NO_COMPATIBLE_IMAGE...;
    the daemon: NOT_CONVERGING, DEVICE_LOCKED). Those naming a device are attached to it (errors
    block it); the others are fleet findings. With a `memory` (see `incremental`), devices whose
    inputs did not change since the memory's last plan keep their plan: only the others are
    planned again.
    """
    forget_file_templates()
    with gc_paused():  # ~100,000 small objects, no cycles
        return _plan_fleet(desired, resolved, snapshot, image_status, device_states, only,
                           findings, memory)


def _plan_fleet(desired: DesiredState, resolved: Mapping[str, ResolvedDevice], snapshot: Snapshot,
                image_status: Mapping[str, ImageStatus],
                device_states: Mapping[str, DeviceState] | None, only: set[str] | None,
                findings: Iterable[Finding], memory: PlanMemory | None = None) -> Plan:
    by_device: dict[str, list[Finding]] = defaultdict(list)
    fleet_findings: list[Finding] = []
    for f in findings:
        if f.device:
            by_device[f.device].append(f)
        else:
            fleet_findings.append(f)
    fleet = Fleet.build(desired, resolved, snapshot, image_status)
    templates = PlanTemplates(plan_device)
    states = device_states or {}

    names = set(resolved) | set(desired.inventory)
    for n in [n for n in by_device if n not in names]:
        fleet_findings.extend(by_device.pop(n))
    if memory is not None:
        memory.begin(desired, image_status, fleet.vpn_staying)
        if only is None:
            memory.keep_only(names)
    if only is not None:
        names &= only
    plans: list[DevicePlan] = []
    managed = unmanaged = 0
    for name in sorted(names):
        r = resolved.get(name)
        upstream = by_device.get(name, [])
        if (r is None or not r.targets) and not upstream:
            unmanaged += 1  # no policy gives it a target
            continue
        if r is None:  # resolution failed for the device: report what it said
            managed += 1
            inv = desired.inventory.get(name)
            plans.append(DevicePlan(name, inv.mode if inv else None,
                                    str(inv.driver) if inv else "asa",
                                    findings=tuple(_accept(_merge(upstream, ()), frozenset()))))
            continue
        managed += 1
        observed, state = snapshot.devices.get(name), states.get(name)
        if memory is None:
            p = templates.plan(name, r, observed, snapshot, fleet, state, upstream)
        else:
            known, p = memory.get(name, r, observed, state, upstream)
            if not known:
                p = templates.plan(name, r, observed, snapshot, fleet, state, upstream)
                memory.put(name, r, observed, state, upstream, p)
        if p is not None:
            plans.append(p)

    sev: dict[Severity, int] = defaultdict(int)
    for p in plans:
        for f in p.findings:
            sev[f.severity] += 1
    for f in fleet_findings:
        sev[f.severity] += 1
    active = [p for p in plans if not p.blocked]
    summary = Summary(
        devices=managed,
        in_sync=managed - len(plans),
        changed=sum(1 for p in active if p.changes),
        blocked=sum(1 for p in plans if p.blocked),
        unmanaged=unmanaged,
        changes=sum(len(p.changes) for p in active),
        steps=sum(len(p.steps) for p in active),
        errors=sev[Severity.ERROR], warnings=sev[Severity.WARNING], infos=sev[Severity.INFO],
    )
    plan = Plan("", Source(desired.commit, desired.content_digest), tuple(plans), summary,
                taken_at=snapshot.taken_at, fleet_findings=tuple(fleet_findings))
    return replace(plan, fingerprint=plan_fingerprint(desired.commit, desired.content_digest,
                                                      planned(plan)))

