"""Checks for failover pairs and clusters: peers, active/active, cluster rules, release path."""

from __future__ import annotations

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import ImageType, Mode
from reconciler.core.plan.context import DeviceContext
from reconciler.core.plan.hops import train_text
from reconciler.core.plan.topology import Topology
from reconciler.core.versions import AsaVersion, VersionError, parse_version

_CLUSTER_MIN = AsaVersion(9, 0, 1)


def _groups_text(placement: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"group {'/'.join(map(str, g))} on {unit}" for unit, g in placement.items() if g)


def active_active_message(ctx: DeviceContext) -> str:
    topo = ctx.topology
    keep = topo.primary.name
    peer = ", ".join(m.name for m in topo.others)
    moved = sorted(g for m in topo.others for g in m.failover_groups_active)
    return (f"{ctx.name} is active/active ({_groups_text(dict(topo.groups))}) and is upgraded only "
            f"as active/standby: 1) make every failover group active on {keep} (on {keep}: "
            + "; ".join(f"`failover active group {g}`" for g in moved)
            + f"), 2) plan and apply again (it upgrades as active/standby), 3) restore the "
            f"placement ({_groups_text(dict(topo.groups))}), 4) re-discover {peer}; or set "
            "allow_active_active_conversion: true to have these steps planned")


def unreachable_units(name: str, mode: Mode, topo: Topology) -> list[Finding]:
    """A peer or cluster unit that does not answer: what it runs is unknown, so the device is
    neither plannable nor in sync (a cluster's missing unit: reconciler.core.membership)."""
    out: list[Finding] = []
    if mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
        if not topo.others:
            out.append(Finding(FindingCode.STANDBY_UNREACHABLE,
                               f"discovery found only {topo.primary.name} of the failover pair; "
                               "restore the peer unit and discover again", name))
        for m in topo.others:
            if not m.reachable:
                out.append(Finding(FindingCode.STANDBY_UNREACHABLE,
                                   f"failover peer {m.name} cannot be reached; restore it "
                                   "(`show failover` on the active) before upgrading the pair",
                                   name, m.name))
    elif mode is Mode.CLUSTER:
        for m in topo.others:
            if not m.reachable:
                out.append(Finding(FindingCode.STANDBY_UNREACHABLE,
                                   f"cluster data unit {m.name} cannot be reached (it does not "
                                   "answer, or `show cluster info` does not list it: reloading, "
                                   "or gone); every unit is reloaded in turn, so restore it "
                                   "first and plan again — if it left the cluster for good, "
                                   f"`reconciler device forget-unit {name} {m.name}`",
                                   name, m.name))
    return out


def ha_checks(ctx: DeviceContext) -> list[Finding]:
    if not ctx.is_ha or ctx.is_agent:
        return []
    out: list[Finding] = []
    name, topo = ctx.name, ctx.topology

    out += unreachable_units(name, ctx.mode, topo)
    if ctx.mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
        for m in topo.others:
            if m.reachable and m.standby_ready is False:
                out.append(Finding(FindingCode.STANDBY_NOT_READY,
                                   f"failover peer {m.name} is not in Standby Ready state; wait "
                                   "for it (`show failover`) and plan again", name, m.name))

    if ctx.reloads and topo.needs_conversion and not ctx.settings.allow_active_active_conversion:
        out.append(Finding(FindingCode.ACTIVE_ACTIVE, active_active_message(ctx), name))

    system = ctx.system
    if system is not None and ctx.mode is Mode.CLUSTER:
        img = system.target.image
        if isinstance(system.to_parsed, AsaVersion) and system.to_parsed < _CLUSTER_MIN:
            out.append(Finding(FindingCode.CLUSTER_DOWNGRADE,
                               f"{name} is a cluster; clustering needs ASA 9.0(1) or later and "
                               f"{img.name} is {img.version}: choose a 9.x image", name))
        if not ctx.platform.cluster_capable:
            out.append(Finding(FindingCode.CLUSTER_PLATFORM,
                               f"{ctx.observed.model} ({ctx.platform.family}) is not a clustering "
                               "platform (ASA 5580 and 5585 only): check the device's model",
                               name))
        elif ctx.platform.family not in img.platforms:
            out.append(Finding(FindingCode.CLUSTER_PLATFORM,
                               f"{img.name} is built for {', '.join(img.platforms)}, not for the "
                               f"cluster's {ctx.platform.family} units: use the "
                               f"{ctx.platform.family} build", name, location=img.loc))
        elif ctx.platform.smp_preferred and img.smp is False:
            out.append(Finding(FindingCode.CLUSTER_PLATFORM,
                               f"{img.name} is not the SMP build the cluster's "
                               f"{ctx.platform.family} units need: use the SMP image", name,
                               location=img.loc))

    # units already on different releases (an interrupted upgrade): the path starts from the lowest
    trains = set()
    for m in topo.members:
        text = m.running.get(ImageType.ASA)
        if text:
            try:
                v = parse_version(ImageType.ASA, text)
            except VersionError:
                continue
            if isinstance(v, AsaVersion):
                trains.add(v.train)
    if len(trains) > 1:
        out.append(Finding(FindingCode.HA_UPGRADE_PATH,
                           f"the units of {name} run different releases "
                           f"({', '.join(train_text(t) for t in sorted(trains))}); failover and "
                           "clustering need the same major.minor on every unit", name))

    path = ctx.upgrade_path
    if path is not None and system is not None:
        frm, to = system.change.from_version, system.change.to_version
        if path.missing:
            out.append(Finding(FindingCode.HA_UPGRADE_PATH,
                               f"{frm} -> {to} skips "
                               f"{', '.join(train_text(t) for t in path.missing)}; a hitless "
                               "upgrade moves one minor release at a time: add images of those "
                               "releases to the catalog (they are then planned as hops) or accept "
                               "an outage during the reload", name))
        elif path.reason:
            out.append(Finding(FindingCode.HA_UPGRADE_PATH, f"{path.reason}; accept an outage "
                               "or choose a target of the same major.minor", name))
        elif path.hops:
            chain = " -> ".join([str(frm), *(i.version for i in path.images)])
            extra = ("; install-no-reload installs only the first hop, the next plan after the "
                     "reload continues" if ctx.sets_boot and not ctx.reloads else "")
            out.append(Finding(FindingCode.HA_HOPS,
                               f"{chain}: {len(path.images)} passes, one minor release each "
                               f"({', '.join(i.name for i in path.images)}){extra}", name))
    return out
