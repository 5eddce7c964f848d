"""Planning again only what changed: the daemon plans the same fleet every cycle, and between
two cycles usually only a few devices (or none) changed.

`PlanMemory` keeps, per device, the plan the last `plan_fleet` made and everything that plan was
made from. The next `plan_fleet(..., memory=m)` takes a device's plan from the memory when its
inputs are the same, and plans only the others, so the planning work of a cycle is proportional
to the devices that changed, not to the fleet.

A device's plan is a function of (see `plan_device`):
- per device: its resolution (targets with where they were declared, settings, groups), its
  observed state, its recorded device state and the upstream findings naming it;
- fleet-wide: the catalog (images and bundles, with their file:line), the image repository's
  status, and which devices keep running which VPN release (VPN_SHARED_POLICY names them).

When anything fleet-wide differs, every device is planned again; per device, only those whose
own inputs differ. Devices discovery did not see are always planned again: their plan quotes the
discovery error and the snapshot's time. Comparisons are by value (observed devices and
resolutions are compared with ==, fast when they are the very same objects), never by a digest
that could collide. The tests compare a plan made with the memory with one made without it,
device by device, across every kind of change.

The memory keeps the last resolution too (`resolve`): for the very same desired state, only
the devices whose discovered model or mode changed are resolved again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState, DeviceState, ImageStatus, Mode, ResolvedDevice
from reconciler.core.observed import ObservedDevice
from reconciler.core.plan.model import DevicePlan
from reconciler.core.resolve import resolve_device, resolve_fleet

Models = Mapping[str, tuple[str, Mode | None]]


@dataclass(frozen=True, slots=True)
class _Entry:
    resolved: ResolvedDevice
    observed: ObservedDevice
    state: DeviceState | None
    upstream: tuple[Finding, ...]
    plan: DevicePlan | None  # None: in sync with nothing to report


def _catalog(desired: DesiredState) -> tuple[Any, ...]:
    # locations compare unequal on purpose: findings quote them (Image.loc is compare=False)
    return (tuple((i, i.loc) for i in desired.images.values()),
            tuple((b, b.loc) for b in desired.bundles.values()))


class PlanMemory:
    """What the last plan of a fleet made per device, and from what. One per planning loop (a
    daemon); not shared between threads. `planned`/`reused` count the devices of the last plan
    that were planned / taken from the memory."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._images: Any = None  # the catalog mapping last seen (identity shortcut)
        self._fleet: tuple[Any, ...] | None = None
        self._same: dict[tuple[int, int, int, int], tuple[Any, ...]] = {}
        # the last resolution: (desired, models, resolved, findings per device, all findings)
        self._resolution: tuple[DesiredState, dict[str, Any], dict[str, ResolvedDevice],
                                dict[str, list[Finding]], list[Finding]] | None = None
        self.planned = 0
        self.reused = 0
        self.resolved = 0  # devices resolved by the last `resolve`

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._images, self._fleet, self._resolution = None, None, None

    def resolve(self, desired: DesiredState, models: Models
                ) -> tuple[dict[str, ResolvedDevice], list[Finding]]:
        """`resolve_fleet(desired, models)`. For the very same desired state as last time, only
        devices whose discovered model or mode changed are resolved again: resolution is a pure
        function of those (the state is immutable)."""
        last = self._resolution
        if last is None or last[0] is not desired:
            resolved, findings = resolve_fleet(desired, models)
            per: dict[str, list[Finding]] = defaultdict(list)
            for f in findings:
                per[f.device or ""].append(f)
            self.resolved = len(resolved)
            self._resolution = (desired, dict(models), resolved, dict(per), findings)
            return dict(resolved), list(findings)
        _, old, resolved, per, findings = last
        stale = [n for n in desired.inventory if models.get(n) != old.get(n)]
        self.resolved = len(stale)
        if stale:
            resolved, per = dict(resolved), dict(per)
            for n in stale:
                model, mode = models.get(n, (None, None))
                resolved[n], found = resolve_device(desired, n, model, mode)
                per[n] = found
            # inventory order, as resolve_fleet reports them
            findings = [f for n in desired.inventory for f in per.get(n, ())]
            self._resolution = (desired, dict(models), resolved, per, findings)
        return dict(resolved), list(findings)

    def begin(self, desired: DesiredState, image_status: Mapping[str, ImageStatus],
              vpn_staying: Mapping[Any, tuple[str, ...]]) -> None:
        """Start a plan; forgets every device when a fleet-wide input changed."""
        self.planned = self.reused = 0
        self._same = {}
        catalog = (self._fleet[0] if self._fleet is not None and desired.images is self._images
                   else _catalog(desired))
        fleet = (catalog, dict(image_status), dict(vpn_staying))
        if fleet != self._fleet:
            self._entries.clear()
        self._fleet, self._images = fleet, desired.images

    def _same_resolution(self, a: ResolvedDevice, b: ResolvedDevice) -> bool:
        if a is b:
            return True
        if a.name != b.name or a.groups != b.groups:
            return False
        # devices of one profile share their targets and settings: compare each pair once
        key = (id(a.targets), id(b.targets), id(a.settings), id(b.settings))
        hit = self._same.get(key)
        if hit is None:
            same = a.settings == b.settings and _targets(a) == _targets(b)
            hit = self._same[key] = (a.targets, b.targets, a.settings, b.settings, same)
        return bool(hit[4])

    def get(self, name: str, resolved: ResolvedDevice, observed: ObservedDevice | None,
            state: DeviceState | None, upstream: list[Finding]) -> tuple[bool, DevicePlan | None]:
        """(True, the remembered plan) when nothing the device's plan depends on changed."""
        e = self._entries.get(name)
        if (e is None or observed is None or e.state != state
                or not (e.observed is observed or e.observed == observed)
                or e.upstream != tuple(upstream)
                or not self._same_resolution(e.resolved, resolved)):
            return False, None
        self.reused += 1
        if e.observed is not observed or e.resolved is not resolved:
            # hold the new objects: the previous snapshot and resolution can be freed
            self._entries[name] = _Entry(resolved, observed, state, e.upstream, e.plan)
        return True, e.plan

    def put(self, name: str, resolved: ResolvedDevice, observed: ObservedDevice | None,
            state: DeviceState | None, upstream: list[Finding], plan: DevicePlan | None) -> None:
        self.planned += 1
        if observed is None:
            self._entries.pop(name, None)
        else:
            self._entries[name] = _Entry(resolved, observed, state, tuple(upstream), plan)

    def keep_only(self, names: set[str]) -> None:
        """Forget devices no longer in the fleet."""
        for n in [n for n in self._entries if n not in names]:
            del self._entries[n]


def _targets(r: ResolvedDevice) -> tuple[Any, ...]:
    return tuple(sorted(((str(t), v, v.loc, v.image.loc) for t, v in r.targets.items()),
                        key=lambda x: x[0]))
