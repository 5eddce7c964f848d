"""Shared test helpers: fixture repositories built from layered directories.

`tests/fixtures/repos/base` is a small, clean fleet; each `tests/fixtures/repos/scenarios/<name>`
adds or replaces files on top of it and says in `expect.yaml` what `validate` must report.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
