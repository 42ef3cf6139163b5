"""The `anchored` and `smoothed` modifiers (extended range selectors): Prometheus 3.7 to 3.15 behind
`--enable-feature=promql-extended-range-selectors`, always on from 3.16 (prometheus/prometheus #19697).

Cases cite Prometheus 3.16's corpus, promql/promqltest/testdata/extended_vectors.test (file:line of the
`eval` line); the oracle test runs promtool 3.16 `test rules` on the same kind of input.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from opsctl.promql import Engine, PromQLError, Storage
from opsctl.promql.extended import ANCHORED, SMOOTHED, SMOOTHED_VECTOR, rewrite
from opsctl.promql.promqltest import run_path, run_text
from opsctl.promql.semantics import EXTENDED_RANGE_SELECTORS, Version, engine_options
from tests.conftest import find_tool, run_opsctl

V316 = Version(3, 16)


def _passes(text: str, version: Version = V316) -> list[bool]:
    return [c.passed for c in run_text(text, version=version).cases]


# extended_vectors.test:3-4 (the data) and its cases at lines 33, 39, 48 (anchored) and 60, 72 (smoothed)
_PROM52 = "load 15s\n  metric 1+1x4 9+1x4\n\n"
_PROM52_CASES = [
    ("eval instant at 5s increase(metric[1m] anchored)\n    {} 0\n", 33),
    ("eval instant at 35s increase(metric[1m] anchored)\n    {} 2\n", 39),
    ("eval instant at 80s increase(metric[1m] anchored)\n    {} 7\n", 48),
    ("eval instant at 5s increase(metric[1m] smoothed)\n    {} 0.333333333\n", 60),
]


@pytest.mark.parametrize(("case", "line"), _PROM52_CASES)
def test_corpus_cases_at_316(case: str, line: int) -> None:
    assert _passes(_PROM52 + case) == [True], f"extended_vectors.test:{line}"
    wrong = case.replace("{} ", "{} 1")  # a different expected value must fail
    assert _passes(_PROM52 + wrong) == [False]


def test_smoothed_instant_selector() -> None:
    """extended_vectors.test:399-417: an instant `x smoothed` interpolates between the samples around t."""
    data = "load 10s\n    metric 1+1x10\n    notregular 0 5 100 2 8\n\n"
    assert _passes(data + "eval instant at 15s metric smoothed\n    metric 2.5\n") == [True]  # :407
    assert _passes(data + "eval instant at 105s metric smoothed\n    metric 11\n") == [True]  # :413
    assert _passes(data + "eval instant at 30s notregular smoothed\n    notregular 2\n") == [True]  # :419
    assert _passes(data + "eval instant at 15s metric\n    metric 2\n") == [True]  # without: the last sample


def test_unsafe_functions_are_errors() -> None:
    """extended_vectors.test:370-397: the AnchoredSafeFunctions / SmoothedSafeFunctions checks."""
    data = "load 10s\n  foo 1+1x10\n\n"
    assert _passes(data + "eval instant at 1m deriv(foo[3m] smoothed)\n    expect fail msg: smoothed modifier "
                   "can only be used with: delta, increase, rate - not with deriv\n") == [True]  # :370
    assert _passes(data + "eval instant at 1m max_over_time(foo[3m] anchored)\n    expect fail msg: anchored "
                   "modifier can only be used with: changes, delta, increase, rate, resets - not with "
                   "max_over_time\n") == [True]  # :392


def test_anchored_histogram_resets() -> None:
    """extended_vectors.test:737-738, 746: resets() over an anchored window where the series switches between
    floats and histograms counts the switch (#18906)."""
    data = ("load 1m\n  ftohmixed 1 2 3 {{schema:0 sum:5 count:4 buckets:[1 2 1]}} 4 5 6 7+1x60\n"
            "  floats 2 1 2 1 2 1\n\n")
    assert _passes(data + "eval instant at 3m resets(ftohmixed[1m] anchored)\n    {} 1\n") == [True]
    assert _passes(data + "eval instant at 3m resets(floats[1m] anchored)\n    {} 1\n") == [True]


def test_native_histogram_rate() -> None:
    """extended_vectors.test:464-476: increase of a counter histogram with the modifiers (#18564)."""
    data = ("load 15s\n  hist_counter {{schema:0 count:1 sum:1 buckets:[1] offset:1}}+"
            "{{count:1 sum:1 buckets:[1] offset:1}}x7\n\n")
    assert _passes(data + "eval instant at 50s histogram_count(increase(hist_counter[1m] anchored))\n"
                   "    {} 3\n") == [True]  # :475
    assert _passes(data + "eval instant at 50s histogram_count(increase(hist_counter[1m] anchored))\n"
                   "    {} 4\n") == [False]


def test_older_versions() -> None:
    """Before 3.7 the modifiers are parse errors; 3.7 to 3.15 read them only with the feature."""
    case = _PROM52 + _PROM52_CASES[1][0]
    assert _passes(case, Version(3, 5)) == [False]  # promqltest enables every feature; 3.5 has none of this
    assert _passes(case, Version(3, 10)) == [True]
    assert engine_options(V316, frozenset())["extended_range"]
    assert not engine_options(Version(3, 15), frozenset())["extended_range"]
    assert engine_options(Version(3, 15), frozenset({EXTENDED_RANGE_SELECTORS}))["extended_range"]
    assert not engine_options(Version(3, 6), frozenset({EXTENDED_RANGE_SELECTORS}))["extended_range"]
    st = Storage()
    st.add({"__name__": "metric"}, np.arange(0, 120_000, 15_000), [1, 2, 3, 4, 5, 9, 10, 11])
    q = "increase(metric[1m] anchored)"
    with pytest.raises(PromQLError, match="anchored"):
        Engine(st, **engine_options(Version(3, 15), frozenset())).instant(q, 35.0)
    with pytest.raises(PromQLError):
        Engine(st, **engine_options(Version(3, 5), None)).instant(q, 35.0)
    r = Engine(st, **engine_options(Version(3, 15), frozenset({EXTENDED_RANGE_SELECTORS}))).instant(q, 35.0)
    assert [float(s.values[0]) for s in r.series] == [2.0]


def test_rewrite() -> None:
    assert rewrite("rate(x[5m] anchored)") == f"rate({ANCHORED}(x[5m]))"
    assert rewrite("rate(x{a=\"anchored\"}[5m] offset 1m smoothed)") == (
        f"rate({SMOOTHED}(x{{a=\"anchored\"}}[5m] offset 1m))")
    assert rewrite("x @ 100 smoothed + 0") == f"{SMOOTHED_VECTOR}(x @ 100) + 0"
    assert rewrite("anchored + smoothed") == "anchored + smoothed"  # metric names
    assert rewrite("x anchored").strip() == "x"  # an anchored instant selector is a plain one
    with pytest.raises(PromQLError, match=r"1:6: parse error: anchored modifier is not supported for subqueries"):
        rewrite("rate(c[5m:1m] anchored)")
    with pytest.raises(PromQLError, match="anchored and smoothed modifiers cannot be used together"):
        rewrite("rate(c[5m] anchored smoothed)")


def test_range_selector_result() -> None:
    """An instant query of `x[1m] anchored`: the samples of the range plus a point at its start
    (engine.go extendFloats)."""
    st = Storage()
    st.add({"__name__": "metric"}, np.arange(0, 120_000, 15_000), [1, 2, 3, 4, 5, 9, 10, 11])
    eng = Engine(st, **engine_options(V316, frozenset()))
    r = eng.instant("metric[1m] anchored", 70.0)
    assert r.type == "matrix"
    assert list(r.series[0].timestamps) == [10.0, 15.0, 30.0, 45.0, 60.0, 70.0]
    assert list(r.series[0].values) == [1.0, 2.0, 3.0, 4.0, 5.0, 5.0]
    r = eng.instant("metric[1m]", 70.0)
    assert list(r.series[0].timestamps) == [15.0, 30.0, 45.0, 60.0]


def test_whole_extended_vectors_file() -> None:
    from tests.promql.test_promqltest_corpus_316 import corpus_316

    fr = run_path(corpus_316() / "extended_vectors.test", v3=True, version=V316)[0]
    assert (fr.passed, fr.total) == (174, 174), [(c.line, c.message) for c in fr.cases if not c.passed][:5]


# A unit test whose expectations are promtool 3.16's answers (checked by the oracle test below).
_UNIT = """rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'c{job="a"}'
        values: '0 10 25 5 15 30 40 _ 70 80'
      - series: 'g{job="a"}'
        values: '5 3 8 1 4 _ _ 9 2 6'
    promql_expr_test:
      - expr: rate(c[5m] anchored)
        eval_time: 6m
        exp_samples:
          - labels: '{job="a"}'
            value: 1.8333333333333332E-01
      - expr: increase(c[5m] smoothed)
        eval_time: 6m30s
        exp_samples:
          - labels: '{job="a"}'
            value: 55
      - expr: delta(g[3m] smoothed)
        eval_time: 8m20s
        exp_samples:
          - labels: '{job="a"}'
            value: -2.8888888888888893E+00
      - expr: g smoothed
        eval_time: 2m30s
        exp_samples:
          - labels: 'g{job="a"}'
            value: 4.5
      - expr: changes(g[3m] anchored)
        eval_time: 9m
        exp_samples:
          - labels: '{job="a"}'
            value: 3
      - expr: resets(c[4m] anchored)
        eval_time: 5m
        exp_samples:
          - labels: '{job="a"}'
            value: 1
      - expr: job:c:increase
        eval_time: 7m
        exp_samples:
          - labels: 'job:c:increase{job="a"}'
            value: 25
"""
_RULES = """groups:
  - name: g
    rules:
      - record: job:c:increase
        expr: sum by (job) (increase(c[3m] smoothed))
"""


def _write_unit(tmp: Path, unit: str = _UNIT) -> Path:
    (tmp / "rules.yml").write_text(_RULES)
    p = tmp / "extended_test.yml"
    p.write_text(unit)
    return p


def test_rules_test_evaluates_the_modifiers(tmp_path: Path) -> None:
    p = _write_unit(tmp_path)
    proc = run_opsctl("rules", "test", "--prometheus-version", "3.16", p.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # 3.5 cannot read the rule file (a rule-file error: exit 2)
    proc = run_opsctl("rules", "test", "--prometheus-version", "3.5", p.name, cwd=tmp_path)
    assert proc.returncode == 2 and 'unexpected identifier "smoothed"' in proc.stderr, proc.stdout + proc.stderr
    wrong = _write_unit(tmp_path, _UNIT.replace("value: 55", "value: 56"))
    proc = run_opsctl("rules", "test", "--prometheus-version", "3.16", wrong.name, cwd=tmp_path)
    assert proc.returncode == 1 and "5.5E+01" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.oracle
@pytest.mark.parametrize(("old", "new", "rc"), [("", "", 0), ("value: 55", "value: 56", 1)])
def test_promtool_316_agrees(tmp_path: Path, old: str, new: str, rc: int) -> None:
    p = _write_unit(tmp_path, _UNIT.replace(old, new) if old else _UNIT)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", p.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == rc, proc.stdout + proc.stderr
