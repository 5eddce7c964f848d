import json
from dataclasses import replace

import pytest
from builders import all_present, desired, pair_yaml, resolved, snapshot

from reconciler.core.plan import Plan, plan_fleet
from reconciler.core.plan.fingerprint import observed_digest

FLEET = """
taken_at: "2024-05-01T00:00:00Z"
devices:""" + pair_yaml("fw1", "9.2(3)") + """
  - name: fw2
    model: ASA5585-SSP-20
    platform: asa5585
    mode: standalone
    running: {asa: "9.4(1)"}
    members: [{name: fw2, role: standalone, running: {asa: "9.4(1)"}}]
"""


def make(snap_text: str = FLEET, digest: str = "d" * 64) -> Plan:
    r = {n: resolved(n, {"asa": "asa941-smp-k8.bin", "asdm": "asdm-741.bin"})
         for n in ("fw1", "fw2")}
    r["fw2"] = resolved("fw2", {"asa": "asa941-smp-k8.bin"})
    return plan_fleet(replace(desired("fw1", "fw2"), content_digest=digest), r,
                      snapshot(snap_text), all_present())


def test_the_dict_form_round_trips_losslessly():
    plan = make()
    doc = json.loads(json.dumps(plan.to_dict()))
    again = Plan.from_dict(doc)
    assert again == plan and again.to_dict() == doc
    assert list(doc) == ["format_version", "fingerprint", "source", "taken_at", "devices",
                         "summary"]


def test_in_sync_devices_are_counted_not_listed():
    plan = make()
    assert [d.device for d in plan.devices] == ["fw1"]
    assert plan.summary.devices == 2 and plan.summary.in_sync == 1


def test_fingerprint_follows_the_desired_content_and_the_planned_devices_only():
    base = make()
    assert make().fingerprint == base.fingerprint  # deterministic
    assert make(digest="e" * 64).fingerprint != base.fingerprint
    changed = FLEET.replace("free: 100000000}]}\n      - {name: b", "free: 99}]}\n      - {name: b")
    assert make(changed).fingerprint != base.fingerprint
    in_sync_changed = FLEET.replace('members: [{name: fw2, role: standalone,',
                                    'members: [{name: fw2, role: standalone, ram_mb: 1,')
    assert make(in_sync_changed).fingerprint == base.fingerprint
    # a blocked device has no steps: its state is not part of what apply would do
    blocked = FLEET.replace('running: {asa: "9.4(1)"}\n    members: [{name: fw2, role: standalone, '
                            'running: {asa: "9.4(1)"}}]',
                            'running: {asa: "9.3(3)"}\n    pending_config_changes: true\n'
                            '    members: [{name: fw2, role: standalone, running: {asa: "9.3(3)"}}]')
    blocked_later = blocked.replace("pending_config_changes: true", "pending_config_changes: true"
                                    "\n    config_register: '0x2102'")
    assert make(blocked).device("fw2").blocked
    assert make(blocked).fingerprint == make(blocked_later).fingerprint == base.fingerprint
    assert base.devices[0].observed_digest == observed_digest(snapshot(FLEET).devices["fw1"])


def test_a_saved_plan_from_another_format_or_edited_by_hand_is_refused():
    doc = make().to_dict()
    with pytest.raises(ValueError, match="format_version"):
        Plan.from_dict({**doc, "format_version": 99})
    doc["devices"][0]["blocked"] = True
    with pytest.raises(ValueError, match="blocked"):
        Plan.from_dict(doc)
