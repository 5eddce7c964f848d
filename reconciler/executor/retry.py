"""Bounded exponential backoff with full jitter for temporary errors (kopf style: the class of
the error decides). Permanent errors — FTP 5yz, disk full, HTTP 413 after splitting, refused
commands, authentication — are raised at once; HTTP 413 is handled inside the driver, which
splits the transfer. Delays are device time: against the simulator at time scale 900 a 30 s
backoff passes in 33 ms, against a real device it is 30 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from reconciler.backoff import jittered_backoff
from reconciler.errors import TemporaryError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    initial: float = 2.0  # seconds (device time): the first backoff is up to this
    maximum: float = 60.0  # no single wait is longer


def is_temporary(exc: BaseException) -> bool:
    return isinstance(exc, TemporaryError)


async def call_with_retries(fn: Callable[[], Awaitable[T]], policy: RetryPolicy, *,
                            time_scale: Callable[[], float] = lambda: 1.0,
                            on_retry: Callable[[int, BaseException, float], None] | None = None,
                            retry_on: Callable[[BaseException], bool] = is_temporary) -> T:
    """Run `fn`; on a temporary error (what `retry_on` accepts) wait and run it again, at most
    `policy.attempts` times. `on_retry(next_attempt, error, delay)` is told before each wait."""
    wait = jittered_backoff(policy.initial, policy.maximum)

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            exc = state.outcome.exception()
            assert exc is not None
            on_retry(state.attempt_number + 1, exc, state.next_action.sleep)

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / max(time_scale(), 1e-9))

    retrying = AsyncRetrying(retry=retry_if_exception(retry_on),
                             stop=stop_after_attempt(max(1, policy.attempts)), wait=wait,
                             before_sleep=before_sleep, sleep=sleep, reraise=True)
    async for attempt in retrying:
        with attempt:
            return await fn()
    raise AssertionError("unreachable")  # pragma: no cover - reraise=True raises the last error
