"""Step sequences per topology (SPEC 4): the order is the heart of the product.

Every transfer happens first: cleanup deletions, copies to every unit that lacks an image, and a
checksum verification of every image on every unit. Only then does anything change on the device,
so a failed transfer leaves it untouched. `copy-only`, `non_intrusive` and user contexts stop
there. Then one pass per system image (HA hops first, the target last):

standalone  set-boot (new first, old kept) [+ set-asdm] -> save-config -> reload -> wait-ready
            (reachable, reload_timeout) -> check-version
failover    set-boot on the active (synced) [+ set-asdm] -> save-config -> reload the standby
            through the active -> wait until it is standby-ready -> check its version ->
            switch-active (the upgraded unit takes over) -> reload the old active through the new
            one -> wait standby-ready -> check both. The roles stay swapped for the next pass.
cluster     set-boot on the control unit (synced) [+ set-asdm] -> save-config -> for each data
            unit, one at a time: reload through the control unit, wait until it rejoined, check
            -> handoff-control to the first upgraded unit -> reload the old control unit through
            it -> wait rejoined -> check every unit.
active/active (opted in): set-failover-groups (all active on one unit) before the first pass,
            set-failover-groups (previous placement) and rediscover the unit that was made
            standby after the last.

`install-no-reload` stops after save-config (HA hops: only the first pass's boot entry is set).
The backup of the running system image precedes the first set-boot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.contract import StepAction
from reconciler.core.model import Image, ImageType, Mode
from reconciler.core.observed import FileEntry, Member
from reconciler.core.plan.context import DeviceContext
from reconciler.core.plan.diff import file_name
from reconciler.core.plan.model import ReadyCondition, Step
from reconciler.core.versions import VersionError, same_release

A = StepAction
MAX_BOOT_ENTRIES = 4


_INDEX = {f: i for i, f in enumerate(Step._fields)}
_BLANK = list(Step(0, A.COPY, ""))  # every field at its default
_FILE_TEMPLATES: dict[tuple[int, str], tuple[Image, list[Any]]] = {}


def image_path(disk: str, image: Image) -> str:
    return f"{disk}:/{image.name}"


def forget_file_templates() -> None:
    """Start a plan with an empty template cache: each plan reads its own catalog (a daemon: a
    new one every cycle), so entries of earlier plans would only keep their images alive."""
    _FILE_TEMPLATES.clear()


def _file_template(img: Image, disk: str) -> list[Any]:
    """A blank step with the file parameters of `img` on `disk` filled in. Cached by identity
    for the length of one plan (`forget_file_templates`): a fleet shares a few catalog images,
    and hashing an Image would hash all its fields."""
    hit = _FILE_TEMPLATES.get((id(img), disk))
    if hit is not None and hit[0] is img:
        return hit[1]
    if len(_FILE_TEMPLATES) > 4096:
        _FILE_TEMPLATES.clear()
    v = _BLANK.copy()
    for k, x in (("image", img.name), ("image_type", img.type), ("disk", disk),
                 ("path", image_path(disk, img)), ("size", img.size), ("sha256", img.sha256)):
        v[_INDEX[k]] = x
    _FILE_TEMPLATES[(id(img), disk)] = (img, v)
    return v


class _Steps:
    """Numbers the steps as they are added. Steps are filled in as lists and made into `Step`s
    in one go: a 100,000-device plan has ~900,000 of them, and keyword construction through a
    helper costs three times as much."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def _append(self, v: list[Any], action: StepAction, member: str, via: str | None,
                kw: dict[str, Any]) -> None:
        v[0] = len(self.steps) + 1
        v[1] = action
        v[2] = member
        v[3] = None if via == member else via
        for k, x in kw.items():
            v[_INDEX[k]] = x
        self.steps.append(Step._make(v))

    def add(self, action: StepAction, member: str, via: str | None = None, **kw: Any) -> None:
        self._append(_BLANK.copy(), action, member, via, kw)

    def add_file(self, action: StepAction, member: str, img: Image, disk: str,
                 via: str | None = None, **kw: Any) -> None:
        """A step on an image file: image, type, disk, path, size and sha256 from `img`."""
        self._append(_file_template(img, disk).copy(), action, member, via, kw)


def _transfers(s: _Steps, ctx: DeviceContext, copies: Mapping[str, Sequence[Image]],
               deletions: Mapping[str, Sequence[FileEntry]]) -> None:
    topo, disk = ctx.topology, ctx.disk
    head = topo.primary.name
    for m in topo.members:
        for f in deletions.get(m.name, ()):
            s.add(A.DELETE_FILE, m.name, via=head, disk=disk, path=f"{disk}:/{f.name}",
                  image=f.name, size=f.size)
    if ctx.mode is Mode.CLUSTER:
        # the control unit spreads a copied file to every member
        for img in ctx.disk_images:
            lacking = [m.name for m in topo.members if img in copies.get(m.name, ())]
            if lacking:
                s.add_file(A.COPY, head, img, disk,
                           spreads_to=tuple(n for n in lacking if n != head))
    else:
        for m in topo.members:
            for img in copies.get(m.name, ()):
                s.add_file(A.COPY, m.name, img, disk, via=head)
    for m in topo.members:
        for img in ctx.disk_images:
            s.add_file(A.VERIFY_COPY, m.name, img, disk, via=head)


def _running_path(primary: Member, disk: str) -> str | None:
    running = primary.running_files.get(ImageType.ASA)
    if running:
        return running if ":" in running else f"{disk}:/{running}"
    return primary.boot[0] if primary.boot else None


def boot_list(new: str, fallback: str | None, original: Sequence[str]) -> tuple[str, ...]:
    """New image first, the image it replaces as fallback, then the operator's other entries;
    an ASA keeps at most four `boot system` entries."""
    out: list[str] = []
    for entry in (new, fallback, *original):
        if entry and entry not in out:
            out.append(entry)
    return tuple(out[:MAX_BOOT_ENTRIES])


def _check(s: _Steps, member: str, via: str | None, img: Image, hop: int | None) -> None:
    s.add(A.CHECK_VERSION, member, via=via, image=img.name, image_type=img.type,
          version=img.version, hop=hop)


def _reload_and_wait(s: _Steps, member: str, via: str | None, img: Image, timeout: int,
                     cond: ReadyCondition, hop: int | None) -> None:
    s.add(A.RELOAD, member, via=via, image=img.name, version=img.version, hop=hop)
    s.add(A.WAIT_READY, member, via=via, timeout=timeout, wait_for=cond, hop=hop)


def _on_release(members: Sequence[Member], img: Image) -> frozenset[str]:
    """Units that already run `img`'s release (an interrupted job got them through this hop)."""
    out = set()
    for m in members:
        running = m.running.get(img.type)
        try:
            if running and same_release(img.type, running, img.version):
                out.add(m.name)
        except VersionError:
            continue
    return frozenset(out)


def build_steps(ctx: DeviceContext, copies: Mapping[str, Sequence[Image]],
                deletions: Mapping[str, Sequence[FileEntry]]) -> tuple[Step, ...]:
    s = _Steps()
    topo, disk, settings = ctx.topology, ctx.disk, ctx.settings

    if ctx.is_agent:
        img = ctx.agent
        if img is not None and not ctx.stage_only:
            unit = topo.primary.name
            s.add(A.AGENT_INSTALL, unit, image=img.name, image_type=img.type, version=img.version,
                  size=img.size, sha256=img.sha256)
            _check(s, unit, None, img, None)
        return tuple(s.steps)

    _transfers(s, ctx, copies, deletions)
    if ctx.stage_only:
        return tuple(s.steps)

    passes = ctx.passes if ctx.reloads else ctx.passes[:1]
    primary: Member = topo.primary
    others: list[Member] = list(topo.others)
    synced = tuple(m.name for m in others)
    original_boot = tuple(primary.boot)
    fallback = _running_path(primary, disk)
    multi = len(passes) > 1
    convert = ctx.reloads and topo.needs_conversion and settings.allow_active_active_conversion
    placement = dict(topo.groups)
    system = ctx.system
    upgraded = frozenset(m.name for m in topo.members
                         if system is not None and m.name not in system.lagging)
    made_standby = [m.name for m in others]

    if convert:
        all_groups = tuple(sorted(g for gs in placement.values() for g in gs))
        s.add(A.SET_FAILOVER_GROUPS, primary.name,
              groups={primary.name: all_groups, **{n: () for n in made_standby}},
              note="active/active -> active/standby for the upgrade")

    if not passes:  # ASDM and/or VPN only: nothing to reload
        if ctx.asdm is not None:
            s.add_file(A.SET_ASDM, primary.name, ctx.asdm, disk, synced_to=synced)
            s.add(A.SAVE_CONFIG, primary.name, synced_to=synced)
            _check(s, primary.name, None, ctx.asdm, None)
        return tuple(s.steps)

    for n, img in enumerate(passes, 1):
        hop = n if multi else None
        new = image_path(disk, img)
        if n == 1 and settings.backup_current_image:
            # off the device, into the image repository: the old image also stays on flash as
            # the boot fallback, so a second copy there would only cost space
            current = _running_path(primary, disk)
            s.add(A.BACKUP, primary.name, image=file_name(current) if current else None,
                  image_type=ImageType.ASA, path=current, dest="repository", hop=hop)
        s.add_file(A.SET_BOOT, primary.name, img, disk, synced_to=synced, hop=hop,
                   boot=boot_list(new, fallback, original_boot))
        fallback = new
        last = n == len(passes)
        if last and ctx.asdm is not None:
            s.add_file(A.SET_ASDM, primary.name, ctx.asdm, disk, synced_to=synced, hop=hop)
        s.add(A.SAVE_CONFIG, primary.name, synced_to=synced, hop=hop)
        if not ctx.reloads:
            break
        timeout = settings.reload_timeout
        # units an interrupted job already left on the target — or, on an HA hop, on that
        # hop's release — are not reloaded again
        done = upgraded if last else _on_release(topo.members, img)
        if ctx.mode is Mode.STANDALONE or not others:
            _reload_and_wait(s, primary.name, None, img, timeout, ReadyCondition.REACHABLE, hop)
            _check(s, primary.name, None, img, hop)
        else:
            # cluster: every data unit in turn, then hand control over; failover (and
            # active/active converted to it): the standby, then switch the active role over
            cluster = ctx.mode is Mode.CLUSTER
            cond = ReadyCondition.REJOINED if cluster else ReadyCondition.STANDBY_READY
            for f in (others if cluster else others[:1]):
                if f.name not in done:
                    _reload_and_wait(s, f.name, primary.name, img, timeout, cond, hop)
                _check(s, f.name, primary.name, img, hop)
            if primary.name in done:
                _check(s, primary.name, None, img, hop)
                continue
            successor = others[0]
            s.add(A.HANDOFF_CONTROL if cluster else A.SWITCH_ACTIVE, successor.name,
                  via=primary.name, hop=hop)
            _reload_and_wait(s, primary.name, successor.name, img, timeout, cond, hop)
            for m in (successor, *others[1:], primary):
                _check(s, m.name, successor.name, img, hop)
            primary, others = successor, [*others[1:], primary]
        synced = tuple(m.name for m in others)

    if ctx.asdm is not None:
        _check(s, primary.name, None, ctx.asdm, None)
    if convert:
        s.add(A.SET_FAILOVER_GROUPS, primary.name, groups=placement,
              note="restore the active/active placement from before the upgrade")
        for name in made_standby:
            s.add(A.REDISCOVER, name, via=primary.name,
                  note="re-discover the unit that was made standby for the upgrade")
    return tuple(s.steps)
