"""Oracle: opsctl's inhibition verdicts == what a real Alertmanager 0.25 reports (status.inhibitedBy)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsctl.alertmanager.config import load_config
from opsctl.alertmanager.inhibit import Alert, evaluate
from tests.alertmanager.amserver import alertmanager, get_alerts, post_alerts
from tests.conftest import find_tool

CONFIG = """
route:
  receiver: blackhole
  group_wait: 1h
receivers: [{name: blackhole}]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, instance]
  - source_matchers: ['severity="warning"']
    target_matchers: ['severity="info"']
    equal: [alertname, instance]
  - source_match: {kind: outage}
    target_match_re: {kind: 'outage|degraded'}
    equal: [dc]
"""


def _random_alerts(rng: random.Random, n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        labels = {"alertname": rng.choice(["A", "B"]), "n": str(i)}
        for key, values in (("instance", ["i1", "i2"]), ("severity", ["critical", "warning", "info"]),
                            ("kind", ["outage", "degraded"]), ("dc", ["x", "y"])):
            if rng.random() < 0.7:
                labels[key] = rng.choice(values)
        out.append(labels)
    return out


@pytest.mark.oracle
def test_inhibition_matches_real_alertmanager(tmp_path: Path) -> None:
    binary = find_tool("prometheus-alertmanager")
    cfg_path = tmp_path / "am.yml"
    cfg_path.write_text(CONFIG)
    cfg = load_config(cfg_path, version=(0, 25))
    rng = random.Random(99)
    now = datetime.now(UTC)
    with alertmanager(binary, cfg_path, tmp_path) as url:
        labelsets = _random_alerts(rng, 40)
        ends = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        post_alerts(url, [{"labels": ls, "endsAt": ends} for ls in labelsets])
        deadline = time.monotonic() + 20
        got: dict[str, bool] = {}
        stable = 0
        while time.monotonic() < deadline:
            current = {a["labels"]["n"]: bool(a["status"]["inhibitedBy"]) for a in get_alerts(url)}
            stable = stable + 1 if current == got and len(current) == len(labelsets) else 0
            got = current
            if stable >= 3:
                break
            time.sleep(0.3)
    verdicts = evaluate(cfg, [Alert(ls) for ls in labelsets], now)
    ours = {ls["n"]: v.inhibited for ls, v in zip(labelsets, verdicts, strict=True)}
    assert len(got) == len(labelsets)
    assert any(ours.values()) and not all(ours.values())
    assert ours == got
