"""Recurring iCalendar events (RRULE, RDATE, EXDATE, RECURRENCE-ID) imported as overrides.

Every expected instant below is worked out by hand (calendar facts checked against a printed calendar:
2026-01-01 is a Thursday; Europe/Berlin switches to CEST on Sun 2026-03-29 02:00 CET and back to CET
on Sun 2026-10-25 03:00 CEST), not taken from the code under test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.ical import import_ical
from opsctl.oncall.ical_recur import RecurrenceError, parse_rrule
from tests.conftest import run_opsctl

from .helpers import BERLIN, t

UTC_ZONE = timeutil.zone("UTC")


def cal(*events: str, extra: str = "") -> str:
    body = "".join(f"BEGIN:VEVENT\nDTSTAMP:20260101T000000Z\n{e.strip()}\nEND:VEVENT\n" for e in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{extra}{body}END:VCALENDAR\n"


def z(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%MZ")


def got(ics: str, start: str | None = "2025-01-01T00:00:00", end: str | None = "2030-01-01T00:00:00",
        tz: object = BERLIN) -> list[tuple[str, str, str]]:
    a = None if start is None else t(start)
    b = None if end is None else t(end)
    return [(z(o.start), z(o.end), o.user) for o in import_ical(ics, tz, "test.ics", a, b, overlap="latest")]  # type: ignore[arg-type]


def starts(ics: str, **kw: object) -> list[str]:
    return [s for s, _, _ in got(ics, **kw)]  # type: ignore[arg-type]


WEEKLY_BERLIN = """UID:w1
SUMMARY:On call: alice (Team)
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260316T170000
RRULE:FREQ=WEEKLY;BYDAY=MO{tail}"""


def test_weekly_rule_keeps_local_wall_clock_across_dst() -> None:
    # FREQ=WEEKLY;BYDAY=MO at 09:00-17:00 Europe/Berlin from Mon 2026-03-16. 03-16 and 03-23 are CET
    # (UTC+1): 08:00Z-16:00Z. After the change on 03-29 the instance on 2026-03-30 is 07:00 UTC, not
    # 08:00 (CEST, UTC+2), and so is 04-06.
    ics = cal(WEEKLY_BERLIN.format(tail=""))
    assert got(ics, "2026-03-16T00:00:00", "2026-04-07T00:00:00") == [
        ("2026-03-16T08:00Z", "2026-03-16T16:00Z", "alice"),
        ("2026-03-23T08:00Z", "2026-03-23T16:00Z", "alice"),
        ("2026-03-30T07:00Z", "2026-03-30T15:00Z", "alice"),
        ("2026-04-06T07:00Z", "2026-04-06T15:00Z", "alice"),
    ]
    # and back in autumn: Mon 2026-10-19 is CEST (07:00Z), Mon 10-26 CET again (08:00Z)
    assert starts(ics, start="2026-10-19T00:00:00", end="2026-10-27T00:00:00") == [
        "2026-10-19T07:00Z", "2026-10-26T08:00Z"]


def test_week_long_shift_hands_over_at_the_same_local_time_after_dst() -> None:
    # A Mon 09:00 -> next Mon 09:00 shift every 2 weeks (a 2-person rotation). The instance from
    # 2026-03-23 09:00 CET (08:00Z) ends 2026-03-30 09:00 CEST = 07:00Z: 167 h, the wall-clock week,
    # so it ends exactly when bob's next instance starts (no overlap or gap after the change).
    ics = cal("""UID:a
SUMMARY:alice
DTSTART;TZID=Europe/Berlin:20260309T090000
DTEND;TZID=Europe/Berlin:20260316T090000
RRULE:FREQ=WEEKLY;INTERVAL=2""", """UID:b
SUMMARY:bob
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260323T090000
RRULE:FREQ=WEEKLY;INTERVAL=2""")
    assert got(ics, "2026-03-09T09:00:00", "2026-04-06T09:00:00") == [
        ("2026-03-09T08:00Z", "2026-03-16T08:00Z", "alice"),
        ("2026-03-16T08:00Z", "2026-03-23T08:00Z", "bob"),
        ("2026-03-23T08:00Z", "2026-03-30T07:00Z", "alice"),
        ("2026-03-30T07:00Z", "2026-04-06T07:00Z", "bob"),
    ]


def test_monthly_byday_ordinals() -> None:
    # FREQ=MONTHLY;BYDAY=1MO from Mon 2026-01-05 09:00 Berlin: first Mondays Jan 5, Feb 2, Mar 2 (CET,
    # 08:00Z) and Apr 6 (CEST, 07:00Z).
    first_mo = cal("UID:m\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260105T090000\nDURATION:PT1H\n"
                   "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=4")
    assert starts(first_mo) == ["2026-01-05T08:00Z", "2026-02-02T08:00Z", "2026-03-02T08:00Z", "2026-04-06T07:00Z"]
    # BYDAY=-1FR: last Fridays Jan 30, Feb 27, Mar 27, Apr 24 (DTSTART Jan 30 is one of them)
    last_fr = cal("UID:f\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260130T090000\nDURATION:PT1H\n"
                  "RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=4")
    assert starts(last_fr) == ["2026-01-30T08:00Z", "2026-02-27T08:00Z", "2026-03-27T08:00Z", "2026-04-24T07:00Z"]


def test_negative_bymonthday_and_bysetpos() -> None:
    # BYMONTHDAY=-1: the last day of each month: Jan 31, Feb 28 (2026 is no leap year), Mar 31, Apr 30
    ics = cal("UID:d\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260131T120000\nDURATION:PT1H\n"
              "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4")
    assert starts(ics) == ["2026-01-31T11:00Z", "2026-02-28T11:00Z", "2026-03-31T10:00Z", "2026-04-30T10:00Z"]
    # last working day of the month: BYDAY=MO..FR;BYSETPOS=-1 -> Fri Jan 30, Fri Feb 27, Tue Mar 31, Thu Apr 30
    ics = cal("UID:p\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260130T120000\nDURATION:PT1H\n"
              "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4")
    assert starts(ics) == ["2026-01-30T11:00Z", "2026-02-27T11:00Z", "2026-03-31T10:00Z", "2026-04-30T10:00Z"]


def test_yearly_bymonth_last_sunday() -> None:
    # FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU at 12:00 Berlin: 2026-03-29, 2027-03-28, 2028-03-26 (all after
    # the 02:00 change, so CEST: 10:00Z)
    ics = cal("UID:y\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260329T120000\nDURATION:PT1H\n"
              "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;COUNT=3")
    assert starts(ics) == ["2026-03-29T10:00Z", "2027-03-28T10:00Z", "2028-03-26T10:00Z"]


def test_wkst_changes_biweekly_rules() -> None:
    # RFC 5545 §3.8.5.3 example: DTSTART 1997-08-05 (Tue) 09:00 America/New_York (EDT, 13:00Z),
    # FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU -> Aug 5, 10, 19, 24 with WKST=MO; Aug 5, 17, 19, 31 with WKST=SU
    def rule(wkst: str) -> str:
        return cal("UID:k\nSUMMARY:x\nDTSTART;TZID=America/New_York:19970805T090000\nDURATION:PT1H\n"
                   f"RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST={wkst}")
    days = lambda ics: [s[:10] for s in starts(ics, start=None, end=None)]  # noqa: E731
    assert days(rule("MO")) == ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"]
    assert days(rule("SU")) == ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"]
    assert starts(rule("MO"), start=None, end=None)[0] == "1997-08-05T13:00Z"


def test_count_and_until_edges() -> None:
    assert starts(cal(WEEKLY_BERLIN.format(tail=";COUNT=1"))) == ["2026-03-16T08:00Z"]
    # COUNT counts generated instances; an EXDATE removes one without adding another (3 -> 2)
    ics = cal(WEEKLY_BERLIN.format(tail=";COUNT=3") + "\nEXDATE;TZID=Europe/Berlin:20260323T090000")
    assert starts(ics) == ["2026-03-16T08:00Z", "2026-03-30T07:00Z"]
    # DTSTART counts as the first instance even when the rule would not produce it (RFC 5545 §3.3.10):
    # BYDAY=TU;COUNT=3 from Mon 03-16 09:00 -> Mon 03-16, Tue 03-17, Tue 03-24 (3 in all)
    ics = cal(WEEKLY_BERLIN.format(tail="").replace("BYDAY=MO", "BYDAY=TU;COUNT=3"))
    assert starts(ics) == ["2026-03-16T08:00Z", "2026-03-17T08:00Z", "2026-03-24T08:00Z"]
    assert starts(ics.replace("COUNT=3", "COUNT=1")) == ["2026-03-16T08:00Z"]
    # UNTIL is inclusive: the 03-30 instance starts at 07:00Z (CEST) -> UNTIL=...T070000Z keeps it,
    # one second earlier drops it (a wrong 08:00Z computation would flip both)
    assert starts(cal(WEEKLY_BERLIN.format(tail=";UNTIL=20260330T070000Z")))[-1] == "2026-03-30T07:00Z"
    assert starts(cal(WEEKLY_BERLIN.format(tail=";UNTIL=20260330T065959Z")))[-1] == "2026-03-23T08:00Z"
    # a DATE as UNTIL of a timed rule bounds inclusively: the whole of 2026-03-30
    assert starts(cal(WEEKLY_BERLIN.format(tail=";UNTIL=20260330")))[-1] == "2026-03-30T07:00Z"
    # bounded rules expand without a window; unbounded ones need one
    assert len(got(cal(WEEKLY_BERLIN.format(tail=";COUNT=5")), None, None)) == 5
    with pytest.raises(InputError, match="needs a window"):
        got(cal(WEEKLY_BERLIN.format(tail="")), None, None)


def test_exdate_in_utc_and_rdate_period() -> None:
    # EXDATE in UTC removes the 03-30 09:00 CEST instance (07:00Z); RDATE adds Wed 03-25 09:00 CET with
    # the series' 8 h, and a PERIOD RDATE brings its own end (2 h).
    ics = cal(WEEKLY_BERLIN.format(tail=";COUNT=4") + "\nEXDATE:20260330T070000Z\n"
              "RDATE;TZID=Europe/Berlin:20260325T090000\nRDATE;VALUE=PERIOD:20260401T080000Z/20260401T100000Z")
    assert got(ics) == [
        ("2026-03-16T08:00Z", "2026-03-16T16:00Z", "alice"),
        ("2026-03-23T08:00Z", "2026-03-23T16:00Z", "alice"),
        ("2026-03-25T08:00Z", "2026-03-25T16:00Z", "alice"),
        ("2026-04-01T08:00Z", "2026-04-01T10:00Z", "alice"),
        ("2026-04-06T07:00Z", "2026-04-06T15:00Z", "alice"),
    ]


def test_recurrence_id_modifies_and_cancels_instances() -> None:
    # The 03-23 instance moves to 10:00-18:00 and goes to bob (a swap); the 03-30 one is cancelled; an
    # instance moved from 04-06 to 04-20 (outside the window) disappears from the window. The
    # overrides come before the master in the file on purpose; the cancelled one names its instance
    # in UTC and has no DTSTART of its own.
    ics = cal("""UID:w1
RECURRENCE-ID;TZID=Europe/Berlin:20260323T090000
SUMMARY:On call: bob (Team)
DTSTART;TZID=Europe/Berlin:20260323T100000
DTEND;TZID=Europe/Berlin:20260323T180000""", """UID:w1
RECURRENCE-ID:20260330T070000Z
STATUS:CANCELLED""", """UID:w1
RECURRENCE-ID;TZID=Europe/Berlin:20260406T090000
SEQUENCE:1
SUMMARY:On call: alice (Team)
DTSTART;TZID=Europe/Berlin:20260420T090000""", WEEKLY_BERLIN.format(tail=""))
    assert got(ics, "2026-03-16T00:00:00", "2026-04-14T00:00:00") == [
        ("2026-03-16T08:00Z", "2026-03-16T16:00Z", "alice"),
        ("2026-03-23T09:00Z", "2026-03-23T17:00Z", "bob"),
        ("2026-04-13T07:00Z", "2026-04-13T15:00Z", "alice"),
    ]
    # the moved instance keeps the master's 8 h (it has no DTEND) and shows up where it went
    assert ("2026-04-20T07:00Z", "2026-04-20T15:00Z", "alice") in got(ics, "2026-04-14T00:00:00", "2026-04-21T00:00:00")
    # a cancelled master cancels the whole series, its modified instances too
    assert got(ics.replace("RRULE:FREQ=WEEKLY;BYDAY=MO", "RRULE:FREQ=WEEKLY;BYDAY=MO\nSTATUS:CANCELLED")) == []


def test_floating_and_all_day_recurrences_follow_the_schedule_zone() -> None:
    # floating 09:00 daily from Sat 2026-03-28, in Berlin: 08:00Z, then 07:00Z from Sunday (CEST)
    ics = cal("UID:f\nSUMMARY:x\nDTSTART:20260328T090000\nDTEND:20260328T100000\nRRULE:FREQ=DAILY;COUNT=3")
    assert starts(ics) == ["2026-03-28T08:00Z", "2026-03-29T07:00Z", "2026-03-30T07:00Z"]
    # the same calendar read for America/New_York (EDT since 03-08, UTC-4): 13:00Z every day
    assert starts(ics, tz=timeutil.zone("America/New_York")) == ["2026-03-28T13:00Z", "2026-03-29T13:00Z",
                                                                 "2026-03-30T13:00Z"]
    # all-day: local midnight to midnight; the day of the change is 23 h (23:00Z .. 22:00Z)
    ics = cal("UID:d\nSUMMARY:x\nDTSTART;VALUE=DATE:20260328\nRRULE:FREQ=DAILY;UNTIL=20260330")
    assert got(ics) == [
        ("2026-03-27T23:00Z", "2026-03-28T23:00Z", "x"),
        ("2026-03-28T23:00Z", "2026-03-29T22:00Z", "x"),
        ("2026-03-29T22:00Z", "2026-03-30T22:00Z", "x"),
    ]
    # EXDATE;VALUE=DATE of an all-day series
    assert len(got(ics.replace("RRULE", "EXDATE;VALUE=DATE:20260329\nRRULE"))) == 2


def test_night_shifts_and_durations_over_dst() -> None:
    # 18:00 -> 09:00 next morning, daily: the night of 03-28 is 14 h (17:00Z .. 07:00Z), others 15 h
    ics = cal("UID:n\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260327T180000\n"
              "DTEND;TZID=Europe/Berlin:20260328T090000\nRRULE:FREQ=DAILY;COUNT=3")
    assert [(s, e) for s, e, _ in got(ics)] == [
        ("2026-03-27T17:00Z", "2026-03-28T08:00Z"), ("2026-03-28T17:00Z", "2026-03-29T07:00Z"),
        ("2026-03-29T16:00Z", "2026-03-30T07:00Z")]
    # DURATION:P1D is a nominal day (to 12:00 local: 23 h over the change), PT24H exactly 24 h (13:00 CEST)
    base = "UID:p\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260328T120000\nDURATION:{}\nRRULE:FREQ=DAILY;COUNT=1"
    assert got(cal(base.format("P1D"))) == [("2026-03-28T11:00Z", "2026-03-29T10:00Z", "x")]
    assert got(cal(base.format("PT24H"))) == [("2026-03-28T11:00Z", "2026-03-29T11:00Z", "x")]


def test_nonexistent_and_ambiguous_local_times() -> None:
    # RFC 5545 §3.3.5: 02:30 does not exist on 2026-03-29 in Berlin -> the offset before the gap (+01:00):
    # 01:30Z (shown 03:30 CEST); the day before 02:30 CET = 01:30Z, the day after 02:30 CEST = 00:30Z.
    ics = cal("UID:g\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20260328T023000\nDURATION:PT10M\nRRULE:FREQ=DAILY;COUNT=3")
    assert starts(ics) == ["2026-03-28T01:30Z", "2026-03-29T01:30Z", "2026-03-30T00:30Z"]
    # 02:30 exists twice on 2026-10-25: the first (CEST) one, 00:30Z
    ics = cal("UID:h\nSUMMARY:x\nDTSTART;TZID=Europe/Berlin:20261024T023000\nDURATION:PT10M\nRRULE:FREQ=DAILY;COUNT=2")
    assert starts(ics) == ["2026-10-24T00:30Z", "2026-10-25T00:30Z"]


def test_outlook_windows_zone_with_vtimezone() -> None:
    vtz = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""
    ics = cal("UID:o\nSUMMARY:x\nDTSTART;TZID=W. Europe Standard Time:20260323T090000\n"
              "DTEND;TZID=W. Europe Standard Time:20260323T100000\nRRULE:FREQ=WEEKLY;COUNT=2", extra=vtz)
    assert starts(ics) == ["2026-03-23T08:00Z", "2026-03-30T07:00Z"]


def test_window_keeps_whole_instances_overlapping_it() -> None:
    # the 03-23 09:00-17:00 CET instance overlaps a window starting at 12:00 and is kept whole;
    # one ending exactly at the window start is not
    ics = cal(WEEKLY_BERLIN.format(tail=""))
    assert got(ics, "2026-03-23T12:00:00", "2026-03-24T00:00:00") == [
        ("2026-03-23T08:00Z", "2026-03-23T16:00Z", "alice")]
    assert got(ics, "2026-03-23T17:00:00", "2026-03-30T09:00:00") == []
    # single events are imported whatever the window (as before recurring support)
    single = cal("UID:s\nSUMMARY:x\nDTSTART:20200101T090000Z\nDTEND:20200101T100000Z")
    assert got(single, "2026-01-01T00:00:00", "2026-02-01T00:00:00") == [
        ("2020-01-01T09:00Z", "2020-01-01T10:00Z", "x")]


@pytest.mark.parametrize(("rule", "message"), [
    ("FREQ=FORTNIGHTLY", "FREQ: unknown frequency 'FORTNIGHTLY'"),
    ("BYDAY=MO", "FREQ is required"),
    ("FREQ=WEEKLY;BYDAY=XX", "BYDAY: expected"),
    ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY: an ordinal ('1MO') needs FREQ=MONTHLY or YEARLY"),
    ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY: 0 is out of range"),
    ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY: 32 is out of range (1..31 or -31..-1)"),
    ("FREQ=DAILY;COUNT=3;UNTIL=20260401T000000Z", "COUNT and UNTIL"),
    ("FREQ=DAILY;COUNT=abc", "COUNT: expected integers"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL: 0 is out of range"),
    ("FREQ=DAILY;UNTIL=2026-04-01", "UNTIL: expected"),
    ("FREQ=DAILY;FREQ=WEEKLY", "FREQ given twice"),
    ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
    ("FREQ=MONTHLY;BYWEEKNO=1", "BYWEEKNO needs FREQ=YEARLY"),
    ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS needs another"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTH/BYMONTHDAY: no such day in any of those months"),
    ("FREQ=DAILY;BYHOUR=9;BYSETPOS=2", "BYSETPOS: 2 is beyond"),
    ("FREQ=DAILY;RSCALE=GREGORIAN", "unsupported rule part 'RSCALE'"),
    ("GARBAGE", "rule part 'GARBAGE' is not NAME=VALUE"),
    ("", "empty RRULE"),
])
def test_malformed_rules_name_the_part(rule: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match="^" + re.escape(message)):
        parse_rrule(rule, BERLIN)


def test_bad_input_names_file_and_line() -> None:
    ics = cal(WEEKLY_BERLIN.format(tail=";BYMONTHDAY=0"))
    lines = ics.splitlines()
    rline = next(i for i, s in enumerate(lines, 1) if s.startswith("RRULE"))
    with pytest.raises(InputError) as exc:
        import_ical(ics, BERLIN, "team.ics", t("2026-01-01T00:00:00"), t("2026-02-01T00:00:00"))
    assert str(exc.value) == f"team.ics:{rline}: VEVENT 1 (w1): RRULE: BYMONTHDAY: 0 is out of range (1..31 or -31..-1)"
    # unknown TZIDs are errors, not silently floating times
    with pytest.raises(InputError, match=r"^x\.ics:8: VEVENT 1 \(w1\): DTSTART: unknown time zone TZID=Mars/Olympus"):
        import_ical(cal(WEEKLY_BERLIN.format(tail="").replace("Europe/Berlin:20260316T09", "Mars/Olympus:20260316T09")),
                    BERLIN, "x.ics")
    with pytest.raises(InputError, match="THISANDFUTURE is not supported"):
        import_ical(cal(WEEKLY_BERLIN.format(tail=""), "UID:w1\nRECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:"
                        "20260323T090000\nSUMMARY:bob\nDTSTART;TZID=Europe/Berlin:20260323T100000"), BERLIN, "x.ics",
                    t("2026-01-01T00:00:00"), t("2026-02-01T00:00:00"))
    # a broken DTSTART used to end in a traceback
    with pytest.raises(InputError, match=r"^x\.ics:\d+: VEVENT 1 \(w1\): DTSTART"):
        import_ical(cal(WEEKLY_BERLIN.format(tail="").replace("20260316T090000", "2026031")), BERLIN, "x.ics")


def test_cli_malformed_rrule_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ics = tmp_path / "team.ics"
    text = cal(WEEKLY_BERLIN.format(tail=";BYDAY=FUNDAY"))
    ics.write_text(text)
    rline = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("RRULE"))
    p = run_opsctl("oncall", "import-ical", str(ics), "--time-zone", "Europe/Berlin")
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    err = p.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"team.ics:{rline}:" in err and "BYDAY" in err


def test_cli_expands_in_the_window(tmp_path: Path) -> None:
    import yaml

    ics = tmp_path / "team.ics"
    ics.write_text(cal(WEEKLY_BERLIN.format(tail="")))
    out = tmp_path / "team.yaml"
    p = run_opsctl("oncall", "import-ical", str(ics), "--time-zone", "Europe/Berlin", "--from", "2026-03-20",
                   "--to", "2026-04-03", "-o", str(out))
    assert p.returncode == 0, p.stderr
    doc = yaml.safe_load(out.read_text())
    assert [(o["user"], t(str(o["start"]))) for o in doc["overrides"]] == [
        ("alice", t("2026-03-23T08:00:00Z")), ("alice", t("2026-03-30T07:00:00Z"))]
    # the default window (now .. now+90d) always holds some of an unbounded weekly rule: 12 or 13 Mondays
    p = run_opsctl("oncall", "import-ical", str(ics), "--time-zone", "Europe/Berlin")
    assert p.returncode == 0, p.stderr
    assert len(yaml.safe_load(p.stdout)["overrides"]) in (12, 13)


# --------------------------------------------------------------------------------------- properties

FREQS = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn) -> tuple[str, str]:
    freq = draw(st.sampled_from(FREQS))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(6, 12) if freq == 'HOURLY' else st.integers(1, 3))}"]
    if draw(st.booleans()):
        if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
            n = draw(st.sampled_from(["1", "2", "-1", "-2"]))
            parts.append(f"BYDAY={n}{draw(st.sampled_from(DAYS))}")
        else:
            days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
            parts.append("BYDAY=" + ",".join(days))
    elif freq in ("MONTHLY", "YEARLY", "DAILY") and draw(st.booleans()):
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in draw(
            st.lists(st.sampled_from([1, 2, 15, 28, -1, -2]), min_size=1, max_size=2, unique=True))))
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append("BYMONTH=" + ",".join(str(m) for m in draw(st.lists(st.integers(1, 12), min_size=1, max_size=3,
                                                                             unique=True))))
    if len(parts) > 2 and freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1]))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(DAYS))}")
    end = draw(st.sampled_from(["", "count", "until"]))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    elif end == "until":
        parts.append(f"UNTIL=2026{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}T120000Z")
    day = draw(st.dates(min_value=datetime(2025, 6, 1).date(), max_value=datetime(2026, 6, 1).date()))
    hour = draw(st.sampled_from(["000000", "023000", "090000", "180000", "233000"]))
    start = draw(st.sampled_from([f";TZID=Europe/Berlin:{day:%Y%m%d}T{hour}", f";TZID=America/New_York:{day:%Y%m%d}"
                                  f"T{hour}", f":{day:%Y%m%d}T{hour}", f":{day:%Y%m%d}T{hour}Z",
                                  f";VALUE=DATE:{day:%Y%m%d}"]))
    length = draw(st.sampled_from(["DURATION:PT8H", "DURATION:P1D", "DURATION:P7D", "DURATION:PT30M"]))
    exdate = "" if ";VALUE=DATE" in start else "\nEXDATE" + start.replace(f"{day:%Y%m%d}", f"{day.year}{day.month:02d}"
                                                                           f"{min(day.day + 7, 28):02d}")
    return ";".join(parts), f"UID:r\nSUMMARY:x\nDTSTART{start}\n{length}\nRRULE:{';'.join(parts)}{exdate}"


instants = st.integers(int(t("2025-09-01T00:00:00")), int(t("2026-09-01T00:00:00")))


def expand(ics: str, a: float | None, b: float | None) -> set[tuple[float, float, str]]:
    return {(o.start, o.end, o.user) for o in import_ical(ics, BERLIN, "p.ics", a, b, overlap="latest")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), instants, instants, instants)
def test_expanding_a_window_equals_expanding_its_two_halves(rule: tuple[str, str], x: int, y: int, w: int) -> None:
    # instances overlapping [a, c) = those overlapping [a, b) plus those overlapping [b, c); an instance
    # straddling b is in both halves, once
    a, b, c = sorted((x, y, w))
    assume(a < c)
    ics = cal(rule[1])
    try:
        whole = expand(ics, a, c)
    except InputError as exc:
        assume("instances to walk" not in str(exc))
        raise
    left, right = expand(ics, a, b) if a < b else set(), expand(ics, b, c) if b < c else set()
    assert whole == left | right
    if a < b < c:
        assert left & right == {i for i in whole if i[0] < b < i[1]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), instants, instants)
def test_window_expansion_equals_filtering_the_full_expansion(rule: tuple[str, str], x: int, y: int) -> None:
    # for a bounded rule (COUNT/UNTIL) the windowed expansion is exactly the full one filtered by overlap
    a, c = sorted((x, y))
    assume(a < c and ("COUNT=" in rule[0] or "UNTIL=" in rule[0]))
    ics = cal(rule[1])
    full = expand(ics, None, None)
    assert expand(ics, a, c) == {i for i in full if i[0] < c and i[1] > a}
    if "COUNT=" in rule[0]:  # at most COUNT instances (fewer with the EXDATE), DTSTART counting as one
        n = int(rule[0].split("COUNT=")[1].split(";")[0])
        assert len(full) <= n


def test_rules_walking_too_far_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import opsctl.oncall.ical_recur as recur

    monkeypatch.setattr(recur, "MAX_STEPS", 1000)
    # daily since 2020-01-01: ~2,200 instances before a 2026 window -> refused, naming the event's line
    ics = cal("UID:old\nSUMMARY:x\nDTSTART:20200101T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY")
    with pytest.raises(InputError, match=r"^old\.ics:4: VEVENT 1 \(old\): RRULE FREQ=DAILY: more than 1000 instances"):
        import_ical(ics, BERLIN, "old.ics", t("2026-01-01T00:00:00"), t("2026-02-01T00:00:00"))
    # a 2020 window is fine
    assert len(import_ical(ics, BERLIN, "old.ics", t("2020-01-01T00:00:00"), t("2020-02-01T00:00:00"))) == 31


def test_example_calendar() -> None:
    # examples/oncall/recurring.ics (a Google Calendar export): a 3-week rotation alice/bob/carol with
    # Mon 09:00 hand-offs, alice's 04-13 week excluded, bob's 03-30 week swapped to erin
    # (RECURRENCE-ID), and dave's month-end weekend cover (last Friday 18:00 -> Monday 09:00:
    # 03-27 18:00 CET -> 03-30 09:00 CEST is 62 h, one less than on the wall clock).
    path = Path(__file__).resolve().parents[2] / "examples" / "oncall" / "recurring.ics"
    got_ = [(timeutil.iso(o.start, BERLIN), timeutil.iso(o.end, BERLIN), o.user) for o in
            import_ical(path.read_text(), BERLIN, str(path), t("2026-03-16T00:00:00"), t("2026-04-27T00:00:00"),
                        overlap="latest")]
    assert got_ == [
        ("2026-03-09T09:00:00+01:00", "2026-03-16T09:00:00+01:00", "bob"),
        ("2026-03-16T09:00:00+01:00", "2026-03-23T09:00:00+01:00", "carol"),
        ("2026-03-23T09:00:00+01:00", "2026-03-30T09:00:00+02:00", "alice"),
        ("2026-03-27T18:00:00+01:00", "2026-03-30T09:00:00+02:00", "dave"),
        ("2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00", "erin"),
        ("2026-04-06T09:00:00+02:00", "2026-04-13T09:00:00+02:00", "carol"),
        ("2026-04-20T09:00:00+02:00", "2026-04-27T09:00:00+02:00", "bob"),
        ("2026-04-24T18:00:00+02:00", "2026-04-27T09:00:00+02:00", "dave"),
    ]
