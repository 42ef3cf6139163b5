"""The cheap pre-tests of the loader and the syntax gate answer as the regexes they stand for."""

from __future__ import annotations

import random

import pytest

from opsctl.rules import loader, syntax_gate

SAMPLES = [
    "rate(x[5m])", "x[5m * 2]", "x[ (5m) ]", "x offset (1h + 5m)", "x OFFSET-(1h)", "x @ (start())", "x @ 100",
    'x{a="[+]"}', "x[5m] offset 1h", "[", "]", "[+", "+]", "a[b[c+d]", "a[b]c+d]", "(offset", "@(", "x @ - (1)",
    'up{job="a" or job="b"}', "x[300s]", "x[99s]", "x[1000MS]", "x'OR", "`  Or", '"orx', "offset\t(",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_samples(text: str) -> None:
    assert loader._may_have_duration_expr(text) == bool(loader._MAY_HAVE_DURATION_EXPR.search(text))
    assert syntax_gate._hint_any(text) == bool(syntax_gate._HINT_ANY.search(text))


def test_random_texts() -> None:
    alphabet = list("[](){}+-*/%^@ offsetOFFSET5m123sms\"'`orORx\n\t.:")
    r = random.Random(7)
    for _ in range(30_000):
        text = "".join(r.choice(alphabet) for _ in range(r.randint(0, 30)))
        assert loader._may_have_duration_expr(text) == bool(loader._MAY_HAVE_DURATION_EXPR.search(text)), text
        assert syntax_gate._hint_any(text) == bool(syntax_gate._HINT_ANY.search(text)), text


def test_random_texts_non_ascii() -> None:
    # the duration hint has an ASCII-only regex: other scripts' digits and U+017F (which IGNORECASE takes for
    # `s`) go to the full one
    alphabet = list("5123sSmMhH \u017f\u0661\u0662\u0663xy\"'or")
    r = random.Random(11)
    for _ in range(30_000):
        text = "".join(r.choice(alphabet) for _ in range(r.randint(0, 12)))
        assert syntax_gate._hint_any(text) == bool(syntax_gate._HINT_ANY.search(text)), text


SCREEN_SAMPLES = [
    "rate(x[5m])", "sum by (a) (x)", "limitk(2, x)", "LIMITK(2, x)", "limit_ratio(0.5, x)", "x @ 100",
    "rate(x[5m] @ end())", "x[5m:1m] @ 10", '{__name__="x"}', '{a=~".+"}', "sort_by_label(x, \"a\")",
    "histogram_count(x) > sum(y)", "info(x)", "count_values(\"v\", x @ start())", "1 + 2", '"s"',
]


@pytest.mark.parametrize("text", SCREEN_SAMPLES)
def test_screen_with_text(text: str) -> None:
    """The text only spares _screen attributes: the answer is the one from the nodes alone."""
    from opsctl.rules.promql_ast import node_list, parse

    nodes = node_list(parse(text))
    assert loader._screen(nodes, text) == loader._screen(nodes)


def test_screen_aggregations_named_limit() -> None:
    assert all("limit" in name for name in loader._GATED_AGGREGATIONS)


@pytest.mark.parametrize("utf8", [False, True])
def test_plain_names(utf8: bool) -> None:
    """plain_names is True only when every per-name check passes (it may say False when they do too)."""
    reader = loader._Reader("x.yml", "", loader.LoadOptions())
    reader.utf8_names = utf8
    alphabet = ["a", "Z", "_", "0", ":", "-", ".", "\n", "é", "\ufffd", "", "__name__", " "]
    r = random.Random(3)
    for _ in range(20_000):
        names = {"".join(r.choice(alphabet) for _ in range(r.randint(0, 3))): "" for _ in range(r.randint(1, 3))}
        exact = all(reader.valid_name(k) and k != "__name__" for k in names)
        if reader.plain_names(names):
            assert exact, names
    assert reader.plain_names({"severity": "", "team_2": "", "_x": ""})


def test_rule_fields_in_loader_order() -> None:
    """The loader builds Rule positionally, in this order."""
    from dataclasses import fields

    from opsctl.rules.model import Rule

    assert [f.name for f in fields(Rule)] == [
        "kind", "name", "expr", "file", "group", "index", "line", "column", "end_line", "for_",
        "keep_firing_for", "labels", "annotations", "field_locs", "label_locs", "annotation_locs", "has_for",
        "ast", "nodes", "disabled", "invalid"]
