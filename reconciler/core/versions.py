"""Version parsing and ordering for every image type.

ASA and ASDM: `9.1(5)`, `9.2(2)4` (interim 4), `9.2(2.4)` (old interim notation), listings such as
`9.1.5.SMP.ED` or `9.2.2.4.SMP`, plain `9.1.5`. Order: major, minor, maintenance, interim.
Agents: four numeric parts `a.b.c.d`; only `a.b.c` decide whether an upgrade is available.
VPN images (AnyConnect, CSD, Hostscan, plugins): dotted numbers of 1-4 parts, compared numerically.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from reconciler.core.model import ImageType
from reconciler.errors import PermanentError


class VersionError(PermanentError):
    code = "BAD_VERSION"


# re.ASCII: \d would otherwise accept other scripts' digits ("٩.١(٥)", full-width "５"), which
# int() happily converts, so a look-alike string would silently equal a real version.
_ASA_PAREN = re.compile(
    r"^(\d{1,3})\.(\d{1,3})\((\d{1,3})(?:\.(\d{1,4}))?\)(\d{1,4})?\Z", re.ASCII)
_ASA_DOTTED = re.compile(
    r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(\d{1,4}))?((?:\.[A-Za-z]{1,8})*)\Z", re.ASCII)
_DOTTED = re.compile(r"^\d{1,9}(?:\.\d{1,9}){0,3}\Z", re.ASCII)
_AGENT = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}\.\d{1,9}\Z", re.ASCII)


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class AsaVersion:
    major: int
    minor: int
    maintenance: int
    interim: int = 0
    tags: tuple[str, ...] = field(default=(), compare=False)  # e.g. ("SMP", "ED") from listings

    @classmethod
    def parse(cls, text: str) -> AsaVersion:
        s = str(text).strip()
        m = _ASA_PAREN.match(s)
        if m:
            interim = m.group(4) or m.group(5) or "0"
            if m.group(4) and m.group(5):
                raise VersionError(f"version {text!r} gives the interim release twice",
                                   hint="write 9.2(2)4 or 9.2(2.4)")
            return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(interim))
        m = _ASA_DOTTED.match(s)
        if m:
            tags = tuple(t.upper() for t in m.group(5).split(".") if t)
            return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4) or 0), tags)
        raise VersionError(f"{text!r} is not an ASA version",
                           hint="write it as 9.1(5), 9.2(2)4, 9.1.5 or 9.1.5.SMP.ED")

    @property
    def key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.maintenance, self.interim)

    @property
    def train(self) -> tuple[int, int]:
        """major.minor: failover peers must share it."""
        return (self.major, self.minor)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AsaVersion):
            return NotImplemented
        return self.key < other.key

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}({self.maintenance})"
        return f"{base}{self.interim}" if self.interim else base


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class DottedVersion:
    """AnyConnect/CSD/Hostscan/plugin versions such as 4.10.07073: numeric, zero-padded parts."""

    parts: tuple[int, ...]
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> DottedVersion:
        s = str(text).strip()
        if not _DOTTED.match(s):
            raise VersionError(f"{text!r} is not a dotted version", hint="write it as 4.10.07073")
        parts = tuple(int(p) for p in s.split("."))
        return cls(parts + (0,) * (4 - len(parts)), s)

    @property
    def key(self) -> tuple[int, ...]:
        return self.parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DottedVersion) and self.parts == other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, DottedVersion):
            return NotImplemented
        return self.parts < other.parts

    def __str__(self) -> str:
        return self.text or ".".join(map(str, self.parts))


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class AgentVersion:
    """Four parts; the fourth is an internal build number that never makes an upgrade available."""

    major: int
    minor: int
    maintenance: int
    build: int

    @classmethod
    def parse(cls, text: str) -> AgentVersion:
        s = str(text).strip()
        if not _AGENT.match(s):
            raise VersionError(f"{text!r} is not an agent version",
                               hint="agent versions have four numeric parts, e.g. 7.3.2.1006")
        a, b, c, d = (int(p) for p in s.split("."))
        return cls(a, b, c, d)

    @property
    def key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.maintenance, self.build)

    @property
    def release(self) -> tuple[int, int, int]:
        """The part that decides whether an upgrade is available."""
        return (self.major, self.minor, self.maintenance)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AgentVersion):
            return NotImplemented
        return self.key < other.key

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.maintenance}.{self.build}"


Version = AsaVersion | DottedVersion | AgentVersion


@functools.lru_cache(maxsize=65536)
def parse_version(image_type: ImageType | str, text: str) -> Version:
    """Parse `text` with the grammar of `image_type`. Cached: fleets repeat a few versions."""
    t = ImageType(image_type)
    if t in (ImageType.ASA, ImageType.ASDM):
        return AsaVersion.parse(text)
    if t is ImageType.AGENT:
        return AgentVersion.parse(text)
    return DottedVersion.parse(text)


@functools.lru_cache(maxsize=65536)
def release_key(image_type: ImageType | str, text: str) -> tuple[int, ...]:
    """The comparison key that decides drift: agents ignore their fourth part. Cached like
    `parse_version`: the planner asks for it several times per unit."""
    v = parse_version(image_type, text)
    if isinstance(v, AgentVersion):
        return v.release
    return v.key


def same_release(image_type: ImageType | str, a: str, b: str) -> bool:
    return release_key(image_type, a) == release_key(image_type, b)


def is_version_text(image_type: ImageType | str, text: str) -> bool:
    try:
        parse_version(image_type, text)
    except VersionError:
        return False
    return True
