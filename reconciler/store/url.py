"""Open a state store from what the user typed after `--state`.

- nothing: `$RECONCILER_STATE`, else `.reconciler/state.db` next to the desired-state repository;
- a path, or `sqlite:///relative.db` / `sqlite:////absolute.db`: a SQLite file, opened in WAL
  mode with a busy timeout and foreign keys on; every write transaction is `BEGIN IMMEDIATE`,
  so two processes never both read-then-write the same rows;
- `postgresql://user@host:5432/db` (also `postgres://`, `postgresql+psycopg://`): PostgreSQL
  through psycopg 3. libpq parameters in the query string pass through
  (e.g. `?sslmode=require`, `?options=-csearch_path%3Dreconciler`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, select
from sqlalchemy.engine import URL, make_url

from reconciler.paths import sqlite_path
from reconciler.secrets import redact, register_secret
from reconciler.store import schema
from reconciler.store.api import Store, translate_db_error
from reconciler.store.errors import SchemaVersionError, StoreConfigError

SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 5
_PG_DRIVERS = ("postgresql", "postgres", "postgresql+psycopg")


def open_store(target: str | os.PathLike[str] | None = None, *, migrate: bool | None = None,
               root: str | os.PathLike[str] = ".") -> Store:
    """Connect and make sure the schema is the one this reconciler speaks.

    `migrate=None` creates/upgrades a SQLite file on the spot (a local file has one user) but
    only checks a PostgreSQL schema: a shared database is upgraded on purpose, with
    `reconciler state migrate`.
    """
    store = connect_store(target, root=root)
    try:
        auto = store.backend == "sqlite" if migrate is None else migrate
        version = store.schema_version()
        if version > schema.LATEST_VERSION:
            raise SchemaVersionError(
                f"the state store {store.url} has schema version {version}, newer than this "
                f"reconciler knows ({schema.LATEST_VERSION})",
                hint="upgrade reconciler on this machine")
        if version < schema.LATEST_VERSION:
            if not auto:
                what = "is empty" if version == 0 else f"has schema version {version}"
                raise SchemaVersionError(
                    f"the state store {store.url} {what}; this reconciler needs "
                    f"version {schema.LATEST_VERSION}",
                    hint=f"run `reconciler state migrate --state {store.url}`")
            store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def connect_store(target: str | os.PathLike[str] | None = None, *,
                  root: str | os.PathLike[str] = ".") -> Store:
    """Connect without touching the schema (for `state migrate` and `state show`)."""
    engine, display = make_engine(target, root=root)
    try:
        with engine.connect() as conn:
            conn.execute(select(1))
    except exc.DBAPIError as e:
        engine.dispose()
        raise translate_db_error(e, display) from None
    return Store(engine, display)


def make_engine(target: str | os.PathLike[str] | None = None, *,
                root: str | os.PathLike[str] = ".") -> tuple[Engine, str]:
    """An engine for `target` and the URL to show to users (password hidden)."""
    if target is None:
        target = os.environ.get("RECONCILER_STATE") or sqlite_path(Path(root))
    text = os.fspath(target).strip()
    if not text:
        raise StoreConfigError("the state store location is empty",
                               hint="give a file path or a postgresql:// URL")
    if "://" not in text:
        return _sqlite_engine(Path(text))
    try:
        url = make_url(text)
    except (exc.ArgumentError, ValueError):
        raise StoreConfigError(f"cannot parse the state store URL {redact(text)!r}",
                               hint="use a file path, sqlite:///FILE or "
                                    "postgresql://USER@HOST:PORT/DB") from None
    if url.drivername == "sqlite" or url.drivername.startswith("sqlite+"):
        if not url.database or url.database == ":memory:":
            raise StoreConfigError("an in-memory SQLite store would forget every job",
                                   hint="give a file: sqlite:///state.db or a plain path")
        return _sqlite_engine(Path(url.database))
    if url.drivername in _PG_DRIVERS:
        return _postgres_engine(url)
    raise StoreConfigError(
        f"unsupported state store {url.drivername!r} in {url.render_as_string()}",
        hint="use a file path, sqlite:///FILE or postgresql://USER@HOST:PORT/DB")


def _sqlite_engine(path: Path) -> tuple[Engine, str]:
    path = path.expanduser()
    if path.is_dir():
        raise StoreConfigError(f"the state store {path} is a directory",
                               hint="give a file name, e.g. .reconciler/state.db")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreConfigError(f"cannot create the directory for the state store {path}: "
                               f"{e.strerror}", hint="choose a writable location") from None
    engine = create_engine(
        URL.create("sqlite", database=str(path)),
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine, str(path)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would issue a deferred BEGIN behind our back; we
    # take over (see _sqlite_on_begin) so that writers lock the database before they read.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _postgres_engine(url: URL) -> tuple[Engine, str]:
    if url.password:
        register_secret(str(url.password))
    url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {"application_name": "reconciler"}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                           connect_args=connect_args)
    display = url.set(drivername="postgresql").render_as_string(hide_password=True)
    return engine, display
