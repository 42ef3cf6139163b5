"""Hand-worked answers for rotations, hand-offs across DST, restrictions, layers and overrides."""

from __future__ import annotations

import pytest

from opsctl.errors import InputError
from opsctl.oncall.coverage import Timeline, who

from .helpers import sched, shifts, t

WEEKLY = """
time_zone: Europe/Berlin
schedule_layers:
  - name: weekly
    start: 2026-03-02T09:00:00
    rotation_turn_length_seconds: 604800
    users: [alice, bob, carol]
"""


def test_weekly_handoff_stays_at_0900_local_across_spring_dst() -> None:
    # Berlin DST change on 2026-03-29 (02:00 CET -> 03:00 CEST). Turns from Mon 2026-03-02 09:00:
    # alice, bob, carol, alice, bob. The shift of alice from 2026-03-23 09:00 CET to 2026-03-30 09:00 CEST
    # is 167 h; the others are 168 h.
    got = shifts(sched(WEEKLY), "2026-03-02T09:00:00", "2026-04-06T09:00:00")
    assert got == [
        ("2026-03-02T09:00:00+01:00", "2026-03-09T09:00:00+01:00", ("alice",)),
        ("2026-03-09T09:00:00+01:00", "2026-03-16T09:00:00+01:00", ("bob",)),
        ("2026-03-16T09:00:00+01:00", "2026-03-23T09:00:00+01:00", ("carol",)),
        ("2026-03-23T09:00:00+01:00", "2026-03-30T09:00:00+02:00", ("alice",)),
        ("2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00", ("bob",)),
    ]
    segs = sched(WEEKLY).render(t("2026-03-23T09:00:00"), t("2026-03-30T09:00:00"))
    assert [s.hours for s in segs] == [167.0]


def test_weekly_handoff_across_autumn_dst_is_169_hours() -> None:
    # Berlin back to CET on 2026-10-25. Mar 2 -> Oct 19 is 231 days = 33 weeks; 33 % 3 = 0 -> alice.
    # Her shift 2026-10-19 09:00 CEST -> 2026-10-26 09:00 CET lasts 169 h (07:00Z -> 08:00Z a week later).
    s = sched(WEEKLY)
    segs = s.render(t("2026-10-19T09:00:00"), t("2026-10-26T09:00:00"))
    assert len(segs) == 1 and segs[0].users == ("alice",) and segs[0].hours == 169.0
    assert segs[0].start == t("2026-10-19T07:00:00Z") and segs[0].end == t("2026-10-26T08:00:00Z")


def test_twelve_hour_turns_hand_off_at_local_0900_and_2100_across_dst() -> None:
    # 12 h turns from 2026-03-27 09:00: day shifts 09-21 local, night shifts 21-09 local.
    # The night of 2026-03-28/29 (21:00 CET -> 09:00 CEST) is 11 h; the day after is 12 h again.
    s = sched("""
time_zone: Europe/Berlin
layers:
  - name: halves
    start: 2026-03-27T09:00:00
    rotation_turn_length: 12h
    users: [day, night]
""")
    got = shifts(s, "2026-03-28T09:00:00", "2026-03-29T21:00:00")
    assert got == [
        ("2026-03-28T09:00:00+01:00", "2026-03-28T21:00:00+01:00", ("day",)),
        ("2026-03-28T21:00:00+01:00", "2026-03-29T09:00:00+02:00", ("night",)),
        ("2026-03-29T09:00:00+02:00", "2026-03-29T21:00:00+02:00", ("day",)),
    ]
    segs = s.render(t("2026-03-28T21:00:00"), t("2026-03-29T09:00:00"))
    assert segs[0].hours == 11.0


def test_rotation_position_counts_from_virtual_start() -> None:
    # Virtual start Mon 2026-01-05 09:00 but the layer starts 2026-01-19 09:00: two turns have passed,
    # so the first person on call is users[2] = carol; nobody before the layer start.
    s = sched("""
time_zone: UTC
schedule_layers:
  - name: l
    start: 2026-01-19T09:00:00
    rotation_virtual_start: 2026-01-05T09:00:00
    rotation_turn_length_seconds: 604800
    users: [alice, bob, carol]
""")
    got = shifts(s, "2026-01-18T00:00:00", "2026-02-02T09:00:00")
    assert got == [
        ("2026-01-19T09:00:00+00:00", "2026-01-26T09:00:00+00:00", ("carol",)),
        ("2026-01-26T09:00:00+00:00", "2026-02-02T09:00:00+00:00", ("alice",)),
    ]


def test_daily_restriction_window() -> None:
    # Daily turns at 00:00 (alice, bob) restricted to 09:00-17:00 (28800 s): Mon 2026-03-02 alice 09-17,
    # Tue bob 09-17; nobody at 08:59 or 17:00.
    s = sched("""
time_zone: Europe/Berlin
schedule_layers:
  - name: days
    start: 2026-03-02T00:00:00
    rotation_turn_length_seconds: 86400
    users: [alice, bob]
    restrictions:
      - {type: daily_restriction, start_time_of_day: "09:00:00", duration_seconds: 28800}
""")
    assert shifts(s, "2026-03-02T00:00:00", "2026-03-04T00:00:00") == [
        ("2026-03-02T09:00:00+01:00", "2026-03-02T17:00:00+01:00", ("alice",)),
        ("2026-03-03T09:00:00+01:00", "2026-03-03T17:00:00+01:00", ("bob",)),
    ]
    tl = Timeline(s.render(t("2026-03-02T00:00:00"), t("2026-03-04T00:00:00")))
    assert tl.at(t("2026-03-02T08:59:59")) == ()
    assert tl.at(t("2026-03-02T09:00:00")) == ("alice",)
    assert tl.at(t("2026-03-02T17:00:00")) == ()


def test_restriction_window_split_at_handoff() -> None:
    # Daily turns handing off at 12:00 (alice then bob), restricted to 09:00-17:00: the window of
    # Mon 2026-03-02 is split at the hand-off: alice 09:00-12:00 (her turn began Sun 12:00), bob 12:00-17:00.
    s = sched("""
time_zone: UTC
schedule_layers:
  - name: l
    start: 2026-03-01T12:00:00
    rotation_turn_length_seconds: 86400
    users: [alice, bob]
    restrictions:
      - {type: daily_restriction, start_time_of_day: "09:00:00", duration_seconds: 28800}
""")
    assert shifts(s, "2026-03-02T00:00:00", "2026-03-03T00:00:00") == [
        ("2026-03-02T09:00:00+00:00", "2026-03-02T12:00:00+00:00", ("alice",)),
        ("2026-03-02T12:00:00+00:00", "2026-03-02T17:00:00+00:00", ("bob",)),
    ]


def test_weekly_restriction_crossing_midnight_and_dst() -> None:
    # Sat 22:00 + 9 h: on Sat 2026-03-28 the window runs to Sun 07:00 CEST, which is only 8 h of real time
    # (the DST jump loses an hour); the week before it is 9 h.
    s = sched("""
time_zone: Europe/Berlin
schedule_layers:
  - name: sat-night
    start: 2026-03-01T00:00:00
    rotation_turn_length: 1w
    users: [grace]
    restrictions:
      - {type: weekly_restriction, start_day_of_week: 6, start_time_of_day: "22:00:00", duration_seconds: 32400}
""")
    got = shifts(s, "2026-03-20T00:00:00", "2026-03-30T00:00:00")
    assert got == [
        ("2026-03-21T22:00:00+01:00", "2026-03-22T07:00:00+01:00", ("grace",)),
        ("2026-03-28T22:00:00+01:00", "2026-03-29T07:00:00+02:00", ("grace",)),
    ]
    segs = s.render(t("2026-03-20T00:00:00"), t("2026-03-30T00:00:00"))
    assert [g.hours for g in segs] == [9.0, 8.0]


def test_weekly_restriction_across_autumn_dst_is_10_hours() -> None:
    # Sat 2026-10-24 22:00 CEST + 9 h wall-clock -> Sun 07:00 CET: 10 h of real time (the hour repeats).
    s = sched("""
time_zone: Europe/Berlin
schedule_layers:
  - name: sat-night
    start: 2026-10-01T00:00:00
    rotation_turn_length: 1w
    users: [grace]
    restrictions:
      - {type: weekly_restriction, start_day_of_week: 6, start_time_of_day: "22:00:00", duration_seconds: 32400}
""")
    assert shifts(s, "2026-10-24T00:00:00", "2026-10-26T00:00:00") == [
        ("2026-10-24T22:00:00+02:00", "2026-10-25T07:00:00+01:00", ("grace",))]
    assert s.render(t("2026-10-24T00:00:00"), t("2026-10-26T00:00:00"))[0].hours == 10.0


TWO_LAYERS = """
time_zone: Europe/Berlin
mode: {mode}
schedule_layers:
  - name: base
    start: 2026-03-02T00:00:00
    rotation_turn_length: 1w
    users: [alice]
  - name: daytime
    start: 2026-03-02T00:00:00
    rotation_turn_length: 1d
    users: [bob]
    restrictions:
      - {{type: weekly_restriction, start_day_of_week: 1, start_time_of_day: "09:00:00", duration_seconds: 28800}}
overrides:
  - {{start: 2026-03-02T12:00:00, end: 2026-03-02T13:00:00, user: carol}}
  - {{start: 2026-03-02T12:30:00, end: 2026-03-02T14:00:00, user: dave}}
"""


def test_higher_layer_wins_and_overrides_on_top() -> None:
    # Monday 2026-03-02: alice (layer 1) all day, bob (layer 2) 09-17 wins, overrides carol 12:00-13:00 and
    # dave 12:30-14:00 (the later override wins where they overlap: carol only 12:00-12:30).
    s = sched(TWO_LAYERS.format(mode="priority"))
    assert shifts(s, "2026-03-02T00:00:00", "2026-03-03T00:00:00") == [
        ("2026-03-02T00:00:00+01:00", "2026-03-02T09:00:00+01:00", ("alice",)),
        ("2026-03-02T09:00:00+01:00", "2026-03-02T12:00:00+01:00", ("bob",)),
        ("2026-03-02T12:00:00+01:00", "2026-03-02T12:30:00+01:00", ("carol",)),
        ("2026-03-02T12:30:00+01:00", "2026-03-02T14:00:00+01:00", ("dave",)),
        ("2026-03-02T14:00:00+01:00", "2026-03-02T17:00:00+01:00", ("bob",)),
        ("2026-03-02T17:00:00+01:00", "2026-03-03T00:00:00+01:00", ("alice",)),
    ]
    w = who(s, t("2026-03-02T10:00:00"))
    assert w == {"users": ["bob"], "layers": {"base": ["alice"], "daytime": ["bob"]}, "override": False}
    assert who(s, t("2026-03-02T12:45:00"))["users"] == ["dave"]


def test_union_mode_puts_all_layers_on_call() -> None:
    s = sched(TWO_LAYERS.format(mode="union"))
    got = shifts(s, "2026-03-02T08:00:00", "2026-03-02T18:00:00")
    assert got[0] == ("2026-03-02T08:00:00+01:00", "2026-03-02T09:00:00+01:00", ("alice",))
    assert got[1] == ("2026-03-02T09:00:00+01:00", "2026-03-02T12:00:00+01:00", ("alice", "bob"))
    assert got[-2] == ("2026-03-02T14:00:00+01:00", "2026-03-02T17:00:00+01:00", ("alice", "bob"))
    assert got[-1] == ("2026-03-02T17:00:00+01:00", "2026-03-02T18:00:00+01:00", ("alice",))


def test_layer_end_leaves_a_gap() -> None:
    s = sched("""
time_zone: UTC
schedule_layers:
  - name: l
    start: 2026-03-02T00:00:00
    end: 2026-03-03T06:00:00
    rotation_turn_length: 1d
    users: [alice, bob]
""")
    assert shifts(s, "2026-03-01T00:00:00", "2026-03-05T00:00:00") == [
        ("2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00", ("alice",)),
        ("2026-03-03T00:00:00+00:00", "2026-03-03T06:00:00+00:00", ("bob",)),
    ]


@pytest.mark.parametrize(("body", "message", "line"), [
    ("time_zone: Mars/Olympus\n", "unknown time zone", 1),
    ("schedule_layers:\n  - name: a\n    start: 2026-01-01\n    rotation_turn_length: 1d\n    userz: [a]\n",
     "unknown field 'userz'", 5),
    ("schedule_layers:\n  - name: a\n    start: 2026-01-01\n    rotation_turn_length: 1d\n    users: [a]\n"
     "    restrictions:\n      - {type: daily_restriction, start_time_of_day: 10:00, duration_seconds: 60}\n",
     "quoted time of day", 7),
    ("schedule_layers:\n  - name: a\n    start: yesterday\n    rotation_turn_length: 1d\n    users: [a]\n",
     "not an ISO 8601 time", 3),
    ("schedule_layers:\n  - name: a\n    start: 2026-01-01\n    rotation_turn_length_seconds: 5\n    users: [a]\n",
     "turn length", 4),
])
def test_bad_schedules_name_file_line_column(body: str, message: str, line: int) -> None:
    with pytest.raises(InputError) as exc:
        sched(body)
    assert message in str(exc.value)
    assert exc.value.file == "test.yaml" and exc.value.line == line and exc.value.column > 0
