"""A cluster lists only the units in it now: known units missing from an observation are added
as unreachable, and what is known grows with every unit seen (reconciler.core.membership)."""

from __future__ import annotations

from reconciler.core.membership import (complete, missing_units, units_in_dict,
                                        with_missing_units)
from reconciler.core.model import Mode, Role
from reconciler.core.observed import Member, ObservedDevice, Snapshot, device_to_dict


def cluster(*units: str) -> ObservedDevice:
    members = tuple(Member(u, Role.CONTROL if i == 0 else Role.DATA, running={})
                    for i, u in enumerate(units))
    return ObservedDevice("fw-dc", "ASA5585-SSP-40", "asa5585", Mode.CLUSTER, members=members)


def test_a_known_unit_missing_from_the_listing_is_added_as_unreachable() -> None:
    seen = cluster("unit-2", "unit-3")
    assert missing_units(seen, ["unit-1", "unit-2", "unit-3"]) == ("unit-1",)
    done = with_missing_units(seen, ["unit-1", "unit-2", "unit-3"])
    ghost = done.member("unit-1")
    assert ghost is not None and not ghost.reachable and ghost.role is Role.DATA
    assert not ghost.running and not ghost.disks  # what it runs is unknown, not "nothing"
    assert with_missing_units(seen, ["unit-2"]) is seen


def test_other_modes_are_left_alone() -> None:
    pair = ObservedDevice("fw-pair", "ASA5555-X", "asa5500x", Mode.ACTIVE_STANDBY,
                          members=(Member("primary", Role.ACTIVE),))
    assert with_missing_units(pair, ["secondary"]) is pair
    assert units_in_dict(device_to_dict(pair)) == ()


def test_what_is_known_grows_and_a_device_no_longer_a_cluster_is_forgotten() -> None:
    standalone = ObservedDevice("fw-1", "ASA5525-X", "asa5500x", Mode.STANDALONE,
                                members=(Member("fw-1", Role.STANDALONE),))
    snap = Snapshot({"fw-dc": cluster("unit-1", "unit-3", "unit-4"), "fw-1": standalone})
    known = {"fw-dc": ("unit-1", "unit-2", "unit-3"), "fw-1": ("a", "b"),
             "fw-gone": ("x",)}  # not discovered this time: kept
    done, remember = complete(snap, known)
    assert [m.name for m in done.devices["fw-dc"].members] == ["unit-1", "unit-3", "unit-4",
                                                              "unit-2"]
    assert remember == {"fw-dc": ("unit-1", "unit-2", "unit-3", "unit-4"), "fw-1": ()}
    again, nothing = complete(Snapshot({"fw-dc": cluster("unit-1", "unit-2")}),
                              {"fw-dc": ("unit-1", "unit-2")})
    assert nothing == {} and again.devices["fw-dc"].members == cluster("unit-1", "unit-2").members


def test_the_units_of_a_saved_plans_observed_cluster() -> None:
    assert units_in_dict(device_to_dict(cluster("unit-2", "unit-1"))) == ("unit-1", "unit-2")
    assert units_in_dict(None) == () and units_in_dict({"mode": "cluster"}) == ()
