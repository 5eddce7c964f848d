"""The image catalog as an index: what a target reference means, and which builds fit a platform.

A target reference is an image file name from the catalog or a version. Versions are matched by
parsed equality (`9.4.1` == `9.4(1)` == `9.4.1.SMP`); an agent target may give only the three
release parts (`7.3.2`) and then means the newest build of that release built for the device's
platform (`newest_build`). Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from reconciler.core.model import Image, ImageType
from reconciler.core.names import did_you_mean
from reconciler.core.versions import AgentVersion, Version, VersionError, parse_version

_AGENT_RELEASE = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")
_VERSIONISH = re.compile(r"^[\d.()]+[A-Za-z.]*$")


def is_asacx(name: str) -> bool:
    """ASA-CX system and boot images (asacx-sys-9.1.1-1.pkg, asacx-5500x-boot-...) are refused."""
    return name.lower().startswith("asacx")


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a reference resolved to in the catalog (before platform selection)."""

    images: tuple[Image, ...]  # candidates of the right type (any platform)
    by_name: bool  # the reference was an image file name
    problem: str | None = None  # why nothing matched
    bad_version: bool = False  # the reference looks like a version but does not parse
    newest_build: bool = False  # an agent release (a.b.c): take the newest build that fits


class CatalogIndex:
    def __init__(self, images: Mapping[str, Image]) -> None:
        self.images = images
        self._by_version: dict[tuple[ImageType, tuple[int, ...]], list[Image]] = defaultdict(list)
        self._by_release: dict[tuple[int, ...], list[Image]] = defaultdict(list)
        for img in images.values():
            try:
                v = parse_version(img.type, img.version)
            except VersionError:
                continue  # reported by validate_desired (BAD_VERSION)
            self._by_version[(img.type, v.key)].append(img)
            if isinstance(v, AgentVersion):
                self._by_release[v.release].append(img)
        self._memo: dict[tuple[ImageType, str], Lookup] = {}

    def lookup(self, image_type: ImageType, ref: str) -> Lookup:
        key = (image_type, ref)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._lookup(image_type, ref)
        return found

    def _lookup(self, t: ImageType, ref: str) -> Lookup:
        img = self.images.get(ref)
        if img is not None:
            if img.type is not t:
                return Lookup((), True, f"image {ref} is an {img.type} image, not {t}")
            return Lookup((img,), True)
        if t is ImageType.AGENT and _AGENT_RELEASE.match(ref.strip()):
            release = tuple(int(p) for p in ref.strip().split("."))
            builds = self._by_release.get(release, [])
            if builds:
                return Lookup(tuple(builds), False, newest_build=True)
            return Lookup((), False, f"the catalog holds no agent image of release {ref}")
        try:
            v = parse_version(t, ref)
        except VersionError:
            if _VERSIONISH.match(ref.strip()):
                return Lookup((), False, f"{ref!r} is not a valid {t} version", bad_version=True)
            hint = did_you_mean(ref, self.images)
            return Lookup((), False,
                          f"{ref!r} is neither a catalog image nor a valid {t} version{hint}")
        matches = self._by_version.get((t, v.key), [])
        if not matches:
            return Lookup((), False, f"the catalog holds no {t} image of version {v}")
        return Lookup(tuple(matches), False)


def newest(images: tuple[Image, ...] | list[Image]) -> list[Image]:
    """The images with the highest version (all of them when several share it)."""
    keyed = [(_key(i), i) for i in images]
    top = max(k for k, _ in keyed)
    return [i for k, i in keyed if k == top]


def _key(image: Image) -> tuple[int, ...]:
    v: Version = parse_version(image.type, image.version)
    return v.key


# Percent-encoded dot, slash, backslash, NUL and percent (double encoding): a name or path that
# some later layer decodes must not turn into "../" there.
_ENCODED = re.compile(r"%(2e|2f|5c|00|25)", re.IGNORECASE)
# Characters that look like, or normalise (NFKC) to, a path separator or a dot.
_LOOKALIKES = frozenset("\u2215\u2044\u29f8\u2216\u29f5\u29f9\uff0f\uff3c\ufe68\u2024\u2025\u2026"
                        "\ufe52\uff0e\u3002\uff61\u0337\u0338")


def unsafe_image_name(name: str) -> str | None:
    """Why `name` is not a plain file name, or None.

    Image names are plain ASCII file names, as on the devices' flash file systems: that also
    refuses look-alikes of '/' and '.' (U+2215, U+FF0F, ...) in one rule."""
    if not name.strip() or name != name.strip():
        return f"image name {name!r} is empty or has leading or trailing blanks"
    if name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        return f"image name {name!r} is a path, not a plain file name"
    if re.match(r"^[A-Za-z]:", name) or name.startswith((".", "~")):
        return f"image name {name!r} is not a plain file name"
    if any(ord(c) < 32 or ord(c) == 127 or c in ':*?"<>|' for c in name):
        return f"image name {name!r} contains characters that file systems reject"
    if _ENCODED.search(name):
        return f"image name {name!r} contains percent-encoded path characters"
    if not name.isascii():
        odd = next(c for c in name if not c.isascii())
        return (f"image name {name!r} contains {_describe(odd)}; image names are plain ASCII "
                "file names")
    return None


def _describe(c: str) -> str:
    try:
        return f"U+{ord(c):04X} ({unicodedata.name(c)})"
    except ValueError:
        return f"U+{ord(c):04X}"


def unsafe_source(source: str) -> str | None:
    """Why an image `source` could escape the repository or leak credentials, or None."""
    if "\0" in source or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in source):
        return "source contains control characters"
    scheme, sep, rest = source.partition(":")
    if sep and scheme.lower() in ("http", "https"):
        try:
            parts = urlsplit(source)
        except ValueError:
            return "source is not a valid URL"
        if parts.username is not None or parts.password is not None:
            # host only: the rest of a URL may hold another copy of the credentials
            return (f"source URL {parts.scheme}://{parts.hostname}{'/…' if parts.path else ''} "
                    "embeds credentials; use a credential-free URL")
        if not parts.hostname:
            return "source URL has no host"
        return None
    if sep and scheme == "synthetic":
        return unsafe_image_name(rest) and f"synthetic source {rest!r} is not a plain name"
    if sep and len(scheme) > 1 and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", scheme):
        return f"source scheme {scheme!r} is not supported (use https://, http:// or a path)"
    p = PurePosixPath(source.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", source) or source.startswith("~"):
        return f"source {source!r} is an absolute path; use a path relative to the image source"
    if ".." in p.parts:
        return f"source {source!r} climbs out of the image source with '..'"
    if _ENCODED.search(source):
        return f"source {source!r} contains percent-encoded path characters; write the path plainly"
    odd = next((c for c in source if c in _LOOKALIKES), None)
    if odd is None and unicodedata.normalize("NFKC", source) != source:
        folded = unicodedata.normalize("NFKC", source)
        if unsafe_source(folded) is not None or folded.count("/") != source.count("/"):
            odd = next(c for c in source if unicodedata.normalize("NFKC", c) != c)
    if odd is not None:
        return (f"source {source!r} contains {_describe(odd)}, which looks like a path "
                "separator or a dot")
    return None
