"""Time intervals (timeinterval.go): parsing and ContainsTime, incl. negative days of month and zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsctl.alertmanager import timeinterval as ti


def _interval(**kw: object) -> ti.TimeInterval:
    loc = kw.pop("location", None)
    t = ti.TimeInterval(**kw)  # type: ignore[arg-type]
    if loc:
        t.location = str(loc)
        t._tz = ti.load_location(str(loc))
    return t


def test_times_end_exclusive() -> None:
    t = _interval(times=[ti.parse_time_range("09:00", "17:00")])
    assert t.contains(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    assert t.contains(datetime(2024, 5, 6, 16, 59, tzinfo=UTC))
    assert not t.contains(datetime(2024, 5, 6, 17, 0, tzinfo=UTC))


def test_weekdays_and_zone() -> None:
    # Monday 2024-05-06 23:30 UTC is Tuesday 01:30 in Berlin (CEST)
    t = _interval(weekdays=[ti.parse_weekday("tuesday")], location="Europe/Berlin")
    assert t.contains(datetime(2024, 5, 6, 23, 30, tzinfo=UTC))
    assert not t.contains(datetime(2024, 5, 6, 21, 30, tzinfo=UTC))
    assert ti.parse_weekday("Monday:FRIDAY") == ti.Range(1, 5)


def test_negative_days_of_month() -> None:
    last3 = _interval(days_of_month=[ti.parse_day_of_month("-3:-1")])
    assert last3.contains(datetime(2024, 2, 27, tzinfo=UTC))  # leap year: 27, 28, 29
    assert not last3.contains(datetime(2024, 2, 26, tzinfo=UTC))
    assert last3.contains(datetime(2023, 2, 26, tzinfo=UTC))  # 26, 27, 28
    assert last3.contains(datetime(2024, 1, 31, tzinfo=UTC))
    assert not last3.contains(datetime(2024, 1, 28, tzinfo=UTC))
    first_to_last = _interval(days_of_month=[ti.parse_day_of_month("25:31")])
    assert first_to_last.contains(datetime(2024, 2, 29, tzinfo=UTC))  # clamped to the month


def test_months_years() -> None:
    t = _interval(months=[ti.parse_month("january:march"), ti.parse_month("12")],
                  years=[ti.parse_year("2024:2025")])
    assert t.contains(datetime(2024, 12, 24, tzinfo=UTC))
    assert not t.contains(datetime(2024, 6, 1, tzinfo=UTC))
    assert not t.contains(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("fn", "arg"), [
    (ti.parse_weekday, "saturday:sunday"), (ti.parse_weekday, "funday"), (ti.parse_day_of_month, "0"),
    (ti.parse_day_of_month, "-5:5"), (ti.parse_day_of_month, "10:5"), (ti.parse_day_of_month, "32"),
    (ti.parse_month, "march:january"), (ti.parse_month, "smarch"), (ti.parse_year, "2025:2024"),
    (ti.parse_year, "20x"), (ti.parse_weekday, "a:b:c"),
])
def test_invalid_ranges(fn: object, arg: str) -> None:
    with pytest.raises(ti.IntervalError):
        fn(arg)  # type: ignore[operator]


@pytest.mark.parametrize(("s", "e"), [("25:00", "26:00"), ("10:00", "09:00"), ("", "10:00"), ("9:00", "10:00")])
def test_invalid_times(s: str, e: str) -> None:
    with pytest.raises(ti.IntervalError):
        ti.parse_time_range(s, e)


def test_unknown_zone() -> None:
    with pytest.raises(ti.IntervalError):
        ti.load_location("Mars/Olympus_Mons")
