"""Benchmark opsctl.gotemplate: parse/check/render throughput for alert annotation templates, the
Alertmanager default notification templates, and a large template (default run: a few seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opsctl.gotemplate import parse
from opsctl.gotemplate.alertmanager import AlertmanagerTemplates, Data
from opsctl.gotemplate.prometheus import check_rule_template, render_rule_template

ANNOTATION = ("{{ $labels.instance }} of job {{ $labels.job }} has {{ humanize $value }} errors/s "
              "({{ printf \"%.1f\" $value }}); {{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}")
LABELS = {"instance": "host-1:9100", "job": "node", "env": "prod", "team": "sre", "__name__": "errors"}

AM_DATA = {
    "receiver": "team-x", "status": "firing", "externalURL": "http://am:9093",
    "groupLabels": {"alertname": "HighLatency"},
    "commonLabels": {"alertname": "HighLatency", "job": "api"},
    "commonAnnotations": {"summary": "Latency high"},
    "alerts": [{"status": "firing" if i % 3 else "resolved",
                "labels": {"alertname": "HighLatency", "job": "api", "instance": f"h{i}:1"},
                "annotations": {"summary": "Latency high", "description": f"p99 {i}ms"},
                "startsAt": "2024-01-02T03:04:05Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom/graph", "fingerprint": f"{i:016x}"} for i in range(20)],
}


def _rate(fn: Callable[[], Any], seconds: float = 0.6) -> float:
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return round(n / (time.perf_counter() - start), 1)


def main() -> dict[str, Any]:
    templates = AlertmanagerTemplates()
    data = Data.from_json(AM_DATA)
    big = "{{ range $i, $e := . }}{{ $i }}: {{ $e | printf \"%v\" }}{{ if gt $i 3 }} big{{ end }}\n{{ end }}" * 200
    started = time.perf_counter()
    parsed_big = parse(big, "big")
    parse_big_s = time.perf_counter() - started
    started = time.perf_counter()
    out = parsed_big.execute(list(range(50)))
    exec_big_s = time.perf_counter() - started
    return {
        "check_rule_template_per_s": _rate(lambda: check_rule_template(ANNOTATION, "HighErrors")),
        "render_rule_template_per_s": _rate(
            lambda: render_rule_template(ANNOTATION, LABELS, 1234.5, {"cluster": "c1"}, "http://prom")),
        "alertmanager_load_defaults_per_s": _rate(AlertmanagerTemplates),
        "alertmanager_render_slack_title_per_s": _rate(lambda: templates.render("slack.default.title", data)),
        "alertmanager_render_opsgenie_description_20_alerts_per_s": _rate(
            lambda: templates.render("opsgenie.default.description", data)),
        "big_template_bytes": len(big),
        "big_template_parse_s": round(parse_big_s, 3),
        "big_template_exec_s": round(exec_big_s, 3),
        "big_template_output_bytes": len(out),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
