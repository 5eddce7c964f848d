"""Drift: which desired images a device does not run yet.

Versions are compared with the semantics of their type (`reconciler.core.versions.release_key`):
ASA/ASDM by major, minor, maintenance and interim; VPN images numerically; agents by their first
three parts only, so a different internal build number never triggers a re-install (the source's
endless re-image loop). Every unit of a pair or cluster is looked at: one unit left behind by an
interrupted job is drift even when the active unit already runs the target.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import ImageType, ResolvedDevice, Target
from reconciler.core.observed import Member, ObservedDevice
from reconciler.core.plan.model import Change
from reconciler.core.versions import Version, VersionError, parse_version, release_key

# Image types in the order changes are listed and installed.
TYPE_ORDER: tuple[ImageType, ...] = (
    ImageType.ASA, ImageType.ASDM, ImageType.ANYCONNECT, ImageType.CSD, ImageType.HOSTSCAN,
    ImageType.PLUGIN, ImageType.AGENT,
)


class Direction(enum.StrEnum):
    INSTALL = "install"  # nothing of that type runs yet
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    SAME = "same"  # same release, different file (or a unit lags behind on the same release)


@dataclass(frozen=True, slots=True)
class Drift:
    target: Target
    change: Change
    direction: Direction
    from_parsed: Version | None
    to_parsed: Version
    lagging: tuple[str, ...]  # members not at the target

    @property
    def type(self) -> ImageType:
        return self.target.type


def file_name(path: str) -> str:
    """`disk0:/asa941-smp-k8.bin` -> `asa941-smp-k8.bin`."""
    return path.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _member_file(m: Member, t: ImageType) -> str | None:
    f = m.running_files.get(t)
    if f is None and t is ImageType.ASDM and m.asdm_image:
        f = m.asdm_image
    return file_name(f) if f else None


DiffMemo = dict[tuple[Any, ...], tuple[Any, list[tuple[Drift, tuple[int, ...]]]]]


def diff_device(resolved: ResolvedDevice, observed: ObservedDevice, memo: DiffMemo | None = None,
                ) -> tuple[list[Drift], list[Finding]]:
    """The drifting targets of one device and any unreadable observed versions (BAD_VERSION).

    With `memo` (one per plan), devices whose targets and observed versions are the same objects
    as an earlier device's (resolution shares targets between devices of one profile, and the
    snapshot reader shares equal version maps) reuse its result: only the names of the lagging
    units differ. The key holds everything `_diff` reads except names; disks only matter (and
    only enter the key) when a VPN image is a target, since VPN drift is "file on every unit"."""
    if memo is None:
        return _diff(resolved, observed)
    members = observed.members
    vpn = any(t.is_vpn for t in resolved.targets)
    key = (id(resolved.targets), id(observed.running),
           tuple((id(m.running), id(m.running_files), m.asdm_image,
                  (id(m.disks), m.reachable) if vpn else 0) for m in members))
    hit = memo.get(key)
    if hit is not None:
        names = [m.name for m in members]
        return [Drift(d.target, d.change, d.direction, d.from_parsed, d.to_parsed,
                      tuple(names[i] if i >= 0 else observed.name for i in lagging))
                for d, lagging in hit[1]], []
    drifts, findings = _diff(resolved, observed)
    if not findings:
        index = {m.name: i for i, m in enumerate(members)}
        # holding the keyed objects keeps their ids from being reused within the plan
        keep = (resolved.targets, observed.running,
                [(m.running, m.running_files, m.disks) for m in members])
        memo[key] = (keep, [(d, tuple(index.get(n, -1) for n in d.lagging)) for d in drifts])
    return drifts, findings


def _diff(resolved: ResolvedDevice, observed: ObservedDevice) -> tuple[list[Drift], list[Finding]]:
    # reads resolved.targets, observed.running, and each member's running, running_files,
    # asdm_image and (for VPN targets) disks and reachable, plus names: the memo key in
    # diff_device must cover whatever this reads
    drifts: list[Drift] = []
    findings: list[Finding] = []
    name = observed.name
    for t in TYPE_ORDER:
        target = resolved.targets.get(t)
        if target is None:
            continue
        image = target.image
        try:
            to_parsed = parse_version(t, image.version)
        except VersionError as e:
            findings.append(Finding(FindingCode.BAD_VERSION,
                                    f"catalog image {image.name} has version {image.version!r}: "
                                    f"{e.message}", name, location=image.loc))
            continue
        to_key = release_key(t, image.version)

        if t.is_vpn:
            # VPN images are only copied, never activated here (the VPN policy that references
            # them is configured elsewhere), so they converge once the file is on every unit.
            # Comparing the configured version would re-copy them on every run, forever.
            # (a unit that does not answer has unknown disks: STANDBY_UNREACHABLE covers it)
            missing = [m.name for m in observed.members if m.reachable
                       and not any(d.has(image.name) for d in m.disks)] or (
                           [] if observed.members else [name])
            if not missing:
                configured = {m.running[t] for m in observed.members if t in m.running}
                if configured and any(release_key(t, v) != to_key for v in configured):
                    findings.append(Finding(
                        FindingCode.VPN_SHARED_POLICY,
                        f"{image.name} is on every unit but the VPN policy still uses "
                        f"{t} {', '.join(sorted(configured))}: reference the new image in the "
                        "remote-access VPN policy", name))
                continue

        # (member name or None for the device level, version text, running file)
        seen: list[tuple[str | None, str, str | None]] = [
            (m.name, m.running[t], _member_file(m, t)) for m in observed.members if t in m.running
        ]
        if not seen and t in observed.running:
            only = observed.members[0] if len(observed.members) == 1 else None
            seen = [(only.name if only else None, observed.running[t],
                     _member_file(only, t) if only else None)]

        lagging: list[str] = []
        lowest: tuple[Version, str, str | None] | None = None
        highest: tuple[Version, str, str | None] | None = None
        bad = False
        for member, text, running_file in seen:
            try:
                parsed = parse_version(t, text)
                key = release_key(t, text)
            except VersionError as e:
                findings.append(Finding(FindingCode.BAD_VERSION,
                                        f"discovery reported {t} version {text!r}: {e.message}; "
                                        "run `reconciler discover` again or report the device "
                                        "output", name, member))
                bad = True
                continue
            other_file = (t is not ImageType.AGENT and running_file is not None
                          and running_file != image.name)
            if key != to_key or other_file:
                lagging.append(member or name)
            if lowest is None or parsed < lowest[0]:
                lowest = (parsed, text, running_file)
            if highest is None or parsed > highest[0]:
                highest = (parsed, text, running_file)
        if bad:
            continue
        if t.is_vpn:
            lagging = missing
        elif seen and not lagging:
            continue  # in sync on every unit

        if lowest is None or highest is None:
            direction, from_parsed, from_text, from_file = Direction.INSTALL, None, None, None
            lagging = [m.name for m in observed.members] or [name]
        elif release_key(t, highest[1]) > to_key:
            direction = Direction.DOWNGRADE  # a unit above the target goes down: say so
            from_parsed, from_text, from_file = highest
        else:
            from_parsed, from_text, from_file = lowest
            direction = (Direction.UPGRADE if release_key(t, from_text) < to_key
                         else Direction.SAME)
        change = Change(t, from_text, image.version, image.name, from_image=from_file)
        drifts.append(Drift(target, change, direction, from_parsed, to_parsed, tuple(lagging)))
    return drifts, findings
