"""Devices that differ only in their names get the same plan, with their own name in it.

A fleet of 100,000 devices holds a few thousand distinct situations: resolution shares targets
and settings between the devices of one profile, and the snapshot reader shares equal version
maps, disk listings and boot lines. Two devices with the same of those, the same model, mode,
roles, state and register, and the same member names (a standalone unit is named like its
device) get the same plan apart from the device name. So the plan is made once per situation for
a stand-in name and then given each device's name -- a fraction of the cost of planning each
device, with the same result (the tests compare every device with `plan_device`).

The situation key holds everything the planner reads except names and the unit details it never
reads (serial, CCL address and MAC, site id). What could depend on more is planned device by
device: a device with upstream findings, a device missing from the snapshot, and a device that
itself keeps a VPN release that its plan replaces (VPN_SHARED_POLICY names the *other* devices
staying on it). A template in which the stand-in name appears anywhere but the places renamed
here is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.core.findings import Finding
from reconciler.core.model import DeviceState, ImageType, ResolvedDevice
from reconciler.core.observed import ObservedDevice, Snapshot
from reconciler.core.plan.context import Fleet
from reconciler.core.plan.model import DevicePlan, Step
from reconciler.core.versions import is_version_text, release_key

# Letters, digits and '-' only, so that repr() and f-string formatting leave it intact.
STAND_IN = "device-name-stand-in-5f0c3e91"

PlanOne = Callable[[str, ResolvedDevice, ObservedDevice | None, Snapshot, Fleet,
                    DeviceState | None, list[Finding]], DevicePlan | None]


def _contains(v: Any) -> bool:
    if v is None or type(v) is int or type(v) is bool:
        return False
    if isinstance(v, str):
        return STAND_IN in v
    if isinstance(v, tuple | list):
        return any(map(_contains, v))
    if isinstance(v, Mapping):
        return any(_contains(k) or _contains(x) for k, x in v.items())
    return False


def _rename(v: Any, name: str) -> Any:
    if isinstance(v, str):
        return v.replace(STAND_IN, name) if STAND_IN in v else v
    if isinstance(v, tuple):
        return tuple(_rename(x, name) for x in v)
    if isinstance(v, Mapping):
        return {_rename(k, name): _rename(x, name) for k, x in v.items()}
    return v


class _Template:
    """A stand-in's plan, prepared so that naming it for a device is cheap: the steps and
    findings without the stand-in are shared as they are, the others are rebuilt with the name
    in the places it occupies."""

    __slots__ = ("plan", "keep", "findings", "steps", "notes", "vpn")

    def __init__(self, plan: DevicePlan | None, keep: Any) -> None:
        self.plan = plan
        self.keep = keep  # the objects whose identities are in the key stay alive
        # (finding, None) or (finding, (message split at the stand-in, device, member))
        self.findings: list[tuple[Finding, tuple[list[str], bool, bool] | None]] = []
        # (step, None) or (step as a list, fields that are the stand-in, fields containing it)
        self.steps: list[tuple[Step, list[Any] | None, tuple[int, ...], tuple[int, ...]]] = []
        self.notes = False
        # the VPN releases the change replaces: VPN_SHARED_POLICY names the devices that stay
        # on them, every one but the device itself
        self.vpn: tuple[tuple[ImageType, tuple[int, ...]], ...] = ()
        if plan is None:
            return
        self.vpn = tuple((c.type, release_key(c.type, c.from_version)) for c in plan.changes
                         if c.type.is_vpn and c.from_version is not None
                         and is_version_text(c.type, c.from_version))
        for f in plan.findings:
            device, member = f.device == STAND_IN, f.member == STAND_IN
            if device or member or STAND_IN in f.message or _contains(f.member):
                self.findings.append((f, (f.message.split(STAND_IN), device, member)))
            else:
                self.findings.append((f, None))
        for step in plan.steps:
            exact, inside = [], []
            for i, v in enumerate(step):
                if v is None:
                    continue
                tv = type(v)
                if tv is str:
                    if STAND_IN in v:
                        (exact if v == STAND_IN else inside).append(i)
                elif tv is not int and _contains(v):
                    inside.append(i)
            self.steps.append((step, list(step) if exact or inside else None, tuple(exact),
                               tuple(inside)))
        self.notes = _contains(plan.notes)

    def usable(self) -> bool:
        p = self.plan
        if p is None:
            return True
        # the stand-in may appear only where `instantiate` puts the name
        return (p.device == STAND_IN and not _contains((p.mode, p.driver, p.changes, p.contexts))
                and all(not _contains(f.member) or f.member == STAND_IN for f in p.findings))

    def instantiate(self, name: str, digest: str | None) -> DevicePlan | None:
        p = self.plan
        if p is None:
            return None
        findings = tuple(
            f if how is None else Finding(f.code, name.join(how[0]), name if how[1] else f.device,
                                          name if how[2] else f.member, f.location,
                                          f.severity_override)
            for f, how in self.findings)
        steps = []
        for step, values, exact, inside in self.steps:
            if values is not None:
                v = values.copy()
                for i in exact:
                    v[i] = name
                for i in inside:
                    v[i] = _rename(v[i], name)
                step = _new_tuple(Step, v)
            steps.append(step)
        notes = _rename(p.notes, name) if self.notes else p.notes
        return DevicePlan(name, p.mode, p.driver, p.changes, findings, tuple(steps), p.settings,
                          p.contexts, p.configuration_required_after, digest, notes)


_new_tuple = tuple.__new__  # what Step._make does, without its length check (same fields)


_OWN = _Template(None, None)  # marker: plan such devices one by one


class PlanTemplates:
    """One per plan: `plan()` answers like `plan_one` (the planner's `plan_device`)."""

    def __init__(self, plan_one: PlanOne) -> None:
        self.plan_one = plan_one
        self.entries: dict[tuple[Any, ...], _Template] = {}

    def plan(self, name: str, resolved: ResolvedDevice, observed: ObservedDevice | None,
             snapshot: Snapshot, fleet: Fleet, state: DeviceState | None,
             upstream: list[Finding]) -> DevicePlan | None:
        if upstream or observed is None or observed.name != name or STAND_IN in name:
            return self.plan_one(name, resolved, observed, snapshot, fleet, state, upstream)
        key = (id(resolved.targets), id(resolved.settings), resolved.groups, state,
               observed.model, observed.platform, observed.mode, observed.context_mode,
               observed.contexts, observed.state, observed.pending_config_changes,
               observed.config_register, id(observed.running), observed.driver,
               observed.appliance_mode, observed.context,
               tuple((None if m.name == name else m.name, m.role, m.reachable, m.standby_ready,
                      m.ram_mb, id(m.running), id(m.running_files), id(m.disks), id(m.boot),
                      m.asdm_image, m.unit_id, m.failover_groups_active)
                     for m in observed.members))
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = self._template(name, resolved, observed, snapshot, fleet,
                                                       state)
        if entry is _OWN or entry.vpn and name in fleet.staying(entry.vpn)[1]:
            return self.plan_one(name, resolved, observed, snapshot, fleet, state, upstream)
        digest = fleet.memo.hasher.digest(observed) if entry.plan is not None else None
        return entry.instantiate(name, digest)

    def _template(self, name: str, resolved: ResolvedDevice, observed: ObservedDevice,
                  snapshot: Snapshot, fleet: Fleet, state: DeviceState | None) -> _Template:
        if any(STAND_IN in m.name for m in observed.members):
            return _OWN
        stand_in = replace(observed, name=STAND_IN, members=tuple(
            replace(m, name=STAND_IN) if m.name == name else m for m in observed.members))
        plan = self.plan_one(STAND_IN, replace(resolved, name=STAND_IN), stand_in, snapshot, fleet,
                             state, [])
        t = _Template(plan, (resolved, observed))
        return t if t.usable() else _OWN
