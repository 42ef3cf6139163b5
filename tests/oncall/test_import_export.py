"""PagerDuty JSON import and iCalendar export/import (round trip)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.ical import export_ical, import_ical
from opsctl.oncall.pagerduty import policy_from_pagerduty, schedule_from_pagerduty
from opsctl.oncall.policy import parse_policy
from opsctl.oncall.schedule import Schedule, load_schedule, parse_schedule, schedule_to_dict

from .helpers import BERLIN, shifts, t

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "oncall"


def pd_schedule(layer_order: str = "get") -> Schedule:
    data = json.loads((EXAMPLES / "pagerduty-schedule.json").read_text())
    return parse_schedule(schedule_from_pagerduty(data, "pd.json", layer_order, "summary"), "pd.json")  # type: ignore[arg-type]


def test_pagerduty_get_order_puts_first_layer_on_top() -> None:
    # GET lists "Layer 2" (daily erin/frank 09-17) first = highest. Wed 2026-03-04: turn index of the daily
    # layer since Mon 2026-01-05 09:00 is 58 days -> erin at 10:00 (58 % 2 = 0); weekly layer: 8 weeks -> alice.
    # The override puts grace on 18:00 .. Thu 08:00.
    s = pd_schedule()
    assert [layer.name for layer in s.layers] == ["Layer 1", "Layer 2"]
    assert shifts(s, "2026-03-04T08:00:00", "2026-03-05T10:00:00") == [
        ("2026-03-04T08:00:00+01:00", "2026-03-04T09:00:00+01:00", ("alice",)),
        ("2026-03-04T09:00:00+01:00", "2026-03-04T17:00:00+01:00", ("erin",)),
        ("2026-03-04T17:00:00+01:00", "2026-03-04T18:00:00+01:00", ("alice",)),
        ("2026-03-04T18:00:00+01:00", "2026-03-05T08:00:00+01:00", ("grace",)),
        ("2026-03-05T08:00:00+01:00", "2026-03-05T09:00:00+01:00", ("alice",)),
        ("2026-03-05T09:00:00+01:00", "2026-03-05T10:00:00+01:00", ("frank",)),
    ]
    # read as a POST payload, the weekly layer is on top and hides the daytime layer completely
    post = pd_schedule("post")
    assert shifts(post, "2026-03-04T08:00:00", "2026-03-04T18:00:00") == [
        ("2026-03-04T08:00:00+01:00", "2026-03-04T18:00:00+01:00", ("alice",))]


def test_pagerduty_import_survives_yaml_round_trip(tmp_path: Path) -> None:
    s = pd_schedule()
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(schedule_to_dict(s), sort_keys=False))
    again = load_schedule(path)
    a, b = t("2026-01-01T00:00:00"), t("2026-06-01T00:00:00")
    want = [(g.start, g.end, g.users) for g in s.render(a, b)]
    assert [(g.start, g.end, g.users) for g in again.render(a, b)] == want


def test_pagerduty_policy_import() -> None:
    data = json.loads((EXAMPLES / "pagerduty-policy.json").read_text())
    pol = parse_policy(policy_from_pagerduty(data, "p.json", "summary"), "p.json")
    assert pol.num_loops == 2
    assert [(lv.delay_minutes, [str(x) for x in lv.targets]) for lv in pol.levels] == [
        (10.0, ["schedule:PSCHED1"]), (15.0, ["user:mallory"])]
    with pytest.raises(InputError, match="not a PagerDuty escalation policy"):
        policy_from_pagerduty({"foo": 1})


def test_ical_round_trip_reproduces_the_final_schedule() -> None:
    s = load_schedule(EXAMPLES / "primary.yaml")
    a, b = t("2026-03-16T00:00:00"), t("2026-04-13T00:00:00")
    segs = s.render(a, b)
    data = export_ical(s, segs)
    assert data.count(b"BEGIN:VEVENT") == len(segs)
    back = Schedule("imported", "imported", "Europe/Berlin", [], import_ical(data, BERLIN))
    # the same people at the same times (adjacent shifts of one person from different layers join up)
    assert joined(back.render(a, b)) == joined(segs)
    assert len(back.overrides) == len(segs)


def joined(segs: list) -> list[tuple[float, float, tuple[str, ...]]]:  # type: ignore[type-arg]
    out: list[tuple[float, float, tuple[str, ...]]] = []
    for g in segs:
        if out and out[-1][1] == g.start and out[-1][2] == g.users:
            out[-1] = (out[-1][0], g.end, g.users)
        else:
            out.append((g.start, g.end, g.users))
    return out


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
DTSTAMP:20260101T000000Z
DTSTART:20260302T090000
DTEND:20260302T170000
SUMMARY:On call: alice (Team)
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260303
ATTENDEE;CN=bob:mailto:bob@example.com
END:VEVENT
END:VCALENDAR
"""


def test_ical_import_floating_times_all_day_and_attendees() -> None:
    # Floating 09:00-17:00 is Berlin local time; the all-day event runs 2026-03-03 00:00 .. 03-04 00:00.
    got = import_ical(ICS, BERLIN)
    assert [(timeutil.iso(o.start, BERLIN), timeutil.iso(o.end, BERLIN), o.user) for o in got] == [
        ("2026-03-02T09:00:00+01:00", "2026-03-02T17:00:00+01:00", "alice"),
        ("2026-03-03T00:00:00+01:00", "2026-03-04T00:00:00+01:00", "bob"),
    ]


RECURRING_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:rot-a
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:20260309T090000
DTEND;TZID=Europe/Berlin:20260316T090000
RRULE:FREQ=WEEKLY;INTERVAL=2
EXDATE;TZID=Europe/Berlin:20260420T090000
SUMMARY:On call: alice (Payments)
END:VEVENT
BEGIN:VEVENT
UID:rot-b
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260323T090000
RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=20260413T070000Z
SUMMARY:On call: bob (Payments)
END:VEVENT
BEGIN:VEVENT
UID:rot-a
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260323T090000
DTSTART;TZID=Europe/Berlin:20260323T090000
DTEND;TZID=Europe/Berlin:20260325T090000
ATTENDEE;CN=carol:mailto:carol@example.com
END:VEVENT
END:VCALENDAR
"""


def test_ical_round_trip_of_recurring_input() -> None:
    # alice and bob alternate weekly Mon 09:00 Berlin hand-offs (a 2-week rule each). carol takes
    # alice's 03-23 week but only until Wed 03-25 09:00 (a RECURRENCE-ID instance), so 03-25 .. 03-30
    # has nobody. bob's UNTIL (04-13 07:00Z = 09:00 CEST, inclusive) keeps his 04-13 week and drops
    # 04-27; alice's 04-20 week is an EXDATE. alice's 03-09 week overlaps the window start and is kept
    # whole. Hand-offs stay at 09:00 local after the DST change on 03-29.
    a, b = t("2026-03-16T00:00:00"), t("2026-05-04T00:00:00")
    imported = Schedule("rot", "rot", "Europe/Berlin", [], import_ical(RECURRING_ICS, BERLIN, "rot.ics", a, b))
    want = [
        ("2026-03-16T00:00:00+01:00", "2026-03-16T09:00:00+01:00", ("alice",)),
        ("2026-03-16T09:00:00+01:00", "2026-03-23T09:00:00+01:00", ("bob",)),
        ("2026-03-23T09:00:00+01:00", "2026-03-25T09:00:00+01:00", ("carol",)),
        ("2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00", ("bob",)),
        ("2026-04-06T09:00:00+02:00", "2026-04-13T09:00:00+02:00", ("alice",)),
        ("2026-04-13T09:00:00+02:00", "2026-04-20T09:00:00+02:00", ("bob",)),
    ]
    assert shifts(imported, "2026-03-16T00:00:00", "2026-05-04T00:00:00") == want
    assert imported.overrides[0].start == t("2026-03-09T09:00:00")
    # export the rendered shifts (no RRULE any more) and import them again: the same final schedule
    segs = imported.render(a, b)
    data = export_ical(imported, segs)
    back = Schedule("back", "back", "Europe/Berlin", [], import_ical(data, BERLIN, "back.ics", a, b))
    assert joined(back.render(a, b)) == joined(segs)
    # and the window only picks instances: a later window gives alice's 05-04 week and nothing of bob's
    later = import_ical(RECURRING_ICS, BERLIN, "rot.ics", t("2026-05-01T00:00:00"), t("2026-05-08T00:00:00"))
    assert [(timeutil.iso(o.start, BERLIN), o.user) for o in later] == [("2026-05-04T09:00:00+02:00", "alice")]
