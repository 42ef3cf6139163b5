"""`opsctl slo report --prometheus`: the same data in a real Prometheus (TSDB blocks built by promtool) and
in an export give the same compliance numbers."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import find_tool, run_opsctl
from tests.servers import free_port, running
from tests.slo import WIN

SPEC = """\
version: "prometheus/v1"
service: "svc"
slos:
  - name: "avail"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def _series(end: int) -> dict[str, list[tuple[int, float]]]:
    """6 hours of 1-minute samples: 100 ok/min, 1 error/min, 30 errors/min during one hour."""
    start = end - 6 * 3600
    ok, err = 0.0, 0.0
    out: dict[str, list[tuple[int, float]]] = {"200": [], "500": []}
    for t in range(start, end + 1, 60):
        out["200"].append((t, ok))
        out["500"].append((t, err))
        ok += 100
        err += 30 if start + 2 * 3600 <= t < start + 3 * 3600 else 1
    return out


Series = dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]


@contextmanager
def _serve(tmp_path: Path, data: Series) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1 holding `data` (TSDB blocks built by promtool from OpenMetrics), and
    the same samples as `export.csv` in tmp_path."""
    promtool, prom = find_tool("promtool"), find_tool("prometheus")
    names = sorted({k for key in data for k, _ in key})
    om = tmp_path / "data.om"
    lines = ["# TYPE http_requests counter"]
    for key, samples in data.items():
        sel = ",".join(f'{k}="{v}"' for k, v in key)
        lines += [f"http_requests_total{{{sel}}} {v} {t}" for t, v in samples]
    om.write_text("\n".join([*lines, "# EOF", ""]))
    tsdb = tmp_path / "tsdb"
    proc = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(tsdb)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "export.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "__name__", *names, "value"])
        for key, samples in data.items():
            lab = dict(key)
            w.writerows([t, "http_requests_total", *(lab.get(n, "") for n in names), v] for t, v in samples)
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1m\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [prom, f"--config.file={cfg}", f"--storage.tsdb.path={tsdb}", f"--web.listen-address=127.0.0.1:{port}",
           "--storage.tsdb.retention.time=30d"]
    with running(cmd, f"{url}/-/ready", tmp_path / "prometheus.log"):
        yield url


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    end = (int(time.time()) // 3600 - 1) * 3600
    data: Series = {(("code", code),): samples for code, samples in _series(end).items()}
    with _serve(tmp_path, data) as url:
        yield url, end, tmp_path


@pytest.mark.oracle
@pytest.mark.slow
def test_prometheus_pushdown_matches_export(prometheus: tuple[str, int, Path]) -> None:
    url, end, tmp = prometheus
    spec = tmp / "spec.yml"
    spec.write_text(SPEC)
    common = ("--to", str(end), "--step", "5m", "--format", "json")
    via_prom = run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, *common)
    via_file = run_opsctl("slo", "report", str(spec), *WIN, "--data", str(tmp / "export.csv"), *common)
    assert via_prom.returncode == 1, via_prom.stderr  # 30x errors for an hour violate 99%
    assert via_file.returncode == 1, via_file.stderr
    p, f = json.loads(via_prom.stdout)["slos"][0], json.loads(via_file.stdout)["slos"][0]
    # exact answer from the export: 360 one-minute increases, 100 ok each; errors 300 x 1 + 60 x 30
    assert f["events"] == {"total": 38100.0, "bad": 2100.0, "good": 36000.0}
    print("prometheus:", p["sli"], p["events"], "export:", f["sli"], f["events"])
    assert p["status"] == f["status"] == "violated"
    assert p["sli"] == pytest.approx(f["sli"], abs=2e-4)
    assert p["error_budget"]["consumed_ratio"] == pytest.approx(f["error_budget"]["consumed_ratio"], rel=0.03)
    assert p["events"]["total"] == pytest.approx(f["events"]["total"], rel=0.02)
    # only the window before the data is missing in both
    assert len(p["gaps"]["ranges"]) >= 1 and p["gaps"]["ranges"][0]["start"] == f["gaps"]["ranges"][0]["start"]
    # the worst hour is found by both
    assert p["burn_periods"] and f["burn_periods"]
    assert p["burn_periods"][0]["start"][:13] == f["burn_periods"][0]["start"][:13]


def test_prometheus_unreachable_is_an_input_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text(SPEC)
    port = free_port()
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", f"http://127.0.0.1:{port}",
                      "--to", "1767225600",
                      "--step", "1d", env={"OPSCTL_PROMETHEUS_TOKEN": "secret-token-value"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "secret-token-value" not in proc.stderr + proc.stdout


THRESHOLD = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: errors
spec:
  service: svc
  indicator:
    metadata: {name: error-rate}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'sum(rate(http_requests_total{code="500"}[5m]))'}
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - op: lt
      value: 0.25
      target: 0.9
      timeSliceTarget: 1
      timeSliceWindow: 5m
"""


@pytest.mark.oracle
@pytest.mark.slow
def test_prometheus_threshold_timeslices_match_export(prometheus: tuple[str, int, Path]) -> None:
    url, end, tmp = prometheus
    spec = tmp / "threshold.yml"
    spec.write_text(THRESHOLD)
    # one evaluation per slice on both sides (at the export's 1m default, the 5m rate is sampled five times
    # per slice and one more slice straddling the incident's start counts as bad)
    common = ("--to", str(end), "--step", "5m", "--format", "json")
    via_prom = run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, *common)
    via_file = run_opsctl("slo", "report", str(spec), *WIN, "--data", str(tmp / "export.csv"), *common)
    p, f = json.loads(via_prom.stdout)["slos"][0], json.loads(via_file.stdout)["slos"][0]
    # 72 five-minute slices after the first sample; the 12 of the incident hour have 0.5 errors/s
    assert f["events"] == {"total": 72.0, "bad": 12.0, "good": 60.0}
    assert p["events"] == f["events"]
    assert p["status"] == f["status"] == "violated"  # 83.3% of slices good < 90%
    assert via_prom.returncode == via_file.returncode == 1


def _grouped_series(end: int) -> Series:
    """6 hours of 1-minute counters for three services: api 1 error/min (an hour at 30/min), web 2/min,
    db none (it has no 5xx series at all, so its group counts zero bad events)."""
    start = end - 6 * 3600
    out: Series = {}
    for service, base, incident in (("api", 1, 30), ("web", 2, 2), ("db", 0, 0)):
        ok, err = 0.0, 0.0
        oks, errs = [], []
        for t in range(start, end + 1, 60):
            oks.append((t, ok))
            errs.append((t, err))
            ok += 100
            err += incident if start + 2 * 3600 <= t < start + 3 * 3600 else base
        out[(("code", "200"), ("service", service))] = oks
        if base:
            out[(("code", "500"), ("service", service))] = errs
    return out


@pytest.mark.oracle
@pytest.mark.slow
def test_prometheus_per_group_matches_export(tmp_path: Path) -> None:
    """`--group-by` (and a spec's own `sum by`) with --prometheus: one SLI, budget and burn state per group,
    and the total, as from an export of the same samples (the server's rate() extrapolates, the export's
    increase is exact: figures agree within the same bounds as the ungrouped comparison)."""
    end = (int(time.time()) // 3600 - 1) * 3600
    spec = tmp_path / "spec.yml"
    spec.write_text(SPEC)
    by_spec = tmp_path / "by_spec.yml"
    by_spec.write_text(SPEC.replace("sum(rate(", "sum by (service) (rate("))
    common = ("--to", str(end), "--step", "5m", "--format", "json")
    with _serve(tmp_path, _grouped_series(end)) as url:
        runs = {
            "prom": run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, "--group-by", "service", *common),
            "file": run_opsctl("slo", "report", str(spec), *WIN, "--data", str(tmp_path / "export.csv"),
                               "--group-by", "service", *common),
            "prom_spec": run_opsctl("slo", "report", str(by_spec), *WIN, "--prometheus", url, *common),
            "prom_text": run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, "--group-by", "service",
                                    "--to", str(end), "--step", "5m"),
        }
    for name, proc in runs.items():
        assert proc.returncode == 1, (name, proc.stderr)  # api's incident violates 99%, so does the total
    p, f, ps = (json.loads(runs[k].stdout)["slos"][0] for k in ("prom", "file", "prom_spec"))
    # exact answer from the export: 360 one-minute increases per service, 100 ok each
    assert f["events"]["total"] == 3 * 36000 + 300 + 60 * 30 + 360 * 2
    fg = {g["labels"]["service"]: g for g in f["groups"]}
    assert {k: v["events"]["bad"] for k, v in fg.items()} == {"api": 2100.0, "db": 0.0, "web": 720.0}
    assert p["group_by"] == ["service"] and ps["group_by"] is None
    for doc in (p, ps):
        pg = {g["labels"]["service"]: g for g in doc["groups"]}
        assert sorted(pg) == ["api", "db", "web"]
        assert doc["sli"] == pytest.approx(f["sli"], abs=2e-4)
        assert doc["events"]["total"] == pytest.approx(f["events"]["total"], rel=0.02)
        for service, g in pg.items():
            want = fg[service]
            print(service, "prometheus:", g["sli"], g["events"], "export:", want["sli"], want["events"])
            assert g["status"] == want["status"], service
            assert g["sli"] == pytest.approx(want["sli"], abs=2e-4), service
            assert g["events"]["total"] == pytest.approx(want["events"]["total"], rel=0.02), service
            assert g["events"]["bad"] == pytest.approx(want["events"]["bad"], rel=0.03, abs=1e-9), service
            assert g["error_budget"]["consumed_ratio"] == pytest.approx(
                want["error_budget"]["consumed_ratio"], rel=0.03, abs=1e-9), service
            assert [a["firing"] for a in g["alerts"]] == [a["firing"] for a in want["alerts"]], service
    assert [g["status"] for g in sorted(p["groups"], key=lambda g: g["labels"]["service"])] == \
        ["violated", "ok", "violated"]  # api: the incident; db: no errors; web: 2 of 102 a minute > 1%
    assert 'groups' in runs["prom_text"].stdout and '{service="api"}' in runs["prom_text"].stdout
