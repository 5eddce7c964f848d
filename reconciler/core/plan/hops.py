"""Zero-downtime upgrade paths for failover pairs and clusters (SPEC 4, HA version rules).

Both units keep the same major.minor while one of them is reloaded, so a hitless upgrade moves one
minor release at a time: any maintenance release within a minor is fine, a minor cannot be skipped
(7.0 -> 7.2 goes through 7.1), and a new major is entered only from the last minor of the previous
one (7.9 -> 8.0). The source stops at warning; we go further: when the catalog holds an image for
every intermediate minor, the path is planned as hops, each a full pass with its own image.
"Last minor of a major" can only be what the catalog knows: the highest minor it holds for that
major on the platform.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.core.model import Image, ImageType
from reconciler.core.versions import AsaVersion, VersionError, parse_version

Train = tuple[int, int]
_MAX_TRAINS = 64  # a path longer than this is a typo in a version, not an upgrade plan


@dataclass(frozen=True, slots=True)
class UpgradePath:
    images: tuple[Image, ...]  # one per pass, the target last
    missing: tuple[Train, ...] = ()  # intermediate minors the catalog has no image for
    reason: str = ""  # why the path is not a clean zero-downtime path, when it is not

    @property
    def hops(self) -> tuple[Image, ...]:
        return self.images[:-1]

    @property
    def clean(self) -> bool:
        return not self.missing and not self.reason


def train_text(t: Train) -> str:
    return f"{t[0]}.{t[1]}"


def trains_between(source: AsaVersion, target: AsaVersion, last_minor: dict[int, int]) -> list[Train]:
    """Every train after `source`'s up to and including `target`'s, one minor at a time."""
    cur: Train = source.train
    out: list[Train] = []
    while cur < target.train and len(out) < _MAX_TRAINS:
        major, minor = cur
        if major == target.major or minor < last_minor.get(major, minor):
            cur = (major, minor + 1)
        else:
            cur = (major + 1, 0)
        out.append(cur)
    return out


class PathFinder:
    """Indexes the catalog's system images once; answers paths per platform family (cached)."""

    def __init__(self, catalog: Iterable[Image]) -> None:
        self._by_family: dict[str, dict[Train, list[tuple[AsaVersion, Image]]]] = defaultdict(
            lambda: defaultdict(list))
        for img in catalog:
            if img.type is not ImageType.ASA:
                continue
            try:
                v = parse_version(ImageType.ASA, img.version)
            except VersionError:
                continue
            assert isinstance(v, AsaVersion)
            for fam in img.platforms:
                self._by_family[fam][v.train].append((v, img))
        self._last_minor: dict[str, dict[int, int]] = {}
        for fam, trains in self._by_family.items():
            last: dict[int, int] = {}
            for major, minor in trains:
                last[major] = max(last.get(major, minor), minor)
            self._last_minor[fam] = last
        self._cache: dict[tuple[str, tuple[int, ...], str], UpgradePath] = {}

    def _pick(self, family: str, train: Train, smp: bool | None) -> Image | None:
        candidates = self._by_family.get(family, {}).get(train, [])
        if not candidates:
            return None
        # same build flavour as the target when the catalog has it, then the newest maintenance
        return max(candidates, key=lambda vi: (vi[1].smp == smp, vi[0].key, vi[1].name))[1]

    def path(self, source: AsaVersion, target: Image, family: str) -> UpgradePath:
        key = (family, source.key, target.name)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._path(source, target, family)
        return hit

    def _path(self, source: AsaVersion, target: Image, family: str) -> UpgradePath:
        to = parse_version(ImageType.ASA, target.version)
        assert isinstance(to, AsaVersion)
        if to.train == source.train:
            return UpgradePath((target,))
        if to < source:
            return UpgradePath((target,), reason=(
                f"a downgrade from {source} to {to} changes the major.minor release; failover "
                "units and cluster members cannot run different releases, so this is not hitless"))
        trains = trains_between(source, to, self._last_minor.get(family, {}))
        if not trains or trains[-1] != to.train:
            return UpgradePath((target,), reason=f"no release path from {source} to {to}")
        hops: list[Image] = []
        missing: list[Train] = []
        for train in trains[:-1]:
            img = self._pick(family, train, target.smp)
            if img is None:
                missing.append(train)
            else:
                hops.append(img)
        if missing:
            return UpgradePath((target,), missing=tuple(missing))
        return UpgradePath((*hops, target))
