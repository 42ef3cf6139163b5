"""Round robin within a level, team/channel/webhook targets and urgency by support hours (issue 12
points 20 and 22): hand-worked drills with fixed responder delays, PagerDuty import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.errors import InputError
from opsctl.oncall import coverage
from opsctl.oncall.drill import Incident, result_to_dict, simulate, summarize
from opsctl.oncall.pagerduty import policy_from_pagerduty, schedule_from_pagerduty
from opsctl.oncall.policy import parse_policy
from opsctl.oncall.responders import Distribution, ResponderModel, Responders
from tests.conftest import run_opsctl

from .helpers import BERLIN, policy, sched, t

NEVER = ResponderModel(Distribution("fixed", 60.0), Distribution("fixed", 60.0), miss_probability=1.0)
QUICK = ResponderModel(Distribution("fixed", 60.0), Distribution("fixed", 60.0))
T0 = "2026-03-02T10:00:00"  # Monday


def at(minutes: float) -> float:
    return t(T0) + minutes * 60


def pages(r) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(p.user, p.level, round((p.at - r.incident.at) / 60)) for p in r.pages]


RR = """
id: rr
num_loops: {loops}
escalation_rules:
  - escalation_delay_in_minutes: 5
    round_robin: true
    targets: ["user:a", "user:b", "user:c"]
  - escalation_delay_in_minutes: 10
    targets: ["user:boss"]
"""


def test_round_robin_hands_incidents_out_in_turn() -> None:
    # four incidents an hour apart, everyone acks after 1 min: a, b, c, a (not all three at once)
    pol = policy(RR.format(loops=0))
    incs = [Incident(f"I{k}", "x", "critical", at(60 * k)) for k in range(4)]
    res = simulate(incs, pol, {}, Responders(QUICK), BERLIN, 1)
    assert [pages(r) for r in res] == [[("a", 1, 0)], [("b", 1, 0)], [("c", 1, 0)], [("a", 1, 0)]]
    assert summarize(res, pol)["pages_per_person"]["a"]["pages"] == 2
    # the ring follows trigger order even when the incidents are given in another order
    res2 = simulate(list(reversed(incs)), pol, {}, Responders(QUICK), BERLIN, 1)
    assert [pages(r)[0][0] for r in res2] == ["a", "c", "b", "a"]


def test_round_robin_escalates_then_loops_to_the_next_in_the_ring() -> None:
    # nobody acks: a (L1) at 0, boss (L2) at +5, loop: L1 again gives b at +15, boss at +20, exhausted +30
    pol = policy(RR.format(loops=1))
    (r,) = simulate([Incident("I", "x", "critical", at(0))], pol, {}, Responders(NEVER), BERLIN, 1)
    assert pages(r) == [("a", 1, 0), ("boss", 2, 5), ("b", 1, 15), ("boss", 2, 20)]
    assert r.exhausted_at == at(30)


def test_round_robin_skips_a_schedule_with_nobody_on_call() -> None:
    day = sched("""
id: day
time_zone: Europe/Berlin
schedule_layers:
  - name: l
    start: 2026-03-02T00:00:00
    rotation_turn_length: 1d
    users: [dora]
    restrictions: [{type: daily_restriction, start_time_of_day: "09:00:00", duration_seconds: 28800}]
""")
    pol = policy("""
id: p
escalation_rules:
  - {escalation_delay_in_minutes: 5, round_robin: true, targets: ["schedule:day", "user:b"]}
""")
    night = [Incident("N1", "x", "critical", t("2026-03-02T23:00:00")),
             Incident("N2", "x", "critical", t("2026-03-03T00:00:00"))]
    res = simulate(night, pol, {"day": day}, Responders(QUICK), BERLIN, 1)
    # at night the schedule has nobody: b both times; by day (a fresh drill, ring at its start) dora
    assert [pages(r)[0][0] for r in res] == ["b", "b"]
    (d,) = simulate([Incident("D", "x", "critical", t("2026-03-03T10:00:00"))], pol, {"day": day},
                    Responders(QUICK), BERLIN, 1)
    assert pages(d)[0][0] == "dora"


def test_team_channel_and_webhook_targets() -> None:
    pol = policy("""
id: p
teams: {dba: [d1, d2]}
escalation_rules:
  - {escalation_delay_in_minutes: 5, targets: ["channel:#ops", "webhook:statuspage"]}
  - {escalation_delay_in_minutes: 5, targets: [{type: team_reference, id: dba}, "channel:#ops"]}
""")
    (r,) = simulate([Incident("I", "x", "critical", at(0))], pol, {}, Responders(NEVER, {"d2": QUICK}), BERLIN, 1)
    # level 1 pages nobody but is not skipped: the channel and webhook are notified and the level waits
    # its 5 minutes; level 2 pages both team members and notifies the channel again; d2 acks at +6
    assert r.skipped_levels == [] and pages(r) == [("d1", 2, 5), ("d2", 2, 5)]
    assert [(target, lv, round((ts - r.incident.at) / 60)) for ts, target, lv in r.notifications] == [
        ("channel:#ops", 1, 0), ("webhook:statuspage", 1, 0), ("channel:#ops", 2, 5)]
    assert (r.acked_by, r.acked_at) == ("d2", at(6))
    doc = result_to_dict(r, BERLIN)
    assert [e["event"] for e in doc["timeline"]][:4] == ["triggered", "notified", "notified", "escalated"]
    assert doc["notifications"][0] == {"at": "2026-03-02T10:00:00+01:00", "target": "channel:#ops", "level": 1}
    assert summarize([r], pol)["notifications_per_target"] == {"channel:#ops": 2, "webhook:statuspage": 1}


def test_policy_errors_name_the_place() -> None:
    with pytest.raises(InputError, match="team 'ops' is not listed under teams") as e:
        policy("id: p\nescalation_rules:\n  - targets: ['team:ops']\n")
    assert e.value.line == 3
    with pytest.raises(InputError, match="round robin needs user, schedule or team targets"):
        policy("id: p\nescalation_rules:\n  - {round_robin: true, targets: ['channel:x']}\n")
    with pytest.raises(InputError, match="disagree"):
        policy("id: p\nescalation_rules:\n  - {round_robin: false, escalation_rule_assignment_strategy: "
               "round_robin, targets: ['user:x']}\n")
    with pytest.raises(InputError, match="needs support_hours"):
        policy("id: p\nincident_urgency_rule: {type: use_support_hours, during_support_hours: high, "
               "outside_support_hours: low}\nescalation_rules:\n  - targets: ['user:x']\n")
    with pytest.raises(InputError, match="days_of_week") as e:
        policy("id: p\nincident_urgency_rule: {type: use_support_hours, during_support_hours: high, "
               "outside_support_hours: low}\nsupport_hours: {days_of_week: [0]}\nescalation_rules:\n"
               "  - targets: ['user:x']\n")
    assert e.value.line == 3


SUPPORT = """
id: p
incident_urgency_rule:
  type: use_support_hours
  during_support_hours: {during}
  outside_support_hours: {outside}
support_hours: {{type: fixed_time_per_day, time_zone: Europe/Berlin, days_of_week: [1, 2, 3, 4, 5],
                start_time: "09:00:00", end_time: "17:00:00"}}
escalation_rules:
  - {{escalation_delay_in_minutes: 5, targets: ["user:a"]}}
  - {{escalation_delay_in_minutes: 5, targets: ["user:b"]}}
"""


@pytest.mark.parametrize(("during", "outside", "when", "urgency", "paged"), [
    ("high", "low", "2026-03-02T10:00:00", "high", ["a", "b"]),          # Monday 10:00: in support hours
    ("high", "low", "2026-03-07T10:00:00", "low", ["a"]),                # Saturday: outside, never escalates
    ("high", "low", "2026-03-02T17:00:00", "low", ["a"]),                # end_time is exclusive
    ("{type: constant, urgency: low}", "{type: constant, urgency: high}", "2026-03-02T10:00:00", "low", ["a"]),
    ("low", "high", "2026-03-02T08:59:00", "high", ["a", "b"]),          # the reverse, before 09:00
    ("severity_based", "low", "2026-03-02T10:00:00", "low", ["a"]),      # info is low by the severity map
])
def test_urgency_by_support_hours(during: str, outside: str, when: str, urgency: str, paged: list[str]) -> None:
    pol = policy(SUPPORT.format(during=during, outside=outside))
    sev = "info" if during == "severity_based" else "critical"
    (r,) = simulate([Incident("I", "x", sev, t(when))], pol, {}, Responders(NEVER), BERLIN, 1)
    assert r.urgency == urgency and [p.user for p in r.pages] == paged
    assert r.in_support_hours is (t(when) in (t("2026-03-02T10:00:00"),))
    assert ("in support hours" if r.in_support_hours else "outside support hours") in r.events[0][2]


def test_support_hours_in_their_own_zone() -> None:
    # support hours 09-17 New York; 10:00 Berlin on a Monday is 04:00 in New York: outside -> low
    pol = policy(SUPPORT.format(during="high", outside="low").replace("Europe/Berlin", "America/New_York"))
    (r,) = simulate([Incident("I", "x", "critical", t(T0))], pol, {}, Responders(NEVER), BERLIN, 1)
    assert r.urgency == "low" and r.in_support_hours is False


PD_POLICY = {"escalation_policy": {"id": "PEP", "name": "EP", "num_loops": 0, "escalation_rules": [
    {"escalation_delay_in_minutes": 10, "escalation_rule_assignment_strategy": "round_robin",
     "targets": [{"id": "P1", "type": "user_reference", "summary": "Alex Smith"},
                 {"id": "P2", "type": "user_reference", "summary": "Alex Smith"},
                 {"id": "P3", "type": "user_reference", "summary": "Kim Lee"}]},
    {"escalation_delay_in_minutes": 10, "escalation_rule_assignment_strategy": {"type": "assign_to_everyone"},
     "targets": [{"id": "PS", "type": "schedule_reference"}]}]},
    "service": {"incident_urgency_rule": {"type": "use_support_hours",
                                          "during_support_hours": {"type": "constant", "urgency": "high"},
                                          "outside_support_hours": {"type": "constant", "urgency": "low"}},
                "support_hours": {"type": "fixed_time_per_day", "time_zone": "America/Lima",
                                  "days_of_week": [1, 2, 3, 4, 5], "start_time": "09:00:00",
                                  "end_time": "17:00:00"}}}


def test_pagerduty_policy_import_keeps_round_robin_distinct_users_and_support_hours() -> None:
    doc = policy_from_pagerduty(PD_POLICY, "ep.json", "summary")
    pol = parse_policy(doc, "ep.json")
    assert [lv.round_robin for lv in pol.levels] == [True, False]
    # two users called "Alex Smith" stay two people
    assert [str(x) for x in pol.levels[0].targets] == ["user:Alex Smith (P1)", "user:Alex Smith (P2)", "user:Kim Lee"]
    assert [str(x) for x in parse_policy(policy_from_pagerduty(PD_POLICY, "ep.json", "id"), "ep.json")
            .levels[0].targets] == ["user:P1", "user:P2", "user:P3"]
    rule = pol.urgency_rule
    assert (rule.during, rule.outside) == ("high", "low") and rule.support_hours is not None
    assert rule.support_hours.time_zone == "America/Lima" and rule.support_hours.start == 9 * 3600
    # a drill against the imported policy pages one Alex at a time, not everyone at once
    incs = [Incident(f"I{k}", "x", "critical", t("2026-03-02T16:00:00Z") + 3600 * k) for k in range(3)]
    res = simulate(incs, pol, {"PS": sched("id: PS\ntime_zone: UTC\n")}, Responders(QUICK), BERLIN, 1)
    assert [[p.user for p in r.pages] for r in res] == [["Alex Smith (P1)"], ["Alex Smith (P2)"], ["Kim Lee"]]
    with pytest.raises(InputError, match="unsupported escalation_rule_assignment_strategy"):
        policy_from_pagerduty({"escalation_rules": [{"escalation_rule_assignment_strategy": "random",
                                                     "targets": []}]})


def test_pagerduty_schedule_names_shared_display_names_apart() -> None:
    data = {"schedule": {"id": "S", "time_zone": "UTC", "schedule_layers": [{
        "start": "2026-01-05T00:00:00Z", "rotation_turn_length_seconds": 86400,
        "users": [{"user": {"id": "P1", "type": "user_reference", "summary": "Alex Smith"}},
                  {"user": {"id": "P2", "type": "user_reference", "summary": "Alex Smith"}}]}]}}
    doc = schedule_from_pagerduty(data, "s.json", "get", "summary")
    assert doc["schedule_layers"][0]["users"] == ["Alex Smith (P1)", "Alex Smith (P2)"]


def test_who_and_gaps_with_round_robin_and_channel_levels(tmp_path: Path) -> None:
    s = tmp_path / "day.yaml"
    s.write_text("id: day\ntime_zone: UTC\nschedule_layers:\n  - {name: l, start: 2026-03-02T00:00:00Z, "
                 "rotation_turn_length: 1d, users: [dora], restrictions: [{type: daily_restriction, "
                 "start_time_of_day: '09:00:00', duration_seconds: 28800}]}\n")
    p = tmp_path / "p.yaml"
    p.write_text("id: p\nteams: {dba: [d1]}\nescalation_rules:\n"
                 "  - {round_robin: true, targets: ['schedule:day', 'user:b']}\n"
                 "  - {targets: ['channel:#ops']}\n  - {targets: ['team:dba']}\n")
    who = run_opsctl("oncall", "who", "--schedule", str(s), "--policy", str(p), "--at", "2026-03-02T10:00:00Z",
                     "-f", "json")
    assert who.returncode == 0, who.stderr
    levels = json.loads(who.stdout)["policy"]["levels"]
    assert [(lv["users"], lv["round_robin"], lv["notifies"]) for lv in levels] == [
        (["dora", "b"], True, []), ([], False, ["channel:#ops"]), (["d1"], False, [])]
    text = run_opsctl("oncall", "who", "--schedule", str(s), "--policy", str(p), "--at", "2026-03-02T10:00:00Z")
    assert "round robin" in text.stdout and "notifies channel:#ops" in text.stdout
    gaps = run_opsctl("oncall", "gaps", "--schedule", str(s), "--policy", str(p), "--from", "2026-03-02T00:00:00Z",
                      "--to", "2026-03-03T00:00:00Z", "-f", "json")
    doc = json.loads(gaps.stdout)
    # level 1 has b (a user) in its ring: covered; level 2 pages nobody: one 24 h gap; level 3 a team
    assert [(g["name"], g["gap_hours"]) for g in doc["groups"]] == [("level 1", 0), ("level 2", 24.0),
                                                                     ("level 3", 0)]
    sg = coverage.schedule_gaps({"day": sched(s.read_text())}, t("2026-03-02T00:00:00Z"), t("2026-03-03T00:00:00Z"))
    assert [round((e - b) / 3600) for b, e in sg[0][1]] == [9, 7]


def test_postmortem_and_text_output_show_notifications_and_support_hours(tmp_path: Path) -> None:
    from opsctl.oncall import postmortem

    pol = policy(SUPPORT.format(during="high", outside="low").replace('targets: ["user:a"]',
                                                                      'targets: ["user:a", "channel:#ops"]'))
    (r,) = simulate([Incident("I", "x", "critical", t("2026-03-07T10:00:00"))], pol, {}, Responders(NEVER),
                    BERLIN, 1)
    md = postmortem.render_markdown(result_to_dict(r, BERLIN), "test")
    assert "- Notified (no acknowledgement possible): channel:#ops." in md
    assert "- Triggered outside support hours (low urgency)." in md
    pf = tmp_path / "p.yaml"
    pf.write_text("id: p\nescalation_rules:\n  - {targets: ['user:a', 'webhook:status']}\n")
    sc = tmp_path / "s.yaml"
    sc.write_text("incidents:\n  - {id: I, at: 2026-03-02T10:00:00Z, duration: 10m}\n")
    sf = tmp_path / "sch.yaml"
    sf.write_text("id: sch\ntime_zone: UTC\n")
    out = run_opsctl("drill", "run", "--schedule", str(sf), "--policy", str(pf), "--scenario", str(sc))
    assert out.returncode in (0, 1), out.stderr
    assert "notified      webhook:status (level 1)" in out.stdout and "webhook:status: 1 notification(s)" in out.stdout


@pytest.mark.parametrize(("doc", "kind", "message"), [
    ({"escalation_rules": [{"targets": ["x"]}]}, "policy", "targets must be a list of references with an id"),
    ({"escalation_rules": [{"targets": [{"type": "schedule_reference"}]}]}, "policy", "with an id"),
    ({"escalation_rules": [{"targets": "abc"}]}, "policy", "with an id"),
    ({"escalation_rules": [{"targets": [{"type": "user_reference", "id": "u"}]}], "num_loops": "x"}, "policy",
     "num_loops must be an integer"),
    ({"schedule_layers": [{"start": 1, "rotation_turn_length_seconds": 3600, "users": [{"id": "a"}],
                           "restrictions": ["x"]}]}, "schedule", "restrictions: expected a list of objects"),
    ({"schedule_layers": [{"start": 1, "rotation_turn_length_seconds": 3600, "users": [{"id": "a"}],
                           "restrictions": 5}]}, "schedule", "restrictions: expected a list of objects"),
])
def test_malformed_pagerduty_json_is_an_input_error(doc: dict, kind: str, message: str) -> None:  # type: ignore[type-arg]
    from opsctl.oncall.schedule import parse_schedule

    with pytest.raises(InputError, match=message) as exc:
        if kind == "policy":
            parse_policy(policy_from_pagerduty(doc, "pd.json"), "pd.json")
        else:
            parse_schedule(schedule_from_pagerduty(doc, "pd.json"), "pd.json")
    assert exc.value.file == "pd.json"


def test_import_pagerduty_command_keeps_round_robin_and_support_hours(tmp_path: Path) -> None:
    import yaml

    src = tmp_path / "ep.json"
    src.write_text(json.dumps(PD_POLICY))
    out = tmp_path / "ep.yaml"
    p = run_opsctl("oncall", "import-pagerduty", str(src), "--names", "summary", "-o", str(out))
    assert p.returncode == 0, p.stderr
    doc = yaml.safe_load(out.read_text())
    assert doc["escalation_rules"][0]["round_robin"] is True and "round_robin" not in doc["escalation_rules"][1]
    assert [x["id"] for x in doc["escalation_rules"][0]["targets"]] == ["Alex Smith (P1)", "Alex Smith (P2)",
                                                                        "Kim Lee"]
    assert doc["incident_urgency_rule"]["type"] == "use_support_hours"
    assert doc["support_hours"]["time_zone"] == "America/Lima"
    assert parse_policy(doc, "ep.yaml").urgency_rule.outside == "low"


def test_business_hours_example_policy() -> None:
    # examples/oncall/policy-business-hours.yaml against the example scenario: every level-2 visit pages
    # the next of mallory, oscar, the DBA team (dora + dan), in turn; the channel hears of every incident
    from opsctl.oncall.drill import load_scenario
    from opsctl.oncall.policy import load_policy
    from opsctl.oncall.schedule import load_schedule

    ex = Path(__file__).resolve().parents[2] / "examples" / "oncall"
    pol = load_policy(ex / "policy-business-hours.yaml")
    prim = load_schedule(ex / "primary.yaml")
    sc = load_scenario(ex / "scenario.yaml", prim.tz, 0)
    res = simulate(sc.incidents, pol, {"primary": prim}, sc.responders, sc.tz, 0)
    visits: dict[float, list[str]] = {}
    for r in res:
        for p in r.pages:
            if p.level == 2:
                visits.setdefault(p.at, []).append(p.user)
    ring = [["mallory"], ["oscar"], ["dan", "dora"]]
    got = [sorted(users) for _, users in sorted(visits.items())]
    assert len(got) >= 3 and got == [ring[k % 3] for k in range(len(got))]
    s = summarize(res, pol)
    assert s["notifications_per_target"]["channel:#payments-incidents"] == len(res)
    # urgency: high on weekdays 09-18 Berlin, else by the map (critical high, warning/info low)
    for r in res:
        inside = r.in_support_hours
        want = "high" if inside or r.incident.severity == "critical" else "low"
        assert r.urgency == want, r.incident.id
