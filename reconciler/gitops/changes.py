"""What a change to the desired state changes, device by device. Pure: no I/O.

Pull-request mode plans only the devices a PR affects, so "affects" must be exact: a device is
selected when what the planner would do for it can differ between base and head — a resolved
target image (version, build, or the catalog entry behind it), a setting that changes the steps,
the inventory facts the planner reads, or whether the policy blocks it. Each selected device
carries its reasons in words a reviewer can check ("asa 9.3(3) -> 9.4(1) via group
branch-5500x"). Changes that only alter how or when a job runs (order, windows, address...) are
listed separately and not planned; devices that left the inventory are listed as removed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from reconciler.contract import FindingCode, Severity
from reconciler.core.findings import Finding
from reconciler.core.model import (
    DesiredState,
    Image,
    ImageType,
    InventoryDevice,
    ResolvedDevice,
    Settings,
    Target,
)
from reconciler.core.resolve import ObservedModels, resolve_fleet

# settings the planner reads when it checks a device and orders its steps
STEP_SETTINGS = frozenset({
    "install_location", "backup_current_image", "operation", "non_intrusive", "reload_timeout",
    "cleanup", "allow_active_active_conversion", "accept_warnings",
})
# settings about running the job (how many at once, when, whether by itself): not re-planned
JOB_SETTINGS = frozenset({
    "on_error", "order", "max_parallel", "maintenance_windows", "auto_apply", "max_attempts",
})
# inventory facts the planner reads (model picks the build, mode the procedure)
STEP_INVENTORY = ("driver", "model", "platform", "mode")
# how the device is reached: a different address or login does not change what is planned
CONNECTION_INVENTORY = ("address", "credentials", "tls")
# a base that did not load completely cannot be compared file by file
_PARTIAL_LOAD = frozenset({FindingCode.YAML_SYNTAX, FindingCode.YAML_LIMIT, FindingCode.SCHEMA,
                           FindingCode.FILE_ERROR, FindingCode.DUPLICATE_NAME,
                           FindingCode.UNSAFE_PATH})


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    UNPLANNED = "unplanned"  # only job settings, connection details or group names changed


@dataclass(frozen=True, slots=True)
class DeviceChange:
    device: str
    kind: ChangeKind
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "kind": str(self.kind), "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class ChangeSet:
    planned: tuple[DeviceChange, ...] = ()  # added or changed: plan these
    removed: tuple[DeviceChange, ...] = ()
    unplanned: tuple[DeviceChange, ...] = ()
    # why the base did not load cleanly (then every head device is planned), else None
    base_incomplete: str | None = None
    # why the head did not load cleanly (then nothing can be planned), else None
    head_incomplete: str | None = None

    @property
    def devices(self) -> frozenset[str]:
        return frozenset(c.device for c in self.planned)

    def get(self, device: str) -> DeviceChange | None:
        return next((c for c in (*self.planned, *self.unplanned, *self.removed)
                     if c.device == device), None)

    def to_dict(self) -> dict[str, Any]:
        return {"planned": [c.to_dict() for c in self.planned],
                "removed": [c.to_dict() for c in self.removed],
                "unplanned": [c.to_dict() for c in self.unplanned],
                "base_incomplete": self.base_incomplete,
                "head_incomplete": self.head_incomplete}


@dataclass(frozen=True, slots=True)
class Resolution:
    """One revision's desired state with every device resolved."""

    desired: DesiredState
    devices: Mapping[str, ResolvedDevice]
    findings: Sequence[Finding]  # loading and resolution
    errors: Mapping[str, frozenset[FindingCode]] = field(default_factory=dict)  # per device

    @classmethod
    def of(cls, desired: DesiredState, load_findings: Iterable[Finding] = (),
           observed_models: ObservedModels | None = None) -> Resolution:
        devices, found = resolve_fleet(desired, observed_models)
        findings = [*load_findings, *found]
        errors: dict[str, set[FindingCode]] = {}
        for f in findings:
            if f.device and f.severity is Severity.ERROR:
                errors.setdefault(f.device, set()).add(f.code)
        return cls(desired, devices, findings, {n: frozenset(c) for n, c in errors.items()})

    def incomplete(self) -> list[Finding]:
        return [f for f in self.findings if f.code in _PARTIAL_LOAD and f.blocking]

    def errors_of(self, device: str) -> frozenset[FindingCode]:
        return self.errors.get(device, frozenset())


def compare(base: Resolution, head: Resolution) -> ChangeSet:
    """The devices whose plan can differ between `base` and `head`, with the reasons."""
    broken = head.incomplete()
    if broken:
        # half a policy would show changes nobody made (a file that failed to parse looks
        # deleted): report the problems, plan nothing
        return ChangeSet(head_incomplete=_incomplete("the head revision", broken,
                                                     "so nothing is planned until it is fixed"))
    incomplete = base.incomplete()
    planned: list[DeviceChange] = []
    unplanned: list[DeviceChange] = []
    memo: dict[tuple[Any, ...], _Reasons] = {}
    for name, dev in head.desired.inventory.items():
        old = base.desired.inventory.get(name)
        if old is None:
            planned.append(DeviceChange(name, ChangeKind.ADDED, (
                "new device", *_targets_of(head.devices.get(name)))))
            continue
        step, other = _device_reasons(name, old, dev, base, head, memo)
        if incomplete:
            step.insert(0, "planned because the base revision is incomplete")
        if step:
            planned.append(DeviceChange(name, ChangeKind.CHANGED, tuple(step + other)))
        elif other:
            unplanned.append(DeviceChange(name, ChangeKind.UNPLANNED, tuple(other)))
    removed = [DeviceChange(name, ChangeKind.REMOVED, ("removed from the inventory",))
               for name in base.desired.inventory if name not in head.desired.inventory]
    why = (_incomplete("the base revision", incomplete, "so every device is planned")
           if incomplete else None)
    return ChangeSet(tuple(planned), tuple(removed), tuple(unplanned), why)


def _incomplete(which: str, problems: list[Finding], consequence: str) -> str:
    first = problems[0]
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{which} did not load cleanly ({first.code} at {first.where()}{more}), {consequence}"


def compare_states(base: DesiredState, head: DesiredState, *,
                   base_findings: Iterable[Finding] = (), head_findings: Iterable[Finding] = (),
                   observed_models: ObservedModels | None = None) -> ChangeSet:
    return compare(Resolution.of(base, base_findings, observed_models),
                   Resolution.of(head, head_findings, observed_models))


_NO_SETTINGS = Settings()
_Reasons = tuple[tuple[str, ...], tuple[str, ...]]  # (reasons to plan, other reasons)


def _device_reasons(name: str, old: InventoryDevice, new: InventoryDevice, base: Resolution,
                    head: Resolution, memo: dict[tuple[Any, ...], _Reasons]
                    ) -> tuple[list[str], list[str]]:
    step: list[str] = []
    other: list[str] = []
    if old != new:
        for attr in STEP_INVENTORY:
            a, b = getattr(old, attr), getattr(new, attr)
            if a != b:
                step.append(f"inventory {attr} {_show(a)} -> {_show(b)}")
        changed = [a for a in CONNECTION_INVENTORY if getattr(old, a) != getattr(new, a)]
        if changed:
            other.append(f"inventory {', '.join(changed)} changed")

    r_old, r_new = base.devices.get(name), head.devices.get(name)
    # devices that share a resolution profile share its targets and settings objects: their
    # reasons are the same, so a fleet of 100,000 costs about as many comparisons as profiles
    key = (id(r_old.targets) if r_old else None, id(r_new.targets) if r_new else None,
           id(r_old.settings) if r_old else None, id(r_new.settings) if r_new else None,
           r_old.groups if r_old else (), r_new.groups if r_new else (),
           base.errors_of(name), head.errors_of(name))
    found = memo.get(key)
    if found is None:
        found = memo[key] = _resolution_reasons(r_old, r_new, key[6], key[7])
    step.extend(found[0])
    other.extend(found[1])
    return step, other


def _resolution_reasons(r_old: ResolvedDevice | None, r_new: ResolvedDevice | None,
                        e_old: frozenset[FindingCode], e_new: frozenset[FindingCode]
                        ) -> _Reasons:
    step: list[str] = []
    other: list[str] = []
    t_old = r_old.targets if r_old else {}
    t_new = r_new.targets if r_new else {}
    if t_old != t_new:
        for t in sorted(set(t_old) | set(t_new)):
            reason = _target_reason(t, t_old.get(t), t_new.get(t))
            if reason:
                step.append(reason)

    s_old = r_old.settings if r_old else _NO_SETTINGS
    s_new = r_new.settings if r_new else _NO_SETTINGS
    if s_old != s_new:
        for f in fields(Settings):
            a, b = getattr(s_old, f.name), getattr(s_new, f.name)
            if a != b:
                (step if f.name in STEP_SETTINGS else other).append(
                    f"{f.name} {_show(a)} -> {_show(b)}")

    step.extend(f"now blocked: {code}" for code in sorted(e_new - e_old))
    step.extend(f"no longer blocked: {code}" for code in sorted(e_old - e_new))

    g_old = r_old.groups if r_old else ()
    g_new = r_new.groups if r_new else ()
    if g_old != g_new:
        other.append(f"groups {_show(list(g_old))} -> {_show(list(g_new))}")
    return tuple(step), tuple(other)


def _target_reason(t: ImageType, old: Target | None, new: Target | None) -> str | None:
    if new is None:
        return None if old is None else (
            f"{t} {old.image.version} -> no target (was {_origin(old.origin)})")
    via = f"via {_origin(new.origin)}"
    if old is None:
        return f"{t} (none) -> {new.image.version} {via}"
    a, b = old.image, new.image
    if a == b:
        return None
    if a.name == b.name:
        what = ", ".join(f.name for f in fields(Image)
                         if f.compare and getattr(a, f.name) != getattr(b, f.name))
        return f"{t} {b.version}: catalog entry {b.name} changed ({what}) {via}"
    if a.version == b.version:
        return f"{t} {a.name} -> {b.name} (same version {b.version}) {via}"
    return f"{t} {a.version} -> {b.version} {via}"


def _targets_of(resolved: ResolvedDevice | None) -> list[str]:
    if resolved is None:
        return []
    return [f"{t} {target.image.version} via {_origin(target.origin)}"
            for t, target in sorted(resolved.targets.items())]


def _origin(origin: str) -> str:
    """"group:a" -> "group a"; "bundle:b via group:a" -> "bundle b via group a"."""
    out = origin
    for kind in ("group", "bundle"):
        out = out.replace(f"{kind}:", f"{kind} ")
    return out.replace("device:", "device override ")


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if value == ():
        return "[]"
    if isinstance(value, tuple) and hasattr(value[0], "days"):
        return "[" + "; ".join(f"{','.join(w.days)} {w.start} {w.duration_minutes}m {w.tz}"
                               for w in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
