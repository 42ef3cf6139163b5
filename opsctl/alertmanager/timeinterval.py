"""Alertmanager time intervals (timeinterval/timeinterval.go of 0.25): parsing and `contains(t)`.

Times are `HH:MM` ranges with an exclusive end (`24:00` allowed); weekdays, days of month (negative values
count from the end of the month: -1 is the last day), months and years are inclusive ranges `a:b` or single
values; `location` is an IANA zone name (default UTC). An interval holds when every given component holds.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}
MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}
MONTHS_INV = {v: k for k, v in MONTHS.items()}
_VALID_TIME = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")
_ATOI = re.compile(r"^[+-]?[0-9]+$")


# first Alertmanager version that counts a month's days by the calendar (upstream PR #5447, August 2026)
MONTH_LENGTH_FIX = (0, 35)


class IntervalError(ValueError):
    """A time interval Alertmanager would reject."""


@dataclass(frozen=True)
class Range:
    begin: int
    end: int

    def to_dict(self) -> dict[str, int]:
        return {"begin": self.begin, "end": self.end}


@dataclass
class TimeInterval:
    """One entry of a named time interval's `time_intervals` list."""

    times: list[Range] | None = None  # minutes of the day, end exclusive
    weekdays: list[Range] | None = None  # 0 = Sunday
    days_of_month: list[Range] | None = None
    months: list[Range] | None = None
    years: list[Range] | None = None
    location: str | None = None
    _tz: tzinfo | None = field(default=None, repr=False, compare=False)
    # Alertmanager before MONTH_LENGTH_FIX counts a month's days as whole 24 h spans between the first of the
    # month and the next in `location`: a month with a spring-forward DST change has 30 days (743 h), so
    # days_of_month -1 is the 30th of March in Europe/Berlin. Later versions use the calendar length.
    legacy_month_length: bool = field(default=False, compare=False)

    def contains(self, t: datetime) -> bool:
        """Go's TimeInterval.ContainsTime; a naive `t` is taken as UTC."""
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        if self._tz is not None:
            t = t.astimezone(self._tz)
        if self.times is not None:
            minute = t.hour * 60 + t.minute
            if not any(r.begin <= minute < r.end for r in self.times):
                return False
        if self.days_of_month is not None:
            dim = _legacy_days_in_month(t) if self.legacy_month_length else calendar.monthrange(t.year, t.month)[1]
            hit = False
            for r in self.days_of_month:
                begin = dim + r.begin + 1 if r.begin < 0 else r.begin
                end = dim + r.end + 1 if r.end < 0 else r.end
                if begin > dim:
                    continue
                begin = _clamp(begin, -dim, dim)
                end = _clamp(end, -dim, dim)
                if begin <= t.day <= end:
                    hit = True
                    break
            if not hit:
                return False
        if self.months is not None and not any(r.begin <= t.month <= r.end for r in self.months):
            return False
        if self.weekdays is not None:
            wd = (t.weekday() + 1) % 7  # Python: Monday=0; Go: Sunday=0
            if not any(r.begin <= wd <= r.end for r in self.weekdays):
                return False
        if self.years is not None and not any(r.begin <= t.year <= r.end for r in self.years):
            return False
        return True


def _legacy_days_in_month(t: datetime) -> int:
    """timeinterval.daysInMonth of Alertmanager <= 0.34: int((first of next month - first of month).Hours() / 24)
    in t's zone, so DST changes shorten (743 h -> 30) or keep (745 h -> 31) the month."""
    start = datetime(t.year, t.month, 1, tzinfo=t.tzinfo)
    end = datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=t.tzinfo)
    return int((end.timestamp() - start.timestamp()) / 3600 / 24)


def _clamp(n: int, lo: int, hi: int) -> int:
    return lo if n <= lo else hi if n >= hi else n


def load_location(name: str) -> tzinfo:
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise IntervalError(f"unknown time zone {name}") from None


def _atoi(s: str) -> int:
    if not _ATOI.match(s):
        raise IntervalError(f'strconv.Atoi: parsing "{s}": invalid syntax')
    return int(s)


def _range(text: str, member: object) -> Range:
    s = text.lower()
    if ":" in s:
        parts = s.split(":")
        if len(parts) != 2:
            raise IntervalError(f"couldn't parse range {s}, invalid format")
        return Range(_member(parts[0], member), _member(parts[1], member))
    v = _member(s, member)
    return Range(v, v)


def _member(s: str, kind: object) -> int:
    if kind == "weekday":
        if s not in WEEKDAYS:
            raise IntervalError(f"{s} is not a valid weekday")
        return WEEKDAYS[s]
    if kind == "month":
        if s in MONTHS:
            return MONTHS[s]
        if not _ATOI.match(s):
            raise IntervalError(f"{s} is not a valid month")
        return int(s)
    return _atoi(s)


def parse_weekday(text: str) -> Range:
    r = _range(text, "weekday")
    if r.begin > r.end:
        raise IntervalError("start day cannot be before end day")
    return r


def parse_day_of_month(text: str) -> Range:
    r = _range(text, "int")
    for v in (r.begin, r.end):
        if v == 0 or v < -31 or v > 31:
            raise IntervalError(f"{v} is not a valid day of the month: out of range")
    if r.begin < 0 < r.end:
        raise IntervalError("end day must be negative if start day is negative")
    cb = 28 + r.begin if r.begin < 0 else r.begin
    ce = 28 + r.end if r.end < 0 else r.end
    if cb > ce:
        raise IntervalError(f"end day {r.end} is always before start day {r.begin}")
    return r


def parse_month(text: str) -> Range:
    r = _range(text, "month")
    if r.begin > r.end:
        raise IntervalError(
            f"end month {MONTHS_INV.get(r.end, '')} is before start month {MONTHS_INV.get(r.begin, '')}"
        )
    return r


def parse_year(text: str) -> Range:
    r = _range(text, "int")
    if r.begin > r.end:
        raise IntervalError(f"end year {r.end} is before start year {r.begin}")
    return r


def parse_time(text: str) -> int:
    if not _VALID_TIME.match(text):
        raise IntervalError(f"couldn't parse timestamp {text}, invalid format")
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def parse_time_range(start: str, end: str) -> Range:
    if not start or not end:
        raise IntervalError("both start and end times must be provided")
    s, e = parse_time(start), parse_time(end)
    if s >= e:
        raise IntervalError("start time cannot be equal or greater than end time")
    return Range(s, e)
