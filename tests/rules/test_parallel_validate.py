"""`validate(jobs=N)` (rules read and checked in forked workers) gives exactly the findings of jobs=1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.parallel import can_fork
from opsctl.rules import validate as validate_mod
from opsctl.rules.config import RulesConfig
from opsctl.rules.validate import validate
from tests.conftest import run_opsctl

pytestmark = pytest.mark.skipif(not can_fork(), reason="fork-based workers are Linux-only")

# one group per kind of trouble: each is repeated so that every worker gets some of each
GROUP_KINDS = [
    # clean
    """- name: ok-{g}
  interval: 1m
  rules:
  - record: job:req_{g}:rate5m
    expr: sum by (job) (rate(req_{g}_total[5m]))
  - alert: Fine{g}
    expr: job:req_{g}:rate5m > 5
    for: 5m
    labels: {{severity: warning}}
    annotations: {{summary: "s {{{{ $labels.job }}}}", description: d, runbook_url: "https://rb/x"}}
""",
    # structural errors: bad PromQL, bad template, bad duration, unknown field, both alert and record
    """- name: broken-{g}
  rules:
  - alert: BadExpr{g}
    expr: sum(rate(x[5m])
  - alert: BadTemplate{g}
    expr: up == 0
    annotations: {{summary: "{{{{ $labels.job "}}
  - alert: BadFor{g}
    expr: up == 0
    for: 5 minutes
  - alert: Unknown{g}
    expr: up == 0
    severity: critical
  - alert: Both{g}
    record: both_{g}
    expr: up
""",
    # best-practice findings, one inline disable, a duplicate of the first group's alert
    """- name: lint-{g}
  interval: 2m
  rules:
  - alert: NoFor{g}
    expr: rate(http_requests[1m]) > 0
    labels: {{severity: urgent}}
  # opsctl: disable=alert-for-missing
  - alert: Disabled{g}
    expr: sum(rate(x_total{{code=~"5.."}}[5m])) > 1
    annotations: {{summary: "{{{{ $labels.instance }}}}"}}
  - alert: Fine{g}
    expr: job:req_{g}:rate5m > 5
    for: 5m
    labels: {{severity: warning}}
  - record: badname
    expr: x_bucket > 1
""",
]


def _write(path: Path, groups: int) -> None:
    parts = ["groups:"]
    for g in range(groups):
        parts.append(GROUP_KINDS[g % len(GROUP_KINDS)].format(g=g))
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def _snapshot(result: validate_mod.ValidationResult) -> tuple[list[dict[str, object]], list[tuple[object, ...]]]:
    rules = [(r.file, r.group, r.name, r.index, r.line, r.column, r.end_line, r.kind, r.expr,
              sorted(r.labels.items()), sorted(r.annotations.items()), sorted(r.disabled), r.invalid, r.for_,
              sorted(r.field_locs.items()), sorted(r.label_locs.items()), sorted(r.annotation_locs.items()))
             for rf in result.files for group in rf.groups for r in group.rules]
    return [f.to_dict() for f in result.findings], rules


def test_workers_find_exactly_what_one_process_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_mod, "PARALLEL_MIN_BYTES_PER_JOB", 500)
    files = [tmp_path / "a.yml", tmp_path / "b.yml", tmp_path / "c.yml"]
    for i, f in enumerate(files):
        _write(f, 9 + 4 * i)
    config = RulesConfig(runbooks_dir=None)
    one = validate(files, config, jobs=1)
    many = validate(files, config, jobs=4)
    assert _snapshot(many) == _snapshot(one)
    assert {f.check for f in one.findings} >= {"promql-syntax", "template-syntax", "duration", "schema",
                                               "rule-kind", "alert-for-missing", "duplicate-rule",
                                               "severity-label", "record-name-format"}
    # the rules of later groups were read in other processes: they come back without an AST
    parsed = [r.ast is not None for rf in many.files for g in rf.groups for r in g.rules]
    assert any(parsed) and not all(parsed)


def test_small_inputs_stay_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "small.yml"
    _write(path, 6)
    result = validate([path], RulesConfig(runbooks_dir=None), jobs=4)
    assert all(r.ast is not None for g in result.files[0].groups for r in g.rules if not r.invalid)


def test_cli_jobs_option_gives_the_same_report(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    _write(path, 1800)  # 6,600 rules, 650 KB: two workers with --jobs 2
    (tmp_path / ".opsctl.yaml").write_text("rules: {}\n")
    reports = []
    for jobs in ("1", "2"):
        proc = run_opsctl("rules", "validate", str(path), "--format", "json", "--jobs", jobs, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        reports.append(json.loads(proc.stdout))
    assert reports[0] == reports[1]
    assert reports[0]["summary"]["rules"] == 6600
