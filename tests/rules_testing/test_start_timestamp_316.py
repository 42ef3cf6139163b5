"""`start_timestamp` of a rule unit-test group (promtool 3.9+, prometheus#17636): the group's time 0 is moved
there (inputs, evaluations, queries, `now`, ALERTS_FOR_STATE), while `eval_time` and the times printed stay
relative to it. promtool 3.16 is the oracle: the same file, the same report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsctl.errors import InputError
from opsctl.rules.testing_file import load_test_file
from opsctl.rules.unittest import run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool, run_opsctl

RULES = """groups:
  - name: g
    rules:
      - record: job:f:rate2m
        expr: rate(f[2m])
      - alert: High
        expr: f > 3
        for: 2m
        labels: {severity: page}
        annotations:
          summary: 'f is {{ $value }} since {{ now | humanizeTimestamp }}'
"""


def _test_file(start: str) -> str:
    return f"""rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    start_timestamp: {start}
    input_series:
      - series: 'f'
        values: '1+1x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: High
        exp_alerts: []
      - eval_time: 6m
        alertname: High
        exp_alerts: []
    promql_expr_test:
      - expr: job:f:rate2m
        eval_time: 5m
        exp_samples: []
      - expr: timestamp(f)
        eval_time: 5m
        exp_samples: []
      - expr: ALERTS_FOR_STATE
        eval_time: 7m
        exp_samples: []
      - expr: time()
        eval_time: 0s
        exp_samples: []
  - interval: 1m
    input_series:
      - series: 'f'
        values: '1+1x10'
    promql_expr_test:
      - expr: timestamp(f)
        eval_time: 2m
        exp_samples: []
"""


STARTS = ["2024-01-01T00:00:30.5Z", "1704067200", "1704067200.25", "'2024-01-01T00:00:00+02:00'"]


def _write(tmp: Path, start: str) -> Path:
    (tmp / "rules.yml").write_text(RULES)
    p = tmp / "st_test.yml"
    p.write_text(_test_file(start))
    return p


@pytest.mark.parametrize("start", STARTS)
def test_times_move_to_the_start(tmp_path: Path, start: str) -> None:
    res = run_test_file(_write(tmp_path, start), PromVersion(3, 16))
    assert res.error is None, res.error
    got = {f.expr: f.got for f in res.groups[0].failures if f.kind == "expr"}
    base = {"2024-01-01T00:00:30.5Z": 1704067230.5, "1704067200": 1704067200.0, "1704067200.25": 1704067200.25,
            "'2024-01-01T00:00:00+02:00'": 1704060000.0}[start]
    assert got["time()"][0]["value"] == pytest.approx(base)
    assert got["timestamp(f)"][0]["value"] == pytest.approx(base + 300)
    # the second group has no start_timestamp: time 0 is the Unix epoch
    assert next(f.got for f in res.groups[1].failures)[0]["value"] == 120.0


@pytest.mark.oracle
@pytest.mark.parametrize("start", STARTS)
def test_same_report_as_promtool_316(tmp_path: Path, start: str) -> None:
    p = _write(tmp_path, start)
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", p.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    ours = run_opsctl("rules", "test", p.name, cwd=tmp_path)
    assert proc.returncode == ours.returncode == 1, proc.stderr
    theirs = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    mine = [ln for ln in ours.stdout.splitlines()[1:] if ln.strip()]
    assert mine == theirs
    assert ours.stdout.splitlines()[0] == proc.stdout.splitlines()[0] == "Processing test file: st_test.yml"


def test_only_from_3_9_and_bad_values(tmp_path: Path) -> None:
    p = _write(tmp_path, "1704067200")
    with pytest.raises(InputError, match=r"field start_timestamp not found in type main\.testGroup"):
        load_test_file(p, v3=True, version=PromVersion(3, 8))
    p.write_text(_test_file("yesterday"))
    with pytest.raises(InputError, match='cannot parse "yesterday" to a valid timestamp') as exc:
        load_test_file(p, v3=True, version=PromVersion(3, 16))
    assert exc.value.position.line == 5
