"""Questions about a rendered schedule: who is on call, where the gaps are, and the load per person."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from opsctl.oncall import timeutil
from opsctl.oncall.intervals import Segment, complement, merge
from opsctl.oncall.policy import Policy, Target
from opsctl.oncall.schedule import Schedule


class Timeline:
    """A rendered schedule for fast point look-ups (bisect over segment starts)."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.starts = [s.start for s in segments]

    def at(self, ts: float) -> tuple[str, ...]:
        i = bisect.bisect_right(self.starts, ts) - 1
        if i >= 0 and self.segments[i].end > ts:
            return self.segments[i].users
        return ()

    def covered(self) -> list[tuple[float, float]]:
        return merge([(s.start, s.end) for s in self.segments])


def who(schedule: Schedule, ts: float) -> dict[str, object]:
    """Who is on call at `ts`: the final answer and what each layer says."""
    final = Timeline(schedule.render(ts - 1, ts + 1)).at(ts)
    layers = {name: Timeline(segs).at(ts) for name, segs in schedule.layer_segments(ts - 1, ts + 1).items()}
    overridden = any(o.start <= ts < o.end for o in schedule.overrides)
    return {"users": list(final), "layers": {k: list(v) for k, v in layers.items()}, "override": overridden}


def gaps(covered: list[tuple[float, float]], t0: float, t1: float) -> list[tuple[float, float]]:
    return complement(merge(covered), t0, t1)


@dataclass
class PersonLoad:
    user: str
    total_hours: float = 0.0
    business_hours: float = 0.0
    off_hours: float = 0.0
    weekend_hours: float = 0.0
    holiday_hours: float = 0.0
    shifts: int = 0
    longest_streak_hours: float = 0.0
    shortest_rest_hours: float | None = None
    intervals: list[tuple[float, float]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "user": self.user,
            "total_hours": round(self.total_hours, 3),
            "business_hours": round(self.business_hours, 3),
            "off_hours": round(self.off_hours, 3),
            "weekend_hours": round(self.weekend_hours, 3),
            "holiday_hours": round(self.holiday_hours, 3),
            "shifts": self.shifts,
            "longest_streak_hours": round(self.longest_streak_hours, 3),
            "shortest_rest_hours": None if self.shortest_rest_hours is None else round(self.shortest_rest_hours, 3),
        }


def _split_categories(schedule: Schedule, s: float, e: float, p: PersonLoad) -> None:
    """Add [s, e) to p's categories: holiday > weekend (days outside business days) > business/off-hours."""
    tz = schedule.tz
    bh = schedule.business_hours
    for day in timeutil.local_days(s, e, tz):
        d0 = timeutil.local_to_epoch(datetime.combine(day, time()), tz)
        d1 = timeutil.local_to_epoch(datetime.combine(day + timedelta(days=1), time()), tz)
        a, b = max(s, d0), min(e, d1)
        if b <= a:
            continue
        hours = (b - a) / 3600.0
        if day in schedule.holidays:
            p.holiday_hours += hours
        elif day.isoweekday() not in bh.days:
            p.weekend_hours += hours
        else:
            b0 = timeutil.local_to_epoch(datetime.combine(day, time()) + timedelta(seconds=bh.start), tz)
            b1 = timeutil.local_to_epoch(datetime.combine(day, time()) + timedelta(seconds=bh.end), tz)
            biz = max(0.0, min(b, b1) - max(a, b0)) / 3600.0
            p.business_hours += biz
            p.off_hours += hours - biz


def gini(values: list[float]) -> float:
    """Gini coefficient (0 = perfectly equal, towards 1 = one person carries everything)."""
    n = len(values)
    total = sum(values)
    if n == 0 or total <= 0:
        return 0.0
    xs = sorted(values)
    cum = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * cum) / (n * total) - (n + 1) / n


@dataclass
class LoadReport:
    people: list[PersonLoad]
    fairness: dict[str, float | None]


def load(schedule: Schedule, t0: float, t1: float) -> LoadReport:
    """Hours per person by category, longest streak, shortest rest and fairness over [t0, t1)."""
    people: dict[str, PersonLoad] = {u: PersonLoad(u) for u in schedule.users()}
    per_user: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for seg in schedule.render(t0, t1):
        for u in seg.users:
            per_user[u].append((seg.start, seg.end))
    for u, ivs in per_user.items():
        p = people.setdefault(u, PersonLoad(u))
        merged = merge(ivs)
        p.intervals = merged
        p.shifts = len(merged)
        for s, e in merged:
            p.total_hours += (e - s) / 3600.0
            _split_categories(schedule, s, e, p)
        p.longest_streak_hours = max((e - s) / 3600.0 for s, e in merged)
        rests = [(merged[i + 1][0] - merged[i][1]) / 3600.0 for i in range(len(merged) - 1)]
        p.shortest_rest_hours = min(rests) if rests else None
    rows = [people[u] for u in sorted(people)]
    totals = [p.total_hours for p in rows]
    burden = [p.off_hours + p.weekend_hours + p.holiday_hours for p in rows]
    return LoadReport(rows, {
        "balance_score": round(1.0 - gini(totals), 4),
        "off_hours_balance_score": round(1.0 - gini(burden), 4),
        "max_over_mean": round(max(totals) / (sum(totals) / len(totals)), 4) if sum(totals) > 0 else None,
    })


# ------------------------------------------------------------------------------------- policy levels


def _members(policy: Policy, target: Target, schedule_users: dict[str, list[str]]) -> list[str]:
    if target.kind == "user":
        return [target.id]
    if target.kind == "team":
        return list(policy.teams[target.id])
    if target.kind == "schedule":
        return schedule_users[target.id]
    return []


def policy_levels_at(policy: Policy, schedules: dict[str, Schedule], ts: float) -> list[dict[str, object]]:
    """Who each escalation level would page at `ts`: everyone its person targets give (for a round-robin
    level: the ring, of which one target is paged per incident), and the channels/webhooks it notifies."""
    policy.check_schedules(schedules)
    on_call = {sid: list(Timeline(s.render(ts - 1, ts + 1)).at(ts)) for sid, s in schedules.items()}
    out: list[dict[str, object]] = []
    for i, lv in enumerate(policy.levels):
        users: list[str] = []
        for t in lv.people_targets:
            users += [u for u in _members(policy, t, on_call) if u not in users]
        out.append({"level": i + 1, "targets": [str(t) for t in lv.targets], "users": users,
                    "round_robin": lv.round_robin, "notifies": [str(t) for t in lv.notify_targets]})
    return out


def schedule_gaps(schedules: dict[str, Schedule], t0: float,
                  t1: float) -> list[tuple[str, list[tuple[float, float]]]]:
    """Gaps of each schedule over [t0, t1) (`oncall gaps` without a policy)."""
    return [(sid, gaps(Timeline(s.render(t0, t1)).covered(), t0, t1)) for sid, s in schedules.items()]


def level_gaps(policy: Policy, schedules: dict[str, Schedule], t0: float, t1: float,
               levels: list[int] | None = None) -> list[tuple[str, list[tuple[float, float]]]]:
    """Gaps per escalation level over [t0, t1): a level is covered where any of its person targets has
    someone (a user or a team always does; a schedule where it is covered). Channels and webhooks page
    nobody, so a level with only those is one gap."""
    policy.check_schedules(schedules)
    covered = {sid: Timeline(schedules[sid].render(t0, t1)).covered() for sid in policy.schedule_ids()}
    out: list[tuple[str, list[tuple[float, float]]]] = []
    for i, lv in enumerate(policy.levels):
        if levels and i + 1 not in levels:
            continue
        people = lv.people_targets
        if any(t.kind in ("user", "team") for t in people):
            out.append((f"level {i + 1}", []))
            continue
        cov = [iv for t in people for iv in covered[t.id]]
        out.append((f"level {i + 1}", gaps(cov, t0, t1)))
    return out
