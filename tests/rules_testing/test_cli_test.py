"""`opsctl rules test`: exit codes, text / json / junit output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import run_opsctl

CORPUS = Path(__file__).parent / "corpus"


def test_all_pass_exit_0() -> None:
    proc = run_opsctl("rules", "test", "pass_basic.yml", "pass_kff.yml", cwd=CORPUS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("  SUCCESS") == 2
    assert "Processing test file: pass_basic.yml" in proc.stdout  # promtool 3.16's line (the default target)
    proc = run_opsctl("rules", "test", "--prometheus-version", "2.42", "pass_basic.yml", cwd=CORPUS)
    assert "Unit Testing:  pass_basic.yml" in proc.stdout  # promtool 2.x's


def test_failure_exit_1_with_differences() -> None:
    proc = run_opsctl("rules", "test", "pass_basic.yml", "fail_basic_value.yml", cwd=CORPUS)
    assert proc.returncode == 1
    assert "  FAILED:" in proc.stdout
    assert 'exp: {__name__="job:up:sum", job="api"} 1E+00' in proc.stdout
    assert 'got: {__name__="job:up:sum", job="api"} 0E+00' in proc.stdout


def test_bad_input_exit_2_one_line() -> None:
    proc = run_opsctl("rules", "test", "fail_kff.yml", "fail_unknown_field.yml", cwd=CORPUS)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["error: fail_unknown_field.yml:6:5: field promql_expr_tests not found in type main.testGroup"]
    proc = run_opsctl("rules", "test", str(CORPUS / "does-not-exist.yml"))
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_json_schema() -> None:
    proc = run_opsctl("rules", "test", "pass_basic.yml", "fail_basic_missing_alert.yml", "fail_bad_series.yml",
                      "--format", "json", cwd=CORPUS)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1
    assert doc["summary"] == {"files": 3, "passed": 1, "failed": 1, "errors": 1}
    passed, failed, errored = doc["files"]
    assert passed["status"] == "passed" and passed["groups"][0]["name"] == "instance goes down"
    f = failed["groups"][0]["failures"][0]
    assert f["kind"] == "alert" and f["alertname"] == "InstanceDown" and f["eval_time"] == "1m"
    assert f["expected"] == [{"labels": {"alertname": "InstanceDown", "instance": "a:1", "job": "api",
                                         "severity": "page"},
                              "annotations": {"summary": "Instance a:1 of api down", "value": "0"}}]
    assert f["got"] == []
    assert errored["status"] == "error" and errored["error"]["line"] == 4 and errored["error"]["column"] == 17


def test_json_nan_values_are_strings() -> None:
    proc = run_opsctl("rules", "test", "fail_nan.yml", "-f", "json", cwd=CORPUS)
    assert proc.returncode == 1
    f = json.loads(proc.stdout)["files"][0]["groups"][0]["failures"][0]
    assert f["expected"][0]["value"] == "NaN" and f["got"][0]["value"] == "NaN"


def test_junit() -> None:
    proc = run_opsctl("rules", "test", "pass_basic.yml", "fail_kff.yml", "fail_bad_series.yml", "-f", "junit",
                      cwd=CORPUS)
    assert proc.returncode == 2
    root = ET.fromstring(proc.stdout)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["pass_basic.yml", "fail_kff.yml", "fail_bad_series.yml"]
    assert suites[1].find("testcase/failure") is not None
    assert suites[2].find("testcase/error") is not None


def test_prometheus_version_decides_accepted_rule_fields(tmp_path: Path) -> None:
    """A group `query_offset` (Prometheus 2.53+): accepted by default, rejected for 2.42 as promtool 2.42 does."""
    from tests.conftest import find_tool

    (tmp_path / "rules.yml").write_text("groups:\n- name: g\n  query_offset: 1m\n  rules:\n"
                                        "  - record: job:up:sum\n    expr: sum by (job) (up)\n")
    (tmp_path / "test.yml").write_text(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n"
        "  - {series: 'up{job=\"a\"}', values: '1 1 1'}\n  promql_expr_test: []\n")
    assert run_opsctl("rules", "test", "test.yml", cwd=tmp_path).returncode == 0
    old = run_opsctl("rules", "test", "test.yml", "--prometheus-version", "2.42", cwd=tmp_path)
    assert old.returncode == 2 and "query_offset" in old.stderr
    import subprocess

    promtool = subprocess.run([find_tool("promtool"), "test", "rules", "test.yml"], cwd=tmp_path,
                              capture_output=True, text=True)
    assert promtool.returncode != 0 and "query_offset" in promtool.stdout + promtool.stderr
    bad = run_opsctl("rules", "test", "test.yml", "--prometheus-version", "x", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
