"""Opening stores from paths and URLs, and clean errors for bad ones."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from reconciler.store import connect_store, open_store
from reconciler.store.errors import StoreConfigError, StoreUnavailableError


@pytest.mark.parametrize("form", ["{p}", "sqlite:///{p}"])
def test_sqlite_forms_open_the_same_file(tmp_path, form):
    path = tmp_path / "sub" / "state.db"
    with open_store(form.format(p=path)) as store:
        assert store.backend == "sqlite" and store.url == str(path)
        store.set_meta("k", 1)
    assert path.exists()
    with open_store(path) as store:
        assert store.get_meta("k") == 1


def test_sqlite_pragmas(tmp_path):
    with open_store(tmp_path / "s.db") as store, store._engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 10000


def test_default_location_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("RECONCILER_HOME", raising=False)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    with open_store(root=tmp_path) as store:
        assert store.url == str(tmp_path / ".reconciler" / "state.db")
    monkeypatch.setenv("RECONCILER_STATE", str(tmp_path / "env.db"))
    with open_store(root=tmp_path) as store:
        assert store.url == str(tmp_path / "env.db")


@pytest.mark.parametrize("target, message", [
    ("sqlite://", "in-memory"),
    ("sqlite:///:memory:", "in-memory"),
    ("mysql://db/x", "unsupported state store 'mysql'"),
    ("postgresql+psycopg2://h/db", "unsupported"),
    ("   ", "empty"),
    ("postgresql://host:notaport/db", "cannot parse"),
])
def test_bad_locations(target, message):
    with pytest.raises(StoreConfigError, match=message):
        connect_store(target)


def test_directory_is_refused(tmp_path):
    with pytest.raises(StoreConfigError, match="is a directory"):
        connect_store(tmp_path)


def test_unwritable_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreConfigError, match="cannot create the directory"):
        connect_store(blocker / "sub" / "state.db")


def test_unreachable_server_is_one_clean_line_without_the_password():
    with pytest.raises(StoreUnavailableError) as info:
        connect_store("postgresql://bob:Unre4chable-pw@127.0.0.1:1/nowhere?connect_timeout=2")
    msg = str(info.value)
    assert "\n" not in msg and "Unre4chable-pw" not in msg
    assert "127.0.0.1" in msg and "bob:***@" in msg and "check that the server runs" in msg


def test_postgres_url_forms(pg_url):
    for form in (pg_url, pg_url.replace("postgresql://", "postgres://"),
                 pg_url.replace("postgresql://", "postgresql+psycopg://")):
        with connect_store(form) as store:
            assert store.backend == "postgresql"
            assert store.url.startswith("postgresql://")
