"""The rows of `reconciler images list`: catalog x repository state x who uses each image.

Pure functions over values (no I/O), so sorting and filtering are tested without a repository.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.core.model import Bundle, Image, ImageStatus, ImageType, ResolvedDevice
from reconciler.core.versions import VersionError, release_key


class SortKey(enum.StrEnum):
    NAME = "name"
    TYPE = "type"  # type, then version, then name
    VERSION = "version"  # version number across types, then type
    SIZE = "size"
    STATUS = "status"
    REFS = "refs"  # number of devices using the image


@dataclass(frozen=True, slots=True)
class References:
    devices: tuple[str, ...] = ()
    bundles: tuple[str, ...] = ()

    @property
    def used(self) -> bool:
        return bool(self.devices or self.bundles)


@dataclass(frozen=True, slots=True)
class ImageRow:
    image: Image
    status: ImageStatus
    refs: References
    partial_bytes: int | None = None  # an interrupted or running transfer

    def to_dict(self) -> dict[str, Any]:
        img = self.image
        out: dict[str, Any] = {
            "name": img.name, "type": str(img.type), "version": img.version,
            "platforms": list(img.platforms), "size": img.size, "sha256": img.sha256,
            "status": str(self.status), "in_repository": self.status is ImageStatus.PRESENT,
            "devices": list(self.refs.devices), "bundles": list(self.refs.bundles),
            "source": img.source,
        }
        if img.smp is not None:
            out["smp"] = img.smp
        if img.min_ram_mb is not None:
            out["min_ram_mb"] = img.min_ram_mb
        if self.partial_bytes is not None:
            out["partial_bytes"] = self.partial_bytes
        return out


def references(resolved: Mapping[str, ResolvedDevice], bundles: Mapping[str, Bundle]) -> dict[str, References]:
    """Image name -> the devices whose resolved targets use it and the bundles that hold it."""
    devices: dict[str, set[str]] = {}
    for dev in resolved.values():
        for target in dev.targets.values():
            devices.setdefault(target.image.name, set()).add(dev.name)
    held: dict[str, set[str]] = {}
    for bundle in bundles.values():
        for name in bundle.images:
            held.setdefault(name, set()).add(bundle.name)
    return {name: References(tuple(sorted(devices.get(name, ()))), tuple(sorted(held.get(name, ()))))
            for name in set(devices) | set(held)}


def build_rows(catalog: Mapping[str, Image], statuses: Mapping[str, ImageStatus],
               partials: Mapping[str, int], refs: Mapping[str, References]) -> list[ImageRow]:
    return [ImageRow(img, statuses.get(name, ImageStatus.MISSING), refs.get(name, References()),
                     partials.get(name))
            for name, img in catalog.items()]


def select(rows: Iterable[ImageRow], *, types: Iterable[str] = (), platforms: Iterable[str] = (),
           statuses: Iterable[str] = (), search: str | None = None, unused: bool = False) -> list[ImageRow]:
    """Keep rows matching every given criterion; each multi-valued criterion is an OR."""
    types_, platforms_, statuses_ = set(types), {p.lower() for p in platforms}, set(statuses)
    needle = search.lower() if search else None
    out = []
    for row in rows:
        img = row.image
        if types_ and str(img.type) not in types_:
            continue
        if platforms_ and not platforms_ & {p.lower() for p in img.platforms}:
            continue
        if statuses_ and str(row.status) not in statuses_:
            continue
        if needle and needle not in img.name.lower() and needle not in img.version.lower():
            continue
        if unused and row.refs.used:
            continue
        out.append(row)
    return out


_TYPE_ORDER = {t: i for i, t in enumerate(ImageType)}
_STATUS_ORDER = {ImageStatus.CHECKSUM_MISMATCH: 0, ImageStatus.MISSING: 1, ImageStatus.PRESENT: 2}


def _version_key(img: Image) -> tuple[Any, ...]:
    try:
        return (0, release_key(img.type, img.version))
    except VersionError:
        return (1, img.version)  # unparsable versions sort after the rest, by text


def sort_rows(rows: Iterable[ImageRow], key: SortKey | str = SortKey.TYPE, *, reverse: bool = False) -> list[ImageRow]:
    key = SortKey(key)
    by_type = lambda r: (_TYPE_ORDER.get(r.image.type, 99), _version_key(r.image), r.image.name)  # noqa: E731
    keys = {
        SortKey.NAME: lambda r: r.image.name,
        SortKey.TYPE: by_type,
        SortKey.VERSION: lambda r: (_version_key(r.image), _TYPE_ORDER.get(r.image.type, 99), r.image.name),
        SortKey.SIZE: lambda r: (r.image.size, r.image.name),
        SortKey.STATUS: lambda r: (_STATUS_ORDER[r.status], r.image.name),
        SortKey.REFS: lambda r: (len(r.refs.devices), len(r.refs.bundles), r.image.name),
    }
    return sorted(rows, key=keys[key], reverse=reverse)
