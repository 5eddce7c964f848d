"""Cycles of the daemon converge the fleet, report drift, stop re-imaging a device that keeps
flipping back (NOT_CONVERGING), pick up new commits, and refuse unsigned commits when asked."""

from __future__ import annotations

import os
import random
import weakref
from datetime import timedelta

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.daemon.loop import next_delay, parse_duration, parse_shard, run_cycle, run_loop
from reconciler.store import JobDeviceStatus, owners
from tests.daemon.conftest import DaemonLab

AGENT = "ep-win-001"


def _metric(ctx, name: str, **labels: str) -> float | None:  # type: ignore[no-untyped-def]
    return ctx.metrics.registry.get_sample_value(name, labels or None)


async def test_cycles_converge_the_fleet_and_leave_blocked_devices_alone(dlab: DaemonLab) -> None:
    ctx = dlab.context()
    first = await run_cycle(ctx)
    assert first.error == "" and first.job_id is not None
    blocked = {n for n, d in first.devices.items() if d.state in ("blocked", "unreachable")}
    drifting = {n for n, d in first.devices.items() if d.state == "drifting"}
    assert drifting and set(first.eligible) == drifting
    untouched = dlab.lab.fingerprints()
    seen: list[int] = []
    last = await run_loop(ctx, max_cycles=2, sleep=_no_sleep,
                          on_cycle=lambda r: seen.append(r.cycle))
    assert last is not None and seen == [2, 3] and last is ctx.last
    assert last.ok, last.error
    assert {n for n, d in last.devices.items() if d.state == "drifting"} == set()
    assert {n for n, d in last.devices.items() if d.state == "in_sync"} >= drifting
    # blocked devices were never touched and are still reported with their reason
    for n in blocked:
        assert last.devices[n].reason
        assert dlab.lab.fingerprint(n) == untouched[n]
    assert _metric(ctx, "reconciler_devices", state="drifting") == 0
    # what still differs from the policy is exactly the blocked devices
    assert set(last.drift) <= blocked
    assert _metric(ctx, "reconciler_drift_devices") == len(last.drift)
    assert _metric(ctx, "reconciler_job_device_outcomes_total", outcome="succeeded") == len(drifting)
    sync = ctx.store.last_sync("main")
    assert sync is not None and sync.commit == last.commit
    # nothing changed: the last cycle reused the plan
    assert last.reused_plan


async def _no_sleep(seconds: float) -> None:
    return None


async def test_drift_behind_our_back_is_reported_and_fixed(dlab: DaemonLab) -> None:
    ctx = dlab.context()
    await run_loop(ctx, max_cycles=2, sleep=_no_sleep)
    target = dlab.lab.sim(AGENT)["version"]
    dlab.lab.fleet.apply(AGENT, "set-agent-version", version="4.9.0.100")
    report_only = dlab.context(auto_apply=False)
    report_only.last = ctx.last
    before = ctx.last.drift
    seen = await run_cycle(report_only)
    d = seen.devices[AGENT]
    assert d.state == "drifting" and d.newly_drifted and seen.job_id is None
    assert _metric(report_only, "reconciler_drift_devices") == len(before) + 1
    assert dlab.lab.sim(AGENT)["version"] == "4.9.0.100"  # plan-only: reported, not fixed
    fixed = await run_cycle(ctx)
    assert fixed.eligible == [AGENT] and fixed.outcomes == {AGENT: str(JobDeviceStatus.SUCCEEDED)}
    assert dlab.lab.sim(AGENT)["version"] == target
    assert (await run_cycle(ctx)).devices[AGENT].state == "in_sync"


async def test_a_cycle_works_in_proportion_to_what_changed(dlab: DaemonLab) -> None:
    ctx = dlab.context(auto_apply=False)
    first = await run_cycle(ctx)
    managed = len(first.devices)
    assert first.work.desired_loaded and first.work.changed is None
    assert first.work.planned == managed and first.work.discovered == len(dlab.lab.fleet.devices)
    idle = await run_cycle(ctx)  # nothing changed (drift is left, plan-only)
    assert not idle.work.desired_loaded and idle.work.changed == 0
    assert idle.work.planned == 0 and idle.work.reused == managed
    assert _states(idle) == _states(first)
    dlab.lab.fleet.apply(AGENT, "set-agent-version", version="4.9.0.100")  # behind our back
    drifted = await run_cycle(ctx)
    assert drifted.work.changed == 1 and drifted.work.planned == 1
    target = first.devices[AGENT].changes[0].split(" -> ")[1]
    assert drifted.devices[AGENT].changes == [f"agent 4.9.0.100 -> {target}"]
    dlab.repo.write("README.md", "runbook\n")
    docs = dlab.repo.commit("docs only")
    moved = await run_cycle(ctx)  # a new commit, but not one policy file changed
    assert moved.commit == docs and not moved.work.desired_loaded and moved.work.planned == 0
    dlab.repo.replace("desired/fleet.yaml", 'asa: "9.4(1)"', 'asa: "9.4(1)"  # reviewed')
    dlab.repo.commit("the policy, a comment")
    edited = await run_cycle(ctx)
    assert edited.work.desired_loaded
    # whatever was kept, the report is what a daemon that starts afresh reports
    fresh = await run_cycle(dlab.context(auto_apply=False))
    assert fresh.work.planned == managed and _states(fresh) == _states(edited)
    for stage in ("git", "load", "discover", "store_read", "compare", "plan", "report"):
        assert edited.stages.seconds[stage] >= 0


async def test_counters_of_devices_in_sync_are_forgotten_after_stable_after(
        dlab: DaemonLab) -> None:
    from datetime import timedelta

    from reconciler.daemon.loop import utcnow

    ctx = dlab.context(stable_after=timedelta(hours=6))
    applied = (await run_cycle(ctx)).eligible
    assert applied
    counted = {c.device for c in ctx.store.attempt_counters()}
    assert counted == set(applied)
    settled = await run_loop(ctx, max_cycles=2, sleep=_no_sleep)
    assert settled is not None and settled.reused_plan and all(
        settled.devices[n].state == "in_sync" for n in applied)
    assert {c.device for c in ctx.store.attempt_counters()} == counted  # not yet 6 hours
    later = utcnow() + timedelta(hours=7)
    ctx.clock = lambda: later
    aged = await run_cycle(ctx)  # nothing changed but time: judged again, not reused
    assert not aged.reused_plan and aged.ok
    assert ctx.store.attempt_counters() == []
    assert (await run_cycle(ctx)).reused_plan


async def test_an_image_fetched_later_unblocks_a_settled_device(dlab: DaemonLab,
                                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    from dataclasses import replace

    from reconciler.daemon.loop import DaemonContext

    images = tmp_path / "images"
    shutil.copytree(dlab.lab.images, images)
    missing = "cisco-asa-fp2k.9.16.3.SPA"  # fw-fpr-01's target, no other device's
    kept = tmp_path / missing
    shutil.move(images / missing, kept)
    probe = dlab.context()
    ctx = DaemonContext.open(probe.config, replace(probe.workspace, images_dir=images))
    dlab.contexts.append(ctx)
    settled = await run_loop(ctx, max_cycles=3, sleep=_no_sleep)
    assert settled is not None
    assert settled.reused_plan and settled.devices["fw-fpr-01"].state == "blocked"
    assert "IMAGE_NOT_IN_REPOSITORY" in settled.devices["fw-fpr-01"].reason
    shutil.move(kept, images / missing)  # `reconciler images fetch` did it
    fixed = await run_cycle(ctx)
    assert not fixed.reused_plan and fixed.eligible == ["fw-fpr-01"]
    assert fixed.outcomes == {"fw-fpr-01": str(JobDeviceStatus.SUCCEEDED)}


def _states(r) -> dict[str, tuple[str, list[str], str]]:  # type: ignore[no-untyped-def]
    return {n: (d.state, d.changes, d.reason) for n, d in r.devices.items()}


async def test_a_commit_moving_a_target_is_drift_but_not_drift_behind_our_back(
        dlab: DaemonLab) -> None:
    ctx = dlab.context()
    await run_loop(ctx, max_cycles=2, sleep=_no_sleep)  # converge first
    in_sync = {n for n, d in ctx.last.devices.items() if d.state == "in_sync"}
    dlab.repo.replace("desired/fleet.yaml", 'asa: "9.4(1)"\n      asdm: "7.16(1)"',
                      'asa: "9.3(3)"\n      asdm: "7.16(1)"')
    dlab.repo.commit("back to 9.3(3)")
    moved = await run_cycle(ctx)
    now_drifting = {n for n in in_sync if moved.devices[n].state == "drifting"}
    assert now_drifting, "the commit moved no device that was in sync"
    assert not [n for n in now_drifting if moved.devices[n].newly_drifted]


async def test_a_device_that_flips_back_is_not_converging_after_max_attempts(
        dlab: DaemonLab) -> None:
    dlab.lab.fleet.add_fault(AGENT, {"kind": "agent-revert"})
    ctx = dlab.context()
    applied = 0
    for _ in range(4):
        r = await run_cycle(ctx)
        applied += AGENT in r.eligible
    assert applied == 3  # max_attempts (default 3) upgrades, each undone at the next check-in
    stuck = await run_cycle(ctx)
    d = stuck.devices[AGENT]
    assert d.state == "not_converging" and "NOT_CONVERGING" in d.reason
    assert AGENT not in stuck.eligible
    assert _metric(ctx, "reconciler_not_converging", device=AGENT) == 1
    assert _metric(ctx, "reconciler_devices", state="not_converging") == 1
    reloads = dlab.lab.sim(AGENT)
    again = await run_cycle(ctx)  # left alone in later cycles
    assert again.devices[AGENT].state == "not_converging" and AGENT not in again.eligible
    assert dlab.lab.sim(AGENT)["checkins"] == reloads["checkins"] + 1
    # the operator fixes the cause and says so
    dlab.lab.fleet.clear_faults(AGENT)
    out = CliRunner().invoke(cli, ["device", "mark-operational", AGENT, "--reason",
                                   "DDC rebuilt with the new agent", "--repo",
                                   str(dlab.lab.root), "--state", str(dlab.lab.state)])
    assert out.exit_code == 0, out.output
    assert ctx.store.get_attempts(AGENT) is None
    healed = await run_cycle(ctx)
    assert AGENT in healed.eligible and healed.outcomes[AGENT] == str(JobDeviceStatus.SUCCEEDED)
    assert (await run_cycle(ctx)).devices[AGENT].state == "in_sync"


async def test_a_device_seen_in_sync_after_its_upgrade_forgets_its_attempts(
        dlab: DaemonLab) -> None:
    """The counter behind NOT_CONVERGING is forgotten once the device is seen in sync
    `stable_after` after its last upgrade (an in-sync device is not listed in the plan, so the
    daemon must look past the plan for it); before that time it is kept."""
    patient = dlab.context(stable_after=timedelta(hours=6))
    first = await run_cycle(patient)
    upgraded = {n for n, o in first.outcomes.items() if o == str(JobDeviceStatus.SUCCEEDED)}
    second = await run_cycle(patient)
    done = {n for n in upgraded if second.devices[n].state == "in_sync"}
    assert done, second.counts()
    assert all(patient.store.get_attempts(n) is not None for n in done)  # too soon to forget
    eager = dlab.context()  # stable_after 0: seen in sync at all is enough
    await run_cycle(eager)
    assert [n for n in done if eager.store.get_attempts(n) is not None] == []


async def test_cycles_keep_no_runner_identities_behind(dlab: DaemonLab) -> None:
    """Each cycle's recovery and each job's runner take a fresh identity; once they end it is
    retired, so a daemon running for months does not collect one per cycle."""
    ctx = dlab.context()
    before = set(owners._issued)
    await run_loop(ctx, max_cycles=3, sleep=_no_sleep)  # jobs in the first two
    assert set(owners._issued) == before


class _SelfCycle:
    def __init__(self) -> None:
        self.me = self


async def test_reference_cycles_made_during_a_cycle_are_reclaimed(dlab: DaemonLab) -> None:
    """Planning freezes every object alive for the collector's sake (core.bulk.gc_paused);
    the daemon must hand them back after each cycle, or every cycle's cyclic garbage stays
    for the life of the process. Here each HTTP client the cycle gets carries a reference
    cycle; the connector's clients are alive while the plan is made."""
    make = dlab.lab.factory
    nodes: list[weakref.ref[_SelfCycle]] = []

    def factory(tls, names):  # type: ignore[no-untyped-def]
        client = make(tls, names)
        node = _SelfCycle()
        client.load_test_node = node
        nodes.append(weakref.ref(node))
        return client

    dlab.lab.factory = factory  # type: ignore[method-assign]
    ctx = dlab.context(auto_apply=False)
    r = await run_cycle(ctx)
    assert r.ok and nodes
    assert [n for n in nodes if n() is not None] == []


async def test_a_new_commit_is_picked_up_by_the_next_cycle(dlab: DaemonLab) -> None:
    ctx = dlab.context(auto_apply=False)
    before = await run_cycle(ctx)
    dlab.repo.replace("desired/fleet.yaml", 'asa: "9.4(1)"\n      asdm: "7.16(1)"',
                      'asa: "9.4(1)"\n      asdm: "7.16(1)"\n      # reviewed')
    commit = dlab.repo.commit("comment only")
    after = await run_cycle(ctx)
    assert after.commit == commit != before.commit and not after.reused_plan


async def test_a_plan_only_daemon_reuses_its_plan_while_nothing_changes(dlab: DaemonLab) -> None:
    """Drift on devices the daemon does not apply is only reported: an unchanged fleet is not
    planned again every cycle (work proportional to change), and a change is seen at once."""
    ctx = dlab.context(auto_apply=False)
    first = await run_cycle(ctx)
    assert first.drift and not first.eligible
    again = await run_cycle(ctx)
    assert again.reused_plan and again.drift == first.drift
    dlab.lab.fleet.apply(AGENT, "set-agent-version", version="4.9.0.100")
    changed = await run_cycle(ctx)
    assert not changed.reused_plan and AGENT in changed.drift


async def test_an_image_fetched_for_a_blocked_device_unblocks_it_next_cycle(
        dlab: DaemonLab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The image repository is part of what a reused plan depends on: once the operator fetches
    the image a device was blocked for, the next cycle plans again and applies it."""
    device = "fw-branch-01"
    full = dlab.lab.images
    saved = await dlab.lab.replan([device])
    needed = {c.image for c in saved.plan.device(device).changes}
    assert needed
    images = tmp_path / "images"
    images.mkdir()
    for f in full.iterdir():  # hard links: the session's repository is only read
        if f.is_file() and f.name in ({*dlab.lab.desired().images} - needed):
            os.link(f, images / f.name)
    dlab.lab.images = images
    ctx = dlab.context()
    await run_loop(ctx, max_cycles=2, sleep=_no_sleep)
    blocked = await run_cycle(ctx)
    assert blocked.reused_plan and blocked.devices[device].state == "blocked"
    assert "IMAGE_NOT_IN_REPOSITORY" in blocked.devices[device].reason
    for name in needed:
        os.link(full / name, images / name)  # `reconciler images fetch`
    fetched = await run_cycle(ctx)
    waiting = {n for n, d in blocked.devices.items() if "IMAGE_NOT_IN_REPOSITORY" in d.reason}
    assert not fetched.reused_plan and device in fetched.eligible and set(fetched.eligible) <= waiting
    assert set(fetched.outcomes.values()) == {str(JobDeviceStatus.SUCCEEDED)}


async def test_unsigned_commit_is_refused_when_signatures_are_required(dlab: DaemonLab,
                                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    signers = tmp_path / "allowed_signers"
    signers.write_text("")
    ctx = dlab.context(verify_signatures=True, allowed_signers=signers)
    r = await run_cycle(ctx)
    assert not r.ok and "not signed" in r.refused and r.job_id is None
    assert r.devices  # drift is still reported
    assert ctx.store.last_sync("main") is None
    assert _metric(ctx, "reconciler_cycles_total", result="failed") == 1


def test_durations_shards_and_backoff() -> None:
    assert parse_duration("30s") == 30 and parse_duration("5m") == 300
    assert parse_duration("1h") == 3600 and parse_duration("2") == 2
    assert parse_shard("1/3") == (1, 3)
    import pytest

    from reconciler.errors import ConfigError

    for bad in ("3/3", "x", "1/0"):
        with pytest.raises(ConfigError):
            parse_shard(bad)
    with pytest.raises(ConfigError):
        parse_duration("soon")
