"""Maintenance-window math: weekly windows in a time zone, crossing midnight, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.model import MaintenanceWindow
from reconciler.core import windows as W
from reconciler.core.windows import describe_all, window_from_dict, window_to_dict
from reconciler.errors import ConfigError
from reconciler.timezones import zone


def is_open(ws, at):  # type: ignore[no-untyped-def]
    return W.is_open(ws, at, zone)


def open_at(ws, at):  # type: ignore[no-untyped-def]
    return W.open_at(ws, at, zone)


def next_opening(ws, at):  # type: ignore[no-untyped-def]
    return W.next_opening(ws, at, zone)


def earliest_start(ws, at):  # type: ignore[no-untyped-def]
    return W.earliest_start(ws, at, zone)

TOKYO_WEEKEND = MaintenanceWindow(days=("sat", "sun"), start="01:00", duration_minutes=240,
                                  tz="Asia/Tokyo")


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_no_windows_means_always_open() -> None:
    assert is_open((), utc(2026, 1, 7, 12)) and next_opening((), utc(2026, 1, 7)) is None
    assert earliest_start((), utc(2026, 1, 7, 12)) == utc(2026, 1, 7, 12)
    assert describe_all(()) == "always"


def test_the_example_weekend_window_in_tokyo() -> None:
    # Sat 2026-01-10 01:00 JST is Fri 2026-01-09 16:00 UTC
    assert not is_open([TOKYO_WEEKEND], utc(2026, 1, 9, 15, 59))
    assert is_open([TOKYO_WEEKEND], utc(2026, 1, 9, 16, 0))
    assert is_open([TOKYO_WEEKEND], utc(2026, 1, 9, 19, 59))
    assert not is_open([TOKYO_WEEKEND], utc(2026, 1, 9, 20, 0))  # closes at 05:00 JST
    nxt = next_opening([TOKYO_WEEKEND], utc(2026, 1, 7, 12))
    assert nxt is not None and nxt.start == utc(2026, 1, 9, 16) and nxt.end == utc(2026, 1, 9, 20)
    # during Saturday's window the next opening is Sunday's
    during = next_opening([TOKYO_WEEKEND], utc(2026, 1, 9, 17))
    assert during is not None and during.start == utc(2026, 1, 10, 16)
    assert earliest_start([TOKYO_WEEKEND], utc(2026, 1, 7)) == utc(2026, 1, 9, 16)


def test_a_window_crossing_midnight_belongs_to_the_day_it_opens() -> None:
    w = MaintenanceWindow(days=("sat",), start="23:00", duration_minutes=240, tz="UTC")
    assert is_open([w], utc(2026, 1, 10, 23, 30))  # Saturday night
    assert is_open([w], utc(2026, 1, 11, 2, 59))  # Sunday early morning, same opening
    assert not is_open([w], utc(2026, 1, 11, 3, 0))
    assert not is_open([w], utc(2026, 1, 11, 23, 30))  # Sunday night: not a window day
    assert not is_open([w], utc(2026, 1, 10, 2, 0))  # Saturday early: Friday did not open one
    opening = open_at([w], utc(2026, 1, 11, 1))
    assert opening is not None and opening.start == utc(2026, 1, 10, 23)


def test_spring_forward_opens_at_the_same_instant_and_lasts_real_time() -> None:
    # Europe/Berlin jumps from 02:00 CET to 03:00 CEST on Sunday 2026-03-29
    w = MaintenanceWindow(days=("sun",), start="02:30", duration_minutes=60, tz="Europe/Berlin")
    o = next_opening([w], utc(2026, 3, 28, 12))
    assert o is not None
    assert o.start == utc(2026, 3, 29, 1, 30)  # 02:30 CET, i.e. 03:30 CEST on the wall clock
    assert o.end - o.start == timedelta(minutes=60)
    # a week later (CEST) the same window opens at 02:30 CEST = 00:30 UTC
    later = next_opening([w], o.end)
    assert later is not None and later.start == utc(2026, 4, 5, 0, 30)


def test_fall_back_uses_the_first_occurrence_and_elapsed_duration() -> None:
    # Europe/Berlin goes from 03:00 CEST back to 02:00 CET on Sunday 2026-10-25
    w = MaintenanceWindow(days=("sun",), start="02:30", duration_minutes=120, tz="Europe/Berlin")
    o = next_opening([w], utc(2026, 10, 24, 12))
    assert o is not None and o.start == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first one
    assert o.end == utc(2026, 10, 25, 2, 30)  # two real hours, though the clock shows 03:30 CET
    assert is_open([w], utc(2026, 10, 25, 2, 29)) and not is_open([w], utc(2026, 10, 25, 2, 30))


def test_us_dst_window_keeps_its_wall_clock_start() -> None:
    w = MaintenanceWindow(days=("mon", "tue", "wed", "thu", "fri"), start="22:00",
                          duration_minutes=180, tz="America/New_York")
    winter = next_opening([w], utc(2026, 1, 5, 12))  # Monday
    summer = next_opening([w], utc(2026, 7, 6, 12))
    assert winter is not None and winter.start == utc(2026, 1, 6, 3)  # 22:00 EST
    assert summer is not None and summer.start == utc(2026, 7, 7, 2)  # 22:00 EDT


def test_overlapping_windows_report_the_one_closing_last() -> None:
    a = MaintenanceWindow(days=("wed",), start="01:00", duration_minutes=60)
    b = MaintenanceWindow(days=("wed",), start="01:30", duration_minutes=120)
    o = open_at([a, b], utc(2026, 1, 7, 1, 45))
    assert o is not None and o.window == b and o.end == utc(2026, 1, 7, 3, 30)


def test_long_windows_spanning_days() -> None:
    w = MaintenanceWindow(days=("fri",), start="20:00", duration_minutes=3 * 24 * 60)
    assert is_open([w], utc(2026, 1, 11, 12))  # Sunday, opened Friday
    assert not is_open([w], utc(2026, 1, 12, 20))


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    with pytest.raises(ValueError):
        is_open([TOKYO_WEEKEND], datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        is_open([MaintenanceWindow(("mon",), "01:00", 60, "Mars/Olympus")], utc(2026, 1, 1))


def test_dict_round_trip() -> None:
    assert window_from_dict(window_to_dict(TOKYO_WEEKEND)) == TOKYO_WEEKEND


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                    timezones=st.just(UTC)),
       st.sampled_from(["UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York",
                        "Australia/Lord_Howe"]),
       st.integers(min_value=0, max_value=23), st.integers(min_value=1, max_value=600))
def test_earliest_start_is_always_inside_a_window(at: datetime, tz: str, hour: int,
                                                  minutes: int) -> None:
    w = MaintenanceWindow(days=("tue", "sat"), start=f"{hour:02d}:15", duration_minutes=minutes,
                          tz=tz)
    start = earliest_start([w], at)
    assert start >= at and is_open([w], start)
    assert start - at <= timedelta(days=7)
