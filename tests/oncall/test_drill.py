"""Escalation and drill semantics with hand-worked timelines (fixed delays, so no randomness matters)."""

from __future__ import annotations

from opsctl.oncall.drill import Incident, generate_incidents, simulate, summarize
from opsctl.oncall.responders import Distribution, ResponderModel, Responders

from .helpers import BERLIN, policy, sched, t

T0 = "2026-03-02T10:00:00"  # Monday, business hours, Berlin

TWO_LEVELS = """
id: p
num_loops: {loops}
escalation_rules:
  - escalation_delay_in_minutes: 5
    targets: ["user:alice"]
  - escalation_delay_in_minutes: 10
    targets: ["user:bob"]
response_targets:
  critical: {{ack: 5m, respond: 15m}}
{extra}
"""

NEVER = ResponderModel(Distribution("fixed", 60.0), Distribution("fixed", 60.0), miss_probability=1.0)


def fixed(ack: float, respond: float = 60.0) -> ResponderModel:
    return ResponderModel(Distribution("fixed", ack), Distribution("fixed", respond))


def run(pol_text: str, responders: Responders, incidents: list[Incident], schedules: dict | None = None):  # type: ignore[no-untyped-def]
    pol = policy(pol_text)
    return simulate(incidents, pol, schedules or {}, responders, BERLIN, seed=1), pol


def offsets(result) -> list[tuple[float, str, str]]:  # type: ignore[no-untyped-def]
    at = result.incident.at
    return [(round((ts - at) / 60, 3), kind, detail) for ts, kind, detail in result.events]


def test_nobody_acks_loops_once_then_exhausts() -> None:
    # alice (5 min) -> bob (10 min) -> loop: alice (5) -> bob (10) -> exhausted at +30 min.
    (r,), _ = run(TWO_LEVELS.format(loops=1, extra=""), Responders(NEVER), [Incident("I", "x", "critical", t(T0))])
    assert [(p.user, p.level, p.loop, round((p.at - r.incident.at) / 60)) for p in r.pages] == [
        ("alice", 1, 0, 0), ("bob", 2, 0, 5), ("alice", 1, 1, 15), ("bob", 2, 1, 20)]
    assert offsets(r)[-1] == (30.0, "exhausted", "escalation policy exhausted, nobody acknowledged")
    assert r.escalations == [2, 1, 2]  # to bob, loop back to alice, bob again
    assert r.acked_at is None and r.missed == ["ack", "respond"]


def test_without_loops_stops_after_last_level() -> None:
    (r,), _ = run(TWO_LEVELS.format(loops=0, extra=""), Responders(NEVER), [Incident("I", "x", "critical", t(T0))])
    assert [p.user for p in r.pages] == ["alice", "bob"]


def test_second_level_acks_after_escalation() -> None:
    # alice never acks; bob acks 60 s after his page at +5 min -> TTA 360 s > 5 min target: ack missed;
    # responding 60 s later (+7 min) is within 15 min.
    resp = Responders(NEVER, {"bob": fixed(60)})
    (r,), pol = run(TWO_LEVELS.format(loops=0, extra=""), resp, [Incident("I", "x", "critical", t(T0))])
    assert r.acked_by == "bob" and r.ack_level == 2 and r.acked_at - r.incident.at == 360
    assert r.responded_at - r.incident.at == 420
    assert r.missed == ["ack"] and r.max_level == 2
    s = summarize([r], pol)
    assert s["verdict"] == "fail" and s["mtta_seconds"] == 360 and s["incidents_reaching_level"] == {"1": 1, "2": 1}
    assert s["escalations_to_level"] == {"2": 1} and r.escalations == [2]
    assert s["pages_per_person"] == {"alice": {"pages": 1, "night_pages": 0}, "bob": {"pages": 1, "night_pages": 0}}


def test_late_ack_from_first_level_still_counts_after_escalation() -> None:
    # alice acks 7 min after her page; bob, paged at +5, would need 10 min: alice's ack at +7 wins.
    resp = Responders(NEVER, {"alice": fixed(420), "bob": fixed(600)})
    (r,), _ = run(TWO_LEVELS.format(loops=0, extra=""), resp, [Incident("I", "x", "critical", t(T0))])
    assert (r.acked_by, r.ack_level, r.acked_at - r.incident.at) == ("alice", 1, 420)
    assert [p.user for p in r.pages] == ["alice", "bob"]


def test_ack_exactly_at_escalation_time_prevents_escalation() -> None:
    resp = Responders(NEVER, {"alice": fixed(300)})
    (r,), _ = run(TWO_LEVELS.format(loops=0, extra=""), resp, [Incident("I", "x", "critical", t(T0))])
    assert [p.user for p in r.pages] == ["alice"] and r.acked_at - r.incident.at == 300


def test_low_urgency_never_escalates() -> None:
    # info is low urgency by default: alice paged once, never acks, nobody else paged.
    (r,), _ = run(TWO_LEVELS.format(loops=2, extra=""), Responders(NEVER), [Incident("I", "x", "info", t(T0))])
    assert r.urgency == "low" and [p.user for p in r.pages] == ["alice"]


def test_ack_timeout_retriggers_and_repages_the_acknowledger() -> None:
    # ack timeout 30 min; alice acks after 1 min each time; the incident resolves at +45 min.
    # +1 ack, +31 re-trigger (alice re-paged), +32 ack, next timeout +62 is after resolution.
    resp = Responders(NEVER, {"alice": fixed(60)})
    inc = Incident("I", "x", "critical", t(T0), t(T0) + 45 * 60)
    (r,), _ = run(TWO_LEVELS.format(loops=0, extra="acknowledgement_timeout: 30m"), resp, [inc])
    assert [e[:2] for e in offsets(r)] == [(0, "triggered"), (0, "paged"), (1, "acknowledged"), (2, "responding"),
                                           (31, "retriggered"), (31, "paged"), (32, "acknowledged"), (45, "resolved")]
    assert r.retriggers == 1 and len(r.pages) == 2 and r.missed == []


def test_auto_resolved_before_ack_is_not_a_miss_when_before_the_target() -> None:
    inc = Incident("I", "x", "critical", t(T0), t(T0) + 120)
    (r,), _ = run(TWO_LEVELS.format(loops=0, extra=""), Responders(NEVER), [inc])
    assert r.auto_resolved and r.missed == [] and [p.user for p in r.pages] == ["alice"]


def test_level_with_nobody_on_call_is_skipped_immediately_and_night_pages_counted() -> None:
    # Level 1 is a business-hours schedule: at 23:00 nobody is on call, so bob (level 2) is paged at once,
    # and that page is a night page (22:00-07:00).
    day = sched("""
id: day
time_zone: Europe/Berlin
schedule_layers:
  - name: l
    start: 2026-03-02T00:00:00
    rotation_turn_length: 1d
    users: [alice]
    restrictions: [{type: daily_restriction, start_time_of_day: "09:00:00", duration_seconds: 28800}]
""")
    pol = """
id: p
escalation_rules:
  - {escalation_delay_in_minutes: 5, targets: [{type: schedule_reference, id: day}]}
  - {escalation_delay_in_minutes: 5, targets: [{type: user_reference, id: bob}]}
"""
    resp = Responders(NEVER, {"bob": fixed(120)})
    (r,), p = run(pol, resp, [Incident("I", "x", "critical", t("2026-03-02T23:00:00"))], {"day": day})
    assert r.skipped_levels == [(t("2026-03-02T23:00:00"), 1)]
    assert [(pg.user, pg.level, pg.night) for pg in r.pages] == [("bob", 2, True)]
    assert r.acked_at - r.incident.at == 120
    assert summarize([r], p)["pages_per_person"] == {"bob": {"pages": 1, "night_pages": 1}}


def test_schedule_target_pages_whoever_is_on_call_at_each_level_time() -> None:
    # Level 1 = a weekly schedule handing off Mon 10:05; incident Mon 10:00: carol paged at 10:00, then
    # with a loop, level 1 again at 10:05 pages the new person (dave).
    rot = sched("""
id: rot
time_zone: Europe/Berlin
schedule_layers:
  - {name: l, start: 2026-02-23T10:05:00, rotation_turn_length: 1w, users: [carol, dave]}
""")
    pol = """
id: p
num_loops: 1
escalation_rules:
  - {escalation_delay_in_minutes: 5, targets: ["schedule:rot"]}
"""
    (r,), _ = run(pol, Responders(NEVER), [Incident("I", "x", "critical", t(T0))], {"rot": rot})
    assert [(p.user, p.loop, round((p.at - r.incident.at) / 60)) for p in r.pages] == [("carol", 0, 0),
                                                                                       ("dave", 1, 5)]


def test_generated_runs_are_deterministic_per_seed() -> None:
    t0, t1 = t("2026-01-01T00:00:00"), t("2026-02-01T00:00:00")
    a = generate_incidents(50, t0, t1, {"critical": 1, "warning": 1}, Distribution("exponential", 1800), seed=5)
    b = generate_incidents(50, t0, t1, {"critical": 1, "warning": 1}, Distribution("exponential", 1800), seed=5)
    c = generate_incidents(50, t0, t1, {"critical": 1, "warning": 1}, Distribution("exponential", 1800), seed=6)
    assert a == b and a != c
    pol = policy(TWO_LEVELS.format(loops=1, extra=""))
    model = Responders(ResponderModel(Distribution("lognormal", 120, 0.8), Distribution("exponential", 200), 0.2))
    r1 = simulate(a, pol, {}, model, BERLIN, seed=9)
    r2 = simulate(a, pol, {}, model, BERLIN, seed=9)
    r3 = simulate(a, pol, {}, model, BERLIN, seed=10)
    key = [(r.acked_at, r.acked_by, len(r.pages)) for r in r1]
    assert key == [(r.acked_at, r.acked_by, len(r.pages)) for r in r2]
    assert key != [(r.acked_at, r.acked_by, len(r.pages)) for r in r3]
    # the result of one incident does not depend on the others (per-incident random streams)
    alone = simulate(a[10:11], pol, {}, model, BERLIN, seed=9)
    assert (alone[0].acked_at, alone[0].pages) == (r1[10].acked_at, r1[10].pages)


def test_history_from_alertmanager_alerts_and_backtest_export(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from opsctl.oncall.drill import load_history

    am = tmp_path / "am.json"
    am.write_text(json.dumps({"alerts": [
        {"labels": {"alertname": "A", "severity": "warning"}, "startsAt": "2026-03-02T10:00:00Z",
         "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f1"},
        {"labels": {"alertname": "A"}, "startsAt": "2026-03-02T09:00:00Z", "endsAt": "2026-03-02T09:30:00Z",
         "fingerprint": "f1"}]}))
    got = load_history(am)
    # sorted by start; the repeated fingerprint gets "-2"; Alertmanager's zero time means "still firing"
    assert [(i.id, i.severity, i.at, i.resolved_at) for i in got] == [
        ("f1-2", "critical", t("2026-03-02T09:00:00Z"), t("2026-03-02T09:30:00Z")),
        ("f1", "warning", t("2026-03-02T10:00:00Z"), None)]
    bt = tmp_path / "bt.json"
    bt.write_text(json.dumps({"schema_version": 1, "backtest": {"alerts": [{"alertname": "HighLatency", "episodes": [
        {"labels": {"severity": "critical", "job": "api"}, "active_at": 1772440000, "fired_at": 1772445600,
         "resolved_at": 1772449200}]}]}}))
    (inc,) = load_history(bt)
    assert (inc.id, inc.severity, inc.at, inc.resolved_at) == ("HighLatency-1", "critical", 1772445600, 1772449200)
    assert dict(inc.labels)["alertname"] == "HighLatency"
