"""`rules backtest --data` over JSON exports holding native histograms (Prometheus's `histogram` /
`histograms` fields), whole and streamed.

The export is built by hand in the shape of Prometheus's HTTP API (docs/querying/api.md, "Native
histograms"): `"histograms": [[<ts>, {"count": "..", "sum": "..", "buckets": [[<boundary_rule>, "<left>",
"<right>", "<count>"], ...]}]]`, positive buckets open left (rule 0), empty buckets left out. The expected
episodes are worked out by hand below; the same samples in promtool's `{{...}}` notation go through a rule
unit test (opsctl's runner, and promtool 3.16 when built) that checks the firing alerts at every step.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsctl.data.exports import read_export, series_from_prometheus_json
from opsctl.errors import InputError
from opsctl.promql.histogram import FloatHistogram
from opsctl.rules.backtest import AlertStats, BacktestResult, backtest
from opsctl.rules.backtest_stream import ExportStore, backtest_export, backtest_store
from opsctl.rules.unittest import run_test_file
from tests.conftest import find_tool

T0 = 1_699_999_980  # a whole minute
MINUTES = 120
# Minutes whose scrape adds slow requests (1.5 s, bucket (1, 2]) on instance a; every minute adds 10 fast
# ones (0.25 s, bucket (0.125, 0.25]) on both instances.
SLOW = set(range(30, 40)) | set(range(80, 85)) | {100}

RULES = """
groups:
  - name: latency
    interval: 1m
    rules:
      - alert: SlowRequests
        expr: histogram_quantile(0.99, sum(rate(http_request_duration_seconds[5m]))) > 0.5
        for: 5m
"""

# Worked out by hand. rate(x[5m]) at t reads the samples of minutes t-4 .. t: the 0.99 quantile is in
# the slow bucket (> 0.5) while that window holds an increase that includes slow requests, i.e. from the
# first slow minute m to the last slow minute + 3. Minutes 30-39: present 30..42, fires at 35 (for: 5m),
# resolved at 43. 80-84: present 80..87, fires at 85, resolved at 88. 100: present 100..103, 4 steps,
# pending only.
EPISODES = [(30, 35, 43), (80, 85, 88)]


def _counts(instance: str) -> list[tuple[float, float, float, float]]:
    """Cumulative (fast bucket, slow bucket, count, sum) per minute."""
    fast = slow = total = 0.0
    out = []
    for m in range(MINUTES):
        fast += 10
        total += 10 * 0.25
        if instance == "a" and m in SLOW:
            slow += 5
            total += 5 * 1.5
        out.append((fast, slow, fast + slow, total))
    return out


def _hist_json(fast: float, slow: float, count: float, total: float) -> dict[str, Any]:
    buckets: list[list[Any]] = [[0, "0.125", "0.25", f"{fast:g}"]]
    if slow:
        buckets.append([0, "1", "2", f"{slow:g}"])
    return {"count": f"{count:g}", "sum": f"{total:g}", "buckets": buckets}


def _hist_notation(fast: float, slow: float, count: float, total: float) -> str:
    # Schema 0: bucket index i is (2^(i-1), 2^i]; (0.125, 0.25] is -2, (1, 2] is 1.
    return f"{{{{schema:0 sum:{total:g} count:{count:g} offset:-2 buckets:[{fast:g} 0 0 {slow:g}]}}}}"


def _export() -> dict[str, Any]:
    result = []
    for inst in ("a", "b"):
        result.append({
            "metric": {"__name__": "http_request_duration_seconds", "job": "api", "instance": inst},
            "histograms": [[T0 + 60 * m, _hist_json(*c)] for m, c in enumerate(_counts(inst))],
        })
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def _write(tmp_path: Path, doc: Any, rules: str = RULES) -> tuple[str, Path]:
    r = tmp_path / "rules.yml"
    r.write_text(rules)
    data = tmp_path / "export.json"
    data.write_text(json.dumps(doc))
    return str(r), data


def _alert(res: BacktestResult, name: str) -> AlertStats:
    stats = res.alert(name)
    assert stats is not None
    return stats


def _episodes(res: BacktestResult, name: str) -> list[tuple[float, float, float | None]]:
    stats = _alert(res, name)
    return [((e.active_at - T0) / 60, (e.fired_at - T0) / 60,
             None if e.resolved_at is None else (e.resolved_at - T0) / 60) for e in stats.episodes]


def test_reads_histograms_of_query_range_and_query_responses() -> None:
    series = series_from_prometheus_json(_export(), histograms=True)
    assert len(series) == 2
    s = series[0]
    assert s.histograms is not None and len(s.histograms) == MINUTES == len(s)
    assert np.isnan(s.values).all()
    h = s.histograms[31]
    assert isinstance(h, FloatHistogram)
    assert (h.count, h.sum, h.schema) == (330.0, 32 * 2.5 + 10 * 1.5, 0)  # minute 31: 32 fast, 2 x 5 slow
    assert [(b.lower, b.upper, b.count) for b in h.buckets() if b.count] == [(0.125, 0.25, 320.0), (1.0, 2.0, 10.0)]
    # An instant query's vector: "histogram": [t, H].
    vec = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "h"}, "histogram": [T0, _hist_json(10, 5, 15, 10)]}]}}
    (one,) = series_from_prometheus_json(vec, histograms=True)
    assert one.timestamps.tolist() == [T0]
    assert one.histograms is not None and one.histograms[0].count == 15.0
    # Float-only series keep no histogram array.
    (flt,) = series_from_prometheus_json([{"metric": {"__name__": "f"}, "values": [[T0, "1"]]}])
    assert flt.histograms is None


def test_mixed_item_is_merged_in_time_order() -> None:
    item = {"metric": {"__name__": "m"}, "values": [[T0, "1"], [T0 + 120, "3"]],
            "histograms": [[T0 + 60, _hist_json(1, 0, 1, 0.25)]]}
    (s,) = series_from_prometheus_json([item], histograms=True)
    assert s.timestamps.tolist() == [T0, T0 + 60, T0 + 120]
    assert s.values[0] == 1 and math.isnan(s.values[1]) and s.values[2] == 3
    assert s.histograms is not None
    assert s.histograms[0] is None and s.histograms[2] is None and s.histograms[1].count == 1.0


@pytest.mark.parametrize("item", [
    {"metric": {}, "histograms": [[T0, {"count": "1", "buckets": [[0, "x", "1", "1"]]}]]},
    {"metric": {}, "histograms": [[T0]]},
    {"metric": {}, "histograms": {"a": 1}},
    {"metric": {}},
])
def test_bad_histograms_are_input_errors(item: dict[str, Any]) -> None:
    with pytest.raises(InputError) as err:
        series_from_prometheus_json([item], "x.json", histograms=True)
    assert "result[0]" in str(err.value)


def test_float_only_readers_reject_histograms(tmp_path: Path) -> None:
    """Readers for float-only consumers (detect score, SLO reports) keep rejecting histogram samples, as
    before, now also in a series that has floats too (they were silently dropped)."""
    _, data = _write(tmp_path, _export())
    with pytest.raises(InputError, match=r"result\[0\]: native histogram samples"):
        read_export(data)
    with pytest.raises(InputError, match="native histogram samples"):
        series_from_prometheus_json(_mixed_export())


def test_backtest_fires_for_the_worked_out_episodes(tmp_path: Path) -> None:
    rules, data = _write(tmp_path, _export())
    res = backtest([rules], read_export(data, histograms=True))
    assert _episodes(res, "SlowRequests") == EPISODES
    stats = _alert(res, "SlowRequests")
    assert stats.pending_only == 1
    assert stats.fired == 2 and stats.firing_seconds == (8 + 3) * 60
    assert res.samples == 2 * MINUTES and res.warnings == []


@pytest.mark.parametrize(("window", "buffer"), [(None, 250_000), (600.0, 50), (7 * 60.0, 100_000), (60.0, 7)])
def test_streamed_equals_whole(tmp_path: Path, window: float | None, buffer: int) -> None:
    rules, data = _write(tmp_path, _export())
    whole = backtest([rules], read_export(data, histograms=True)).to_dict()
    with ExportStore.from_file(data, buffer_samples=buffer) as store:
        got = backtest_store([rules], store, window_seconds=window).to_dict()
    assert got == whole
    assert [(e["fired_at"] - T0) / 60 for e in got["alerts"][0]["episodes"]] == [35, 85]
    assert backtest_export([rules], data).to_dict() == whole


RECORDED_RULES = """
groups:
  - name: latency
    interval: 1m
    rules:
      - record: job:http_request_duration_seconds:rate5m
        expr: sum by (job) (rate(http_request_duration_seconds[5m]))
      - alert: SlowRequests
        expr: histogram_quantile(0.99, job:http_request_duration_seconds:rate5m) > 0.5
        for: 5m
      - alert: RecordedIsHistogram
        expr: histogram_count(job:http_request_duration_seconds:rate5m) > 0
"""


@pytest.mark.parametrize(("window", "buffer"), [(None, 250_000), (600.0, 50), (60.0, 7)])
def test_recording_rule_of_histograms(tmp_path: Path, window: float | None, buffer: int) -> None:
    """A recording rule whose output is a native histogram records histograms (not NaN floats), which an
    alert then reads: the same episodes as the expression written out in the alert; streamed equals whole."""
    rules, data = _write(tmp_path, _export(), RECORDED_RULES)
    whole = backtest([rules], read_export(data, histograms=True))
    assert whole.recorded == ["job:http_request_duration_seconds:rate5m"]
    assert _episodes(whole, "SlowRequests") == EPISODES
    # rate() needs two samples: the recorded histogram exists from minute 1 to the end.
    assert _episodes(whole, "RecordedIsHistogram") == [(1, 1, None)]
    with ExportStore.from_file(data, buffer_samples=buffer) as store:
        assert backtest_store([rules], store, window_seconds=window).to_dict() == whole.to_dict()


def _unit_test(tmp_path: Path, inputs: list[tuple[str, list[str]]], firing: dict[str, list[tuple[int, int | None]]],
               labels: dict[str, dict[str, str]]) -> Path:
    """A rule unit test (promtool's format) checking, at every minute, which alerts fire: `firing` gives each
    alert's [fired, resolved) minute intervals."""
    lines = ["rule_files: [rules.yml]", "evaluation_interval: 1m", "tests:", "  - interval: 1m", "    input_series:"]
    for series, values in inputs:
        lines += [f"      - series: '{series}'", f"        values: '{' '.join(values)}'"]
    lines.append("    alert_rule_test:")
    for m in range(MINUTES):
        for name, spans in firing.items():
            on = any(a <= m and (b is None or m < b) for a, b in spans)
            lines += [f"      - eval_time: {m}m", f"        alertname: {name}"]
            if on:
                lines += ["        exp_alerts:", f"          - exp_labels: {json.dumps(labels[name])}"]
            else:
                lines.append("        exp_alerts: []")
    p = tmp_path / "test.yml"
    p.write_text("\n".join(lines) + "\n")
    return p


def _check_unit_test(test: Path, promtool: str | None = None) -> None:
    """The unit test passes in opsctl's runner, or in promtool when given."""
    if promtool is not None:
        out = subprocess.run([promtool, "test", "rules", test.name], cwd=test.parent, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        return
    res = run_test_file(test)
    assert res.error is None
    assert [f.message for g in res.groups for f in g.failures] == []


@pytest.mark.parametrize("runner", ["opsctl", "promtool-3.16"])
def test_episodes_agree_with_a_rule_unit_test_over_the_same_samples(tmp_path: Path, runner: str) -> None:
    """The backtest's firing steps are those a rule unit test over the same samples (in `{{...}}` notation)
    sees, at every minute (opsctl's runner; promtool 3.16, the oracle, when built by .ci/oracles.sh); and
    the same test fails when one minute is moved (it can fail)."""
    promtool = find_tool(runner) if runner != "opsctl" else None
    rules, data = _write(tmp_path, _export())
    res = backtest([rules], read_export(data, histograms=True))
    spans = [(int(f), None if r is None else int(r)) for _, f, r in _episodes(res, "SlowRequests")]
    inputs = [(f'http_request_duration_seconds{{job="api", instance="{inst}"}}',
               [_hist_notation(*c) for c in _counts(inst)]) for inst in ("a", "b")]
    _check_unit_test(_unit_test(tmp_path, inputs, {"SlowRequests": spans}, {"SlowRequests": {}}), promtool)
    moved = [(spans[0][0] + 1, spans[0][1]), *spans[1:]]
    with pytest.raises(AssertionError):
        _check_unit_test(_unit_test(tmp_path, inputs, {"SlowRequests": moved}, {"SlowRequests": {}}), promtool)


MIXED_RULES = """
groups:
  - name: mixed
    interval: 1m
    rules:
      - alert: FloatPart
        expr: m > 0
      - alert: HistogramPart
        expr: histogram_count(m) > 0
      - alert: Any
        expr: m
"""


def _mixed_export() -> list[dict[str, Any]]:
    """One series, floats for its first hour and native histograms after (as Prometheus writes both
    fields in one result item), and a float-only series beside it."""
    return [
        {"metric": {"__name__": "m", "job": "mix"},
         "values": [[T0 + 60 * k, "1"] for k in range(60)],
         "histograms": [[T0 + 60 * k, _hist_json(k, 0, k, k * 0.25)] for k in range(60, MINUTES)]},
        {"metric": {"__name__": "m", "job": "float"}, "values": [[T0 + 60 * k, "2"] for k in range(MINUTES)]},
    ]


@pytest.mark.parametrize("runner", ["opsctl", "promtool-3.16"])
def test_series_mixing_floats_and_histograms(tmp_path: Path, runner: str) -> None:
    """A float comparison drops histogram samples and histogram_count() drops floats (as in Prometheus):
    FloatPart fires for the first hour of the mixed series, HistogramPart from then on, Any throughout."""
    promtool = find_tool(runner) if runner != "opsctl" else None
    rules, data = _write(tmp_path, {"status": "success", "data": {"resultType": "matrix",
                                                                   "result": _mixed_export()}}, MIXED_RULES)
    whole = backtest([rules], read_export(data, histograms=True))
    ep = {name: sorted((e.labels["job"], (e.fired_at - T0) / 60,
                        None if e.resolved_at is None else (e.resolved_at - T0) / 60)
                       for e in _alert(whole, name).episodes) for name in ("FloatPart", "HistogramPart", "Any")}
    assert ep == {"FloatPart": [("float", 0, None), ("mix", 0, 60)], "HistogramPart": [("mix", 60, None)],
                  "Any": [("float", 0, None), ("mix", 0, None)]}
    for window, buffer in [(600.0, 40), (None, 250_000)]:
        with ExportStore.from_file(data, buffer_samples=buffer) as store:
            assert backtest_store([rules], store, window_seconds=window).to_dict() == whole.to_dict()
    # The same states through a rule unit test over the same samples, minute by minute (mix only).
    values = ["1"] * 60 + [_hist_notation(k, 0, k, k * 0.25) for k in range(60, MINUTES)]
    test = _unit_test(tmp_path, [('m{job="mix"}', values)], {"FloatPart": [(0, 60)], "HistogramPart": [(60, None)]},
                      {"FloatPart": {"job": "mix"}, "HistogramPart": {"job": "mix"}})
    _check_unit_test(test, promtool)


def test_stale_markers_around_a_histogram_gap(tmp_path: Path) -> None:
    """A gap in a histogram series gets a stale marker (a float sample) like a float series: the alert
    goes away one spacing after the last sample before the gap, not 5 minutes later."""
    doc = [{"metric": {"__name__": "m", "job": "gap"},
            "histograms": [[T0 + 60 * k, _hist_json(k, 0, k, 0)] for k in range(MINUTES) if not 40 <= k < 70]}]
    rules, data = _write(tmp_path, doc, MIXED_RULES)
    whole = backtest([rules], read_export(data, histograms=True))
    assert [((e.fired_at - T0) / 60, (e.resolved_at - T0) / 60 if e.resolved_at else None)
            for e in _alert(whole, "HistogramPart").episodes] == [(1, 40), (70, None)]
    with ExportStore.from_file(data, buffer_samples=30) as store:
        assert backtest_store([rules], store, window_seconds=300.0).to_dict() == whole.to_dict()
