"""Oracles: promtool 2.42 must agree with opsctl.gotemplate.

- `promtool check rules`: the verdict AND the exact error text for every template in CHECK_CORPUS.
- `promtool test rules`: alert annotations rendered by opsctl (render_rule_template) are given to promtool
  as exp_annotations; promtool evaluates the rules itself and must report SUCCESS.
"""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsctl.gotemplate.prometheus import check_rule_template, render_rule_template
from tests.conftest import find_tool
from tests.gotemplate.corpus import CHECK_CORPUS
from tests.gotemplate.render_corpus import QUERY_CORPUS, RENDER_CORPUS

pytestmark = pytest.mark.oracle


def _promtool_check(promtool: str, tmp_path: Path, templates: dict[str, str]) -> dict[str, str]:
    """One alerting rule whose annotations are the templates; promtool reports every failing one."""
    doc = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "vector(1)", "annotations": templates}]}]}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    errors: dict[str, str] = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        m = re.match(r'.*annotation "(t\d+)": (.*)$', line)
        if m:
            errors[m.group(1)] = m.group(2)
    assert (proc.returncode == 0) == (not errors), proc.stdout + proc.stderr
    return errors


def test_check_rules_verdicts_and_messages_match_promtool(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    templates = {f"t{i}": t for i, t in enumerate(CHECK_CORPUS)}
    expected = _promtool_check(promtool, tmp_path, templates)
    assert len(expected) >= 40  # the corpus really contains invalid templates
    assert len(templates) - len(expected) >= 30  # ... and valid ones
    mismatches = []
    for key, text in templates.items():
        err = check_rule_template(text, "A")
        got = str(err) if err is not None else None
        if got != expected.get(key):
            mismatches.append((text, expected.get(key), got))
    assert mismatches == []


VALUES = [1234567.5, 0.000123, 3725.0, -42.0, 0.0, 1e21, 100000.0, 0.5]
BASE_LABELS = {"instance": "host-1.example.com:9100", "job": "node", "env": "prod"}
EXTERNAL_LABELS = {"cluster": "c1"}
EXTERNAL_URL = "http://prom.example.com:9090/prefix"


def _series_labels(vi: int) -> dict[str, str]:
    return dict(BASE_LABELS, idx=str(vi))


def _query(expr: str) -> list[Any]:
    """What promtool's engine answers at eval time 0 for the queries of QUERY_CORPUS."""
    every = [(dict(_series_labels(vi), __name__="m"), v) for vi, v in enumerate(VALUES)]
    if expr == "m":
        return every
    if expr == "count(m)":
        return [({}, float(len(VALUES)))]
    m = re.fullmatch(r'm\{idx="(\d+)"\}', expr)
    if m:
        return [every[int(m.group(1))]]
    if expr == "nothing_here":
        return []
    raise AssertionError(f"unexpected query {expr}")


def test_rendered_annotations_pass_promtool_test_rules(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    annotations = {f"t{i}": t for i, t in enumerate(RENDER_CORPUS + QUERY_CORPUS)}
    rules, tests, series = [], [], []
    for vi, value in enumerate(VALUES):
        name = f"A{vi}"
        rules.append({"alert": name, "expr": f'm{{idx="{vi}"}}', "labels": {"severity": "page"},
                      "annotations": annotations})
        labels = dict(BASE_LABELS, idx=str(vi))
        # the alert expression keeps the metric name, so $labels has __name__ as in Prometheus
        rendered = {k: render_rule_template(t, dict(labels, __name__="m"), value, EXTERNAL_LABELS, EXTERNAL_URL,
                                            _query, alert_name=name) for k, t in annotations.items()}
        tests.append({"eval_time": "0m", "alertname": name,
                      "exp_alerts": [{"exp_labels": dict(labels, severity="page"), "exp_annotations": rendered}]})
        sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
        series.append({"series": f"m{{{sel}}}", "values": f"{value!r} {value!r}"})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]},
                                                       allow_unicode=True), encoding="utf-8")
    test_doc = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "external_labels": EXTERNAL_LABELS, "external_url": EXTERNAL_URL,
                           "input_series": series, "alert_rule_test": tests}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test_doc, allow_unicode=True, width=10_000), encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", "test.yml"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, (proc.stdout + proc.stderr)[-8000:]
    # the corpus exercises error substitution too
    assert any("<error expanding template" in render_rule_template(t, BASE_LABELS, 1.0, {}, "", alert_name="A")
               for t in RENDER_CORPUS)


def _random_templates(seed: int, n: int) -> list[str]:
    """Seeded random templates: action fragments, and number-literal soup (Go's trickiest lexing)."""
    from tests.gotemplate.test_properties import FRAGMENTS

    rnd = random.Random(seed)
    out = []
    chars = "0123456789abcdefxXoObBpPeEi_.+-'\\u"
    for _ in range(n):
        k = rnd.randint(1, 12)
        if rnd.random() < 0.6:
            sep = " " if rnd.random() < 0.5 else ""
            text = "{{ " + sep.join(rnd.choice(FRAGMENTS) for _ in range(k)) + (" }}" if rnd.random() < 0.7 else "")
            if rnd.random() < 0.3:
                text += "{{ end }}"
        else:
            lit = rnd.choice(["0x", "0o", "0b", "1", "0", "-", ".", "'", "1e", "0x1p", ""])
            text = "{{ " + lit + "".join(rnd.choice(chars) for _ in range(rnd.randint(1, 7))) + " }}"
        out.append(text)
    return out


def test_random_templates_same_verdict_and_message_as_promtool(tmp_path: Path) -> None:
    """Differential fuzzing against promtool (seeded, so failures reproduce)."""
    promtool = find_tool("promtool")
    templates = {f"t{i}": t for i, t in enumerate(_random_templates(20261126, 1500))}
    expected = _promtool_check(promtool, tmp_path, templates)
    assert 50 < len(templates) - len(expected) < len(templates)  # both valid and invalid ones
    wrong = []
    for key, text in templates.items():
        err = check_rule_template(text, "A")
        if (str(err) if err is not None else None) != expected.get(key):
            wrong.append((text, expected.get(key), err))
    assert wrong == []


EXEC_FRAGMENTS = [
    "$labels", "$value", "$labels.job", ".Labels", ".Value", "$externalLabels", "$externalURL", "humanize",
    "humanizeDuration", "humanize1024", "humanizePercentage", "printf \"%v\"", "printf \"%d\"", "printf \"%s\"",
    "printf \"%.2f\"", "toUpper", "title", "index", "len", "1.5", "0", "-3", "\"job\"", "\"\"", "args", "first",
    "sortByLabel", "value", "label", "strvalue", "safeHtml", "stripPort", "graphLink", "$labels.instance", "eq",
    "ne", "ge", "lt", "and", "or", "not", "print", "println", "html", "js", "urlquery", "slice", "nil", "true",
    ".", "$", "|", "(", ")", "'a'", "0x10", "1e3", "reReplaceAll", "match", "\"(.*)\"", "\"$1\"", "call",
]


def test_random_valid_templates_render_like_promtool(tmp_path: Path) -> None:
    """Differential fuzzing of execution: random templates that parse, rendered by promtool test rules."""
    promtool = find_tool("promtool")
    rnd = random.Random(7)
    templates: list[str] = []
    while len(templates) < 800:
        text = "{{ " + " ".join(rnd.choice(EXEC_FRAGMENTS) for _ in range(rnd.randint(1, 7))) + " }}"
        if check_rule_template(text, "A") is None:
            templates.append(text)
    labels = {"instance": "host-1:9100", "job": "node"}
    annotations = {f"t{i}": t for i, t in enumerate(templates)}
    expected = {k: render_rule_template(t, dict(labels, __name__="m"), 3.5, {"c": "1"}, "http://x/y",
                                        alert_name="A") for k, t in annotations.items()}
    assert sum("<error expanding" in v for v in expected.values()) > 100  # errors are compared too
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(
        {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "m", "annotations": annotations}]}]}),
        encoding="utf-8")
    test_doc = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "external_labels": {"c": "1"}, "external_url": "http://x/y",
        "input_series": [{"series": 'm{instance="host-1:9100",job="node"}', "values": "3.5 3.5"}],
        "alert_rule_test": [{"eval_time": "0m", "alertname": "A",
                             "exp_alerts": [{"exp_labels": labels, "exp_annotations": expected}]}]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test_doc, allow_unicode=True, width=100_000), encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", "test.yml"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]


def test_a_verdict_that_depends_on_the_alert_name_is_not_shared(tmp_path: Path) -> None:
    """Verdicts are shared across alert names (the name shows only in messages) except for templates that
    define one: `{{ define "__alert_A" }}` clashes with alert A's own template only. promtool is the oracle."""
    promtool = find_tool("promtool")
    texts = ['{{ define "__alert_A" }}x{{ end }}y', '{{ block "__alert_A" . }}x{{ end }}y', "{{ $labels.job }} y",
             '{{ define "__alert_B" }}x{{ end }}y']
    doc = {"groups": [{"name": "g", "rules": [
        {"alert": name, "expr": "vector(1)", "annotations": {f"t{i}": t for i, t in enumerate(texts)}}
        for name in ("B", "A")]}]}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    expected = set(re.findall(r'"(A|B)": annotation "(t\d+)": (.*)', proc.stdout + proc.stderr))
    got = {(name, f"t{i}", str(err)) for name in ("B", "A") for i, t in enumerate(texts)
           if (err := check_rule_template(t, name)) is not None}
    assert got == expected and len(expected) == 3, (got, proc.stdout + proc.stderr)
