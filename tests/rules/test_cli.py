"""`opsctl rules validate/checks/explain/coverage` end to end: formats, exit codes, config, git."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import run_opsctl

CLEAN = """groups:
  - name: g
    rules:
      - alert: ApiDown
        expr: up{job="api"} == 0
        for: 5m
        labels:
          severity: critical
          service: api
        annotations:
          summary: "API down on {{ $labels.instance }}"
          description: "up is {{ $value }}"
          runbook_url: https://example.com/runbooks/api-down
"""
WARN = CLEAN.replace("        for: 5m\n", "")
BROKEN = CLEAN.replace('up{job="api"} == 0', "sum(")


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp / ".opsctl.yaml").exists() or (tmp / ".opsctl.yaml").write_text("rules: {}\n")
    return run_opsctl(*args, cwd=tmp)


def test_exit_codes(tmp_path: Path) -> None:
    _write(tmp_path, "clean.yml", CLEAN)
    _write(tmp_path, "warn.yml", WARN)
    _write(tmp_path, "broken.yml", BROKEN)
    assert _run(tmp_path, "rules", "validate", "clean.yml").returncode == 0
    assert _run(tmp_path, "rules", "validate", "warn.yml").returncode == 1
    assert _run(tmp_path, "rules", "validate", "warn.yml", "--fail-on", "error").returncode == 0
    assert _run(tmp_path, "rules", "validate", "broken.yml", "--fail-on", "error").returncode == 1
    proc = _run(tmp_path, "rules", "validate", "missing.yml")
    assert proc.returncode == 2 and "missing.yml" in proc.stderr and "Traceback" not in proc.stderr


def test_json_schema(tmp_path: Path) -> None:
    _write(tmp_path, "warn.yml", WARN)
    proc = _run(tmp_path, "rules", "validate", "warn.yml", "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1
    assert doc["summary"]["failed"] is True
    f = doc["findings"][0]
    assert set(f) == {"check", "severity", "message", "file", "line", "column", "group", "rule"}
    assert f["check"] == "alert-for-missing" and f["line"] == 4 and f["rule"] == "ApiDown"


def test_sarif_and_junit_and_github(tmp_path: Path) -> None:
    _write(tmp_path, "warn.yml", WARN)
    sarif = json.loads(_run(tmp_path, "rules", "validate", "warn.yml", "-f", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    junit = ET.fromstring(_run(tmp_path, "rules", "validate", "warn.yml", "-f", "junit").stdout)
    assert junit.get("failures") == "1"
    assert junit.find(".//failure").get("type") == "alert-for-missing"
    gh = _run(tmp_path, "rules", "validate", "warn.yml", "-f", "github").stdout
    assert gh.startswith("::warning file=warn.yml,line=4,col=9,title=opsctl alert-for-missing::")


def test_text_report_plain_without_tty(tmp_path: Path) -> None:
    _write(tmp_path, "warn.yml", WARN)
    out = _run(tmp_path, "rules", "validate", "warn.yml").stdout
    assert "\x1b[" not in out
    assert "alert-for-missing" in out and "FAILED" in out


def test_directory_skips_unit_test_files(tmp_path: Path) -> None:
    _write(tmp_path, "clean.yml", CLEAN)
    (tmp_path / "tests").mkdir()
    _write(tmp_path / "tests", "clean.test.yml", "rule_files: [../clean.yml]\ntests: []\n")
    proc = _run(tmp_path, "rules", "validate", ".", "-f", "json")
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["summary"]["skipped_files"]


def test_config_errors_have_positions(tmp_path: Path) -> None:
    _write(tmp_path, "clean.yml", CLEAN)
    (tmp_path / ".opsctl.yaml").write_text("rules:\n  fail_on: sometimes\n")
    proc = run_opsctl("rules", "validate", "clean.yml", cwd=tmp_path)
    assert proc.returncode == 2
    assert ".opsctl.yaml:2:3:" in proc.stderr
    (tmp_path / ".opsctl.yaml").write_text("rules:\n  disable: [alert-for-missing]\n")
    _write(tmp_path, "warn.yml", WARN)
    assert run_opsctl("rules", "validate", "warn.yml", cwd=tmp_path).returncode == 0


def test_pyproject_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.opsctl.rules]\ndisable = ["alert-for-missing"]\n')
    _write(tmp_path, "warn.yml", WARN)
    assert run_opsctl("rules", "validate", "warn.yml", cwd=tmp_path).returncode == 0


def test_checks_and_explain(tmp_path: Path) -> None:
    doc = json.loads(run_opsctl("rules", "checks", "--format", "json").stdout)
    ids = {c["id"] for c in doc["checks"]}
    assert {"alert-for-missing", "runbook", "promql-syntax", "regex-matcher"} <= ids
    proc = run_opsctl("rules", "explain", "rate-range-short")
    assert proc.returncode == 0 and "4x" in proc.stdout
    assert run_opsctl("rules", "explain", "nope").returncode == 2


def test_changed_since(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    two = WARN + WARN.split("rules:\n", 1)[1].replace("ApiDown", "ApiDown2")
    _write(tmp_path, "r.yml", two)
    (tmp_path / ".opsctl.yaml").write_text("rules: {}\n")
    git("add", ".")
    git("commit", "-qm", "init")
    assert len(json.loads(_run(tmp_path, "rules", "validate", "r.yml", "-f", "json").stdout)["findings"]) == 2
    proc = _run(tmp_path, "rules", "validate", "r.yml", "-f", "json", "--changed-since", "HEAD")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
    _write(tmp_path, "r.yml", two.replace('"up is {{ $value }}"\n        runbook_url: https://example.com/runbooks/api-down\n'
                                          '      - alert: ApiDown2', "XX"))
    lines = two.splitlines(keepends=True)
    idx = max(i for i, ln in enumerate(lines) if "up is" in ln)
    lines[idx] = lines[idx].replace("up is", "up was")
    _write(tmp_path, "r.yml", "".join(lines))
    doc = json.loads(_run(tmp_path, "rules", "validate", "r.yml", "-f", "json", "--changed-since", "HEAD").stdout)
    assert [f["rule"] for f in doc["findings"]] == ["ApiDown2"]
    proc = _run(tmp_path, "rules", "validate", "r.yml", "--changed-since", "no-such-rev")
    assert proc.returncode == 2


def test_coverage_policy(tmp_path: Path) -> None:
    _write(tmp_path, "clean.yml", CLEAN)
    (tmp_path / ".opsctl.yaml").write_text("rules:\n  coverage:\n    min_alerts_per_service: 2\n")
    proc = run_opsctl("rules", "coverage", "clean.yml", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["services"][0]["service"] == "api" and doc["services"][0]["by_severity"] == {"critical": 1}
    assert doc["services"][0]["metrics"] == ["up"]
    proc = run_opsctl("rules", "coverage", "clean.yml", "--min-alerts", "1", cwd=tmp_path)
    assert proc.returncode == 0


def test_prometheusrule_manifest(tmp_path: Path) -> None:
    body = "".join("    " + ln + "\n" if ln else "\n" for ln in CLEAN.splitlines())
    manifest = ("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: api\nspec:\n"
                + body + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    _write(tmp_path, "pr.yaml", manifest)
    proc = _run(tmp_path, "rules", "validate", "pr.yaml", "-f", "json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout
    assert doc["summary"]["rules"] == 1
    _write(tmp_path, "pr2.yaml", manifest.replace("for: 5m", "for: 5"))
    doc = json.loads(_run(tmp_path, "rules", "validate", "pr2.yaml", "-f", "json").stdout)
    assert doc["findings"][0]["check"] == "duration" and doc["findings"][0]["line"] == 11


def test_docs_cover_every_check() -> None:
    from opsctl.rules.checks import REGISTRY
    from opsctl.rules.docs import checks_markdown

    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    assert docs.endswith(checks_markdown()), "docs/rules.md is out of date: run python -m opsctl.rules.docs"
    for cid, info in REGISTRY.items():
        assert f"### {cid}\n\n{info.docs}\n" in docs, f"docs/rules.md is out of date for {cid}"
        assert info.summary and info.docs


def test_changed_since_reports_structural_errors_of_unchanged_rules(tmp_path: Path) -> None:
    """A changed file whose untouched rule has a syntax error: Prometheus rejects the whole file."""
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    broken = WARN + "      - record: job:x:sum\n        expr: sum(rate(x[5m])\n"
    _write(tmp_path, "r.yml", broken)
    (tmp_path / ".opsctl.yaml").write_text("rules: {}\n")
    git("add", ".")
    git("commit", "-qm", "init")
    _write(tmp_path, "r.yml", broken.replace("ApiDown", "ApiDownNow"))
    doc = json.loads(_run(tmp_path, "rules", "validate", "r.yml", "-f", "json", "--changed-since", "HEAD").stdout)
    assert "promql-syntax" in [f["check"] for f in doc["findings"]]
    # an untouched file is still left out
    _write(tmp_path, "r.yml", broken)
    doc = json.loads(_run(tmp_path, "rules", "validate", "r.yml", "-f", "json", "--changed-since", "HEAD").stdout)
    assert doc["findings"] == []


def test_config_and_comment_typos_are_reported(tmp_path: Path) -> None:
    (tmp_path / ".opsctl.yaml").write_text("rules:\n  disable: [alert-for-mising]\n")
    _write(tmp_path, "warn.yml", WARN)
    proc = run_opsctl("rules", "validate", "warn.yml", cwd=tmp_path)
    assert proc.returncode == 2 and "did you mean 'alert-for-missing'" in proc.stderr
    (tmp_path / ".opsctl.yaml").write_text("rules:\n  severity: {sevrity-label: error}\n")
    assert run_opsctl("rules", "validate", "warn.yml", cwd=tmp_path).returncode == 2
    (tmp_path / ".opsctl.yaml").write_text("rules: {}\n")
    text = WARN.replace("      - alert: ApiDown", "      # opsctl: disable=alert-for-mising\n      - alert: ApiDown")
    _write(tmp_path, "warn.yml", text)
    doc = json.loads(_run(tmp_path, "rules", "validate", "warn.yml", "-f", "json").stdout)
    found = [f for f in doc["findings"] if f["check"] == "disable-comment"]
    assert len(found) == 1 and "did you mean 'alert-for-missing'" in found[0]["message"]
    assert "alert-for-missing" in [f["check"] for f in doc["findings"]]
    _write(tmp_path, "warn.yml", WARN.replace("      - alert: ApiDown", "      # opsctl disable=alert-for-missing\n"
                                                                          "      - alert: ApiDown"))
    doc = json.loads(_run(tmp_path, "rules", "validate", "warn.yml", "-f", "json").stdout)
    assert [f["line"] for f in doc["findings"] if f["check"] == "disable-comment"] == [4]


def test_junit_one_case_per_rule_every_finding_listed(tmp_path: Path) -> None:
    """Two alerts of one name (one per severity) are two cases; each case has one failure listing all."""
    twice = """groups:
  - name: g
    rules:
      - alert: ApiDown
        expr: up{job="api"} == 0
        labels: {severity: critical}
      - alert: ApiDown
        expr: up{job="api"} == 0
        labels: {severity: warning}
"""
    _write(tmp_path, "two.yml", twice)
    doc = json.loads(_run(tmp_path, "rules", "validate", "two.yml", "-f", "json").stdout)
    junit = ET.fromstring(_run(tmp_path, "rules", "validate", "two.yml", "-f", "junit").stdout)
    cases = junit.findall(".//testcase")
    assert len(cases) == 2 and len({c.get("name") for c in cases}) == 2
    listed = 0
    for case in cases:
        failures = case.findall("failure")
        assert len(failures) <= 1
        listed += len(failures[0].text.splitlines()) if failures else 0
    assert listed == len(doc["findings"]) >= 3


def test_rule_dependency_on_removed_recording_rule(tmp_path: Path) -> None:
    """pint's rule/dependency: a recording rule renamed in one file while another file still uses it."""
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    rec = ("groups:\n  - name: r\n    rules:\n      - record: job:errors:rate5m\n"
           "        expr: sum by (job) (rate(e[5m]))\n")
    use = CLEAN.replace('up{job="api"} == 0', "job:errors:rate5m > 1")
    _write(tmp_path, "rec.yml", rec)
    _write(tmp_path, "use.yml", use)
    (tmp_path / ".opsctl.yaml").write_text("rules: {}\n")
    git("add", ".")
    git("commit", "-qm", "init")
    _write(tmp_path, "rec.yml", rec.replace("job:errors:rate5m", "job:errors:rate1m").replace("[5m]", "[1m]"))
    doc = json.loads(_run(tmp_path, "rules", "validate", "rec.yml", "use.yml", "-f", "json",
                          "--changed-since", "HEAD").stdout)
    dep = [f for f in doc["findings"] if f["check"] == "rule-dependency"]
    assert len(dep) == 1 and dep[0]["file"].endswith("use.yml") and "rec.yml:4" in dep[0]["message"]
    # recorded again elsewhere: no finding
    _write(tmp_path, "rec2.yml", rec)
    doc = json.loads(_run(tmp_path, "rules", "validate", "rec.yml", "rec2.yml", "use.yml", "-f", "json",
                          "--changed-since", "HEAD").stdout)
    assert not [f for f in doc["findings"] if f["check"] == "rule-dependency"]
