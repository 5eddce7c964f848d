"""Device leases: acquire, renew, release, expiry and takeover, heartbeats."""

from __future__ import annotations

import time

import pytest

from reconciler.errors import PermanentError
from reconciler.store import new_owner_id


def _wait_expired(store, device, timeout=20.0):
    deadline = time.monotonic() + timeout
    while store.lease(device) is not None:
        assert time.monotonic() < deadline, f"lease on {device} never expired"
        time.sleep(0.05)


def test_acquire_is_exclusive_and_reentrant(store):
    a, b = new_owner_id(), new_owner_id()
    first = store.acquire("fw1", a, ttl=30, job_id=7)
    assert first is not None and first.owner == a and first.job_id == 7
    assert first.generation == 1
    assert (first.expires_at - first.acquired_at).total_seconds() == pytest.approx(30, abs=0.01)
    assert store.acquire("fw1", b, ttl=30) is None
    again = store.acquire("fw1", a, ttl=60)  # re-acquiring your own lease renews it
    assert again.generation == 1 and again.acquired_at == first.acquired_at
    assert again.expires_at > first.expires_at and again.job_id == 7
    assert store.lease("fw1").owner == a


def test_release_frees_the_device_only_for_its_owner(store):
    a, b = new_owner_id(), new_owner_id()
    store.acquire("fw1", a, ttl=30)
    assert store.release("fw1", b) is False
    assert store.lease("fw1").owner == a
    assert store.release("fw1", a) is True
    assert store.lease("fw1") is None
    assert store.acquire("fw1", b, ttl=30).generation == 1  # a fresh row


def test_expired_lease_is_taken_over_and_the_old_owner_learns_it(store):
    a, b = new_owner_id(), new_owner_id()
    assert store.acquire("fw-x", a, ttl=0.3) is not None
    assert store.acquire("fw-x", b, ttl=30) is None
    _wait_expired(store, "fw-x")
    taken = store.acquire("fw-x", b, ttl=30)
    assert taken is not None and taken.owner == b and taken.generation == 2
    assert store.renew("fw-x", a, ttl=30) is None
    assert store.heartbeat(a, ttl=30).leases == ()
    assert store.release("fw-x", a) is False
    assert store.lease("fw-x").owner == b


def test_renew_extends_and_keeps_others_out(store):
    a, b = new_owner_id(), new_owner_id()
    first = store.acquire("fw1", a, ttl=0.5)
    renewed = store.renew("fw1", a, ttl=30)
    assert renewed is not None and renewed.expires_at > first.expires_at
    assert renewed.generation == first.generation
    time.sleep(0.6)  # past the original expiry
    assert store.acquire("fw1", b, ttl=30) is None


def test_acquire_many_takes_the_free_ones(store):
    a, b = new_owner_id(), new_owner_id()
    store.acquire("fw2", b, ttl=30)
    won = store.acquire_many(["fw3", "fw1", "fw2", "fw1"], a, ttl=30, job_id=1)
    assert sorted(won) == ["fw1", "fw3"]
    assert [x.device for x in store.leases(owner=a)] == ["fw1", "fw3"]
    assert [x.device for x in store.leases()] == ["fw1", "fw2", "fw3"]


def test_heartbeat_renews_every_lease_of_the_owner(store):
    a, b = new_owner_id(), new_owner_id()
    store.acquire_many(["fw1", "fw2"], a, ttl=0.5)
    store.acquire("fw3", b, ttl=30)
    beat = store.heartbeat(a, ttl=30)
    assert [x.device for x in beat.leases] == ["fw1", "fw2"]
    assert all((x.expires_at - store.now()).total_seconds() > 20 for x in beat.leases)
    time.sleep(0.6)
    assert store.acquire("fw1", b, ttl=30) is None


def test_expire_leases_removes_dead_ones_and_names_their_owners(store):
    dead, alive = "gone.example:4242:abc", new_owner_id()
    store.acquire("fw1", dead, ttl=0.2)
    store.acquire("fw2", alive, ttl=30)
    _wait_expired(store, "fw1")
    expired = store.expire_leases()
    assert [(x.device, x.owner) for x in expired] == [("fw1", dead)]
    assert [x.device for x in store.leases()] == ["fw2"]
    assert store.expire_leases() == []


def test_release_all(store):
    a = new_owner_id()
    store.acquire_many(["fw1", "fw2"], a, ttl=30)
    assert store.release_all(a) == ["fw1", "fw2"]
    assert store.leases() == []


@pytest.mark.parametrize("ttl", [0, -1])
def test_ttl_must_be_positive(store, ttl):
    with pytest.raises(PermanentError, match="positive"):
        store.acquire("fw1", new_owner_id(), ttl=ttl)


def test_store_clock_is_utc_aware(store):
    now = store.now()
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0
