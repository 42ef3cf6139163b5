"""Oracle: native histograms in rule unit tests, opsctl against real `promtool test rules` of Prometheus 3.16.

opsctl computes every expectation: the test file is first run by opsctl with empty expectations, and what
opsctl got becomes the expectation (float values and `{{...}}` histograms, alerts with their annotations).
promtool 3.16 must accept the resulting file and opsctl must pass it too. Then some expectations are made
wrong on purpose (a bucket, a float, an annotation, a missing alert): both must fail, with the same failure
text line for line.

Covered: counter histograms with exponential schemas 0/1/3 (a schema change inside a range), zero and
negative buckets, custom buckets (NHCB, schema -53), counter resets, gaps and stale markers, gauge
histograms; rate/increase/irate/delta/idelta, *_over_time, histogram_count/sum/avg/fraction/quantile/
stddev/stdvar, sum/avg by, arithmetic with scalars and between histograms, recording rules producing
histograms and an alert on a histogram_quantile threshold with `for` (and one whose `$value` is a
histogram). Raw histogram samples (selectors, last_over_time, arithmetic, sums, a recording rule's copy)
are compared at every time, with the counter-reset hints they read back with from the TSDB head; the
series make the head cut chunks by size, at a float sample, a reset, an explicit hint, a stale marker and
a gauge/counter switch.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsctl.rules.unittest import FileResult, run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool
from tests.rules_testing.expectations import expr_test_lines

pytestmark = pytest.mark.oracle

V316 = PromVersion(3, 16)

RULES = """
groups:
  - name: hist
    rules:
      - record: job:lat:rate5m
        expr: sum by (job) (rate(lat[5m]))
      - record: job:lat:p90
        expr: histogram_quantile(0.9, job:lat:rate5m)
      - record: job:req_dur:rate5m
        expr: sum by (job) (rate(req_dur[5m]))
      - record: job:lat:scaled
        expr: job:lat:rate5m * 60
      - record: job:lat_mixed:copy
        expr: lat_mixed * 1
      - alert: LatencyP90High
        expr: histogram_quantile(0.9, sum by (job) (rate(lat[5m]))) > 1.5
        for: 3m
        labels:
          severity: page
        annotations:
          summary: "p90 {{ $value }} on {{ $labels.job }}"
      - alert: NHCBSlow
        expr: histogram_fraction(0, 0.5, rate(req_dur[5m])) < 0.9
        for: 2m
        annotations:
          fraction: "{{ $value | printf \\"%.4f\\" }}"
      - alert: HistogramValue
        expr: lat{instance="a"}
        annotations:
          value: "{{ $value }}"
"""

SERIES = [
    # counter histogram, schema 0
    ('lat{job="api", instance="a"}',
     "{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x20"),
    # schema 1 with zero bucket, negative buckets and offsets
    ('lat{job="api", instance="b"}',
     "{{schema:1 sum:-2 count:6 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1 n_buckets:[1 1] n_offset:-1}}"
     "+{{schema:1 sum:3 count:6 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1 n_buckets:[1 1] n_offset:-1}}"
     "x20"),
    # another job, schema 3
    ('lat{job="web", instance="c"}',
     "{{schema:3 sum:1 count:2 buckets:[1 1]}}+{{schema:3 sum:7.5 count:3 buckets:[1 0 2] offset:2}}x20"),
    # counter resets
    ('lat_reset{job="api"}',
     "{{schema:0 sum:10 count:8 buckets:[2 4 2]}} {{schema:0 sum:20 count:16 buckets:[4 8 4]}} "
     "{{schema:0 sum:5 count:4 buckets:[1 2 1]}} {{schema:0 sum:15 count:12 buckets:[3 6 3]}} "
     "{{schema:0 sum:25 count:20 buckets:[5 10 5]}} {{schema:0 sum:2 count:2 buckets:[0 2]}} "
     "{{schema:0 sum:12 count:10 buckets:[2 6 2]}}x14"),
    # schema change inside the range (3 -> 1 -> 0): rates are computed at the lowest schema
    ('lat_schema{job="api"}',
     "{{schema:3 sum:4 count:4 buckets:[1 1 1 1]}} {{schema:3 sum:8 count:8 buckets:[2 2 2 2]}} "
     "{{schema:1 sum:12 count:12 buckets:[6 6]}} {{schema:1 sum:16 count:16 buckets:[8 8]}} "
     "{{schema:0 sum:20 count:20 buckets:[20]}}+{{schema:0 sum:4 count:4 buckets:[4]}}x15"),
    # gauge histogram
    ('mem{job="api"}',
     "{{schema:0 sum:5 count:4 buckets:[1 2 1] counter_reset_hint:gauge}} "
     "{{schema:0 sum:3 count:2 buckets:[1 1] counter_reset_hint:gauge}} "
     "{{schema:0 sum:9 count:7 buckets:[2 3 2] z_bucket:0 counter_reset_hint:gauge}}x18"),
    # custom buckets (NHCB)
    ('req_dur{job="api"}',
     "{{schema:-53 sum:1 count:2 custom_values:[0.1 0.5 1] buckets:[1 1]}}"
     "+{{schema:-53 sum:2 count:4 custom_values:[0.1 0.5 1] buckets:[1 2 1]}}x20"),
    # gaps and a stale marker
    ('lat_gap{job="api"}',
     "{{schema:0 sum:1 count:1 buckets:[1]}} _ _ {{schema:0 sum:3 count:3 buckets:[3]}} stale "
     "{{schema:0 sum:5 count:5 buckets:[5]}}+{{schema:0 sum:1 count:1 buckets:[1]}}x8"),
    # Where the TSDB head cuts chunks (the first sample of a counter chunk reads back with an unknown
    # counter-reset hint, the others not_reset): inexact buckets fill a chunk's bytes quickly, so it is
    # cut by size every 10 samples (the minimum); a float sample between histograms; an explicit reset
    # hint and a not_reset hint on a reset; a gauge sample in a counter series and counters after it.
    ('lat_noisy{job="api"}',
     "{{schema:2 sum:0.3 count:0 z_bucket:0 z_bucket_w:0.001 buckets:[1 2 0 1 5] offset:-3 n_buckets:[1 1 2]}}"
     "+{{schema:2 sum:5.1 count:4.3 z_bucket:0.2 z_bucket_w:0.001 buckets:[1.1 2.2 1.3 0.1 7] offset:-3 "
     "n_buckets:[0.1 0.7 0.3]}}x20"),
    ('lat_mixed{job="api"}',
     "{{schema:0 sum:1 count:1 buckets:[1]}} {{schema:0 sum:2 count:2 buckets:[2]}} 7 "
     "{{schema:0 sum:3 count:3 buckets:[3]}} {{schema:0 sum:4 count:4 buckets:[4]}} "
     "{{schema:0 sum:5 count:5 buckets:[5] counter_reset_hint:reset}} {{schema:0 sum:6 count:6 buckets:[6]}} "
     "{{schema:0 sum:1 count:1 buckets:[1] counter_reset_hint:not_reset}} "
     "{{schema:0 sum:2 count:2 buckets:[1 1]}} {{schema:0 sum:2 count:2 buckets:[1 1] counter_reset_hint:gauge}} "
     "{{schema:0 sum:3 count:3 buckets:[2 1]}}+{{schema:0 sum:1 count:1 buckets:[1]}}x6"),
    # a long counter: its first chunk is cut by size and time after 111 samples (at 1h51m)
    ('lat_long{job="api"}',
     "{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x130"),
]

EXPRS = [
    "rate(lat[5m])", "increase(lat[5m])", "irate(lat[5m])", "rate(lat_reset[3m])", "increase(lat_reset[5m])",
    "irate(lat_reset[2m])", "resets(lat_reset[10m])", "rate(lat_schema[5m])", "increase(lat_schema[3m])",
    "rate(req_dur[5m])", "increase(req_dur[10m])", "rate(lat_gap[5m])", "lat_gap",
    "delta(mem[5m])", "idelta(mem[3m])", "sum_over_time(mem[3m])", "avg_over_time(mem[3m])",
    "last_over_time(lat[5m])", "count_over_time(lat_gap[5m])",
    "histogram_count(rate(lat[5m]))", "histogram_sum(rate(lat[5m]))", "histogram_avg(rate(lat[5m]))",
    "histogram_fraction(0, 2, rate(lat[5m]))", "histogram_fraction(-1, 1, lat)",
    "histogram_quantile(0.5, rate(lat[5m]))", "histogram_quantile(0.99, lat)", "histogram_quantile(0.1, lat)",
    "histogram_stddev(lat)", "histogram_stdvar(rate(lat[5m]))", "histogram_count(lat_reset)",
    "histogram_quantile(0.9, rate(req_dur[5m]))", "histogram_fraction(0.1, 0.7, req_dur)",
    "histogram_stddev(req_dur)", "histogram_avg(mem)", "histogram_quantile(0.5, mem)",
    "sum by (job) (rate(lat[5m]))", "avg by (job) (lat)", "sum(lat)", "sum(mem)",
    "lat * 2", "2 * lat", "lat / 4", "mem + mem", "lat - lat", "sum(req_dur) / 2",
    "job:lat:rate5m", "job:lat:p90", "job:req_dur:rate5m", "job:lat:scaled",
    "histogram_quantile(0.9, job:req_dur:rate5m)",
    # raw samples (their counter-reset hints as the TSDB gives them back)
    "lat", "lat_reset", "lat_schema", "mem", "req_dur", "lat_noisy", "lat_mixed", "lat_long",
    "last_over_time(lat_mixed[3m])", "lat_noisy * 2", "sum(lat_noisy)", "rate(lat_noisy[5m])",
    "resets(lat_mixed[15m])", "job:lat_mixed:copy",
]
EVAL_TIMES = ["0s", "1m", "3m", "5m", "7m", "12m"]
# further times for some expressions
MORE_TIMES = {
    "lat_noisy": ["9m", "10m", "11m", "19m", "20m"],
    "lat_mixed": ["2m", "4m", "6m", "8m", "9m", "10m", "11m", "16m"],
    "job:lat_mixed:copy": ["2m", "4m", "6m", "8m", "9m", "10m", "11m", "16m"],
    "last_over_time(lat_mixed[3m])": ["2m", "6m", "8m", "10m"],
    "lat_long": ["1h50m", "1h51m", "1h52m", "2h10m"],
    "lat_noisy * 2": ["10m", "11m"],
}

# Sums of histograms are compared too: opsctl adds them with Kahan compensation from 3.10 on, as 3.16 does
# (tests/rules_testing/test_native_histogram_kahan_316.py has the cases where plain and compensated differ).


def _times(expr: str) -> list[str]:
    return EVAL_TIMES + MORE_TIMES.get(expr, [])
ALERT_TIMES = ["2m", "5m", "8m", "12m"]
ALERTS = ["LatencyP90High", "NHCBSlow", "HistogramValue"]


def _yaml_float(v: Any) -> str:
    return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(v, json.dumps(v)) if isinstance(v, str) else repr(v)


def _test_file(exp: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    out = ["rule_files: [rules.yml]", "evaluation_interval: 1m", "tests:", "  - interval: 1m",
           "    input_series:"]
    for sel, vals in SERIES:
        out += [f"      - series: {json.dumps(sel)}", f"        values: {json.dumps(vals)}"]
    out.append("    alert_rule_test:")
    for name in ALERTS:
        for at in ALERT_TIMES:
            out += [f"      - eval_time: {at}", f"        alertname: {name}"]
            alerts = exp.get((name, at), [])
            if not alerts:
                out.append("        exp_alerts: []")
                continue
            out.append("        exp_alerts:")
            for a in alerts:
                labels = {k: v for k, v in a["labels"].items() if k != "alertname"}
                out.append(f"          - exp_labels: {json.dumps(labels)}")
                out.append(f"            exp_annotations: {json.dumps(a['annotations'])}")
    out.append("    promql_expr_test:")
    for expr in EXPRS:
        for at in _times(expr):
            samples = exp.get((expr, at), [])
            if any(s.get("value") == "NaN" for s in samples):
                continue  # promtool 3.16 never finds NaN equal to NaN
            out += expr_test_lines(expr, at, samples, _yaml_float)
    return "\n".join(out) + "\n"


def _opsctl(path: Path) -> FileResult:
    return run_test_file(path, V316)


def _expectations(tmp: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """What opsctl gets for every case: run once with empty expectations and read the failures."""
    (tmp / "rules.yml").write_text(RULES)
    p = tmp / "probe_test.yml"
    p.write_text(_test_file({}))
    res = _opsctl(p)
    assert res.error is None, res.error
    exp: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for g in res.groups:
        for f in g.failures:
            assert f.kind in ("expr", "alert"), f.message
            key = (f.expr if f.kind == "expr" else f.alertname, f.eval_time)
            assert key[0] is not None and f.got is not None
            exp[(key[0], key[1])] = f.got
    return exp


def _promtool(path: Path) -> subprocess.CompletedProcess[str]:
    tool = find_tool("promtool-3.16")
    return subprocess.run([tool, "test", "rules", path.name], capture_output=True, text=True, timeout=300,
                          cwd=path.parent, env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], list[Any]]]:
    tmp = tmp_path_factory.mktemp("nh316")
    return tmp, _expectations(tmp)


def test_opsctl_expectations_pass_promtool_316(expected: tuple[Path, dict[tuple[str, str], list[Any]]]) -> None:
    tmp, exp = expected
    hist_cases = sum(1 for v in exp.values() for s in v if "histogram" in s)
    assert hist_cases >= 80, hist_cases
    assert len([k for k in exp if k[0] in ALERTS]) >= 6, sorted(k for k in exp if k[0] in ALERTS)
    p = tmp / "hist_test.yml"
    p.write_text(_test_file(exp))
    proc = _promtool(p)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[:6000]
    assert _opsctl(p).status == "passed"


def _wrong(exp: dict[tuple[str, str], list[Any]]) -> dict[tuple[str, str], list[Any]]:
    """Deliberately wrong expectations of several kinds."""
    bad = json.loads(json.dumps({"\0".join(k): v for k, v in exp.items()}))
    out = {tuple(k.split("\0")): v for k, v in bad.items()}
    # a bucket changed in a histogram result
    s = out[("rate(lat[5m])", "5m")][0]
    s["histogram"] = s["histogram"].replace("buckets:[", "buckets:[1 ", 1)
    # a histogram where a float comes, and a float where a histogram comes
    out[("histogram_count(rate(lat[5m]))", "5m")][0] = {**out[("histogram_count(rate(lat[5m]))", "5m")][0],
                                                        "histogram": "{{count:1 sum:1}}"}
    s = out[("delta(mem[5m])", "7m")][0]
    del s["histogram"]
    s["value"] = 1
    # a float off
    out[("histogram_quantile(0.9, rate(req_dur[5m]))", "12m")][0]["value"] = 0.5
    # a recording rule's histogram missing
    out[("job:req_dur:rate5m", "7m")] = []
    # an alert annotation wrong, and an expected alert dropped
    a = out[("HistogramValue", "5m")][0]
    a["annotations"] = {"value": "0"}
    key = next(k for k in sorted(out) if k[0] == "LatencyP90High" and out[k])
    out[key] = []
    return out  # type: ignore[return-value]


def test_wrong_expectations_fail_alike(expected: tuple[Path, dict[tuple[str, str], list[Any]]]) -> None:
    tmp, exp = expected
    p = tmp / "hist_wrong_test.yml"
    p.write_text(_test_file(_wrong(exp)))
    proc = _promtool(p)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    theirs = [line for line in proc.stderr.splitlines() if line.strip() and line.strip() != "FAILED:"]
    res = _opsctl(p)
    assert res.status == "failed"
    ours = [line for g in res.groups for f in g.failures for line in f.message.splitlines() if line.strip()]
    assert len([f for g in res.groups for f in g.failures]) == 7
    assert ours == theirs


ZERO_CAP_TEST = """
rule_files: []
tests:
  - interval: 1m
    input_series:
      - series: 'lat'
        values: '{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x5'
    promql_expr_test:
      - expr: histogram_count(increase(lat[5m]))
        eval_time: 1m
        exp_samples:
          - value: 4
"""


@pytest.mark.parametrize(("version", "status"), [(V316, "passed"), (PromVersion(3, 6), "passed"),
                                                 (PromVersion(3, 5), "failed")])
def test_histogram_increase_zero_point_cap_follows_the_version(tmp_path: Path, version: PromVersion,
                                                               status: str) -> None:
    """Prometheus >= 3.6 stops extrapolating a counter histogram's increase at the count's zero point (here
    the first sample, count 0: increase 4); 3.5 extrapolates half an interval further (6)."""
    p = tmp_path / "zero_test.yml"
    p.write_text(ZERO_CAP_TEST)
    res = run_test_file(p, version)
    assert res.status == status, [f.message for g in res.groups for f in g.failures]
    if status == "failed":
        assert "got: {} 6E+00" in res.groups[0].failures[0].message


def _random_hist(rnd: random.Random, scale: int, gauge: bool, schema: int | None = None) -> str:
    if schema is None:
        schema = rnd.choice([0, 0, 1, 3, -53]) if rnd.random() < 0.15 else 0
    if schema == -53:
        n = rnd.randint(1, 4)
        bounds = [0.1, 0.5, 1, 2.5, 5, 10]
        cv = bounds[:n] if rnd.random() < 0.7 else sorted(rnd.sample(bounds, n))
        b = [rnd.choice([0, 1, 2, 3.5, 0.3]) * scale for _ in range(n)]
        body = f"schema:-53 custom_values:[{' '.join(map(str, cv))}] buckets:[{' '.join(map(str, b))}]"
        count: float = sum(b)
    else:
        n = rnd.randint(0, 5)
        b = [rnd.choice([0, 1, 2, 3.5, 0.3, 7]) * scale for _ in range(n)]
        body = f"schema:{schema}"
        if n:
            body += f" buckets:[{' '.join(map(str, b))}] offset:{rnd.choice([0, 0, 1, -2])}"
        z = 0
        if rnd.random() < 0.3:
            z = rnd.choice([1, 2]) * scale
            body += f" z_bucket:{z} z_bucket_w:{rnd.choice(['0.001', '0.001', '0.01'])}"
        count = sum(b) + z
    body += f" sum:{round(rnd.uniform(0, 50) * scale, 3)} count:{count}"
    if gauge:
        body += " counter_reset_hint:gauge"
    elif rnd.random() < 0.05:
        body += " counter_reset_hint:" + rnd.choice(["reset", "not_reset"])
    return "{{" + body + "}}"


def _random_series(seed: int, n: int) -> list[str]:
    """Histogram series that go up, reset, change schema, bucket layout and zero threshold, switch between
    counter and gauge, have gaps, stale markers and floats, and `a+bxN` runs."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        vals: list[str] = []
        length = 0
        scale = 1
        gauge = rnd.random() < 0.2
        target = rnd.randint(5, 40)
        while length < target:
            r = rnd.random()
            if r < 0.05:
                vals.append("_")
            elif r < 0.08:
                vals.append("stale")
            elif r < 0.1:
                vals.append(str(rnd.randint(0, 9)))
            elif r < 0.3:
                k = rnd.randint(2, 15)
                schema = rnd.choice([0, 0, 1, 3])
                vals.append(_random_hist(rnd, scale, gauge, schema) + "+" + _random_hist(rnd, 1, gauge, schema)
                            + f"x{k}")
                length += k
            else:
                if rnd.random() < 0.8:
                    scale += 1
                vals.append(_random_hist(rnd, scale, gauge))
            length += 1
            if rnd.random() < 0.05:
                gauge = not gauge
        out.append(" ".join(vals))
    return out


@pytest.mark.parametrize("seed", [7, 12])  # 12: three bucket spans with gaps (compaction)
def test_raw_histograms_read_back_like_promtool_316(tmp_path: Path, seed: int) -> None:
    """Every raw sample of generated series, queried at every minute: the same `got:` lines (bucket
    layout, values and the counter-reset hint of the sample's place in the TSDB head's chunks)."""
    series = _random_series(seed, 15)
    lines = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: 1m", "    input_series:"]
    for i, vals in enumerate(series):
        lines += [f"      - series: 's{i}'", f"        values: '{vals}'"]
    lines.append("    promql_expr_test:")
    for i in range(len(series)):
        for t in range(70):
            lines += [f"      - expr: 's{i}'", f"        eval_time: {t}m", "        exp_samples: []"]
    p = tmp_path / "raw_test.yml"
    p.write_text("\n".join(lines) + "\n")
    proc = _promtool(p)
    theirs = [line for line in proc.stderr.splitlines() if line.strip() and line.strip() != "FAILED:"]
    res = _opsctl(p)
    assert res.error is None, res.error
    ours = [line for g in res.groups for f in g.failures for line in f.message.splitlines() if line.strip()]
    assert len(ours) > 1000
    assert sum("counter_reset_hint:not_reset" in line for line in ours) > 100
    assert ours == theirs
