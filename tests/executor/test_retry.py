"""Bounded exponential backoff for temporary errors only, in device time."""

from __future__ import annotations

import time

import pytest

from reconciler.errors import PermanentError, TemporaryError
from reconciler.executor.retry import RetryPolicy, call_with_retries
from reconciler.transfer_errors import transfer_error


async def test_temporary_errors_are_retried_until_success() -> None:
    calls: list[int] = []
    told: list[tuple[int, str]] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise transfer_error("ftp-426", action="copy x")
        return "ok"

    got = await call_with_retries(flaky, RetryPolicy(attempts=5, initial=1.0, maximum=2.0),
                                  time_scale=lambda: 1e6,
                                  on_retry=lambda n, e, d: told.append((n, str(e))))
    assert got == "ok" and len(calls) == 3
    assert [n for n, _ in told] == [2, 3] and "FTP 426" in told[0][1]


async def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    calls: list[int] = []

    async def down() -> None:
        calls.append(1)
        raise TemporaryError("still down", code="UNREACHABLE")

    with pytest.raises(TemporaryError, match="still down"):
        await call_with_retries(down, RetryPolicy(attempts=3), time_scale=lambda: 1e6)
    assert len(calls) == 3


async def test_permanent_errors_are_not_retried() -> None:
    calls: list[int] = []

    async def refused() -> None:
        calls.append(1)
        raise transfer_error("ftp-550", action="copy x")

    with pytest.raises(PermanentError):
        await call_with_retries(refused, RetryPolicy(attempts=5), time_scale=lambda: 1e6)
    assert len(calls) == 1


async def test_waits_are_device_time_and_honour_retry_after() -> None:
    delays: list[float] = []

    async def busy() -> None:
        if len(delays) < 2:
            raise TemporaryError("busy", retry_after=30.0)

    t0 = time.monotonic()
    await call_with_retries(busy, RetryPolicy(attempts=4, initial=0.5, maximum=40.0),
                            time_scale=lambda: 3000.0, on_retry=lambda n, e, d: delays.append(d))
    assert delays == [30.0, 30.0]  # Retry-After beats the (shorter) backoff
    assert time.monotonic() - t0 < 1.0  # 60 s of device time at 3000x


async def test_backoff_grows_but_never_exceeds_the_maximum() -> None:
    delays: list[float] = []

    async def down() -> None:
        raise TemporaryError("down")

    with pytest.raises(TemporaryError):
        await call_with_retries(down, RetryPolicy(attempts=8, initial=1.0, maximum=5.0),
                                time_scale=lambda: 1e6, on_retry=lambda n, e, d: delays.append(d))
    assert len(delays) == 7 and all(0 <= d <= 5.0 for d in delays)
