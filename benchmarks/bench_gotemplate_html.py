"""Benchmark opsctl.gotemplate's html/template mode: escaping (the one-off contextual analysis of the
executed template and what it calls) and rendering of Alertmanager's email.default.html for a 20-alert group,
compared with the text/template rendering of the same template (default run: a few seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opsctl.gotemplate.alertmanager import AlertmanagerTemplates, Data
from opsctl.gotemplate.htmlescape import escape_trees

DATA = {
    "receiver": "team-x", "status": "firing", "externalURL": "http://am:9093",
    "groupLabels": {"alertname": "High<Latency>"},
    "commonLabels": {"alertname": "High<Latency>", "job": "api"},
    "commonAnnotations": {"summary": "Latency <b>high</b> & rising"},
    "alerts": [{"status": "firing" if i % 3 else "resolved",
                "labels": {"alertname": "High<Latency>", "job": "api", "instance": f"h{i}:1"},
                "annotations": {"summary": "Latency <b>high</b>", "description": f"p99 {i}ms > 'slo'"},
                "startsAt": "2024-01-02T03:04:05Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"http://prom/graph?g0.expr=x{{i=\"{i}\"}}", "fingerprint": f"{i:016x}"}
               for i in range(20)],
}


def _rate(fn: Callable[[], Any], seconds: float = 0.8) -> float:
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return round(n / (time.perf_counter() - start), 1)


def main() -> dict[str, Any]:
    tmpl = AlertmanagerTemplates()
    data = Data.from_json(DATA)
    trees = tmpl.template.trees
    html_out = tmpl.render_template("email.default.html", data, html=True)
    return {
        "email_default_html_escape_per_s": _rate(lambda: escape_trees(trees, "email.default.html")),
        "email_default_html_render_html_per_s": _rate(
            lambda: tmpl.render_template("email.default.html", data, html=True)),
        "email_default_html_render_text_per_s": _rate(lambda: tmpl.render_template("email.default.html", data)),
        "email_default_html_bytes": len(html_out.encode("utf-8")),
    }


if __name__ == "__main__":
    print(main())
