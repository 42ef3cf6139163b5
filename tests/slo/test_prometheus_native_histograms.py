"""`opsctl slo report --prometheus` on a pyrra latencyNative SLO against a real Prometheus 3.16 holding native
histograms (the server computes histogram_fraction / histogram_count).

Native histograms get into Prometheus without protobuf scraping through its OTLP receiver
(`--web.enable-otlp-receiver`), which accepts OTLP/JSON: exponential histograms (scale 0) become native
histograms of schema 0. The out-of-order window lets us write six hours of history at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import find_tool, run_opsctl
from tests.servers import free_port, running
from tests.slo import WIN

pytestmark = [pytest.mark.oracle, pytest.mark.slow]

SPEC = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-latency
  namespace: monitoring
spec:
  target: "99.5"
  window: 1d
  indicator:
    latencyNative:
      latency: 1s
      total:
        metric: http_request_duration_seconds{job="api",code=~"2.."}
"""

HOURS = 6
BAD_HOUR = 2  # the third hour: half of the requests are slow


def _payload(end: int) -> dict[str, object]:
    """One counter histogram (cumulative), a sample a minute: 1000 requests/min, 999 in (0.5,1] s and 1 in
    (2,4] s (within the 99.5% objective), except 500/500 during BAD_HOUR. Buckets at scale 0: index -1 =
    (0.5,1], 1 = (2,4]."""
    start = end - HOURS * 3600
    fast = slow = 0
    points = []
    for t in range(start, end + 1, 60):
        points.append({
            "startTimeUnixNano": str((start - 60) * 10**9), "timeUnixNano": str(t * 10**9),
            "count": str(fast + slow), "sum": 0.75 * fast + 3.0 * slow, "scale": 0, "zeroCount": "0",
            "positive": {"offset": -1, "bucketCounts": [str(fast), "0", str(slow)]},
            "attributes": [{"key": "code", "value": {"stringValue": "200"}}],
        })
        bad = start + BAD_HOUR * 3600 <= t < start + (BAD_HOUR + 1) * 3600
        fast += 500 if bad else 999
        slow += 500 if bad else 1
    metric = {"name": "http_request_duration", "unit": "s",
              "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": points}}
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeMetrics": [{"scope": {"name": "opsctl-test"}, "metrics": [metric]}]}]}


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    prom = find_tool("prometheus-3.16")
    end = (int(time.time()) // 3600 - 1) * 3600
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: 30d\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [prom, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
           f"--web.listen-address=127.0.0.1:{port}", "--web.enable-otlp-receiver"]
    with running(cmd, f"{url}/-/ready", tmp_path / "prometheus.log"):
        r = httpx.post(f"{url}/api/v1/otlp/v1/metrics", content=json.dumps(_payload(end)),
                       headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text
        # the server holds native histograms (not classic _bucket series)
        q = httpx.get(f"{url}/api/v1/query", params={"query": "http_request_duration_seconds", "time": end},
                      timeout=30).json()
        assert q["data"]["result"] and "histogram" in q["data"]["result"][0], q
        yield url, end


def test_latency_native_report_from_prometheus(prometheus: tuple[str, int], tmp_path: Path) -> None:
    url, end = prometheus
    spec = tmp_path / "slo.yaml"
    spec.write_text(SPEC)
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, "--to", str(end), "--step", "5m",
                      "--format", "json")
    assert proc.returncode == 1, proc.stderr  # the bad hour alone spends the budget: violated
    s = json.loads(proc.stdout)["slos"][0]
    # exact answer: 360 one-minute increases of 1000 requests; slow: 300 x 1 + 60 x 500
    total, bad = 360000.0, 30300.0
    print("report:", s["sli"], s["events"])
    assert s["status"] == "violated"
    assert s["events"]["total"] == pytest.approx(total, rel=0.01)
    assert s["events"]["bad"] == pytest.approx(bad, rel=0.02)
    assert s["sli"] == pytest.approx(1 - bad / total, abs=2e-3)
    assert s["error_budget"]["consumed_ratio"] == pytest.approx(bad / (total * 0.005), rel=0.03)
    # the bad hour is the worst burn period
    assert s["burn_periods"]
    bad_start = datetime.fromtimestamp(end - (HOURS - BAD_HOUR) * 3600, UTC).strftime("%Y-%m-%dT%H")
    assert s["burn_periods"][0]["start"][:13] == bad_start, s["burn_periods"]
