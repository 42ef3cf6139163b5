"""Benchmark opsctl.gotemplate: parse/check/render throughput for alert annotation templates, the
Alertmanager default notification templates, and a large template (default run: ~20 s).

``parse_speedup`` compares, on two typical annotation texts, the current implementation with the original
one (the character-by-character ReferenceLexer and the frozen parser copy in tests/gotemplate, no preamble
resume, no memoisation), measured alternately in the same process: ``*_before_per_s`` / ``*_after_per_s``.
``check_uncached`` calls check_rule_template's parse without its memo (a new text every time, as in a rule
file where every annotation differs); ``check_memoised`` repeats one text (as the many identical annotations
of a large rule file do)."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsctl.gotemplate import parse
from opsctl.gotemplate.alertmanager import AlertmanagerTemplates, Data
from opsctl.gotemplate.parser import parse_trees
from opsctl.gotemplate.prometheus import (
    DEFS,
    PROMETHEUS_FUNCS,
    _check_rule_template_cached,
    check_rule_template,
    render_rule_template,
)

TYPICAL = {
    "labels_text": "High error rate on {{ $labels.job }}/{{ $labels.instance }} (rule 17)",
    "value_pipe_text": "{{ $value | humanizePercentage }} of requests to {{ $labels.instance }} failed; "
                       "threshold 5%.",
}

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


def parse_speedup() -> dict[str, Any]:
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.gotemplate import reference_parser
    from tests.gotemplate.reference import reference_check_rule_template, reference_render_rule_template

    uncached = _check_rule_template_cached.__wrapped__
    out: dict[str, Any] = {}
    for key, text in TYPICAL.items():
        assert str(check_rule_template(text, "X")) == str(reference_check_rule_template(text, "X"))
        out.update(_compare(key, text, uncached, reference_parser.parse_trees, reference_check_rule_template,
                            reference_render_rule_template))
    return out


def _compare(key: str, text: str, uncached: Callable[[str, str], Any], ref_parse_trees: Callable[..., Any],
             ref_check: Callable[[str, str], Any], ref_render: Callable[..., str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    full = DEFS + text
    counter = itertools.count()
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "parse": (lambda: ref_parse_trees("__alert_X", full, [PROMETHEUS_FUNCS]),
                  lambda: parse_trees("__alert_X", full, [PROMETHEUS_FUNCS])),
        "check_uncached": (lambda: ref_check(text, "X"), lambda: uncached(text, "X")),
        "check_memoised": (lambda: ref_check(text, "X"), lambda: check_rule_template(text, "X")),
        "check_new_text_each_call": (lambda: ref_check(text + str(next(counter)), "X"),
                                     lambda: check_rule_template(text + str(next(counter)), "X")),
        "render": (lambda: ref_render(text, LABELS, 0.123, {}, "http://prom"),
                   lambda: render_rule_template(text, LABELS, 0.123, {}, "http://prom")),
    }
    for what, (before, after) in pairs.items():
        b = a = 0.0
        for _ in range(3):  # alternate, so that both see the same machine load; keep the best run of each
            b = max(b, _rate(before, 0.2))
            a = max(a, _rate(after, 0.2))
        out[f"{key}_{what}_before_per_s"] = round(b)
        out[f"{key}_{what}_after_per_s"] = round(a)
        out[f"{key}_{what}_speedup"] = round(a / b, 1)
    return out


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
        "check_rule_template_per_s": _rate(lambda: check_rule_template(ANNOTATION, "HighErrors")),  # memoised
        "check_rule_template_uncached_per_s": _rate(
            lambda: _check_rule_template_cached.__wrapped__(ANNOTATION, "HighErrors")),
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
        "parse_speedup": parse_speedup(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
