"""Property tests: whatever the template text or the data, the library raises nothing but TemplateError."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.gotemplate import StrMap, TemplateError, parse
from opsctl.gotemplate.alertmanager import ALERTMANAGER_FUNCS
from opsctl.gotemplate.prometheus import PROMETHEUS_FUNCS, check_rule_template, render_rule_template

FRAGMENTS = [
    "{{", "}}", "{{-", "-}}", " ", "\n", ".", "$", "$x", ":=", "=", "|", "(", ")", ",", "'a'", "\"s\"", "`r`",
    "1", "-2", "1.5e3", "0x1F", "1i", "true", "nil", "if", "else", "end", "range", "with", "define", "template",
    "block", "break", "continue", "\"t\"", ".A", ".b.c", "$.x", "printf", "\"%d %s %v %5.2f\"", "len", "index",
    "slice", "eq", "lt", "and", "or", "not", "print", "html", "js", "urlquery", "call", "humanize", "title",
    "reReplaceAll", "match", "\"(\"", "/*", "*/", "text", "é", "\t", "\\", "'", "\"",
]

template_text = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)

json_data: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=4).map(StrMap),
    max_leaves=12,
)

FUNCS = {**PROMETHEUS_FUNCS, **ALERTMANAGER_FUNCS}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_random_text_only_template_errors(text: str) -> None:
    try:
        parse(text, "t", FUNCS)
    except TemplateError:
        pass
    err = check_rule_template(text, "A")
    assert err is None or isinstance(err, TemplateError)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template_text, json_data)
def test_random_templates_and_data_only_template_errors(text: str, data: Any) -> None:
    try:
        t = parse(text, "t", FUNCS)
    except TemplateError:
        return
    try:
        out = t.execute(data)
    except TemplateError:
        return
    assert isinstance(out, str)


TEMPLATES = [
    "{{ .a }}{{ .a.b }}{{ range . }}{{ . }}{{ end }}",
    "{{ range $k, $v := . }}{{ $k }}={{ $v | printf \"%v %d %s %q %x %5.2f\" }}{{ end }}",
    "{{ index . \"a\" 0 }}{{ len . }}{{ slice . 1 }}",
    "{{ if eq . 1 }}x{{ else if lt . 2 }}{{ end }}{{ with .a }}{{ . }}{{ end }}",
    "{{ humanize . }}{{ humanizeDuration . }}{{ humanize1024 . }}{{ humanizeTimestamp . }}{{ title . }}",
    "{{ printf \"%v\" . | html | js | urlquery }}{{ print . 1 . }}{{ println . }}",
    "{{ and . .a }}{{ or .x . }}{{ not . }}{{ call . }}",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TEMPLATES), json_data)
def test_random_data_never_crashes(text: str, data: Any) -> None:
    t = parse(text, "t", FUNCS)
    try:
        assert isinstance(t.execute(data), str)
    except TemplateError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40).filter(lambda s: "{{" not in s))
def test_text_without_actions_renders_verbatim(text: str) -> None:
    assert parse(text).execute(None) == text
    assert render_rule_template(text, {}, 0.0, {}, "") == text


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), st.text(max_size=6), max_size=5),
       st.floats(allow_nan=True, allow_infinity=True))
def test_render_rule_template_never_raises(labels: dict[str, str], value: float) -> None:
    text = "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}{{ humanize $value }} {{ $value }}"
    out = render_rule_template(text, labels, value, {}, "http://x")
    assert "<error expanding template" not in out
