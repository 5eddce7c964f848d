"""Desired-state model: image catalog, bundles, fleet policy, inventory.

Pure values, no I/O. The loader (`reconciler.loader`) builds these from YAML and attaches the
`Location` of every definition so that later errors can name file:line.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.errors import Location


class ImageType(enum.StrEnum):
    ASA = "asa"  # system software
    ASDM = "asdm"
    ANYCONNECT = "anyconnect"
    CSD = "csd"
    HOSTSCAN = "hostscan"
    PLUGIN = "plugin"
    AGENT = "agent"

    @property
    def is_vpn(self) -> bool:
        return self in (ImageType.ANYCONNECT, ImageType.CSD, ImageType.HOSTSCAN, ImageType.PLUGIN)


class Mode(enum.StrEnum):
    STANDALONE = "standalone"
    ACTIVE_STANDBY = "active-standby"
    ACTIVE_ACTIVE = "active-active"
    CLUSTER = "cluster"


class ContextMode(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


class DeviceState(enum.StrEnum):
    OPERATIONAL = "operational"
    UPGRADE_IN_PROGRESS = "upgrade-in-progress"
    MAINTENANCE = "maintenance"
    CONFIGURATION_REQUIRED = "configuration-required"


class Role(enum.StrEnum):
    STANDALONE = "standalone"
    ACTIVE = "active"
    STANDBY = "standby"
    CONTROL = "control"
    DATA = "data"


class InstallLocation(enum.StrEnum):
    DISK0 = "disk0"
    DISK1 = "disk1"


class Operation(enum.StrEnum):
    INSTALL_AND_RELOAD = "install-and-reload"
    INSTALL_NO_RELOAD = "install-no-reload"
    COPY_ONLY = "copy-only"


class OnError(enum.StrEnum):
    STOP = "stop"
    CONTINUE = "continue"


class Order(enum.StrEnum):
    PARALLEL = "parallel"
    SEQUENTIAL = "sequential"


class DriverKind(enum.StrEnum):
    ASA = "asa"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Image:
    """One catalog entry. `version` is kept as written; `reconciler.core.versions` parses it."""

    name: str
    type: ImageType
    version: str
    platforms: tuple[str, ...]
    size: int
    sha256: str
    smp: bool | None = None
    min_ram_mb: int | None = None
    source: str | None = None
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Bundle:
    name: str
    images: tuple[str, ...]  # image names
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A weekly window, e.g. days=("sat","sun"), start="01:00", duration_minutes=240, tz="UTC"."""

    days: tuple[str, ...]
    start: str
    duration_minutes: int
    tz: str = "UTC"


@dataclass(frozen=True, slots=True)
class Settings:
    """Job settings after merging defaults < group < device."""

    install_location: InstallLocation = InstallLocation.DISK0
    backup_current_image: bool = False
    operation: Operation = Operation.INSTALL_AND_RELOAD
    non_intrusive: bool = False
    on_error: OnError = OnError.STOP
    order: Order = Order.PARALLEL
    max_parallel: int = 4
    reload_timeout: int = 900  # seconds per unit
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()
    auto_apply: bool = False
    accept_warnings: frozenset[str] = frozenset()
    cleanup: bool = False
    allow_active_active_conversion: bool = False
    max_attempts: int = 3  # NOT_CONVERGING after this many upgrades that did not stick

    def merged(self, patch: Mapping[str, Any]) -> Settings:
        """Return a copy with `patch` applied; values in `patch` are already typed."""
        return replace(self, **dict(patch)) if patch else self


# Target references are written as either a version ("9.4(1)", "9.4.1") or an image file name.
TargetRef = str


@dataclass(frozen=True, slots=True)
class Match:
    """A group's selector. Every given criterion must hold; `model` is a glob (fnmatch)."""

    model: str | None = None
    tags: tuple[str, ...] = ()
    site: str | None = None
    mode: Mode | None = None
    names: tuple[str, ...] = ()  # globs on device names


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """Common shape of defaults, groups and per-device overrides."""

    name: str
    images: Mapping[ImageType, TargetRef] = field(default_factory=dict)
    bundle: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    loc: Location | None = field(default=None, compare=False)
    # where each target was written, for CONFLICTING_TARGETS messages
    image_locs: Mapping[ImageType, Location] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Group(PolicyEntry):
    match: Match = field(default_factory=Match)


@dataclass(frozen=True, slots=True)
class CredentialRef:
    """`env:NAME` or `file:PATH`. Resolution (I/O) lives in `reconciler.loader.credentials`."""

    scheme: str  # "env" | "file"
    ref: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.ref}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Login for a device: ASA devices use username + password, agents a bearer token."""

    username: str | None = None
    password: CredentialRef | None = None
    token: CredentialRef | None = None


@dataclass(frozen=True, slots=True)
class TlsSettings:
    verify: bool = True
    ca_bundle: str | None = None
    fingerprint: str | None = None  # sha256 of the device certificate, hex


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    name: str
    address: str  # https://host[:port][/base] or host[:port]
    driver: DriverKind
    credentials: Credentials | None
    model: str | None = None  # hint; discovery tells the truth
    tags: tuple[str, ...] = ()
    site: str | None = None
    mode: Mode | None = None  # hint for group matching before discovery
    platform: str | None = None  # agent endpoints: windows/linux/macos
    tls: TlsSettings = field(default_factory=TlsSettings)
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class DesiredState:
    images: Mapping[str, Image]
    bundles: Mapping[str, Bundle]
    defaults: PolicyEntry
    groups: tuple[Group, ...]
    devices: Mapping[str, PolicyEntry]  # per-device overrides
    inventory: Mapping[str, InventoryDevice]
    commit: str | None = None  # git commit the state was read from, if any
    content_digest: str = ""  # sha256 over the files' bytes: part of plan fingerprints


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved desired image for one device and type, with where the decision came from."""

    type: ImageType
    image: Image
    origin: str  # "defaults", "group:NAME", "device:NAME", "bundle:NAME via group:X"
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ResolvedDevice:
    name: str
    targets: Mapping[ImageType, Target]
    settings: Settings
    groups: tuple[str, ...] = ()


class ImageStatus(enum.StrEnum):
    """What the local image repository holds for a catalog image (read by the planner)."""

    PRESENT = "present"  # present and its sha256 matches the catalog
    MISSING = "missing"
    CHECKSUM_MISMATCH = "checksum-mismatch"
