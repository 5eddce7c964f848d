"""Device states with history, attempt counters, metadata and the overview."""

from __future__ import annotations

import pytest

from reconciler.core.model import DeviceState
from reconciler.secrets import register_secret
from reconciler.store import JobDeviceSpec, new_owner_id
from reconciler.store.errors import ConflictError, IllegalTransitionError

OP, UP = DeviceState.OPERATIONAL, DeviceState.UPGRADE_IN_PROGRESS
MAINT, CONF = DeviceState.MAINTENANCE, DeviceState.CONFIGURATION_REQUIRED


def test_unrecorded_devices_are_operational(store):
    rec = store.get_device_state("fw1")
    assert rec.state is OP and rec.updated_at is None
    assert store.device_states() == {}
    assert {d: r.state for d, r in store.device_states(["fw2", "fw1"]).items()} == {
        "fw1": OP, "fw2": OP}


def test_upgrade_life_cycle_is_recorded(store):
    job = store.create_job([JobDeviceSpec("fw1")], created_by="ops")
    store.set_device_state("fw1", UP, actor="runner", job_id=job.id, reason="job started")
    store.set_device_state("fw1", CONF, actor="runner", job_id=job.id,
                           reason="8.2 -> 8.3 changes NAT; review the configuration")
    rec = store.get_device_state("fw1")
    assert (rec.state, rec.job_id, rec.actor) == (CONF, job.id, "runner")
    assert "NAT" in rec.reason
    with pytest.raises(IllegalTransitionError, match="mark-operational fw1"):
        store.set_device_state("fw1", UP, actor="runner")  # later plans must leave it alone
    store.set_device_state("fw1", OP, actor="alice", reason="NAT reviewed")
    changes = [(c.from_state, c.to_state, c.actor) for c in store.device_state_history("fw1")]
    assert changes == [(OP, UP, "runner"), (UP, CONF, "runner"), (CONF, OP, "alice")]
    assert [c.to_state for c in store.device_state_history(job_id=job.id)] == [UP, CONF]
    assert [c.to_state for c in store.device_state_history("fw1", limit=1)] == [OP]


def test_setting_the_same_state_records_nothing(store):
    store.set_device_state("fw1", MAINT, actor="alice", reason="RMA")
    again = store.set_device_state("fw1", MAINT, actor="bob", reason="other")
    assert again.actor == "alice" and again.reason == "RMA"
    assert len(store.device_state_history("fw1")) == 1
    assert store.set_device_state("fw9", OP, actor="x").updated_at is None


def test_compare_and_set(store):
    store.set_device_state("fw1", UP, actor="a", expected=OP)
    with pytest.raises(ConflictError, match="fw1 is upgrade-in-progress, not operational"):
        store.set_device_state("fw1", UP, actor="b", expected=OP)


def test_reasons_are_redacted(store):
    secret = "St4te-S3cret-pw"
    register_secret(secret)
    store.set_device_state("fw1", MAINT, actor="x", reason=f"login {secret} failed")
    assert store.get_device_state("fw1").reason == "login *** failed"
    assert store.device_state_history("fw1")[0].reason == "login *** failed"


def test_attempt_counters(store):
    assert store.get_attempts("fw1") is None
    first = store.record_attempt("fw1", "asa=asa9181.bin", job_id=1)
    second = store.record_attempt("fw1", "asa=asa9181.bin", job_id=2)
    assert (first.count, second.count) == (1, 2)
    assert second.first_at == first.first_at and second.last_job_id == 2
    moved = store.record_attempt("fw1", "asa=asa9191.bin", job_id=3)
    assert moved.count == 1 and moved.first_at >= second.last_at
    store.record_attempt("fw0", "agent=4.10.1")
    assert [c.device for c in store.attempt_counters()] == ["fw0", "fw1"]
    assert store.reset_attempts("fw1") is True and store.reset_attempts("fw1") is False
    assert store.get_attempts("fw1") is None


def test_metadata_and_sync_records(store):
    assert store.get_meta("missing", default=5) == 5
    store.set_meta("daemon.shard", {"index": 1, "of": 4})
    store.set_meta("daemon.shard", {"index": 2, "of": 4})
    assert store.get_meta("daemon.shard") == {"index": 2, "of": 4}
    assert store.last_sync("main") is None
    store.record_sync("1111aaaa", branch="main")
    rec = store.record_sync("2222bbbb", branch="main")
    store.record_sync("3333cccc", branch="release")
    assert store.last_sync("main") == rec and rec.commit == "2222bbbb"
    assert [(s.branch, s.commit) for s in store.last_syncs()] == [
        ("main", "2222bbbb"), ("release", "3333cccc")]


def test_cluster_units_are_remembered_until_forgotten(store):
    assert store.cluster_units() == {}
    store.remember_cluster_units("fw-dc", ["unit-2", "unit-1", "unit-2"])
    store.remember_cluster_units("fw-lab", ["a", "b"])
    store.set_meta("daemon.shard", {"index": 1, "of": 4})  # other metadata is not a cluster
    assert store.cluster_units() == {"fw-dc": ("unit-1", "unit-2"), "fw-lab": ("a", "b")}
    assert store.cluster_units(["fw-dc", "fw-other"]) == {"fw-dc": ("unit-1", "unit-2")}
    assert store.forget_cluster_unit("fw-dc", "unit-9") is None
    assert store.forget_cluster_unit("fw-dc", "unit-1") == ("unit-2",)
    assert store.forget_cluster_unit("fw-dc", "unit-2") == ()
    store.remember_cluster_units("fw-lab", [])  # no longer a cluster
    assert store.cluster_units() == {}


def test_info_overview(store):
    job = store.create_job([JobDeviceSpec("fw1"), JobDeviceSpec("fw2")], created_by="ops")
    store.discard_job(job.id, actor="ops")
    store.create_job([JobDeviceSpec("fw1")], created_by="ops")
    store.acquire("fw1", new_owner_id(), ttl=30)
    store.set_device_state("fw2", MAINT, actor="ops")
    store.record_sync("abc", branch="main")
    info = store.info()
    assert info.backend == store.backend and info.schema_version == info.latest_version
    assert dict(info.jobs_by_status) == {"created": 1, "discarded": 1}
    assert info.active_leases == 1
    assert dict(info.devices_not_operational) == {"fw2": "maintenance"}
    assert [s.commit for s in info.last_syncs] == ["abc"]
