"""The ASA driver: CLI commands over the ASA's HTTPS management interface, the way the seed's
manager does it.

Commands go to `GET {base}/admin/exec/<url-encoded command>` (configuration commands to
`/admin/config/`) with HTTP basic authentication and come back as CLI text, which the pure
parsers in `cli_parsers` turn into the observed model. The management address always answers
from the active unit of a failover pair or the control unit of a cluster; other members are
reached with the ASA's own prefixes: `failover exec mate <cmd>` and `cluster exec unit <name>
<cmd>` (`cluster exec <cmd>` for all units at once). Member names are `primary`/`secondary`
for failover pairs, the cluster unit names for clusters, and the device name for a standalone.

Images are streamed with `PUT {base}/admin/files/<disk>/<file>` (Content-Length, optional
Content-Range for parts, `X-Target-Unit` for one member); on a cluster the control unit spreads
the file to every member, as the ASA's copy does. See docs/drivers.md for the mapping of every
plan step to the commands sent.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.contract import StepAction
from reconciler.core.catalog import unsafe_image_name
from reconciler.core.model import ContextMode, DriverKind, ImageType, Mode, Role
from reconciler.core.observed import Disk, FileEntry, Member, ObservedDevice
from reconciler.core.platforms import Platform, platform_of
from reconciler.core.versions import AsaVersion, DottedVersion, VersionError
from reconciler.drivers import cli_parsers as P
from reconciler.drivers.base import (
    AuthError,
    ChecksumMismatchError,
    CommandError,
    Digest,
    Driver,
    Hasher,
    ReloadNotStartedError,
    ReloadTimeoutError,
    ServiceUnavailableError,
    UnreachableError,
    UploadResult,
)
from reconciler.errors import PermanentDeviceError, TemporaryError

_PATH = re.compile(r"(disk[0-9]+):/([^/\s]+)")
_UNREACHABLE_TEXT = re.compile(r"not detected|not responding|not a member of the cluster|"
                               r"unable to send command|is not up", re.IGNORECASE)
_SPREAD = re.compile(r"copied to \d+ units: ([^)]+)\)")
# Discovery's first request: everything that does not depend on what the device turns out to be.
_FIRST = ("show version", "show mode", "show failover", "show cluster info", "show bootvar",
          "show asdm image", "show configuration session", "show webvpn anyconnect", "show webvpn csd",
          "show webvpn hostscan", "show file systems")


@dataclass(frozen=True)
class Topology:
    mode: Mode
    local: str  # the member answering on the management address
    members: tuple[str, ...]
    other: str | None = None  # failover mate
    failover: P.FailoverInfo | None = None
    cluster: P.ClusterInfo | None = None


def _split(path: str) -> tuple[str, str]:
    """`disk0:/NAME` -> ("disk0", "NAME"). NAME follows the catalog's image-name rule, so nothing
    sent to a device can leave the disk's top directory (`..`, `\\`, NUL, encoded or look-alike
    separators) or smuggle a second line into a CLI command."""
    m = _PATH.fullmatch(path)
    why = unsafe_image_name(m.group(2)) if m else "not disk<N>:/<file>"
    if why:
        raise PermanentDeviceError(f"{path!r} is not a file path like disk0:/asa941-smp-k8.bin ({why})",
                                   code="BAD_PATH", hint="use disk0:/NAME or disk1:/NAME")
    assert m is not None
    return m.group(1), m.group(2)


class AsaDriver(Driver):
    kind = DriverKind.ASA
    capabilities = frozenset(StepAction) - {StepAction.AGENT_INSTALL}

    _basic: httpx.BasicAuth | None = None
    _mode: Mode | None = None

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._reloads: dict[str, float] = {}  # member -> monotonic time its reload was sent
        self._last_reload: str | None = None
        # off when asked, or after an answer to several commands could not be split
        self._batching = self.options.batch_commands

    # ------------------------------------------------------------ login

    def _resolve_credentials(self) -> tuple[str, str]:
        c = self.device.credentials
        if c is None or not c.username:
            raise AuthError("the inventory gives no username", device=self.name,
                            hint="set credentials.username and credentials.password in inventory/devices.yaml")
        return c.username, self._resolve(c.password, "password")

    def _login(self, credentials: tuple[str, str]) -> None:
        self._basic = httpx.BasicAuth(*credentials)

    def _auth(self) -> httpx.Auth | None:
        return self._basic

    # ------------------------------------------------------------ CLI over HTTPS

    def _url(self, section: str, commands: Sequence[str]) -> str:
        return f"{self.base_url}/admin/{section}/" + "/".join(quote(c, safe="") for c in commands)

    async def _run(self, section: str, commands: Sequence[str], member: str | None) -> str:
        resp = await self._send("GET", self._url(section, commands), member=member,
                                label=" / ".join(commands) if section == "exec" else
                                "configure: " + " / ".join(commands))
        return resp.text

    def _check(self, text: str, command: str, member: str | None) -> str:
        err = P.cli_error(text)
        if err is None:
            return text
        if _UNREACHABLE_TEXT.search(err):
            raise UnreachableError(f"`{command}`: {err}", device=self.name, member=member,
                                   hint="the member is reloading or unreachable; it is retried")
        raise CommandError(f"`{command}` was refused: {err}", device=self.name, member=member,
                           hint="see the transcript for the device's full answer")

    async def _exec(self, command: str, member: str | None = None, *, check: bool = True,
                    topo: Topology | None = None) -> str:
        prefix = ""
        if member is not None:
            topo = topo or await self.topology()
            prefix = self._prefix(topo, member)
        text = await self._run("exec", [prefix + command], member)
        if prefix.startswith("cluster exec unit") and re.search(r"^\S+:\*{10,}", text, re.MULTILINE):
            text = P.parse_cluster_exec(text)[0].text  # framed like `cluster exec`; errors come unframed
        return self._check(text, prefix + command, member) if check else text

    async def _config(self, commands: Sequence[str]) -> str:
        text = await self._run("config", commands, None)
        return self._check(text, " / ".join(commands), None)

    async def _batch(self, commands: Sequence[str]) -> list[str]:
        """Run exec commands on the management unit in as few requests as possible: one
        request with `show clock` between them (see `cli_parsers.split_batch`), or one per
        command when the answer cannot be split. Each output is what the command alone gives,
        errors included: check them like single commands."""
        if len(commands) == 1 or not self._batching:
            return [await self._run("exec", [c], None) for c in commands]
        wire = [x for c in commands for x in (P.BATCH_SEPARATOR, c)][1:]
        parts = P.split_batch(await self._run("exec", wire, None), len(commands))
        if parts is None:
            self._batching = False
            self._note(None, "the answer to several commands in one request could not be told apart; "
                             "sending them one at a time")
            return [await self._run("exec", [c], None) for c in commands]
        return parts

    # ------------------------------------------------------------ topology

    async def topology(self) -> Topology:
        """Who answers on the management address now, and which members exist."""
        fo = None
        if self._mode in (None, Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
            fo = P.parse_show_failover(await self._run("exec", ["show failover"], None))
        return await self._topology(fo, None)

    async def _topology(self, fo: P.FailoverInfo | None, cluster_text: str | None) -> Topology:
        """The topology from `show failover` (when asked) and `show cluster info` (asked here
        unless already answered)."""
        if fo is not None:
            if fo.enabled:
                self._mode = Mode.ACTIVE_ACTIVE if fo.active_active else Mode.ACTIVE_STANDBY
                return Topology(self._mode, fo.this_unit, tuple(sorted({fo.this_unit, fo.other_unit})),
                                other=fo.other_unit, failover=fo)
            if self._mode is not None:
                self._mode = None  # failover was switched off behind our back
        if self._mode in (None, Mode.CLUSTER):
            if cluster_text is None:
                cluster_text = await self._run("exec", ["show cluster info"], None)
            cl = P.parse_show_cluster_info(cluster_text)
            if cl.enabled and cl.local is not None:
                self._mode = Mode.CLUSTER
                return Topology(Mode.CLUSTER, cl.local.name, tuple(u.name for u in cl.units), cluster=cl)
        self._mode = Mode.STANDALONE
        return Topology(Mode.STANDALONE, self.name, (self.name,))

    def _prefix(self, topo: Topology, member: str) -> str:
        if member == topo.local:
            return ""
        if topo.mode is Mode.STANDALONE:
            raise PermanentDeviceError(f"unknown member {member!r}", code="UNKNOWN_MEMBER", device=self.name,
                                       hint=f"a standalone device has one member, named {self.name}")
        if topo.mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
            if member != topo.other:
                raise PermanentDeviceError(f"unknown member {member!r}", code="UNKNOWN_MEMBER", device=self.name,
                                           hint="failover members are named primary and secondary")
            return "failover exec mate "
        if member not in topo.members:
            raise UnreachableError(f"unit {member} is not in the cluster now", device=self.name, member=member,
                                   hint="it may be reloading or rejoining; members now: " + ", ".join(topo.members))
        return f"cluster exec unit {member} "

    # ------------------------------------------------------------ discovery

    async def get_facts(self) -> ObservedDevice:
        """Discovery in three requests at most (four for a failover pair): everything that does
        not depend on what the device is, then what does (contexts, Firepower mode, the local
        disks, the mate or the cluster units), then the other units' disks."""
        (ver_text, mode_text, fo_text, cl_text, boot_text, asdm_text, sessions_text, ac_text, csd_text,
         hostscan_text, fs_text) = await self._batch(_FIRST)
        ver = P.parse_show_version(self._check(ver_text, "show version", None))
        context_mode = ContextMode(P.parse_show_mode(mode_text)) if P.cli_error(mode_text) is None else ContextMode.SINGLE
        topo = await self._topology(P.parse_show_failover(fo_text), cl_text)
        bootvar = P.parse_show_bootvar(self._check(boot_text, "show bootvar", None))
        asdm_path = P.parse_show_asdm_image(asdm_text) if P.cli_error(asdm_text) is None else None
        sessions = P.parse_show_configuration_session(sessions_text)
        vpn = self._vpn_versions(ac_text, csd_text, hostscan_text)
        model = ver.model
        fpr = model.upper().startswith("FPR")

        second: list[str] = []
        if context_mode is ContextMode.MULTIPLE:
            second.append("show context")
        if fpr:
            second.append("show fxos mode")
        local_disks: list[str] = []
        if topo.mode is not Mode.CLUSTER:  # clusters: `cluster exec` lists every unit's disks
            try:
                systems = P.parse_show_file_systems(self._check(fs_text, "show file systems", None))
                local_disks = sorted({f.disk for f in systems if f.disk})
            except (TemporaryError, CommandError):
                if topo.mode is Mode.STANDALONE:
                    raise
                # a failover unit that cannot list its disks is still reported, without disks
            second += [f"dir {d}:" for d in local_disks]
        if topo.mode in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
            second += ["failover exec mate show version", "failover exec mate show file systems"]
        elif topo.mode is Mode.CLUSTER:
            second += ["cluster exec show version", "cluster exec show file systems"]
        answers = dict(zip(second, await self._batch(second), strict=True))

        contexts: tuple[str, ...] = ()
        if context_mode is ContextMode.MULTIPLE:
            contexts = tuple(c.name for c in P.parse_show_context(self._check(answers["show context"], "show context", None)))
        appliance = None
        if fpr:
            appliance = P.parse_show_fxos_mode(answers["show fxos mode"]) == "appliance"
        boot = bootvar.current_boot
        if topo.mode is Mode.STANDALONE:
            running, files = self._running(ver, asdm_path)
            members: tuple[Member, ...] = (Member(
                name=self.name, role=Role.STANDALONE, serial=ver.serial, ram_mb=ver.ram_mb, running=running,
                running_files=files, disks=self._disks_from(local_disks, answers, None), boot=boot,
                asdm_image=asdm_path),)
        elif topo.mode is Mode.CLUSTER:
            members = await self._cluster_members(topo, boot, asdm_path, answers)
        else:
            members = await self._failover_members(topo, ver, boot, asdm_path, local_disks, answers)
        running_all: dict[ImageType, str] = {ImageType.ASA: ver.software_version}
        if ver.device_manager_version:
            running_all[ImageType.ASDM] = ver.device_manager_version
        running_all.update(vpn)
        plat = platform_of(model)
        return ObservedDevice(
            name=self.name, model=model, platform=plat.family if isinstance(plat, Platform) else "unsupported",
            mode=topo.mode, context_mode=context_mode, contexts=contexts,
            pending_config_changes=bool(sessions), config_register=ver.config_register or "0x1",
            running=running_all, members=members, driver=str(self.kind), appliance_mode=appliance,
        )

    @staticmethod
    def _vpn_versions(ac_text: str, csd_text: str, hostscan_text: str) -> dict[ImageType, str]:
        out: dict[ImageType, str] = {}
        ac = P.parse_show_webvpn_anyconnect(ac_text)
        if ac:
            try:
                out[ImageType.ANYCONNECT] = str(max(ac, key=lambda a: DottedVersion.parse(a.version)).version)
            except VersionError:
                out[ImageType.ANYCONNECT] = ac[0].version
        for text, t in ((csd_text, ImageType.CSD), (hostscan_text, ImageType.HOSTSCAN)):
            v = P.parse_webvpn_package_version(text)
            if v:
                out[t] = v
        return out

    @staticmethod
    def _running(ver: P.VersionInfo, asdm_path: str | None) -> tuple[dict[ImageType, str], dict[ImageType, str]]:
        running = {ImageType.ASA: ver.software_version}
        files: dict[ImageType, str] = {}
        if ver.device_manager_version:
            running[ImageType.ASDM] = ver.device_manager_version
        if ver.system_image:
            files[ImageType.ASA] = ver.system_image
        if asdm_path:
            files[ImageType.ASDM] = asdm_path
        return running, files

    def _disks_from(self, disks: Sequence[str], answers: Mapping[str, str], member: str | None,
                    prefix: str = "") -> tuple[Disk, ...]:
        """The disks whose `dir` answers are in `answers` (an absent disk is skipped)."""
        out = []
        for d in disks:
            command = f"{prefix}dir {d}:"
            text = answers[command]
            if P.disk_absent(text):
                continue
            out.append(self._disk(d, P.parse_dir(self._check(text, command, member))))
        return tuple(out)

    async def _failover_members(self, topo: Topology, ver: P.VersionInfo, boot: tuple[str, ...],
                                asdm_path: str | None, local_disks: Sequence[str],
                                answers: Mapping[str, str]) -> tuple[Member, ...]:
        fo = topo.failover
        assert fo is not None and topo.other is not None
        mate = topo.other
        prefix = "failover exec mate "
        mver: P.VersionInfo | None = None
        mate_disks: tuple[Disk, ...] = ()
        reachable = True
        try:
            mver = P.parse_show_version(self._check(answers[prefix + "show version"], prefix + "show version", mate))
        except (TemporaryError, CommandError):
            reachable = False
        if reachable:
            try:
                systems = P.parse_show_file_systems(
                    self._check(answers[prefix + "show file systems"], prefix + "show file systems", mate))
                names = sorted({f.disk for f in systems if f.disk})
                dirs = [f"{prefix}dir {d}:" for d in names]
                mate_disks = self._disks_from(names, dict(zip(dirs, await self._batch(dirs), strict=True)),
                                              mate, prefix)
            except (TemporaryError, CommandError):
                reachable = False
        out = []
        for name, is_local in ((topo.local, True), (mate, False)):
            state = fo.this_state if is_local else fo.other_state
            groups = tuple(g.group for g in fo.groups if (g.this_state if is_local else g.other_state) == "Active")
            standby_states = [g.this_state if is_local else g.other_state for g in fo.groups if g.group not in groups]
            if fo.active_active:
                role = Role.ACTIVE if groups else Role.STANDBY
                ready = all(s == "Standby Ready" for s in standby_states) if standby_states else None
            else:
                role = Role.ACTIVE if state == "Active" else Role.STANDBY
                ready = None if role is Role.ACTIVE else state == "Standby Ready"
            v = ver if is_local else mver
            disks = mate_disks
            if is_local:
                try:
                    disks = self._disks_from(local_disks, answers, None)
                except (TemporaryError, CommandError):
                    disks = ()
            running, files = self._running(v, asdm_path) if v else ({}, {})
            serial = v.serial if v else ((fo.ours_serial if is_local else fo.mate_serial) or "")
            out.append(Member(
                name=name, role=role, serial=serial if serial != "Unknown" else "",
                reachable=is_local or reachable, standby_ready=ready, ram_mb=v.ram_mb if v else None,
                running=running, running_files=files, disks=disks, boot=boot, asdm_image=asdm_path,
                failover_groups_active=groups,
            ))
        return tuple(sorted(out, key=lambda m: m.name))

    async def _cluster_members(self, topo: Topology, boot: tuple[str, ...], asdm_path: str | None,
                               answers: Mapping[str, str]) -> tuple[Member, ...]:
        cl = topo.cluster
        assert cl is not None
        versions = {u.unit: P.parse_show_version(u.text) for u in
                    P.parse_cluster_exec(self._check(answers["cluster exec show version"],
                                                     "cluster exec show version", None))}
        fs = {u.unit: P.parse_show_file_systems(u.text) for u in
              P.parse_cluster_exec(answers["cluster exec show file systems"])}
        disk_names = sorted({f.disk for systems in fs.values() for f in systems if f.disk})
        listings: dict[str, dict[str, P.DirListing]] = {}
        dirs = [f"cluster exec dir {d}:" for d in disk_names]
        for d, text in zip(disk_names, await self._batch(dirs), strict=True):
            for part in P.parse_cluster_exec(text):
                if not P.disk_absent(part.text):
                    listings.setdefault(part.unit, {})[d] = P.parse_dir(part.text)
        out = []
        for u in cl.units:
            v = versions.get(u.name)
            running, files = self._running(v, asdm_path) if v else ({}, {})
            out.append(Member(
                name=u.name, role=Role.CONTROL if u.is_control else Role.DATA, serial=u.serial or (v.serial if v else ""),
                reachable=v is not None, ram_mb=v.ram_mb if v else None, running=running, running_files=files,
                disks=tuple(self._disk(d, listing) for d, listing in sorted(listings.get(u.name, {}).items())),
                boot=boot, asdm_image=asdm_path, unit_id=u.unit_id, ccl_ip=u.ccl_ip, ccl_mac=u.ccl_mac,
                site_id=u.site_id,
            ))
        return tuple(out)

    @staticmethod
    def _disk(name: str, listing: P.DirListing) -> Disk:
        return Disk(name=name, size=listing.total, free=listing.free,
                    files=tuple(FileEntry(e.name, e.size) for e in listing.files))

    async def running_versions(self, member: str | None = None) -> Mapping[ImageType, str]:
        ver = P.parse_show_version(await self._exec("show version", member))
        running, _ = self._running(ver, None)
        return running

    # ------------------------------------------------------------ files

    async def upload(self, member: str | None, disk: str, filename: str, chunks: AsyncIterable[bytes],
                     size: int, *, offset: int = 0, total: int | None = None,
                     hasher: Hasher | None = None) -> UploadResult:
        total = size if total is None else total
        _split(f"{disk}:/{filename}")
        headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        rng = ""
        if offset or total != size:
            headers["Content-Range"] = f"bytes {offset}-{offset + size - 1}/{total}"
            rng = f", bytes {offset}-{offset + size - 1} of {total}"
        if member:
            headers["X-Target-Unit"] = member
        label = f"copy {size} bytes{rng} to {disk}:/{filename}" + (f" on {member}" if member else "")
        url = f"{self.base_url}/admin/files/{quote(disk, safe='')}/{quote(filename, safe='')}"
        resp = await self._send("PUT", url, member=member, label=label, headers=headers, transfer=True,
                                content=self._stream_body(chunks, size, hasher, member, label),
                                timeout=self.options.transfer_timeout)
        received = resp.headers.get("x-received-bytes")
        complete = (int(received) if received and received.isdigit() else offset + size) >= total
        spread = _SPREAD.search(resp.text)
        if spread:
            holders = tuple(x.strip() for x in spread.group(1).split(","))
        elif member:
            holders = (member,)
        else:
            holders = ((await self.topology()).local,)
        return UploadResult(f"{disk}:/{filename}", holders, offset, size, total, complete)

    async def _copy_targets(self, members: Sequence[str] | None) -> list[str | None]:
        topo = await self.topology()
        if topo.mode is Mode.STANDALONE:
            return [None]
        if topo.mode is Mode.CLUSTER:
            if not members or set(members) >= set(topo.members):
                return [None]  # the control unit spreads the image to every member
            return list(members)
        return list(members) if members else [topo.local, topo.other]

    async def verify(self, member: str | None, path: str, expected: Digest) -> Digest:
        _split(path)
        res = P.parse_verify(await self._exec(f"verify /{expected.algorithm} {path}", member))
        if res.digest != expected.value:
            raise ChecksumMismatchError(
                f"{path}: {expected.algorithm} is {res.digest}, expected {expected.value}",
                device=self.name, member=member, hint="the copy on the device is corrupt; delete it and copy again")
        return Digest(expected.algorithm, res.digest)

    async def backup(self, member: str | None, src: str, dst: str) -> None:
        _split(src), _split(dst)
        out = await self._exec(f"copy /noconfirm {src} {dst}", member)
        if P.parse_bytes_copied(out) is None:
            raise CommandError(f"copy {src} {dst}: no 'bytes copied' in the answer", device=self.name, member=member)

    async def delete_file(self, member: str | None, path: str, *, force: bool = False) -> None:
        _split(path)
        if not force:
            ver = P.parse_show_version(await self._exec("show version", member))
            boot = P.parse_show_bootvar(await self._exec("show bootvar"))
            if path == ver.system_image:
                raise PermanentDeviceError(f"{path} is the running image", code="FILE_IN_USE", device=self.name,
                                           member=member, hint="it is needed for fallback; delete it after the upgrade")
            if path in boot.boot or path in boot.current_boot:
                raise PermanentDeviceError(f"{path} is in the boot list", code="FILE_IN_USE", device=self.name,
                                           member=member, hint="remove it from the boot list (set-boot) first")
        await self._exec(f"delete /noconfirm {path}", member)

    async def fetch_file(self, path: str) -> AsyncIterator[bytes]:
        disk, name = _split(path)
        url = f"{self.base_url}/admin/files/{quote(disk, safe='')}/{quote(name, safe='')}"
        self.transcript.record(self.name, None, "send", f"download {path}")
        try:
            async with self.client.stream("GET", url, auth=self._auth(),
                                          timeout=httpx.Timeout(self.options.transfer_timeout, connect=15.0)) as resp:
                self._adopt_time_scale(resp)
                if resp.status_code >= 400:
                    await resp.aread()
                    self.transcript.record(self.name, None, "recv", f"HTTP {resp.status_code}\n{resp.text}")
                    self._raise_for_status(resp, f"download {path}", None)
                n = 0
                async for chunk in resp.aiter_bytes():
                    n += len(chunk)
                    yield chunk
                self.transcript.record(self.name, None, "recv", f"HTTP {resp.status_code}\n[{n} bytes]")
        except httpx.TransportError as e:
            raise self._transport_error(e, f"download {path}", None, True) from None

    # ------------------------------------------------------------ configuration

    async def set_boot(self, images: Sequence[str]) -> None:
        for p in images:
            _split(p)
        if len(images) > 4 or len(set(images)) != len(images):
            raise PermanentDeviceError("a boot list holds at most 4 distinct images", code="BAD_BOOT_LIST",
                                       device=self.name, hint="keep the new image and one fallback")
        current = P.parse_boot_system_lines(await self._exec("show running-config boot system"))
        commands = [f"no boot system {p}" for p in current] + [f"boot system {p}" for p in images]
        try:
            await self._config(commands)
        except CommandError:
            # put the previous list back so a refused change leaves nothing half-applied
            now = P.parse_boot_system_lines(await self._exec("show running-config boot system"))
            await self._run("config", [f"no boot system {p}" for p in now] + [f"boot system {p}" for p in current], None)
            raise
        after = P.parse_boot_system_lines(await self._exec("show running-config boot system"))
        if list(after) != list(images):
            raise CommandError(f"boot list is {list(after)} after setting {list(images)}", device=self.name,
                               hint="another session may be changing the configuration")

    async def set_asdm(self, path: str) -> None:
        _split(path)
        await self._config([f"asdm image {path}"])

    async def save_config(self) -> None:
        out = await self._exec("write memory")
        if "[OK]" not in out:
            raise CommandError("write memory did not answer [OK]", device=self.name,
                               hint="see the transcript; the configuration may not be saved")

    async def set_config_register(self, value: str) -> None:
        if not re.fullmatch(r"0x[0-9a-fA-F]{1,4}", value):
            raise PermanentDeviceError(f"{value!r} is not a register value like 0x1", code="BAD_REGISTER",
                                       device=self.name, hint="0x1 boots the configured image list")
        await self._config([f"config-register {value}"])

    # ------------------------------------------------------------ reload and readiness

    async def reload(self, member: str | None = None) -> None:
        try:
            topo = await self.topology()
        except TemporaryError as e:
            raise ReloadNotStartedError(
                f"the reload of {member or 'the management unit'} was not sent: {e.message}",
                device=self.name, member=member, retry_after=e.retry_after,
                hint="nothing is rebooting; the reload is sent again after a backoff") from None
        m = member or topo.local
        if m != topo.local:
            self._prefix(topo, m)  # validates the member
        if m == topo.local:
            command = "reload noconfirm"
        elif topo.mode is Mode.ACTIVE_STANDBY:
            command = "failover reload-standby"  # the standby is reloaded through the active
        elif topo.mode is Mode.ACTIVE_ACTIVE:
            command = "failover exec mate reload noconfirm"
        else:
            command = f"cluster exec unit {m} reload noconfirm"  # through the control unit
        last = self._last_reload
        self._reloads[m] = time.monotonic()
        self._last_reload = m
        try:
            await self._check_reload(await self._run("exec", [command], m), command, m)
        except ServiceUnavailableError as e:
            # the device answered "not now": the command never ran, the unit is not going down
            self._reloads.pop(m, None)
            self._last_reload = last
            raise ReloadNotStartedError(
                f"`{command}` was not carried out: the device answered HTTP 503 (service "
                f"unavailable); {m} did not go down and still runs its current image",
                device=self.name,
                member=m, retry_after=e.retry_after,
                hint="the device's HTTPS server was busy; the reload is sent again after a "
                     "backoff — if it keeps refusing, check the device's load and run the job "
                     "again") from None
        except UnreachableError:
            if m != topo.local:
                raise
            # the unit may drop the connection while it shuts down: the reload is under way
            self._note(m, "connection closed while the unit shut down; the reload is under way")

    async def _check_reload(self, text: str, command: str, member: str) -> None:
        if command.startswith("cluster exec unit") and P.cli_error(text) is None:
            return
        self._check(text, command, member)

    async def _ready(self, member: str) -> tuple[bool, int | None, str]:
        """(ready, uptime in device seconds, state as shown) for one member."""
        topo = await self.topology()
        if topo.mode is Mode.STANDALONE:
            ver = P.parse_show_version(await self._exec("show version"))
            return True, P.uptime_seconds(ver.uptime), "up"
        if topo.mode is Mode.CLUSTER:
            assert topo.cluster is not None
            unit = topo.cluster.unit(member)
            if unit is None or not unit.in_cluster:
                return False, None, unit.state if unit else "not in the cluster"
            state = unit.state
        else:
            fo = topo.failover
            assert fo is not None
            local = member == topo.local
            if fo.active_active:
                states = [g.this_state if local else g.other_state for g in fo.groups]
                state = ", ".join(f"group {g.group} {s}" for g, s in zip(fo.groups, states, strict=True))
                if not all(s in ("Active", "Standby Ready") for s in states):
                    return False, None, state
            else:
                state = fo.this_state if local else fo.other_state
                if state not in ("Active", "Standby Ready"):
                    return False, None, state
        ver = P.parse_show_version(await self._exec("show version", member, topo=topo))
        return True, P.uptime_seconds(ver.uptime), state

    async def wait_ready(self, member: str | None, timeout: float) -> None:
        # member=None: the unit this driver reloaded last, else the management unit
        m = member or self._last_reload
        started = self._reloads.get(m) if m else None
        seen_down = started is None
        t0 = time.monotonic()
        last = "no answer yet"
        while True:
            try:
                if m is None:
                    m = (await self.topology()).local
                ready, uptime, last = await self._ready(m)
            except TemporaryError as e:
                ready, uptime, last = False, None, e.message
            if not ready:
                seen_down = True
            elif not seen_down and started is not None and uptime is not None:
                # ready, but did it reboot? a fresh uptime proves it, an old one means not yet
                seen_down = uptime <= (time.monotonic() - started) * self.time_scale + 5
            if ready and seen_down and m is not None:
                self._reloads.pop(m, None)
                if self._last_reload == m:
                    self._last_reload = None
                self._note(m, f"ready: {last}")
                return
            waited = (time.monotonic() - t0) * self.time_scale
            if waited >= timeout:
                raise ReloadTimeoutError(
                    f"{m or self.name} was not ready within {timeout:g}s (last state: {last})", device=self.name, member=m,
                    hint="check the unit's console; raise reload_timeout for large configurations "
                         "(the seed's reloadTime)")
            await asyncio.sleep(max(0.005, self._scaled(self.options.poll_interval)))

    # ------------------------------------------------------------ failover and cluster roles

    async def _await_topology(self, what: str, ok: Any) -> Topology:
        t0 = time.monotonic()
        while True:
            try:
                topo = await self.topology()
                if ok(topo):
                    return topo
            except TemporaryError:
                pass
            if (time.monotonic() - t0) * self.time_scale >= self.options.switchover_timeout:
                raise PermanentDeviceError(f"{what} did not take effect within {self.options.switchover_timeout:g}s",
                                           code="ROLE_CHANGE_TIMEOUT", device=self.name,
                                           hint="check `show failover` / `show cluster info` on the device")
            await asyncio.sleep(max(0.005, self._scaled(min(2.0, self.options.poll_interval))))

    async def switch_active(self, new_active: str | None = None) -> None:
        topo = await self.topology()
        if topo.mode not in (Mode.ACTIVE_STANDBY, Mode.ACTIVE_ACTIVE):
            raise PermanentDeviceError("switch-active needs a failover pair", code="NOT_FAILOVER", device=self.name,
                                       hint=f"{self.name} is {topo.mode}")
        target = new_active or topo.other
        assert target is not None
        if target not in topo.members:
            self._prefix(topo, target)
        fo = topo.failover
        assert fo is not None

        def done(t: Topology) -> bool:
            f = t.failover
            if f is None or t.local != target:
                return False
            return all(g.this_state == "Active" for g in f.groups) if f.active_active else f.this_state == "Active"

        if done(topo):
            self._note(target, f"{target} is already active")
            return
        command = "failover active" if target == topo.local else "no failover active"
        self._check(await self._run("exec", [command], topo.local), command, topo.local)
        await self._await_topology(f"making {target} active", done)

    async def handoff_control(self, member: str) -> None:
        topo = await self.topology()
        if topo.mode is not Mode.CLUSTER or topo.cluster is None:
            raise PermanentDeviceError("handoff-control needs a cluster", code="NOT_CLUSTER", device=self.name,
                                       hint=f"{self.name} is {topo.mode}")
        if member == topo.local:
            self._note(member, f"{member} is already the control unit")
            return
        self._prefix(topo, member)
        local = topo.cluster.local
        try:
            new_terms = AsaVersion.parse(local.version or "") >= AsaVersion(9, 13, 1) if local else True
        except VersionError:
            new_terms = True
        command = f"cluster {'control-node' if new_terms else 'master'} unit {member}"
        self._check(await self._run("exec", [command], topo.local), command, topo.local)
        await self._await_topology(f"handing control to {member}",
                                   lambda t: t.local == member and t.cluster is not None
                                   and t.cluster.local is not None and t.cluster.local.is_control)

    async def set_failover_groups(self, placement: Mapping[int, str]) -> None:
        for group, unit in sorted(placement.items()):
            topo = await self.topology()
            fo = topo.failover
            if topo.mode is not Mode.ACTIVE_ACTIVE or fo is None:
                raise PermanentDeviceError("failover groups exist on active/active pairs only", code="NOT_ACTIVE_ACTIVE",
                                           device=self.name, hint=f"{self.name} is {topo.mode}")
            if unit not in topo.members:
                self._prefix(topo, unit)
            state = next((g for g in fo.groups if g.group == group), None)
            if state is None:
                raise PermanentDeviceError(f"failover group {group} does not exist", code="UNKNOWN_GROUP",
                                           device=self.name, hint="groups: " + ", ".join(str(g.group) for g in fo.groups))
            holder = topo.local if state.this_state == "Active" else topo.other
            if holder == unit:
                continue
            command = f"failover active group {group}" if unit == topo.local else f"no failover active group {group}"
            self._check(await self._run("exec", [command], topo.local), command, topo.local)

            def placed(t: Topology, g: int = group, u: str = unit) -> bool:
                st = next((x for x in (t.failover.groups if t.failover else ()) if x.group == g), None)
                return st is not None and (t.local if st.this_state == "Active" else t.other) == u

            await self._await_topology(f"making group {group} active on {unit}", placed)
