"""Maintenance windows: weekly, in a time zone; is one open now, and when does the next open.

A window opens on each of its `days` at `start` local wall-clock time in its `tz` and stays open
for `duration_minutes` of elapsed time, so a window may cross midnight (a Saturday 23:00 window
of 240 minutes closes Sunday 03:00) and `days` names the day it *opens*. Daylight saving time:
a start that does not exist on a spring-forward day (02:30 in Europe/Berlin on the last Sunday
of March) opens when the clocks say 03:30 — the same instant as 02:30 in the old offset — and an
ambiguous start on a fall-back day opens at its first occurrence. The duration is real elapsed
time, so a 4-hour window is 4 hours long even when the clocks change inside it.

No windows at all means "always open". Pure: no clock is read and no time-zone database is
opened here; callers pass `now` and a `zones` lookup (name -> tzinfo), normally
`reconciler.timezones.zone`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from reconciler.core.model import MaintenanceWindow
from reconciler.errors import ConfigError

Zones = Callable[[str], tzinfo]  # IANA name -> tzinfo; raises ConfigError for unknown names

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Opening:
    """One occurrence of a window: [start, end) in UTC."""

    start: datetime
    end: datetime
    window: MaintenanceWindow

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _start_time(text: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ConfigError(f"maintenance window start {text!r} is not HH:MM") from None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("window math needs timezone-aware datetimes")
    return at.astimezone(UTC)


def _opening_on(window: MaintenanceWindow, day: date, zone: tzinfo) -> Opening:
    local = datetime.combine(day, _start_time(window.start), tzinfo=zone)  # fold=0: see module doc
    start = local.astimezone(UTC)
    return Opening(start, start + timedelta(minutes=window.duration_minutes), window)


def openings(window: MaintenanceWindow, around: datetime, zones: Zones, *,
             days_before: int = 1, days_after: int = 8) -> list[Opening]:
    """The occurrences of `window` that start between `days_before` local days before `around`
    and `days_after` after it, in order (enough to see one open now and the next one)."""
    zone = zones(window.tz)
    today = _aware(around).astimezone(zone).date()
    wanted = {DAYS.index(d) for d in window.days}
    out = []
    for k in range(-days_before, days_after + 1):
        day = today + timedelta(days=k)
        if day.weekday() in wanted:
            out.append(_opening_on(window, day, zone))
    return out


def open_at(windows: Sequence[MaintenanceWindow], at: datetime, zones: Zones
            ) -> Opening | None:
    """The opening that contains `at`, if any (the one closing last when several overlap).
    With no windows at all the device is always open: returns None too — use `is_open`."""
    at = _aware(at)
    best: Opening | None = None
    for w in windows:
        # a window longer than a day may have opened several days ago
        back = max(1, -(-w.duration_minutes // (24 * 60)))
        for o in openings(w, at, zones, days_before=back, days_after=0):
            if o.contains(at) and (best is None or o.end > best.end):
                best = o
    return best


def is_open(windows: Sequence[MaintenanceWindow], at: datetime, zones: Zones) -> bool:
    return not windows or open_at(windows, at, zones) is not None


def next_opening(windows: Sequence[MaintenanceWindow], at: datetime, zones: Zones
                 ) -> Opening | None:
    """The first opening that starts after `at` (None without windows)."""
    at = _aware(at)
    best: Opening | None = None
    for w in windows:
        for o in openings(w, at, zones, days_before=0, days_after=8):
            if o.start > at and (best is None or o.start < best.start):
                best = o
                break
    return best


def earliest_start(windows: Sequence[MaintenanceWindow], at: datetime, zones: Zones
                   ) -> datetime:
    """`at` when a window is open (or there are none), else when the next one opens."""
    at = _aware(at)
    if is_open(windows, at, zones):
        return at
    nxt = next_opening(windows, at, zones)
    if nxt is None:  # pragma: no cover - a window always recurs within 8 days
        raise ConfigError("no maintenance window ever opens")
    return nxt.start


def describe(window: MaintenanceWindow) -> str:
    """`sat,sun 01:00+240min Asia/Tokyo`."""
    return f"{','.join(window.days)} {window.start}+{window.duration_minutes}min {window.tz}"


def describe_all(windows: Iterable[MaintenanceWindow]) -> str:
    return "; ".join(describe(w) for w in windows) or "always"


def window_to_dict(w: MaintenanceWindow) -> dict[str, Any]:
    return {"days": list(w.days), "start": w.start, "duration_minutes": w.duration_minutes,
            "tz": w.tz}


def window_from_dict(d: Mapping[str, Any]) -> MaintenanceWindow:
    return MaintenanceWindow(days=tuple(str(x) for x in d.get("days") or ()),
                             start=str(d["start"]), duration_minutes=int(d["duration_minutes"]),
                             tz=str(d.get("tz", "UTC")))
