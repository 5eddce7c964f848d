"""Saved plans: written atomically, read back schema- and integrity-checked, staleness explained."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "core" / "plan"))

from builders import all_present, desired, pair_yaml, resolved, snapshot  # noqa: E402

from reconciler.contract import ExitCode  # noqa: E402
from reconciler.core.plan import plan_fleet  # noqa: E402
from reconciler.core.plan.fingerprint import check_fresh, saved_plan, staleness  # noqa: E402
from reconciler.errors import ConfigError, StalePlanError  # noqa: E402
from reconciler.loader.plan import load_plan, save_plan  # noqa: E402

FLEET = 'taken_at: "2024-05-01T00:00:00Z"\ndevices:' + pair_yaml("fw1", "9.3(3)") + "\n"


@pytest.fixture
def saved(tmp_path: Path):  # type: ignore[no-untyped-def]
    snap = snapshot(FLEET)
    plan = plan_fleet(desired("fw1"), {"fw1": resolved("fw1", {"asa": "asa941-smp-k8.bin"})},
                      snap, all_present())
    s = saved_plan(plan, snap.devices)
    save_plan(s, tmp_path / "plan.json")
    return s, tmp_path / "plan.json"


def test_round_trip(saved) -> None:  # type: ignore[no-untyped-def]
    s, path = saved
    assert load_plan(path) == s
    assert not list(path.parent.glob(".plan.json.*"))  # no temp file left behind


def test_a_plan_still_fresh_passes_and_a_changed_standby_is_named(saved) -> None:  # type: ignore[no-untyped-def]
    s, _ = saved
    d = desired("fw1")
    check_fresh(s, d.commit, d.content_digest, snapshot(FLEET).devices)
    later = snapshot(FLEET.replace("standby_ready: true", "standby_ready: false"))
    with pytest.raises(StalePlanError) as e:
        check_fresh(s, d.commit, d.content_digest, later.devices)
    assert "fw1: changed since the plan was made (members[1].standby_ready)" in str(e.value)
    assert e.value.code == "STALE_PLAN" and ExitCode.STALE_PLAN == 3


def test_desired_changes_and_vanished_devices_make_it_stale(saved) -> None:  # type: ignore[no-untyped-def]
    s, _ = saved
    reasons = staleness(s.plan, "c0ffee", "e" * 64, {}, s.observed)
    assert reasons == ["the desired state changed since the plan was made",
                       "fw1: not in the new discovery"]
    forged = replace(s.plan, fingerprint="sha256:" + "0" * 64)
    assert "edited after it was saved" in staleness(forged, "c0ffee", "d" * 64,
                                                    snapshot(FLEET).devices)[0]


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["devices"][0]["steps"][0].update(action="explode"), "is not one of"),
    (lambda d: d["observed"]["fw1"]["members"][1].update(standby_ready=False),
     "does not match its digest"),
    (lambda d: d.update(format_version=7), "format_version"),
])
def test_hand_edited_plans_are_refused_with_the_file_named(saved, edit, message) -> None:  # type: ignore[no-untyped-def]
    _, path = saved
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as e:
        load_plan(path)
    assert message in str(e.value) and str(path) in str(e.value)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_plan(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"format_version": 1,\n  oops')
    with pytest.raises(ConfigError) as e:
        load_plan(tmp_path / "bad.json")
    assert e.value.location is not None and e.value.location.line == 2


def test_a_stream_is_read_no_further_than_the_limit() -> None:
    # regression: /dev/zero has size 0 to stat(), and was read until memory ran out
    with pytest.raises(ConfigError) as e:
        load_plan("/dev/zero", max_bytes=4096)
    assert e.value.code == "YAML_LIMIT" and "larger than the 4096-byte limit" in str(e.value)


def test_a_damaged_observed_device_is_a_schema_error(saved) -> None:  # type: ignore[no-untyped-def]
    # regression (found by fuzzing): an observed device without its keys raised KeyError
    _, path = saved
    doc = json.loads(path.read_text())
    doc["observed"]["fw1"] = {}
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as e:
        load_plan(path)
    assert e.value.code == "SCHEMA" and "observed.fw1: missing required key 'name'" in str(e.value)
