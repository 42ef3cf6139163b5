"""`opsctl rules validate --prometheus URL --lookback 3h`: per-alert firing counts, against a real Prometheus
started on a TSDB backfilled here (`promtool tsdb create-blocks-from openmetrics`) with known data: one
sample a minute for the 3 hours before now, so every count below follows from the data by hand."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from opsctl.prom.client import PrometheusClient
from opsctl.rules.live import FLAPS_WARN, gather
from opsctl.rules.loader import LoadOptions, parse_rule_file
from tests.conftest import find_tool, run_opsctl
from tests.servers import free_port, running

RULES = """groups:
  - name: firing
    interval: 1m
    rules:
      - alert: Flappy
        expr: demo_flappy > 0
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: FastFlapper
        expr: demo_fast > 0
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: AlwaysFiring
        expr: demo_always > 0
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: NeverFires
        expr: demo_never > 0
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: FilteredByFor
        expr: demo_fast > 0
        for: 5m
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: ManyInstances
        expr: demo_many > 0
        labels: {severity: warning}
        annotations: {summary: s, description: d}
"""

MINUTES = 182  # samples at T0, T0 + 1m, ... T0 + 181m = the last whole minute before now


def _value(metric: str, m: int) -> int:
    if metric == "demo_flappy":  # on for 10 minutes of every 20 from T0 + 20m: 8 blocks wholly in the window
        return int(m >= 20 and (m - 20) % 20 < 10 and m < 180)
    if metric == "demo_fast":  # on 2 minutes, off 2 minutes
        return int(m % 4 < 2)
    if metric == "demo_many":  # 6 instances, each on at minutes 30-39, 70-79, 110-119
        return int(30 <= m < 120 and (m - 30) % 40 < 10)
    return int(metric == "demo_always")


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    """(URL, T0) of a Prometheus whose only data is the backfilled demo series."""
    prom, promtool = find_tool("prometheus"), find_tool("promtool")
    tmp = tmp_path_factory.mktemp("firing")
    t0 = (math.floor(time.time() / 60) - (MINUTES - 1)) * 60.0
    lines = []
    for metric in ("demo_always", "demo_fast", "demo_flappy", "demo_many", "demo_never"):
        lines.append(f"# TYPE {metric} gauge")
        for inst in range(6 if metric == "demo_many" else 1):
            lines += [f'{metric}{{instance="i{inst + 1}"}} {_value(metric, m)} {t0 + 60 * m:.0f}'
                      for m in range(MINUTES)]
    (tmp / "data.om").write_text("\n".join(lines) + "\n# EOF\n")
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(tmp / "data.om"), str(tmp / "tsdb")],
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp / "prometheus.yml").write_text("global: {scrape_interval: 1m}\nscrape_configs: []\n")
    cmd = [prom, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, f"{url}/-/ready", tmp / "prometheus.log"):
        yield url, t0


def _validate(tmp: Path, url: str, *extra: str) -> tuple[int, dict, str]:
    (tmp / "r.yml").write_text(RULES)
    (tmp / ".opsctl.yaml").write_text("rules: {}\n")
    proc = run_opsctl("rules", "validate", "r.yml", "-f", "json", "--prometheus", url, *extra, cwd=tmp)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


@pytest.mark.oracle
def test_firing_counts_over_the_lookback(backfilled: tuple[str, float], tmp_path: Path) -> None:
    url, _ = backfilled
    code, doc, err = _validate(tmp_path, url, "--lookback", "3h")
    assert "Traceback" not in err
    found = {f["rule"]: f for f in doc["findings"] if f["check"] == "live-alert-firing"}
    print(json.dumps(found, indent=1))
    assert set(found) == {"Flappy", "FastFlapper", "AlwaysFiring", "NeverFires", "FilteredByFor", "ManyInstances"}
    alerts = {a["alert"]: a for a in doc["live"]["firing"]["alerts"]}
    # Flappy: 8 blocks of 10 minutes (minutes 20-29, 40-49, ... 160-169), each seen by 10 one-minute steps
    assert alerts["Flappy"]["fired"] == 8 and alerts["Flappy"]["flaps"] == 7
    assert alerts["Flappy"]["firing_seconds"] == 8 * 600 and alerts["Flappy"]["longest_seconds"] == 600
    assert found["Flappy"]["severity"] == "info" and "would have fired 8 time(s)" in found["Flappy"]["message"]
    # FastFlapper: on 2 minutes of every 4 over 3 hours: about 45 firings, far past the flapping line
    assert 44 <= alerts["FastFlapper"]["fired"] <= 46 and alerts["FastFlapper"]["flaps"] >= FLAPS_WARN
    assert found["FastFlapper"]["severity"] == "warning" and "flapped" in found["FastFlapper"]["message"]
    assert "always firing" not in found["FastFlapper"]["message"]  # on half the time: not more than 50%
    # AlwaysFiring: fires at the first step and never resolves: the whole window
    assert alerts["AlwaysFiring"]["fired"] == 1 and alerts["AlwaysFiring"]["continuous"]
    assert alerts["AlwaysFiring"]["top_instance_firing_share"] >= 0.99
    assert found["AlwaysFiring"]["severity"] == "warning" and "always firing" in found["AlwaysFiring"]["message"]
    assert alerts["NeverFires"]["fired"] == 0 and found["NeverFires"]["severity"] == "info"
    assert "would not have fired" in found["NeverFires"]["message"]
    # `for: 5m` over 2-minute blocks: never fires; every block is a pending activation it filtered out
    assert alerts["FilteredByFor"]["fired"] == 0 and alerts["FilteredByFor"]["pending_only"] >= 44
    assert "pending activation" in found["FilteredByFor"]["message"]
    # ManyInstances: 6 instances firing 3 times each: 12 re-fires in all, but 2 per instance is no flapping
    many = alerts["ManyInstances"]
    assert (many["fired"], many["instances"], many["flaps"], many["top_instance_flaps"]) == (18, 6, 12, 2)
    assert not many["flapping"] and found["ManyInstances"]["severity"] == "info"
    assert many["firing_seconds"] == 18 * 600 and many["longest_seconds"] == 600
    assert doc["live"]["firing"]["skipped"] == {}
    assert all(a["mode"] == "pushdown" for a in alerts.values())
    assert doc["live"]["firing"]["queries"] == 6  # one range query per alert (181 steps each)
    assert "firing over the last 3h: 6 alert(s) replayed" in err
    assert code == 1  # the two warnings


@pytest.mark.oracle
def test_no_lookback_no_firing_counts(backfilled: tuple[str, float], tmp_path: Path) -> None:
    url, _ = backfilled
    _, doc, _ = _validate(tmp_path, url)
    assert not [f for f in doc["findings"] if f["check"] == "live-alert-firing"]
    assert "firing" not in doc["live"]


@pytest.mark.oracle
def test_query_budget_bounds_the_replay_and_answers_are_cached(backfilled: tuple[str, float],
                                                               tmp_path: Path) -> None:
    url, _ = backfilled
    (tmp_path / "r.yml").write_text(RULES)
    files = [parse_rule_file(tmp_path / "r.yml", LoadOptions(check_templates=False))]
    with PrometheusClient(url, cache=True) as client:
        ev = gather(files, client, now=time.time(), lookback=3 * 3600, max_replay_queries=2)
        assert len(ev.firing) == 2 and ev.firing_queries == 2
        assert len(ev.firing_skipped) == 4
        assert all("query budget (2 queries)" in why for why in ev.firing_skipped.values())
        sent = client.requests
        client.query("count(demo_always)", 1000.0)
        client.query("count(demo_always)", 1000.0)
        assert client.requests == sent + 1


def test_unreachable_server_gives_no_firing_counts(tmp_path: Path) -> None:
    code, doc, err = _validate(tmp_path, f"http://127.0.0.1:{free_port()}", "--lookback", "7d")
    live = [f for f in doc["findings"] if f["check"].startswith("live-")]
    assert len(live) == 1 and "cannot be queried" in live[0]["message"] and live[0]["severity"] == "warning"
    assert "firing" not in doc["live"] and code == 1 and "Traceback" not in err


class _FailingRanges:
    """Answers instant queries (every selector has a series) but fails every range query: a server that
    times out on the replay's queries."""

    url = "http://fake.invalid"

    def query(self, expr: str, time: float | None = None) -> list:
        from opsctl.data.exports import Series

        return [Series({}, np.array([time or 0.0]), np.array([1.0]))]

    def query_range(self, *args: object) -> list:
        from opsctl.prom.client import PrometheusError

        raise PrometheusError("timed out after 10s")

    def _get(self, path: str, params: dict) -> dict:
        return {"status": "success", "data": {}}


def test_failed_replay_queries_are_findings_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(RULES)
    files = [parse_rule_file(tmp_path / "r.yml", LoadOptions(check_templates=False))]
    ev = gather(files, _FailingRanges(), now=1_000_000.0, lookback=3600)
    assert ev.warning is None and not ev.firing
    assert set(ev.firing_skipped) == {"Flappy", "FastFlapper", "AlwaysFiring", "NeverFires", "FilteredByFor",
                                      "ManyInstances"}
    assert all("timed out after 10s" in why for why in ev.firing_skipped.values())


class _EmptyRanges(_FailingRanges):
    def __init__(self) -> None:
        self.ranges: list[tuple[float, float, float]] = []

    def query_range(self, expr: str, start: float, end: float, step: float) -> list:
        self.ranges.append((start, end, step))
        return []


def test_seven_days_at_one_minute_is_two_range_queries_an_alert(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(RULES)
    files = [parse_rule_file(tmp_path / "r.yml", LoadOptions(check_templates=False))]
    client = _EmptyRanges()
    ev = gather(files, client, now=1_000_000.0, lookback=7 * 86400)
    assert ev.firing_queries == 12 and len(client.ranges) == 12 and not ev.firing_skipped
    for start, end, step in client.ranges:
        assert step == 60.0 and (end - start) / step + 1 <= 11_000  # Prometheus's points-per-series limit
    assert all(a.fired == 0 for a in ev.firing.values()) and len(ev.firing) == 6
