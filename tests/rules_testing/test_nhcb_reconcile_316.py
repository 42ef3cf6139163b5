"""Oracle: custom-bucket histograms (NHCB) of different bounds (Prometheus >= 3.8), against promtool 3.16.

Prometheus 3.8 (prometheus/prometheus #17278, "Reconcile mismatched NHCB bounds in Add and Sub") adds and
subtracts two NHCBs of different custom bounds on the bounds both have (intersectCustomBucketBounds): a
bucket goes whole into the first common bound >= its own, the +Inf bucket if none. That covers `+`, `-`,
sum, avg, sum_over_time, avg_over_time, rate, increase, delta, irate, idelta; and DetectReset (rate,
increase, irate, resets) no longer calls a change of bounds a counter reset, only a count that went down
on a common bound (detectResetWithMismatchedCustomBounds). 3.0 to 3.7 drop such a pair (a warning, no
result) and call every change of bounds a reset.

As in test_native_histogram_kahan_316.py, opsctl computes every expectation (run once with empty
expectations): promtool 3.16 must accept the 3.16 file, and must reject the file of opsctl's 3.7
expectations with the same failure messages as opsctl at 3.16. Every expression must give something else
at 3.7 than at 3.16 (so the test fails without the reconciliation).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsctl.promql.histogram import (
    CUSTOM_BUCKETS_SCHEMA,
    FloatHistogram,
    IncompatibleBoundsError,
    Span,
    incremental_mean,
    intersect_custom_bounds,
    kahan_mean,
    kahan_sum,
)
from opsctl.promql.notation import parse_series_desc
from opsctl.promql.semantics import Version, engine_options
from opsctl.rules.unittest import FileResult, run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool
from tests.rules_testing.expectations import Cases, probe, unit_test_text

V316 = PromVersion(3, 16)
V38 = PromVersion(3, 8)
V37 = PromVersion(3, 7)
V30 = PromVersion(3, 0)


def _nh(bounds: list[float], buckets: list[float], total: float | None = None, gauge: bool = False,
        offset: int = 0) -> str:
    count = sum(buckets)
    parts = [f"schema:-53 sum:{(count * 1.5 if total is None else total)!r} count:{count!r}",
             "custom_values:[" + " ".join(repr(b) for b in bounds) + "]",
             "buckets:[" + " ".join(repr(b) for b in buckets) + "]"]
    if offset:
        parts.append(f"offset:{offset}")
    if gauge:
        parts.append("counter_reset_hint:gauge")
    return "{{" + " ".join(parts) + "}}"


def _series() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    # Four gauge NHCBs of overlapping bounds (common: 2 and +Inf; 5 for three of them).
    out.append(('a{i="0"}', _nh([1, 2, 5], [1, 2, 3, 4], gauge=True) + "x9"))
    out.append(('a{i="1"}', _nh([2, 5, 10], [1, 1, 1, 1], gauge=True) + "x9"))
    out.append(('a{i="2"}', _nh([0.5, 2, 10], [2, 0, 3, 1], gauge=True) + "x9"))
    out.append(('a{i="3"}', _nh([2, 5], [4, 2], gauge=True, offset=1) + "x9"))  # no bucket <= 2
    # No common bound but +Inf: everything goes into the +Inf bucket. (Such a histogram prints as
    # `custom_values:[]`, which promtool cannot read back in an expectation: the tests take its count/sum.)
    out.append(('b{i="0"}', _nh([7], [1, 2], gauge=True) + "x9"))
    out.append(('b{i="1"}', _nh([8], [3, 4], gauge=True) + "x9"))
    # A counter whose bounds change (each change first in a new TSDB chunk, read back `unknown`): no
    # count goes down on a common bound until 8m, where the bucket <= 5 goes from 5 to 4 (a reset).
    r = [([5], [1]), ([5], [2]), ([5, 10], [2, 1]), ([5, 10], [3, 1]), ([2, 5, 10], [1, 2, 1, 1]),
         ([2, 5, 10], [1, 3, 1, 1]), ([1, 2, 5], [1, 0, 3, 3]), ([1, 2, 5], [1, 1, 3, 3]), ([5], [4, 4]),
         ([5], [5, 4])]
    out.append(("r", " ".join(_nh(b, c) for b, c in r)))
    # A gauge whose bounds change, with 0.1-style counts (Kahan compensation, folded into the reconciled
    # buckets by KahanAdd from 3.10 on) for sum_over_time / avg_over_time / delta / idelta.
    g = [([0.5, 1], [0.1, 0.2, 0.3]), ([1, 2], [0.3, 0.1, 0.7]), ([0.5, 1, 2], [0.1, 0.2, 0.3, 0.4]),
         ([0.5, 1], [0.7, 0.1, 0.2]), ([1, 2], [0.2, 0.2, 0.1]), ([1, 2], [0.3, 0.3, 0.1]),
         ([0.5, 1, 2], [0.1, 0.1, 0.1, 0.7]), ([0.5, 1, 2], [0.2, 0.1, 0.1, 0.7]), ([2], [0.9, 0.1]),
         ([0.5, 2], [0.1, 0.3, 0.3])]
    out.append(("g", " ".join(_nh(b, c, total=0.1 * (k + 1), gauge=True) for k, (b, c) in enumerate(g))))
    return out


SERIES = _series()
EXPRS = [
    "sum(a)", "avg(a)", "histogram_count(sum(b))", "histogram_sum(avg(b))",
    'a{i="0"} + ignoring(i) a{i="1"}', 'a{i="1"} - ignoring(i) a{i="2"}',
    'histogram_count(b{i="0"} - ignoring(i) b{i="1"})',
    "resets(r[10m])", "rate(r[5m])", "increase(r[3m])", "irate(r[5m])",
    "sum_over_time(g[5m])", "avg_over_time(g[5m])", "delta(g[5m])", "idelta(g[5m])",
]
EVAL_TIMES = ["2m", "4m", "6m", "9m"]


def _test_file(exp: Cases) -> str:
    return unit_test_text(SERIES, EXPRS, EVAL_TIMES, exp)


def _expectations(tmp: Path, version: PromVersion) -> Cases:
    return probe(tmp, version, SERIES, EXPRS, EVAL_TIMES)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[tuple[str, str], Any]]]:
    tmp = tmp_path_factory.mktemp("nhcb316")
    return tmp, {"new": _expectations(tmp, V316), "old": _expectations(tmp, V37)}


def test_every_expression_differs_before_3_8(cases: tuple[Path, dict[str, Any]]) -> None:
    _, exp = cases
    new, old = exp["new"], exp["old"]
    assert {k[0] for k in new} == set(EXPRS)  # 3.16 has a result for every expression
    for expr in EXPRS:
        assert all((expr, t) in new for t in EVAL_TIMES), expr
        assert any(new.get((expr, t)) != old.get((expr, t)) for t in EVAL_TIMES), expr
    # 3.7: no sum, avg, + or - of different bounds; every change of bounds a reset.
    for expr in [*EXPRS[:7], "sum_over_time(g[5m])", "avg_over_time(g[5m])"]:
        assert not any(old.get((expr, t)) for t in EVAL_TIMES), expr
    assert old[("resets(r[10m])", "9m")] == [{"labels": {}, "value": 4.0}]
    assert new[("resets(r[10m])", "9m")] == [{"labels": {}, "value": 1.0}]


def test_aggregation_results_do_not_depend_on_the_series_order() -> None:
    """promtool loads a test's input series in Go map order, so `sum`/`avg` meet them in another order
    from run to run: the aggregated groups here give the same result in every order (reconciled on the
    same common bounds, integer counts), so the promtool runs below are deterministic."""
    groups: dict[str, list[FloatHistogram]] = {}
    for sel, vals in SERIES:
        labels, samples = parse_series_desc(f"{sel} {vals}")
        if labels["__name__"] in ("a", "b"):
            groups.setdefault(labels["__name__"], []).append(samples[0])
    assert sorted((k, len(v)) for k, v in groups.items()) == [("a", 4), ("b", 2)]
    for name, hs in groups.items():
        for fn in (kahan_sum, kahan_mean, incremental_mean):
            texts = {fn(list(p), True).compact(0).test_expression() for p in itertools.permutations(hs)}
            assert len(texts) == 1, (name, fn.__name__, texts)


def test_version_cut_over_is_3_8(cases: tuple[Path, dict[str, Any]]) -> None:
    tmp, exp = cases
    p = tmp / "new_test.yml"
    p.write_text(_test_file(exp["new"]))
    q = tmp / "old_test.yml"
    q.write_text(_test_file(exp["old"]))
    assert _status(p, V316).status == "passed"
    assert _status(q, V316).status == "failed"
    for version in (V37, V30):
        assert _status(p, version).status == "failed", version
        assert _status(q, version).status == "passed", version
    # 3.8 and 3.9 reconcile too, with plain sums (no Kahan compensation before 3.10): only the
    # fractional sum_over_time / avg_over_time can differ from 3.16's.
    res = _status(p, V38)
    assert {f.expr for g in res.groups for f in g.failures} <= {"sum_over_time(g[5m])", "avg_over_time(g[5m])"}
    assert engine_options(Version(3, 7))["nhcb_reconcile"] is False
    assert engine_options(Version(3, 8))["nhcb_reconcile"] is True
    assert engine_options(Version(2, 42))["nhcb_reconcile"] is False


def _status(path: Path, version: PromVersion) -> FileResult:
    return run_test_file(path, version)


def _promtool(path: Path) -> subprocess.CompletedProcess[str]:
    tool = find_tool("promtool-3.16")
    return subprocess.run([tool, "test", "rules", path.name], capture_output=True, text=True, timeout=300,
                          cwd=path.parent, env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.oracle
def test_reconciled_results_pass_promtool_316(cases: tuple[Path, dict[str, Any]]) -> None:
    tmp, exp = cases
    p = tmp / "new_oracle_test.yml"
    p.write_text(_test_file(exp["new"]))
    proc = _promtool(p)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[:6000]


@pytest.mark.oracle
def test_pre_3_8_results_fail_promtool_316_alike(cases: tuple[Path, dict[str, Any]]) -> None:
    tmp, exp = cases
    p = tmp / "old_oracle_test.yml"
    p.write_text(_test_file(exp["old"]))
    proc = _promtool(p)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    theirs = [line for line in proc.stderr.splitlines() if line.strip() and line.strip() != "FAILED:"]
    res = _status(p, V316)
    ours = [line for g in res.groups for f in g.failures for line in f.message.splitlines() if line.strip()]
    assert ours == theirs


# -- the algorithm on its own ---------------------------------------------------------------------------


def _c(bounds: list[float], buckets: list[float], offset: int = 0) -> FloatHistogram:
    return FloatHistogram(schema=CUSTOM_BUCKETS_SCHEMA, count=sum(buckets), sum=sum(buckets),
                          positive_spans=[Span(offset, len(buckets))], positive_buckets=list(buckets),
                          custom_values=list(bounds))


def test_intersect_custom_bounds() -> None:
    assert intersect_custom_bounds([1, 2, 5], [2, 5, 10]) == [2, 5]
    assert intersect_custom_bounds([1], [2]) == []
    assert intersect_custom_bounds([], [2]) == []
    assert intersect_custom_bounds([-math.inf, 0.5, 2], [-math.inf, 2]) == [-math.inf, 2]
    assert intersect_custom_bounds([math.nan, 1], [math.nan, 1]) == []  # ==, as Go: the walk sticks at NaN


def test_before_3_8_different_bounds_do_not_add() -> None:
    a, b = _c([5], [1, 1]), _c([5, 10], [1, 2, 1])
    for op in (a.add, a.sub):
        with pytest.raises(IncompatibleBoundsError):
            op(b)
    with pytest.raises(IncompatibleBoundsError):
        a.kahan_add(b, None)
    for fn in (kahan_sum, kahan_mean, incremental_mean):
        with pytest.raises(IncompatibleBoundsError):
            fn([a, b])
    assert b.detect_reset(a) and a.detect_reset(b.mul(0.5))  # any change of bounds is a reset


def test_reconciled_add_and_sub() -> None:
    # prometheus/prometheus #17255's example: the buckets of (5, 10] and (10, +Inf] go into +Inf.
    a, b = _c([5], [1, 1]), _c([5, 10], [1, 2, 1])
    s = a.add(b, reconcile=True)
    assert (s.custom_values, s.positive_spans, s.positive_buckets, s.count) == ([5], [Span(0, 2)], [2.0, 4.0], 6)
    d = b.sub(a, reconcile=True)
    assert (d.custom_values, d.positive_spans, d.positive_buckets) == ([5], [Span(1, 1)], [2.0])  # 0 left out
    # a bucket beyond a gap of spans, onto no common bound but +Inf
    e = _c([1, 2, 3], [1, 0, 2], offset=1).add(_c([4], [3]), reconcile=True)
    assert (e.custom_values, e.positive_spans, e.positive_buckets) == ([], [Span(0, 1)], [6.0])
    assert a.equals(_c([5], [1, 1])) and b.equals(_c([5, 10], [1, 2, 1]))  # inputs unchanged


def test_reconciled_kahan_add_folds_the_compensation_in() -> None:
    a, b = _c([1, 2], [0.1, 0.2, 0.3]), _c([1, 2], [1e16, 0.2, 0.3])
    s, c = a.kahan_add(b, None)
    assert c.positive_buckets[0] != 0  # 0.1 + 1e16 is not exact
    s2, c2 = s.kahan_add(_c([2], [-1e16, 0.5]), c, reconcile=True)
    assert s2.custom_values == c2.custom_values == [2]
    assert c2.positive_spans == s2.positive_spans
    total = s2.add(c2)
    # bucket <= 2: 0.1 + 0.2 + 1e16 + 0.2 - 1e16, the 0.1 kept by the first sum's compensation; +Inf: 1.1
    assert total.positive_spans == [Span(0, 2)]
    assert total.positive_buckets == pytest.approx([0.5, 1.1], abs=1e-15)
    # Without the compensation: 0 there (kept as an empty bucket: as in Go, Add reconciles with Kahan
    # increments too and leaves out only buckets whose sum and compensation are both 0).
    plain = s.add(_c([2], [-1e16, 0.5]), reconcile=True)
    assert plain.positive_buckets == pytest.approx([0.0, 1.1]) and plain.positive_buckets[0] == 0
    assert plain.compact(0).positive_spans == [Span(1, 1)]


def test_reconciled_detect_reset() -> None:
    prev = _c([5, 10], [3, 1, 0])
    assert not _c([5], [3, 2]).detect_reset(prev, reconcile=True)
    assert _c([5], [2, 3]).detect_reset(prev, reconcile=True)  # <= 5 went down from 3 to 2
    # +Inf counts what no common bound before it took: 1 + 0 before, 0 now
    assert _c([2, 5], [1, 3, 0]).detect_reset(_c([5, 10], [3, 1, 0]), reconcile=True) is True
    assert not _c([2, 5], [1, 2, 1]).detect_reset(_c([5, 10], [3, 1, 0]), reconcile=True)
    assert _c([5], [3, 2]).detect_reset(prev)  # 3.0 to 3.7: a change of bounds is a reset
    assert _c([5], [3, 0]).detect_reset(prev, reconcile=True)  # the count went down


# -- the series notation ---------------------------------------------------------------------------------

NOTATION = ("{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1] counter_reset_hint:gauge}}"
            "+{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[0 1] counter_reset_hint:gauge}}x2")


def _notation_texts() -> list[str]:
    _, vals = parse_series_desc("x " + NOTATION, reconcile=True)
    return [h.compact(0).test_expression() for h in vals]


def test_series_notation_reconciles_only_when_asked() -> None:
    """`{{..}}+{{..}}xN` of different custom bounds: the parser's Add reconciles them from 3.8 on
    (parse_series_desc(..., reconcile=True)); 3.0 to 3.7 refuse the series."""
    with pytest.raises(ValueError, match="different custom bounds"):
        parse_series_desc("x " + NOTATION)
    assert _notation_texts() == [
        "{{schema:-53 count:1 sum:1 custom_values:[5] counter_reset_hint:gauge buckets:[1]}}",
        "{{schema:-53 count:2 sum:2 custom_values:[5] counter_reset_hint:gauge buckets:[1 1]}}",
        "{{schema:-53 count:3 sum:3 custom_values:[5] counter_reset_hint:gauge buckets:[1 2]}}",
    ]


@pytest.mark.oracle
def test_series_notation_expands_as_promtool_316(tmp_path: Path) -> None:
    lines = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: 1m", "    input_series:",
             "      - series: 'x'", f"        values: {json.dumps(NOTATION)}", "    promql_expr_test:"]
    for at in ("0m", "1m", "2m"):
        lines += ["      - expr: x", f"        eval_time: {at}", "        exp_samples: []"]
    p = tmp_path / "notation_test.yml"
    p.write_text("\n".join(lines) + "\n")
    proc = _promtool(p)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = [line.split("got: ", 1)[1] for line in proc.stderr.splitlines() if "got: " in line]
    assert got == ['{__name__="x"} ' + t for t in _notation_texts()]
