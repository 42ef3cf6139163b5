"""rules backtest: a rule that reads its query's bounds (start(), end(), range(), step(), `@ start()`) is
evaluated as the instant query Prometheus runs for each evaluation, not as a chunk of a range query (whose
start() and end() are the chunk's and step() the backtest step)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from opsctl.data.exports import Series
from opsctl.rules.backtest import backtest
from opsctl.rules.backtest_stream import ExportStore, backtest_store
from opsctl.rules.versions import PromVersion

RULES = """groups:
  - name: g
    rules:
      - alert: StartIsEnd
        expr: vector(end() - start()) == 0
      - alert: StepIsZero
        expr: vector(step()) == 0
      - alert: AtStartIsNow
        expr: (f @ start()) - f == 0
      - alert: Plain
        expr: f > 0
"""


@pytest.mark.parametrize("streamed", [False, True])  # backtest, and backtest_store (the CLI's, in windows)
def test_query_bounds_are_those_of_each_evaluation(tmp_path: Path, streamed: bool) -> None:
    p = tmp_path / "rules.yml"
    p.write_text(RULES)
    t = np.arange(0, 3600 * 3 + 1, 60, dtype=np.float64)
    series = [Series({"__name__": "f"}, t, np.arange(1, len(t) + 1, dtype=np.float64))]
    v316 = PromVersion(3, 16)
    if streamed:
        with ExportStore.from_series(series, buffer_samples=100) as store:
            res = backtest_store([str(p)], store, 0, 3600 * 3, 60, window_seconds=1800.0, prometheus_version=v316)
    else:
        res = backtest([str(p)], series, start=0, end=3600 * 3, step=60, prometheus_version=v316)
    plain = res.alert("Plain")
    assert plain is not None and plain.fired == 1
    for name in ("StartIsEnd", "StepIsZero", "AtStartIsNow"):
        a = res.alert(name)
        assert a is not None, name
        # firing from the first evaluation to the end, as Plain (a range-query chunk would never fire these)
        assert a.fired == 1 and a.firing_seconds == plain.firing_seconds, (name, a.episodes)
