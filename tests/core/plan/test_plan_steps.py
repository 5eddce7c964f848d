"""Invariants of the step sequences over many generated pairs and clusters (the scenario tests
pin exact sequences; these check the rules hold for any size, order and release path)."""

from __future__ import annotations

from builders import all_present, desired, resolved
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.contract import StepAction as A
from reconciler.core.observed import snapshot_from_dict
from reconciler.core.plan import plan_fleet

TARGETS = {"9.3(3)": "asa933-smp-k8.bin", "9.4(1)": "asa941-smp-k8.bin"}
DISK = [{"name": "disk0", "size": 1 << 33, "free": 1 << 30}]


def _unit(name: str, role: str, version: str, **kw: object) -> dict:
    return {"name": name, "role": role, "ram_mb": 16384, "running": {"asa": version},
            "disks": DISK, "standby_ready": True if role == "standby" else None, **kw}


def _plan(mode: str, members: list[dict], version: str, target: str, **settings_: object):
    snap = snapshot_from_dict({"devices": [{
        "name": "dev", "model": "ASA5585-SSP-40", "platform": "asa5585", "mode": mode,
        "running": {"asa": version}, "members": members}]})
    r = {"dev": resolved("dev", {"asa": TARGETS[target]}, **settings_)}
    plan = plan_fleet(desired("dev"), r, snap, all_present())
    (d,) = plan.devices
    assert not d.blocked, [f.line() for f in d.findings]
    return d


def _check_common(d, units: set[str], final: str) -> None:  # type: ignore[no-untyped-def]
    steps = d.steps
    assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
    first_boot = next(i for i, s in enumerate(steps) if s.action is A.SET_BOOT)
    assert all(s.action in (A.COPY, A.VERIFY_COPY) for s in steps[:first_boot])
    assert {s.member for s in steps[:first_boot] if s.action is A.VERIFY_COPY} == units
    # after each reload: that unit is waited for and checked before anything else is reloaded
    for i, s in enumerate(steps):
        if s.action is A.RELOAD:
            nxt = steps[i + 1:i + 3]
            assert [(x.action, x.member) for x in nxt][0] == (A.WAIT_READY, s.member)
            rest = steps[i + 1:]
            upto = next((j for j, x in enumerate(rest) if x.action is A.RELOAD), len(rest))
            assert any(x.action is A.CHECK_VERSION and x.member == s.member
                       for x in rest[:upto]), (s, rest[:upto])
    last_checks = {s.member: s.version for s in steps if s.action is A.CHECK_VERSION}
    assert last_checks == {u: final for u in units}


@settings(max_examples=60, deadline=None)
@given(data=st.integers(min_value=1, max_value=7), start=st.sampled_from(["9.1(6)", "9.2(3)",
       "9.3(3)"]), target=st.sampled_from(["9.3(3)", "9.4(1)"]), ids=st.randoms())
def test_cluster_reloads_one_unit_at_a_time_and_the_control_unit_last(data, start, target, ids):
    if start >= target:
        return
    unit_ids = list(range(1, data + 2))
    ids.shuffle(unit_ids)
    members = [_unit(f"u{uid}", "control" if k == 0 else "data", start, unit_id=uid)
               for k, uid in enumerate(unit_ids)]
    d = _plan("cluster", members, start, target)
    units = {m["name"] for m in members}
    _check_common(d, units, target)
    control = members[0]["name"]
    reloads_in_pass: list[str] = []
    for s in d.steps:
        if s.action is A.RELOAD:
            assert s.member != control, "the control unit is reloaded only after the hand-off"
            assert s.via == control
            reloads_in_pass.append(s.member)
        if s.action is A.HANDOFF_CONTROL:
            assert s.via == control and s.member in reloads_in_pass
            old, control = control, s.member
            reloads_in_pass = []
            # the old control unit is the next one reloaded, through the new control unit
            nxt = next(x for x in d.steps[s.seq:] if x.action is A.RELOAD)
            assert (nxt.member, nxt.via) == (old, control)
    passes = sum(1 for s in d.steps if s.action is A.HANDOFF_CONTROL)
    assert passes == len(d.changes[0].hops) + 1


@settings(max_examples=30, deadline=None)
@given(start=st.sampled_from(["9.1(6)", "9.2(3)", "9.3(3)"]),
       target=st.sampled_from(["9.3(3)", "9.4(1)"]), timeout=st.integers(60, 3600))
def test_pair_reloads_the_standby_first_and_switches_before_the_active(start, target, timeout):
    if start >= target:
        return
    members = [_unit("a", "active", start), _unit("b", "standby", start)]
    d = _plan("active-standby", members, start, target, reload_timeout=timeout)
    _check_common(d, {"a", "b"}, target)
    active = "a"
    for i, s in enumerate(d.steps):
        if s.action is A.RELOAD:
            assert s.member != active and s.via == active, "only the standby is ever reloaded"
        if s.action is A.WAIT_READY:
            assert s.timeout == timeout and str(s.wait_for) == "standby-ready"
        if s.action is A.SWITCH_ACTIVE:
            prev = [x for x in d.steps[:i] if x.action is A.CHECK_VERSION]
            assert prev and prev[-1].member == s.member, "checked before it takes over"
            active = s.member


HOPS = ["9.1(6)", "9.2(3)", "9.3(3)", "9.4(1)"]


@settings(max_examples=40, deadline=None)
@given(cluster=st.booleans(), size=st.integers(min_value=1, max_value=5),
       start=st.sampled_from(HOPS[:2]), ahead=st.sets(st.integers(0, 5)))
def test_a_unit_an_interrupted_job_took_through_a_hop_is_not_reloaded_into_it_again(
        cluster, size, start, ahead):
    """Killed half-way through an HA hop: the units that already run that hop's release are
    checked, not reloaded again; every unit is reloaded once per release it still needs (the
    crash loop's no-double-reload rule; it failed for hops before)."""
    step = HOPS[HOPS.index(start) + 1]
    if cluster:
        names = [f"u{i}" for i in range(size + 1)]
        roles = ["control", *["data"] * size]
    else:
        names, roles = ["a", "b"], ["active", "standby"]
    moved = {n for i, n in enumerate(names) if i in ahead}
    if len(moved) == len(names):
        return  # every unit through the hop: the plan starts from the next one
    members = [_unit(n, r, step if n in moved else start,
                     **({"unit_id": i + 1} if cluster else {}))
               for i, (n, r) in enumerate(zip(names, roles, strict=True))]
    d = _plan("cluster" if cluster else "active-standby", members, start, "9.4(1)")
    reloads = {n: sum(1 for s in d.steps if s.action is A.RELOAD and s.member == n)
               for n in names}
    need = {n: len(HOPS) - 1 - HOPS.index(step if n in moved else start) for n in names}
    assert reloads == need, [(s.action, s.member, s.version) for s in d.steps]
    _check_common(d, set(names), "9.4(1)")


def test_a_plan_keeps_no_image_of_an_earlier_plan() -> None:
    """A daemon plans a freshly read catalog every cycle: the step template cache must not
    keep the images of earlier plans alive."""
    from dataclasses import replace

    from builders import CATALOG

    from reconciler.core.model import ImageType, ResolvedDevice, Settings, Target
    from reconciler.core.plan import steps

    def plan_with(img):  # type: ignore[no-untyped-def]
        snap = snapshot_from_dict({"devices": [{
            "name": "dev", "model": "ASA5585-SSP-40", "platform": "asa5585",
            "mode": "standalone", "running": {"asa": "9.3(3)"},
            "members": [_unit("unit-1", "standalone", "9.3(3)")]}]})
        r = {"dev": ResolvedDevice("dev", {ImageType.ASA: Target(ImageType.ASA, img, "test")},
                                   Settings())}
        plan = plan_fleet(desired("dev", images={**CATALOG, img.name: img}), r, snap,
                          all_present())
        assert plan.devices[0].steps

    first = replace(CATALOG[TARGETS["9.4(1)"]])  # an equal image, but another object
    plan_with(first)
    assert any(img is first for img, _ in steps._FILE_TEMPLATES.values())
    plan_with(replace(first))
    assert not any(img is first for img, _ in steps._FILE_TEMPLATES.values())
