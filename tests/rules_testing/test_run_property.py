"""Running arbitrary (valid-shaped) test files never raises: results or clean InputErrors only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.rules.unittest import render_junit, render_text, results_to_json, run_test_file
from opsctl.rules.versions import PromVersion

RULES = """
groups:
  - name: g
    rules:
      - record: r:sum
        expr: sum by (a) (m)
      - alert: A
        expr: m > 1
        for: 1m
        keep_firing_for: 1m
        labels: {v: '{{ $value }}'}
        annotations: {s: '{{ $labels.a }} {{ $value | humanize }}'}
"""

_values = st.lists(st.sampled_from(["1", "2", "_", "stale", "0+1x3", "5-1x2", "_x2", "NaN", "-Inf", "1e3"]),
                   max_size=6).map(" ".join)
_exprs = st.sampled_from(["m", "r:sum", "ALERTS", "sum(m)", "rate(m[2m])", "m / 0", "m{a=\"x\"} + m",
                          "absent(m)", "m[1m]", "scalar(m)", "time()", '"str"', "count_over_time(m[5m:30s])"])
_times = st.sampled_from(["0", "30s", "1m", "2m", "5m", "10m"])


@st.composite
def _files(draw: st.DrawFn) -> dict[str, object]:
    series = [{"series": f'm{{a="{draw(st.sampled_from("xyz"))}"}}', "values": draw(_values)}
              for _ in range(draw(st.integers(0, 3)))]
    return {
        "rule_files": ["rules.yml"],
        "evaluation_interval": draw(st.sampled_from(["30s", "1m", "0"])),
        "tests": [{
            "interval": draw(st.sampled_from(["30s", "1m", "0s"])),
            "input_series": series,
            "alert_rule_test": [{"eval_time": draw(_times), "alertname": "A",
                                 "exp_alerts": [{"exp_labels": {"a": "x"}}] if draw(st.booleans()) else []}],
            "promql_expr_test": [{"expr": draw(_exprs), "eval_time": draw(_times),
                                  "exp_samples": [{"labels": "m", "value": 1}] if draw(st.booleans()) else []}],
        }],
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files())
def test_runs_never_raise(tmp_path: Path, doc: dict[str, object]) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    f = tmp_path / "t.yml"
    f.write_text(yaml.safe_dump(doc))
    res = run_test_file(f)
    assert res.status in ("passed", "failed", "error")
    for g in res.groups:
        for failure in g.failures:
            assert "internal evaluation error" not in (failure.error or ""), failure.message
    render_text([res])
    render_junit([res])
    results_to_json([res])


@pytest.mark.oracle
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files())
def test_random_files_same_verdict_as_promtool(tmp_path: Path, doc: dict[str, object]) -> None:
    """Oracle on generated files: per test group, promtool and opsctl agree on pass / not pass."""
    import subprocess

    from tests.conftest import find_tool

    (tmp_path / "rules.yml").write_text(RULES)
    f = tmp_path / "t.yml"
    f.write_text(yaml.safe_dump(doc))
    proc = subprocess.run([find_tool("promtool"), "test", "rules", str(f)], capture_output=True, text=True,
                          timeout=120)
    res = run_test_file(f, PromVersion(2, 42))  # the oracle is promtool 2.42
    assert (proc.returncode == 0) == (res.status == "passed"), (yaml.safe_dump(doc), proc.stderr,
                                                               render_text([res]))
