"""Regression tests for the drill defects of issue 12 (reproducers copied into tests/oncall/data)."""

from __future__ import annotations

import json
from pathlib import Path

from opsctl.oncall import postmortem
from opsctl.oncall.drill import load_scenario, result_to_dict, simulate, summarize
from opsctl.oncall.policy import load_policy
from opsctl.oncall.schedule import load_schedule
from tests.conftest import run_opsctl

from .helpers import BERLIN

DATA = Path(__file__).resolve().parent / "data"
EX = Path(__file__).resolve().parents[2] / "examples" / "oncall"


def _drill(scenario: str) -> tuple[list, dict]:  # type: ignore[type-arg]
    pol = load_policy(DATA / "r-pol.yaml")
    sched = load_schedule(DATA / "r-sched.yaml")
    sc = load_scenario(DATA / scenario, sched.tz, 0)
    results = simulate(sc.incidents, pol, {"r": sched}, sc.responders, sc.tz, 0)
    return results, summarize(results, pol)


def test_exhausted_policy_is_reported_also_when_the_incident_has_an_end_time() -> None:
    # nobody ever acknowledges: alice paged at 10:00, boss at 10:05, policy exhausted at 10:15 (last
    # level's 10 min delay); WITH-DURATION resolves at 13:00, NO-DURATION never does.
    results, summary = _drill("r-scen-exhaust.yaml")
    by_id = {r.incident.id: r for r in results}
    for iid in ("WITH-DURATION", "NO-DURATION"):
        r = by_id[iid]
        kinds = [(round((ts - r.incident.at) / 60), k) for ts, k, _ in r.events]
        assert (15, "exhausted") in kinds, kinds
        assert not r.auto_resolved and r.acked_at is None
    assert summary["exhausted"] == 2 and summary["auto_resolved_before_ack"] == 0
    assert summary["unacknowledged"] == 2
    inc = result_to_dict(by_id["WITH-DURATION"], BERLIN)
    assert inc["exhausted_at"] is not None and inc["timeline"][-1]["detail"].endswith("(policy exhausted)")
    acts = postmortem.actions(inc, None)
    assert any("exhausted" in a and "3h" in a for a in acts), acts
    assert not any("lower its urgency" in a for a in acts), acts


def test_resolved_before_exhaustion_is_still_auto_resolved() -> None:
    # the same policy, but resolved at +12 min: before exhaustion (+15), so auto-resolved, no exhausted event
    from opsctl.oncall.drill import Incident
    pol = load_policy(DATA / "r-pol.yaml")
    sched = load_schedule(DATA / "r-sched.yaml")
    sc = load_scenario(DATA / "r-scen-exhaust.yaml", sched.tz, 0)
    at = sc.incidents[0].at
    (r,) = simulate([Incident("X", "x", "critical", at, at + 12 * 60)], pol, {"r": sched}, sc.responders, sc.tz, 0)
    assert r.auto_resolved and r.exhausted_at is None
    assert "exhausted" not in [k for _, k, _ in r.events]


def test_responding_after_resolution_does_not_count() -> None:
    # ack after 30 s, responding 5 min later = +5m30s, but the incident resolved at +2 min: no responding
    results, summary = _drill("r-scen-respond.yaml")
    (r,) = results
    assert r.acked_at is not None and r.acked_at - r.incident.at == 30
    assert r.responded_at is None
    kinds = [k for _, k, _ in r.events]
    assert "responding" not in kinds and kinds[-1] == "resolved"
    assert summary["mean_time_to_respond_seconds"] is None
    assert r.missed == []  # resolved before the 15 min respond target


def test_shipped_example_never_responds_after_resolving(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    p = run_opsctl("drill", "run", "--schedule", str(EX / "primary.yaml"), "--schedule", str(EX / "secondary.yaml"),
                   "--policy", str(EX / "policy.yaml"), "--scenario", str(EX / "scenario.yaml"), "-o", str(out),
                   "-f", "json")
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(out.read_text())
    for inc in doc["incidents"]:
        if inc["responded_at"] is not None and inc["resolved_at"] is not None:
            assert inc["responded_at"] < inc["resolved_at"] or inc["time_to_respond_seconds"] < \
                _secs(inc["triggered_at"], inc["resolved_at"]), inc["id"]
        events = [e["event"] for e in inc["timeline"]]
        if "responding" in events and "resolved" in events:
            assert events.index("responding") < events.index("resolved"), inc["id"]


def _secs(a: str, b: str) -> float:
    from datetime import datetime
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def test_days_are_calendar_days_in_the_schedule_zone() -> None:
    # Europe/Berlin: 2026-03-29 has 23 h. 7 days from Thu 2026-03-26 00:00 end at Thu 2026-04-02 00:00
    # (167 h later), not 01:00 as 7 x 24 h would.
    from opsctl.oncall import timeutil

    t0 = timeutil.to_epoch("2026-03-26T00:00:00", BERLIN)
    t1 = timeutil.add_days(t0, 7, BERLIN)
    assert timeutil.iso(t1, BERLIN) == "2026-04-02T00:00:00+02:00" and t1 - t0 == 167 * 3600
    # autumn: 25 h day; half a day is 12 exact hours
    a = timeutil.to_epoch("2026-10-24T00:00:00", BERLIN)
    assert timeutil.iso(timeutil.add_days(a, 2, BERLIN), BERLIN) == "2026-10-26T00:00:00+01:00"
    assert timeutil.add_days(a, 0.5, BERLIN) - a == 12 * 3600
    p = run_opsctl("oncall", "show", "--schedule", str(EX / "primary.yaml"), "--from", "2026-03-26", "--days", "7",
                   "-f", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["to"] == "2026-04-02T00:00:00+02:00"


def test_lognormal_without_sigma_is_refused(tmp_path: Path) -> None:
    import pytest

    from opsctl.errors import InputError

    f = tmp_path / "s.yaml"
    f.write_text("responders:\n  default:\n    ack_delay: {distribution: lognormal, median: 2m}\n")
    with pytest.raises(InputError, match="needs 'sigma'") as exc:
        load_scenario(f, BERLIN, 0)
    assert exc.value.line == 3
    f.write_text("responders:\n  default:\n    ack_delay: {distribution: lognormal, median: 2m, sigma: 0.5}\n")
    assert load_scenario(f, BERLIN, 0).responders.default.ack_delay.b == 0.5


def test_late_ack_after_exhaustion_keeps_both_facts() -> None:
    # alice acks 20 min after her page, after the policy ran out at +15: exhausted at +15, acked at +20
    from opsctl.oncall.drill import Incident
    from opsctl.oncall.responders import Distribution, ResponderModel, Responders

    pol = load_policy(DATA / "r-pol.yaml")
    sched = load_schedule(DATA / "r-sched.yaml")
    late = ResponderModel(Distribution("fixed", 1200.0), Distribution("fixed", 60.0))
    never = ResponderModel(Distribution("fixed", 60.0), Distribution("fixed", 60.0), miss_probability=1.0)
    at = load_scenario(DATA / "r-scen-exhaust.yaml", sched.tz, 0).incidents[0].at
    (r,) = simulate([Incident("L", "x", "critical", at, at + 3 * 3600)], pol, {"r": sched},
                    Responders(never, {"alice": late}), sched.tz, 0)
    assert (r.exhausted_at, r.acked_at, r.acked_by) == (at + 15 * 60, at + 20 * 60, "alice")
    assert not r.auto_resolved
    acts = postmortem.actions(result_to_dict(r, BERLIN), None)
    assert any("before alice acknowledged late" in a for a in acts), acts
