"""Which units belong to a cluster when `show cluster info` does not say.

A cluster's control unit lists only the units that are in the cluster at that instant: a unit
that is reloading, crashed, or lost its cluster link is simply absent — the listing of four
units with one rebooting looks exactly like a three-unit cluster. An observation alone can
therefore report a cluster "on target" while a unit is still booting (or never comes back).

So the reconciler keeps what it knows: the units it has seen in each cluster (the state store
remembers them across runs, see `Store.cluster_units`) and the units an interrupted job was
planned for. A known unit missing from the listing is added to the observation as an
unreachable data unit, with nothing known about what it runs: recovery waits for it like any
unit that does not answer, the planner blocks the cluster (`STANDBY_UNREACHABLE`), and it is
never counted as converged. A unit removed from the cluster for good is forgotten on an
operator's word (`reconciler device forget-unit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.core.model import Mode, Role
from reconciler.core.observed import Member, ObservedDevice, Snapshot


def cluster_units(observed: ObservedDevice) -> tuple[str, ...]:
    """The units of a cluster as observed (empty for any other mode)."""
    if observed.mode is not Mode.CLUSTER:
        return ()
    return tuple(sorted(m.name for m in observed.members))


def units_in_dict(observed: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The same from an observed device as a saved plan records it (JSON)."""
    if not isinstance(observed, Mapping) or observed.get("mode") != str(Mode.CLUSTER):
        return ()
    members = observed.get("members")
    if not isinstance(members, list):
        return ()
    return tuple(sorted({str(m["name"]) for m in members
                         if isinstance(m, Mapping) and isinstance(m.get("name"), str)}))


def missing_units(observed: ObservedDevice, expected: Iterable[str]) -> tuple[str, ...]:
    if observed.mode is not Mode.CLUSTER:
        return ()
    seen = {m.name for m in observed.members}
    return tuple(sorted({u for u in expected if u not in seen}))


def with_missing_units(observed: ObservedDevice, expected: Iterable[str]) -> ObservedDevice:
    """`observed` with every expected unit that the cluster did not list added as an
    unreachable data unit (what it runs and holds is unknown)."""
    missing = missing_units(observed, expected)
    if not missing:
        return observed
    ghosts = tuple(Member(name=u, role=Role.DATA, reachable=False) for u in missing)
    return replace(observed, members=(*observed.members, *ghosts))


def complete(snapshot: Snapshot, known: Mapping[str, Iterable[str]]
             ) -> tuple[Snapshot, dict[str, tuple[str, ...]]]:
    """Add the known-but-unlisted units to every cluster of `snapshot`.

    Returns the completed snapshot and what to remember now, for the devices whose knowledge
    changed: a cluster's units grow with every unit seen and shrink only when an operator says
    so; a device that is no longer a cluster is forgotten (an empty tuple). Devices discovery
    could not reach keep what was known."""
    devices = dict(snapshot.devices)
    remember: dict[str, tuple[str, ...]] = {}
    for name, observed in snapshot.devices.items():
        before = tuple(sorted(set(known.get(name, ()))))
        if observed.mode is not Mode.CLUSTER:
            if before:
                remember[name] = ()
            continue
        devices[name] = with_missing_units(observed, before)
        now = tuple(sorted({*before, *cluster_units(observed)}))
        if now != before:
            remember[name] = now
    if not any(devices[n] is not snapshot.devices[n] for n in devices):
        return snapshot, remember
    return replace(snapshot, devices=devices), remember
