"""Who is who in a device: the unit commands go through, and the units that follow it.

Standalone: the one unit. Failover: the active unit, then the standby. Active/active: the unit
that will hold every failover group (the one discovery calls active, else the one with the most
groups active), then its peer. Cluster: the control unit, then the data units in unit-id order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.core.model import Mode, Role
from reconciler.core.observed import Member, ObservedDevice


@dataclass(frozen=True, slots=True)
class Topology:
    mode: Mode
    primary: Member  # standalone unit, active unit, control unit
    others: tuple[Member, ...] = ()  # standby unit, data units

    @property
    def members(self) -> tuple[Member, ...]:
        return (self.primary, *self.others)

    @property
    def groups(self) -> Mapping[str, tuple[int, ...]]:
        """Active/active: where each failover group is active now."""
        return {m.name: tuple(sorted(m.failover_groups_active)) for m in self.members}

    @property
    def needs_conversion(self) -> bool:
        """Active/active with groups active on both units (not yet converted to active/standby)."""
        return self.mode is Mode.ACTIVE_ACTIVE and sum(
            1 for m in self.members if m.failover_groups_active) > 1


def _unit_order(m: Member) -> tuple[int, str]:
    return (m.unit_id if m.unit_id is not None else 1 << 30, m.name)


def topology_of(dev: ObservedDevice) -> Topology | str:
    """The device's topology, or why it cannot be worked out from the snapshot."""
    members = dev.members
    if not members:
        return "discovery reported no units for the device"
    if dev.mode is Mode.STANDALONE:
        if len(members) != 1:
            return f"a standalone device should have one unit, discovery reported {len(members)}"
        return Topology(dev.mode, members[0])
    if dev.mode is Mode.CLUSTER:
        control = dev.by_role(Role.CONTROL)
        if len(control) != 1:
            return f"a cluster needs exactly one control unit, discovery reported {len(control)}"
        data = sorted((m for m in members if m is not control[0]), key=_unit_order)
        return Topology(dev.mode, control[0], tuple(data))
    if dev.mode is Mode.ACTIVE_ACTIVE:
        primary = max(members, key=lambda m: (m.role is Role.ACTIVE, len(m.failover_groups_active),
                                             1 in m.failover_groups_active, m.name))
        return Topology(dev.mode, primary, tuple(m for m in members if m is not primary))
    active = dev.by_role(Role.ACTIVE)
    if len(active) != 1:
        return f"a failover pair needs exactly one active unit, discovery reported {len(active)}"
    return Topology(dev.mode, active[0], tuple(m for m in members if m is not active[0]))
