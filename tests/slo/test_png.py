"""`opsctl slo report -o report.png`: the chart data equals the report's numbers, the PNG is valid and
byte-for-byte deterministic, matplotlib is only imported for PNG output and only through Agg."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.slo.render_png import PNG_MAGIC, chart_data, png_bytes, write_png
from opsctl.slo.report import Options, report_from_export, summary
from opsctl.slo.spec import loads_spec
from tests.conftest import run_opsctl
from tests.slo import SLOTH, WIN, WINDOWS

ROOT = Path(__file__).resolve().parents[2]
T = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# A 10-minute rolling window of raw counters, objective 90%: with 100 requests a minute the window holds
# 1000 requests and a budget of 100 bad ones.
SPEC_10M = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: avail
spec:
  service: web
  indicator:
    metadata: {name: errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(http_requests_total{code="500"})'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: sum(http_requests_total)}
  timeWindow:
    - duration: 10m
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.9
"""



def export(path: Path, errors: list[int]) -> Path:
    """Counters sampled every minute from T-600 to T; interval i (ending at T-600+60(i+1)) has 100 requests
    of which errors[i] failed."""
    assert len(errors) == 10
    ok, bad = [0], [0]
    for e in errors:
        ok.append(ok[-1] + 100 - e)
        bad.append(bad[-1] + e)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "__name__", "code", "value"])
        for i in range(11):
            t = int(T - 600 + 60 * i)
            w.writerow([t, "http_requests_total", "200", ok[i]])
            w.writerow([t, "http_requests_total", "500", bad[i]])
    return path


def doc_for(spec: str, data: Path) -> dict:
    slos = [s for g in loads_spec(spec, "spec.yml") for s in g.slos]
    return summary(report_from_export(slos, data, Options(windows=WINDOWS)))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, cross-checked with Pillow (a matplotlib dependency)."""
    from PIL import Image

    assert data[12:16] == b"IHDR"
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    with Image.open(io.BytesIO(data)) as img:
        img.verify()
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.size == (w, h)
    return w, h


# ------------------------------------------------------------------------------------------- chart data


@pytest.mark.parametrize(("errors", "remaining", "status", "verdict"), [
    # cumulative bad 0,0,0,20,20,20,25,30,30,30 of a budget of 100
    ([0, 0, 0, 20, 0, 0, 5, 5, 0, 0], [1, 1, 1, 0.8, 0.8, 0.8, 0.75, 0.7, 0.7, 0.7], "ok", "PASS"),
    # 100 + 5 + 15 = 120 bad: the budget is overspent by 20%
    ([0, 0, 0, 100, 0, 0, 5, 15, 0, 0], [1, 1, 1, 0.0, 0.0, 0.0, -0.05, -0.2, -0.2, -0.2], "violated", "FAIL"),
])
def test_chart_data_is_the_reports_numbers(tmp_path: Path, errors: list[int], remaining: list[float],
                                           status: str, verdict: str) -> None:
    doc = doc_for(SPEC_10M, export(tmp_path / "d.csv", errors))
    [s] = doc["slos"]
    c = chart_data(s)
    assert c.status == status and c.title == f"SLO web-avail-0: {verdict}"
    assert "objective 90%" in c.subtitle and "rolling 10m window" in c.subtitle
    assert "2025-12-31T23:50:00Z .. 2026-01-01T00:00:00Z" in c.subtitle
    # Burn-down: 100% at the window start, then the remaining budget after each 1-minute interval.
    assert c.window_start == T - 600 and c.window_end == T
    assert c.times == [T - 600 + 60 * i for i in range(11)]
    assert c.remaining == pytest.approx([1.0, *remaining], abs=1e-12)
    assert c.ideal == [(T - 600, 1.0), (T, 0.0)]
    # The one period burning faster than 1x: interval 4 (T-420, T-360]; interval 8 burns 15/100/0.1 = 1.5x
    # in the failing case. Consumed shares are of the window's budget (100 bad requests).
    if status == "ok":
        assert c.burn_spans == [(T - 420, T - 360, pytest.approx(0.2))]
    else:
        assert c.burn_spans == [(T - 420, T - 360, pytest.approx(1.0)), (T - 180, T - 120, pytest.approx(0.15))]
    assert c.gap_spans == []
    # Burn rates: the alert windows of a 10-minute SLO scale down to short 1m / long 2m; the period's burn
    # rate is (bad / 1000) / 0.1. The last two minutes had no errors.
    assert c.windows == ["1m", "2m", "10m"]
    assert c.burn_rates == pytest.approx([0.0, 0.0, sum(errors) / 1000 / 0.1])
    # Factors: budget share x period / long window = (2%, 5%, 10%, 10%) x 10m / 2m = 0.1, 0.25, 0.5, 0.5,
    # each drawn over both of its windows; the period has no alert condition.
    assert [t.factor for t in c.thresholds[0]] == pytest.approx([0.1, 0.25, 0.5, 0.5])
    assert [t.factor for t in c.thresholds[1]] == pytest.approx([0.1, 0.25, 0.5, 0.5])
    assert c.thresholds[2] == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=100), min_size=10, max_size=10))
def test_burndown_series_is_one_minus_cumulative_bad_over_budget(tmp_path: Path, errors: list[int]) -> None:
    doc = doc_for(SPEC_10M, export(tmp_path / "d.csv", errors))
    c = chart_data(doc["slos"][0])
    cum = [sum(errors[: i + 1]) for i in range(10)]
    assert c.remaining == pytest.approx([1.0] + [1 - b / 100 for b in cum], abs=1e-9)
    assert c.remaining[-1] == pytest.approx(doc["slos"][0]["error_budget"]["remaining_ratio"])
    hot = [i for i, e in enumerate(errors) if e > 10]  # burning faster than 1x: more than 10 of 100 bad
    covered = {i for a, b, _ in c.burn_spans for i in range(round((a - T + 600) / 60), round((b - T + 600) / 60))}
    assert set(hot) <= covered
    assert c.title.endswith("PASS" if sum(errors) <= 100 else "FAIL")


def test_thresholds_follow_the_alert_windows_of_a_30d_slo(tmp_path: Path) -> None:
    doc = doc_for(SLOTH, export(tmp_path / "d.csv", [0] * 10))
    c = chart_data(doc["slos"][0])
    assert c.windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    factors = {w: [t.factor for t in ths] for w, ths in zip(c.windows, c.thresholds, strict=True)}
    assert factors == {"5m": [14.4], "30m": [6.0], "1h": [14.4], "2h": [3.0], "6h": [6.0, 1.0],
                       "1d": [3.0], "3d": [1.0], "30d": []}
    labels = {t.alert for ths in c.thresholds for t in ths}
    assert labels == {"page 1h/5m", "page 6h/30m", "ticket 1d/2h", "ticket 3d/6h"}
    # The 30 days before the 10-minute export are one gap, shaded from the window start.
    assert c.gap_spans == [(T - 30 * 86400, T - 600)]


def test_no_data_has_no_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(f"timestamp,__name__,value\n{int(T - 60)},other,1\n{int(T)},other,2\n")
    doc = doc_for(SLOTH, path)
    c = chart_data(doc["slos"][0])
    assert c.status == "no_data" and c.title.endswith("NO DATA")
    assert c.times == [] and c.remaining == [] and all(r is None for r in c.burn_rates)
    assert png_bytes(doc).startswith(PNG_MAGIC)  # still drawn, with "no data in the window"


# -------------------------------------------------------------------------------------------------- PNG


def test_png_is_valid_and_deterministic(tmp_path: Path) -> None:
    doc = doc_for(SPEC_10M, export(tmp_path / "d.csv", [0, 0, 0, 100, 0, 0, 5, 15, 0, 0]))
    first = png_bytes(doc)
    assert first.startswith(PNG_MAGIC)
    assert png_size(first) == (1100, 600)
    second = png_bytes(doc)
    assert first == second
    from PIL import Image

    with Image.open(io.BytesIO(first)) as img:
        assert img.info.get("Software") == "opsctl"  # no matplotlib version, no creation time
        assert not {"Creation Time", "CreationDate"} & set(img.info)
        # not blank: the burn-down line and the panels are drawn
        assert len(img.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20
    # Different data gives a different picture.
    other = doc_for(SPEC_10M, export(tmp_path / "e.csv", [0, 0, 0, 20, 0, 0, 5, 5, 0, 0]))
    assert png_bytes(other) != first


def test_write_png_is_atomic_and_errors_are_input_errors(tmp_path: Path) -> None:
    doc = doc_for(SPEC_10M, export(tmp_path / "d.csv", [0] * 10))
    target = tmp_path / "r.png"
    write_png(doc, target)
    assert target.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "r.png"]  # no temporary file left
    with pytest.raises(InputError):
        write_png(doc, tmp_path / "missing-dir" / "r.png")
    with pytest.raises(InputError):
        png_bytes({"slos": []})


def test_matplotlib_is_imported_only_for_png_and_never_pyplot() -> None:
    code = (
        "import sys\n"
        "import opsctl.cli.main, opsctl.cli.slo, opsctl.slo.render, opsctl.slo.render_png\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "from opsctl.slo.render_png import png_bytes\n"
        "from tests.slo.test_png import SPEC_10M, doc_for, export\n"
        "import pathlib, tempfile\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "assert png_bytes(doc_for(SPEC_10M, export(d / 'd.csv', [0] * 10))).startswith(b'\\x89PNG')\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    # An interactive backend in the environment and no display: rendering must not care (Agg canvas).
    env = {"MPLBACKEND": "TkAgg", "DISPLAY": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, timeout=120)
    assert proc.returncode == 0, proc.stderr


# -------------------------------------------------------------------------------------------------- CLI


def test_cli_png_all_slos_and_one(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"  # two SLOs: web-avail-0 and web-strict-0 (objective 99%)
    spec.write_text(SPEC_10M + "---\n" + SPEC_10M.replace("name: avail", "name: strict")
                    .replace("target: 0.9", "target: 0.99"))
    data = str(export(tmp_path / "d.csv", [0, 0, 0, 20, 0, 0, 5, 5, 0, 0]))
    out = tmp_path / "all.png"
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", data, "-o", str(out), env={"MPLBACKEND": "TkAgg"})
    assert proc.returncode == 1, proc.stderr  # web-strict-0 is violated: the PNG is still written
    assert "burn-down" in proc.stdout  # the text report is still printed
    assert png_size(out.read_bytes()) == (1100, 2 * 600)  # two SLOs, one panel pair each
    one = tmp_path / "one.png"
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", data, "--slo", "web-avail-0", "-o", str(one),
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert png_size(one.read_bytes()) == (1100, 600)
    # exactly what the library draws for that report
    doc = doc_for(SPEC_10M, Path(data))
    assert one.read_bytes() == png_bytes(doc)


def test_cli_png_write_error_exits_2(tmp_path: Path) -> None:  # unknown suffixes: test_report.py
    spec = tmp_path / "spec.yml"
    spec.write_text(SPEC_10M)
    data = str(export(tmp_path / "d.csv", [0] * 10))
    proc = run_opsctl("slo", "report", str(spec), *WIN, "--data", data, "-o", str(tmp_path / "no" / "r.png"))
    assert proc.returncode == 2 and "r.png" in proc.stderr and "Traceback" not in proc.stderr
