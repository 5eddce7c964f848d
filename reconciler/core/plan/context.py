"""What the checks and the step builder know about one device, computed once per device."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from reconciler.core.model import (DesiredState, Image, ImageStatus, ImageType, Mode, Operation,
                                   ResolvedDevice, Settings)
from reconciler.core.observed import ObservedDevice, Snapshot
from reconciler.core.plan.diff import Direction, Drift
from reconciler.core.plan.hops import PathFinder, UpgradePath
from reconciler.core.plan.topology import Topology
from reconciler.core.platforms import Platform
from reconciler.core.versions import AsaVersion, VersionError, release_key


@dataclass(frozen=True, slots=True)
class Fleet:
    """Fleet-wide indexes, built once per plan."""

    desired: DesiredState
    image_status: Mapping[str, ImageStatus]
    paths: PathFinder
    # (type, release key) -> devices that run that VPN image release and keep running it:
    # when a shared VPN policy references the image, they are the ones left behind
    vpn_staying: Mapping[tuple[ImageType, tuple[int, ...]], tuple[str, ...]]

    @classmethod
    def build(cls, desired: DesiredState, resolved: Mapping[str, ResolvedDevice],
              snapshot: Snapshot, image_status: Mapping[str, ImageStatus]) -> Fleet:
        staying: dict[tuple[ImageType, tuple[int, ...]], list[str]] = defaultdict(list)
        for name, dev in snapshot.devices.items():
            targets = resolved[name].targets if name in resolved else {}
            for t, text in dev.running.items():
                if not t.is_vpn:
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


@dataclass
class DeviceContext:
    name: str
    resolved: ResolvedDevice
    observed: ObservedDevice
    platform: Platform
    topology: Topology
    drifts: tuple[Drift, ...]
    fleet: Fleet

    @property
    def settings(self) -> Settings:
        return self.resolved.settings

    @property
    def mode(self) -> Mode:
        return self.observed.mode

    @property
    def disk(self) -> str:
        return str(self.settings.install_location)

    @property
    def user_context(self) -> bool:
        return self.observed.context is not None

    @property
    def is_agent(self) -> bool:
        return self.platform.agent

    @property
    def is_ha(self) -> bool:
        return self.mode is not Mode.STANDALONE

    def drift(self, t: ImageType) -> Drift | None:
        return next((d for d in self.drifts if d.type is t), None)

    @property
    def system(self) -> Drift | None:
        return self.drift(ImageType.ASA)

    @property
    def stage_only(self) -> bool:
        """Copy and verify only: copy-only, non_intrusive, or a user context (files only)."""
        return (self.settings.operation is Operation.COPY_ONLY or self.settings.non_intrusive
                or self.user_context)

    @property
    def sets_boot(self) -> bool:
        return self.system is not None and not self.stage_only and not self.is_agent

    @property
    def reloads(self) -> bool:
        return self.sets_boot and self.settings.operation is Operation.INSTALL_AND_RELOAD

    @cached_property
    def upgrade_path(self) -> UpgradePath | None:
        """HA devices: the release path of the system image (None when it does not apply)."""
        d = self.system
        if d is None or not self.is_ha or self.user_context or d.direction is Direction.INSTALL:
            return None
        if not isinstance(d.from_parsed, AsaVersion):
            return None
        return self.fleet.paths.path(d.from_parsed, d.target.image, self.platform.family)

    @property
    def passes(self) -> tuple[Image, ...]:
        """System images installed one reload cycle each: HA hops, then the target."""
        d = self.system
        if d is None:
            return ()
        path = self.upgrade_path
        if path is not None and path.clean:
            return path.images
        return (d.target.image,)

    @property
    def asdm(self) -> Image | None:
        d = self.drift(ImageType.ASDM)
        return d.target.image if d else None

    @property
    def vpn(self) -> tuple[Image, ...]:
        return tuple(d.target.image for d in self.drifts if d.type.is_vpn)

    @property
    def agent(self) -> Image | None:
        d = self.drift(ImageType.AGENT)
        return d.target.image if d else None

    @property
    def disk_images(self) -> tuple[Image, ...]:
        """Every image that must land on the units' install disk, in install order."""
        out = list(self.passes)
        if self.asdm is not None:
            out.append(self.asdm)
        out.extend(self.vpn)
        return tuple(out)
