"""Checks on the images of the change: repository, platform fit, versions, RAM, VPN policy."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from itertools import islice

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import Image, ImageStatus, ImageType, Mode
from reconciler.core.plan.context import DeviceContext
from reconciler.core.plan.diff import Direction
from reconciler.core.versions import VersionError, release_key

_BUNDLE_ORIGIN = re.compile(r"bundle:([^\s,;()]+)")
_VPN_POLICY_PLACE = {
    ImageType.ANYCONNECT: "Remote Access VPN > SSL VPN > Other Settings > Client Settings",
    ImageType.CSD: "Remote Access VPN > Dynamic Access > Cisco Secure Desktop",
    ImageType.HOSTSCAN: "Remote Access VPN > Dynamic Access > Cisco Secure Desktop (HostScan)",
    ImageType.PLUGIN: "Remote Access VPN > SSL VPN > Other Settings > Plug-in",
}


def _verb(items: tuple[str, ...] | list[str], one: str, many: str) -> str:
    return one if len(items) == 1 else many


def _names(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


def bundle_checks(ctx: DeviceContext) -> list[Finding]:
    out: list[Finding] = []
    seen: set[str] = set()
    desired = ctx.fleet.desired
    for target in ctx.resolved.targets.values():
        for bundle_name in _BUNDLE_ORIGIN.findall(target.origin):
            bundle = desired.bundles.get(bundle_name)
            if bundle is None or bundle_name in seen:
                continue
            seen.add(bundle_name)
            systems = [n for n in bundle.images
                       if (img := desired.images.get(n)) is not None and img.type is ImageType.ASA]
            if len(systems) > 1:
                out.append(Finding(FindingCode.BUNDLE_SYSTEM_IMAGES,
                                   f"bundle {bundle_name} holds {len(systems)} system images "
                                   f"({', '.join(systems)}); keep one asa image per bundle",
                                   ctx.name, location=bundle.loc))
    return out


def repository_checks(ctx: DeviceContext, images: Iterable[Image]) -> list[Finding]:
    out: list[Finding] = []
    for img in images:
        status = ctx.fleet.image_status.get(img.name, ImageStatus.MISSING)
        if status is ImageStatus.MISSING:
            out.append(Finding(FindingCode.IMAGE_NOT_IN_REPOSITORY,
                               f"{img.name} is not in the local image repository: "
                               f"`reconciler images fetch {img.name}` (or `images import`)",
                               ctx.name, location=img.loc))
        elif status is ImageStatus.CHECKSUM_MISMATCH:
            out.append(Finding(FindingCode.IMAGE_CHECKSUM,
                               f"the repository copy of {img.name} does not match the catalog "
                               f"sha256 {img.sha256[:16]}…: re-fetch it, and check the sha256 in "
                               "the catalog", ctx.name, location=img.loc))
    return out


def vpn_releases(ctx: DeviceContext) -> tuple[tuple[ImageType, tuple[int, ...]], ...]:
    """(type, release) of every VPN image the change replaces."""
    out = []
    for d in ctx.drifts:
        if d.type.is_vpn and d.change.from_version is not None:
            try:
                out.append((d.type, release_key(d.type, d.change.from_version)))
            except VersionError:
                continue
    return tuple(out)


def _vpn_policy(ctx: DeviceContext) -> list[Finding]:
    """One VPN_SHARED_POLICY per device: the images, where each is configured, and the devices
    that keep the old release (they share a VPN policy with this one, or should be told)."""
    vpn = [d for d in ctx.drifts if d.type.is_vpn]
    if not vpn:
        return []
    # every device staying on a replaced release but this one; only five are named, so the
    # (possibly fleet-sized) list is never walked per device
    names, members = ctx.fleet.staying(vpn_releases(ctx))
    count = len(names) - (ctx.name in members)
    head = list(islice((n for n in names if n != ctx.name), 5))
    images = ", ".join(f"{d.target.image.name}" for d in vpn)
    places = "; ".join(f"{d.type}: {_VPN_POLICY_PLACE[d.type]}" for d in vpn)
    them = "it" if len(vpn) == 1 else "them"
    shared = (f"; {_names_of(head, count)} {'keeps' if count == 1 else 'keep'} the release being "
              "replaced: if a shared VPN policy references it, give them the same target" if count
              else "; if the VPN policy is shared, copy the same images to every device using it")
    return [Finding(FindingCode.VPN_SHARED_POLICY,
                    f"{images} {'is' if len(vpn) == 1 else 'are'} copied, not configured: "
                    f"reference {them} in the remote-access VPN policy ({places}){shared}",
                    ctx.name)]


def _names_of(head: list[str], total: int, limit: int = 5) -> str:
    """Like `_names` for a list of `total` items of which `head` are the first ones."""
    return ", ".join(head[:limit]) + (f" and {total - limit} more" if total > limit else "")


@functools.lru_cache(maxsize=256)
def _listed(versions: tuple[str, ...]) -> frozenset[tuple[int, ...]]:
    return frozenset(release_key(ImageType.ASA, v) for v in versions)


def image_checks(ctx: DeviceContext) -> list[Finding]:
    out: list[Finding] = []
    name, platform = ctx.name, ctx.platform
    for d in ctx.drifts:
        img = d.target.image
        if img.name.lower().startswith("asacx"):
            out.append(Finding(FindingCode.UNSUPPORTED_IMAGE,
                               f"{img.name} is an ASA-CX image; ASA-CX is not supported: remove "
                               "it from the targets and the catalog", name, location=img.loc))
            continue
        cluster_system = d.type is ImageType.ASA and ctx.mode is Mode.CLUSTER
        if not cluster_system:  # clusters: CLUSTER_PLATFORM, an error (checks/ha.py)
            if platform.family not in img.platforms:
                out.append(Finding(FindingCode.IMAGE_PLATFORM,
                                   f"{img.name} is built for {', '.join(img.platforms)}, not for "
                                   f"{platform.family} ({ctx.observed.model}): use the "
                                   f"{platform.family} build of {img.version}", name,
                                   location=img.loc))
            elif d.type is ImageType.ASA and platform.smp_preferred and img.smp is False:
                out.append(Finding(FindingCode.IMAGE_PLATFORM,
                                   f"{img.name} is not the SMP build; {ctx.observed.model} should "
                                   f"run the SMP image of {img.version}", name, location=img.loc))
        if d.type is ImageType.ASA and platform.listed_versions:
            try:
                if release_key(ImageType.ASA, img.version) not in _listed(platform.listed_versions):
                    out.append(Finding(FindingCode.VERSION_UNSUPPORTED,
                                       f"ASA {img.version} is not a listed release for "
                                       f"{ctx.observed.model} (listed: "
                                       f"{', '.join(platform.listed_versions)}); check the "
                                       "release notes before installing it", name))
            except VersionError:
                pass
        if d.direction is Direction.DOWNGRADE:
            out.append(Finding(FindingCode.DOWNGRADE,
                               f"{d.type} {d.change.from_version} -> {img.version} is a "
                               "downgrade; downgrades are allowed but not validated (the older "
                               "release may reject the configuration): confirm it is intended",
                               name))
        elif d.direction is Direction.SAME:
            running = d.change.from_image or "another image"
            out.append(Finding(FindingCode.SAME_VERSION,
                               f"{d.type} {img.version}: {_names(d.lagging)} "
                               f"{_verb(d.lagging, 'runs', 'run')} {running}; the "
                               f"target is {img.name} of the same release: confirm the image "
                               "swap is intended", name))
    out += _vpn_policy(ctx)

    needs = [i for i in (*ctx.disk_images, *([ctx.agent] if ctx.agent else ()))
             if i.min_ram_mb is not None]
    if needs:
        top = max(needs, key=lambda i: i.min_ram_mb or 0)
        for m in ctx.observed.members:
            if m.ram_mb is not None and top.min_ram_mb is not None and m.ram_mb < top.min_ram_mb:
                out.append(Finding(FindingCode.RAM_LOW,
                                   f"{m.name} has {m.ram_mb} MB RAM, {top.name} needs "
                                   f"{top.min_ram_mb} MB; the upgrade still runs: add memory or "
                                   "accept with accept_warnings: [RAM_LOW]", name, m.name))
    return out
