"""Oracle: the PromQL functions added after Prometheus 3.5, in rule unit tests, against promtool 3.16.

integral (3.16, #14440), histogram_quantiles (3.11, #17285), start/end/range/step (3.12, #17877),
min_of/max_of (3.13, #18687), and step()/range()/min_of/max_of inside duration expressions, in test
expressions and in a recording rule. As in test_native_histogram_kahan_316.py, opsctl computes every
expectation (run once with empty expectations); promtool 3.16 must accept the file, and must reject it
when one expectation is changed. A rule unit test is an instant query per evaluation: start() == end() ==
the evaluation time, step() == range() == 0. Older targets refuse the functions as their parser does.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsctl.rules.loader import LoadOptions, parse_rule_file
from opsctl.rules.unittest import run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool
from tests.rules_testing.expectations import unit_test_text

V316 = PromVersion(3, 16)
FEATURES = frozenset({"promql-experimental-functions"})

RULES = """groups:
  - name: g
    interval: 1m
    rules:
      - record: job:m:integral
        expr: integral(m[5m])
      - record: job:m:integral_left
        expr: integral(m[5m], 0)
"""
SERIES = [
    ('m{job="a"}', "1 3 0.1 7 NaN 2 5 0.3 1e300 1e308 1e308"),
    ('m{job="b"}', "0.1+0.7x10"),
    ('h_bucket{le="0.1"}', "0+1x10"),
    ('h_bucket{le="1"}', "0+5x10"),
    ('h_bucket{le="+Inf"}', "0+7x10"),
]
EXPRS = [
    "integral(m[5m])",
    "integral(m[5m], 1)",
    "integral(m[3m], 0)",
    "job:m:integral",
    "job:m:integral_left",
    'histogram_quantiles(rate(h_bucket[5m]), "q", 0.25, 0.5, 0.999, 1e-5)',
    "vector(start() + end() * 2 + step() * 3 + range() * 4)",
    "vector(min_of(1, -0) + max_of(time(), 500))",
    "count_over_time(m[max_of(step(), 2m) + range()] offset min_of(step(), 1m))",
]
EVAL_TIMES = ["2m", "6m", "10m"]


def _test_file(exp: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    return unit_test_text(SERIES, EXPRS, EVAL_TIMES, exp, ["rules.yml"])


def _write(tmp: Path, name: str, exp: dict[tuple[str, str], list[dict[str, Any]]]) -> Path:
    (tmp / "rules.yml").write_text(RULES)
    p = tmp / name
    p.write_text(_test_file(exp))
    return p


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], Any]]:
    tmp = tmp_path_factory.mktemp("fn316")
    res = run_test_file(_write(tmp, "probe_test.yml", {}), V316, FEATURES)
    assert res.error is None, res.error
    exp: dict[tuple[str, str], Any] = {}
    for g in res.groups:
        for f in g.failures:
            assert f.kind == "expr", f.message
            assert f.expr is not None and f.eval_time is not None and f.got is not None
            exp[(f.expr, f.eval_time)] = f.got
    return tmp, exp


def _promtool(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_tool("promtool-3.16"), "test", "rules",
                           "--enable-feature=promql-experimental-functions", path.name],
                          capture_output=True, text=True, timeout=300, cwd=path.parent,
                          env={**os.environ, "NO_COLOR": "1"})


def test_opsctl_expectations(expected: tuple[Path, dict[tuple[str, str], Any]]) -> None:
    tmp, exp = expected
    assert all(exp.get((e, t)) for e in EXPRS for t in EVAL_TIMES if not e.startswith("histogram") or t != "2m")
    q = {s["labels"]["q"] for s in exp[(EXPRS[5], "10m")]}
    assert q == {"0.25", "0.5", "0.999", "1e-05"}
    # instant queries: start() == end() == 360 s, step() == range() == 0
    assert exp[(EXPRS[6], "6m")] == [{"labels": {}, "value": 360 * 3}]
    assert run_test_file(_write(tmp, "self_test.yml", exp), V316, FEATURES).status == "passed"


@pytest.mark.oracle
def test_promtool_316_accepts_opsctls_expectations(expected: tuple[Path, dict[tuple[str, str], Any]]) -> None:
    tmp, exp = expected
    proc = _promtool(_write(tmp, "oracle_test.yml", exp))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[:6000]


@pytest.mark.oracle
@pytest.mark.parametrize("expr", ["integral(m[5m])", "job:m:integral_left", EXPRS[5], EXPRS[8]])
def test_promtool_316_rejects_a_changed_expectation(expected: tuple[Path, dict[tuple[str, str], Any]],
                                                    expr: str) -> None:
    tmp, exp = expected
    changed = dict(exp)
    changed[(expr, "6m")] = [{**s, "value": float(s["value"]) * 1.01 + 1} for s in exp[(expr, "6m")]]
    p = _write(tmp, "changed_test.yml", changed)
    proc = _promtool(p)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert run_test_file(p, V316, FEATURES).status == "failed"


@pytest.mark.parametrize(("version", "unknown"), [
    (PromVersion(3, 15), "integral"), (PromVersion(3, 12), "integral"), (PromVersion(3, 10), "integral"),
])
def test_older_targets_do_not_know_them(expected: tuple[Path, dict[tuple[str, str], Any]],
                                        version: PromVersion, unknown: str) -> None:
    tmp, exp = expected
    res = run_test_file(_write(tmp, "old_test.yml", exp), version, FEATURES)
    text = str(res.error) + " ".join(f.message for g in res.groups for f in g.failures)
    assert res.status != "passed"
    assert f'unknown function with name \\"{unknown}\\"' in text or f'unknown function with name "{unknown}"' in text


# A rule is evaluated as an instant query: step() and range() are 0 in its duration expressions.
DURATION_RULES = """groups:
  - name: g
    rules:
      - record: job:m:count
        expr: count_over_time(m[5m + step()] offset min_of(step(), 1m))
      - record: job:m:count2
        expr: count_over_time(m[max_of(range(), 2m)]) + count_over_time(m[5m] offset step())
"""


@pytest.mark.parametrize(("version", "errors"), [
    (PromVersion(3, 16), 0), (PromVersion(3, 13), 0),
    (PromVersion(3, 12), 2),  # min_of / max_of in durations from 3.13
    (PromVersion(3, 5), 2),  # step() from 3.6
])
def test_rule_files_with_duration_functions(tmp_path: Path, version: PromVersion, errors: int) -> None:
    p = tmp_path / "dur_rules.yml"
    p.write_text(DURATION_RULES)
    rf = parse_rule_file(p, LoadOptions(prometheus_version=version))
    assert len(rf.errors) == errors, [f.message for f in rf.errors]


@pytest.mark.oracle
def test_promtool_316_checks_the_duration_rules(tmp_path: Path) -> None:
    p = tmp_path / "dur_rules.yml"
    p.write_text(DURATION_RULES)
    proc = subprocess.run([find_tool("promtool-3.16"), "check", "rules", p.name], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 2 rules found" in proc.stdout
