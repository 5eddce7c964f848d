"""Load the desired state: image catalog, fleet policy and inventory, with every problem found.

Layout (SPEC 1): `desired/images.yaml` (also `images.yml`, `images-*.yaml`: catalog documents,
`schemas/images.schema.json`), every other `desired/*.yaml`/`*.yml` is a policy document
(`schemas/policy.schema.json`); files are read in sorted order, so group order is file order
then position in the file. `inventory/*.yaml` hold the devices (see `inventory.py`).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import (
    Bundle,
    DesiredState,
    Group,
    Image,
    ImageType,
    InstallLocation,
    MaintenanceWindow,
    Match,
    Mode,
    OnError,
    Operation,
    Order,
    PolicyEntry,
)
from reconciler.core.validate import validate_desired
from reconciler.errors import Location
from reconciler.loader.documents import Document, DocumentReader
from reconciler.loader.inventory import read_inventory
from reconciler.loader.source import FileSource
from reconciler.loader.yamlio import DEFAULT_LIMITS, LineDict, YamlLimits, gc_paused

DESIRED_PATTERNS = ("desired/*.yaml", "desired/*.yml")


def is_catalog_file(path: str) -> bool:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem == "images" or stem.startswith("images-")


def load_desired(source: FileSource, limits: YamlLimits = DEFAULT_LIMITS
                 ) -> tuple[DesiredState, list[Finding]]:
    """Read and check everything under desired/ and inventory/. Never raises for bad input:
    the state holds whatever was valid, the findings say what was not (all of it, not just the
    first problem), each at file:line."""
    reader = DocumentReader(source, limits)
    builder = _DesiredBuilder(reader)
    paths = sorted({p for pat in DESIRED_PATTERNS for p in source.list(pat)})
    if not paths:
        reader.findings.append(Finding(
            FindingCode.FILE_ERROR, f"no desired/*.yaml files in {source.label}",
            location=Location("desired/images.yaml")))
    elif not any(is_catalog_file(p) for p in paths):
        reader.findings.append(Finding(
            FindingCode.FILE_ERROR, "no image catalog: desired/images.yaml is missing",
            location=Location("desired/images.yaml")))
    with gc_paused():
        for path in paths:
            if is_catalog_file(path):
                doc = reader.read(path, "images")
                if doc is not None:
                    builder.catalog(doc)
            else:
                doc = reader.read(path, "policy")
                if doc is not None:
                    builder.policy(doc)
        inventory = read_inventory(reader)
        state = DesiredState(
            images=builder.images,
            bundles=builder.bundles,
            defaults=builder.defaults or PolicyEntry(name="defaults"),
            groups=tuple(builder.groups),
            devices=builder.devices,
            inventory=inventory,
            commit=getattr(source, "commit", None),
            content_digest=reader.digest(),
        )
        findings = reader.findings + validate_desired(state)
    return state, findings


class _DesiredBuilder:
    def __init__(self, reader: DocumentReader) -> None:
        self.reader = reader
        self.images: dict[str, Image] = {}
        self.bundles: dict[str, Bundle] = {}
        self.defaults: PolicyEntry | None = None
        self.groups: list[Group] = []
        self._group_names: dict[str, Location] = {}
        self.devices: dict[str, PolicyEntry] = {}

    def _dup(self, what: str, name: str, loc: Location, first: Location | None) -> None:
        self.reader.findings.append(Finding(
            FindingCode.DUPLICATE_NAME, f"{what} {name!r} is defined twice (first at {first})",
            location=loc))

    def _problem(self, code: FindingCode, message: str, loc: Location) -> None:
        self.reader.findings.append(Finding(code, message, location=loc))

    def catalog(self, doc: Document) -> None:
        for _, x in doc.entries("images"):
            loc = doc.loc(x.line)
            img = Image(
                name=x["name"], type=ImageType(x["type"]), version=x["version"],
                platforms=tuple(x["platforms"]), size=x["size"], sha256=x["sha256"].lower(),
                smp=x.get("smp"), min_ram_mb=x.get("min_ram_mb"), source=x.get("source"),
                loc=loc)
            if img.name in self.images:
                self._dup("image", img.name, loc, self.images[img.name].loc)
                continue
            self.images[img.name] = img
        for _, x in doc.entries("bundles"):
            loc = doc.loc(x.line)
            b = Bundle(x["name"], tuple(x["images"]), loc=loc)
            if b.name in self.bundles:
                self._dup("bundle", b.name, loc, self.bundles[b.name].loc)
                continue
            self.bundles[b.name] = b

    def policy(self, doc: Document) -> None:
        raw = doc.data.get("defaults")
        if isinstance(raw, LineDict) and ("defaults",) not in doc.broken:
            entry = self._entry(doc, raw, "defaults", PolicyEntry)
            if entry is not None:
                if self.defaults is not None:
                    self._problem(FindingCode.DUPLICATE_NAME,
                                  f"defaults are defined twice (first at {self.defaults.loc}); "
                                  "keep one defaults block", doc.loc(doc.data.line_of("defaults")))
                else:
                    self.defaults = entry
        for _, x in doc.entries("groups"):
            group = self._entry(doc, x, x["name"], Group, match=_match(x.get("match") or {}))
            if group is None:
                continue
            if group.name in self._group_names:
                self._dup("group", group.name, doc.loc(x.line), self._group_names[group.name])
                continue
            self._group_names[group.name] = doc.loc(x.line)
            self.groups.append(group)
        for _, x in doc.entries("devices"):
            entry = self._entry(doc, x, x["name"], PolicyEntry)
            if entry is None:
                continue
            if entry.name in self.devices:
                self._dup("device override", entry.name, doc.loc(x.line),
                          self.devices[entry.name].loc)
                continue
            self.devices[entry.name] = entry

    def _entry(self, doc: Document, x: LineDict, name: str,
               cls: Callable[..., Any], **extra: Any) -> Any:
        loc = doc.loc(x.line)
        images: dict[ImageType, str] = {}
        image_locs: dict[ImageType, Location] = {}
        raw_images = x.get("images")
        if isinstance(raw_images, LineDict):
            for k, v in raw_images.items():
                t = ImageType(k)
                images[t] = v
                image_locs[t] = doc.loc(raw_images.line_of(k))
        raw_settings = x.get("settings")
        settings: dict[str, Any] = {}
        if isinstance(raw_settings, LineDict):
            converted = _settings(raw_settings, doc, self.reader.findings)
            if converted is None:
                return None
            settings = converted
        return cls(name=name, images=images, bundle=x.get("bundle"), settings=settings, loc=loc,
                   image_locs=image_locs, **extra)


def _match(x: dict[str, Any]) -> Match:
    mode = x.get("mode")
    return Match(model=x.get("model"), tags=tuple(x.get("tags", ())), site=x.get("site"),
                 mode=Mode(mode) if mode else None, names=tuple(x.get("names", ())))


_ENUMS: dict[str, Callable[[Any], Any]] = {
    "install_location": InstallLocation,
    "operation": Operation,
    "on_error": OnError,
    "order": Order,
}


def _settings(raw: LineDict, doc: Document, findings: list[Finding]) -> dict[str, Any] | None:
    """Schema-checked settings -> typed values for `Settings.merged` (None when unusable)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        conv = _ENUMS.get(key)
        if conv is not None:
            out[key] = conv(value)
        elif key == "maintenance_windows":
            windows = []
            for w in value:
                tz = w.get("tz", "UTC")
                if not _known_tz(tz):
                    findings.append(Finding(
                        FindingCode.SCHEMA, f"maintenance window time zone {tz!r} is unknown "
                        "(use an IANA name such as UTC or Asia/Tokyo)",
                        location=doc.loc(w.line_of("tz") if isinstance(w, LineDict) else None)))
                    return None
                windows.append(MaintenanceWindow(days=tuple(w["days"]), start=w["start"],
                                                 duration_minutes=w["duration_minutes"], tz=tz))
            out[key] = tuple(windows)
        elif key == "accept_warnings":
            out[key] = frozenset(value)
        else:
            out[key] = value
    return out


_TZ_CACHE: dict[str, bool] = {}


def _known_tz(name: str) -> bool:
    if name not in _TZ_CACHE:
        try:
            zoneinfo.ZoneInfo(name)
            _TZ_CACHE[name] = True
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            _TZ_CACHE[name] = False
    return _TZ_CACHE[name]
