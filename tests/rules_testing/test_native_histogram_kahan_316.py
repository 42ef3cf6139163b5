"""Oracle: Kahan-compensated sums of native histograms (Prometheus >= 3.10), against promtool 3.16.

Prometheus 3.10 (prometheus/prometheus #15687, FloatHistogram.KahanAdd) adds histograms with Kahan
compensation in the `sum` and `avg` aggregations and in sum_over_time / avg_over_time; avg divides the
compensated sum by the count and switches to an incremental (still compensated) mean once the running sum
would overflow. 3.9 and earlier (and so `--prometheus-version 3.5`) add them plainly.

The inputs below are chosen so that plain and compensated sums differ in the last bit (0.1-style bucket
counts, many series, schema reductions, zero buckets of different widths, negative buckets, custom
buckets, an overflowing avg). As in test_native_histogram_oracle_316.py, opsctl computes every expectation
(run once with empty expectations); promtool 3.16 must accept the file. The same file must fail with the
plain sums of opsctl's 3.9 semantics, which must differ from 3.16's on every expression but one (so the
test fails without compensation), and promtool 3.16 must reject the plain expectations alike.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsctl.promql.histogram import FloatHistogram, Span, kahan_mean, kahan_sum
from opsctl.promql.notation import parse_series_desc
from opsctl.promql.semantics import Version, engine_options
from opsctl.rules.unittest import FileResult, run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool

V316 = PromVersion(3, 16)
V310 = PromVersion(3, 10)
V39 = PromVersion(3, 9)
V35 = PromVersion(3, 5)


def _h(schema: int, count: float, total: float, buckets: list[float], offset: int = 0, z: float = 0.0,
       zw: float | None = None, nbuckets: list[float] | None = None, noffset: int = 0, extra: str = "") -> str:
    parts = [f"schema:{schema}", f"sum:{total!r}", f"count:{count!r}"]
    if z or zw is not None:
        parts += [f"z_bucket:{z!r}", f"z_bucket_w:{zw if zw is not None else 0.001!r}"]
    parts += ["buckets:[" + " ".join(repr(b) for b in buckets) + "]", f"offset:{offset}"]
    if nbuckets:
        parts += ["n_buckets:[" + " ".join(repr(b) for b in nbuckets) + "]", f"n_offset:{noffset}"]
    if extra:
        parts.append(extra)
    return "{{" + " ".join(parts) + "}}"


# Gauge histograms throughout: promtool reads them back from its TSDB with the hint they have (a counter
# histogram would come back `not_reset` after the first sample of a chunk).
GAUGE = "counter_reset_hint:gauge"


def _series() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    # Group a: four schema-0 histograms of 0.1-style counts, same layout.
    for i in range(4):
        b = [0.1 * (i + 1), 0.2 + 0.01 * i, 0.3]
        out.append((f'h{{g="a", i="{i}"}}', _h(0, 0.7 * (i + 1), 0.1 + 0.07 * i, b, extra=GAUGE) + "x9"))
    # Group b: schemas 2, 1 and 0 (resolution reductions on both sides), zero buckets of different widths
    # (reconciliation), negative buckets, layouts that need inserted buckets and spans.
    for i in range(4):
        b = [0.1 * (i + 3), 0.7 / (i + 3), 0.3, 0.2 + 0.1 * i]
        nb = [0.1 * (i + 2), 0.3 / (i + 1)] if i % 2 else None
        out.append((f'h{{g="b", i="{i}"}}',
                    _h((2, 1, 0, 1)[i], 3.3 + i, 0.3 * (i + 1), b, offset=i, z=0.1 * (i + 1),
                       zw=(0.001, 0.25, 0.5, 0.25)[i], nbuckets=nb, noffset=-i, extra=GAUGE) + "x9"))
    # Custom buckets (NHCB), same bounds.
    for i in range(4):
        v, total = 0.1 * (i + 1), 0.3 + 0.1 * i
        out.append((f'c{{i="{i}"}}', f"{{{{schema:-53 sum:{v!r} count:{0.6 + 0.1 * i!r} custom_values:[0.1 0.5 1] "
                                     f"buckets:[{v!r} 0.2 {total!r}] {GAUGE}}}}}x9"))
    # A sum that overflows: avg switches to the incremental mean.
    for i in range(2):
        out.append((f'big{{i="{i}"}}', _h(0, 1.5e308, 1.7e308 - 1e307 * i, [1.5e308, 0.1 * (i + 3), 0.7 / (i + 3)],
                                          extra=GAUGE) + "x9"))
    # Gauge histograms changing every minute, for sum_over_time / avg_over_time.
    out.append(("g1", _h(1, 0.3, 0.1, [0.1, 0.2], extra=GAUGE)
                + "+" + _h(1, 0.7, 0.11, [0.07, 0.13], extra=GAUGE) + "x9"))
    out.append(("g2", " ".join(_h(i % 3, 0.6 + 0.1 * i, 0.1 * i, [0.1 * (i + 1), 0.2, 0.3], offset=-1,
                                  extra=GAUGE) for i in range(10))))
    out.append(("gbig", " ".join(_h(0, 1.2e308, 1.6e308, [1.2e308, 0.1 * (i + 1)], extra=GAUGE)
                                 for i in range(10))))
    return out


SERIES = _series()
EXPRS = ["sum by (g) (h)", "avg by (g) (h)", "sum(c)", "avg(c)", "avg(big)",
         "sum_over_time(g1[5m])", "avg_over_time(g1[5m])", "sum_over_time(g2[10m])", "avg_over_time(g2[10m])",
         "avg_over_time(gbig[10m])"]
EVAL_TIMES = ["0s", "5m", "9m"]


def _test_file(exp: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    out = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: 1m", "    input_series:"]
    for sel, vals in SERIES:
        out += [f"      - series: {json.dumps(sel)}", f"        values: {json.dumps(vals)}"]
    out.append("    promql_expr_test:")
    for expr in EXPRS:
        for at in EVAL_TIMES:
            samples = exp.get((expr, at), [])
            out += [f"      - expr: {json.dumps(expr)}", f"        eval_time: {at}"]
            if not samples:
                out.append("        exp_samples: []")
                continue
            out.append("        exp_samples:")
            for s in samples:
                lab = "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in s["labels"].items()) + "}"
                out.append(f"          - labels: {json.dumps(lab)}")
                if "histogram" in s:
                    out.append(f"            histogram: {json.dumps(s['histogram'])}")
                else:
                    out.append(f"            value: {s['value']!r}")
    return "\n".join(out) + "\n"


def _expectations(tmp: Path, version: PromVersion) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """What opsctl gets at `version` for every case: run with empty expectations, read the failures."""
    p = tmp / f"probe_{version.major}_{version.minor}_test.yml"
    p.write_text(_test_file({}))
    res = run_test_file(p, version)
    assert res.error is None, res.error
    exp: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for g in res.groups:
        for f in g.failures:
            assert f.kind == "expr", f.message
            assert f.expr is not None and f.eval_time is not None and f.got is not None
            exp[(f.expr, f.eval_time)] = f.got
    return exp


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[tuple[str, str], Any]]]:
    tmp = tmp_path_factory.mktemp("kahan316")
    return tmp, {"kahan": _expectations(tmp, V316), "plain": _expectations(tmp, V39)}


def _status(path: Path, version: PromVersion) -> FileResult:
    return run_test_file(path, version)


def test_inputs_make_plain_and_compensated_sums_differ(cases: tuple[Path, dict[str, Any]]) -> None:
    _, exp = cases
    kahan, plain = exp["kahan"], exp["plain"]
    assert set(kahan) == set(plain) == {(e, t) for e in EXPRS for t in EVAL_TIMES}
    for expr in EXPRS:
        assert all(kahan[(expr, t)] for t in EVAL_TIMES), expr  # every case has a result
        if expr == "avg(big)":
            # Two histograms whose sum overflows: 3.16 switches to the incremental mean at the second, which
            # is 3.9's mean then. Kept to check the switch against promtool.
            assert kahan[(expr, "0s")] == plain[(expr, "0s")]
            continue
        assert any(kahan[(expr, t)] != plain[(expr, t)] for t in EVAL_TIMES), expr


def test_aggregation_results_do_not_depend_on_the_series_order() -> None:
    """promtool loads a test's input series in Go map order, so the order in which `sum`/`avg` meet them
    changes from run to run; Kahan results (unlike plain sums) often do not depend on it. The aggregated
    groups here are chosen so that no order changes them (every permutation, with opsctl's KahanAdd): the
    promtool runs below are then deterministic."""
    groups: dict[str, list[FloatHistogram]] = {}
    for sel, vals in SERIES:
        labels, samples = parse_series_desc(f"{sel} {vals}")
        if labels["__name__"] in ("h", "c", "big"):
            groups.setdefault(labels["__name__"] + labels.get("g", ""), []).append(samples[0])
    assert sorted((k, len(v)) for k, v in groups.items()) == [("big", 2), ("c", 4), ("ha", 4), ("hb", 4)]
    for name, hs in groups.items():
        for fn in (kahan_sum, kahan_mean):
            texts = {fn(list(p)).compact(0).test_expression() for p in itertools.permutations(hs)}
            assert len(texts) == 1, (name, fn.__name__, texts)


def test_version_cut_over_is_3_10(cases: tuple[Path, dict[str, Any]]) -> None:
    tmp, exp = cases
    p = tmp / "kahan_test.yml"
    p.write_text(_test_file(exp["kahan"]))
    q = tmp / "plain_test.yml"
    q.write_text(_test_file(exp["plain"]))
    for version in (V316, V310):
        assert _status(p, version).status == "passed", version
        assert _status(q, version).status == "failed", version
    for version in (V39, V35):  # `rules test --prometheus-version 3.5` keeps the plain sums
        assert _status(p, version).status == "failed", version
        assert _status(q, version).status == "passed", version


def _promtool(path: Path) -> subprocess.CompletedProcess[str]:
    tool = find_tool("promtool-3.16")
    return subprocess.run([tool, "test", "rules", path.name], capture_output=True, text=True, timeout=300,
                          cwd=path.parent, env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.oracle
def test_compensated_sums_pass_promtool_316(cases: tuple[Path, dict[str, Any]]) -> None:
    tmp, exp = cases
    p = tmp / "kahan_oracle_test.yml"
    p.write_text(_test_file(exp["kahan"]))
    proc = _promtool(p)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[:6000]


@pytest.mark.oracle
def test_plain_sums_fail_promtool_316_alike(cases: tuple[Path, dict[str, Any]]) -> None:
    tmp, exp = cases
    p = tmp / "plain_oracle_test.yml"
    # promtool cannot read an overflowed (+Inf) bucket in an expected histogram: such cases are left out
    plain = {k: v for k, v in exp["plain"].items() if "Inf" not in json.dumps(v)}
    assert {k[0] for k in set(exp["plain"]) - set(plain)} <= {"avg(big)", "avg_over_time(gbig[10m])"}
    p.write_text(_test_file(plain))
    proc = _promtool(p)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    theirs = [line for line in proc.stderr.splitlines() if line.strip() and line.strip() != "FAILED:"]
    res = _status(p, V316)
    ours = [line for g in res.groups for f in g.failures for line in f.message.splitlines() if line.strip()]
    assert ours == theirs


# -- the algorithm on its own ---------------------------------------------------------------------------


def _fh(buckets: list[float], schema: int = 0, offset: int = 0) -> FloatHistogram:
    return FloatHistogram(schema=schema, count=sum(buckets), sum=sum(buckets),
                          positive_spans=[Span(offset, len(buckets))], positive_buckets=list(buckets))


def test_kahan_sum_matches_float_kahan_sum() -> None:
    """Bucket by bucket, the histogram sum is the engine's float Kahan sum (sum() of the same floats)."""
    vals = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7, 0.1]
    got = kahan_sum([_fh([v, 2 * v]) for v in vals])
    total = comp = 0.0
    for v in vals:
        t = total + v
        comp += (total - t) + v if abs(total) >= abs(v) else (v - t) + total
        total = t
    assert got.positive_buckets[0] == total + comp
    assert got.positive_buckets[0] != math.fsum(vals[:0]) + sum(vals)  # plain summation differs here
    assert got.count == got.sum


def test_kahan_mean_switches_to_incremental_mean_on_overflow() -> None:
    hs = [_fh([1.5e308, 0.1]), _fh([1.5e308, 0.2]), _fh([1.5e308, 0.3])]
    mean = kahan_mean(hs)
    assert mean.positive_buckets[0] == pytest.approx(1.5e308)
    assert not mean.has_overflow()
    plain = hs[0].add(hs[1]).add(hs[2]).div(3.0)
    assert math.isinf(plain.positive_buckets[0])  # what a direct mean gives


def test_inputs_are_unchanged() -> None:
    a, b = _fh([0.1, 0.2], schema=1), _fh([0.3], schema=0, offset=1)
    a0, b0 = a.copy(), b.copy()
    s, c = a.kahan_add(b, None)
    assert a.equals(a0) and b.equals(b0)
    s2, c2 = s.kahan_add(a, c)
    assert s2.schema == 0 and c2.schema == 0 and len(c2.positive_buckets) == len(s2.positive_buckets)


def test_engine_options_by_version() -> None:
    assert engine_options(Version(3, 9))["hist_kahan"] is False
    assert engine_options(Version(3, 10))["hist_kahan"] is True
    assert engine_options(Version(3, 5)) == {"v3": True, "hist_rate_zero_cap": False, "hist_kahan": False,
                                             "nhcb_reconcile": False, "extended_range": False,
                                             "delayed_name_removal": False, "experimental": True}
    assert engine_options(Version(3, 6), frozenset({"promql-delayed-name-removal"})) == {
        "v3": True, "hist_rate_zero_cap": True, "hist_kahan": False, "nhcb_reconcile": False,
        "extended_range": False, "delayed_name_removal": True, "experimental": False}
    assert engine_options(V316) == engine_options(Version(3, 16))
    assert engine_options(Version(2, 42), frozenset({"promql-delayed-name-removal"}))["delayed_name_removal"] is False
    assert np.array([engine_options(Version(2, 42))["v3"]]).sum() == 0


# -- rules backtest follows the version like rules test -------------------------------------------------

T0 = 1_700_000_040  # a whole minute
AGREE_RULES = """
groups:
  - name: hist
    interval: 1m
    rules:
      - alert: IncreaseAbove5
        expr: histogram_count(increase(lat[5m])) > 5
      - alert: SumIsOne
        expr: histogram_sum(sum(k)) == 1
"""
# lat: a counter histogram from 0, +4 observations a minute. increase(lat[5m]) at 1m: 4 from 3.6 on (the
# extrapolation towards the range start stops at the count's zero point), 6 with 3.5. k: ten histograms of
# sum 0.1, whose plain sum is 0.9999999999999999 and whose Kahan sum (3.10 on) is 1.
AGREE_TEST = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'lat'
        values: '{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x10'
%(k)s
    alert_rule_test:
      - eval_time: 1m
        alertname: IncreaseAbove5
        exp_alerts: %(inc1)s
      - eval_time: 2m
        alertname: IncreaseAbove5
        exp_alerts: [{}]
      - eval_time: 1m
        alertname: SumIsOne
        exp_alerts: %(one)s
"""


def _agree_test(inc_at_1m: bool, sum_is_one: bool) -> str:
    k = "\n".join(f"      - series: 'k{{i=\"{i}\"}}'\n        values: '{{{{schema:0 sum:0.1 count:1 buckets:[1]}}}}x10'"
                  for i in range(10))
    return AGREE_TEST % {"k": k, "inc1": "[{}]" if inc_at_1m else "[]", "one": "[{}]" if sum_is_one else "[]"}


def _agree_series() -> list[Any]:
    from opsctl.data.exports import Series

    ts = np.array([T0 + 60.0 * m for m in range(11)])
    lat = np.array([FloatHistogram(count=4.0 * m, sum=5.0 * m, positive_spans=[Span(0, 3)] if m else [],
                                   positive_buckets=[1.0 * m, 2.0 * m, 1.0 * m] if m else []) for m in range(11)],
                   dtype=object)
    out = [Series({"__name__": "lat"}, ts, np.full(len(ts), np.nan), histograms=lat)]
    for i in range(10):
        k = np.array([FloatHistogram(count=1.0, sum=0.1, positive_spans=[Span(0, 1)], positive_buckets=[1.0])
                      for _ in ts], dtype=object)
        out.append(Series({"__name__": "k", "i": str(i)}, ts, np.full(len(ts), np.nan), histograms=k))
    return out


# version -> (IncreaseAbove5 fires at 1m, SumIsOne fires)
AGREE = {V35: (True, False), PromVersion(3, 6): (False, False), V39: (False, False), V310: (False, True),
         V316: (False, True)}


@pytest.mark.parametrize("version", list(AGREE), ids=lambda v: f"{v.major}.{v.minor}")
def test_backtest_and_rules_test_agree_on_histogram_semantics(tmp_path: Path, version: PromVersion) -> None:
    """`rules backtest --prometheus-version V` replays with the engine semantics `rules test` uses for V:
    the 3.6 histogram-rate zero-point cap and the 3.10 Kahan sums (backtest used 3.5's for both)."""
    from opsctl.rules.backtest import backtest

    inc_at_1m, one = AGREE[version]
    (tmp_path / "rules.yml").write_text(AGREE_RULES)
    right, wrong = tmp_path / "right_test.yml", tmp_path / "wrong_test.yml"
    right.write_text(_agree_test(inc_at_1m, one))
    wrong.write_text(_agree_test(not inc_at_1m, not one))
    assert run_test_file(right, version).status == "passed"
    assert run_test_file(wrong, version).status == "failed"
    res = backtest([str(tmp_path / "rules.yml")], _agree_series(), start=T0, end=T0 + 600, step=60,
                   prometheus_version=version)
    inc, s1 = res.alert("IncreaseAbove5"), res.alert("SumIsOne")
    assert inc is not None and s1 is not None
    assert [e.active_at - T0 for e in inc.episodes] == [60.0 if inc_at_1m else 120.0]
    assert [e.active_at - T0 for e in s1.episodes] == ([0.0] if one else [])


# -- 3.5 to 3.9: the incremental mean -------------------------------------------------------------------

MEAN_35_LOAD = [
    ("g2", " ".join(f"{{{{schema:{i % 3} sum:{0.1 * i!r} count:{0.6 + 0.1 * i!r} buckets:[{0.1 * (i + 1)!r} 0.2 0.3] "
                    "offset:-1 counter_reset_hint:gauge}}" for i in range(7))),
    ("g1", "{{schema:1 sum:0.1 count:0.3 buckets:[0.1 0.2] counter_reset_hint:gauge}}"
           "+{{schema:1 sum:0.11 count:0.7 buckets:[0.07 0.13] counter_reset_hint:gauge}}x9"),
    ("c", " ".join(f"{{{{schema:-53 sum:{v!r} count:0.6 custom_values:[0.1 0.5 1] buckets:[{v!r} {b!r} 0.3]}}}}"
                   for v, b in ((0.1, 0.2), (0.2, 0.7), (0.1 * 3, 0.2), (0.4, 0.2), (0.7, 0.2)))),
]
# What Prometheus 3.5's engine (module v0.305.0, promql.NewEngine over promqltest.LoadedStorage of the
# series above, an instant query at 9m, FloatHistogram.TestExpression()) returns. Adding the histograms and
# dividing by the count, as opsctl did, gives other last bits on all three.
MEAN_35 = {
    "avg_over_time(g2[10m])": "{{count:0.9000000000000001 sum:0.30000000000000004 counter_reset_hint:gauge "
                              "offset:-1 buckets:[0.17142857142857143 0.4285714285714286 0.3]}}",
    "avg_over_time(g1[10m])": "{{schema:1 count:3.45 sum:0.5950000000000001 counter_reset_hint:gauge "
                              "buckets:[0.4150000000000001 0.7850000000000001]}}",
    "avg_over_time(c[10m])": "{{schema:-53 count:0.6 sum:0.34 custom_values:[0.1 0.5 1] buckets:[0.34 0.3 0.3]}}",
}


def test_avg_of_histograms_before_3_10_is_the_incremental_mean_of_prometheus_3_5() -> None:
    from opsctl.promql import Engine, Storage
    from opsctl.promql.promqltest import add_samples

    st = Storage()
    for sel, vals in MEAN_35_LOAD:
        labels, samples = parse_series_desc(f"{sel} {vals}")
        add_samples(st, labels, [60_000 * i for i in range(len(samples))], samples)
    for version, same in ((V35, True), (V39, True), (V310, False)):
        eng = Engine(st, **engine_options(version))
        for q, want in MEAN_35.items():
            (s,) = eng.instant(q, 540.0).series
            assert s.histograms is not None
            assert (s.histograms[0].test_expression() == want) is same, (version, q)
