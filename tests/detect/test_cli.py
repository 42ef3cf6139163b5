"""`opsctl detect` commands through the real CLI: demo config, list, score, history, JSON schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.errors import InputError
from tests.conftest import ROOT
from tests.detect.helpers import cli

DEMO = ROOT / "examples" / "detect" / "detectors.yaml"


def test_demo_run_fires_then_dedups(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    code, out = cli("run", "--config", str(DEMO), "--state", str(state), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    failing = sorted(x["detector"] for x in doc["results"] if not x["ok"])
    assert failing == ["latency-p99-spike", "orders-queue-shift"]
    spike = next(x for x in doc["results"] if x["detector"] == "latency-p99-spike" and not x["ok"])
    assert spike["labels"]["service"] == "api" and spike["severity"] == "critical"
    assert set(spike) >= {"ok", "severity", "message", "fingerprint", "extras"}
    assert spike["extras"]["type"] == "outlier" and spike["extras"]["observed"] == 0.54
    shift = next(x for x in doc["results"] if x["detector"] == "orders-queue-shift")
    assert shift["extras"]["type"] == "level_shift"
    assert [n["event"] for n in doc["notifications"]] == ["firing", "firing"]
    doc2 = json.loads(cli("run", "--config", str(DEMO), "--state", str(state), "--format", "json")[1])
    assert doc2["notifications"] == [] and doc2["counts"]["deduplicated"] == 2
    code, out = cli("history", "--config", str(DEMO), "--state", str(state), "--format", "json")
    hist = json.loads(out)
    assert code == 0 and len(hist["firing"]) == 2 and [e["event"] for e in hist["events"]] == ["firing"] * 2
    assert "Firing (2)" in cli("history", "--config", str(DEMO), "--state", str(state))[1]


def test_dry_run_text(tmp_path: Path) -> None:
    code, out = cli("run", "--config", str(DEMO), "--state", str(tmp_path / "s.db"), "--dry-run")
    assert code == 1 and "[dry run]" in out and "FAIL latency-p99-spike" in out
    hist = cli("history", "--config", str(DEMO), "--state", str(tmp_path / "s.db"), "--format", "json")[1]
    assert json.loads(hist)["events"] == [] and json.loads(hist)["spool"] == []


def test_list_json_has_every_building_block() -> None:
    doc = json.loads(cli("list", "--format", "json")[1])
    ids = {(i["category"], i["id"]) for i in doc["items"]}
    assert {("anomaly", x) for x in ("ewma", "zscore", "robust_z", "rolling_percentile", "level_shift",
                                     "seasonal")} <= ids
    assert {("check", x) for x in ("http_probe", "sql_check", "promql_threshold", "size_growth")} <= ids
    assert {("notifier", x) for x in ("alertmanager", "slack", "pagerduty", "telegram", "webhook", "email")} <= ids
    assert all(i["summary"] and i["doc"] for i in doc["items"])


def test_score_command() -> None:
    f = ROOT / "examples" / "detect" / "latency_p99.csv"
    code, out = cli("score", str(f), "--detector", "robust_z", "--param", "threshold=6", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    api = next(s for s in doc["series"] if s["labels"]["service"] == "api")
    assert api["anomalies"] >= 2 and api["top"][-1]["observed"] == 0.54
    with pytest.raises(InputError, match="invalid parameters"):
        cli("score", str(f), "--detector", "robust_z", "--param", "window=x")


def test_history_since_takes_a_duration_or_a_time(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    cli("run", "--config", str(DEMO), "--state", str(state))

    def events(since: str) -> int:
        code, out = cli("history", "--config", str(DEMO), "--state", str(state), "--format", "json", "--since", since)
        assert code == 0
        return len(json.loads(out)["events"])

    assert events("1h") == events("now-1h") == events("2020-01-31") == events("1580428800") == 2
    assert events("+1h") == events("2999-01-01T00:00:00Z") == 0
    with pytest.raises(InputError, match="--since"):
        cli("history", "--config", str(DEMO), "--state", str(state), "--since", "yesterday")
