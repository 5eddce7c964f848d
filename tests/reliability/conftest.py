"""Reliability tests (issue #8): the fault matrix, the crash loop, the secrets scan.

Long loops are marked `slow` and run only with RECONCILER_LONG_TESTS=1; a shorter version of
each is always on. The `lab` fixture (tests/executor/conftest.py) is reused: the example twin
in-process, a real image repository and a real SQLite store."""

from __future__ import annotations

import os

import pytest

from tests.executor.conftest import images, lab  # noqa: F401 - fixtures shared with the executor tests

LONG = os.environ.get("RECONCILER_LONG_TESTS") == "1"

# `@long_only` = the `slow` marker + skipped unless RECONCILER_LONG_TESTS=1
def long_only(f):  # type: ignore[no-untyped-def]
    return pytest.mark.slow(pytest.mark.skipif(
        not LONG, reason="long loop: set RECONCILER_LONG_TESTS=1 to run it")(f))
