"""A cluster unit missing from `show cluster info` (reloading, crashed, cut off) is not a smaller
cluster: discovery through a session remembers every unit it has seen, and a known unit that is
not listed blocks the cluster's plan (STANDBY_UNREACHABLE) — never "in sync", never an upgrade
of the other units without it — until it rejoins or an operator forgets it."""

from __future__ import annotations

from reconciler.contract import FindingCode
from reconciler.core.model import DeviceState
from reconciler.store import open_store
from tests.executor.conftest import Lab

CLUSTER = "fw-dc-cluster"
UNITS = ("unit-1", "unit-2", "unit-3", "unit-4")


async def test_a_known_unit_missing_from_the_listing_blocks_the_cluster(lab: Lab) -> None:
    first = await lab.replan([CLUSTER])  # discovery sees the four units and remembers them
    assert {s.member for s in first.plan.device(CLUSTER).steps} >= set(UNITS)
    with open_store(lab.state) as store:
        assert store.cluster_units() == {CLUSTER: UNITS}

    lab.fleet.add_fault(CLUSTER, {"kind": "unreachable", "member": "unit-3"})
    blocked = (await lab.replan([CLUSTER])).plan.device(CLUSTER)
    # before: three units listed, so three were planned and unit-3 would have been left behind
    assert blocked.blocked and blocked.steps == ()
    (finding,) = [f for f in blocked.findings if f.code is FindingCode.STANDBY_UNREACHABLE]
    assert finding.member == "unit-3" and "does not list it" in finding.message
    assert f"reconciler device forget-unit {CLUSTER} unit-3" in finding.message


async def test_an_in_sync_cluster_with_a_unit_missing_is_not_reported_in_sync(lab: Lab) -> None:
    result, _ = await lab.apply([CLUSTER])
    assert result.ok
    with open_store(lab.state) as store:  # the VPN packages were configured by hand
        store.set_device_state(CLUSTER, DeviceState.OPERATIONAL, actor="ops", reason="VPN done")
    assert (await lab.replan([CLUSTER])).plan.device(CLUSTER) is None  # in sync

    lab.fleet.add_fault(CLUSTER, {"kind": "unreachable", "member": "unit-3"})
    plan = (await lab.replan([CLUSTER])).plan.device(CLUSTER)
    assert plan is not None and plan.blocked and not plan.changes, plan
    assert [(f.code, f.member) for f in plan.findings] == [
        (FindingCode.STANDBY_UNREACHABLE, "unit-3")]

    # it left the cluster for good: an operator says so, and the cluster is in sync again
    with open_store(lab.state) as store:
        assert store.forget_cluster_unit(CLUSTER, "unit-3") == ("unit-1", "unit-2", "unit-4")
    assert (await lab.replan([CLUSTER])).plan.device(CLUSTER) is None
