"""Differential tests: the fast lexer/parser paths (opsctl.gotemplate.lexer.Lexer, the simple-action and
constant-prefix paths of the parser, the memoised check_rule_template) against the original implementation
(ReferenceLexer + the frozen reference_parser): same tokens, same parse trees (node types, positions, lines
and all fields), same errors (text, line, column, message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.alertmanager import ALERTMANAGER_FUNCS
from opsctl.gotemplate.lexer import Lexer, ReferenceLexer
from opsctl.gotemplate.nodes import Node
from opsctl.gotemplate.parser import parse_trees
from opsctl.gotemplate.prometheus import DEFS, PROMETHEUS_FUNCS, check_rule_template, render_rule_template

from . import reference_parser
from .reference import reference_check_rule_template, reference_render_rule_template

FUNCS = {**PROMETHEUS_FUNCS, **ALERTMANAGER_FUNCS}

FRAGMENTS = [
    "{{", "}}", "{{- ", " -}}", "{{-", "-}}", " ", "  ", "\n", "\t", "\r", ".", "$", "$x", "$labels", "$value",
    ":=", "=", "|", " | ", "(", ")", ",", "'a'", "'\\n'", "'", "\"s\"", "\"a\\\"b\"", "\"\\x41\\u00e9\"",
    "\"bad\\q\"", "\"", "`r`", "`a\nb`", "`", "1", "-2", "+3", "1.5", "1.5e3", "0x1F", "0o7", "0b1", "1_000",
    "1i", "1+2i", "07", "0.", ".5", "5.", "true", "false", "nil", "if", "else", "end", "range", "with",
    "define", "template", "block", "break", "continue", "\"t\"", ".A", ".b.c", ".Labels", ".Labels.job",
    "$.x", "$labels.job", "$labels.instance", "printf", "\"%d %s\"", "len", "index", "eq", "and", "not",
    "humanize", "humanizePercentage", "title", "toUpper", "nosuchfunc", "/*", "*/", "/* c */", "text",
    "High error rate on ", " failed; threshold 5%.", "é", "ü", "٣", "日本", "_a", "a_1", "}", "{", ":", "-",
    "\\", "x", "0",
]

fragment_text = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)
# texts built around whole actions, so that most parse and the fast paths are exercised
ACTIONS = [
    "{{ $labels.job }}", "{{$labels.instance}}", "{{ $value | humanizePercentage }}", "{{ humanize $value }}",
    "{{ printf \"%.2f\" $value }}", "{{ .Labels.job }}", "{{ $labels.job | toUpper | title }}", "{{ . }}",
    "{{ $x := $value }}", "{{ $x }}", "{{ if gt $value 5.0 }}", "{{ else }}", "{{ end }}",
    "{{ range $k, $v := $labels }}", "{{ $k }}={{ $v }}", "{{ with $labels.job }}{{ . }}{{ end }}",
    "{{- $labels.job -}}", "{{ $labels.job}}", "{{$labels.job }}", "{{ $undefined }}", "{{ nosuch $value }}",
    "{{ $value | \"x\" }}", "{{ \"a\" | printf }}", "{{ \"a\".b }}", "{{ $labels.a.b.c }}", "{{ index $labels \"a\" }}",
    "{{ (humanize $value) }}", "{{ $value|humanize }}", "{{ $value |humanize}}", "{{ $labels.job | }}",
    "{{ .A.B | printf \"%s\" | title }}", "{{ define \"x\" }}d{{ end }}", "{{ template \"x\" . }}",
    "{{/* c */}}", "{{ humanize.x }}", "{{ `raw` }}", "{{ \"bad\\q\" }}", "{{ $labels.job }",
]
action_text = st.lists(st.sampled_from(ACTIONS) | st.sampled_from(FRAGMENTS), max_size=12).map("".join)
any_text = fragment_text | action_text | st.text(max_size=40)


def dump(x: Any) -> Any:
    """Everything about a parse (sub)tree: node classes, positions, lines and every field."""
    if isinstance(x, list):
        return [dump(v) for v in x]
    if isinstance(x, Node):
        return (type(x).__name__, {k: dump(v) for k, v in sorted(vars(x).items())})
    return x


def outcome(parse: Any, name: str, text: str, funcs: dict[str, Any]) -> Any:
    try:
        trees = parse(name, text, [funcs])
    except TemplateError as err:
        return ("error", err.text, err.name, err.line, err.column, err.message)
    except RecursionError:
        return ("recursion",)
    # the parser's look-ahead buffer too: the fast paths must leave it as the original code does
    return {k: (t.name, t.parse_name, dump(t.root), list(t.token), t.peek_count) for k, t in trees.items()}


def assert_same(text: str, funcs: dict[str, Any] = FUNCS) -> None:
    for bo, co in ((True, True), (False, True), (True, False)):
        assert Lexer("t", text, break_ok=bo, continue_ok=co).run() == \
            ReferenceLexer("t", text, break_ok=bo, continue_ok=co).run(), text
    assert outcome(parse_trees, "t", text, funcs) == outcome(reference_parser.parse_trees, "t", text, funcs), text
    assert outcome(parse_trees, "__alert_A", DEFS + text, PROMETHEUS_FUNCS) == \
        outcome(reference_parser.parse_trees, "__alert_A", DEFS + text, PROMETHEUS_FUNCS), text
    err, ref = check_rule_template(text, "A"), reference_check_rule_template(text, "A")
    if ref is None:
        assert err is None, text
    else:
        assert err is not None, text
        assert (err.text, err.name, err.line, err.column, err.message) == \
            (ref.text, ref.name, ref.line, ref.column, ref.message), text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_fast_paths_match_reference(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text, st.sampled_from([("{{", "}}"), ("[[", "]]"), ("{", "}"), ("<%", "%>")]))
def test_custom_delimiters_match_reference(text: str, delims: tuple[str, str]) -> None:
    left, right = delims
    text = text.replace("{{", left).replace("}}", right)
    assert Lexer("t", text, left, right).run() == ReferenceLexer("t", text, left, right).run()
    new = outcome(lambda n, t, f: parse_trees(n, t, f, left, right), "t", text, FUNCS)
    old = outcome(lambda n, t, f: reference_parser.parse_trees(n, t, f, left, right), "t", text, FUNCS)
    assert new == old, text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action_text, st.floats(allow_nan=True, allow_infinity=True))
def test_render_matches_reference(text: str, value: float) -> None:
    labels = {"job": "api", "instance": "h:1", "a": "x"}
    assert render_rule_template(text, labels, value, {"c": "1"}, "http://p") == \
        reference_render_rule_template(text, labels, value, {"c": "1"}, "http://p"), text


TYPICAL = [
    "High error rate on {{ $labels.job }}/{{ $labels.instance }} (rule 17)",
    "{{ $value | humanizePercentage }} of requests to {{ $labels.instance }} failed; threshold 5%.",
    "", "no action", "{{", "}}", "{{ $labels.job", "{{ end }}", "{{ define \"__alert_A\" }}x{{ end }}",
    "{{ $labels.job }}\n{{ $nope }}", "é{{ $labels.é }}", "日本{{ nosuch }}", "{{- $labels.job -}}",
    "{{ $labels := 1 }}{{ $labels }}", "{{ break }}", "{{ range $labels }}{{ break }}{{ end }}",
    "{{ $value | printf \"%.2f\" | title }}", "{{ humanize.x }}", "{{ $labels.job.x.y }}",
    "{{ \"a\" | printf }}", "{{ $value | \"a\" }}", "{{ .Labels.job }}{{ . }}", "{{$x := 1}}{{$x | title}}",
    "{{ if 1 }}" * 400, "{{ (" * 120 + "1" + ") }}" * 120,
]


@pytest.mark.parametrize("text", TYPICAL)
def test_typical_texts_match_reference(text: str) -> None:
    assert_same(text)


def test_check_is_memoised_but_returns_fresh_errors() -> None:
    a = check_rule_template("{{ nosuch }}", "A")
    b = check_rule_template("{{ nosuch }}", "A")
    assert a is not None and b is not None and a is not b
    assert str(a) == str(b) == 'template: __alert_A:1: function "nosuch" not defined'
    a.column = 99
    c = check_rule_template("{{ nosuch }}", "A")
    assert c is not None and c.column == 4
    # the verdict depends on the name: a {{define}} of the template's own name is a redefinition
    assert check_rule_template('{{ define "__alert_B" }}x{{ end }}', "A") is None
    assert check_rule_template('{{ define "__alert_B" }}x{{ end }}', "B") is not None


def test_prefix_parse_returns_independent_nodes() -> None:
    t1 = parse_trees("x", DEFS + "a", [PROMETHEUS_FUNCS])["x"]
    t2 = parse_trees("x", DEFS + "a", [PROMETHEUS_FUNCS])["x"]
    assert t1.root is not None and t2.root is not None
    assert dump(t1.root) == dump(t2.root)
    assert t1.root.nodes[0] is not t2.root.nodes[0]
    assert t1.root.nodes[0].pipe is not t2.root.nodes[0].pipe  # type: ignore[attr-defined]


def _corpus() -> list[str]:
    from .am_corpus import AM_TEXTS
    from .corpus import CHECK_CORPUS
    from .go_cases import GO_CASES
    from .render_corpus import QUERY_CORPUS, RENDER_CORPUS

    data = Path(__file__).resolve().parents[2] / "opsctl" / "gotemplate" / "data"
    files = [p.read_text(encoding="utf-8") for p in sorted(data.glob("*.tmpl"))]
    return [*CHECK_CORPUS, *(c[0] for c in GO_CASES), *AM_TEXTS, *RENDER_CORPUS, *QUERY_CORPUS, *files]


def test_all_corpora_match_reference() -> None:
    """Every template text of the other gotemplate tests (and Alertmanager's default templates)."""
    texts = _corpus()
    assert len(texts) > 200
    for text in texts:
        assert_same(text)


# pieces of the templates check_rule_template accepts without parsing (prometheus._PLAINLY_VALID), and near
# misses that must not be accepted that way
PLAIN_PIECES = [
    "{{ $labels.instance }}", "{{$labels.job}}", "{{ $value }}", "{{ $value | humanizePercentage }}",
    "{{ humanize $value }}", "{{ printf \"%.2f\" $value }}", "{{ .Labels.job }}", "{{ $externalURL }}",
    "{{ index $labels \"a\" }}", "{{ $value | humanize | printf \"%s\" }}", "{{ .Value }}", "{{ $labels }}",
    "{{ printf \"%d\" -3 }}", "{{ printf \"%v\" 1.5 }}", "{{ toUpper $labels.a | title }}",
    "High error rate on ", " (", ")", "%", "}}", "}", "{", "\n", " ", "x",
    "{{ $labels.a.b }}", "{{ $foo }}", "{{ nosuch $value }}", "{{ $value | $labels.a }}", "{{- $value }}",
    "{{ $value -}}", "{{/* c */}}", "{{ \"a\\\"b\" }}", "{{ printf \"%d\" 08 }}", "{{ printf \"%d\" 1. }}",
    "{{ if $value }}", "{{ end }}", "{{ $labels.a\t}}", "{{ humanize.x }}", "{{ $value.x }}", "{{ ( $value ) }}",
    "{{ true }}", "{{ nil }}", "{{ $labels.é }}", "{{ $labels.a\n}}", "{{ printf \"}}\" }}", "{{ \"{{\" }}",
]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PLAIN_PIECES), max_size=10).map("".join))
def test_plain_templates_skip_the_parser_only_when_the_parser_accepts_them(text: str) -> None:
    from opsctl.gotemplate.prometheus import _PLAINLY_VALID

    if _PLAINLY_VALID.fullmatch(text):
        assert reference_check_rule_template(text, "A") is None, text
    assert_same(text)


def test_plain_template_path_covers_common_annotations() -> None:
    from opsctl.gotemplate.prometheus import _PLAINLY_VALID

    for text in ["Errors on {{ $labels.instance }} ({{ $labels.job }})",
                 "{{ $value | humanizePercentage }} of requests failed", "p99 is {{ humanizeDuration $value }}"]:
        assert _PLAINLY_VALID.fullmatch(text), text
    for text in ["{{ $foo }}", "{{- $value }}", "{{{ $value }}", "{{ nosuch $value }}", "{{ $value | $labels.a }}"]:
        assert not _PLAINLY_VALID.fullmatch(text), text
