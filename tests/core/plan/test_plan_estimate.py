"""Expected durations order a parallel job's devices longest first: more reloads (a pair, a
cluster, HA hops) and more bytes over the link cost more; ties keep the plan's order."""

from __future__ import annotations

from test_plan_steps import _plan, _unit

from reconciler.contract import StepAction as A
from reconciler.core.plan.estimate import NOMINAL_LINK, expected_seconds, longest_first, step_seconds
from reconciler.core.plan.model import DevicePlan, Step


def test_more_reloads_cost_more_standalone_pair_cluster_and_hops() -> None:
    standalone = _plan("standalone", [_unit("u", "standalone", "9.3(3)")], "9.3(3)", "9.4(1)")
    pair = _plan("active-standby", [_unit("a", "active", "9.3(3)"), _unit("b", "standby", "9.3(3)")],
                 "9.3(3)", "9.4(1)")
    hops = _plan("active-standby", [_unit("a", "active", "9.1(6)"), _unit("b", "standby", "9.1(6)")],
                 "9.1(6)", "9.4(1)")
    cluster = _plan("cluster", [_unit(f"u{i}", "control" if i == 1 else "data", "9.3(3)", unit_id=i)
                                for i in range(1, 5)], "9.3(3)", "9.4(1)")
    costs = [expected_seconds(d) for d in (standalone, pair, cluster)]
    assert costs == sorted(costs) and len(set(costs)) == 3
    assert expected_seconds(hops) > expected_seconds(pair)  # two hops: three passes of two reloads
    plans = {"standalone": standalone, "pair": pair, "hops": hops, "cluster": cluster}
    assert longest_first(["standalone", "pair", "cluster", "hops"], plans)[0] == "hops"
    assert longest_first(["standalone", "pair", "cluster", "hops"], plans)[-1] == "standalone"


def test_bytes_over_the_link_count_and_ties_keep_the_given_order() -> None:
    small = Step(1, A.COPY, "u", size=NOMINAL_LINK)
    big = Step(1, A.COPY, "u", size=100 * NOMINAL_LINK)
    assert step_seconds(big) - step_seconds(small) == 99.0
    plans = {n: DevicePlan(n, None, "asa", steps=(s,))
             for n, s in (("a", small), ("b", big), ("c", small), ("d", Step(1, A.SAVE_CONFIG, "u")))}
    assert longest_first(["d", "a", "c", "b"], plans) == ["b", "a", "c", "d"]
    assert longest_first(["c", "a", "unknown"], plans) == ["c", "a", "unknown"]  # unplanned: last
