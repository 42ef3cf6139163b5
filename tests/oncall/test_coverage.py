"""Gaps and load with hand-worked numbers."""

from __future__ import annotations

import pytest

from opsctl.oncall.coverage import Timeline, gaps, gini, load

from .helpers import sched, t

ONE_PERSON = """
time_zone: Europe/Berlin
holidays: {holidays}
schedule_layers:
  - name: l
    start: 2026-03-02T00:00:00
    rotation_turn_length: 1w
    users: [alice]
"""


def test_load_categories_for_one_week() -> None:
    # Mon 2026-03-02 00:00 .. Mon 2026-03-09 00:00 Berlin (no DST): 168 h = business 5 x 8 = 40,
    # off-hours 5 x 16 = 80, weekend 2 x 24 = 48.
    s = sched(ONE_PERSON.format(holidays="[]"))
    p = load(s, t("2026-03-02T00:00:00"), t("2026-03-09T00:00:00")).people[0]
    assert (p.total_hours, p.business_hours, p.off_hours, p.weekend_hours, p.holiday_hours) == (168, 40, 80, 48, 0)
    # Wednesday 2026-03-04 a holiday: its 24 h move to holiday (business 32, off-hours 64).
    s = sched(ONE_PERSON.format(holidays="[2026-03-04]"))
    p = load(s, t("2026-03-02T00:00:00"), t("2026-03-09T00:00:00")).people[0]
    assert (p.total_hours, p.business_hours, p.off_hours, p.weekend_hours, p.holiday_hours) == (168, 32, 64, 48, 24)


def test_load_on_dst_sunday_is_23_hours() -> None:
    # Sunday 2026-03-29 in Berlin has 23 hours, all weekend.
    s = sched(ONE_PERSON.format(holidays="[]"))
    p = load(s, t("2026-03-29T00:00:00"), t("2026-03-30T00:00:00")).people[0]
    assert (p.total_hours, p.weekend_hours) == (23, 23)


def test_streak_rest_and_fairness() -> None:
    # Weekly alice/bob from Mon 2026-03-02 09:00, window of 3 weeks: alice weeks 1 and 3 (336 h, longest
    # streak 168 h, shortest rest 168 h), bob week 2 (168 h, no rest). Gini([168, 336]) = 1/6, balance 0.8333.
    s = sched("""
time_zone: Europe/Berlin
schedule_layers:
  - name: l
    start: 2026-03-02T09:00:00
    rotation_turn_length: 1w
    users: [alice, bob]
""")
    rep = load(s, t("2026-03-02T09:00:00"), t("2026-03-23T09:00:00"))
    alice, bob = rep.people
    assert (alice.user, alice.total_hours, alice.longest_streak_hours, alice.shortest_rest_hours) == \
        ("alice", 336, 168, 168)
    assert (bob.user, bob.total_hours, bob.shortest_rest_hours, bob.shifts) == ("bob", 168, None, 1)
    assert rep.fairness["balance_score"] == pytest.approx(0.8333, abs=1e-4)


def test_gini_known_values() -> None:
    assert gini([1, 1, 1, 1]) == 0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n-1)/n when one person carries everything
    assert gini([]) == 0


def test_gaps_weekday_business_hours_only() -> None:
    # Only Mon-Fri 09:00-17:00 covered: in the week Mon 2026-03-02 00:00 .. Mon 03-09 00:00 there are
    # 6 gaps: Mon 00-09, 17-09 four times, Fri 17:00 .. Mon 00:00 (55 h); total 168 - 40 = 128 h.
    s = sched("""
time_zone: Europe/Berlin
schedule_layers:
  - name: l
    start: 2026-03-02T00:00:00
    rotation_turn_length: 1d
    users: [alice]
    restrictions:
""" + "".join(f"""      - {{type: weekly_restriction, start_day_of_week: {d}, start_time_of_day: "09:00:00",
          duration_seconds: 28800}}
""" for d in range(1, 6)))
    t0, t1 = t("2026-03-02T00:00:00"), t("2026-03-09T00:00:00")
    g = gaps(Timeline(s.render(t0, t1)).covered(), t0, t1)
    assert len(g) == 6
    assert sum(e - s for s, e in g) / 3600 == 128
    assert g[0] == (t("2026-03-02T00:00:00"), t("2026-03-02T09:00:00"))
    assert g[-1] == (t("2026-03-06T17:00:00"), t("2026-03-09T00:00:00"))
