"""`slo report` per group: one SLI, budget and alert state per label set the SLI keeps (or `--group-by`),
checked against the same SLO filtered to each group (what the generated `sum by` rules compute per group)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.slo.report import Options, regroup, report_from_export, summary
from opsctl.slo.spec import loads_spec
from tests.conftest import run_opsctl
from tests.slo.test_report import write_csv

T = 1767225600.0

SPEC = """\
version: "prometheus/v1"
service: "shop"
slos:
  - name: "avail"
    objective: 99
    sli:
      events:
        error_query: SUM(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: SUM(rate(http_requests_total[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def data(tmp: Path) -> Path:
    times = [T - 3600 + 60 * i for i in range(61)]
    series = {}
    for svc, err_per_min in (("api", 0), ("web", 3), ("db", 1)):
        ok = [100.0 * i for i in range(61)]
        err = [float(err_per_min * i) for i in range(61)]
        series[(("__name__", "http_requests_total"), ("code", "200"), ("service", svc))] = list(zip(times, ok))
        if svc != "api":  # api has no error series at all: zero bad events
            series[(("__name__", "http_requests_total"), ("code", "500"), ("service", svc))] = list(zip(times, err))
    return write_csv(tmp / "d.csv", series)


def report(spec: str, path: Path, **kw: object) -> dict:
    slos = [s for g in loads_spec(spec, "s.yml") for s in g.slos]
    return summary(report_from_export(slos, path, Options(**kw)))["slos"][0]  # type: ignore[arg-type]


def test_sum_by_groups_equal_the_filtered_slos(tmp_path: Path) -> None:
    d = data(tmp_path)
    grouped = report(SPEC.replace("SUM(", "sum by (service) ("), d)
    total = report(SPEC.replace("SUM(", "sum("), d)
    assert grouped["events"] == total["events"] and grouped["sli"] == total["sli"]  # the total stays
    by = {g["labels"]["service"]: g for g in grouped["groups"]}
    assert sorted(by) == ["api", "db", "web"]
    for svc in ("db", "web"):  # api: no error series, so its filtered SLO has no ratio (Prometheus neither)
        one = report(SPEC.replace("SUM(", "sum(")
                     .replace("http_requests_total{code", f'http_requests_total{{service="{svc}",code')
                     .replace("http_requests_total[", f'http_requests_total{{service="{svc}"}}['), d)
        for key in ("sli", "status", "events", "error_budget", "burn_rates", "alerts"):
            assert by[svc][key] == one[key], (svc, key)
    assert by["web"]["status"] == "violated" and by["api"]["status"] == "ok" and by["api"]["events"]["bad"] == 0


def test_group_by_option_regroups_plain_sums(tmp_path: Path) -> None:
    d = data(tmp_path)
    plain = SPEC.replace("SUM(", "sum(")
    assert report(plain, d)["groups"] == []  # one SLI, no labels kept: no groups
    via_option = report(plain, d, group_by=["service"])
    via_spec = report(SPEC.replace("SUM(", "sum by (service) ("), d)
    assert via_option["groups"] == via_spec["groups"] and via_option["group_by"] == ["service"]
    import promql_parser
    got = regroup("sum(rate(x[5m])) / sum by (a) (rate(y[5m]))", ["b", "c"])
    assert str(promql_parser.parse(got)) == str(promql_parser.parse(
        "sum by (b, c) (rate(x[5m])) / sum by (b, c) (rate(y[5m]))"))


def test_cli_group_by_text_and_json(tmp_path: Path) -> None:
    d = data(tmp_path)
    spec = tmp_path / "s.yml"
    spec.write_text(SPEC.replace("SUM(", "sum("))
    proc = run_opsctl("slo", "report", str(spec), "--data", str(d), "--group-by", "service")
    assert proc.returncode == 1  # the total (3.9% errors... ) is violated
    assert 'groups        3 (by service)' in proc.stdout and '{service="web"}' in proc.stdout
    proc = run_opsctl("slo", "report", str(spec), "--data", str(d), "--group-by", "service", "--format", "json",
                      "-o", str(tmp_path / "r.html"))
    doc = json.loads(proc.stdout)
    assert [g["labels"] for g in doc["slos"][0]["groups"]] == [{"service": s} for s in ("api", "db", "web")]
    page = (tmp_path / "r.html").read_text()
    assert "Groups (3)" in page and "Alerts now" in page
    proc = run_opsctl("slo", "report", str(spec), "--data", str(d), "--group-by", "bad label")
    assert proc.returncode == 2 and "--group-by" in proc.stderr


@pytest.mark.parametrize("query", ["sum(rate(x[5m]))", "(sum(rate(x[5m])) - sum(rate(y[5m]))) / 2"])
def test_regroup_keeps_the_query_valid(query: str) -> None:
    import promql_parser
    promql_parser.parse(regroup(query, ["a"]))
