"""What the checks and the step builder know about one device, computed once per device."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.model import (DesiredState, Image, ImageStatus, ImageType, Mode, Operation,
                                   ResolvedDevice, Settings)
from reconciler.core.observed import Disk, ObservedDevice, Snapshot
from reconciler.core.plan.diff import DiffMemo, Direction, Drift
from reconciler.core.plan.fingerprint import ObservedHasher
from reconciler.core.plan.hops import PathFinder, UpgradePath
from reconciler.core.plan.model import JobSettings
from reconciler.core.plan.topology import Topology
from reconciler.core.platforms import Platform
from reconciler.core.versions import AsaVersion, VersionError, release_key


_VPN_TYPES = frozenset(t for t in ImageType if t.is_vpn)


@dataclass(slots=True)
class PlanMemo:
    """Per-plan caches for work that devices share. Keys are identities of inputs that stay
    alive for the whole plan (catalog images, resolved targets, the snapshot's shared parts);
    each entry also holds its key objects, so an identity can never be reused meanwhile."""

    hasher: ObservedHasher = field(default_factory=ObservedHasher)
    diffs: DiffMemo = field(default_factory=dict)
    file_sizes: dict[int, tuple[Disk, dict[str, int]]] = field(default_factory=dict)
    jobs: dict[int, tuple[Settings, JobSettings]] = field(default_factory=dict)
    staying: dict[tuple[Any, ...], tuple[tuple[str, ...], frozenset[str]]] = field(
        default_factory=dict)

    def sizes(self, disk: Disk) -> dict[str, int]:
        """file name -> size on `disk` (read only)."""
        hit = self.file_sizes.get(id(disk))
        if hit is None or hit[0] is not disk:
            hit = self.file_sizes[id(disk)] = (disk, {f.name: f.size for f in disk.files})
        return hit[1]


@dataclass(frozen=True, slots=True)
class Fleet:
    """Fleet-wide indexes, built once per plan."""

    desired: DesiredState
    image_status: Mapping[str, ImageStatus]
    paths: PathFinder
    # (type, release key) -> devices that run that VPN image release and keep running it:
    # when a shared VPN policy references the image, they are the ones left behind
    vpn_staying: Mapping[tuple[ImageType, tuple[int, ...]], tuple[str, ...]]
    memo: PlanMemo = field(default_factory=lambda: PlanMemo(), compare=False)

    def staying(self, releases: tuple[tuple[ImageType, tuple[int, ...]], ...]
                ) -> tuple[tuple[str, ...], frozenset[str]]:
        """The devices that keep running any of these VPN releases, in order and without
        repeats, and the same as a set (once per combination of releases per plan)."""
        hit = self.memo.staying.get(releases)
        if hit is None:
            names = tuple(dict.fromkeys(n for r in releases for n in self.vpn_staying.get(r, ())))
            hit = self.memo.staying[releases] = (names, frozenset(names))
        return hit

    @classmethod
    def build(cls, desired: DesiredState, resolved: Mapping[str, ResolvedDevice],
              snapshot: Snapshot, image_status: Mapping[str, ImageStatus]) -> Fleet:
        staying: dict[tuple[ImageType, tuple[int, ...]], list[str]] = defaultdict(list)
        for name, dev in snapshot.devices.items():
            targets = resolved[name].targets if name in resolved else {}
            for t, text in dev.running.items():
                if t not in _VPN_TYPES:
                    continue
                try:
                    key = release_key(t, text)
                    target = targets.get(t)
                    if target is None or release_key(t, target.image.version) == key:
                        staying[(t, key)].append(name)
                except VersionError:
                    pass
        return cls(desired, image_status, PathFinder(desired.images.values()),
                   {k: tuple(sorted(v)) for k, v in staying.items()})


class DeviceContext:
    """One device's inputs and everything derived from them, computed once on construction
    (plain attributes: the planner reads them many times per device, at fleet scale)."""

    __slots__ = ("name", "resolved", "observed", "platform", "topology", "drifts", "fleet",
                 "settings", "mode", "disk", "user_context", "is_agent", "is_ha", "_by_type",
                 "system", "stage_only", "sets_boot", "reloads", "upgrade_path", "passes", "asdm",
                 "vpn", "agent", "disk_images")

    def __init__(self, name: str, resolved: ResolvedDevice, observed: ObservedDevice,
                 platform: Platform, topology: Topology, drifts: tuple[Drift, ...],
                 fleet: Fleet) -> None:
        self.name, self.resolved, self.observed = name, resolved, observed
        self.platform, self.topology, self.drifts, self.fleet = platform, topology, drifts, fleet
        self.settings: Settings = resolved.settings
        self.mode: Mode = observed.mode
        self.disk = str(self.settings.install_location)
        self.user_context = observed.context is not None
        self.is_agent = platform.agent
        self.is_ha = self.mode is not Mode.STANDALONE
        self._by_type = {d.type: d for d in drifts}
        self.system: Drift | None = self._by_type.get(ImageType.ASA)
        # copy and verify only: copy-only, non_intrusive, or a user context (files only)
        self.stage_only = (self.settings.operation is Operation.COPY_ONLY
                           or self.settings.non_intrusive or self.user_context)
        self.sets_boot = self.system is not None and not self.stage_only and not self.is_agent
        self.reloads = self.sets_boot and self.settings.operation is Operation.INSTALL_AND_RELOAD
        self.upgrade_path = self._upgrade_path()
        # system images installed one reload cycle each: HA hops, then the target
        if self.system is None:
            self.passes: tuple[Image, ...] = ()
        elif self.upgrade_path is not None and self.upgrade_path.clean:
            self.passes = self.upgrade_path.images
        else:
            self.passes = (self.system.target.image,)
        asdm = self._by_type.get(ImageType.ASDM)
        self.asdm: Image | None = asdm.target.image if asdm else None
        self.vpn = tuple(d.target.image for d in drifts if d.type.is_vpn)
        agent = self._by_type.get(ImageType.AGENT)
        self.agent: Image | None = agent.target.image if agent else None
        # every image that must land on the units' install disk, in install order
        self.disk_images = (*self.passes, *((self.asdm,) if self.asdm else ()), *self.vpn)

    def drift(self, t: ImageType) -> Drift | None:
        return self._by_type.get(t)

    def _upgrade_path(self) -> UpgradePath | None:
        """HA devices: the release path of the system image (None when it does not apply)."""
        d = self.system
        if d is None or not self.is_ha or self.user_context or d.direction is Direction.INSTALL:
            return None
        if not isinstance(d.from_parsed, AsaVersion):
            return None
        return self.fleet.paths.path(d.from_parsed, d.target.image, self.platform.family)
