r"""Pure parsers of ASA CLI output: text in, typed values out, no I/O.

Each parser accepts the output of one command as the ASA prints it (and as the simulator prints
it), tolerates the variations between releases that matter here (MASTER/SLAVE versus
CONTROL_NODE/DATA_NODE, `bytes free` with or without a percentage, AnyConnect versions written
with commas) and raises `CliParseError` when the text is not what the command produces, so a
strange device is reported instead of being half-understood. Being pure, they are fuzzed
(tests/reliability/test_fuzz_cli_parsers.py) and tested on real-looking transcripts in
`tests/drivers/test_cli_parsers.py`.

Hostile output must cost linear time and end in a value or a CliParseError, never in another
exception: every pattern stays within one line (`[^\S\n]` for blanks: `\s` would let `^\s*`
rescan every following line, which made 200,000 blank lines take minutes), and numbers are
plain ASCII digits of a sane length (`_number`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.errors import PermanentDeviceError


class CliParseError(PermanentDeviceError):
    code = "CLI_PARSE"

    def __init__(self, command: str, why: str, text: str = "") -> None:
        excerpt = " ".join(text.split())[:120]
        super().__init__(
            f"cannot parse the output of `{command}`: {why}" + (f" (got: {excerpt!r})" if excerpt else ""),
            hint="the device's software may print this differently; attach the transcript to a bug report",
        )


# Case-insensitive matching in ASCII only: with Unicode rules "ſ" matches "s" and "İ" matches "i",
# and the matched text then does not lower-case to the word the code looks up.
_I = re.IGNORECASE | re.ASCII


# ---------------------------------------------------------------- errors in CLI output

_ERROR_LINE = re.compile(
    r"^[^\S\n]*(ERROR:.*|%\s*Error.*|%ERROR.*|% Invalid .*|% Incomplete .*|% Ambiguous .*|"
    r"% Unrecognized .*|Unable to .*|\*\*\*\* WARNING \*\*\*\* Configuration Replication is NOT.*)$",
    _I | re.MULTILINE,
)


def cli_error(text: str) -> str | None:
    """The first error line in a command's output, or None when the command succeeded."""
    m = _ERROR_LINE.search(text or "")
    return m.group(1).strip() if m else None


# ---------------------------------------------------------------- several commands per request

# The ASA's HTTPS interface runs `/admin/exec/cmd1/cmd2/...` in order and answers with the outputs
# one after the other, with nothing between them. To tell them apart, the driver sends
# `show clock` between the commands: harmless, valid in every mode and context, and its one line
# of output ("14:23:01.499 UTC Tue Jun 4 2024", "*" or "." in front when the clock is not
# synchronised) does not occur in the output of the commands batched with it.
BATCH_SEPARATOR = "show clock"
_CLOCK_LINE = re.compile(
    r"^[*.]?\d{1,2}:\d{2}:\d{2}\.\d{3} \S+ [A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d{1,2} \d{4}\n",
    re.MULTILINE)


def split_batch(text: str, commands: int) -> list[str] | None:
    """The outputs of `commands` commands sent with `BATCH_SEPARATOR` between them, each as the
    command alone would have answered; None unless exactly the expected separators are there
    (the device stopped part-way, or answers differently): then send the commands one by one."""
    parts = _CLOCK_LINE.split(text)
    if len(parts) != commands:
        return None
    return [p if p.endswith("\n") else p + "\n" for p in parts]


# ---------------------------------------------------------------- models

# Models that exist only as "-X" but print without the suffix in `show version`.
_X_ONLY = re.compile(r"^ASA55(06|08|12|15|16|25|45|55)([HW])?$", _I)


def canonical_model(hardware: str) -> str:
    """`ASA5506` -> `ASA5506-X`; every other model string is returned as printed."""
    s = hardware.strip()
    m = _X_ONLY.match(s)
    if m:
        return f"ASA55{m.group(1)}{(m.group(2) or '').upper()}-X"
    return s


# ---------------------------------------------------------------- show version


@dataclass(frozen=True, slots=True)
class VersionInfo:
    software_version: str  # "9.4(1)"
    model: str  # canonical, "ASA5585-SSP-20", "ASA5506-X", "FPR-2110"
    serial: str
    ram_mb: int | None = None
    device_manager_version: str | None = None
    system_image: str | None = None  # "disk0:/asa941-smp-k8.bin"
    hostname: str | None = None
    uptime: str | None = None
    config_register: str | None = None  # "0x1"
    platform_os_version: str | None = None  # Firepower: FXOS / SSP operating system
    context: str | None = None  # "system" in multiple-context mode


_SW = re.compile(r"Adaptive Security Appliance Software Version[^\S\n]+(\S+)(?:[^\S\n]+<(\w+)>)?")
_ASDM = re.compile(r"^Device Manager Version[^\S\n]+(\S+)", re.MULTILINE)
_IMG = re.compile(r'^System image file is[^\S\n]+"([^"\n]+)"', re.MULTILINE)
_HW = re.compile(r"^Hardware:[^\S\n]+([^,\s]+)(?:,[^\S\n]+([0-9]+)[^\S\n]+MB RAM)?", re.MULTILINE)
_SERIAL = re.compile(r"^Serial Number:[^\S\n]+(\S+)", re.MULTILINE)
_REG = re.compile(r"^Configuration register is[^\S\n]+(0x[0-9A-Fa-f]+)(?:[^\S\n]+\(will be[^\S\n]+(0x[0-9A-Fa-f]+) at "
                  r"next reload\))?", re.MULTILINE)
_UP = re.compile(r"^(\S+)[^\S\n]+up[^\S\n]+(.*\S)", re.MULTILINE)
_FXOS = re.compile(r"^(?:Firepower Extensible Operating System|SSP Operating System) Version[^\S\n]+(\S+)",
                   re.MULTILINE)


def parse_show_version(text: str) -> VersionInfo:
    sw = _SW.search(text)
    if not sw:
        raise CliParseError("show version", "no 'Software Version' line", text)
    hw = _HW.search(text)
    if not hw:
        raise CliParseError("show version", "no 'Hardware:' line", text)
    serial = _SERIAL.search(text)
    up = None
    for m in _UP.finditer(text):
        if m.group(1) not in ("failover",):  # "failover cluster up ..." is the pair's uptime
            up = m
            break
    reg = _REG.search(text)
    asdm = _ASDM.search(text)
    img = _IMG.search(text)
    fx = _FXOS.search(text)
    return VersionInfo(
        software_version=sw.group(1),
        context=sw.group(2),
        model=canonical_model(hw.group(1)),
        ram_mb=_number(hw.group(2), "show version", text) if hw.group(2) else None,
        serial=serial.group(1) if serial else "",
        device_manager_version=asdm.group(1) if asdm else None,
        system_image=img.group(1) if img else None,
        hostname=up.group(1) if up else None,
        uptime=up.group(2).strip() if up else None,
        # the value the next reload will use is the one that decides what boots
        config_register=(reg.group(2) or reg.group(1)).lower() if reg else None,
        platform_os_version=fx.group(1) if fx else None,
    )


# ---------------------------------------------------------------- show failover


@dataclass(frozen=True, slots=True)
class FailoverGroupState:
    group: int
    this_state: str  # "Active", "Standby Ready", ...
    other_state: str


@dataclass(frozen=True, slots=True)
class FailoverInfo:
    enabled: bool
    this_unit: str = ""  # "primary" | "secondary"
    this_state: str = ""  # active/standby: "Active", "Standby Ready", "Cold Standby", ...
    other_unit: str = ""
    other_state: str = ""  # "Standby Ready", "Failed", "Cold Standby", "Disabled", ...
    ours_version: str | None = None
    mate_version: str | None = None
    ours_serial: str | None = None
    mate_serial: str | None = None
    groups: tuple[FailoverGroupState, ...] = ()  # active/active only

    @property
    def active_active(self) -> bool:
        return bool(self.groups)

    @property
    def other_detected(self) -> bool:
        return self.other_state not in ("", "Failed", "Disabled", "Not Detected", "Unknown")


_FO_ON = re.compile(r"^Failover (On|Off)\b", re.MULTILINE)
_FO_UNIT = re.compile(r"^Failover unit (Primary|Secondary)", re.MULTILINE)
_FO_HOST = re.compile(r"^[^\S\n]*(This|Other) host:[^\S\n]*(Primary|Secondary)(?:[^\S\n]*-[^\S\n]*(.*\S))?[^\S\n]*$",
                      re.MULTILINE)
_FO_GROUP = re.compile(r"^[^\S\n]*Group ([0-9]+)[^\S\n]+State:[^\S\n]+(.*\S)[^\S\n]*$", re.MULTILINE)
_FO_VER = re.compile(r"^Version: Ours (\S+), Mate (\S+)", re.MULTILINE)
_FO_SER = re.compile(r"^Serial Number: Ours (\S+), Mate (\S+)", re.MULTILINE)


def parse_show_failover(text: str) -> FailoverInfo:
    on = _FO_ON.search(text)
    if not on:
        raise CliParseError("show failover", "no 'Failover On|Off' line", text)
    if on.group(1) == "Off":
        unit = _FO_UNIT.search(text)
        return FailoverInfo(enabled=False, this_unit=unit.group(1).lower() if unit else "")
    hosts = list(_FO_HOST.finditer(text))
    this = next((h for h in hosts if h.group(1) == "This"), None)
    other = next((h for h in hosts if h.group(1) == "Other"), None)
    if this is None or other is None:
        raise CliParseError("show failover", "no 'This host' / 'Other host' lines", text)
    groups: tuple[FailoverGroupState, ...] = ()
    if this.group(3) is None:  # active/active: per-group states follow each host line
        this_groups = {_number(g.group(1), "show failover", text): g.group(2)
                       for g in _FO_GROUP.finditer(text, this.end(), other.start())}
        other_groups = {_number(g.group(1), "show failover", text): g.group(2)
                        for g in _FO_GROUP.finditer(text, other.end())}
        if not this_groups:
            raise CliParseError("show failover", "active/active output without group states", text)
        groups = tuple(FailoverGroupState(n, this_groups[n], other_groups.get(n, "Unknown"))
                       for n in sorted(this_groups))
    ver = _FO_VER.search(text)
    ser = _FO_SER.search(text)
    return FailoverInfo(
        enabled=True,
        this_unit=this.group(2).lower(),
        this_state=(this.group(3) or "").strip(),
        other_unit=other.group(2).lower(),
        other_state=(other.group(3) or "").strip(),
        ours_version=ver.group(1) if ver else None,
        mate_version=ver.group(2) if ver else None,
        ours_serial=ser.group(1) if ser else None,
        mate_serial=ser.group(2) if ser else None,
        groups=groups,
    )


# ---------------------------------------------------------------- show cluster info

_CONTROL_STATES = {"MASTER", "CONTROL_NODE"}
_DATA_STATES = {"SLAVE", "DATA_NODE"}


@dataclass(frozen=True, slots=True)
class ClusterUnit:
    name: str
    state: str  # as printed: CONTROL_NODE, DATA_NODE, MASTER, SLAVE, DISABLED, ...
    local: bool
    unit_id: int | None = None
    site_id: int | None = None
    version: str | None = None
    serial: str | None = None
    ccl_ip: str | None = None
    ccl_mac: str | None = None

    @property
    def is_control(self) -> bool:
        return self.state in _CONTROL_STATES

    @property
    def is_data(self) -> bool:
        return self.state in _DATA_STATES

    @property
    def in_cluster(self) -> bool:
        return self.is_control or self.is_data


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    enabled: bool
    name: str = ""
    units: tuple[ClusterUnit, ...] = ()

    @property
    def local(self) -> ClusterUnit | None:
        return next((u for u in self.units if u.local), None)

    @property
    def control(self) -> ClusterUnit | None:
        return next((u for u in self.units if u.is_control), None)

    def unit(self, name: str) -> ClusterUnit | None:
        return next((u for u in self.units if u.name == name), None)


_CL_ON = re.compile(r"^Cluster[^\S\n]+(\S+):[^\S\n]+(On|Off)\b", re.MULTILINE)
_CL_UNIT = re.compile(r'^[^\S\n]*(?:This is|Unit)[^\S\n]+"([^"\n]+)"[^\S\n]+in state[^\S\n]+(\S+)', re.MULTILINE)
_CL_FIELD = re.compile(r"^[^\S\n]*(ID|Site ID|Version|Serial No\.|CCL IP|CCL MAC)[^\S\n]*:[^\S\n]*(\S+)", re.MULTILINE)


def parse_show_cluster_info(text: str) -> ClusterInfo:
    on = _CL_ON.search(text)
    if not on:
        if re.search(r"clustering is not (configured|enabled)|cluster is not", text, _I) \
                or cli_error(text):
            return ClusterInfo(enabled=False)
        raise CliParseError("show cluster info", "no 'Cluster NAME: On|Off' line", text)
    if on.group(2) == "Off":
        return ClusterInfo(enabled=False, name=on.group(1))
    heads = list(_CL_UNIT.finditer(text))
    units = []
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        fields = {f.group(1): f.group(2) for f in _CL_FIELD.finditer(text, h.end(), end)}
        units.append(ClusterUnit(
            name=h.group(1),
            state=h.group(2),
            local=h.group(0).lstrip().startswith("This is"),
            unit_id=_int(fields.get("ID")),
            site_id=_int(fields.get("Site ID")),
            version=fields.get("Version"),
            serial=fields.get("Serial No."),
            ccl_ip=fields.get("CCL IP"),
            ccl_mac=fields.get("CCL MAC"),
        ))
    if not units:
        raise CliParseError("show cluster info", "cluster is on but no unit is listed", text)
    return ClusterInfo(enabled=True, name=on.group(1), units=tuple(units))


def _int(s: str | None) -> int | None:
    """An optional field: a plain number, or None for anything else (absent, garbled)."""
    return int(s) if s is not None and len(s) <= _MAX_DIGITS and _DIGITS.match(s) else None


# Byte counts and the like: 2**64 has 20 digits. Longer numbers, and digits other than 0-9
# (which `\d` and str.isdigit accept but mean nothing on an ASA), are not device output.
_MAX_DIGITS = 20
_DIGITS = re.compile(r"^[0-9]+$")


def _number(s: str, command: str, text: str) -> int:
    if len(s) > _MAX_DIGITS or not _DIGITS.match(s):
        raise CliParseError(command, f"the number {s[:24]!r}{'...' if len(s) > 24 else ''} is "
                            "not a plain count", text)
    return int(s)


# ---------------------------------------------------------------- cluster exec


_CX_HEAD = re.compile(r"^(\S+?)(\(LOCAL\))?:\*{10,}[^\S\n]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class UnitOutput:
    unit: str
    local: bool
    text: str


def parse_cluster_exec(text: str) -> tuple[UnitOutput, ...]:
    """Split `cluster exec <cmd>` output into each unit's part (header `NAME(LOCAL):*****`)."""
    heads = list(_CX_HEAD.finditer(text))
    if not heads:
        raise CliParseError("cluster exec", "no per-unit headers", text)
    out = []
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out.append(UnitOutput(h.group(1), bool(h.group(2)), text[h.end():end].strip("\r\n")))
    return tuple(out)


# ---------------------------------------------------------------- file systems


@dataclass(frozen=True, slots=True)
class DirEntry:
    name: str
    size: int
    is_dir: bool
    modified: str = ""


@dataclass(frozen=True, slots=True)
class DirListing:
    path: str  # "disk0:/"
    entries: tuple[DirEntry, ...]
    total: int
    free: int

    @property
    def files(self) -> tuple[DirEntry, ...]:
        return tuple(e for e in self.entries if not e.is_dir)


_DIR_HEAD = re.compile(r"^Directory of (\S+)", re.MULTILINE)
_DIR_LINE = re.compile(
    r"^[^\S\n]*[0-9]+[^\S\n]+([d-])([r-][w-][x-])[^\S\n]+([0-9]+)[^\S\n]+"
    r"([0-9]{2}:[0-9]{2}:[0-9]{2}[^\S\n]+\w{3}[^\S\n]+[0-9]{1,2}[^\S\n]+[0-9]{4})[^\S\n]+(.*\S)[^\S\n]*$",
    re.MULTILINE,
)
_DIR_TOTAL = re.compile(r"^([0-9]+)[^\S\n]+bytes total[^\S\n]+\(([0-9]+)[^\S\n]+bytes free", re.MULTILINE)
_NO_DEVICE = re.compile(r"No such device|Invalid (flash )?device|not a valid file system|"
                        r"Invalid input detected", _I)


def disk_absent(text: str) -> bool:
    """True when `dir diskN:` says the disk does not exist (rather than failing otherwise)."""
    return bool(cli_error(text)) and bool(_NO_DEVICE.search(text))


def parse_dir(text: str) -> DirListing:
    head = _DIR_HEAD.search(text)
    tot = _DIR_TOTAL.search(text)
    if not head or not tot:
        err = cli_error(text)
        raise CliParseError("dir", err or "no 'Directory of' / 'bytes total' lines", text)
    entries = tuple(
        DirEntry(name=m.group(5), size=_number(m.group(3), "dir", text), is_dir=m.group(1) == "d",
                 modified=m.group(4))
        for m in _DIR_LINE.finditer(text, head.end(), tot.start())
    )
    return DirListing(path=head.group(1), entries=entries, total=_number(tot.group(1), "dir", text),
                      free=_number(tot.group(2), "dir", text))


@dataclass(frozen=True, slots=True)
class FileSystem:
    prefixes: tuple[str, ...]  # ("disk0:", "flash:")
    size: int | None
    free: int | None
    type: str
    flags: str
    default: bool

    @property
    def disk(self) -> str | None:
        """`disk0`/`disk1` for local disks, None for network and system file systems."""
        return next((p[:-1] for p in self.prefixes if re.fullmatch(r"disk\d+:", p)), None)


_FS_LINE = re.compile(r"^(\*)?[^\S\n]*([0-9]+|-)[^\S\n]+([0-9]+|-)[^\S\n]+(\S+)[^\S\n]+(\S+)[^\S\n]+(.*\S)[^\S\n]*$",
                      re.MULTILINE)


def parse_show_file_systems(text: str) -> tuple[FileSystem, ...]:
    if "File Systems:" not in text:
        raise CliParseError("show file systems", "no 'File Systems:' header", text)
    out = []
    for m in _FS_LINE.finditer(text):
        out.append(FileSystem(
            prefixes=tuple(m.group(6).split()),
            size=_number(m.group(2), "show file systems", text) if m.group(2) != "-" else None,
            free=_number(m.group(3), "show file systems", text) if m.group(3) != "-" else None,
            type=m.group(4), flags=m.group(5), default=bool(m.group(1)),
        ))
    return tuple(out)


# ---------------------------------------------------------------- boot, ASDM, register


@dataclass(frozen=True, slots=True)
class BootVar:
    boot: tuple[str, ...]  # BOOT variable: the saved list the next reload uses
    current_boot: tuple[str, ...]  # Current BOOT variable: the running configuration's list
    config_file: str = ""


def _split_boot(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(";") if p.strip() and p.strip() != "1")


def parse_show_bootvar(text: str) -> BootVar:
    boot = re.search(r"^BOOT variable[^\S\n]*=[^\S\n]*(.*)$", text, re.MULTILINE)
    if not boot:
        raise CliParseError("show bootvar", "no 'BOOT variable' line", text)
    cur = re.search(r"^Current BOOT variable[^\S\n]*=[^\S\n]*(.*)$", text, re.MULTILINE)
    cfg = re.search(r"^CONFIG_FILE variable[^\S\n]*=[^\S\n]*(.*)$", text, re.MULTILINE)
    return BootVar(
        boot=_split_boot(boot.group(1)),
        current_boot=_split_boot(cur.group(1)) if cur else _split_boot(boot.group(1)),
        config_file=cfg.group(1).strip() if cfg else "",
    )


def parse_show_asdm_image(text: str) -> str | None:
    m = re.search(r"^Device Manager image file,[^\S\n]*(\S+)", text, re.MULTILINE)
    if m:
        return m.group(1)
    if re.search(r"Device Manager image file not set|no asdm image", text, _I):
        return None
    raise CliParseError("show asdm image", "no 'Device Manager image file' line", text)


# ---------------------------------------------------------------- contexts


@dataclass(frozen=True, slots=True)
class ContextInfo:
    name: str
    admin: bool
    cls: str = "default"
    mode: str = ""
    url: str = ""


def parse_show_mode(text: str) -> str:
    """`single` or `multiple`."""
    m = re.search(r"Security context mode:[^\S\n]*(single|multiple)", text, _I)
    if not m:
        raise CliParseError("show mode", "no 'Security context mode' line", text)
    return m.group(1).lower()


_CTX_LINE = re.compile(r"^([* ])(\S+)[^\S\n]+(\S+)[^\S\n]+((?:.*?\S)?)[^\S\n]+(Routed|Transparent)[^\S\n]+(\S+)[^\S\n]*$",
                       re.MULTILINE)


def parse_show_context(text: str) -> tuple[ContextInfo, ...]:
    if not re.search(r"^Context Name", text, re.MULTILINE):
        raise CliParseError("show context", "no 'Context Name' header", text)
    return tuple(ContextInfo(name=m.group(2), admin=m.group(1) == "*", cls=m.group(3),
                             mode=m.group(5), url=m.group(6)) for m in _CTX_LINE.finditer(text))


# ---------------------------------------------------------------- pending configuration


def parse_show_configuration_session(text: str) -> tuple[str, ...]:
    """Names of configuration sessions that are not committed (pending changes)."""
    if cli_error(text):  # releases before 9.3(2) have no configuration sessions
        return ()
    if re.search(r"There are no (active )?sessions", text, _I):
        return ()
    if not re.search(r"^Session Name", text, re.MULTILINE):
        raise CliParseError("show configuration session", "no 'Session Name' header", text)
    return tuple(m.group(1) for m in re.finditer(r"^(\S+)[^\S\n]+Un-committed\b", text, re.MULTILINE))


# ---------------------------------------------------------------- VPN images


@dataclass(frozen=True, slots=True)
class AnyConnectImage:
    path: str
    version: str  # dotted: "4.10.07073"
    order: int


# An image is a header line `1. disk0:/anyconnect-....pkg 1 dyn-regex=...` followed, a few lines
# later, by its version written with commas (`4,10,07073`). Read line by line: a regex spanning
# lines took quadratic time on output with many headers and no version lines.
_AC_HEAD = re.compile(r"^[^\S\n]*([0-9]+)\.[^\S\n]+(\S+)[^\S\n]+[0-9]+")
_AC_VERSION = re.compile(r"^[^\S\n]*([0-9]+(?:,[0-9]+)+)[^\S\n]*$")


def parse_show_webvpn_anyconnect(text: str) -> tuple[AnyConnectImage, ...]:
    if re.search(r"no AnyConnect|not enabled|0 AnyConnect Client", text, _I) or cli_error(text):
        return ()
    found: list[AnyConnectImage] = []
    head: re.Match[str] | None = None
    for line in text.split("\n"):
        m = _AC_HEAD.match(line)
        if m:
            head = m  # a header without a version line before the next header is skipped
            continue
        v = _AC_VERSION.match(line) if head is not None else None
        if head is not None and v is not None:
            found.append(AnyConnectImage(path=head.group(2), version=v.group(1).replace(",", "."),
                                         order=_number(head.group(1), "show webvpn anyconnect", text)))
            head = None
    out = tuple(found)
    if not out and re.search(r"AnyConnect Client\(s\) installed", text):
        raise CliParseError("show webvpn anyconnect", "images announced but none listed", text)
    return out


def parse_webvpn_package_version(text: str) -> str | None:
    """`show webvpn csd` / `show webvpn hostscan`: the installed version, or None."""
    m = re.search(r"version[^\S\n]+([0-9]+(?:\.[0-9]+)+)[^\S\n]+is currently installed", text, _I)
    return m.group(1) if m else None


def parse_show_fxos_mode(text: str) -> str | None:
    """`appliance` or `platform` on Firepower 1000/2000; None where the command does not exist."""
    m = re.search(r"Mode is currently set to[^\S\n]+(\w+)", text, _I)
    return m.group(1).lower() if m else None


# ---------------------------------------------------------------- verify, copy


@dataclass(frozen=True, slots=True)
class VerifyResult:
    algorithm: str  # "md5", "sha-512", "sha-256"
    path: str
    digest: str  # lower-case hex


_VERIFY = re.compile(r"^verify[^\S\n]+/(\S+)[^\S\n]+\(([^)\n]+)\)[^\S\n]*=[^\S\n]*([0-9A-Fa-f]+)[^\S\n]*$",
                     re.MULTILINE | _I)


def parse_verify(text: str) -> VerifyResult:
    m = _VERIFY.search(text)
    if not m:
        raise CliParseError("verify", cli_error(text) or "no 'verify /ALG (path) = digest' line", text)
    return VerifyResult(algorithm=m.group(1).lower(), path=m.group(2), digest=m.group(3).lower())


def parse_bytes_copied(text: str) -> int | None:
    m = re.search(r"^([0-9]+)[^\S\n]+bytes copied", text, re.MULTILINE)
    return _number(m.group(1), "copy", text) if m else None


def parse_boot_system_lines(text: str) -> tuple[str, ...]:
    """`show running-config boot system`: the boot list in order."""
    return tuple(m.group(1) for m in re.finditer(r"^boot system[^\S\n]+(\S+)", text, re.MULTILINE))


_UPTIME_PART = re.compile(r"(?<![0-9])([0-9]{1,9})\s+(year|week|day|hour|min|sec)s?", _I)
_UPTIME_UNITS = {"year": 365 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "min": 60, "sec": 1}


def uptime_seconds(uptime: str | None) -> int | None:
    """`45 days 3 hours` -> 3898800; None when there is nothing to read."""
    if not uptime:
        return None
    parts = _UPTIME_PART.findall(uptime)
    if not parts:
        return None
    return sum(int(n) * _UPTIME_UNITS[u.lower()] for n, u in parts)
