"""Run Prometheus' own PromQL test corpus (promqltest files) through opsctl's evaluator."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.promql.promqltest import FileResult, run_path, run_text
from tests.conftest import shared_data_dir

# Files of the 2.42 corpus allowed not to pass fully, with the reason. Empty: every 2.42 file uses
# float series only (classic histograms), and all of them pass.
ALLOW_2_42: dict[str, str] = {}
# Regression floors: raise them when the evaluator improves.
FLOOR_2_42 = 566
FLOOR_3_5 = 1479


def _corpus(name: str) -> Path:
    return shared_data_dir() / "prometheus" / name


def _diag(fr: FileResult) -> str:
    bad = [c for c in fr.cases if not c.passed][:15]
    return "\n".join(f"  line {c.line}: {c.expr}\n    {c.message}" for c in bad)


@pytest.fixture(scope="module")
def results_2_42() -> list[FileResult]:
    return run_path(_corpus("promqltest-v2.42"))


def test_2_42_files_fully_pass(results_2_42: list[FileResult]) -> None:
    assert len(results_2_42) >= 11
    for fr in results_2_42:
        name = Path(fr.path).name
        if name in ALLOW_2_42:
            continue
        assert fr.failed == 0, f"{name}: {fr.failed} of {fr.total} cases fail\n{_diag(fr)}"


def test_2_42_floor(results_2_42: list[FileResult]) -> None:
    assert sum(fr.passed for fr in results_2_42) >= FLOOR_2_42


def test_3_5_pass_rate_floor(capsys: pytest.CaptureFixture[str]) -> None:
    results = run_path(_corpus("promqltest-v3.5"), v3=True)
    passed = sum(fr.passed for fr in results)
    total = sum(fr.total for fr in results)
    with capsys.disabled():
        print(f"\npromqltest v3.5 (v3 mode): {passed}/{total} cases pass ({100 * passed / total:.1f}%)")
    assert passed >= FLOOR_3_5


def test_runner_reports_failures() -> None:
    text = """
load 1m
  metric{a="1"} 1 2 3

eval instant at 2m metric
  metric{a="1"} 3

eval instant at 2m metric
  metric{a="1"} 4

eval_fail instant at 2m metric

eval instant at 2m sum(metric)
  {} 3

eval_fail instant at 0 label_replace(metric, "a", "", "b", "(")
"""
    fr = run_text(text)
    assert [c.passed for c in fr.cases] == [True, False, False, True, True]
    assert "expected 4.0, got 3.0" in fr.cases[1].message
    assert "expected an error" in fr.cases[2].message


def test_runner_range_eval_and_expect_lines() -> None:
    text = """
load 10s
  metric 0+1x10

eval range from 0 to 30s step 10s metric * 2
  {} 0 2 4 6

eval range from 0 to 30s step 10s metric
  expect fail

eval instant at 10s metric
  expect ordered
  metric 1
"""
    fr = run_text(text, v3=True)
    assert [c.passed for c in fr.cases] == [True, False, True]


def test_cli_entry_point(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_opsctl

    f = tmp_path / "x.test"
    f.write_text("load 1m\n  m 1\n\neval instant at 0 m\n  m 1\n", encoding="utf-8")
    assert run_opsctl("rules", "promqltest", str(f)).returncode == 0
    f.write_text("load 1m\n  m 1\n\neval instant at 0 m\n  m 2\n", encoding="utf-8")
    proc = run_opsctl("rules", "promqltest", str(tmp_path), "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert (doc["total"], doc["passed"]) == (1, 0) and doc["files"][0]["failures"][0]["line"] == 4
    assert run_opsctl("rules", "promqltest", str(tmp_path / "nope")).returncode == 2
