"""`{{..}}+{{..}}xN` in a rule unit test's input series, across custom buckets of different bounds: promtool
3.8+ expands it on the common bounds (prometheus#17278), earlier ones refuse it. promtool 3.16 is the oracle."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsctl.rules.unittest import run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool

SERIES = ("{{schema:-53 sum:1 count:2 custom_values:[1 2] buckets:[1 1] counter_reset_hint:gauge}}"
          "+{{schema:-53 sum:1 count:3 custom_values:[1 5] buckets:[1 1 1] counter_reset_hint:gauge}}x2")
EXPECTED = "{{schema:-53 count:8 sum:3 custom_values:[1] counter_reset_hint:gauge buckets:[3 5]}}"


def _file(tmp: Path) -> Path:
    p = tmp / "nhcb_test.yml"
    p.write_text(f"""rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'h'
        values: '{SERIES}'
    promql_expr_test:
      - expr: h
        eval_time: 2m
        exp_samples:
          - labels: 'h'
            histogram: '{EXPECTED}'
""")
    return p


def test_expands_from_3_8(tmp_path: Path) -> None:
    p = _file(tmp_path)
    assert run_test_file(p, PromVersion(3, 16)).status == "passed"
    assert run_test_file(p, PromVersion(3, 8)).status == "passed"
    res = run_test_file(p, PromVersion(3, 7))
    assert res.status == "error" and "different custom bounds" in str(res.error)


@pytest.mark.oracle
def test_promtool_316_expands_it_alike(tmp_path: Path) -> None:
    p = _file(tmp_path)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", p.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
