"""Static checks over a loaded DesiredState that need no device. Pure: no I/O.

The loader reports what it sees while reading (syntax, schema, duplicates, inline secrets);
this module reports what only the whole state shows: refused images, unsafe names and sources,
bad versions, bundles, and references to images, bundles and devices that do not exist. Each
problem is reported once, at the place it is written; `resolve` repeats the ones that block a
particular device so the planner can block exactly those devices.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.contract import FindingCode
from reconciler.core.catalog import CatalogIndex, is_asacx, unsafe_image_name, unsafe_source
from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState, Group, ImageType, PolicyEntry
from reconciler.core.names import did_you_mean
from reconciler.core.versions import VersionError, parse_version

_AGENT_FAMILIES = frozenset({"windows", "linux", "macos"})


def validate_desired(desired: DesiredState) -> list[Finding]:
    out: list[Finding] = []
    out.extend(_images(desired))
    out.extend(_bundles(desired))
    catalog = CatalogIndex(desired.images)
    for entry in _entries(desired):
        out.extend(_entry(desired, catalog, entry))
    for name, entry in desired.devices.items():
        if name not in desired.inventory:
            hint = did_you_mean(name, desired.inventory)
            out.append(Finding(FindingCode.UNKNOWN_DEVICE,
                               f"override for device {name!r}, which is not in the inventory"
                               f"{hint}", location=entry.loc))
    return out


def _entries(desired: DesiredState) -> Iterable[PolicyEntry]:
    yield desired.defaults
    yield from desired.groups
    yield from desired.devices.values()


def _images(desired: DesiredState) -> Iterable[Finding]:
    for img in desired.images.values():
        if is_asacx(img.name):
            yield Finding(FindingCode.UNSUPPORTED_IMAGE,
                          f"image {img.name} is an ASA-CX image; ASA-CX system and boot images "
                          "cannot be managed", location=img.loc)
        why = unsafe_image_name(img.name)
        if why:
            yield Finding(FindingCode.UNSAFE_PATH, why, location=img.loc)
        if img.source is not None:
            why = unsafe_source(img.source)
            if why:
                yield Finding(FindingCode.UNSAFE_PATH, f"image {img.name}: {why}",
                              location=img.loc)
        try:
            parse_version(img.type, img.version)
        except VersionError as e:
            yield Finding(FindingCode.BAD_VERSION, f"image {img.name}: {e.message}"
                          + (f" ({e.hint})" if e.hint else ""), location=img.loc)
        agent_platforms = set(img.platforms) & _AGENT_FAMILIES
        if (img.type is ImageType.AGENT) != bool(agent_platforms) or (
                agent_platforms and len(agent_platforms) != len(img.platforms)):
            yield Finding(FindingCode.SCHEMA,
                          f"image {img.name}: {img.type} images run on "
                          + ("windows, linux or macos" if img.type is ImageType.AGENT
                             else "firewall platform families")
                          + f", not {', '.join(img.platforms)}", location=img.loc)


def _bundles(desired: DesiredState) -> Iterable[Finding]:
    for b in desired.bundles.values():
        systems = []
        for name in b.images:
            img = desired.images.get(name)
            if img is None:
                hint = did_you_mean(name, desired.images)
                yield Finding(FindingCode.UNKNOWN_IMAGE,
                              f"bundle {b.name} lists {name}, which is not in the catalog{hint}",
                              location=b.loc)
            elif img.type is ImageType.ASA:
                systems.append(name)
            if is_asacx(name):
                yield Finding(FindingCode.UNSUPPORTED_IMAGE,
                              f"bundle {b.name} lists the ASA-CX image {name}", location=b.loc)
        if len(systems) > 1:
            yield Finding(FindingCode.BUNDLE_SYSTEM_IMAGES,
                          f"bundle {b.name} holds {len(systems)} system images "
                          f"({', '.join(systems)}); a bundle may hold one", location=b.loc)


def _entry(desired: DesiredState, catalog: CatalogIndex, entry: PolicyEntry
           ) -> Iterable[Finding]:
    who = (f"group:{entry.name}" if isinstance(entry, Group)
           else "defaults" if entry.name == "defaults" else f"device:{entry.name}")
    if entry.bundle is not None and entry.bundle not in desired.bundles:
        hint = did_you_mean(entry.bundle, desired.bundles)
        yield Finding(FindingCode.UNKNOWN_BUNDLE,
                      f"{who} uses bundle {entry.bundle!r}, which is not defined{hint}",
                      location=entry.loc)
    for t, ref in entry.images.items():
        loc = entry.image_locs.get(t, entry.loc)
        found = catalog.lookup(t, ref)
        if found.problem is not None:
            code = FindingCode.BAD_VERSION if found.bad_version else FindingCode.UNKNOWN_IMAGE
            yield Finding(code, f"{who}: {found.problem}", location=loc)
        elif any(is_asacx(i.name) for i in found.images):
            yield Finding(FindingCode.UNSUPPORTED_IMAGE,
                          f"{who} targets an ASA-CX image ({ref})", location=loc)
