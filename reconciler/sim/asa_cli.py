"""The simulated ASA command line: exec and configuration commands, printed like the ASA does.

`run_exec(device, unit, line, now)` executes one command on `unit` (the unit whose management
address received the request) and returns the text the ASA would print. Member targeting uses
the ASA's own prefixes: `failover exec mate|active|standby <cmd>`, `cluster exec <cmd>` (every
unit, output under `NAME(LOCAL):*****` headers) and `cluster exec unit NAME <cmd>`.
Refusals come back as CLI text (`ERROR: ...`, `%Error ...`), as on the real device, where the
HTTP request itself succeeds and the error is in the output.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from reconciler.core.model import ContextMode, ImageType, Mode
from reconciler.core.versions import AsaVersion, VersionError
from reconciler.sim.faults import FaultKind
from reconciler.sim.model import SimAsa, SimError, SimFile, Unit, UnitState, split_path

INVALID = "ERROR: % Invalid input detected at '^' marker."
_X_ONLY = re.compile(r"^(ASA55(?:06|08|12|15|16|25|45|55)[HW]?)-X$", re.IGNORECASE)


# ---------------------------------------------------------------- entry points


def run_exec(dev: SimAsa, unit: Unit, line: str, now: float) -> str:
    return _run(dev, unit, line, lambda cmd: _route_exec(dev, unit, cmd, now))


def run_config(dev: SimAsa, unit: Unit, line: str, now: float) -> str:
    return _run(dev, unit, line, lambda cmd: _config_on(dev, unit, cmd))


def _run(dev: SimAsa, unit: Unit, line: str, body: Callable[[str], str]) -> str:
    """Normalise the command, apply command-error faults, turn refusals into CLI text."""
    cmd = " ".join(line.split())
    try:
        fault = _command_fault(dev, unit, cmd)
        return fault if fault is not None else body(cmd)
    except SimError as e:
        return str(e)


def _route_exec(dev: SimAsa, unit: Unit, line: str, now: float) -> str:
    m = re.match(r"^failover exec (mate|standby|active) (.+)$", line)
    if m:
        return _failover_exec(dev, unit, m.group(1), m.group(2), now)
    m = re.match(r"^cluster exec unit (\S+) (.+)$", line)
    if m:
        return _cluster_exec(dev, unit, m.group(2), now, only=m.group(1))
    m = re.match(r"^cluster exec (.+)$", line)
    if m:
        return _cluster_exec(dev, unit, m.group(1), now)
    return _exec(dev, unit, line, now)


def _config_on(dev: SimAsa, unit: Unit, line: str) -> str:
    if dev.mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE) and not dev.is_active(unit):
        raise SimError("ERROR: This unit is in standby state; enter configuration commands on "
                       "the active unit (configuration replication is from active to standby)")
    if dev.mode is Mode.CLUSTER and not unit.control:
        raise SimError("ERROR: Configuration commands are allowed on the control node only")
    return _config(dev, unit, line)


def _command_fault(dev: SimAsa, unit: Unit, line: str) -> str | None:
    for f in dev.faults.items:
        if (f.kind is FaultKind.COMMAND_ERROR and not f.exhausted and f.matches(unit.name)
                and f.command and line.startswith(f.command)):
            f.fired += 1
            return f.message or f"ERROR: {line}: command failed"
    return None


# ---------------------------------------------------------------- member targeting


def _failover_exec(dev: SimAsa, unit: Unit, which: str, cmd: str, now: float) -> str:
    if dev.mode not in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
        raise SimError("ERROR: Failover is not enabled")
    mate = dev.mate(unit)
    if which == "mate":
        target = mate
    elif which == "active":
        target = unit if dev.is_active(unit) else mate
    else:
        target = mate if dev.is_active(unit) else unit
    if target is not unit and not dev.reachable(target):
        raise SimError("ERROR: Unable to send command to mate: failover peer is not detected")
    return _exec(dev, target, cmd, now)


def _cluster_exec(dev: SimAsa, unit: Unit, cmd: str, now: float, only: str | None = None) -> str:
    if dev.mode is not Mode.CLUSTER:
        raise SimError("ERROR: Clustering is not enabled")
    members = [u for u in dev.units if dev.in_cluster(u)]
    if only is not None:
        target = dev.unit(only)
        if target is None or target not in members:
            raise SimError(f'ERROR: Unit "{only}" is not a member of the cluster')
        members = [target]
    members.sort(key=lambda u: (u is not unit, u.unit_id if u.unit_id is not None else 99))
    parts = []
    for u in members:
        head = f"{u.name}(LOCAL):" if u is unit else f"{u.name}:"
        parts.append(head + "*" * max(10, 72 - len(head)) + "\n" + _exec(dev, u, cmd, now).rstrip("\n") + "\n")
    return "\n".join(parts)


# ---------------------------------------------------------------- exec commands

_Handler = Callable[[SimAsa, Unit, "re.Match[str]", float], str]
_EXEC: list[tuple[re.Pattern[str], _Handler]] = []


def _command(pattern: str) -> Callable[[_Handler], _Handler]:
    def register(fn: _Handler) -> _Handler:
        _EXEC.append((re.compile(pattern + r"$", re.IGNORECASE), fn))
        return fn
    return register


def _exec(dev: SimAsa, unit: Unit, line: str, now: float) -> str:
    if not dev.reachable(unit):
        raise SimError("ERROR: Unit is not responding")
    try:
        for rx, fn in _EXEC:
            m = rx.match(line)
            if m:
                return fn(dev, unit, m, now)
    except SimError as e:
        return str(e)
    return f"{line}\n" + " " * min(len(line), 40) + "^\n" + INVALID


def _fmt_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%H:%M:%S %b %d %Y")


def uptime_text(seconds: float) -> str:
    s = max(0, int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)

    def unit_(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if d:
        return f"{unit_(d, 'day')} {unit_(h, 'hour')}"
    if h:
        return f"{unit_(h, 'hour')} {unit_(m, 'min')}"
    return f"{unit_(m, 'min')} {unit_(sec, 'sec')}" if m else unit_(sec, "sec")


def _hardware_name(model: str) -> str:
    m = _X_ONLY.match(model)
    return m.group(1).upper() if m else model


def _asdm_version(dev: SimAsa, unit: Unit) -> str | None:
    if not dev.running.asdm:
        return None
    try:
        f = dev.file_at(unit, dev.running.asdm)
    except SimError:
        return None
    info = f.image if f else None
    return info.version if info and info.type is ImageType.ASDM else None


def _is_fpr(dev: SimAsa) -> bool:
    return dev.family in ("fpr1000", "fpr2100")


@_command(r"show version")
def _show_version(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    ctx = " <system>" if dev.context_mode is ContextMode.MULTIPLE else ""
    lines = [f"Cisco Adaptive Security Appliance Software Version {unit.running_version}{ctx}"]
    if _is_fpr(dev):
        lines.append("SSP Operating System Version 2.8(1.105)")
    asdm = _asdm_version(dev, unit)
    if asdm:
        lines.append(f"Device Manager Version {asdm}")
    lines += ["", "Compiled on Wed 20-Mar-24 10:21 GMT by builders",
              f'System image file is "{unit.running_image}"',
              'Config file at boot was "startup-config"', "",
              f"{dev.hostname} up {uptime_text(now - unit.booted_at)}"]
    if dev.mode is not Mode.STANDALONE:
        lines.append(f"{'failover' if dev.mode is not Mode.CLUSTER else 'cluster'} cluster up "
                     f"{uptime_text(now - min(u.booted_at for u in dev.units))}")
    disk0 = unit.disk("disk0")
    lines += ["",
              f"Hardware:   {_hardware_name(dev.model)}, {unit.ram_mb} MB RAM, CPU Xeon 5600 series 2133 MHz, 1 CPU (8 cores)",
              f"Internal ATA Compact Flash, {(disk0.size if disk0 else 0) // (1 << 20)}MB",
              "BIOS Flash M50FW016 @ 0xfff00000, 2048KB", "",
              "Encryption hardware device : Cisco ASA Crypto on-board accelerator (revision 0x1)", "",
              f" 0: Ext: Management0/0       : address is 0050.56{_mac_tail(unit.serial)}, irq 11",
              " 1: Int: Internal-Data0/0    : address is 0000.0001.0002, irq 0", "",
              "Licensed features for this platform:",
              "Maximum Physical Interfaces       : Unlimited      perpetual",
              "Maximum VLANs                     : 1024           perpetual",
              f"Failover                          : {'Active/Active' if dev.mode is not Mode.STANDALONE else 'Disabled'}  perpetual",
              f"Security Contexts                 : {max(2, len(dev.contexts))}              perpetual",
              f"Cluster                           : {'Enabled' if dev.mode is Mode.CLUSTER else 'Disabled'}        perpetual",
              "", f"Serial Number: {unit.serial}",
              "Running Permanent Activation Key: 0x2c1a4c4d 0x1843d3b2 0x1c9d8d50 0x80d4f0f4 0x0c1b3d11"]
    reg = f"Configuration register is {dev.register}"
    if dev.next_register is not None and dev.next_register != dev.register:
        reg += f" (will be {dev.next_register} at next reload)"
    lines += [reg, "Image type          : Release", "Key Version         : A",
              "Configuration has not been modified since last system restart.", ""]
    return "\n".join(lines)


def _mac_tail(serial: str) -> str:
    h = zlib.crc32(serial.encode()) & 0xFFFFFF
    return f"{h >> 16:02x}.{h & 0xFFFF:04x}"


def _fo_name(u: Unit) -> str:
    return (u.failover_id or "primary").capitalize()


def _fo_state(dev: SimAsa, u: Unit) -> str:
    if u.state == UnitState.BOOTING:
        return "Not Detected"
    if not dev.reachable(u):
        return "Failed"
    if dev.is_active(u) and dev.mode is Mode.ACTIVE_STANDBY:
        return "Active"
    return "Standby Ready" if u.ready else "Cold Standby"


def _group_state(dev: SimAsa, u: Unit, group: int) -> str:
    if not dev.reachable(u) or u.state != UnitState.UP:
        return "Not Detected" if u.state == UnitState.BOOTING else "Failed"
    if group in u.groups:
        return "Active"
    return "Standby Ready" if u.ready else "Cold Standby"


@_command(r"show failover(?: state)?")
def _show_failover(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.mode not in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
        return ("Failover Off\nFailover unit Primary\nFailover LAN Interface: not Configured\n"
                "Reconnect timeout 0:00:00\nUnit Poll frequency 1 seconds, holdtime 15 seconds\n"
                "Interface Poll frequency 5 seconds, holdtime 25 seconds\nInterface Policy 1\n"
                "Monitored Interfaces 0 of 1049 maximum\n")
    mate = dev.mate(unit)
    mate_seen = dev.reachable(mate)
    lines = ["Failover On", f"Failover unit {_fo_name(unit)}",
             "Failover LAN Interface: folink GigabitEthernet0/3 (up)",
             "Reconnect timeout 0:00:00", "Unit Poll frequency 1 seconds, holdtime 15 seconds",
             "Interface Poll frequency 5 seconds, holdtime 25 seconds", "Interface Policy 1",
             "Monitored Interfaces 3 of 1049 maximum",
             "MAC Address Move Notification Interval not set",
             f"Version: Ours {unit.running_version}, Mate {mate.running_version if mate_seen else 'Unknown'}",
             f"Serial Number: Ours {unit.serial}, Mate {mate.serial if mate_seen else 'Unknown'}"]
    hw = _hardware_name(dev.model)

    def slot(u: Unit) -> str:
        return f"\t\tslot 0: {hw} hw/sw rev (1.0/{u.running_version}) status (Up Sys)"

    if dev.mode is Mode.ACTIVE_STANDBY:
        lines += ["Last Failover at: 08:15:02 UTC Mar 4 2024",
                  f"\tThis host: {_fo_name(unit)} - {_fo_state(dev, unit)}",
                  "\t\tActive time: 3889 (sec)", slot(unit),
                  "\t\t  Interface outside (203.0.113.1): Normal (Monitored)",
                  "\t\t  Interface inside (10.0.0.1): Normal (Monitored)",
                  f"\tOther host: {_fo_name(mate)} - {_fo_state(dev, mate)}",
                  "\t\tActive time: 0 (sec)"]
        if mate_seen:
            lines += [slot(mate), "\t\t  Interface outside (203.0.113.2): Normal (Monitored)",
                      "\t\t  Interface inside (10.0.0.2): Normal (Monitored)"]
        if mate.not_ready_reason and mate_seen:
            lines.append(f"\t\tReason: {mate.not_ready_reason}")
    else:
        lines += ["Group 1 last failover at: 13:40:42 UTC Dec 9 2023",
                  "Group 2 last failover at: 13:40:42 UTC Dec 9 2023", "",
                  f"  This host:    {_fo_name(unit)}"]
        for g in (1, 2):
            lines += [f"  Group {g}       State:          {_group_state(dev, unit, g)}",
                      f"                Active time:    {2896 if g in unit.groups else 0} (sec)"]
        lines += ["", slot(unit), "", f"  Other host:   {_fo_name(mate)}"]
        for g in (1, 2):
            lines += [f"  Group {g}       State:          {_group_state(dev, mate, g)}",
                      f"                Active time:    {3322 if g in mate.groups else 0} (sec)"]
        if mate_seen:
            lines += ["", slot(mate)]
    lines += ["", "Stateful Failover Logical Update Statistics",
              "\tLink : folink GigabitEthernet0/3 (up)", ""]
    return "\n".join(lines)


def _cluster_terms(unit: Unit) -> tuple[str, str]:
    try:
        new = AsaVersion.parse(unit.running_version) >= AsaVersion(9, 13, 1)
    except VersionError:
        new = True
    return ("CONTROL_NODE", "DATA_NODE") if new else ("MASTER", "SLAVE")


@_command(r"show cluster info")
def _show_cluster_info(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.mode is not Mode.CLUSTER:
        if dev.family in ("asa5585", "asa5580"):
            return "Clustering is not enabled\n"
        return f"show cluster info\n     ^\n{INVALID}"
    ctl, data = _cluster_terms(unit)

    def block(u: Unit, head: str) -> list[str]:
        state = ctl if u.control else data if u.ready else "DISABLED"
        return [f'{head} "{u.name}" in state {state}',
                f"        ID        : {u.unit_id}", f"        Site ID   : {u.site_id or 1}",
                f"        Version   : {u.running_version}", f"        Serial No.: {u.serial}",
                f"        CCL IP    : {u.ccl_ip}", f"        CCL MAC   : {u.ccl_mac}",
                f"        Last join : {_ago(now, u.last_join)}",
                f"        Last leave: {_ago(now, u.last_leave)}"]

    lines = [f"Cluster {dev.cluster_name or dev.name}: On", "    Interface mode: spanned"]
    lines += block(unit, "    This is")
    others = sorted((u for u in dev.units if u is not unit and dev.in_cluster(u)),
                    key=lambda u: u.unit_id if u.unit_id is not None else 99)
    if others:
        lines.append("Other members in the cluster:")
        for u in others:
            lines += block(u, "    Unit")
    return "\n".join(lines) + "\n"


def _ago(now: float, t: float | None) -> str:
    if t is None:
        return "N/A"
    return f"{uptime_text(now - t)} ago"


@_command(r"show mode")
def _show_mode(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    return f"Security context mode: {dev.context_mode}\n"


@_command(r"show context")
def _show_context(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.context_mode is not ContextMode.MULTIPLE:
        return f"show context\n     ^\n{INVALID}"
    lines = ["Context Name      Class      Interfaces           Mode         URL"]
    for i, name in enumerate(dev.contexts):
        flag = "*" if i == 0 else " "
        iface = "Management0/0" if i == 0 else f"GigabitEthernet0/{i}"
        lines.append(f"{flag}{name:<17}default    {iface:<21}Routed       disk0:/{name}.cfg")
    lines += ["", f"Total active Security Contexts: {len(dev.contexts)}", ""]
    return "\n".join(lines)


@_command(r"show file systems")
def _show_file_systems(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    lines = ["File Systems:", "", "      Size(b)       Free(b)      Type  Flags  Prefixes"]
    for i, d in enumerate(sorted(unit.disks.values(), key=lambda d: d.name)):
        star = "*" if d.name == "disk0" else " "
        prefixes = "disk0: flash:" if d.name == "disk0" else f"{d.name}:"
        lines.append(f"{star} {d.size:>12} {d.free:>13}      disk     rw   {prefixes}")
    for fs, t, fl in (("system:", "opaque", "rw"), ("tftp:", "network", "rw"), ("http:", "network", "ro"),
                      ("https:", "network", "ro"), ("ftp:", "network", "rw"), ("smb:", "network", "rw")):
        lines.append(f"  {'-':>12} {'-':>13}   {t:>7}     {fl}   {fs}")
    return "\n".join(lines) + "\n"


@_command(r"dir(?: /all)?(?: (\S+?):?/?)?")
def _dir(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    name = (m.group(1) or "disk0").rstrip(":/").lower()
    if name == "flash":
        name = "disk0"
    disk = unit.disk(name)
    if disk is None:
        raise SimError(f"%Error opening {name}:/ (No such device)")
    lines = [f"Directory of {name}:/", ""]
    for d in disk.dirs:
        lines.append(f"{_inode(d):<6} drwx  {4096:<12} {_fmt_time(_DIR_TIME)}  {d}")
    for f in disk.files.values():
        lines.append(f"{_inode(f.name):<6} -rwx  {f.size:<12} {_fmt_time(f.mtime)}  {f.name}")
    lines += ["", f"{disk.size} bytes total ({disk.free} bytes free/{100 * disk.free // max(1, disk.size)}% free)", ""]
    return "\n".join(lines)


_DIR_TIME = datetime(2023, 1, 10, 8, 10, 0, tzinfo=UTC)


def _inode(name: str) -> int:
    return 11 + zlib.crc32(name.encode()) % 500


@_command(r"show bootvar")
def _show_bootvar(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    return (f"\nBOOT variable = {';'.join(dev.startup.boot)}\n"
            f"Current BOOT variable = {';'.join(dev.running.boot)}\n"
            "CONFIG_FILE variable = \nCurrent CONFIG_FILE variable = \n")


@_command(r"show running-config boot(?: system)?")
def _show_run_boot(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    return "".join(f"boot system {p}\n" for p in dev.running.boot)


@_command(r"show asdm image")
def _show_asdm_image(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if not dev.running.asdm:
        return "Device Manager image file not set\n"
    return f"\nDevice Manager image file, {dev.running.asdm}\n"


@_command(r"show configuration session")
def _show_config_session(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if not dev.pending_sessions:
        return "There are no active sessions\n"
    lines = [f"There are {len(dev.pending_sessions)} active sessions", "",
             "Session Name                  Status          Last Access"]
    lines += [f"{s:<30}Un-committed    10:02:13 UTC Mar 4 2024" for s in dev.pending_sessions]
    return "\n".join(lines) + "\n"


@_command(r"show webvpn anyconnect")
def _show_anyconnect(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    shown: list[str] = []
    for path in dev.running.anyconnect:
        try:
            f = dev.file_at(unit, path)
        except SimError:
            continue
        info = f.image if f else None
        if info is None or info.type is not ImageType.ANYCONNECT:
            continue
        n = len(shown) + 1
        shown.append(f"{n}. {path} {n} dyn-regex=/Windows/\n  CISCO STC win2k+\n  "
                     f"{info.version.replace('.', ',')}\n  Hostscan Version {info.version}\n"
                     "  Wed 02/15/2023 15:41:27.00\n")
    if not shown:
        return "No AnyConnect Client images are configured\n"
    return "\n".join(shown) + f"\n{len(shown)} AnyConnect Client(s) installed\n"


@_command(r"show webvpn (csd|hostscan)")
def _show_webvpn_pkg(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    kind = m.group(1).lower()
    path = dev.running.csd if kind == "csd" else dev.running.hostscan
    label = "Secure Desktop" if kind == "csd" else "Hostscan"
    f = None
    if path:
        try:
            f = dev.file_at(unit, path)
        except SimError:
            f = None
    info = f.image if f else None
    if info is None:
        return f"{label} is not enabled.\n"
    return f"{label} version {info.version} is currently installed and enabled.\n"


@_command(r"show fxos mode")
def _show_fxos_mode(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if not _is_fpr(dev):
        return f"show fxos mode\n          ^\n{INVALID}"
    return f"Mode is currently set to {'appliance' if dev.appliance_mode is not False else 'platform'}\n"


@_command(r"show clock")
def _show_clock(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    return datetime.now(UTC).strftime("%H:%M:%S.000 UTC %a %b %d %Y") + "\n"


# ---------------------------------------------------------------- file commands


def _path_file(dev: SimAsa, unit: Unit, path: str) -> tuple[str, str, SimFile | None]:
    disk_name, name = split_path(path)
    disk = unit.disk(disk_name)
    if disk is None:
        raise SimError(f"%Error opening {path} (No such device)")
    return disk_name, name, disk.files.get(name)


@_command(r"copy(?: /noconfirm)? (running-config) (startup-config)")
def _copy_run_start(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    return _write_memory(dev, unit, m, now)


@_command(r"copy(?: /noconfirm)? (\S+) (\S+)")
def _copy(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    src, dst = m.group(1), m.group(2)
    if re.match(r"^(https?|ftp|tftp|scp|smb)://", src, re.IGNORECASE):
        raise SimError(f"%Error opening {src} (the simulator does not pull files; the driver "
                       "streams them with PUT /admin/files/...)")
    _, _, f = _path_file(dev, unit, src)
    if f is None:
        raise SimError(f"%Error opening {src} (No such file or directory)")
    if _is_fpr(dev) and src == unit.running_image:
        raise SimError(f"%Error copying {src} (Copying the running image is not supported on this platform)")
    if re.fullmatch(r"\w+:/?", dst):
        dst = dst.rstrip("/").rstrip(":") + ":/" + src.rsplit("/", 1)[-1]
    ddisk_name, dname, _ = _path_file(dev, unit, dst)
    ddisk = unit.disks[ddisk_name]
    if not ddisk.room_for(dname, f.size):
        raise SimError(f"%Error writing {dst} (No space left on device)")
    ddisk.files[dname] = SimFile(dname, f.content, datetime.now(UTC), f.valid, f.info)
    return (f"Copy in progress...CCCCCCCCCCCC\nWriting file {ddisk_name}:/{dname}...\n!!!!!!!!!!!!!!\n"
            f"{f.size} bytes copied in 1.230 secs ({int(f.size / 1.23)} bytes/sec)\n")


@_command(r"verify(?: /(md5|sha-512|sha-256))? (\S+)(?: ([0-9a-fA-F]+))?")
def _verify(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    alg, path, expected = m.group(1), m.group(2), m.group(3)
    _, _, f = _path_file(dev, unit, path)
    if f is None:
        raise SimError(f"%Error opening {path} (No such file or directory)")
    bangs = "!" * max(1, min(80, f.size // 65536))
    if alg is None:  # embedded signature check
        info = f.image
        if info is None or info.type not in (ImageType.ASA, ImageType.ASDM):
            return f"Signature is not present for file {path}\n"
        if not f.valid:
            return f"{bangs}\n%ERROR: Signature not valid for file {path}\n"
        h = f.content.digest("sha-512")
        return (f"Verifying file integrity of {path}\n{bangs}\nEmbedded Hash   SHA-512: {h}\n"
                f"Computed Hash   SHA-512: {h}\nCCO Hash        SHA-512: {h}\nSignature Verified\n")
    digest = f.content.digest(alg.lower())
    out = f"{bangs}\nDone!\nverify /{alg.upper()} ({path}) = {digest}\n"
    if expected and expected.lower() != digest:
        out += f"%Error verifying {path}\nComputed signature {digest}\nSubmitted signature {expected.lower()}\n"
    elif expected:
        out += f"%Verified {path}\n"
    return out


@_command(r"delete(?: /noconfirm)?(?: /recursive)? (\S+)")
def _delete(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    path = m.group(1)
    disk_name, name, f = _path_file(dev, unit, path)
    if f is None:
        raise SimError(f"%Error deleting {path} (No such file or directory)")
    del unit.disks[disk_name].files[name]
    return ""


@_command(r"(?:write memory|write mem|wr mem|write)")
def _write_memory(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE) and not dev.is_active(unit):
        raise SimError("ERROR: write memory must be entered on the active unit")
    if dev.mode is Mode.CLUSTER and not unit.control:
        raise SimError("ERROR: write memory must be entered on the control node")
    dev.write_memory()
    crc = zlib.crc32(repr(dev.startup).encode())
    return (f"Building configuration...\nCryptochecksum: {crc:08x} 9b7c4e01 5a6d2f3c 8e9b0a17\n\n"
            "14512 bytes copied in 0.190 secs\n[OK]\n")


# ---------------------------------------------------------------- reload, failover, cluster


_SHUTDOWN = ("***\n*** --- START GRACEFUL SHUTDOWN ---\nShutting down isakmp\nShutting down webvpn\n"
             "Shutting down File system\n***\n*** --- SHUTDOWN NOW ---\n")


@_command(r"reload(?: noconfirm)?(?: quick)?(?: noconfirm)?")
def _reload(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    dev.reload(unit, now)
    return _SHUTDOWN


@_command(r"failover reload-standby")
def _reload_standby(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.mode not in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
        raise SimError("ERROR: Failover is not enabled")
    if not dev.is_active(unit):
        raise SimError("ERROR: failover reload-standby can be entered on the active unit only")
    mate = dev.mate(unit)
    if not dev.reachable(mate):
        raise SimError("ERROR: Standby unit is not detected")
    dev.reload(mate, now)
    return ""


@_command(r"(no )?failover active(?: group (\d+))?")
def _failover_active(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.mode not in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
        raise SimError("ERROR: Failover is not enabled")
    negate, group = bool(m.group(1)), m.group(2)
    mate = dev.mate(unit)
    if group is not None:
        dev.move_group(int(group), mate if negate else unit)
        return ""
    if negate:
        if not dev.is_active(unit) and not unit.groups:
            raise SimError("ERROR: This unit is not active")
        dev.switchover(mate)
    elif not dev.is_active(unit) or (dev.mode is Mode.ACTIVE_ACTIVE and mate.groups):
        dev.switchover(unit)
    return ""


@_command(r"cluster (?:control-node|master) unit (\S+)")
def _cluster_control(dev: SimAsa, unit: Unit, m: re.Match[str], now: float) -> str:
    if dev.mode is not Mode.CLUSTER:
        raise SimError("ERROR: Clustering is not enabled")
    if not unit.control:
        raise SimError("ERROR: This command can be entered on the control node only")
    target = dev.unit(m.group(1))
    if target is None:
        raise SimError(f'ERROR: Unit "{m.group(1)}" is not a member of the cluster')
    dev.handoff_control(target)
    return (f'INFO: Switching control role to "{target.name}"; this unit becomes a data node\n')


# ---------------------------------------------------------------- configuration commands


def _config(dev: SimAsa, unit: Unit, line: str) -> str:
    cfg = dev.running
    m = re.match(r"^(no )?boot system (\S+)$", line, re.IGNORECASE)
    if m:
        path = m.group(2)
        split_path(path)
        if m.group(1):
            if path not in cfg.boot:
                raise SimError(f"ERROR: boot system {path} is not configured")
            cfg.boot.remove(path)
        else:
            if path in cfg.boot:
                raise SimError(f"ERROR: boot system {path} is already configured")
            if len(cfg.boot) >= 4:
                raise SimError("ERROR: Maximum of 4 boot system entries allowed")
            cfg.boot.append(path)
        return ""
    if re.match(r"^clear configure boot(?: system)?$", line, re.IGNORECASE):
        cfg.boot.clear()
        return ""
    m = re.match(r"^(no )?asdm image(?: (\S+))?$", line, re.IGNORECASE)
    if m:
        if m.group(1):
            cfg.asdm = None
        elif m.group(2):
            split_path(m.group(2))
            cfg.asdm = m.group(2)
        else:
            raise SimError(INVALID)
        return ""
    m = re.match(r"^config-register (0x[0-9a-fA-F]{1,4})$", line)
    if m:
        dev.next_register = m.group(1).lower()
        return ""
    return f"{line}\n^\n{INVALID}"
