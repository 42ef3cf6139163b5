"""`opsctl rules backtest --prometheus URL` over native histograms held by a real Prometheus 3.16.

The histograms get into the server through its OTLP receiver (`--web.enable-otlp-receiver`, OTLP/JSON
exponential histograms of scale 0 become native histograms of schema 0; the out-of-order window takes six
hours of history at once), as in tests/slo/test_prometheus_native_histograms.py. The same alerting rules are
then replayed four ways, which must agree step for step:

- pushdown (the server evaluates each expression with query_range; one alert's result is a histogram, whose
  `$value` goes into a label template),
- raw mode (the raw histogram samples are fetched and replayed here: forced for every alert, and chosen by
  itself for an alert reading a recording rule of histograms the server does not hold),
- the export-based backtest (`rules backtest --data`) of the same raw samples exported as query JSON,
- Prometheus itself: the presence of each rule expression in its own query_range, turned into episodes by
  the `for` rule by hand here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsctl.prom.client import PrometheusClient, parse_api_response
from opsctl.rules.backtest import BacktestResult
from opsctl.rules.backtest_live import backtest_live
from tests.conftest import find_tool, run_opsctl
from tests.servers import free_port, running

pytestmark = [pytest.mark.oracle, pytest.mark.slow]

HOURS = 6
STEP = 60
# Minutes (from the first sample) whose requests are slow (half of them in (2,4] s) and quiet (2 a minute).
SLOW = set(range(100, 130)) | set(range(200, 204))
QUIET = set(range(250, 290))

RULES = """\
groups:
  - name: native
    interval: 1m
    rules:
      - record: job:http_request_duration_seconds:rate5m
        expr: sum by (job) (rate(http_request_duration_seconds[5m]))
      - alert: P99Slow
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds[5m]))) > 2
        for: 5m
      - alert: FewRequests
        expr: histogram_count(rate(http_request_duration_seconds[5m])) < 1
        for: 2m
      - alert: RecordedP99Slow
        expr: histogram_quantile(0.99, job:http_request_duration_seconds:rate5m{job="api"}) > 2
        for: 5m
      - alert: StuckHistogram
        expr: queue_wait_seconds
        labels:
          value: "{{ $value }}"
          queried: '{{ with query "queue_wait_seconds" }}{{ . | first | value }}{{ end }}'
"""

ALERTS = {"P99Slow": 300, "FewRequests": 120, "RecordedP99Slow": 300, "StuckHistogram": 0}  # name -> for
CHANGE = 180  # the minute queue_wait_seconds changes (once): its alert's label changes with it
# Go's FloatHistogram.String() of the two queue_wait_seconds histograms, as Prometheus renders `{{ $value }}`
STUCK_TEXT = ["{count:3, sum:2.25, (0.5,1]:3}", "{count:5, sum:8.25, (0.5,1]:3, (2,4]:2}"]


def _payload(first: int) -> dict[str, Any]:
    """Two counter histograms, one sample a minute from `first` for HOURS hours: http_request_duration_seconds,
    1000 requests a minute in (0.5,1] s (SLOW minutes: 500 there and 500 in (2,4] s; QUIET minutes: 2 in
    (0.5,1] s); queue_wait_seconds, which does not move except once at minute CHANGE."""
    fast = slow = 0
    points, stuck = [], []
    for m in range(HOURS * 60 + 1):
        t = first + m * 60
        common = {"startTimeUnixNano": str((first - 60) * 10**9), "timeUnixNano": str(t * 10**9),
                  "scale": 0, "zeroCount": "0"}
        points.append({**common, "count": str(fast + slow), "sum": 0.75 * fast + 3.0 * slow,
                       "positive": {"offset": -1, "bucketCounts": [str(fast), "0", str(slow)]}})
        if m < CHANGE:
            stuck.append({**common, "count": "3", "sum": 2.25, "positive": {"offset": -1, "bucketCounts": ["3"]}})
        else:
            stuck.append({**common, "count": "5", "sum": 8.25,
                          "positive": {"offset": -1, "bucketCounts": ["3", "0", "2"]}})
        if m in SLOW:
            fast, slow = fast + 500, slow + 500
        elif m in QUIET:
            fast += 2
        else:
            fast += 1000
    metrics = [
        {"name": "http_request_duration", "unit": "s",
         "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": points}},
        {"name": "queue_wait", "unit": "s",
         "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": stuck}},
    ]
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeMetrics": [{"scope": {"name": "opsctl-test"}, "metrics": metrics}]}]}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, int, int]]:
    """(url, directory with rules.yml, first sample time, last sample time)"""
    prom = find_tool("prometheus-3.16")
    tmp = tmp_path_factory.mktemp("live-native")
    first = (int(time.time()) // 3600 - HOURS - 1) * 3600
    last = first + HOURS * 3600
    cfg = tmp / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: 30d\n")
    (tmp / "rules.yml").write_text(RULES)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [prom, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
           f"--web.listen-address=127.0.0.1:{port}", "--web.enable-otlp-receiver"]
    with running(cmd, f"{url}/-/ready", tmp / "prometheus.log"):
        r = httpx.post(f"{url}/api/v1/otlp/v1/metrics", content=json.dumps(_payload(first)),
                       headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text
        for name in ("http_request_duration_seconds", "queue_wait_seconds"):  # native histograms, not _bucket
            q = httpx.get(f"{url}/api/v1/query", params={"query": name, "time": last}, timeout=30).json()
            assert q["data"]["result"] and "histogram" in q["data"]["result"][0], q
        yield url, tmp, first, last


Episodes = dict[str, list[tuple[tuple[tuple[str, str], ...], float, float, float | None]]]


def _episodes(res: BacktestResult | dict[str, Any], start: float) -> Episodes:
    """Episodes per alert. The replays from raw samples also evaluate the data before the window (so that
    `for` is right at its start): an episode already active then is clipped to the window start, where the
    server's and the pushdown's evaluations begin (only StuckHistogram, whose `for` is 0, is active then)."""
    if isinstance(res, dict):
        got = {a["alertname"]: [(e["labels"], e["active_at"], e["fired_at"], e["resolved_at"])
                                for e in a["episodes"]] for a in res["alerts"]}
    else:
        got = {a.name: [(e.labels, e.active_at, e.fired_at, e.resolved_at) for e in a.episodes] for a in res.alerts}
    return {name: sorted((tuple(sorted(lb.items())), max(start, a), max(start, f), r) for lb, a, f, r in eps)
            for name, eps in got.items()}


def _window(first: int, last: int) -> tuple[int, int]:
    return first + 10 * 60, last


def _server_episodes(url: str, start: int, end: int) -> Episodes:
    """What Prometheus says: each rule expression's query_range presence, `for` applied here (a run of
    present steps fires `for` after it starts when it lasts that long, and resolves at the first absent step)."""
    out: Episodes = {}
    exprs = {"P99Slow": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds[5m]))) > 2",
             "FewRequests": "histogram_count(rate(http_request_duration_seconds[5m])) < 1",
             "RecordedP99Slow": ('histogram_quantile(0.99, sum by (job) (rate(http_request_duration_seconds'
                                 '{job="api"}[5m]))) > 2'),
             "StuckHistogram": "queue_wait_seconds"}
    for name, expr in exprs.items():
        body = httpx.get(f"{url}/api/v1/query_range", params={"query": expr, "start": start, "end": end,
                                                              "step": STEP}, timeout=30).json()
        assert body["status"] == "success", body
        runs: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for item in body["data"]["result"]:
            labels = {k: v for k, v in item["metric"].items() if k != "__name__"}
            labels["alertname"] = name
            pairs = [(int(t), None) for t, _ in item.get("values", [])]
            pairs += [(int(t), h) for t, h in item.get("histograms", [])]
            for t, h in sorted(pairs, key=lambda p: p[0]):
                key_labels = dict(labels)
                if name == "StuckHistogram":  # `$value` and the template query: which of the two histograms
                    # (Prometheus renders both as the histogram's String(): the check-replay test below)
                    key_labels["value"] = key_labels["queried"] = STUCK_TEXT[0 if h["count"] == "3" else 1]
                runs.setdefault(tuple(sorted(key_labels.items())), []).append(t)
        got = []
        for key, ts in runs.items():
            run = [ts[0]]
            for t in [*ts[1:], None]:
                if t is not None and t == run[-1] + STEP:
                    run.append(t)
                    continue
                if run[-1] - run[0] >= ALERTS[name]:
                    resolved = run[-1] + STEP if run[-1] < end else None
                    got.append((key, float(run[0]), float(run[0] + ALERTS[name]), resolved))
                if t is not None:
                    run = [t]
        out[name] = sorted((k, a, f, None if r is None else float(r)) for k, a, f, r in got)
    return out


def test_live_backtest_reads_native_histograms(prometheus: tuple[str, Path, int, int]) -> None:
    url, tmp, first, last = prometheus
    start, end = _window(first, last)
    rules = str(tmp / "rules.yml")
    server = _server_episodes(url, start, end)
    print("server:", server)
    # the data gives each alert something to do
    assert len(server["P99Slow"]) == 2 and len(server["FewRequests"]) == 1
    assert [dict(k)["value"] for k, *_ in server["StuckHistogram"]] == STUCK_TEXT
    assert [rest for _, *rest in server["RecordedP99Slow"]] == [rest for _, *rest in server["P99Slow"]]

    # pushdown (the CLI); RecordedP99Slow reads a recording rule the server does not hold, with a matcher:
    # it cannot be inlined and is replayed in raw mode
    proc = run_opsctl("rules", "backtest", rules, "--prometheus", url, "--from", str(start), "--to", str(end),
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["backtest"]
    assert doc["live"]["modes"] == {"P99Slow": "pushdown", "FewRequests": "pushdown", "RecordedP99Slow": "raw",
                                    "StuckHistogram": "pushdown"}
    pushdown = _episodes(doc, start)
    print("pushdown:", pushdown)
    assert pushdown == server

    # raw mode for every alert
    with PrometheusClient(url) as client:
        raw = backtest_live([rules], client, start, end, force_raw=True)
    assert set(raw.modes.values()) == {"raw"}
    print("raw:", _episodes(raw, start))
    assert _episodes(raw, start) == server

    # the export-based backtest of the raw samples, exported as query JSON
    span = end - first + 60
    result: list[Any] = []
    for name in ("http_request_duration_seconds", "queue_wait_seconds"):
        body = httpx.get(f"{url}/api/v1/query", params={"query": f"{name}[{span}s]", "time": end}, timeout=30).json()
        assert "histograms" in body["data"]["result"][0] and "values" not in body["data"]["result"][0]
        result += body["data"]["result"]
    export = tmp / "export.json"
    export.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))
    proc = run_opsctl("rules", "backtest", rules, "--data", str(export), "--from", str(start), "--to", str(end),
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    exported = _episodes(json.loads(proc.stdout)["backtest"], start)
    print("export:", exported)
    assert exported == server


def test_client_reads_histograms_only_when_asked(prometheus: tuple[str, Path, int, int]) -> None:
    url, _, _, last = prometheus
    with PrometheusClient(url) as client:
        (vec,) = client.query("queue_wait_seconds", last, histograms=True)
        assert vec.histograms is not None and vec.histograms[0].count == 5 and vec.histograms[0].sum == 8.25
        (mat,) = client.query_range("queue_wait_seconds", last - 600, last, 60, histograms=True)
        assert len(mat) == 11 and mat.histograms is not None and all(h is not None for h in mat.histograms)
        # float-only callers (SLO reports, detectors) see no histogram samples, as before
        assert client.query("queue_wait_seconds", last) == []
        (plain,) = client.query_range("queue_wait_seconds", last - 600, last, 60)
        assert len(plain) == 0 and plain.histograms is None
        assert client.query("histogram_count(queue_wait_seconds)", last)[0].values[0] == 5.0


def test_parse_api_response_mixed_matrix() -> None:
    """A matrix element holding floats and histograms (a series that changed type) is merged in time order."""
    payload = {"status": "success", "data": {"resultType": "matrix", "result": [{
        "metric": {"__name__": "x"}, "values": [[10, "1"], [30, "3"]],
        "histograms": [[20, {"count": "2", "sum": "1.5", "buckets": [[0, "0.5", "1", "2"]]}]]}]}}
    (s,) = parse_api_response(payload, histograms=True)
    assert s.timestamps.tolist() == [10.0, 20.0, 30.0]
    assert s.values[0] == 1.0 and s.values[2] == 3.0 and s.values[1] != s.values[1]  # NaN at the histogram
    assert s.histograms is not None and s.histograms[0] is None and s.histograms[2] is None
    assert s.histograms[1].count == 2.0
    (f,) = parse_api_response(payload)
    assert f.timestamps.tolist() == [10.0, 30.0] and f.histograms is None


# -- --check-replay: the server evaluates the same kind of rules in real time ----------------------------------

LIVE_RULES = """\
groups:
  - name: native
    interval: 1s
    rules:
      - alert: P99Slow
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds[5s]))) > 2
        for: 2s
      - alert: StuckHistogram
        expr: queue_wait_seconds
        labels:
          value: "{{ $value }}"
          queried: '{{ with query "queue_wait_seconds" }}{{ . | first | value }}{{ end }}'
"""

LIVE_S = 36.0  # seconds of pushes
LIVE_SLOW = (12.0, 20.0)  # seconds (from the first push) whose requests are slow
LIVE_CHANGE = 22.0  # queue_wait_seconds changes once here


def _live_payload(t: float, first: float, fast: int, slow: int) -> dict[str, Any]:
    common = {"startTimeUnixNano": str(int((first - 1) * 10**9)), "timeUnixNano": str(int(t * 10**9)),
              "scale": 0, "zeroCount": "0"}
    stuck = ({"count": "3", "sum": 2.25, "positive": {"offset": -1, "bucketCounts": ["3"]}}
             if t - first < LIVE_CHANGE else
             {"count": "5", "sum": 8.25, "positive": {"offset": -1, "bucketCounts": ["3", "0", "2"]}})
    metrics = [
        {"name": "http_request_duration", "unit": "s", "exponentialHistogram": {"aggregationTemporality": 2,
         "dataPoints": [{**common, "count": str(fast + slow), "sum": 0.75 * fast + 3.0 * slow,
                         "positive": {"offset": -1, "bucketCounts": [str(fast), "0", str(slow)]}}]}},
        {"name": "queue_wait", "unit": "s",
         "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [{**common, **stuck}]}},
    ]
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeMetrics": [{"scope": {"name": "opsctl-test"}, "metrics": metrics}]}]}


@pytest.fixture(scope="module")
def evaluating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, float, float]]:
    """A Prometheus 3.16 evaluating LIVE_RULES every second while histograms are pushed every second."""
    prom = find_tool("prometheus-3.16")
    tmp = tmp_path_factory.mktemp("live-native-eval")
    rules = tmp / "rules.yml"
    rules.write_text(LIVE_RULES)
    cfg = tmp / "prometheus.yml"
    cfg.write_text(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{rules}]\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [prom, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
           f"--web.listen-address=127.0.0.1:{port}", "--web.enable-otlp-receiver"]
    with running(cmd, f"{url}/-/ready", tmp / "prometheus.log"), httpx.Client(timeout=10) as http:
        time.sleep(3.0)  # the rule manager evaluates its groups from the start of the data on
        first = time.time()
        fast = slow = 0
        t = first
        while t < first + LIVE_S:
            r = http.post(f"{url}/api/v1/otlp/v1/metrics", content=json.dumps(_live_payload(t, first, fast, slow)),
                          headers={"Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            if LIVE_SLOW[0] <= t - first < LIVE_SLOW[1]:
                fast, slow = fast + 50, slow + 50
            else:
                fast += 100
            t += 1.0
            time.sleep(max(0.0, t - time.time()))
        yield url, tmp, first - 1.0, time.time() - 1.0


@pytest.mark.parametrize("raw", [False, True])
def test_check_replay_alike_with_the_servers_alerts(evaluating: tuple[str, Path, float, float], raw: bool) -> None:
    """The replay (pushdown, or raw mode for every alert) finds the firings the server really had (its ALERTS
    series), with the same labels: the `$value` label and the template `query` of a histogram rendered as
    Prometheus renders them."""
    from opsctl.rules.backtest import load_rule_groups
    from opsctl.rules.backtest_live import check_replay

    url, tmp, start, end = evaluating
    rules = str(tmp / "rules.yml")
    with PrometheusClient(url) as client:
        res = backtest_live([rules], client, start, end, force_raw=raw)
        assert set(res.modes.values()) == {"raw" if raw else "pushdown"}
        checked = check_replay(res, client, load_rule_groups([rules]))
    print(json.dumps(checked.to_dict()))
    by = {r.alertname: r for r in checked.rules}
    assert by["P99Slow"].alike >= 1 and by["StuckHistogram"].alike >= 1
    assert checked.alike_ratio == 1.0
    stuck = sorted((e.labels["value"], e.labels["queried"]) for e in res.alert("StuckHistogram").episodes)  # type: ignore[union-attr]
    assert [v for v, _ in stuck] == STUCK_TEXT
