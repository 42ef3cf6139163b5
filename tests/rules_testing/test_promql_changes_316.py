"""Oracle: results of existing PromQL functions and operators that Prometheus changed between 3.5 and 3.16
(opsctl.promql.semantics), as rule unit tests that promtool 3.16 must accept, and that opsctl accepts at 3.16
and rejects at the version before the change (whose answer it gives there).

The promqltest cases of the 3.16 corpus behind them are in tests/promql/test_v316_semantics.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from opsctl.rules.unittest import run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool

V316 = PromVersion(3, 16)
INF = float("inf")
FEATURES = frozenset({"promql-experimental-functions"})

# (id, first version with the change, input series, expression, eval time, samples expected from that version)
Case = tuple[str, PromVersion, list[tuple[str, str]], str, str, list[tuple[str, float]]]
CASES: list[Case] = [
    ("quantile_exact_rank_inf", PromVersion(3, 16),
     [('data{test="a", point="a"}', "1"), ('data{test="a", point="b"}', "2"), ('data{test="a", point="c"}', "Inf"),
      ('data{test="b", point="a"}', "-Inf")],
     "quantile without (point) (0.5, data)", "0s", [('{test="a"}', 2.0), ('{test="b"}', -INF)]),
    ("quantile_over_time_exact_rank_inf", PromVersion(3, 16), [('ot{test="b"}', "1 2 Inf")],
     "quantile_over_time(0.5, ot[3m])", "2m", [('{test="b"}', 2.0)]),
    ("mad_over_time_nan", PromVersion(3, 14), [("mn", "1 2 NaN 3 4")],
     # NaN (3.14 on) is filtered out by the comparison, 0.5 (before) is not; promtool never finds NaN == NaN
     "mad_over_time(mn[4m]) > -1", "3m", []),
    ("histogram_fraction_infinite_first_bucket", PromVersion(3, 8),
     [('x_bucket{le="-3"}', "10"), ('x_bucket{le="-2"}', "12"), ('x_bucket{le="-1"}', "15"),
      ('x_bucket{le="+Inf"}', "100")],
     "histogram_fraction(-4, -2, x_bucket)", "0s", [("{}", 0.02)]),
    ("histogram_fraction_nhcb_zero_bound", PromVersion(3, 16),
     [("h", "{{schema:-53 sum:5 count:10 custom_values:[0 1 2] buckets:[4 3 2 1]}}")],
     "histogram_fraction(-Inf, 0, h)", "0s", [("{}", 0.4)]),
    ("native_histogram_quantile_nan_sum", PromVersion(3, 16),
     [("hn", "{{schema:0 count:5 sum:NaN offset:1 buckets:[1 2 1]}}")],
     "histogram_quantile(0.4, hn)", "0s", [("{}", 2.82842712474619)]),
    ("rad_no_intermediate_overflow", PromVersion(3, 16), [("big", "1e308")],
     "rad(big)", "0s", [("{}", 1.7453292519943295e306)]),
    ("deg_no_intermediate_overflow", PromVersion(3, 16), [("big", "1e306")],
     "deg(big)", "0s", [("{}", 5.729577951308232e307)]),
    ("histogram_quantile_nan_le_ignored", PromVersion(3, 16),
     [('s_bucket{le="0.5"}', "1"), ('s_bucket{le="+Inf"}', "3"), ('s_bucket{le="NaN"}', "2")],
     "histogram_quantile(0.5, s_bucket)", "0s", [("{}", 0.5)]),
    ("histogram_fraction_nhcb_bucket_spanning_zero", PromVersion(3, 16),
     [("g", "{{schema:-53 sum:5 count:4 custom_values:[-5 1] buckets:[1 2 1]}}")],
     "histogram_fraction(-Inf, 0, g)", "0s", [("{}", 0.6666666666666667)]),
]


def _value(v: float) -> str:
    if v in (float("inf"), float("-inf")):
        return "+.inf" if v > 0 else "-.inf"
    return repr(v)


def _test_file(case: Case) -> str:
    _, _, series, expr, at, samples = case
    out = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: 1m", "    input_series:"]
    for sel, vals in series:
        out += [f"      - series: {json.dumps(sel)}", f"        values: {json.dumps(vals)}"]
    out += ["    promql_expr_test:", f"      - expr: {json.dumps(expr)}", f"        eval_time: {at}",
            "        exp_samples:" + ("" if samples else " []")]
    for lab, v in samples:
        out += [f"          - labels: {json.dumps(lab)}", f"            value: {_value(v)}"]
    return "\n".join(out) + "\n"


def _write(tmp: Path, case: Case) -> Path:
    p = tmp / f"{case[0]}_test.yml"
    p.write_text(_test_file(case))
    return p


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_opsctl_gives_the_new_answer_from_its_version_on(tmp_path: Path, case: Case) -> None:
    p = _write(tmp_path, case)
    since = case[1]
    for version in (V316, since):
        res = run_test_file(p, version, FEATURES)
        assert res.status == "passed", (version, [f.message for g in res.groups for f in g.failures], res.error)
    before = PromVersion(since.major, since.minor - 1)
    assert run_test_file(p, before, FEATURES).status == "failed", before


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_promtool_316_gives_the_new_answer(tmp_path: Path, case: Case) -> None:
    p = _write(tmp_path, case)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", "--enable-feature",
                           ",".join(sorted(FEATURES)), p.name], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


# topk/bottomk/limitk/limit_ratio with a NaN parameter are errors from 3.6 on (#16725)
_NAN_PARAM = """rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: m
        values: '1'
    promql_expr_test:
      - expr: topk(NaN, non_existent)
        eval_time: 0s
        exp_samples: []
      - expr: limit_ratio(NaN, m)
        eval_time: 0s
        exp_samples: []
"""
_NAN_ERRORS = ["err: Parameter value is NaN", "err: Ratio value is NaN"]

# a one-to-one filter comparison whose pairs would all be dropped still fails on many-to-one (3.9, #17668)
_MANY_TO_ONE = """rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'many_side{label="foo", job="test"}'
        values: '0'
      - series: 'many_side{label="bar", job="test"}'
        values: '1'
      - series: 'one_side{job="test"}'
        values: '1'
    promql_expr_test:
      - expr: many_side > on(job) one_side
        eval_time: 0s
        exp_samples: []
"""
_MANY_TO_ONE_ERROR = "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"


def test_filtered_many_to_one_errors_from_3_9(tmp_path: Path) -> None:
    p = tmp_path / "many_to_one_test.yml"
    p.write_text(_MANY_TO_ONE)
    for version in (V316, PromVersion(3, 9)):
        assert _MANY_TO_ONE_ERROR in _messages(p, version), version
    assert run_test_file(p, PromVersion(3, 8), FEATURES).status == "passed"


@pytest.mark.oracle
def test_filtered_many_to_one_errors_of_promtool_316(tmp_path: Path) -> None:
    p = tmp_path / "many_to_one_test.yml"
    p.write_text(_MANY_TO_ONE)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", p.name], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 1
    assert f"err: {_MANY_TO_ONE_ERROR}" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def _messages(path: Path, version: PromVersion) -> str:
    res = run_test_file(path, version, FEATURES)
    assert res.status == "failed", version
    return "\n".join(f.message for g in res.groups for f in g.failures)


def test_nan_parameter_errors_from_3_6(tmp_path: Path) -> None:
    p = tmp_path / "nan_param_test.yml"
    p.write_text(_NAN_PARAM)
    for version in (V316, PromVersion(3, 6)):
        text = _messages(p, version)
        assert all(e.removeprefix("err: ") in text for e in _NAN_ERRORS), (version, text)
    text = _messages(p, PromVersion(3, 5))
    assert "Scalar value NaN overflows int64" in text and "is NaN" not in text, text


@pytest.mark.oracle
def test_nan_parameter_errors_of_promtool_316(tmp_path: Path) -> None:
    p = tmp_path / "nan_param_test.yml"
    p.write_text(_NAN_PARAM)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", "--enable-feature",
                           ",".join(sorted(FEATURES)), p.name], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 1
    assert all(e in proc.stdout + proc.stderr for e in _NAN_ERRORS), proc.stdout + proc.stderr


# -h (and h1 - h2, h * -1, h / -1) is a gauge histogram from 3.7 on (#17004); promtool compares the hints
def _negated(hint: str) -> str:
    return f"""rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: h
        values: '{{{{schema:0 sum:4 count:4 buckets:[1 2 1]}}}}x2'
    promql_expr_test:
      - expr: -h
        eval_time: 1m
        exp_samples:
          - labels: '{{}}'
            histogram: '{{{{count:-4 sum:-4 counter_reset_hint:{hint} buckets:[-1 -2 -1]}}}}'
      - expr: h / -1
        eval_time: 1m
        exp_samples:
          - labels: '{{}}'
            histogram: '{{{{count:-4 sum:-4 counter_reset_hint:{hint} buckets:[-1 -2 -1]}}}}'
"""


@pytest.mark.parametrize(("hint", "new"), [("gauge", True), ("not_reset", False)])
def test_negated_histogram_is_a_gauge_from_3_7(tmp_path: Path, hint: str, new: bool) -> None:
    p = tmp_path / "negated_test.yml"
    p.write_text(_negated(hint))
    for version in (V316, PromVersion(3, 7)):
        assert (run_test_file(p, version).status == "passed") == new, version
    assert (run_test_file(p, PromVersion(3, 6)).status == "passed") == (not new)


@pytest.mark.oracle
@pytest.mark.parametrize(("hint", "rc"), [("gauge", 0), ("not_reset", 1)])
def test_negated_histogram_hint_of_promtool_316(tmp_path: Path, hint: str, rc: int) -> None:
    p = tmp_path / "negated_test.yml"
    p.write_text(_negated(hint))
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", p.name], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == rc, proc.stdout + proc.stderr


# with delayed name removal, `by (__name__)` drops the name when any series of the group does (3.9, #17161)
def _by_name(labels: str) -> str:
    return f"""rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'metric_total{{env="1"}}'
        values: '0+1x10'
      - series: 'metric_total{{env="2"}}'
        values: '0+3x10'
    promql_expr_test:
      - expr: sum by (__name__) (metric_total{{env="1"}} or rate(metric_total{{env="2"}}[5m]))
        eval_time: 10m
        exp_samples:
          - labels: '{labels}'
            value: 10.05
"""


_DELAYED = frozenset({"promql-delayed-name-removal"})


@pytest.mark.parametrize(("labels", "new"), [("{}", True), ("metric_total", False)])
def test_by_name_drops_the_name_if_any_series_does_from_3_9(tmp_path: Path, labels: str, new: bool) -> None:
    p = tmp_path / "by_name_test.yml"
    p.write_text(_by_name(labels))
    for version in (V316, PromVersion(3, 9)):
        assert (run_test_file(p, version, _DELAYED).status == "passed") == new, version
    assert (run_test_file(p, PromVersion(3, 8), _DELAYED).status == "passed") == (not new)


@pytest.mark.oracle
@pytest.mark.parametrize(("labels", "rc"), [("{}", 0), ("metric_total", 1)])
def test_by_name_drop_of_promtool_316(tmp_path: Path, labels: str, rc: int) -> None:
    p = tmp_path / "by_name_test.yml"
    p.write_text(_by_name(labels))
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", "--enable-feature",
                           "promql-delayed-name-removal", p.name], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == rc, proc.stdout + proc.stderr


# __type__/__unit__ are transparent to vector matching, `without` and absent() from 3.16 on (#18680, #19986)
_TYPE_UNIT = """rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'cap_bytes{__type__="gauge", __unit__="bytes", pvc="data-0"}'
        values: '100'
      - series: 'avail_bytes{__type__="gauge", __unit__="bytes", pvc="data-0"}'
        values: '40'
      - series: 'req{__type__="counter", __unit__="request", job="a", instance="0"}'
        values: '1'
      - series: 'req{__type__="counter", __unit__="request", job="a", instance="1"}'
        values: '2'
    promql_expr_test:
      - expr: (cap_bytes - avail_bytes) / cap_bytes * 100
        eval_time: 0s
        exp_samples:
          - labels: '{pvc="data-0"}'
            value: 60
      - expr: sum without (instance) (req)
        eval_time: 0s
        exp_samples:
          - labels: '{job="a"}'
            value: 3
      - expr: absent(req{__type__="counter", job="x"})
        eval_time: 0s
        exp_samples:
          - labels: '{job="x"}'
            value: 1
"""


# With delayed name removal, as the corpus runs: without it opsctl keeps `__type__`/`__unit__` where an
# arithmetic operation or function drops `__name__` (Prometheus 3.5+ drops them all; not done yet).
def test_type_and_unit_labels_transparent_from_3_16(tmp_path: Path) -> None:
    p = tmp_path / "type_unit_test.yml"
    p.write_text(_TYPE_UNIT)
    assert run_test_file(p, V316, _DELAYED).status == "passed"
    res = run_test_file(p, PromVersion(3, 15), _DELAYED)
    assert res.status == "failed"
    assert len([f for g in res.groups for f in g.failures]) == 3  # every expression changed


@pytest.mark.oracle
def test_type_and_unit_labels_of_promtool_316(tmp_path: Path) -> None:
    p = tmp_path / "type_unit_test.yml"
    p.write_text(_TYPE_UNIT)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", "--enable-feature",
                           "promql-delayed-name-removal", p.name], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
