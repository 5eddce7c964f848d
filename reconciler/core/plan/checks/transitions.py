"""CONFIG_REQUIRED_AFTER: upgrades after which the device needs configuration work.

From the source's validation list: below 8.3 -> 8.3+ (NAT rewritten), 8.3.x -> 8.4(2)+ (PAT),
8.x -> 9.0(1)+ (unified access rules, NAT, inspection), 7.x -> 8.x (SSL VPN: remove and add the
device again). Every boundary the upgrade crosses is reported. VPN images are copied but never
configured here, so copying them also leaves the device configuration-required.
"""

from __future__ import annotations

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.plan.context import DeviceContext
from reconciler.core.plan.diff import Direction
from reconciler.core.versions import AsaVersion

TRANSITIONS: tuple[tuple[AsaVersion, str], ...] = (
    (AsaVersion(8, 0, 0), "7.x -> 8.x changes the SSL VPN configuration incompatibly: after the "
                          "upgrade remove the device and add it again, then review its SSL VPN "
                          "policy"),
    (AsaVersion(8, 3, 0), "8.3 rewrites the NAT configuration: re-discover the device and review "
                          "its NAT policy after the upgrade"),
    (AsaVersion(8, 4, 2), "8.4(2) changes PAT: re-discover the device and review its NAT/PAT "
                          "policy after the upgrade"),
    (AsaVersion(9, 0, 1), "9.0(1) introduces unified (IPv4/IPv6) access rules and changes NAT and "
                          "inspection: re-discover the device and review those policies after "
                          "the upgrade"),
)


def transition_checks(ctx: DeviceContext) -> tuple[list[Finding], bool]:
    """The findings, and whether a successful apply leaves the device configuration-required."""
    out: list[Finding] = []
    required = False
    system = ctx.system
    when = "after the upgrade" if ctx.reloads else "after the next reload"
    if (system is not None and ctx.sets_boot and system.direction is Direction.UPGRADE
            and isinstance(system.from_parsed, AsaVersion)
            and isinstance(system.to_parsed, AsaVersion)):
        for boundary, advice in TRANSITIONS:
            if system.from_parsed < boundary <= system.to_parsed:
                out.append(Finding(FindingCode.CONFIG_REQUIRED_AFTER,
                                   f"{system.change.from_version} -> {system.change.to_version}: "
                                   f"{advice}; the device is configuration-required {when} until "
                                   f"`reconciler device mark-operational {ctx.name}`", ctx.name))
                required = required or ctx.reloads
    vpn = [d for d in ctx.drifts if d.type.is_vpn]
    if vpn:
        names = ", ".join(d.target.image.name for d in vpn)
        them = "it" if len(vpn) == 1 else "them"
        out.append(Finding(FindingCode.CONFIG_REQUIRED_AFTER,
                           f"{names} will be on the device but not in use: configure {them} in "
                           "the remote-access VPN policy; the device is configuration-required after "
                           f"the copy until `reconciler device mark-operational {ctx.name}`",
                           ctx.name))
        required = True
    return out, required
