"""`opsctl slo report` on hand-built exports with known answers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.slo.evaluate import Evaluator, SampleStore, plan_queries
from opsctl.slo.report import Options, report_from_export, summary
from opsctl.slo.spec import loads_spec
from tests.conftest import run_opsctl
from tests.slo import SLOTH, WIN, WINDOWS

T = 1_767_225_600.0  # 2026-01-01T00:00:00Z
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "slo"



def write_csv(path: Path, series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]) -> Path:
    names = sorted({k for key in series for k, _ in key})
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", *names, "value"])
        rows = []
        for key, samples in series.items():
            lab = dict(key)
            for t, v in samples:
                rows.append([int(t), *[lab.get(n, "") for n in names], v])
        rows.sort(key=lambda r: r[0])
        w.writerows(rows)
    return path


def counters(skip: set[float] | None = None, ok_reset: bool = False) -> dict:
    times = [T - 600 + 60 * i for i in range(11)]
    ok = [100.0 * i for i in range(11)]
    if ok_reset:  # process restart after the 4th sample: 300 -> 50 (Prometheus counts 50)
        ok = [0, 100, 200, 300, 50, 150, 250, 350, 450, 550, 650]
    err = [0, 0, 0, 5, 5, 5, 5, 5, 5, 5, 5]
    skip = skip or set()
    return {
        (("__name__", "http_requests_total"), ("code", "200")): [(t, v) for t, v in zip(times, ok) if t not in skip],
        (("__name__", "http_requests_total"), ("code", "500")): [(t, v) for t, v in zip(times, err) if t not in skip],
    }


def report(spec_text: str, data: Path, **kw: object) -> dict:
    slos = [s for g in loads_spec(spec_text, "spec.yml") for s in g.slos]
    return summary(report_from_export(slos, data, Options(**{"windows": WINDOWS, **kw})))["slos"][0]  # type: ignore[arg-type]


def test_request_based_known_answer(tmp_path: Path) -> None:
    s = report(SLOTH, write_csv(tmp_path / "d.csv", counters()))
    assert s["events"] == {"total": 1005.0, "bad": 5.0, "good": 1000.0}
    assert s["sli"] == pytest.approx(1 - 5 / 1005, abs=1e-15)
    assert s["status"] == "ok" and s["compliant"] is True
    eb = s["error_budget"]
    assert eb["total"] == pytest.approx(10.05)
    assert eb["consumed"] == 5.0
    assert eb["remaining"] == pytest.approx(5.05)
    assert eb["consumed_ratio"] == pytest.approx(5 / 10.05)
    rates = {b["window"]: b for b in s["burn_rates"]}
    assert rates["5m"]["burn_rate"] == 0.0  # the last five minutes had no errors
    assert rates["30m"]["error_ratio"] == pytest.approx(5 / 1005)
    assert rates["30m"]["burn_rate"] == pytest.approx(5 / 1005 / 0.01)
    # the 30 days before the export are a gap, reported as such
    assert s["gaps"]["ranges"] == [{"start": "2025-12-02T00:00:00Z", "end": "2025-12-31T23:50:00Z",
                                    "seconds": 30 * 86400 - 600.0}]
    assert s["window"]["step_seconds"] == 60.0


def test_counter_reset_counts_like_prometheus(tmp_path: Path) -> None:
    s = report(SLOTH, write_csv(tmp_path / "d.csv", counters(ok_reset=True)))
    assert s["events"]["total"] == 300 + 50 + 600 + 5  # increases: 3x100, reset to 50, 6x100, errors 5


def test_gap_is_reported_not_counted(tmp_path: Path) -> None:
    s = report(SLOTH, write_csv(tmp_path / "d.csv", counters(skip={T - 300, T - 240})))
    # The counter increase across the gap still lands in the first interval after it: no events lost.
    assert s["events"]["total"] == 1005.0
    ranges = s["gaps"]["ranges"]
    assert ranges[-1] == {"start": "2025-12-31T23:54:00Z", "end": "2025-12-31T23:56:00Z", "seconds": 120.0}
    assert s["gaps"]["unknown_seconds"] == 30 * 86400 - 600.0 + 120.0


def test_violation_and_burn_periods(tmp_path: Path) -> None:
    data = counters()
    key = (("__name__", "http_requests_total"), ("code", "500"))
    data[key] = [(t, v * 10) for t, v in data[key]]  # 50 errors in one minute: burn rate ~ 33x there
    s = report(SLOTH, write_csv(tmp_path / "d.csv", data))
    assert s["status"] == "violated" and s["compliant"] is False
    assert s["events"]["bad"] == 50.0
    assert s["error_budget"]["remaining"] < 0
    [period] = s["burn_periods"]
    assert period["start"] == "2025-12-31T23:52:00Z" and period["end"] == "2025-12-31T23:53:00Z"
    assert period["bad"] == 50.0
    assert period["peak_burn_rate"] == pytest.approx(50 / 150 / 0.01)


RAW_UP = """\
version: "prometheus/v1"
service: "svc"
slos:
  - name: "up"
    objective: 95
    sli:
      raw:
        error_ratio_query: 1 - (sum(sum_over_time(up[{{.window}}])) / sum(count_over_time(up[{{.window}}])))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def _up(down: set[int]) -> dict:
    times = [T - 600 + 60 * i for i in range(1, 11)]
    return {
        (("__name__", "up"), ("instance", "a")): [(t, 1.0) for t in times],
        (("__name__", "up"), ("instance", "b")): [(t, 0.0 if i in down else 1.0) for i, t in enumerate(times)],
    }


def test_raw_availability_from_up(tmp_path: Path) -> None:
    s = report(RAW_UP, write_csv(tmp_path / "up.csv", _up({3, 4})))
    # per-minute error ratios: 0.5 in two minutes, 0 in eight -> SLI 1 - 1/10 (sloth's average of ratios)
    assert s["unit"] == "ratio"
    assert s["events"]["total"] == 10.0
    assert s["events"]["bad"] == pytest.approx(1.0)
    assert s["sli"] == pytest.approx(0.9)
    assert s["status"] == "violated"


OPENSLO_UP = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: uptime
spec:
  service: svc
  indicator:
    metadata: {name: up}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: up}
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - op: gte
      value: 1
      target: 0.5
      timeSliceTarget: 0.75
      timeSliceWindow: 5m
"""


def test_timeslices_from_up_threshold(tmp_path: Path) -> None:
    # slices (T-600, T-300] and (T-300, T]: instance b down 3 of 5 minutes in the first -> 7/10 good < 0.75
    s = report(OPENSLO_UP, write_csv(tmp_path / "up.csv", _up({0, 1, 2})))
    assert s["unit"] == "slices" and s["window"]["step_seconds"] == 300.0
    assert s["events"] == {"total": 2.0, "bad": 1.0, "good": 1.0}
    assert s["sli"] == 0.5 and s["status"] == "ok"
    s = report(OPENSLO_UP, write_csv(tmp_path / "up2.csv", _up({0})))  # 9/10 good: both slices good
    assert s["events"]["bad"] == 0.0


OPENSLO_LATENCY = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: svc
  indicator:
    metadata: {name: fast}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(http_request_duration_seconds_bucket{le="0.3"})'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: sum(http_request_duration_seconds_count)}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99
"""


def test_latency_from_histogram_buckets(tmp_path: Path) -> None:
    times = [T - 300 + 60 * i for i in range(6)]
    bucket, count = "http_request_duration_seconds_bucket", "http_request_duration_seconds_count"
    data = {
        (("__name__", bucket), ("le", "0.3")): [(t, 98.0 * i) for i, t in enumerate(times)],
        (("__name__", bucket), ("le", "+Inf")): [(t, 100.0 * i) for i, t in enumerate(times)],
        (("__name__", count),): [(t, 100.0 * i) for i, t in enumerate(times)],
    }
    s = report(OPENSLO_LATENCY, write_csv(tmp_path / "h.csv", data))
    assert s["events"] == {"total": 500.0, "bad": 10.0, "good": 490.0}
    assert s["sli"] == pytest.approx(0.98)
    assert s["status"] == "violated"
    assert s["window"]["period_seconds"] == 28 * 86400


def test_histogram_quantile_threshold(tmp_path: Path) -> None:
    query = "spec: {query: 'histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))'}"
    spec = OPENSLO_UP.replace("spec: {query: up}", query).replace("op: gte", "op: lt").replace("value: 1", "value: 0.3")
    times = [T - 1200 + 60 * i for i in range(21)]
    data = {  # 90% of requests under 0.1s, all under 0.5s: the p90 is 0.1 -> good
        (("__name__", "lat_bucket"), ("le", "0.1")): [(t, 90.0 * i) for i, t in enumerate(times)],
        (("__name__", "lat_bucket"), ("le", "0.5")): [(t, 100.0 * i) for i, t in enumerate(times)],
        (("__name__", "lat_bucket"), ("le", "+Inf")): [(t, 100.0 * i) for i, t in enumerate(times)],
    }
    s = report(spec, write_csv(tmp_path / "q.csv", data))
    assert s["events"]["bad"] == 0.0 and s["events"]["total"] == 4.0


def test_json_csv_and_streamed_parquet_agree(tmp_path: Path) -> None:
    data = counters(skip={T - 300})
    csv_path = write_csv(tmp_path / "d.csv", data)
    result = [{"metric": dict(k), "values": [[t, str(v)] for t, v in samples]} for k, samples in data.items()]
    json_path = tmp_path / "d.json"
    json_path.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))
    rows = [(t, dict(k)["code"], v) for k, samples in data.items() for t, v in samples]
    rows.sort()
    pq_path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"timestamp": [r[0] for r in rows], "__name__": ["http_requests_total"] * len(rows),
                             "code": [r[1] for r in rows], "value": [r[2] for r in rows]}), pq_path)
    slos = [s for g in loads_spec(SLOTH, "s.yml") for s in g.slos]
    docs = [summary(report_from_export(slos, p))["slos"][0] for p in (csv_path, json_path)]
    docs.append(summary(report_from_export(slos, pq_path, batch_rows=3))["slos"][0])  # tiny batches
    for d in docs[1:]:
        assert d["events"] == docs[0]["events"]
        assert d["gaps"] == docs[0]["gaps"]
        assert d["burn_rates"] == docs[0]["burn_rates"]


def test_unsorted_parquet_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "u.parquet"
    pq.write_table(pa.table({"timestamp": [T, T - 60], "__name__": ["http_requests_total"] * 2,
                             "value": [2.0, 1.0]}), p)
    slos = [s for g in loads_spec(SLOTH, "s.yml") for s in g.slos]
    with pytest.raises(InputError, match="not in time order"):
        report_from_export(slos, p, batch_rows=1)


def test_calendar_window(tmp_path: Path) -> None:
    spec = OPENSLO_UP.replace("duration: 1d\n      isRolling: true",
                              "duration: 1M\n      isRolling: false\n      calendar:\n"
                              "        startTime: '2025-11-01 00:00:00'\n        timeZone: UTC")
    s = report(spec, write_csv(tmp_path / "up.csv", _up(set())))
    assert s["window"]["kind"] == "calendar"
    assert s["window"]["start"] == "2025-12-01T00:00:00Z" and s["window"]["end"] == "2026-01-01T00:00:00Z"


def test_no_data_is_not_compliant(tmp_path: Path) -> None:
    data = {(("__name__", "other_metric"),): [(T - 60, 1.0), (T, 2.0)]}
    s = report(SLOTH, write_csv(tmp_path / "d.csv", data))
    assert s["status"] == "no_data" and s["sli"] is None and s["compliant"] is None


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_exit_codes_json_and_html(tmp_path: Path) -> None:
    spec = tmp_path / "s.yml"
    spec.write_text(SLOTH)
    ok = write_csv(tmp_path / "ok.csv", counters())
    html = tmp_path / "r.html"
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", str(ok), "--format", "json", "-o", str(html))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1 and doc["violated"] == 0
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<polyline" in page
    data = counters()
    key = (("__name__", "http_requests_total"), ("code", "500"))
    data[key] = [(t, v * 10) for t, v in data[key]]
    bad = write_csv(tmp_path / "bad.csv", data)
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", str(bad))
    assert proc.returncode == 1
    assert "VIOLATED" in proc.stdout and "burn-down" in proc.stdout
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", str(tmp_path / "missing.csv"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", str(ok), "-o", str(tmp_path / "x.pdf"))
    assert proc.returncode == 2 and ".html or .png" in proc.stderr  # PNG: tests/slo/test_png.py


def test_demo_example_reports(tmp_path: Path) -> None:
    for spec in ("checkout.yml", "openslo-v1.yml"):
        proc = run_opsctl("slo", "report", str(EXAMPLES / spec), "--data", str(EXAMPLES / "checkout.csv"),
                          "--format", "json", "--slo-period-windows-path", str(EXAMPLES / "windows"))
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert all(s["status"] == "ok" for s in doc["slos"])
        assert all(s["gaps"]["ranges"] for s in doc["slos"])  # the example export has a 20-minute scrape gap


# ------------------------------------------------------------------------------------- property tests


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=30), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=4))
def test_pre_aggregated_sum_equals_per_series_evaluation(increments: list[list[int]], k: int) -> None:
    """The streaming pre-aggregation of sum(rate(...)) gives exactly the per-series evaluation."""
    query = f"sum(rate(c[{k}m]))"
    g = 40
    per_series = SampleStore(T - g * 60, 60, g)
    planned = SampleStore(T - g * 60, 60, g, plan_queries([query]))
    for i, inc in enumerate(increments):
        ts = T - g * 60 + 60 * np.arange(len(inc)) + 30
        vs = np.cumsum(np.array(inc, dtype=float))
        vs[len(vs) // 2:] -= vs[len(vs) // 2] if i % 2 else 0  # some series reset half-way
        vs = np.maximum(vs, 0)
        for store in (per_series, planned):
            store.add(store.series_id({"__name__": "c", "i": str(i)}), ts, vs)
    a = Evaluator(per_series).evaluate(query).values
    b = Evaluator(planned).evaluate(query).values
    assert a.shape == b.shape
    assert np.allclose(np.nan_to_num(a, nan=-1), np.nan_to_num(b, nan=-1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=2, max_size=50))
def test_increase_of_monotonic_counter_is_last_minus_first(values: list[float]) -> None:
    vs = np.maximum.accumulate(np.array(values))
    g = len(vs)
    store = SampleStore(T - g * 60, 60, g)
    ts = T - g * 60 + 60 * np.arange(g) + 1
    store.add(store.series_id({"__name__": "c"}), ts, vs)
    out = Evaluator(store, count_mode=True).evaluate(f"sum(increase(c[{g}m]))").values[0]
    assert math.isclose(out[-1], vs[-1] - vs[0], rel_tol=1e-9, abs_tol=1e-6)


def test_html_report_is_well_formed(tmp_path: Path) -> None:
    from html.parser import HTMLParser

    from opsctl.slo.render import html_report, text_report

    doc = summary(report_from_export([s for g in loads_spec(SLOTH, "s.yml") for s in g.slos],
                                     write_csv(tmp_path / "d.csv", counters())))
    page = html_report(doc)

    class Check(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag not in ("meta", "line", "rect", "polyline", "br"):
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in ("line", "rect", "polyline"):
                return
            assert self.stack and self.stack[-1] == tag, (self.stack, tag)
            self.stack.pop()

    c = Check()
    c.feed(page)
    assert c.stack == []
    assert "svc-avail" in page
    text = text_report(doc)
    assert "SLO svc-avail" in text and "burn-down" in text and "0 violated" in text


def test_csv_iso_times_and_unsorted_rows_fall_back_to_the_in_memory_reader(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    base = report(SLOTH, write_csv(tmp_path / "d.csv", counters()))
    rows = (tmp_path / "d.csv").read_text().splitlines()
    header, body = rows[0], rows[1:]
    iso = [",".join([datetime.fromtimestamp(int(r.split(",")[0]), UTC).isoformat(), *r.split(",")[1:]])
           for r in body]
    (tmp_path / "iso.csv").write_text("\n".join([header, *iso]) + "\n")
    (tmp_path / "rev.csv").write_text("\n".join([header, *reversed(body)]) + "\n")
    for name in ("iso.csv", "rev.csv"):
        s = report(SLOTH, tmp_path / name)
        assert s["events"] == base["events"] and s["gaps"] == base["gaps"], name
