"""One plan step -> the driver call(s) that carry it out, and a one-line account of the result.

Steps carry every parameter they need (the executor never re-plans). What counts as done is
checked here, not assumed: a copy's bytes must hash to the catalog's sha-256, a verification
must reproduce the repository copy's sha-512 on the unit, a version check compares the release
the unit really runs with the one the step expects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from reconciler.contract import StepAction
from reconciler.core.model import ImageType
from reconciler.core.plan import DevicePlan, Step
from reconciler.core.versions import VersionError, same_release
from reconciler.drivers.base import Driver, ReloadNotStartedError
from reconciler.errors import PermanentDeviceError, PermanentError, TransientDeviceError
from reconciler.executor.images import ImageSupply
from reconciler.executor.retry import is_temporary
from reconciler.render.describe import describe_step

A = StepAction

# Steps that are safe to send again after a temporary error: they check before they change, or
# change nothing. A reload and the wait after it are not: a second reload could hit a unit that
# is already booting the new image. An agent installation is: the agent reports a failed
# install (FTP 4yz, Winsock codes: the appendix's transient class) and keeps its old version.
RETRYABLE = frozenset(StepAction) - {A.RELOAD, A.WAIT_READY}
# After one of these the unit may be down or running something new: a failure later on needs a
# look at the device before its state is decided.
DISRUPTIVE = frozenset({A.RELOAD, A.SWITCH_ACTIVE, A.HANDOFF_CONTROL, A.SET_FAILOVER_GROUPS,
                        A.AGENT_INSTALL})


@dataclass
class StepContext:
    plan: DevicePlan
    driver: Driver
    images: ImageSupply

    @property
    def device(self) -> str:
        return self.plan.device

    @property
    def reload_timeout(self) -> int:
        return self.plan.settings.reload_timeout if self.plan.settings else 900


def describe(step: Step) -> str:
    """`reload secondary via primary [hop 2]: reload into 9.3(3) (asa933-smp-k8.bin)`."""
    via = f" via {step.via}" if step.via else ""
    hop = f" [hop {step.hop}]" if step.hop else ""
    return f"{step.action} {step.member}{via}{hop}: {describe_step(step)}"


async def _copy(ctx: StepContext, s: Step) -> str:
    assert s.image and s.disk
    source = ctx.images.source(s.image, s.size, s.sha256)
    res = await ctx.driver.copy_image(s.disk, s.image, source, members=[s.member, *s.spreads_to])
    if s.sha256 and res.digests.sha256 != s.sha256.lower():
        raise PermanentError(f"the {res.size} bytes sent for {s.image} hash to "
                             f"{res.digests.sha256}, not the catalog's {s.sha256}",
                             code="IMAGE_CHECKSUM", device=ctx.device, member=s.member,
                             hint="the repository file changed during the copy: run "
                                  "`reconciler images verify` and plan again")
    ctx.images.remember(s.image, res.digests)
    split = f" in {res.parts} parts (the device refused larger requests: HTTP 413)" \
        if res.parts > 1 else ""
    return f"{res.size} bytes to {res.path} on {', '.join(res.members)}{split}"


async def _verify(ctx: StepContext, s: Step) -> str:
    assert s.image and s.path
    digests = await ctx.images.digests(s.image, s.sha256, s.size)
    got = await ctx.driver.verify(s.member, s.path, digests.get("sha-512"))
    return f"sha-512 {got.value[:16]}… matches on {s.member}"


async def _backup(ctx: StepContext, s: Step) -> str:
    if not s.path or not s.image:
        return "nothing to back up: discovery reported no running image file"
    res = await ctx.images.keep_backup(ctx.device, s.image, ctx.driver.fetch_file(s.path))
    if res.path is None:
        return (f"{s.path} ({res.size} bytes, sha256 {res.sha256[:16]}…) is identical to the "
                f"repository's {res.same_as}: no second copy kept")
    return f"{s.path} ({res.size} bytes, sha256 {res.sha256[:16]}…) saved to {res.path}"


async def _delete(ctx: StepContext, s: Step) -> str:
    assert s.path
    await ctx.driver.delete_file(s.member, s.path)
    return f"deleted {s.path} on {s.member}" + (f" ({s.size} bytes freed)" if s.size else "")


async def _set_boot(ctx: StepContext, s: Step) -> str:
    await ctx.driver.set_boot(s.boot)
    synced = f" (synced to {', '.join(s.synced_to)})" if s.synced_to else ""
    return "boot list is now " + ", ".join(s.boot) + synced


async def _set_asdm(ctx: StepContext, s: Step) -> str:
    assert s.path
    await ctx.driver.set_asdm(s.path)
    return f"asdm image {s.path}"


async def _save(ctx: StepContext, s: Step) -> str:
    await ctx.driver.save_config()
    return "configuration saved" + (f" and replicated to {', '.join(s.synced_to)}"
                                    if s.synced_to else "")


async def _reload(ctx: StepContext, s: Step) -> str:
    await ctx.driver.reload(s.member)
    return f"{s.member} is reloading" + (f" to {s.version}" if s.version else "")


async def _wait(ctx: StepContext, s: Step) -> str:
    timeout = s.timeout or ctx.reload_timeout
    await ctx.driver.wait_ready(s.member, timeout)
    return f"{s.member} is back ({s.wait_for or 'reachable'})"


async def _check(ctx: StepContext, s: Step) -> str:
    assert s.version
    kind = s.image_type or ImageType.ASA
    running = await ctx.driver.running_versions(s.member)
    got = running.get(kind)
    try:
        ok = got is not None and same_release(kind, got, s.version)
    except VersionError:
        ok = False
    if not ok:
        raise PermanentDeviceError(
            f"{s.member} runs {kind} {got or 'nothing'}, expected {s.version}",
            code="VERSION_MISMATCH", device=ctx.device, member=s.member,
            hint="the unit did not boot the new image (it may have fallen back to the old one): "
                 "check `show bootvar` and the image on its disk, then retry the job")
    return f"{s.member} runs {kind} {got}"


async def _switch(ctx: StepContext, s: Step) -> str:
    await ctx.driver.switch_active(s.member)
    return f"{s.member} is now the active unit"


async def _handoff(ctx: StepContext, s: Step) -> str:
    await ctx.driver.handoff_control(s.member)
    return f"{s.member} is now the control unit"


async def _groups(ctx: StepContext, s: Step) -> str:
    assert s.groups is not None
    placement = {g: unit for unit, groups in s.groups.items() for g in groups}
    await ctx.driver.set_failover_groups(placement)
    return "failover groups: " + ", ".join(f"{g} on {u}" for g, u in sorted(placement.items()))


async def _rediscover(ctx: StepContext, s: Step) -> str:
    facts = await ctx.driver.get_facts()
    m = facts.member(s.member)
    if m is None or not m.reachable:
        raise TransientDeviceError(f"{s.member} is not reachable after the upgrade",
                                   code="UNREACHABLE", device=ctx.device, member=s.member,
                                   hint="check the unit's failover state (show failover)")
    return f"{s.member}: {m.role}, runs " + ", ".join(f"{t} {v}" for t, v in sorted(m.running.items()))


async def _agent_install(ctx: StepContext, s: Step) -> str:
    assert s.image and s.version
    source = ctx.images.source(s.image, s.size, s.sha256)
    if s.sha256:
        await ctx.images.digests(s.image, s.sha256, s.size)
    await ctx.driver.install(s.version, s.image, source)
    # the agent restarts while it installs; its install job says how that went
    await ctx.driver.wait_ready(s.member, ctx.reload_timeout)
    return f"agent {s.version} installed from {s.image}"


HANDLERS: dict[StepAction, Callable[[StepContext, Step], Awaitable[str]]] = {
    A.COPY: _copy, A.VERIFY_COPY: _verify, A.BACKUP: _backup, A.DELETE_FILE: _delete,
    A.SET_BOOT: _set_boot, A.SET_ASDM: _set_asdm, A.SAVE_CONFIG: _save, A.RELOAD: _reload,
    A.WAIT_READY: _wait, A.CHECK_VERSION: _check, A.SWITCH_ACTIVE: _switch,
    A.HANDOFF_CONTROL: _handoff, A.SET_FAILOVER_GROUPS: _groups, A.REDISCOVER: _rediscover,
    A.AGENT_INSTALL: _agent_install,
}


def repeatable(action: StepAction, err: BaseException) -> bool:
    """May a step that failed with `err` be sent again (after a backoff)?"""
    if action in RETRYABLE:
        return is_temporary(err)
    # a reload the device never carried out (refused with HTTP 503, or not sent at all) left
    # nothing booting: sending it again cannot hit a unit that is already reloading
    return action is A.RELOAD and isinstance(err, ReloadNotStartedError)


async def run_step(ctx: StepContext, step: Step) -> str:
    return await HANDLERS[step.action](ctx, step)
