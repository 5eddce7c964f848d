"""Refuse image names and sources that could escape the repository or leak credentials.

The rules themselves live in `reconciler.core.catalog` (pure; `validate` reports them as findings);
this module raises them as UNSAFE_PATH errors where files are touched, so a hand-built `Image`
cannot bypass them, and classifies a source for `ImageRepository.fetch`.
A catalog `source:` is one of
  - an http(s) URL without user:password@ (credentials are references, never part of a URL);
  - `synthetic:NAME` — a deterministic stand-in file (reconciler/images/synthetic.py);
  - a relative path below the image source directory, without `..` and not absolute.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from reconciler.contract import FindingCode
from reconciler.core.catalog import unsafe_image_name, unsafe_source
from reconciler.errors import PermanentError

MAX_NAME = 255
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class UnsafePathError(PermanentError):
    code = FindingCode.UNSAFE_PATH.value


class SourceKind(enum.StrEnum):
    HTTP = "http"
    SYNTHETIC = "synthetic"
    PATH = "path"


@dataclass(frozen=True, slots=True)
class Source:
    kind: SourceKind
    value: str  # the URL, the synthetic name, or the relative path (POSIX separators)

    def display(self) -> str:
        return display_url(self.value) if self.kind is SourceKind.HTTP else (
            f"synthetic:{self.value}" if self.kind is SourceKind.SYNTHETIC else self.value)


def check_image_name(name: str) -> str:
    """Return `name` if it is a plain file name that is safe on the host and on the device.

    The rule is `reconciler.core.catalog.unsafe_image_name` (what `validate` reports), plus the
    limits of real file systems that only matter once a file is written.
    """
    hint = "an image name is a plain file name such as asa941-smp-k8.bin"
    if not isinstance(name, str) or not name.strip():
        raise UnsafePathError("image name is empty", hint=hint)
    why = unsafe_image_name(name)
    if why is None and name != name.strip():
        why = f"image name {name!r} has leading or trailing blanks"
    if why is None and len(name.encode()) > MAX_NAME:
        why = f"image name {name[:40]!r}... is longer than {MAX_NAME} bytes"
    if why:
        raise UnsafePathError(why, hint=hint)
    return name


def display_url(url: str) -> str:
    """A URL fit for logs and messages: no user info, no query (pre-signed URLs carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}" + ("?…" if parts.query else "")


def parse_source(source: str, *, image: str | None = None) -> Source:
    """Classify and check a catalog `source:` value; raise UnsafePathError when it is unsafe.

    The rule is `reconciler.core.catalog.unsafe_source` (what `validate` reports), plus what only
    matters when the source is used: an empty value, a bad port, blanks inside a URL.
    """
    what = f"image {image}: " if image else ""
    text = source if isinstance(source, str) else ""
    why = unsafe_source(text) if text.strip() else "source is empty"
    if why:
        raise UnsafePathError(what + why, hint=_hint(why))
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    if scheme == "synthetic":
        return Source(SourceKind.SYNTHETIC, check_image_name(text[len("synthetic:"):]))
    if scheme in ("http", "https"):
        return Source(SourceKind.HTTP, _check_url(text, what))
    parts = [p for p in PurePosixPath(text.replace("\\", "/")).parts if p != "."]
    if not parts:
        raise UnsafePathError(f"{what}source {text!r} does not name a file", hint=_hint(""))
    return Source(SourceKind.PATH, "/".join(parts))


def _hint(why: str) -> str:
    if "credentials" in why:
        return ("remove user:password@ from the URL; pass credentials as a reference "
                "(reconciler images fetch --source-credentials env:NAME)")
    return "use an http(s) URL, synthetic:NAME or a path relative to the image source directory (--source-dir)"


def _check_url(url: str, what: str) -> str:
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise UnsafePathError(f"{what}source {display_url(url)!r} is not a valid URL ({e})") from None
    if any(c.isspace() for c in url):
        raise UnsafePathError(f"{what}source URL {display_url(url)!r} contains blanks",
                              hint="percent-encode blanks as %20")
    return url
