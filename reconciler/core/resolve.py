"""Resolve the fleet policy into per-device targets and settings. Pure: no I/O.

For each device and image type the deciding entry is the per-device override, else the matching
groups, else the defaults. A bundle expands to its images' types; an entry's explicit `images`
beat its own bundle. Two matching groups that resolve to different images for one type are
CONFLICTING_TARGETS (the same image from two groups is fine); the device override settles it.
A version resolves to the catalog image of that type and version built for the device's
platform family; an SMP-preferring platform takes the SMP build and falls back to another build
with an IMAGE_PLATFORM warning. Settings merge defaults < groups (file order) < device.

Devices that share a profile (platform, matched groups, override) share one resolution, so a
fleet of 100,000 devices costs little more than its distinct profiles.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.contract import FindingCode
from reconciler.core.catalog import CatalogIndex, is_asacx, newest
from reconciler.core.findings import Finding
from reconciler.core.model import (
    DesiredState,
    DriverKind,
    Group,
    Image,
    ImageType,
    InventoryDevice,
    Match,
    Mode,
    PolicyEntry,
    ResolvedDevice,
    Settings,
    Target,
)
from reconciler.core.platforms import Platform, Unsupported, normalise_model, platform_of
from reconciler.errors import Location

ObservedModels = Mapping[str, tuple[str, Mode | None]]

_AGENT_TYPES = frozenset({ImageType.AGENT})
_FIREWALL_TYPES = frozenset(ImageType) - _AGENT_TYPES
_DEVICE_LOC = Location("<device>")  # placeholder: the inventory entry of the device


@dataclass(frozen=True, slots=True)
class _Choice:
    ref: str  # version or image name as written
    origin: str  # "group:NAME", "bundle:B via defaults", ...
    loc: Location | None


# A finding before it is attached to a device: (code, message, location)
_Template = tuple[FindingCode, str, Location | None]


@dataclass(slots=True)
class _EntryPlan:
    choices: dict[ImageType, _Choice]
    problems: list[_Template]


@dataclass(slots=True)
class _Profile:
    targets: dict[ImageType, Target]
    settings: Settings
    groups: tuple[str, ...]
    problems: list[_Template]


def resolve_device(desired: DesiredState, device: str, model: str | None = None,
                   mode: Mode | None = None) -> tuple[ResolvedDevice, list[Finding]]:
    """Targets and settings of one inventory device. `model`/`mode` (from discovery) beat the
    inventory hints."""
    return _resolver(desired).device(device, model, mode)


def resolve_fleet(desired: DesiredState, observed_models: ObservedModels | None = None
                  ) -> tuple[dict[str, ResolvedDevice], list[Finding]]:
    """Every inventory device, in inventory order. `observed_models` maps device name to the
    (model, mode) discovery saw; those beat the inventory hints."""
    r = _resolver(desired)
    out: dict[str, ResolvedDevice] = {}
    findings: list[Finding] = []
    obs = observed_models or {}
    for name in desired.inventory:
        model, mode = obs.get(name, (None, None))
        resolved, found = r.device(name, model, mode)
        out[name] = resolved
        findings.extend(found)
    return out, findings


# One resolver per DesiredState, kept for the few most recent states: resolve_device is called
# once per device by the planner and must not rebuild the catalog index each time.
_CACHE: list[tuple[DesiredState, _Resolver]] = []
_CACHE_SIZE = 4


def _resolver(desired: DesiredState) -> _Resolver:
    for state, r in _CACHE:
        if state is desired:
            return r
    r = _Resolver(desired)
    _CACHE.insert(0, (desired, r))
    del _CACHE[_CACHE_SIZE:]
    return r


class _Resolver:
    def __init__(self, desired: DesiredState) -> None:
        self.desired = desired
        self.catalog = CatalogIndex(desired.images)
        self.groups = desired.groups
        self.index = _GroupIndex(desired.groups)
        self.plans: dict[int, _EntryPlan] = {}
        self.profiles: dict[tuple[Any, ...], _Profile] = {}
        self.settings: dict[tuple[Any, ...], Settings] = {}
        self.platforms: dict[str, Platform | Unsupported] = {}
        self.normalised: dict[str, str] = {}
        self.choices: dict[tuple[Any, ...], tuple[Image | None, list[_Template]]] = {}

    # -- per device ------------------------------------------------------------------------

    def device(self, name: str, model: str | None, mode: Mode | None
               ) -> tuple[ResolvedDevice, list[Finding]]:
        dev = self.desired.inventory.get(name)
        if dev is None:
            return ResolvedDevice(name, {}, Settings()), [Finding(
                FindingCode.UNKNOWN_DEVICE, f"device {name} is not in the inventory",
                device=name)]
        model = model or dev.model or (dev.platform if dev.driver is DriverKind.AGENT else None)
        mode = mode or dev.mode or (Mode.STANDALONE if dev.driver is DriverKind.ASA else None)
        platform = self._platform(model) if model else None
        norm = self._normalised(model) if model else None
        group_idx = self.index.matching(dev, model, norm, mode)
        override = self.desired.devices.get(name)
        # platforms are cached per model (self.platforms): their identity is cheaper to hash
        key = (dev.driver, id(platform), group_idx, name if override is not None else None)
        profile = self.profiles.get(key)
        if profile is None:
            profile = self._profile(dev.driver, model, platform, group_idx, override)
            if override is None:  # overrides are per device: not worth keeping
                self.profiles[key] = profile
        findings = [Finding(code, msg, device=name,
                            location=dev.loc if loc is _DEVICE_LOC else loc)
                    for code, msg, loc in profile.problems]
        return ResolvedDevice(name, profile.targets, profile.settings, profile.groups), findings

    def _normalised(self, model: str) -> str:
        n = self.normalised.get(model)
        if n is None:
            n = self.normalised[model] = normalise_model(model)
        return n

    def _platform(self, model: str) -> Platform | Unsupported:
        p = self.platforms.get(model)
        if p is None:
            p = self.platforms[model] = platform_of(model)
        return p

    # -- per profile -----------------------------------------------------------------------

    def _profile(self, driver: DriverKind, model: str | None,
                 platform: Platform | Unsupported | None, group_idx: tuple[int, ...],
                 override: PolicyEntry | None) -> _Profile:
        groups = [self.groups[i] for i in group_idx]
        settings = self._settings(group_idx, override)
        names = tuple(g.name for g in groups)
        problems: list[_Template] = []
        if isinstance(platform, Unsupported):
            problems.append((FindingCode.UNSUPPORTED_DEVICE, platform.reason, _DEVICE_LOC))
            return _Profile({}, settings, names, problems)
        if platform is not None and platform.agent != (driver is DriverKind.AGENT):
            problems.append((FindingCode.UNSUPPORTED_DEVICE,
                             f"driver {driver} does not fit model {model!r}: agent endpoints "
                             "have platform windows, linux or macos; firewalls an ASA or "
                             "Firepower model", _DEVICE_LOC))
            return _Profile({}, settings, names, problems)
        applicable = _AGENT_TYPES if driver is DriverKind.AGENT else _FIREWALL_TYPES

        dplan = self._plan(self.desired.defaults)
        gplans = [(g, self._plan(g)) for g in groups]
        oplan = self._plan(override) if override is not None else None
        for plan in [dplan] + [p for _, p in gplans] + ([oplan] if oplan else []):
            problems.extend(plan.problems)

        types: set[ImageType] = {t for t in dplan.choices if t in applicable}
        for _, p in gplans:
            types.update(p.choices)
        if oplan is not None:
            types.update(oplan.choices)

        targets: dict[ImageType, Target] = {}
        for t in sorted(types):
            if oplan is not None and t in oplan.choices:
                self._take(t, oplan.choices[t], driver, platform, targets, problems)
                continue
            from_groups = [p.choices[t] for _, p in gplans if t in p.choices]
            if from_groups:
                self._take_groups(t, from_groups, driver, platform, targets, problems)
            elif t in dplan.choices:
                self._take(t, dplan.choices[t], driver, platform, targets, problems)
        unknown = [msg for code, msg, _ in problems if code is FindingCode.MODEL_UNKNOWN]
        if unknown:  # one finding per device, not one per target
            problems = [p for p in problems if p[0] is not FindingCode.MODEL_UNKNOWN]
            problems.append((FindingCode.MODEL_UNKNOWN,
                             "the model is not known, so no build can be chosen yet for "
                             + ", ".join(unknown), _DEVICE_LOC))
        return _Profile(targets, settings, names, problems)

    def _take(self, t: ImageType, choice: _Choice, driver: DriverKind,
              platform: Platform | None, targets: dict[ImageType, Target],
              problems: list[_Template]) -> None:
        image, found = self._choose(t, choice, driver, platform)
        problems.extend(found)
        if image is not None:
            targets[t] = Target(t, image, choice.origin, choice.loc)

    def _take_groups(self, t: ImageType, choices: list[_Choice], driver: DriverKind,
                     platform: Platform | None, targets: dict[ImageType, Target],
                     problems: list[_Template]) -> None:
        resolved: list[tuple[_Choice, Image]] = []
        for c in choices:
            image, found = self._choose(t, c, driver, platform)
            problems.extend(found)
            if image is not None:
                resolved.append((c, image))
        if not resolved:
            return
        first_choice, first = resolved[0]
        for c, image in resolved[1:]:
            if image.name != first.name:
                problems.append((
                    FindingCode.CONFLICTING_TARGETS,
                    f"{first_choice.origin} ({first_choice.loc}) sets {t} to "
                    f"{_shown(first_choice.ref, first)} but {c.origin} ({c.loc}) sets "
                    f"{_shown(c.ref, image)}; the device matches both",
                    c.loc))
                return
        if len(choices) == len(resolved):
            targets[t] = Target(t, first, first_choice.origin, first_choice.loc)

    def _choose(self, t: ImageType, choice: _Choice, driver: DriverKind,
                platform: Platform | None) -> tuple[Image | None, list[_Template]]:
        key = (t, choice, driver, platform)
        hit = self.choices.get(key)
        if hit is None:
            hit = self.choices[key] = self._choose_uncached(t, choice, driver, platform)
        return hit

    def _choose_uncached(self, t: ImageType, c: _Choice, driver: DriverKind,
                         platform: Platform | None) -> tuple[Image | None, list[_Template]]:
        if (t is ImageType.AGENT) != (driver is DriverKind.AGENT):
            what = ("agent endpoints take agent images only" if driver is DriverKind.AGENT
                    else "firewalls do not take agent images")
            return None, [(FindingCode.NO_COMPATIBLE_IMAGE,
                           f"{c.origin} targets {t} {c.ref}, but {what}", c.loc)]
        found = self.catalog.lookup(t, c.ref)
        if found.problem is not None:
            code = FindingCode.BAD_VERSION if found.bad_version else FindingCode.UNKNOWN_IMAGE
            return None, [(code, f"{c.origin}: {found.problem}", c.loc)]
        refused = [i for i in found.images if is_asacx(i.name)]
        if refused:
            return None, [(FindingCode.UNSUPPORTED_IMAGE,
                           f"{c.origin} targets {refused[0].name}: ASA-CX images are not "
                           "supported", c.loc)]
        if platform is None:
            if found.by_name:
                return found.images[0], []
            return None, [(FindingCode.MODEL_UNKNOWN, f"{t} {c.ref} from {c.origin}",
                           _DEVICE_LOC)]
        family = platform.family
        fits = [i for i in found.images if family in i.platforms]
        if not fits:
            built_for = sorted({p for i in found.images for p in i.platforms})
            what = (f"image {c.ref} is not built for {family}" if found.by_name
                    else f"no {t} image of version {c.ref} in the catalog is built for {family}")
            return None, [(FindingCode.NO_COMPATIBLE_IMAGE,
                           f"{c.origin}: {what} (builds exist for: {', '.join(built_for)})",
                           c.loc)]
        if found.newest_build:
            fits = newest(fits)
        smp_matters = t is ImageType.ASA and platform.smp_preferred
        if smp_matters:
            rank: Callable[[Image], int] = lambda i: {True: 0, None: 1, False: 2}[i.smp]
        else:
            rank = lambda i: 1 if i.smp else 0  # noqa: E731
        best_rank = min(rank(i) for i in fits)
        best = [i for i in fits if rank(i) == best_rank]
        if len(best) > 1:
            names = ", ".join(sorted(i.name for i in best))
            return None, [(FindingCode.AMBIGUOUS_TARGET,
                           f"{c.origin}: {t} {c.ref} matches several images for {family}: "
                           f"{names}", c.loc)]
        image = best[0]
        problems: list[_Template] = []
        if smp_matters and image.smp is False:
            problems.append((FindingCode.IMAGE_PLATFORM,
                             f"{c.origin}: {image.name} is not an SMP build; {family} should "
                             "run the SMP build of this version (the catalog has none)", c.loc))
        return image, problems

    # -- per policy entry ------------------------------------------------------------------

    def _plan(self, entry: PolicyEntry) -> _EntryPlan:
        plan = self.plans.get(id(entry))
        if plan is None:
            plan = self.plans[id(entry)] = self._plan_uncached(entry)
        return plan

    def _plan_uncached(self, entry: PolicyEntry) -> _EntryPlan:
        who = _origin(entry)
        choices: dict[ImageType, _Choice] = {}
        problems: list[_Template] = []
        for t, ref in entry.images.items():
            choices[t] = _Choice(ref, who, entry.image_locs.get(t, entry.loc))
        if entry.bundle is not None:
            bundle = self.desired.bundles.get(entry.bundle)
            if bundle is None:
                problems.append((FindingCode.UNKNOWN_BUNDLE,
                                 f"{who} uses bundle {entry.bundle!r}, which is not defined",
                                 entry.loc))
            else:
                systems = [n for n in bundle.images if n in self.desired.images
                           and self.desired.images[n].type is ImageType.ASA]
                if len(systems) > 1:
                    problems.append((FindingCode.BUNDLE_SYSTEM_IMAGES,
                                     f"bundle {bundle.name} (used by {who}) holds "
                                     f"{len(systems)} system images: {', '.join(systems)}",
                                     entry.loc))
                for n in bundle.images:
                    img = self.desired.images.get(n)
                    if img is None:
                        problems.append((FindingCode.UNKNOWN_IMAGE,
                                         f"bundle {bundle.name} (used by {who}) lists {n}, "
                                         "which is not in the catalog", entry.loc))
                    elif img.type not in choices and not (
                            img.type is ImageType.ASA and len(systems) > 1):
                        choices[img.type] = _Choice(n, f"bundle:{bundle.name} via {who}",
                                                    entry.loc)
        return _EntryPlan(choices, problems)

    def _settings(self, group_idx: tuple[int, ...], override: PolicyEntry | None) -> Settings:
        key = (group_idx, override.name if override is not None else None)
        s = self.settings.get(key)
        if s is None:
            s = Settings().merged(self.desired.defaults.settings)
            for i in group_idx:
                s = s.merged(self.groups[i].settings)
            if override is not None:
                s = s.merged(override.settings)
            self.settings[key] = s
        return s


def _origin(entry: PolicyEntry) -> str:
    if isinstance(entry, Group):
        return f"group:{entry.name}"
    if entry.name == "defaults":
        return "defaults"
    return f"device:{entry.name}"


def _shown(ref: str, image: Image) -> str:
    return ref if ref == image.name else f"{ref} ({image.name})"


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


class _GroupIndex:
    """Which groups match a device, without testing every group against every device.

    Each criterion depends on one attribute that few devices differ in (tag set, mode, site,
    model), so the set of groups whose criterion on it holds is computed once per distinct
    value, as a bit mask; a device's groups are the AND of its masks. Name globs are the one
    per-device criterion, tested only for the groups that have them. 100,000 devices and 50
    groups: about 0.3 s instead of 2.5 s, same answers as `matcher` (the definition, which
    the tests compare it with).
    """

    def __init__(self, groups: tuple[Group, ...]) -> None:
        self.groups = groups
        self.all = (1 << len(groups)) - 1
        self.model_res = [(_glob(g.match.model) if g.match.model else None) for g in groups]
        self.site_res = [(_glob(g.match.site) if g.match.site else None) for g in groups]
        self.tag_sets = [frozenset(g.match.tags) for g in groups]
        self.named = [(i, [_glob(n) for n in g.match.names])
                      for i, g in enumerate(groups) if g.match.names]
        self.unnamed = self.all & ~sum(1 << i for i, _ in self.named)
        self._tags: dict[tuple[str, ...], int] = {}
        self._sites: dict[str | None, int] = {}
        self._models: dict[tuple[str | None, str | None], int] = {}
        self._modes: dict[Mode | None, int] = {}
        self._idx: dict[int, tuple[int, ...]] = {}

    def _mask(self, ok: Callable[[int], bool]) -> int:
        return sum(1 << i for i in range(len(self.groups)) if ok(i))

    def matching(self, dev: InventoryDevice, model: str | None, norm: str | None,
                 mode: Mode | None) -> tuple[int, ...]:
        tags = self._tags.get(dev.tags)
        if tags is None:
            have = frozenset(dev.tags)
            tags = self._tags[dev.tags] = self._mask(lambda i: self.tag_sets[i] <= have)
        site = self._sites.get(dev.site)
        if site is None:
            s = dev.site
            site = self._sites[s] = self._mask(
                lambda i: self.site_res[i] is None or (s is not None and bool(self.site_res[i].match(s))))
        models = self._models.get((model, norm))
        if models is None:
            models = self._models[(model, norm)] = self._mask(
                lambda i: self.model_res[i] is None or (model is not None and bool(
                    self.model_res[i].match(model) or (norm is not None and self.model_res[i].match(norm)))))
        modes = self._modes.get(mode)
        if modes is None:
            modes = self._modes[mode] = self._mask(
                lambda i: self.groups[i].match.mode is None or self.groups[i].match.mode is mode)
        mask = tags & site & models & modes
        if self.named and mask & ~self.unnamed:
            names = self.unnamed
            for i, res in self.named:
                if any(r.match(dev.name) for r in res):
                    names |= 1 << i
            mask &= names
        idx = self._idx.get(mask)
        if idx is None:
            idx = self._idx[mask] = tuple(i for i in range(len(self.groups)) if mask >> i & 1)
        return idx


def matcher(m: Match) -> Callable[[InventoryDevice, str | None, str | None, Mode | None],
                                  bool]:
    """A group's `match` as a predicate: every given criterion must hold. This is the
    definition; `_GroupIndex` answers the same for a whole fleet at once."""
    model_re = _glob(m.model) if m.model else None
    site_re = _glob(m.site) if m.site else None
    name_res = [_glob(n) for n in m.names]
    tags = frozenset(m.tags)
    mode = m.mode

    def matches(dev: InventoryDevice, model: str | None, norm: str | None,
                dev_mode: Mode | None) -> bool:
        if tags and not tags.issubset(dev.tags):
            return False
        if mode is not None and dev_mode is not mode:
            return False
        if site_re is not None and (dev.site is None or not site_re.match(dev.site)):
            return False
        if model_re is not None and (model is None or not (
                model_re.match(model) or (norm is not None and model_re.match(norm)))):
            return False
        if name_res and not any(r.match(dev.name) for r in name_res):
            return False
        return True

    return matches
