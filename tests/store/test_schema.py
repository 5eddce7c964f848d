"""Migrations: idempotent, upgrade an older schema, serialised between migrators."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, inspect

from reconciler.store import JobDeviceSpec, connect_store, open_store
from reconciler.store import schema as t
from reconciler.store.errors import SchemaVersionError


def _tables(store):
    with store._engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_migrate_twice_is_a_no_op(state_url):
    with connect_store(state_url) as store:
        assert store.schema_version() == 0
        first = store.migrate()
        assert (first.from_version, first.to_version) == (0, t.LATEST_VERSION)
        assert len(first.applied) == len(t.STEPS)
        second = store.migrate()
        assert second.applied == () and second.to_version == t.LATEST_VERSION
        assert {tb.name for tb in t.metadata.sorted_tables} <= _tables(store)


def test_steps_are_idempotent_even_when_the_version_record_is_lost(state_url):
    with connect_store(state_url) as store:
        store.migrate()
        store.create_job([JobDeviceSpec("fw1")], created_by="ops", name="keep")
        with store._engine.begin() as conn:
            conn.execute(delete(t.schema_version))
        again = store.migrate()  # every step runs again over existing tables
        assert again.from_version == 0 and len(again.applied) == len(t.STEPS)
        assert store.get_job("keep").name == "keep"


def test_an_older_schema_is_upgraded_and_keeps_its_data(state_url):
    with connect_store(state_url) as store:
        assert store.migrate(target=1).to_version == 1
        assert "device_attempts" not in _tables(store)
        store.create_job([JobDeviceSpec("fw1")], created_by="ops", name="from-v1")
    with pytest.raises(SchemaVersionError, match="schema version 1.*state migrate"):
        open_store(state_url, migrate=False)
    with connect_store(state_url) as store:
        result = store.migrate()
        assert (result.from_version, result.to_version) == (1, t.LATEST_VERSION)
        assert [s.split(":")[0] for s in result.applied] == ["2"]
        assert store.get_job("from-v1").summary.to_deploy == 1
        store.record_attempt("fw1", "x")


def test_a_newer_schema_is_refused(state_url):
    with connect_store(state_url) as store:
        store.migrate()
        with store._engine.begin() as conn:
            conn.execute(t.schema_version.insert().values(
                version=t.LATEST_VERSION + 1, name="future", applied_at=store.now()))
    with pytest.raises(SchemaVersionError, match="newer than this reconciler"):
        open_store(state_url)


def test_concurrent_migrators_apply_each_step_once(state_url):
    results, errors = [], []
    barrier = threading.Barrier(4)

    def run():
        try:
            with connect_store(state_url) as store:
                barrier.wait()
                results.append(store.migrate())
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert sum(len(r.applied) for r in results) == len(t.STEPS)
    assert {r.to_version for r in results} == {t.LATEST_VERSION}


def test_auto_migration_only_for_sqlite(state_url):
    if state_url.startswith("postgresql"):
        with pytest.raises(SchemaVersionError, match="is empty.*state migrate --state"):
            open_store(state_url)
    else:
        with open_store(state_url) as store:
            assert store.schema_version() == t.LATEST_VERSION


def test_unknown_target_version():
    with pytest.raises(ValueError, match="unknown"):
        t.migrate(None, target=t.LATEST_VERSION + 1)  # type: ignore[arg-type]
