"""Shared test fixtures.

1. Fixture repositories built from layered directories: `tests/fixtures/repos/base` is a small,
   clean fleet; each `tests/fixtures/repos/scenarios/<name>` adds or replaces files on top of it
   and says in `expect.yaml` what `validate` must report.
2. The real PostgreSQL server and state stores on both backends.

PostgreSQL tests use the server at $RECONCILER_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test, trust auth). Each test gets a fresh schema
`t_<random>` (selected through the URL's search_path, so any code that takes a --state URL uses
it) and the schema is dropped afterwards, so parallel runs never collide. Without a reachable
server those tests are skipped with the reason — except under CI=true, where they fail.

Use `pg_url` for PostgreSQL only, `state_url` for "both backends" (parametrised), and `store`
for an open, migrated Store on both backends. Tests using them get the `postgres` marker.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get("RECONCILER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _pg_unavailable_reason() -> str | None:
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover - psycopg is a declared dependency
        return f"psycopg is not installed ({e})"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return " ".join(str(e).split())
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL base URL; skips (fails under CI=true) when the server is unreachable."""
    reason = _pg_unavailable_reason()
    if reason is not None:
        msg = f"PostgreSQL not reachable at {PG_URL}: {reason}"
        if _in_ci():
            pytest.fail(f"{msg} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(msg)
    return PG_URL


def _schema_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _schema_url(pg_server, schema)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            # A session left idle in a transaction by a test would block the drop forever;
            # fail loudly instead.
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state store location on each backend: a SQLite file in tmp_path, then PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(state_url: str) -> Iterator[object]:
    """An open, migrated `reconciler.store.Store` on each backend."""
    from reconciler.store import open_store

    s = open_store(state_url, migrate=True)
    try:
        yield s
    finally:
        s.close()


# Long loops (soak runs of the fuzzers, crash and load loops) run only when asked for; every
# fuzzer also has a short always-on budget (tests/reliability/budget.py, docs/reliability.md).
LONG_TESTS = os.environ.get("RECONCILER_LONG_TESTS", "").strip().lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()) or "pg_server" in getattr(
                item, "fixturenames", ()):
            if item.get_closest_marker("postgres") is None:
                item.add_marker(pytest.mark.postgres)
        if not LONG_TESTS and item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.skip(reason="long loop: set RECONCILER_LONG_TESTS=1"))


# ---------------------------------------------------------------- fixture repositories


FIXTURES = Path(__file__).parent / "fixtures"
REPOS = FIXTURES / "repos"
SCENARIOS = REPOS / "scenarios"
PROJECT_ROOT = Path(__file__).resolve().parents[1]

MakeRepo = Callable[..., Path]


def build_repo(dest: Path, *layers: str, files: dict[str, str] | None = None) -> Path:
    """Copy `base` and then each layer (a path under tests/fixtures/repos) into `dest`; then
    write `files` (relative path -> text) on top."""
    dest.mkdir(parents=True, exist_ok=True)
    for layer in ("base", *layers):
        src = REPOS / layer
        shutil.copytree(src, dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("expect.yaml"))
    for rel, text in (files or {}).items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return dest


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    counter = iter(range(1000))

    def make(*layers: str, files: dict[str, str] | None = None) -> Path:
        return build_repo(tmp_path / f"repo{next(counter)}", *layers, files=files)

    return make


def all_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and list indexes) in a JSON-like document, for mutation tests."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += all_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += all_paths(v, prefix + (i,))
    return out


# ---------------------------------------------------------------- the example's images


@pytest.fixture(scope="session")
def example_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example catalog image, fetched from its synthetic source into a real image
    repository (once per session; tests copy it or only read it)."""
    from reconciler.images.repository import ImageRepository
    from reconciler.loader import DirectorySource, load_desired

    repo_dir = tmp_path_factory.mktemp("images")
    desired, _ = load_desired(DirectorySource(PROJECT_ROOT))
    repo = ImageRepository(repo_dir)
    for image in desired.images.values():
        repo.fetch(image)
    return repo_dir
