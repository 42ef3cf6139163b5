"""Inhibition and muting (inhibit.go semantics, mute/active time intervals)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from opsctl.alertmanager.config import loads_config
from opsctl.alertmanager.inhibit import Alert, evaluate
from tests.conftest import run_opsctl

CFG = """
route:
  receiver: chat
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      mute_time_intervals: [weekend-nights]
      continue: true
    - matchers: ['team="db"']
      receiver: db
      active_time_intervals: [office]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, instance]
  - source_matchers: ['kind="x"']
    target_matchers: ['kind="x"']
receivers: [{name: chat}, {name: pager}, {name: db}]
time_intervals:
  - name: weekend-nights
    time_intervals:
      - weekdays: [saturday, sunday]
        times: [{start_time: '00:00', end_time: '06:00'}]
        location: America/New_York
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
"""


def test_inhibition_equal_labels() -> None:
    cfg = loads_config(CFG)
    alerts = [Alert({"alertname": "A", "instance": "i1", "severity": "critical"}),
              Alert({"alertname": "A", "instance": "i1", "severity": "warning"}),
              Alert({"alertname": "A", "instance": "i2", "severity": "warning"})]
    v = evaluate(cfg, alerts, datetime(2024, 5, 6, 12, tzinfo=UTC))
    assert [x.inhibited for x in v] == [False, True, False]
    assert v[1].inhibited_by[0].source == 0


def test_resolved_source_does_not_inhibit() -> None:
    cfg = loads_config(CFG)
    alerts = [Alert({"alertname": "A", "instance": "i1", "severity": "critical"},
                    ends_at=datetime(2024, 5, 6, 11, tzinfo=UTC)),
              Alert({"alertname": "A", "instance": "i1", "severity": "warning"})]
    assert not evaluate(cfg, alerts, datetime(2024, 5, 6, 12, tzinfo=UTC))[1].inhibited


def test_two_sided_rule_never_self_inhibits() -> None:
    cfg = loads_config(CFG)
    v = evaluate(cfg, [Alert({"kind": "x", "n": "1"}), Alert({"kind": "x", "n": "2"})],
                 datetime(2024, 5, 6, tzinfo=UTC))
    assert not any(x.inhibited for x in v)


def test_mute_and_active_intervals_with_zone() -> None:
    cfg = loads_config(CFG)
    crit = Alert({"severity": "critical", "team": "db"})
    # Sunday 2024-05-05 07:00 UTC = 03:00 in New York: muted for the pager; db is outside office hours
    v = evaluate(cfg, [crit], datetime(2024, 5, 5, 7, tzinfo=UTC))[0]
    assert [(r.receiver, r.muted_by, r.inactive) for r in v.routes] == [
        ("pager", ["weekend-nights"], False), ("db", [], True)]
    assert v.notified_receivers == []
    # Monday 10:00 UTC: nothing muted
    v = evaluate(cfg, [crit], datetime(2024, 5, 6, 10, tzinfo=UTC))[0]
    assert v.notified_receivers == ["pager", "db"]


def test_cli_inhibit_and_mute_json(tmp_path: Path) -> None:
    cfg = tmp_path / "am.yml"
    cfg.write_text(CFG)
    alerts = tmp_path / "alerts.json"
    alerts.write_text(json.dumps([{"labels": {"alertname": "A", "instance": "i1", "severity": "critical"}},
                                  {"labels": {"alertname": "A", "instance": "i1", "severity": "warning"}}]))
    r = run_opsctl("alertmanager", "inhibit", str(cfg), "--alerts", str(alerts), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and [a["inhibited"] for a in doc["alerts"]] == [False, True]
    r = run_opsctl("alertmanager", "mute", str(cfg), "--alert", "severity=critical", "--at", "2024-05-05T07:00:00Z",
                   "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["time_intervals"] == {"weekend-nights": True, "office": False}
    assert doc["alerts"][0]["routes"][0]["muted_by"] == ["weekend-nights"]
    bad = run_opsctl("alertmanager", "mute", str(cfg), "--alert", "severity=critical", "--at", "yesterday")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
