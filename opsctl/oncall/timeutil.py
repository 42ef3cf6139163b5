"""Instants and wall-clock arithmetic.

Internally every instant is a float of UTC epoch seconds. Local wall-clock times are naive
`datetime`s interpreted in a schedule's `ZoneInfo`: a non-existent local time (inside a spring-forward
gap) and an ambiguous one (inside a fall-back overlap) resolve with PEP 495 `fold=0`, i.e. with the
offset in force before the transition (02:30 on a spring-forward day in Europe/Berlin is 01:30 UTC,
shown as 03:30 CEST; 02:30 on a fall-back day is the first, CEST, occurrence).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsctl.durations import parse_duration

_TOD = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo for an IANA name; raises ValueError for unknown names."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_to_epoch(naive: datetime, tz: ZoneInfo) -> float:
    """Epoch seconds of a local wall-clock time (fold=0 for gaps and overlaps)."""
    return naive.replace(tzinfo=tz, fold=0).timestamp()


def epoch_to_local(ts: float, tz: ZoneInfo) -> datetime:
    """Aware local datetime of an instant."""
    return datetime.fromtimestamp(ts, tz)


def epoch_to_naive_local(ts: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def to_epoch(value: Any, tz: ZoneInfo) -> float:
    """An instant from YAML/CLI: an aware datetime, a naive one (local to `tz`), a date (local
    midnight), an ISO 8601 string (naive means local to `tz`; `Z` or an offset are honoured),
    `now`, or a number of epoch seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a time, got a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"not a finite time: {value!r}")
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return local_to_epoch(value, tz)
        return value.timestamp()
    if isinstance(value, date):
        return local_to_epoch(datetime.combine(value, time()), tz)
    if isinstance(value, str):
        text = value.strip()
        if text == "now":
            return datetime.now(UTC).timestamp()
        if text.startswith(("now+", "now-")):
            delta = parse_duration(text[4:])
            now = datetime.now(UTC).timestamp()
            return now + delta if text[3] == "+" else now - delta
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
        return to_epoch(dt, tz)
    raise ValueError(f"expected a time, got {type(value).__name__}")


def parse_time_of_day(value: Any) -> int:
    """Seconds after midnight of "HH:MM" / "HH:MM:SS". YAML 1.1 reads unquoted 10:00 as the
    integer 600 (base 60), so integers are refused with a hint to quote the value."""
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if not isinstance(value, str):
        raise ValueError(f'expected a quoted time of day like "09:00:00", got {value!r}')
    m = _TOD.match(value.strip())
    if not m:
        raise ValueError(f'expected a time of day like "09:00:00", got {value!r}')
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"time of day out of range: {value!r}")
    return h * 3600 + mi * 60 + s


def format_time_of_day(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def parse_seconds(value: Any) -> float:
    """A duration: a number of seconds or a Prometheus duration string ("1w", "12h", "90s")."""
    if isinstance(value, bool):
        raise ValueError("expected a duration, got a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"not a finite duration: {value!r}")
        return float(value)
    if isinstance(value, str):
        return parse_duration(value.strip())
    raise ValueError(f"expected a duration, got {type(value).__name__}")


def iso(ts: float, tz: ZoneInfo) -> str:
    """ISO 8601 with the local offset, seconds precision."""
    return epoch_to_local(ts, tz).isoformat(timespec="seconds")


def local_midnight(day: date, tz: ZoneInfo) -> float:
    return local_to_epoch(datetime.combine(day, time()), tz)


def local_days(start: float, end: float, tz: ZoneInfo) -> list[date]:
    """Every local calendar date that overlaps [start, end)."""
    first = epoch_to_local(start, tz).date()
    last = epoch_to_local(max(start, end - 1e-6), tz).date()
    out = []
    d = first
    while d <= last:
        out.append(d)
        d += timedelta(days=1)
    return out


def add_days(ts: float, days: float, tz: ZoneInfo) -> float:
    """`ts` plus `days` calendar days in `tz`: whole days keep the local wall-clock time (a window from
    midnight ends at midnight also across a DST change, 23 h or 25 h later); a fraction of a day is
    added as exact hours."""
    whole = math.floor(days)
    naive = epoch_to_naive_local(ts, tz) + timedelta(days=whole)
    return local_to_epoch(naive, tz) + (days - whole) * 86400.0
