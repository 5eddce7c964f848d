"""How long the hostile-input fuzzers run: a short always-on budget, multiplied on demand.

The default run (every `pytest`, every CI run) executes a few thousand generated cases in about a
minute. `RECONCILER_LONG_TESTS=1` multiplies every budget by `LONG_FACTOR` (and enables the tests
marked `slow`) for a soak run before a release or after touching a parser. Counts and times are
recorded in docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import LONG_TESTS as LONG

LONG_FACTOR = 20

F = TypeVar("F", bound=Callable[..., Any])


def examples(n: int) -> int:
    """`n` generated cases in the default run, `n * LONG_FACTOR` with RECONCILER_LONG_TESTS=1."""
    return n * LONG_FACTOR if LONG else n


def fuzz(n: int) -> Callable[[F], F]:
    """Hypothesis settings for a fuzzer: `n` cases (scaled), no per-case deadline, slow
    strategies tolerated; the suite's hang guard (pytest-timeout, 300 s) scales with the
    budget."""
    budget = settings(max_examples=examples(n), deadline=None, print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much,
                                             HealthCheck.function_scoped_fixture])
    guard = pytest.mark.timeout(300 * (LONG_FACTOR if LONG else 1))

    def apply(fn: F) -> F:
        return guard(budget(fn))  # type: ignore[no-any-return]

    return apply
