"""Backoff between retries, shared by discovery and the executor: full-jitter exponential waits
(tenacity's `wait_random_exponential`), never shorter than a device's Retry-After and never
longer than the maximum."""

from __future__ import annotations

from collections.abc import Callable

from tenacity import RetryCallState, wait_random_exponential


def jittered_backoff(initial: float, maximum: float) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=initial, max=maximum)

    def wait(state: RetryCallState) -> float:
        delay = backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if isinstance(after, (int, float)) and after > delay:
            delay = min(float(after), maximum)
        return delay

    return wait
