"""Batch evaluation of rule tests (all evaluation times at once) gives exactly the step-by-step results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.rules import testing_eval, unittest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted({*ROOT.glob("rulesets/*/tests/*.yml"), *(Path(__file__).parent / "corpus").glob("*.yml"),
                *ROOT.glob("examples/backtest/*_test.yml")})


def _result(path: Path) -> str:
    try:
        return json.dumps(unittest.results_to_json([unittest.run_test_file(str(path))]), sort_keys=True, default=str)
    except Exception as exc:  # an input error must be the same error both ways
        return repr(exc)


def test_there_are_files() -> None:
    assert len(FILES) > 40


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_batch_equals_step_by_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batched = _result(path)
    monkeypatch.setattr(testing_eval.RuleEvaluator, "precompute", lambda self, engine, times: None)
    assert _result(path) == batched
