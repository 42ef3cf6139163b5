"""The default target Prometheus is the newest supported 3.x (3.16), in every command that takes
`--prometheus-version`: rules validate, rules test, rules promqltest, rules backtest and slo report.

The commands run in a temporary directory: the repository's own pyproject.toml sets a `prometheus_version`
for the shipped rule packs, which would hide the default.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from opsctl.promql.semantics import engine_options
from opsctl.rules.config import RulesConfig
from opsctl.rules.config_schema import _RulesModel
from opsctl.rules.loader import DEFAULT_VERSION, LoadOptions
from opsctl.rules.versions import NEWEST_VERSION, PromVersion
from tests.conftest import NEWER_ORACLES, find_tool, run_opsctl, shared_data_dir


def test_every_default_is_the_newest_version() -> None:
    assert NEWEST_VERSION == PromVersion(3, 16)
    assert f"promtool-{NEWEST_VERSION}" in NEWER_ORACLES  # the default is checked against that promtool
    assert DEFAULT_VERSION == LoadOptions().prometheus_version == RulesConfig().prometheus_version == NEWEST_VERSION
    assert PromVersion.parse(_RulesModel().prometheus_version) == NEWEST_VERSION
    # rules backtest and slo report take the engine semantics of DEFAULT_VERSION when given none
    opts = engine_options(DEFAULT_VERSION)
    assert opts["v3"] and opts["hist_rate_zero_cap"] and opts["hist_kahan"]


# A counter histogram (and a float counter alike) whose extrapolation to the start of the range would go
# below zero: Prometheus 3.6+ stops the histogram's extrapolation at zero as it always did for floats; 3.5
# and earlier extrapolated the whole way.
_SERIES = ("_ {{schema:0 sum:1 count:1 buckets:[1]}}+{{schema:0 sum:10 count:10 buckets:[10]}}x4")
_NEW = "{{count:0.13666666666666666 sum:0.13666666666666666 counter_reset_hint:gauge buckets:[0.13666666666666666]}}"
_OLD = "{{count:0.16666666666666666 sum:0.16666666666666666 counter_reset_hint:gauge buckets:[0.16666666666666666]}}"


def _unit_test(tmp: Path, histogram: str) -> Path:
    p = tmp / "zero_cap_test.yml"
    p.write_text(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n"
        f"      - series: h\n        values: {json.dumps(_SERIES)}\n"
        "    promql_expr_test:\n      - expr: rate(h[5m])\n        eval_time: 5m\n        exp_samples:\n"
        f"          - labels: '{{}}'\n            histogram: {json.dumps(histogram)}\n")
    return p


def test_rules_test_defaults_to_the_newest_semantics(tmp_path: Path) -> None:
    new = _unit_test(tmp_path, _NEW)
    assert run_opsctl("rules", "test", new.name, cwd=tmp_path).returncode == 0
    proc = run_opsctl("rules", "test", "--prometheus-version", "3.5", new.name, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "0.16666666666666666" in proc.stdout + proc.stderr
    old = _unit_test(tmp_path, _OLD)
    assert run_opsctl("rules", "test", old.name, cwd=tmp_path).returncode == 1
    assert run_opsctl("rules", "test", "--prometheus-version", "3.5", old.name, cwd=tmp_path).returncode == 0


@pytest.mark.oracle
@pytest.mark.parametrize(("histogram", "rc"), [(_NEW, 0), (_OLD, 1)])
def test_the_default_semantics_are_promtool_316s(tmp_path: Path, histogram: str, rc: int) -> None:
    p = _unit_test(tmp_path, histogram)
    proc = subprocess.run([find_tool(f"promtool-{NEWEST_VERSION}"), "test", "rules", p.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == rc, proc.stdout + proc.stderr


def test_promqltest_defaults_to_the_newest_semantics(tmp_path: Path) -> None:
    corpus = shared_data_dir() / "prometheus" / "promqltest-v3.5" / "native_histograms.test"
    proc = run_opsctl("rules", "promqltest", "--format", "json", str(corpus), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    failures = {f["line"]: f["expr"] for f in json.loads(proc.stdout)["files"][0]["failures"]}
    # 3.5's expectation of a case 3.6 changed (rate over a range starting near the counter's zero); the
    # others are custom-bucket histograms of different bounds, which 3.5 drops and newer versions reconcile
    assert failures[1045] == "rate(some_metric[1m])"
    proc = run_opsctl("rules", "promqltest", "--prometheus-version", "3.5", str(corpus), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_opsctl("rules", "promqltest", "--v3", str(corpus), cwd=tmp_path)  # --v3 is 3.0: also passes
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validate_defaults_to_the_newest_version(tmp_path: Path) -> None:
    p = tmp_path / "rules.yml"
    p.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 5m\n"
                 "        labels: {severity: warning}\n        annotations:\n"
                 "          summary: 'down {{ $labels.instance | urlQueryEscape }}'\n          description: d\n")
    # urlQueryEscape is a template function of Prometheus 3.8+
    assert run_opsctl("rules", "validate", "--fail-on", "error", p.name, cwd=tmp_path).returncode == 0
    proc = run_opsctl("rules", "validate", "--fail-on", "error", "--prometheus-version", "3.5", p.name,
                      cwd=tmp_path)
    assert proc.returncode == 1 and "urlQueryEscape" in proc.stdout, proc.stdout + proc.stderr
