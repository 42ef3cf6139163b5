"""`opsctl rules test` against `promtool test rules` on the same suite, and `opsctl rules backtest` throughput.

Suite: the rule unit-test files of tests/rules_testing/corpus plus promtool's own testdata unit-test files
(../shared/data/prometheus/promtool-testdata-v2.42).
Measured: opsctl in-process (library), opsctl as a command (one process for the whole suite, like CI runs
it), promtool (one process for the whole suite); ratio = opsctl command time / promtool time. Each timing is
the best of 3 runs. Backtest: synthetic exports (series x one day at 1m), 4 alerting rules + 1 recording rule.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "rules_testing" / "corpus"
SHARED = Path(os.environ.get("OPSCTL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "prometheus" / \
    "promtool-testdata-v2.42"
SHARED_TESTS = ["unittest.yml", "failing.yml", "long-period.yml", "at-modifier-test.yml", "negative-offset-test.yml",
                "bad-promql.yml", "bad-rules-error-test.yml"]


def _suite() -> list[Path]:
    files = sorted(CORPUS.glob("*.yml"))
    files += [SHARED / n for n in SHARED_TESTS if (SHARED / n).exists()]
    return files


def _best(fn: object, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best


def bench_unit_tests() -> dict[str, object]:
    from opsctl.rules.unittest import run_test_file

    files = _suite()
    names = [str(f) for f in files]
    lib = _best(lambda: [run_test_file(f) for f in names])
    env = {**os.environ, "NO_COLOR": "1"}
    cli = _best(lambda: subprocess.run([sys.executable, "-m", "opsctl", "rules", "test", *names],
                                       capture_output=True, env=env, timeout=600))
    out: dict[str, object] = {"files": len(files), "opsctl_library_seconds": round(lib, 3),
                              "opsctl_command_seconds": round(cli, 3)}
    promtool = shutil.which("promtool")
    if promtool:
        pt = _best(lambda: subprocess.run([promtool, "test", "rules", *names], capture_output=True, timeout=600))
        out["promtool_seconds"] = round(pt, 3)
        out["ratio_command_vs_promtool"] = round(cli / pt, 2) if pt > 0 else None
        out["ratio_library_vs_promtool"] = round(lib / pt, 2) if pt > 0 else None
    else:
        out["promtool_seconds"] = None
    # the heaviest single file: promtool's unittest.yml (1441 evaluation steps in one group)
    big = SHARED / "unittest.yml"
    if big.exists():
        out["unittest_yml_library_seconds"] = round(_best(lambda: run_test_file(str(big))), 3)
    return out


RULES = """
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:errors:ratio
        expr: sum by (job) (errors) / sum by (job) (requests)
  - name: alerts
    interval: 1m
    rules:
      - alert: HighErrors
        expr: errors > 8
        for: 5m
      - alert: Flappy
        expr: errors > 5
        keep_firing_for: 10m
      - alert: JobErrorRatio
        expr: job:errors:ratio > 0.5
        for: 2m
      - alert: Templated
        expr: errors > 9
        labels:
          severity: '{{ if gt $value 9.5 }}page{{ else }}ticket{{ end }}'
"""


def bench_backtest(n_series: int = 50, minutes: int = 1440) -> dict[str, object]:
    from opsctl.data.exports import Series
    from opsctl.rules.backtest import backtest

    rng = np.random.default_rng(7)
    t0 = 1_704_067_200.0
    ts = t0 + 60.0 * np.arange(minutes)
    series = []
    for i in range(n_series):
        series.append(Series({"__name__": "errors", "job": f"j{i % 5}", "instance": f"i{i}"}, ts,
                             rng.uniform(0, 10, minutes)))
        series.append(Series({"__name__": "requests", "job": f"j{i % 5}", "instance": f"i{i}"}, ts,
                             rng.uniform(10, 20, minutes)))
    with tempfile.TemporaryDirectory() as d:
        rules = Path(d) / "rules.yml"
        rules.write_text(RULES)
        t = time.perf_counter()
        res = backtest([str(rules)], series)
        secs = time.perf_counter() - t
    samples = n_series * 2 * minutes
    evaluations = 5 * minutes  # rules x steps
    return {
        "series": n_series * 2, "samples": samples, "steps": minutes, "rules": 5,
        "seconds": round(secs, 3),
        "samples_per_second": round(samples / secs),
        "rule_evaluations_per_second": round(evaluations / secs, 1),
        "episodes": sum(len(a.episodes) for a in res.alerts),
    }


def main() -> dict[str, object]:
    return {"unit_tests": bench_unit_tests(), "backtest": bench_backtest()}


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
