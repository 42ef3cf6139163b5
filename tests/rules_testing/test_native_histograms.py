"""Rule unit tests with native-histogram input series and `histogram:` expectations (promtool 3.x format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.errors import InputError
from opsctl.rules.testing_file import load_test_file
from opsctl.rules.unittest import results_to_json, run_test_file

RULES = """
groups:
  - name: h
    rules:
      - record: job:lat:rate5m
        expr: sum by (job) (rate(lat[5m]))
      - record: job:lat:p50
        expr: histogram_quantile(0.5, job:lat:rate5m)
      - alert: Slow
        expr: job:lat:p50 > 1
        annotations:
          summary: "p50 {{ $value }}"
      - alert: HistogramValue
        expr: lat{instance="a"}
        annotations:
          value: "{{ $value }}"
"""

TEST = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'lat{job="api", instance="a"}'
        values: '{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x10'
      - series: 'lat{job="api", instance="b"}'
        values: '{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x10'
    alert_rule_test:
      - eval_time: 10m
        alertname: Slow
        exp_alerts:
          - exp_labels: {job: api}
            exp_annotations: {summary: "p50 1.4142135623730951"}
      - eval_time: 10m
        alertname: HistogramValue
        exp_alerts:
          - exp_labels: {job: api, instance: a}
            exp_annotations: {value: "{count:40, sum:50, (0.5,1]:10, (1,2]:20, (2,4]:10}"}
    promql_expr_test:
      - expr: job:lat:rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'job:lat:rate5m{job="api"}'
            histogram: '@RATE@'
      - expr: histogram_count(lat)
        eval_time: 10m
        exp_samples:
          - labels: '{job="api", instance="a"}'
            value: 40
          - labels: '{job="api", instance="b"}'
            value: 40
"""


RATE = ("{{count:0.13333333333333333 sum:0.16666666666666666 counter_reset_hint:gauge "
        "buckets:[0.03333333333333333 0.06666666666666667 0.03333333333333333]}}")
TEST = TEST.replace("@RATE@", RATE)


def _write(tmp_path: Path, test: str) -> Path:
    (tmp_path / "rules.yml").write_text(RULES)
    p = tmp_path / "test.yml"
    p.write_text(test)
    return p


def test_histogram_inputs_rules_and_expectations_pass(tmp_path: Path) -> None:
    res = run_test_file(_write(tmp_path, TEST))
    assert res.error is None
    assert [f.message for g in res.groups for f in g.failures] == []


def test_histogram_mismatch_is_reported_like_promtool(tmp_path: Path) -> None:
    bad = TEST.replace("buckets:[0.03333333333333333 0.06666666666666667 0.03333333333333333]",
                       "buckets:[0.03333333333333333 0.06666666666666667 0.04]")
    res = run_test_file(_write(tmp_path, bad))
    (fail,) = [f for g in res.groups for f in g.failures]
    assert fail.kind == "expr"
    assert 'exp: {__name__="job:lat:rate5m", job="api"} {{count:0.13333333333333333' in fail.message
    assert "0.06666666666666667 0.04]}}" in fail.message
    assert 'got: {__name__="job:lat:rate5m", job="api"} {{count:0.13333333333333333' in fail.message
    js = results_to_json([res])["files"][0]["groups"][0]["failures"][0]
    assert js["expected"][0]["histogram"].startswith("{{count:0.1333")


def test_histogram_expected_where_float_comes(tmp_path: Path) -> None:
    bad = TEST.replace("            value: 40\n          - labels: '{job=\"api\", instance=\"b\"}'",
                       "            histogram: '{{count:40}}'\n          - labels: '{job=\"api\", instance=\"b\"}'")
    res = run_test_file(_write(tmp_path, bad))
    (fail,) = [f for g in res.groups for f in g.failures]
    assert '{instance="a", job="api"} {{count:40}}' in fail.message


@pytest.mark.parametrize("hist", ["'1'", "'{{count:1}} {{count:2}}'", "'{{count:'"])
def test_bad_expected_histogram_is_an_input_error(tmp_path: Path, hist: str) -> None:
    text = TEST.replace("value: 40\n", f"histogram: {hist}\n", 1)
    p = _write(tmp_path, text)
    with pytest.raises(InputError):
        load_test_file(p)


def test_prometheus_2_42_has_no_histogram_notation(tmp_path: Path) -> None:
    """promtool 2.42 rejects `{{` in input series and has no `histogram:` field in exp_samples."""
    from opsctl.rules.versions import PromVersion

    v242 = PromVersion.parse("2.42")
    res = run_test_file(_write(tmp_path, TEST), prometheus_version=v242)
    assert res.error is not None and "unexpected character in series sequence" in str(res.error)
    floats_only = TEST.replace("'{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x10'", "'1'")
    res = run_test_file(_write(tmp_path, floats_only), prometheus_version=v242)
    assert res.error is not None and "field histogram not found" in str(res.error)
