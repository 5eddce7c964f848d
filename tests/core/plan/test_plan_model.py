import json
from dataclasses import replace

import pytest
from builders import all_present, desired, pair_yaml, resolved, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.model import ContextMode, DeviceState, ImageType, Mode, Role
from reconciler.core.observed import Disk, FileEntry, Member, ObservedDevice, device_to_dict
from reconciler.core.plan import Plan, plan_fleet
from reconciler.core.plan.fingerprint import ObservedHasher, canonical_json, observed_digest
from tests.conftest import FIXTURES

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


# ------------------------------------------------------------------ the fleet-scale digest

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_opt_int = st.one_of(st.none(), st.integers(-3, 10**12))
_images = st.dictionaries(st.sampled_from(list(ImageType)), _text, max_size=3)
_disk = st.builds(Disk, _text, st.integers(0, 10**12), st.integers(0, 10**12),
                  st.lists(st.builds(FileEntry, _text, st.integers(0, 10**9)), max_size=3).map(tuple))
_member = st.builds(
    Member, _text, st.sampled_from(list(Role)), serial=_text, reachable=st.booleans(),
    standby_ready=st.one_of(st.none(), st.booleans()), ram_mb=_opt_int, running=_images,
    running_files=_images, disks=st.lists(_disk, max_size=2).map(tuple),
    boot=st.lists(_text, max_size=3).map(tuple), asdm_image=st.one_of(st.none(), _text),
    unit_id=_opt_int, ccl_ip=st.one_of(st.none(), _text), ccl_mac=st.one_of(st.none(), _text),
    site_id=_opt_int, failover_groups_active=st.lists(st.integers(1, 2), max_size=2).map(tuple))
_device = st.builds(
    ObservedDevice, _text, _text, _text, st.sampled_from(list(Mode)),
    context_mode=st.sampled_from(list(ContextMode)), contexts=st.lists(_text, max_size=2).map(tuple),
    state=st.sampled_from(list(DeviceState)), pending_config_changes=st.booleans(),
    config_register=_text, running=_images, members=st.lists(_member, max_size=3).map(tuple),
    driver=st.sampled_from(["asa", "agent"]), appliance_mode=st.one_of(st.none(), st.booleans()),
    context=st.one_of(st.none(), _text))


@settings(max_examples=300, deadline=None)
@given(devices=st.lists(_device, min_size=1, max_size=4))
def test_the_fleet_hasher_writes_exactly_the_canonical_json(devices):
    hasher = ObservedHasher()  # one per plan: shared parts are encoded once and reused
    for dev in devices + devices:
        assert hasher.encode(dev).encode() == canonical_json(device_to_dict(dev))
        assert hasher.digest(dev) == observed_digest(dev)


def test_the_fleet_hasher_agrees_on_every_fixture_snapshot():
    hasher = ObservedHasher()
    paths = sorted(FIXTURES.glob("plan/**/*snapshot*.yaml"))
    assert paths
    for path in paths:
        for dev in snapshot(path.read_text()).devices.values():
            assert hasher.digest(dev) == observed_digest(dev), (path, dev.name)
