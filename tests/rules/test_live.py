"""`opsctl rules validate --prometheus URL` against a real Prometheus started here (it scrapes itself every
second): selectors that match nothing, metric types from /api/v1/metadata, the measured scrape interval,
the wrong-server warning and an unreachable server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import find_tool, run_opsctl
from tests.servers import free_port, running

RULES = """groups:
  - name: live
    rules:
      - alert: TargetDown
        expr: up{job="prometheus"} == 0
        for: 5m
        labels: {severity: critical}
        annotations: {summary: s, description: d}
      - alert: NothingThere
        expr: rate(no_such_metric_total[5m]) > 1
        for: 5m
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: RateOfAGauge
        expr: rate(prometheus_build_info[5m]) > 0
        for: 5m
        labels: {severity: warning}
        annotations: {summary: s, description: d}
      - alert: NoSuchLabel
        expr: sum by (datacenter) (up{job="prometheus"}) == 0
        for: 5m
        labels: {severity: warning}
        annotations: {summary: "down in {{ $labels.datacenter }}", description: d}
      - alert: GoodLabel
        expr: sum by (instance) (up{job="prometheus"}) == 0
        for: 5m
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.instance }} down", description: d}
      - alert: ShortRange
        expr: rate(prometheus_http_requests_total[2s]) > 100
        for: 5m
        labels: {severity: warning}
        annotations: {summary: s, description: d}
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prom = find_tool("prometheus")
    tmp = tmp_path_factory.mktemp("prom")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = tmp / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n"
                   f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    cmd = [prom, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, f"{url}/-/ready", tmp / "prometheus.log"):
        deadline = time.time() + 60
        while time.time() < deadline:  # a few raw samples of up and some metadata
            r = httpx.get(f"{url}/api/v1/query", params={"query": "count_over_time(up[1m])"}, timeout=5).json()
            meta = httpx.get(f"{url}/api/v1/metadata", timeout=5).json()
            if r["data"]["result"] and float(r["data"]["result"][0]["value"][1]) >= 4 and meta["data"]:
                break
            time.sleep(1)
        yield url


def _validate(tmp: Path, url: str, text: str, *extra: str) -> tuple[int, dict, str]:
    (tmp / "r.yml").write_text(text)
    (tmp / ".opsctl.yaml").write_text("rules: {}\n")
    proc = run_opsctl("rules", "validate", "r.yml", "-f", "json", "--prometheus", url, *extra, cwd=tmp)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


@pytest.mark.oracle
def test_live_evidence(prometheus: str, tmp_path: Path) -> None:
    code, doc, err = _validate(tmp_path, prometheus, RULES, "--lookback", "1h")
    assert code == 1, err
    by = {(f["check"], f["rule"]) for f in doc["findings"]}
    assert ("live-series", "NothingThere") in by
    assert ("live-series", "TargetDown") not in by
    assert ("rate-non-counter", "RateOfAGauge") in by          # gauge, says /api/v1/metadata
    assert ("rate-non-counter", "ShortRange") not in by        # counter family
    assert ("rate-range-short", "ShortRange") in by            # measured 1s scrape interval
    assert "scrape interval measured" in err
    labels = [f["message"] for f in doc["findings"] if f["check"] == "live-series" and f["rule"] == "NoSuchLabel"]
    assert len(labels) == 1 and "label datacenter" in labels[0]
    assert ("live-series", "GoodLabel") not in by
    nothing = next(f for f in doc["findings"] if f["rule"] == "NothingThere" and f["check"] == "live-series")
    assert "no_such_metric_total" in nothing["message"] and nothing["severity"] == "warning"


@pytest.mark.oracle
def test_wrong_server_is_one_warning(prometheus: str, tmp_path: Path) -> None:
    rules = "groups:\n  - name: g\n    rules:\n" + "".join(
        f"      - record: job:m{i}:sum\n        expr: sum(missing_{i}_total)\n" for i in range(8))
    code, doc, _ = _validate(tmp_path, prometheus, rules)
    live = [f for f in doc["findings"] if f["check"] == "live-series"]
    loud = [f for f in live if f["severity"] == "warning"]
    assert len(loud) == 1 and "probably the wrong server" in loud[0]["message"]
    assert len([f for f in live if f["severity"] == "info"]) == 8
    assert code == 1


def test_unreachable_server_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, doc, err = _validate(tmp_path, url, RULES)
    assert code == 1, err
    live = [f for f in doc["findings"] if f["check"] == "live-series"]
    assert len(live) == 1 and "cannot be queried" in live[0]["message"]
    assert "Traceback" not in err
