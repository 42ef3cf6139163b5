"""`rules test --enable-feature promql-delayed-name-removal` (3.x): a recording rule reading the name
an operator drops, compared with promtool 3.16 with and without the feature."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsctl.rules.unittest import run_test_file
from tests.conftest import find_tool

RULES = """groups:
  - name: g
    rules:
      - record: env:rate_by_name
        expr: label_replace(rate({env="1", __name__=~".+_total"}[10m]), "src_name", "$1", "__name__", "(.+)")
      - alert: Neg
        expr: -metric_total < 0
"""

TESTS = """rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 5m
    input_series:
      - series: 'metric_total{env="1"}'
        values: '0 60 120'
      - series: 'another_metric_total{env="1"}'
        values: '60 120 180'
    promql_expr_test:
      - expr: env:rate_by_name
        eval_time: 10m
        exp_samples:
          - labels: 'env:rate_by_name{env="1", src_name="metric_total"}'
            value: 0.2
          - labels: 'env:rate_by_name{env="1", src_name="another_metric_total"}'
            value: 0.2
      - expr: label_replace(-metric_total, "x", "$1", "__name__", "(.*)")
        eval_time: 10m
        exp_samples:
          - labels: '{env="1", x="metric_total"}'
            value: -120
    alert_rule_test:
      - alertname: Neg
        eval_time: 10m
        exp_alerts:
          - exp_labels: {env: "1"}
"""


@pytest.fixture
def test_file(tmp_path: Path) -> Path:
    (tmp_path / "rules.yml").write_text(RULES)
    path = tmp_path / "t.yml"
    path.write_text(TESTS)
    return path


def test_feature_switches_delayed_removal(test_file: Path) -> None:
    on = run_test_file(test_file, features=frozenset({"promql-delayed-name-removal"}))
    assert on.status == "passed"
    off = run_test_file(test_file)
    assert off.status == "failed"  # the two rates collide once the name is gone, as in promtool


def test_same_outcome_as_promtool_3_16(test_file: Path) -> None:
    promtool = find_tool("promtool-3.16")
    for flags, expected in (([], "failed"), (["--enable-feature=promql-delayed-name-removal"], "passed")):
        run = subprocess.run([promtool, "test", "rules", *flags, test_file.name], cwd=test_file.parent,
                             capture_output=True, text=True, timeout=120)
        assert (run.returncode == 0) == (expected == "passed"), run.stdout + run.stderr
