"""Refuse image names and sources that could escape the repository or leak credentials.

Pure checks, no I/O: the loader can run them while validating the catalog and the repository runs
them again before touching the file system, so a hand-built `Image` cannot bypass them either.
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
from reconciler.errors import PermanentError

MAX_NAME = 255
# Control characters and the characters Windows and device file systems (disk0:) reject.
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_DRIVE = re.compile(r"^[A-Za-z]:")
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
    """Return `name` if it is a plain file name that is safe on the host and on the device."""
    hint = "an image name is a plain file name such as asa941-smp-k8.bin"
    if not isinstance(name, str) or not name.strip():
        raise UnsafePathError("image name is empty", hint=hint)
    if name in (".", "..") or name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise UnsafePathError(f"image name {name!r} is a path, not a file name", hint=hint)
    if _BAD_CHARS.search(name):
        raise UnsafePathError(f"image name {name!r} contains a path separator or a character "
                              "that file systems reject", hint=hint)
    if name.startswith("."):
        # The repository keeps its own bookkeeping in dot-files; a hidden image would collide.
        raise UnsafePathError(f"image name {name!r} starts with a dot", hint=hint)
    if name != name.strip():
        raise UnsafePathError(f"image name {name!r} has leading or trailing blanks", hint=hint)
    if len(name.encode()) > MAX_NAME:
        raise UnsafePathError(f"image name {name[:40]!r}... is longer than {MAX_NAME} bytes", hint=hint)
    return name


def display_url(url: str) -> str:
    """A URL fit for logs and messages: no user info, no query (pre-signed URLs carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" + ("?…" if parts.query else "")


def parse_source(source: str, *, image: str | None = None) -> Source:
    """Classify and check a catalog `source:` value; raise UnsafePathError when it is unsafe."""
    what = f"source of image {image}" if image else "image source"
    text = (source or "").strip()
    if not text:
        raise UnsafePathError(f"{what} is empty", hint="give an http(s) URL, a relative path or synthetic:NAME")
    if _DRIVE.match(text) or text.startswith(("/", "\\", "~")):
        raise UnsafePathError(f"{what} {text!r} is an absolute path",
                              hint="write the path relative to the image source directory (--source-dir)")
    m = _SCHEME.match(text)
    if m:
        scheme = m.group(1).lower()
        if scheme == "synthetic":
            return Source(SourceKind.SYNTHETIC, check_image_name(text[len("synthetic:"):]))
        if scheme in ("http", "https"):
            return Source(SourceKind.HTTP, _check_url(text, what))
        raise UnsafePathError(f"{what} uses the unsupported scheme {scheme!r}",
                              hint="use http(s)://, synthetic:NAME or a path relative to the image source directory")
    return Source(SourceKind.PATH, _check_relative(text, what))


def _check_url(url: str, what: str) -> str:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as e:
        raise UnsafePathError(f"{what} is not a valid URL ({e})") from None
    if not parts.hostname:
        raise UnsafePathError(f"{what} {display_url(url)!r} has no host name")
    if "@" in parts.netloc:
        # Never echo the URL: the user part is the secret.
        raise UnsafePathError(f"{what} embeds credentials in the URL ({parts.scheme}://***@{parts.hostname}...)",
                              hint="remove user:password@ from the URL; credentials are passed as references "
                                   "(--source-credentials env:NAME)")
    if any(c in url for c in "\r\n\t ") or re.search(r"[\x00-\x1f\x7f]", url):
        raise UnsafePathError(f"{what} contains blanks or control characters")
    return url


def _check_relative(path: str, what: str) -> str:
    if re.search(r"[\x00-\x1f\x7f]", path):
        raise UnsafePathError(f"{what} contains control characters")
    posix = path.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if any(p == ".." for p in parts):
        raise UnsafePathError(f"{what} {path!r} climbs out of the image source directory with '..'",
                              hint="keep image sources below the image source directory")
    if not parts or parts[-1] in (".",):
        raise UnsafePathError(f"{what} {path!r} does not name a file")
    return "/".join(p for p in parts if p != ".")
