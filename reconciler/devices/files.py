"""Listing a device's storage and deleting files, member by member.

Both start from fresh discovery (`get_facts`): the seed's advice for "not enough space" is to
re-discover before deleting, because a listing the reconciler kept may be stale. A delete is
checked on every member first and refused as a whole when any copy is in use (running, in the
boot list, the ASDM image) unless forced, so nothing is half-deleted by a refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.core.model import Mode
from reconciler.core.observed import ObservedDevice
from reconciler.core.storage import (
    DeleteCheck,
    DeviceStorage,
    check_delete,
    device_storage,
    members_holding,
    parse_path,
    single_member,
)
from reconciler.drivers.base import Driver
from reconciler.errors import PermanentError, ReconcilerError


async def read_storage(drv: Driver, members: Sequence[str] = ()) -> tuple[ObservedDevice, DeviceStorage]:
    """Discover the device and describe each (selected) member's disks and files."""
    facts = await drv.get_facts()
    return facts, device_storage(facts, members)


def member_arg(facts: ObservedDevice, member: str) -> str | None:
    """What the driver takes for `member`: None (the management unit) on a single-unit device."""
    return None if facts.mode is Mode.STANDALONE or len(facts.members) == 1 else member


@dataclass(frozen=True)
class MemberDelete:
    check: DeleteCheck
    deleted: bool = False
    error: ReconcilerError | None = None
    free_after: int | None = None  # the disk's free bytes, re-read after the delete


@dataclass(frozen=True)
class DeleteResult:
    device: str
    path: str
    forced: bool
    dry_run: bool
    members: tuple[MemberDelete, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(m.error is None for m in self.members)


def refusal(checks: Sequence[DeleteCheck]) -> PermanentError:
    refused = [c for c in checks if c.refused]
    first = refused[0]
    return PermanentError("refusing to delete: " + "; ".join(c.reason() for c in refused)
                          + f" ({first.consequence()})", code="FILE_IN_USE", device=first.device,
                          member=first.member if len(refused) == 1 else None, hint=first.advice())


async def delete_file(drv: Driver, path: str, *, member: str | None = None, all_members: bool = False,
                      force: bool = False, dry_run: bool = False) -> DeleteResult:
    """Delete `path` on one member (or every member holding it).

    Refused without `force` when any copy is running, named by a boot line or the ASDM image;
    with `force` it is deleted and the result carries a warning per such copy."""
    parse_path(path)
    facts = await drv.get_facts()
    if all_members:
        if member is not None:
            raise PermanentError("--member and --all-members exclude each other", code="USAGE", device=facts.name,
                                 hint="name one member, or delete on every member that holds the file")
        targets = members_holding(facts, path)
        if not targets:
            raise PermanentError(f"{parse_path(path)} is on no member of {facts.name}", code="FILE_NOT_FOUND",
                                 device=facts.name,
                                 hint=f"`reconciler device storage {facts.name}` lists the files")
    else:
        targets = (single_member(facts, member, "delete the file on"),)
    checks = check_delete(facts, targets, path)
    refused = [c for c in checks if c.refused]
    if refused and not force:
        raise refusal(checks)
    warnings = tuple(f"{c.reason()}: deleting it anyway (--force); {c.consequence()}" for c in refused)
    if dry_run:
        return DeleteResult(facts.name, checks[0].file.path, force, True, tuple(MemberDelete(c) for c in checks),
                            warnings)
    done: list[MemberDelete] = []
    for c in checks:
        try:
            await drv.delete_file(member_arg(facts, c.member), c.file.path, force=c.refused)
        except ReconcilerError as e:
            done.append(MemberDelete(c, error=e))
        else:
            done.append(MemberDelete(c, deleted=True))
    # read the disks again: confirms the file is gone and shows what was freed
    try:
        after = await drv.get_facts()
    except ReconcilerError:
        after = None
    out = []
    for md in done:
        m = after.member(md.check.member) if after else None
        d = m.disk(md.check.file.disk) if m else None
        if md.deleted and d is not None and d.has(md.check.file.name):
            md = MemberDelete(md.check, False, PermanentError(
                f"{md.check.file.path} is still on {md.check.member} after the delete", code="DELETE_FAILED",
                device=facts.name, member=md.check.member, hint="see the transcript for the device's answer"))
        out.append(MemberDelete(md.check, md.deleted, md.error, d.free if d else None))
    return DeleteResult(facts.name, checks[0].file.path, force, False, tuple(out), warnings)
