"""What a cycle compares with the last one: which devices changed, and whether anything did.

A cycle's plan is a function of the desired state (files and commit), what discovery saw, the
recorded device states, the attempt counters, the local image repository (an image fetched
since unblocks the devices that lacked it) and `--auto-apply`. `Basis` holds exactly those; two equal bases give the same plan, so the daemon reuses the last one, and a basis that
differs only in a few devices' observations has the planner plan only those again (see
`reconciler.core.plan.incremental`). Observations are compared by value, device by device:
a few microseconds per device, a small fraction of discovering it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from reconciler.core.model import DeviceState, ImageStatus
from reconciler.core.observed import ObservedDevice, Snapshot
from reconciler.store import Store
from reconciler.store.models import AttemptCounter


@dataclass(frozen=True, slots=True)
class Basis:
    commit: str
    digest: str  # content digest of the desired files
    observed: Mapping[str, ObservedDevice]
    unreachable: frozenset[str]  # devices discovery could not read
    states: Mapping[str, DeviceState]
    counters: Mapping[str, AttemptCounter]  # device -> its attempts towards a target
    images: Mapping[str, ImageStatus]  # catalog image -> present / missing / checksum mismatch
    auto: bool | None


def read_basis(store: Store, commit: str, digest: str, snapshot: Snapshot, names: list[str],
               images: Mapping[str, ImageStatus], auto: bool | None) -> Basis:
    """The basis of a cycle (reads the device states and counters from the store)."""
    states = {n: r.state for n, r in store.device_states(names).items()}
    counters = {c.device: c for c in store.attempt_counters()}
    return Basis(commit, digest, dict(snapshot.devices), frozenset(snapshot.errors), states,
                 counters, dict(images), auto)


def changed_devices(before: Basis | None, now: Basis) -> set[str] | None:
    """Devices whose observation (or reachability) differs from `before`'s; None without one."""
    if before is None:
        return None
    old, new = before.observed, now.observed
    out = {n for n, d in new.items() if (o := old.get(n)) is not d and o != d}
    out.update(n for n in old if n not in new)
    out.update(before.unreachable ^ now.unreachable)
    return out


def carry_over(before: Basis, now: Basis, snapshot: Snapshot, changed: set[str]
               ) -> tuple[Basis, Snapshot]:
    """`now` and `snapshot` with every unchanged device's observation replaced by the equal
    object of `before`: the planner's memory then recognises it by identity (no second
    comparison), and this cycle's duplicates can be freed."""
    old = before.observed
    devices = {n: (d if n in changed or n not in old else old[n])
               for n, d in snapshot.devices.items()}
    return replace(now, observed=devices), replace(snapshot, devices=devices)


def unchanged(before: Basis | None, now: Basis, changed: set[str] | None) -> bool:
    """Everything the plan depends on is as in `before` (`changed` from `changed_devices`)."""
    return (before is not None and changed is not None and not changed
            and before.commit == now.commit and before.digest == now.digest
            and before.states == now.states and before.counters == now.counters
            and before.images == now.images and before.auto == now.auto)
