"""The reconciliation loop: one cycle as a function, and the loop of cycles around it.

A cycle reads the branch's tip (fetched), optionally checks its signature, recovers a run that
died, lets the agents check in (a pending re-image happens there), discovers its devices (all,
or its shard), plans, reports drift, and — where policy says `auto_apply` and the device is in
its maintenance window (agents: also at their check-in) — applies through the executor. Devices
that keep drifting back after upgrades are NOT_CONVERGING and left alone. A cycle whose commit,
observed devices, device states, attempt counters and image repository are all unchanged, with
nothing left that this daemon would apply (drift on plan-only devices is only reported), reuses
the last plan instead of planning again; otherwise only the devices that changed
are planned again (`PlanMemory`), and the policy files are parsed again only when they changed
(`DesiredCache`): apart from discovery, which must look at every device to see drift behind our
back, a cycle's work is proportional to what changed. The report says where the time went
(`stages_seconds`) and how much work was done (`work`).

The loop waits `interval` (with jitter) between cycles; after a failed cycle it retries sooner,
backing off exponentially (shared `reconciler.backoff`), never later than the interval.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from reconciler.backoff import jittered_backoff
from reconciler.contract import FindingCode
from reconciler.core.bulk import gc_release
from reconciler.core.findings import Finding
from reconciler.core.model import DesiredState, DriverKind, ResolvedDevice
from reconciler.core.plan import Plan
from reconciler.core.plan.incremental import PlanMemory
from reconciler.core.windows import is_open
from reconciler.daemon.changes import (Basis, carry_over, changed_devices, read_basis,
                                       unchanged)
from reconciler.daemon.convergence import Verdict, forgetting_due, judge
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.stages import Stages, Work
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.executor.jobs import JobRequest, runnable
from reconciler.executor.session import Session, Workspace
from reconciler.gitops.desired_cache import DesiredCache
from reconciler.logging import get_logger
from reconciler.store import JobStatus, Store, SyncRecord, open_store
from reconciler.store.shards import in_shard
from reconciler.timezones import zone


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DaemonConfig:
    repo: str  # path of a working tree / bare repository, or a URL (mirrored and fetched)
    branch: str = "main"
    interval: float = 300.0  # seconds between cycles
    jitter: float = 0.1  # +- this fraction of the interval
    retry_initial: float = 10.0  # first wait after a failed cycle (then doubling, < interval)
    shard: tuple[int, int] | None = None  # (index, count)
    auto_apply: bool | None = None  # None: each device's `auto_apply` setting
    ignore_windows: bool = False
    agent_upgrade: str = "checkin"  # "checkin": agents upgrade when they check in; "window"
    verify_signatures: bool = False
    allowed_signers: Path | None = None
    stable_after: timedelta = timedelta(hours=6)  # in sync this long after an attempt: converged
    actor: str = "reconciler-daemon"
    healthy_after_failures: int = 3  # /healthz turns 503 after this many failed cycles in a row


@dataclass
class DeviceReport:
    name: str
    state: str  # in_sync, drifting, blocked, not_converging, unreachable
    changes: list[str] = field(default_factory=list)
    reason: str = ""
    newly_drifted: bool = False  # in sync last cycle, drifting now: changed behind our back
    reimaged_to: str | None = None  # an agent re-imaged back at its check-in


@dataclass
class CycleResult:
    cycle: int
    commit: str | None
    started: datetime
    duration: float = 0.0
    ok: bool = False
    error: str = ""
    refused: str = ""  # the revision was not applied (signature)
    reused_plan: bool = False
    devices: dict[str, DeviceReport] = field(default_factory=dict)
    stages: Stages = field(default_factory=Stages)
    work: Work = field(default_factory=Work)
    eligible: list[str] = field(default_factory=list)  # applied in this cycle
    job_id: int | None = None
    job_status: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.devices.values():
            out[d.state] = out.get(d.state, 0) + 1
        return out

    @property
    def drift(self) -> list[str]:
        return sorted(n for n, d in self.devices.items() if d.changes and d.state != "unreachable")

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle, "commit": self.commit, "ok": self.ok, "error": self.error,
            "refused": self.refused, "started": self.started.isoformat(),
            "duration_seconds": round(self.duration, 3), "reused_plan": self.reused_plan,
            "counts": self.counts(), "drift": self.drift,
            "devices": [{"device": d.name, "state": d.state, "changes": d.changes,
                         "reason": d.reason, "newly_drifted": d.newly_drifted,
                         "reimaged_to": d.reimaged_to}
                        for d in sorted(self.devices.values(), key=lambda d: d.name)],
            "applied": self.eligible, "job": {"id": self.job_id, "status": self.job_status,
                                              "outcomes": self.outcomes} if self.job_id else None,
            "stages_seconds": self.stages.rounded(), "work": self.work.to_dict(),
        }


@dataclass
class DaemonContext:
    config: DaemonConfig
    workspace: Workspace
    store: Store
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow
    cycle: int = 0
    failures: int = 0  # failed cycles in a row
    last: CycleResult | None = None
    last_ok_at: float | None = None  # monotonic
    last_sync: SyncRecord | None = None  # recorded by the last successful cycle
    stopping: bool = False
    session: Session | None = None  # while a cycle runs (signals reach its runner)
    desired_cache: DesiredCache = field(default_factory=DesiredCache)
    plan_memory: PlanMemory = field(default_factory=PlanMemory)
    _basis: Basis | None = None  # what the last planned cycle saw
    _reuse_basis: Basis | None = None  # a settled cycle's basis, and its result to reuse
    _reuse_result: CycleResult | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def open(cls, config: DaemonConfig, workspace: Workspace, **kw: Any) -> DaemonContext:
        store = open_store(workspace.state_url, root=workspace.root, migrate=True)
        return cls(config, workspace, store, **kw)

    def close(self) -> None:
        self.store.close()


# ---------------------------------------------------------------- reading the branch


@dataclass(frozen=True)
class Desired:
    desired: DesiredState
    findings: list[Finding]
    commit: str
    refused: str = ""
    loaded: bool = True  # parsed now (False: the files were those of the last read)


def read_branch(config: DaemonConfig, cache: DesiredCache | None = None,
                stages: Stages | None = None) -> Desired:
    """The branch tip's desired state (fetched when the repository is a URL). With a `cache`,
    parsed only when the policy files differ from the last read's."""
    from reconciler.gitops.signatures import verify_commit
    from reconciler.gitops.source import GitTreeSource
    from reconciler.planning import UnplannableError, fatal_findings

    stages = stages or Stages()
    cache = cache or DesiredCache()
    with stages("git"):
        src = GitTreeSource(config.repo, config.branch, fetch=True)
    with src:
        with stages("load"):
            desired, findings, loaded = cache.load(src)
        with stages("git"):
            refused = ""
            if config.verify_signatures:
                status = verify_commit(src.repo, src.commit,
                                       allowed_signers=config.allowed_signers)
                if not status.ok:
                    refused = status.describe()
            commit = src.commit
    fatal = fatal_findings(findings)
    if fatal:
        raise UnplannableError(fatal)
    if desired.commit != commit:
        desired = replace(desired, commit=commit)
    return Desired(desired, findings, commit, refused, loaded)


# ---------------------------------------------------------------- one cycle


def shard_names(desired: DesiredState, shard: tuple[int, int] | None) -> list[str]:
    names = sorted(desired.inventory)
    if shard is None:
        return names
    k, n = shard
    return [x for x in names if in_shard(x, k, n)]


async def checkins(session: Session, desired: DesiredState, names: Iterable[str]
                   ) -> dict[str, str | None]:
    """Agents in `names` check in: name -> the version they were re-imaged back to (or None).
    An agent that does not answer is absent (discovery reports it)."""
    log = get_logger(component="daemon")

    async def one(name: str) -> tuple[str, str | None] | None:
        dev = desired.inventory[name]
        try:
            async with session.connector.driver(dev) as drv:
                result = await drv.checkin()  # type: ignore[attr-defined]
        except (ReconcilerError, OSError) as e:
            log.info("checkin_failed", device=name, error=str(e))
            return None
        if result.reimaged_to:
            log.warning("agent_reimaged_at_checkin", device=name, version=result.reimaged_to)
        return name, result.reimaged_to

    agents = [n for n in names if desired.inventory[n].driver is DriverKind.AGENT]
    done = await asyncio.gather(*(one(n) for n in agents))
    return {k: v for k, v in (x for x in done if x is not None)}


def classify(plan: Plan, managed: Iterable[str], not_converging: Iterable[str]
             ) -> dict[str, DeviceReport]:
    """Every managed device's compliance state; the plan lists only those not in sync."""
    stuck = set(not_converging)
    out: dict[str, DeviceReport] = {n: DeviceReport(n, "in_sync") for n in managed}
    for dp in plan.devices:
        codes = {f.code for f in dp.findings}
        changes = [f"{c.type} {c.from_version or '-'} -> {c.to_version}" for c in dp.changes]
        errors = [f for f in dp.findings if f.severity.value == "error"]
        if FindingCode.DEVICE_UNREACHABLE in codes:
            state = "unreachable"
        elif dp.device in stuck:
            state = "not_converging"
        elif dp.blocked:
            state = "blocked"
        elif dp.changes or dp.steps:
            state = "drifting"
        else:
            state = "in_sync"
        reason = "; ".join(f"{f.code}: {f.message}" for f in errors)[:500]
        out[dp.device] = DeviceReport(dp.device, state, changes, reason)
    return out


def auto_applied(cfg: DaemonConfig, resolved: ResolvedDevice) -> bool:
    """Whether this daemon applies the device's changes at all (its window aside)."""
    return bool(resolved.settings.auto_apply if cfg.auto_apply is None else cfg.auto_apply)


def eligible(plan: Plan, ctx: DaemonContext, desired: DesiredState,
             resolved: Mapping[str, Any], checked_in: Mapping[str, Any], now: datetime
             ) -> tuple[list[str], bool]:
    """Devices to apply now, and whether that needs the windows ignored (agents at check-in)."""
    cfg = ctx.config
    names: list[str] = []
    outside = False
    for dp in runnable(plan):
        r = resolved.get(dp.device)
        if r is None or not auto_applied(cfg, r):
            continue
        if cfg.ignore_windows or is_open(r.settings.maintenance_windows, now, zone):
            names.append(dp.device)
        elif (cfg.agent_upgrade == "checkin" and dp.device in checked_in
              and desired.inventory[dp.device].driver is DriverKind.AGENT):
            names.append(dp.device)  # the appendix's Auto-Agent Upgrade: at check-in
            outside = True
    return names, outside or cfg.ignore_windows


async def run_cycle(ctx: DaemonContext) -> CycleResult:
    """One cycle. Never raises for a failed cycle: the result says what went wrong."""
    ctx.cycle += 1
    started = ctx.clock()
    t0 = time.monotonic()
    result = CycleResult(ctx.cycle, None, started)
    log = get_logger(component="daemon", cycle=ctx.cycle)
    try:
        await _cycle(ctx, result, log)
        result.ok = not result.refused and (result.job_status in (None, str(JobStatus.DEPLOYED)))
        if not result.ok and not result.error:
            result.error = result.refused or f"job {result.job_id} ended {result.job_status}"
        if result.ok and result.commit:
            with result.stages("store_write"):
                ctx.last_sync = await asyncio.to_thread(ctx.store.record_sync, result.commit,
                                                        branch=ctx.config.branch)
    except ReconcilerError as e:
        result.error = f"{e.code}: {e.message}" if getattr(e, "code", None) else str(e)
        log.error("cycle_failed", commit=result.commit, error=result.error,
                  hint=getattr(e, "hint", None))
    except Exception as e:  # noqa: BLE001 - the daemon survives a bad cycle and says why
        result.error = f"{type(e).__name__}: {e}"
        log.exception("cycle_crashed", commit=result.commit)
    finally:
        # Loading and planning freeze everything alive (core.bulk.gc_paused) so the collector
        # does not rescan a fleet's worth of objects; reference cycles among them are then
        # never reclaimed. Hand them back and collect before the next cycle freezes again,
        # or each cycle's cyclic garbage (drivers, parsed output, tracebacks) stays forever.
        # A cycle that neither loaded nor planned froze nothing: the collector's usual passes
        # see its garbage, and a full collection (about 0.5 s at 10,000 devices) is skipped.
        if gc.get_freeze_count():
            gc_release()
            gc.collect()
    result.duration = time.monotonic() - t0
    _account(ctx, result, log)
    return result


async def _cycle(ctx: DaemonContext, result: CycleResult, log: Any) -> None:
    cfg = ctx.config
    stage, work = result.stages, result.work
    rev = await asyncio.to_thread(read_branch, cfg, ctx.desired_cache, stage)
    result.commit = rev.commit
    work.desired_loaded = rev.loaded
    log = log.bind(commit=rev.commit[:12])
    desired = rev.desired
    names = shard_names(desired, cfg.shard)
    async with Session(ctx.workspace, actor=cfg.actor, store=ctx.store) as session:
        ctx.session = session
        try:
            with stage("recover"):
                report = await session.recover(desired)
            if not report.empty:
                for line in report.lines():
                    log.warning("recovered", detail=line)
            with stage("checkin"):
                reimaged = await checkins(session, desired, names)
            with stage("discover"):
                snapshot = await session.discover(desired, names)
            work.discovered = len(names)
            with stage("store_read"):
                images = await session.image_status(desired)
                basis = await asyncio.to_thread(read_basis, ctx.store, rev.commit,
                                                desired.content_digest, snapshot, names,
                                                images, cfg.auto_apply)
            with stage("compare"):
                now = ctx.clock()
                changed = await asyncio.to_thread(changed_devices, ctx._basis, basis)
                work.changed = None if changed is None else len(changed)
                prev = ctx._reuse_result
                same = prev is not None and unchanged(ctx._reuse_basis, basis, changed) and not (
                    forgetting_due(basis.counters.values(), now, cfg.stable_after,
                                   {n for n, d in prev.devices.items() if d.state == "in_sync"}))
                if changed is not None and ctx._basis is not None:
                    basis, snapshot = carry_over(ctx._basis, basis, snapshot, changed)
            ctx._basis = basis
            if same and prev is not None and not rev.refused:
                result.devices = {n: replace(d, newly_drifted=False)
                                  for n, d in prev.devices.items()}
                result.reused_plan = True
                work.reused = len(ctx.plan_memory)
                log.info("unchanged", devices=len(names))
                return
            # kept again below only once this cycle's plan is complete and settled
            ctx._reuse_basis, ctx._reuse_result = None, None
            with stage("plan"):
                memory = ctx.plan_memory
                plan, resolved = await session.plan_unsaved(
                    desired, names, findings=rev.findings, snapshot=snapshot,
                    states=basis.states, images=basis.images, memory=memory)
                work.planned, work.reused = memory.planned, memory.reused
                managed = [n for n in names if (r := resolved.get(n)) is not None and r.targets]
                verdict = judge(plan, basis.counters,
                                {n: r.settings.max_attempts for n, r in resolved.items()}, now,
                                stable_after=cfg.stable_after, managed=managed)
            with stage("store_write"):
                for name in verdict.converged:
                    await asyncio.to_thread(ctx.store.reset_attempts, name)
            if verdict.converged:  # what the store holds now: the next cycle may reuse this one
                forgotten = set(verdict.converged)
                basis = ctx._basis = replace(basis, counters={
                    n: c for n, c in basis.counters.items() if n not in forgotten})
            if verdict.not_converging:
                with stage("plan"):
                    plan, resolved = await session.plan_unsaved(
                        desired, names, findings=[*rev.findings, *verdict.not_converging.values()],
                        snapshot=snapshot, states=basis.states, images=basis.images,
                        memory=memory)
                    work.planned += memory.planned
            with stage("report"):
                _report(ctx, result, plan, names, resolved, verdict, reimaged, changed, log)
            if rev.refused:
                result.refused = rev.refused
                log.error("revision_refused", reason=rev.refused)
                return
            # nothing left to act on: the next cycle may reuse this one if nothing changes
            # Drift on plan-only devices (auto_apply off) is only reported: nothing but a new
            # commit or a change on the devices (both in the basis) could make it applicable, so
            # a mostly plan-only fleet is not planned again every cycle. Devices applied but
            # waiting for their window keep the plan fresh: time opens windows.
            settled = not any((r := resolved.get(dp.device)) is not None and auto_applied(cfg, r)
                              for dp in runnable(plan))
            ctx._reuse_basis, ctx._reuse_result = (basis, result) if settled else (None, None)
            apply, ignore = eligible(plan, ctx, desired, resolved, reimaged, now)
            if apply and not ctx.stopping:
                result.eligible = apply
                with stage("apply"):
                    await _apply(ctx, session, desired, apply, ignore, rev, result, log)
        finally:
            ctx.session = None


def _report(ctx: DaemonContext, result: CycleResult, plan: Plan, names: list[str],
            resolved: Mapping[str, Any], verdict: Verdict, reimaged: Mapping[str, str | None],
            observed_changed: set[str] | None, log: Any) -> None:
    """Every managed device's compliance state; drift that appeared since the last cycle.

    Drift behind our back is a change on the device (`observed_changed`: what discovery saw
    differs from last cycle; None: no earlier observation to compare with), not a new commit
    moving its target."""
    managed = [n for n in names if (r := resolved.get(n)) is not None and r.targets]
    result.devices = classify(plan, managed, verdict.not_converging)
    previous = ctx.last.devices if ctx.last is not None else {}
    for name, d in result.devices.items():
        d.reimaged_to = reimaged.get(name)
        before = previous.get(name)
        if (d.state == "drifting" and before is not None and before.state == "in_sync"
                and (observed_changed is None or name in observed_changed)):
            d.newly_drifted = True
            log.warning("drift_detected", device=name, changes=d.changes,
                        reimaged_to=d.reimaged_to)
        elif d.state == "drifting":
            log.info("drifting", device=name, changes=d.changes)
        elif d.state == "not_converging":
            log.error("not_converging", device=name, reason=d.reason)
        elif d.state in ("blocked", "unreachable"):
            log.info(d.state, device=name, reason=d.reason)


async def _apply(ctx: DaemonContext, session: Session, desired: DesiredState, names: list[str],
                 ignore_windows: bool, rev: Desired, result: CycleResult, log: Any) -> None:
    stuck = [Finding(FindingCode.NOT_CONVERGING, d.reason, device=n)
             for n, d in result.devices.items() if d.state == "not_converging"]
    saved, resolved = await session.plan(desired, names, findings=[*rev.findings, *stuck])
    if not runnable(saved.plan):
        return
    # several daemons share a store: the name says which one, and stays unique
    stamp = ctx.clock().strftime("%Y%m%dT%H%M%S")
    request = JobRequest(name=f"daemon-{rev.commit[:8]}-{stamp}-{uuid.uuid4().hex[:6]}",
                         description=f"reconciler daemon, branch {ctx.config.branch}, cycle "
                                     f"{ctx.cycle}", ignore_windows=ignore_windows)
    job = session.create(saved, request, resolved, origin="daemon")
    log = log.bind(job=job.id)
    log.info("applying", devices=[d.device for d in runnable(saved.plan)])
    ready = await session.wait_for_start(job, no_wait=True)
    if ready is None:
        result.job_id, result.job_status = job.id, "scheduled"
        log.info("job_scheduled", job=job.id)
        return
    from reconciler.daemon.events import MetricsEvents

    run = await session.run(ready, desired, events=MetricsEvents(ctx.metrics, log))
    result.job_id, result.job_status = run.job.id, str(run.job.status)
    result.outcomes = {n: str(o.status) for n, o in run.outcomes.items()}
    ctx.metrics.jobs.labels(status=str(run.job.status)).inc()
    log.info("job_finished", status=str(run.job.status), outcomes=result.outcomes)


def _account(ctx: DaemonContext, result: CycleResult, log: Any) -> None:
    m = ctx.metrics
    m.cycle_duration.observe(result.duration)
    m.cycles.labels(result="ok" if result.ok else "failed").inc()
    m.last_cycle.set(time.time())
    if result.devices:
        stuck = {n for n, d in result.devices.items() if d.state == "not_converging"}
        m.observe_states(result.counts(), len(result.drift), stuck)
    if result.ok:
        ctx.failures = 0
        ctx.last_ok_at = time.monotonic()
        m.last_success.set(time.time())
        rec = ctx.last_sync
        if rec is not None and rec.commit == result.commit:
            m.sync.info({"commit": rec.commit, "branch": rec.branch,
                         "at": rec.at.isoformat(timespec="seconds")})
    else:
        ctx.failures += 1
    if result.devices or result.ok:
        ctx.last = result
    log.info("cycle_done", ok=result.ok, commit=result.commit, seconds=round(result.duration, 3),
             counts=result.counts(), drift=len(result.drift), job=result.job_id,
             error=result.error or None, stages=result.stages.rounded(),
             work=result.work.to_dict())


# ---------------------------------------------------------------- the loop


def next_delay(ctx: DaemonContext, ok: bool, rng: random.Random | None = None) -> float:
    """Seconds until the next cycle: the interval +- jitter, or after failures a backoff that
    doubles from `retry_initial` (full jitter, floored) and never exceeds the interval."""
    cfg = ctx.config
    rng = rng or random.Random()
    if ok:
        return max(0.0, cfg.interval * (1 + rng.uniform(-cfg.jitter, cfg.jitter)))
    initial = min(cfg.retry_initial, cfg.interval)
    wait = jittered_backoff(initial, cfg.interval)
    state = SimpleNamespace(attempt_number=max(1, ctx.failures), outcome=None)
    return max(initial / 2, float(wait(state)))  # type: ignore[arg-type]


Sleep = Callable[[float], Awaitable[None]]


async def run_loop(ctx: DaemonContext, *, max_cycles: int | None = None,
                   sleep: Sleep | None = None,
                   on_cycle: Callable[[CycleResult], Any] | None = None) -> CycleResult | None:
    """Cycles until `ctx.stopping` (a signal) or `max_cycles`; returns the last cycle's result
    (None when none ran). The wait between cycles ends early when a stop is requested.

    Only the last result is kept (as `ctx.last`): a daemon runs for months, and each result
    holds a report per device. `on_cycle` sees every one."""
    last: CycleResult | None = None
    cycles = 0

    async def interruptible(seconds: float) -> None:
        ctx.wake.clear()
        try:
            await asyncio.wait_for(ctx.wake.wait(), timeout=seconds)
        except TimeoutError:
            pass

    pause = sleep or interruptible
    while not ctx.stopping:
        last = await run_cycle(ctx)
        cycles += 1
        if on_cycle is not None:
            on_cycle(last)
        if ctx.stopping or (max_cycles is not None and cycles >= max_cycles):
            break
        await pause(next_delay(ctx, last.ok))
    return last


def parse_duration(text: str) -> float:
    """`30s`, `5m`, `1h`, `1d` or plain seconds."""
    t = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if t and t[-1] in units:
            value = float(t[:-1]) * units[t[-1]]
        else:
            value = float(t)
    except ValueError:
        raise ConfigError(f"{text!r} is not a duration like 30s, 5m or 1h",
                          code="USAGE") from None
    if value < 0:
        raise ConfigError(f"duration {text!r} is negative", code="USAGE")
    return value


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N`, K from 0 to N-1."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r} is not K/N (e.g. 0/3)", code="USAGE") from None
    if n < 1 or not 0 <= k < n:
        raise ConfigError(f"--shard {text}: K must be 0..N-1 and N at least 1", code="USAGE")
    return k, n
