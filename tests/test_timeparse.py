"""opsctl.timeparse: the one parser of command-line times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsctl.durations import format_duration
from opsctl.errors import InputError
from opsctl.timeparse import parse_range, parse_time

NOW = 1_769_860_800.0  # 2026-01-31T12:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", NOW),
        ("2026-01-31t12:00:00z", NOW),
        ("2026-01-31 12:00:00Z", NOW),
        ("2026-01-31T14:00:00+02:00", NOW),
        ("2026-01-31T12:00:00.5Z", NOW + 0.5),
        ("2026-01-31T12:00:00", NOW),  # no zone: UTC
        ("2026-01-31", NOW - 12 * 3600),  # a date: midnight UTC
        ("1769860800", NOW),
        ("1769860800.25", NOW + 0.25),
        ("-5", -5.0),
        ("0", 0.0),
        ("now", NOW),
        (" now ", NOW),
        ("NOW", NOW),
        ("now-1h", NOW - 3600),
        ("now+30m", NOW + 1800),
        ("now - 1h30m", NOW - 5400),
        ("-7d", NOW - 7 * 86400),
        ("+1h", NOW + 3600),
        ("-100ms", NOW - 0.1),
        ("now-2w", NOW - 14 * 86400),
    ],
)
def test_forms(text: str, expected: float) -> None:
    assert parse_time(text, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["", "   ", "yesterday", "now-", "now-5", "-1.5h", "1h", "2026-13-01", "2026-01-31T25:00Z",
             "nan", "inf", "1e9", "99999999999999", "now-999999999y", "2026-01-31T12:00:00+25:00", "now*2"],
)
def test_rejected_forms_name_the_option(text: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_time(text, now=NOW, what="--at")
    assert "--at" in str(exc.value)
    assert repr(text) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_zone_for_naive_times() -> None:
    tz = ZoneInfo("Europe/Berlin")
    assert parse_time("2026-01-31T13:00:00", now=NOW, tz=tz) == NOW
    assert parse_time("2026-01-31T13:00:00Z", now=NOW, tz=tz) == NOW + 3600  # an explicit zone wins


def test_now_defaults_to_the_clock() -> None:
    before = datetime.now(UTC).timestamp()
    t = parse_time("now")
    after = datetime.now(UTC).timestamp()
    assert before <= t <= after


def test_range_defaults_and_order() -> None:
    assert parse_range("-1h", None, now=NOW) == (NOW - 3600, NOW)
    assert parse_range(None, "2026-01-31T12:00:00Z", now=NOW, default_from="-7d") == (NOW - 7 * 86400, NOW)
    assert parse_range("now", "now", now=NOW) == (NOW, NOW)
    with pytest.raises(InputError, match="--from is required"):
        parse_range(None, None, now=NOW)
    with pytest.raises(InputError, match="--to is required"):
        parse_range("-1h", None, now=NOW, default_to=None)
    with pytest.raises(InputError, match="after --to"):
        parse_range("now", "-1h", now=NOW)
    with pytest.raises(InputError, match="--to 'x'"):
        parse_range("-1h", "x", now=NOW)


datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                         timezones=st.just(UTC) | st.builds(lambda m: timezone(timedelta(minutes=m)),
                                                            st.integers(-23 * 60, 23 * 60)))


@given(datetimes)
def test_rfc3339_round_trip(dt: datetime) -> None:
    text = dt.isoformat()
    assert parse_time(text, now=NOW) == pytest.approx(dt.timestamp(), abs=1e-6)
    if dt.utcoffset() == timedelta(0):
        assert parse_time(text.replace("+00:00", "Z"), now=NOW) == pytest.approx(dt.timestamp(), abs=1e-6)


@given(st.integers(-62135596800, 253402300799))
def test_unix_seconds_round_trip(t: int) -> None:
    assert parse_time(str(t), now=NOW) == t


@given(st.integers(0, 10**9), st.sampled_from(["-", "+"]), st.booleans())
def test_relative_is_now_plus_minus_duration(secs: int, sign: str, with_now: bool) -> None:
    text = ("now" if with_now else "") + sign + format_duration(secs)
    expected = NOW - secs if sign == "-" else NOW + secs
    assert parse_time(text, now=NOW) == pytest.approx(expected)


@given(st.text(max_size=40))
def test_any_text_is_a_time_or_an_input_error(text: str) -> None:
    try:
        t = parse_time(text, now=NOW, what="--to")
    except InputError as exc:
        assert "--to" in str(exc)
    else:
        assert -62135596800 <= t <= 253402300799


@given(st.text(max_size=20), st.text(max_size=20))
def test_range_is_ordered_or_an_input_error(a: str, b: str) -> None:
    try:
        start, end = parse_range(a, b, now=NOW)
    except InputError:
        return
    assert start <= end
