"""State and behaviour of simulated devices: units, disks, boot, reload, failover and clusters.

Everything here is plain in-memory state driven by a `Clock`. Changes that happen after a delay
(a unit finishing its boot, a standby reaching Standby Ready, a unit rejoining its cluster, an
agent restarting after an install) are queued as events and applied by `settle(now)`, which the
HTTP layer calls before it looks at a device. That keeps the behaviour deterministic and lets a
`ManualClock` step through a reload in tests.

Behaviour modelled on the ASA (and the seed's procedures):
- reload takes `reload_seconds`; the unit then boots the first bootable image of the *saved*
  boot list (`write memory` matters), else keeps its old image if it is still there, else the
  first system image on disk0, else stays in ROMMON. A configuration register whose boot field
  is 0 boots to ROMMON; one that is not 0x1/0x3/0x5/0x7/0x9 ignores the boot list.
- failover: reloading the active unit makes a ready standby active; a reloaded unit comes back
  Cold Standby and reaches Standby Ready after `ready_seconds` if its version may pair with the
  active's (same major, minor at most one apart); configuration lives on the active and syncs.
- cluster: a reloaded data unit rejoins as data after `ready_seconds`; a reloaded control unit
  hands control to the lowest-numbered ready data unit and rejoins as data.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from reconciler.core.model import ContextMode, ImageType, Mode
from reconciler.core.platforms import Platform, platform_of
from reconciler.core.versions import AsaVersion, VersionError
from reconciler.sim.content import Content
from reconciler.sim.faults import FaultKind, Faults
from reconciler.sim.imagefiles import ImageFileInfo, boots_on, identify

BOOT_LIST_REGISTERS = {0x1, 0x3, 0x5, 0x7, 0x9}
DEFAULT_MTIME = datetime(2023, 1, 10, 8, 12, 0, tzinfo=UTC)


class SimError(Exception):
    """A command the simulated device refuses; the message is what the CLI prints."""


@dataclass
class SimFile:
    name: str
    content: Content
    mtime: datetime = DEFAULT_MTIME
    valid: bool = True  # False: the image's signature is broken (corrupt copy)
    info: ImageFileInfo | None = None  # explicit type/version; else judged from the name

    @property
    def size(self) -> int:
        return self.content.size

    @property
    def image(self) -> ImageFileInfo | None:
        return self.info or identify(self.name)


@dataclass
class Partial:
    """A file being assembled from ranged uploads."""

    total: int
    parts: list[bytes] = field(default_factory=list)
    received: int = 0


@dataclass
class SimDisk:
    name: str
    size: int
    reserved: int = 0  # bytes used by the file system and directories
    files: dict[str, SimFile] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    partials: dict[str, Partial] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return (self.reserved + sum(f.size for f in self.files.values())
                + sum(p.total for p in self.partials.values()))

    @property
    def free(self) -> int:
        return max(0, self.size - self.used)

    def room_for(self, name: str, size: int) -> bool:
        """Would a file of `size` fit, counting space freed by overwriting `name`?"""
        old = self.files[name].size if name in self.files else 0
        held = self.partials[name].total if name in self.partials else 0
        return size <= self.free + old + held


@dataclass
class Timings:
    reload_seconds: float = 420.0
    ready_seconds: float = 60.0  # failover standby-ready / cluster rejoin after boot
    install_seconds: float = 180.0  # agents: install and service restart


@dataclass
class Config:
    """The parts of the (system-context) configuration the image procedures touch."""

    boot: list[str] = field(default_factory=list)
    asdm: str | None = None
    anyconnect: list[str] = field(default_factory=list)
    csd: str | None = None
    hostscan: str | None = None

    def copy(self) -> Config:
        return replace(self, boot=list(self.boot), anyconnect=list(self.anyconnect))


class UnitState:
    UP = "up"
    BOOTING = "booting"
    DOWN = "down"  # does not answer (fault), may never return
    ROMMON = "rommon"  # nothing bootable, or the register says so


@dataclass
class Unit:
    name: str
    serial: str
    ram_mb: int
    disks: dict[str, SimDisk]
    running_image: str | None
    running_version: str
    state: str = UnitState.UP
    booted_at: float = -45 * 86400.0
    ready: bool = True  # failover: standby ready (or active); cluster: joined
    not_ready_reason: str = ""
    # failover
    failover_id: str | None = None  # "primary" | "secondary"
    active: bool = False
    groups: set[int] = field(default_factory=set)  # active/active: groups active here
    # cluster
    unit_id: int | None = None
    site_id: int | None = None
    ccl_ip: str | None = None
    ccl_mac: str | None = None
    control: bool = False
    last_join: float | None = None
    last_leave: float | None = None
    reloads: int = 0

    @property
    def up(self) -> bool:
        return self.state == UnitState.UP

    def disk(self, name: str) -> SimDisk | None:
        return self.disks.get(name)


# Like the ASA: a file lives in the top directory of a disk; no "..", no backslash, no control
# characters, whatever a client sends.
_BAD_NAME = re.compile(r"^\.{1,2}$|[\\\x00-\x1f\x7f]")


def split_path(path: str) -> tuple[str, str]:
    """`disk0:/asa.bin` -> ("disk0", "asa.bin"); raises SimError on anything else."""
    if ":" not in path:
        raise SimError(f"%Error: Invalid path {path!r}")
    disk, _, rest = path.partition(":")
    name = rest.lstrip("/")
    if not disk or not name or "/" in name or _BAD_NAME.search(name):
        raise SimError(f"%Error: Invalid path {path!r}")
    return disk.lower(), name


class _Events:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()

    def at(self, when: float, fn: Callable[[float], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), fn))

    def run_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            when, _, fn = heapq.heappop(self._heap)
            fn(when)

    def __len__(self) -> int:
        return len(self._heap)


def ha_compatible(a: str, b: str) -> bool:
    """May two units with these versions pair (or share a cluster) during an upgrade?"""
    try:
        va, vb = AsaVersion.parse(a), AsaVersion.parse(b)
    except VersionError:
        return False
    if va.major != vb.major:
        return abs(va.major - vb.major) == 1
    return abs(va.minor - vb.minor) <= 1


@dataclass
class SimAsa:
    name: str
    model: str
    hostname: str
    mode: Mode
    units: list[Unit]
    running: Config = field(default_factory=Config)
    startup: Config = field(default_factory=Config)
    context_mode: ContextMode = ContextMode.SINGLE
    contexts: list[str] = field(default_factory=list)
    register: str = "0x1"
    next_register: str | None = None
    pending_sessions: list[str] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    faults: Faults = field(default_factory=Faults)
    cluster_name: str = ""
    appliance_mode: bool | None = None
    strict_ha_versions: bool = True
    events: _Events = field(default_factory=_Events)
    kind: str = "asa"

    # ------------------------------------------------------------ lookups

    @property
    def family(self) -> str:
        p = platform_of(self.model)
        return p.family if isinstance(p, Platform) else "unknown"

    def unit(self, name: str) -> Unit | None:
        return next((u for u in self.units if u.name == name), None)

    def mate(self, unit: Unit) -> Unit:
        return next(u for u in self.units if u is not unit)

    def is_active(self, unit: Unit) -> bool:
        if self.mode is Mode.ACTIVE_ACTIVE:
            return 1 in unit.groups  # the admin context lives in failover group 1
        return unit.active

    def management_unit(self) -> Unit | None:
        """The unit that answers on the device's management address, if any."""
        u: Unit | None
        if self.mode is Mode.STANDALONE:
            u = self.units[0]
        elif self.mode is Mode.CLUSTER:
            u = next((x for x in self.units if x.control), None)
        else:
            u = next((x for x in self.units if self.is_active(x)), None)
        if u is None or not u.up or self.faults.peek(FaultKind.UNREACHABLE, u.name):
            return None
        return u

    def reachable(self, unit: Unit) -> bool:
        return unit.up and not self.faults.peek(FaultKind.UNREACHABLE, unit.name)

    def in_cluster(self, unit: Unit) -> bool:
        return self.reachable(unit) and (unit.control or unit.ready)

    def settle(self, now: float) -> None:
        self.events.run_due(now)

    # ------------------------------------------------------------ images and boot

    def file_at(self, unit: Unit, path: str) -> SimFile | None:
        disk_name, name = split_path(path)
        disk = unit.disk(disk_name)
        return disk.files.get(name) if disk else None

    def bootable(self, unit: Unit, path: str) -> ImageFileInfo | None:
        try:
            f = self.file_at(unit, path)
        except SimError:
            return None
        if f is None or not f.valid:
            return None
        info = f.image
        if info is None or not boots_on(self.family, info):
            return None
        return info

    def choose_boot_image(self, unit: Unit) -> tuple[str, str] | None:
        reg = int(self.register, 16)
        if reg & 0xF == 0:
            return None  # boot field 0: stay in ROMMON
        candidates = list(self.startup.boot) if reg in BOOT_LIST_REGISTERS else []
        for path in candidates:
            info = self.bootable(unit, path)
            if info:
                return path, info.version
        if candidates and unit.running_image:
            info = self.bootable(unit, unit.running_image)
            if info:
                return unit.running_image, info.version
        disk0 = unit.disk("disk0")
        for f in (disk0.files.values() if disk0 else ()):
            info = self.bootable(unit, f"disk0:/{f.name}")
            if info:
                return f"disk0:/{f.name}", info.version
        return None

    # ------------------------------------------------------------ reload

    def reload(self, unit: Unit, now: float) -> None:
        if not unit.up:
            raise SimError(f"ERROR: Unit {unit.name} is not up")
        if self.next_register is not None:
            self.register, self.next_register = self.next_register, None
        unit.reloads += 1
        unit.state = UnitState.BOOTING
        unit.ready = False
        self._leave_roles(unit, now)
        if self.faults.fire(FaultKind.UNREACHABLE_AFTER_RELOAD, unit.name):
            unit.state = UnitState.DOWN
            return
        slow = self.faults.fire(FaultKind.SLOW_RELOAD, unit.name)
        duration = float(slow.seconds) if slow and slow.seconds else self.timings.reload_seconds
        self.events.at(now + duration, functools.partial(self._boot, unit))

    def _leave_roles(self, unit: Unit, now: float) -> None:
        if self.mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
            mate = self.mate(unit)
            if self.reachable(mate) and mate.ready:
                if unit.active:
                    mate.active = True
                mate.groups |= unit.groups
            unit.active = False
            unit.groups = set()
        elif self.mode is Mode.CLUSTER:
            unit.last_leave = now
            if unit.control:
                unit.control = False
                self._elect_control()

    def _elect_control(self) -> None:
        candidates = sorted((u for u in self.units if self.reachable(u) and u.ready),
                            key=lambda u: (u.unit_id if u.unit_id is not None else 99, u.name))
        if candidates:
            candidates[0].control = True

    def _boot(self, unit: Unit, at: float) -> None:
        choice = self.choose_boot_image(unit)
        if choice is None:
            unit.state = UnitState.ROMMON
            return
        unit.running_image, unit.running_version = choice
        unit.state = UnitState.UP
        unit.booted_at = at
        unit.not_ready_reason = ""
        if self.mode is Mode.STANDALONE:
            unit.ready = True
            self.running = self.startup.copy()
        elif self.mode is Mode.CLUSTER:
            if any(u.control and self.reachable(u) for u in self.units if u is not unit):
                self.events.at(at + self.timings.ready_seconds, functools.partial(self._rejoin, unit))
            else:
                unit.control = unit.ready = True
                unit.last_join = at
                self.running = self.startup.copy()
        else:
            mate = self.mate(unit)
            if self.reachable(mate) and (mate.active or mate.groups):
                self.events.at(at + self.timings.ready_seconds, functools.partial(self._standby_ready, unit))
            else:
                unit.ready = True
                unit.active = self.mode is Mode.ACTIVE_STANDBY
                unit.groups = set(range(1, 3)) if self.mode is Mode.ACTIVE_ACTIVE else set()
                self.running = self.startup.copy()

    def _peer_problem(self, unit: Unit, peer: Unit | None) -> str:
        if not unit.up:
            return "unit is not up"
        if self.faults.peek(FaultKind.STANDBY_NOT_READY, unit.name):
            return "configuration synchronisation did not complete"
        if peer is not None and self.strict_ha_versions and not ha_compatible(unit.running_version, peer.running_version):
            return (f"mate version {unit.running_version} is not compatible with "
                    f"{peer.running_version} (major.minor must match or differ by one minor)")
        return ""

    def _standby_ready(self, unit: Unit, at: float) -> None:
        mate = self.mate(unit)
        unit.not_ready_reason = self._peer_problem(unit, mate)
        unit.ready = not unit.not_ready_reason

    def _rejoin(self, unit: Unit, at: float) -> None:
        control = next((u for u in self.units if u.control and self.reachable(u)), None)
        unit.not_ready_reason = self._peer_problem(unit, control)
        if unit.not_ready_reason:
            return
        unit.ready = True
        unit.last_join = at
        if control is None:
            unit.control = True

    # ------------------------------------------------------------ failover and cluster roles

    def switchover(self, to: Unit) -> None:
        """Make `to` the active unit (all failover groups active on it for active/active)."""
        old = self.mate(to)
        if not (self.reachable(to) and to.ready):
            raise SimError("ERROR: Switchover not performed: the standby unit is not in Standby Ready state")
        if self.mode is Mode.ACTIVE_STANDBY:
            to.active, old.active = True, False
        else:
            to.groups |= old.groups
            old.groups = set()

    def move_group(self, group: int, to: Unit) -> None:
        if self.mode is not Mode.ACTIVE_ACTIVE:
            raise SimError("ERROR: Failover groups are configured only in Active/Active mode")
        if group not in (1, 2):
            raise SimError(f"ERROR: failover group {group} does not exist")
        if not (self.reachable(to) and to.ready):
            raise SimError(f"ERROR: Unit {to.failover_id} is not ready to become active for group {group}")
        self.mate(to).groups.discard(group)
        to.groups.add(group)

    def handoff_control(self, to: Unit) -> None:
        if not self.in_cluster(to):
            raise SimError(f'ERROR: Unit "{to.name}" is not a member of the cluster')
        for u in self.units:
            u.control = u is to

    # ------------------------------------------------------------ configuration

    def write_memory(self) -> None:
        self.startup = self.running.copy()


@dataclass
class InstallJob:
    id: int
    package: str
    version: str
    state: str = "installing"  # installing | succeeded | failed
    message: str = ""
    code: str | None = None


@dataclass
class SimAgent:
    name: str
    platform: str
    hostname: str
    version: str
    disk: SimDisk
    serial: str = ""
    os_name: str = ""
    ram_mb: int = 4096
    state: str = UnitState.UP
    timings: Timings = field(default_factory=Timings)
    faults: Faults = field(default_factory=Faults)
    checkins: int = 0
    last_checkin: float | None = None
    jobs: dict[int, InstallJob] = field(default_factory=dict)
    revert_to: str | None = None  # set by the agent-revert fault after an install
    events: _Events = field(default_factory=_Events)
    kind: str = "agent"

    @property
    def up(self) -> bool:
        return self.state == UnitState.UP and not self.faults.peek(FaultKind.UNREACHABLE, self.name)

    def settle(self, now: float) -> None:
        self.events.run_due(now)

    def start_install(self, package: str, version: str, now: float) -> InstallJob:
        f = self.disk.files.get(package)
        if f is None:
            raise SimError(f"package {package} is not staged; upload it first")
        job = InstallJob(id=len(self.jobs) + 1, package=package, version=version)
        self.jobs[job.id] = job
        info = f.image
        fail = self.faults.fire(FaultKind.INSTALL_FAILS, self.name)
        if not f.valid:
            job.state, job.code, job.message = "failed", "ftp-551", "package signature is not valid"
            return job
        if info is None or info.type is not ImageType.AGENT or info.version != version:
            found = info.version if info else "unknown"
            job.state, job.code = "failed", "ftp-553"
            job.message = f"package {package} holds agent version {found}, not {version}"
            return job
        self.state = UnitState.BOOTING
        old = self.version

        def done(at: float, job: InstallJob = job, fail_code: str | None = fail.code if fail else None) -> None:
            self.state = UnitState.UP
            if fail_code:
                job.state, job.code, job.message = "failed", fail_code, "installer reported an error"
                return
            self.version = version
            job.state = "succeeded"
            if self.faults.fire(FaultKind.AGENT_REVERT, self.name):
                self.revert_to = old

        self.events.at(now + self.timings.install_seconds, done)
        return job

    def checkin(self, now: float) -> dict[str, object]:
        self.checkins += 1
        self.last_checkin = now
        reimaged = None
        if self.revert_to:
            # the device configuration re-images the device with its old agent (the seed's loop)
            reimaged, self.version, self.revert_to = self.revert_to, self.revert_to, None
        return {"checkins": self.checkins, "reimaged_to": reimaged}


SimDevice = SimAsa | SimAgent
