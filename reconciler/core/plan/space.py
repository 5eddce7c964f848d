"""Disk space on every unit that receives an image, and optional cleanup.

Each member of a pair or cluster has its own file system, so each is checked on its own: the
images the change copies onto it (every hop, the ASDM and VPN images) against the free space on
the install disk. With `cleanup: true`, files that are neither running nor referenced by a boot
line (nor by `asdm image`) are deleted, oldest release first, until the change fits — the rule is
`reconciler.core.storage.unreferenced_files`, the same one `reconciler device delete-file` applies. Only system
and ASDM images are ever candidates: VPN packages may be referenced by a remote-access policy this
product does not see, and anything else on flash (configs, keys, crash info) is not ours to touch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import Image, ImageType
from reconciler.core.observed import FileEntry, Member
from reconciler.core.storage import unreferenced_files
from reconciler.core.versions import VersionError, parse_version

_IMAGE_FILE = re.compile(r"^(asa|asdm|cisco-asa|asav)[\w.\-]*\.(bin|spa|qcow2)$", re.IGNORECASE)


def fmt_bytes(n: int) -> str:
    return f"{n:,} bytes ({n / 1048576:.1f} MiB)"


@dataclass(frozen=True, slots=True)
class SpacePlan:
    findings: tuple[Finding, ...] = ()
    deletions: Mapping[str, tuple[FileEntry, ...]] = field(default_factory=dict)


def _age_key(f: FileEntry, catalog: Mapping[str, Image]) -> tuple[object, ...]:
    img = catalog.get(f.name)
    if img is not None and img.type in (ImageType.ASA, ImageType.ASDM):
        try:
            return (0, str(img.type), parse_version(img.type, img.version).key, f.name)
        except VersionError:
            pass
    return (1, "", (), f.name)


def cleanup_candidates(member: Member, disk: str, keep: frozenset[str],
                       catalog: Mapping[str, Image]) -> list[FileEntry]:
    out = []
    # the one rule (shared with `reconciler device delete-file`): never what the unit runs, boots
    # or points ASDM at
    for f in unreferenced_files(member, disk):
        if f.name in keep:
            continue
        img = catalog.get(f.name)
        if (img is not None and img.type in (ImageType.ASA, ImageType.ASDM)) or (
                img is None and _IMAGE_FILE.match(f.name)):
            out.append(f)
    return sorted(out, key=lambda f: _age_key(f, catalog))


def plan_space(device: str, members: Sequence[Member], disk: str,
               needs: Mapping[str, Sequence[Image]], *, cleanup: bool, keep: frozenset[str],
               catalog: Mapping[str, Image]) -> SpacePlan:
    """Check the install disk on every member; plan deletions when `cleanup` is on."""
    findings: list[Finding] = []
    deletions: dict[str, tuple[FileEntry, ...]] = {}
    for m in members:
        if not m.reachable:
            continue  # its disks are unknown; STANDBY_UNREACHABLE already blocks the device
        d = m.disk(disk)
        if d is None:
            have = ", ".join(x.name for x in m.disks) or "none reported"
            findings.append(Finding(
                FindingCode.INSTALL_LOCATION_MISSING,
                f"{m.name} has no {disk} (its disks: {have}); every unit must have the install "
                f"disk: set install_location to a disk all units have", device, m.name))
            continue
        images = needs.get(m.name, ())
        need = sum(i.size for i in images)
        if need <= d.free:
            continue
        short = need - d.free
        names = ", ".join(i.name for i in images)
        freed, chosen = 0, []
        candidates = cleanup_candidates(m, disk, keep, catalog)
        if cleanup:
            for f in candidates:
                if freed >= short:
                    break
                chosen.append(f)
                freed += f.size
        if cleanup and freed >= short:
            deletions[m.name] = tuple(chosen)
            findings.append(Finding(
                FindingCode.CLEANUP,
                f"{m.name}: deletes {', '.join(f'{disk}:/{f.name}' for f in chosen)} "
                f"({fmt_bytes(freed)}) to make room for {names}; none of them is running or "
                "referenced by a boot or asdm line", device, m.name))
            continue
        reclaim = sum(f.size for f in candidates)
        if cleanup:
            hint = (f"cleanup can free only {fmt_bytes(reclaim)} (files not running and not in a "
                    "boot line); delete other files by hand or choose another install_location")
        elif reclaim:
            hint = (f"delete unneeded images on {m.name} or set cleanup: true (it would free "
                    f"{fmt_bytes(reclaim)}), or choose another install_location")
        else:
            hint = f"delete unneeded files on {m.name} or choose another install_location"
        findings.append(Finding(
            FindingCode.DISK_SPACE,
            f"{m.name}: {disk} needs {fmt_bytes(need)} for {names} but has {fmt_bytes(d.free)} "
            f"free; {hint}", device, m.name))
    return SpacePlan(tuple(findings), deletions)
