"""Property tests: rendering invariants, wall-clock hand-offs in several zones, parser robustness."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.coverage import Timeline, load, who
from opsctl.oncall.schedule import Schedule, parse_schedule

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Asia/Kathmandu"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def restriction(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["daily_restriction", "weekly_restriction"]))
    tod = f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30])):02d}:00"
    limit = 86400 if kind == "daily_restriction" else 7 * 86400
    r = {"type": kind, "start_time_of_day": tod, "duration_seconds": draw(st.integers(1, limit // 900)) * 900}
    if kind == "weekly_restriction":
        r["start_day_of_week"] = draw(st.integers(1, 7))
    return r


@st.composite
def schedule(draw: Any) -> Schedule:
    layers = []
    for i in range(draw(st.integers(1, 3))):
        start = datetime(2026, 1, 1) + timedelta(hours=draw(st.integers(0, 24 * 60)))
        layers.append({
            "name": f"l{i}",
            "start": start,
            "rotation_virtual_start": start - timedelta(hours=draw(st.integers(0, 24 * 30))),
            "rotation_turn_length_seconds": draw(st.sampled_from([3600 * 8, 3600 * 12, 86400, 3 * 86400, 604800])),
            "users": draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4)),
            "restrictions": draw(st.lists(restriction(), max_size=3)),
        })
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        s = datetime(2026, 1, 1) + timedelta(hours=draw(st.integers(0, 24 * 90)))
        overrides.append({"start": s, "end": s + timedelta(hours=draw(st.integers(1, 72))), "user": "o"})
    doc = {"time_zone": draw(st.sampled_from(ZONES)), "mode": draw(st.sampled_from(["priority", "union"])),
           "schedule_layers": layers, "overrides": overrides}
    return parse_schedule(doc, "gen.yaml")


WINDOW = (datetime(2026, 1, 20), datetime(2026, 4, 20))


@SETTINGS
@given(schedule(), st.integers(1, 24 * 89 - 1))
def test_rendering_is_consistent(s: Schedule, cut_hours: int) -> None:
    tz = s.tz
    a = timeutil.local_to_epoch(WINDOW[0], tz)
    c = timeutil.local_to_epoch(WINDOW[1], tz)
    b = a + cut_hours * 3600.0
    whole = s.render(a, c)
    # sorted, non-overlapping, inside the window, nobody empty
    for g, h in itertools.pairwise(whole):
        assert g.end <= h.start
    assert all(a <= g.start < g.end <= c and g.users for g in whole)
    # rendering in two pieces gives the same people at the same times
    assert _joined(s.render(a, b) + s.render(b, c)) == _joined(whole)
    # point look-ups agree with the rendering; the load adds up to the covered hours
    tl = Timeline(whole)
    assert who(s, b)["users"] == list(tl.at(b))
    rep = load(s, a, c)
    per_user = sum(g.hours * len(g.users) for g in whole)
    assert abs(sum(p.total_hours for p in rep.people) - per_user) < 1e-6
    for p in rep.people:
        parts = p.business_hours + p.off_hours + p.weekend_hours + p.holiday_hours
        assert abs(parts - p.total_hours) < 1e-6


def _joined(segs: list[Any]) -> list[tuple[float, float, tuple[str, ...]]]:
    out: list[tuple[float, float, tuple[str, ...]]] = []
    for g in segs:
        if out and out[-1][1] == g.start and out[-1][2] == g.users:
            out[-1] = (out[-1][0], g.end, g.users)
        else:
            out.append((g.start, g.end, g.users))
    return out


@SETTINGS
@given(st.sampled_from(ZONES), st.integers(5, 21), st.sampled_from([0, 30]), st.integers(1, 14),
       st.integers(1, 5))
def test_handoffs_keep_the_local_wall_clock_time(zone: str, hour: int, minute: int, days: int, nusers: int) -> None:
    s = parse_schedule({"time_zone": zone, "schedule_layers": [{
        "name": "l", "start": datetime(2026, 1, 1, hour, minute), "rotation_turn_length_seconds": days * 86400,
        "users": [f"u{i}" for i in range(nusers)]}]}, "gen.yaml")
    tz = s.tz
    a = timeutil.local_to_epoch(datetime(2026, 1, 1, hour, minute), tz)
    turns = s.layers[0].turns(a, a + 366 * 86400.0, tz)
    for start, _end, _user in turns:
        local = timeutil.epoch_to_local(start, tz)
        assert (local.hour, local.minute) == (hour, minute)
    lengths = {round(e - s_) for s_, e, _ in turns[:-1]}
    assert lengths <= {days * 86400 + d for d in (-3600, -1800, 0, 1800, 3600)}


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12)
    | st.sampled_from(["daily_restriction", "09:00:00", "2026-01-01T00:00:00", "1d", "Europe/Berlin"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "start", "end", "users", "restrictions", "type", "start_time_of_day",
                         "duration_seconds", "start_day_of_week", "rotation_turn_length", "time_zone", "mode",
                         "overrides", "user", "users", "schedule_layers"]), inner, max_size=6),
    max_leaves=25)


@SETTINGS
@given(JSONISH)
def test_parser_only_raises_input_errors(doc: Any) -> None:
    try:
        s = parse_schedule(doc, "fuzz.yaml")
    except InputError as exc:
        assert str(exc).startswith("fuzz.yaml")
        return
    a = timeutil.to_epoch("2026-01-01T00:00:00", s.tz)
    s.render(a, a + 7 * 86400.0)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([*ZONES[:3], "America/Santiago", "Pacific/Auckland"]), st.integers(5, 21),
       st.sampled_from([1, 7, 14]))
def test_handoff_instants_match_pandas_calendar_offsets(zone: str, hour: int, days: int) -> None:
    """Oracle: pandas' calendar-aware DateOffset(days=N) over a tz-aware start gives the same hand-off
    instants for a year as opsctl's wall-clock turns."""
    import pandas as pd

    s = parse_schedule({"time_zone": zone, "schedule_layers": [{
        "name": "l", "start": datetime(2026, 1, 5, hour), "rotation_turn_length_seconds": days * 86400,
        "users": ["a", "b", "c"]}]}, "gen.yaml")
    tz = s.tz
    a = timeutil.local_to_epoch(datetime(2026, 1, 5, hour), tz)
    ours = [start for start, _e, _u in s.layers[0].turns(a, a + 365 * 86400.0, tz)]
    theirs = pd.date_range(pd.Timestamp(datetime(2026, 1, 5, hour), tz=zone), periods=len(ours),
                           freq=pd.DateOffset(days=days))
    assert ours == [ts.timestamp() for ts in theirs]


POLICYISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=True) | st.text(max_size=10)
    | st.sampled_from(["user:a", "schedule:s", "user_reference", "5m", "lognormal", "critical", "high",
                       "team:t", "channel:c", "webhook:w", "team_reference", "round_robin", "use_support_hours",
                       "constant", "severity_based", "fixed_time_per_day", "09:00:00", "Europe/Berlin"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["escalation_rules", "escalation_delay_in_minutes", "targets", "type", "id", "num_loops",
                         "acknowledgement_timeout", "urgency", "response_targets", "ack", "respond", "night_hours",
                         "responders", "default", "ack_delay", "distribution", "median", "sigma", "mean",
                         "miss_probability", "by_hour", "hours", "unavailable", "incidents", "at", "generate",
                         "count", "from", "to", "severities", "duration", "start", "end", "round_robin",
                         "escalation_rule_assignment_strategy", "teams", "t", "incident_urgency_rule",
                         "during_support_hours", "outside_support_hours", "support_hours", "days_of_week",
                         "start_time", "end_time", "time_zone"]), inner, max_size=6),
    max_leaves=25)


@SETTINGS
@given(POLICYISH)
def test_policy_and_scenario_parsers_only_raise_input_errors(doc: Any) -> None:
    from opsctl.oncall.drill import parse_scenario
    from opsctl.oncall.policy import parse_policy

    for parse in (lambda d: parse_policy(d, "fuzz.yaml"),
                  lambda d: parse_scenario(d, "fuzz.yaml", timeutil.zone("UTC"), 1)):
        try:
            parse(doc)
        except InputError as exc:
            assert str(exc).startswith("fuzz.yaml")


DRILL_POLICY = st.fixed_dictionaries({
    "num_loops": st.integers(0, 2),
    "acknowledgement_timeout": st.sampled_from([None, "20m"]),
    "escalation_rules": st.lists(st.fixed_dictionaries({
        "escalation_delay_in_minutes": st.integers(0, 30),
        "round_robin": st.booleans(),
        "targets": st.lists(st.sampled_from(["user:a", "user:b", "schedule:s", "team:t"]), min_size=1, max_size=3)
        .map(lambda ts: [*ts, "channel:c"] if len(ts) == 3 else ts)}), min_size=1, max_size=3),
    "teams": st.just({"t": ["c1", "c2"]}),
    "incident_urgency_rule": st.sampled_from([None, {"type": "use_support_hours", "during_support_hours": "high",
                                                     "outside_support_hours": "low"}]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DRILL_POLICY, st.lists(st.tuples(st.integers(0, 7 * 24 * 60), st.sampled_from([None, 1, 30, 200]),
                                        st.sampled_from(["critical", "info"])), min_size=1, max_size=6),
       st.floats(0, 1), st.integers(0, 3))
def test_drill_invariants(pol_doc: dict[str, Any], raw: list[tuple[int, int | None, str]], miss: float,
                          seed: int) -> None:
    """Whatever the policy and incidents: responding happens between the acknowledgement and the end;
    exhausted and auto-resolved exclude each other; an exhaustion comes before any acknowledgement;
    a round-robin level pages the people of one target per visit."""
    from opsctl.oncall.drill import Incident, simulate
    from opsctl.oncall.policy import parse_policy
    from opsctl.oncall.responders import Distribution, ResponderModel, Responders

    if pol_doc["incident_urgency_rule"] is not None:
        pol_doc = {**pol_doc, "support_hours": {"days_of_week": [1, 2, 3, 4, 5]}}
    else:
        pol_doc = {k: v for k, v in pol_doc.items() if k != "incident_urgency_rule"}
    if pol_doc["acknowledgement_timeout"] is None:
        del pol_doc["acknowledgement_timeout"]
    pol = parse_policy({"id": "p", **pol_doc}, "p.yaml")
    tz = timeutil.zone("Europe/Berlin")
    s = parse_schedule({"id": "s", "time_zone": "Europe/Berlin", "schedule_layers": [{
        "name": "l", "start": "2026-03-02T00:00:00", "rotation_turn_length": "1d", "users": ["x", "y"],
        "restrictions": [{"type": "daily_restriction", "start_time_of_day": "09:00:00",
                          "duration_seconds": 28800}]}]}, "s.yaml")
    t0 = timeutil.to_epoch("2026-03-02T00:00:00", tz)
    incidents = [Incident(f"I{k}", "x", sev, t0 + m * 60, None if d is None else t0 + m * 60 + d * 60)
                 for k, (m, d, sev) in enumerate(raw)]
    model = ResponderModel(Distribution("exponential", 400.0), Distribution("exponential", 600.0), miss)
    for r in simulate(incidents, pol, {"s": s}, Responders(model), tz, seed):
        assert not (r.exhausted_at is not None and r.auto_resolved)
        if r.responded_at is not None:
            assert r.acked_at is not None and r.acked_at <= r.responded_at
            assert r.resolved_at is None or r.responded_at < r.resolved_at
        if r.exhausted_at is not None and r.acked_at is not None:
            assert r.exhausted_at < r.acked_at
        if r.acked_at is None and r.resolved_at is not None and not r.auto_resolved:
            assert r.exhausted_at is not None and r.exhausted_at < r.resolved_at
        kinds = [k for _, k, _ in r.events]
        if "responding" in kinds and "resolved" in kinds:
            assert kinds.index("responding") < kinds.index("resolved")
        # pages at one instant and level with round robin: one target's people (a user, x/y, or c1+c2)
        visits: dict[tuple[float, int], set[str]] = {}
        for p in r.pages:
            visits.setdefault((p.at, p.level), set()).add(p.user)
        for (_, lv), users in visits.items():
            # (with a 0-minute delay a loop may visit a level twice at one instant)
            if pol.levels[lv - 1].round_robin and r.retriggers == 0 and all(x.delay_minutes > 0 for x in pol.levels):
                assert users in ({"a"}, {"b"}, {"x"}, {"y"}, {"c1", "c2"}), users


PDISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.text(max_size=8)
    | st.sampled_from(["user_reference", "schedule_reference", "round_robin", "assign_to_everyone", "P1",
                       "2026-01-05T00:00:00Z", "weekly_restriction", "use_support_hours"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["escalation_policy", "escalation_rules", "escalation_delay_in_minutes", "targets", "type",
                         "id", "summary", "num_loops", "escalation_rule_assignment_strategy", "schedule",
                         "schedule_layers", "start", "end", "rotation_turn_length_seconds", "users", "user",
                         "restrictions", "overrides", "service", "incident_urgency_rule", "support_hours",
                         "name", "time_zone"]), inner, max_size=6),
    max_leaves=30)


@SETTINGS
@given(PDISH, st.sampled_from(["id", "summary"]))
def test_pagerduty_import_only_raises_input_errors(doc: Any, names: str) -> None:
    from opsctl.oncall.pagerduty import policy_from_pagerduty, schedule_from_pagerduty
    from opsctl.oncall.policy import parse_policy

    for convert, parse in ((policy_from_pagerduty, parse_policy), (schedule_from_pagerduty, parse_schedule)):
        try:
            out = convert(doc, "fuzz.json", names=names)  # type: ignore[operator]
            parse(out, "fuzz.json")  # type: ignore[operator]
        except InputError as exc:
            assert str(exc).startswith("fuzz.json")
