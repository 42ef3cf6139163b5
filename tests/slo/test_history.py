"""Alert history: the spec's generated burn-rate alerts replayed over the report period (embedded engine),
checked against promtool's rule unit tests (Prometheus' own engine and alert state machine) on the same data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from opsctl.slo.generate import generate, to_yaml
from opsctl.slo.report import Options, report_from_export, summary
from opsctl.slo.spec import loads_spec
from tests.conftest import find_tool, run_opsctl
from tests.slo.test_report import write_csv

T0 = 1767225600.0
MINUTES = 360
OUTAGE = (120, 180)  # minutes: every request fails

SPEC = """\
version: "prometheus/v1"
service: "svc"
slos:
  - name: "avail"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: SvcBurn
      ticket_alert: {disable: true}
"""


def counters(outage_to: int = OUTAGE[1]) -> tuple[list[float], list[float]]:
    ok, err = [0.0], [0.0]
    for m in range(1, MINUTES + 1):
        failing = OUTAGE[0] < m <= outage_to
        ok.append(ok[-1] + (0 if failing else 100))
        err.append(err[-1] + (100 if failing else 0))
    return ok, err


def export(tmp: Path, outage_to: int = OUTAGE[1]) -> Path:
    ok, err = counters(outage_to)
    times = [T0 + 60 * i for i in range(MINUTES + 1)]
    return write_csv(tmp / "d.csv", {
        (("__name__", "http_requests_total"), ("code", "200")): list(zip(times, ok, strict=True)),
        (("__name__", "http_requests_total"), ("code", "500")): list(zip(times, err, strict=True)),
    })


def history(path: Path, version: str | None = None) -> dict:
    slos = [s for g in loads_spec(SPEC, "s.yml") for s in g.slos]
    return summary(report_from_export(slos, path, Options(alert_history=True, prometheus_version=version)))["slos"][0]


def test_outage_fires_and_resolves_the_page_alert(tmp_path: Path) -> None:
    s = history(export(tmp_path))
    [ep] = s["alert_history"]["alerts"]
    assert ep["alert"] == "SvcBurn" and ep["severity"] == "page"
    fired = (json_ts(ep["fired_at"]) - T0) / 60
    resolved = (json_ts(ep["resolved_at"]) - T0) / 60
    # fires: the 1h error ratio is above 14.4 x 1% after ~8.6 failing minutes (the 5m one is at 100%);
    # resolves: the slow condition holds until the 30m ratio drops under 6 x 1%, ~28 minutes after the outage
    assert OUTAGE[0] + 8 <= fired <= OUTAGE[0] + 11, fired
    assert OUTAGE[1] + 27 <= resolved <= OUTAGE[1] + 31, resolved
    assert s["alerts"][0]["firing"] is False  # at the end: the report's own burn-rate state agrees


def test_still_firing_at_the_end_agrees_with_the_report_state(tmp_path: Path) -> None:
    s = history(export(tmp_path, outage_to=MINUTES))
    [ep] = s["alert_history"]["alerts"]
    assert ep["resolved_at"] is None
    assert s["alerts"][0]["severity"] == "page" and s["alerts"][0]["firing"] is True


def json_ts(text: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("promtool_name, version", [("promtool", "2.42"), ("promtool-3.16", None)])
def test_history_matches_promtool(tmp_path: Path, promtool_name: str, version: str | None) -> None:
    """promtool replays the same generated rules on the same counters: the alert fires at the minute our
    history says it fired (not one evaluation before) and is gone at the minute it says it resolved.
    Prometheus 2.x and 3.x differ here (left-closed vs left-open ranges): each is checked with its version."""
    promtool = find_tool(promtool_name)
    ep = history(export(tmp_path), version)["alert_history"]["alerts"][0]
    fired = round((json_ts(ep["fired_at"]) - T0) / 60)
    resolved = round((json_ts(ep["resolved_at"]) - T0) / 60)
    rules = tmp_path / "rules.yml"
    rules.write_text(to_yaml(generate(loads_spec(SPEC, "s.yml")), header=False))
    ok, err = counters()
    labels = dict(ep["labels"])
    annotations = {
        "title": "(page) svc avail SLO error budget burn rate is too fast.",
        "summary": "svc avail SLO error budget burn rate is over expected.",
    }
    firing = [{"exp_labels": labels, "exp_annotations": annotations}]
    # the recording groups before the alert group at each step, as Prometheus's own schedule has them settle;
    # without group_eval_order promtool takes the groups in Go map order, one evaluation apart run to run
    order = [g["name"] for g in yaml.safe_load(rules.read_text())["groups"]]
    tests = {"rule_files": [str(rules)], "evaluation_interval": "1m", "group_eval_order": order, "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'http_requests_total{code="200"}', "values": " ".join(f"{v:g}" for v in ok)},
            {"series": 'http_requests_total{code="500"}', "values": " ".join(f"{v:g}" for v in err)},
        ],
        "alert_rule_test": [
            {"eval_time": f"{fired - 1}m", "alertname": "SvcBurn", "exp_alerts": []},
            {"eval_time": f"{fired}m", "alertname": "SvcBurn", "exp_alerts": firing},
            {"eval_time": f"{resolved - 1}m", "alertname": "SvcBurn", "exp_alerts": firing},
            {"eval_time": f"{resolved}m", "alertname": "SvcBurn", "exp_alerts": []},
        ],
    }]}
    test_file = tmp_path / "t.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_text_html_json_png(tmp_path: Path) -> None:
    d = export(tmp_path)
    spec = tmp_path / "s.yml"
    spec.write_text(SPEC)
    proc = run_opsctl("slo", "report", str(spec), "--data", str(d), "--alert-history", "-o", str(tmp_path / "r.html"))
    assert "alert history 1 firing episode(s)" in proc.stdout and "SvcBurn" in proc.stdout
    assert "Alert history (1 firing episodes)" in (tmp_path / "r.html").read_text()
    proc = run_opsctl("slo", "report", str(spec), "--data", str(d), "--alert-history", "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["slos"][0]["alert_history"]["replayed"] is True
    from opsctl.slo.render_png import chart_data
    c = chart_data(doc["slos"][0])
    assert len(c.alert_spans) == 1 and c.alert_spans[0][2] == "page"


# ------------------------------------------------------------------------- charts read right (issue 16, 7)


def test_burndown_starts_at_the_period_start(tmp_path: Path) -> None:
    s = summary(report_from_export([x for g in loads_spec(SPEC, "s.yml") for x in g.slos], export(tmp_path),
                                   Options()))["slos"][0]
    assert s["burndown"][0] == {"time": s["window"]["start"], "remaining_ratio": 1.0}
    assert s["burndown"][1]["time"] > s["window"]["start"]


def test_html_y_ticks_are_round_numbers() -> None:
    import re

    from opsctl.slo.render import _svg_chart, nice_ticks
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-0.37, 1.0) == [-0.5, 0.0, 0.5, 1.0]
    svg = _svg_chart([{"time": "a", "remaining_ratio": 1.0}, {"time": "b", "remaining_ratio": -0.37}])
    labels = re.findall(r'text-anchor="end">([^<]+)%</text>', svg)
    assert labels == ["-50", "0", "50", "100"]


def test_one_character_slo_name_is_a_clear_error() -> None:
    from opsctl.errors import InputError
    with pytest.raises(InputError, match="at least 2 characters"):
        loads_spec(SPEC.replace('name: "avail"', 'name: "a"'), "s.yml")


def test_png_title_names_the_slo(tmp_path: Path) -> None:
    from opsctl.slo.render_png import chart_data
    s = summary(report_from_export([x for g in loads_spec(SPEC, "s.yml") for x in g.slos], export(tmp_path),
                                   Options()))["slos"][0]
    assert chart_data(s).title.startswith("SLO svc-avail: ")
