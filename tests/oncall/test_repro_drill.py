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
    p = run_opsctl("drill", "run", "-s", str(EX / "primary.yaml"), "-s", str(EX / "secondary.yaml"), "-p",
                   str(EX / "policy.yaml"), "--scenario", str(EX / "scenario.yaml"), "-o", str(out), "-f", "json")
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
