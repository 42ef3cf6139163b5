"""opsctl.rules.promql_ast.parse (regex matchers compiled once per distinct regex) against plain
promql_parser.parse: same verdict, same error text, and the same expression once `matchers()` restores the
regex matchers it stood in for; except that regexes are Go's (opsctl.gosem), so a regex Go rejects is
Prometheus's error and one only the Rust crate rejects parses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql_parser as pp
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.promql_syntax import _without_regexes
from opsctl.rules.promql_ast import Matcher, matchers, op_name, parse, walk
from tests.conftest import ROOT


def dump(ast: Any, restored: bool) -> list[tuple[Any, ...]]:
    """Everything about an AST except printed subtrees (those would show the stand-in matchers)."""
    out: list[tuple[Any, ...]] = []
    for node, anc in walk(ast):
        kind = type(node).__name__
        if isinstance(node, pp.VectorSelector):
            written = node.matchers.matchers or [m for g in node.matchers.or_matchers for m in g]
            ms = matchers(node) if restored else [Matcher(m.name, op_name(m.op), m.value) for m in written]
            out.append((len(anc), kind, node.name, tuple(ms), str(node.offset), str(node.at)))
        elif isinstance(node, pp.Call):
            out.append((len(anc), kind, node.func.name))
        elif isinstance(node, (pp.BinaryExpr, pp.AggregateExpr)):
            out.append((len(anc), kind, str(node.op), str(node.modifier)))
        elif isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
            out.append((len(anc), kind, repr(node.val)))
        elif isinstance(node, pp.MatrixSelector):
            out.append((len(anc), kind, str(node.range)))
        elif isinstance(node, pp.SubqueryExpr):
            out.append((len(anc), kind, str(node.range), str(node.step), str(node.offset)))
        else:
            out.append((len(anc), kind))
    return out


def outcome(fn: Any, expr: str, restored: bool) -> tuple[str, Any]:
    try:
        ast = fn(expr)
    except (ValueError, RuntimeError, OverflowError) as exc:
        return "error", str(exc)
    return "ok", dump(ast, restored)


def assert_same(expr: str) -> None:
    ours, theirs = outcome(parse, expr, True), outcome(pp.parse, expr, False)
    if ours[0] == "error" and "error parsing regexp" in ours[1]:
        return  # Go's verdict on a regex, not the Rust crate's: checked against promtool in test_go_regex_oracle.py
    if theirs[0] == "error" and "regex" in theirs[1] and ours[0] == "ok":
        return  # a regex Go accepts and the Rust crate rejects (`\\Q.\\E`)
    assert ours == theirs, expr


PIECES = [
    "foo", "http_requests_total", "job:req:rate5m", "{", "}", "[5m]", "(", ")", ",", " ", "\n", "# c\n",
    'code=~"5.."', 'code!~"5.."', 'job=~"a|b"', 'job=~".*"', 'job!~".*"', 'x=~""', 'x=~"("', "x=~'y'",
    "x=~`a|b`", 'x=~"\\\\d+"', 'x=~"a\\"b"', 'x=~"=~"', 'x="=~"', 'x!="y"', 'x="y"', '__name__=~"foo.*"',
    '"quoted"=~"q"', "x =~ \"spaced\"", "x=~ # c\n\"commented\"", " or ", "sum", "by (job)", "rate", " > ",
    " bool ", " and ", "offset 5m", "@ 100", "1", "0.5", '"str"', "label_replace", "absent", "without",
    "=~", "!~", '"', "'", "`", "{x=~\"y\"}", "x=~\"y\", z!~\"w\"", "unless", "on(job)", "group_left",
]
soup = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)
TEMPLATES = [
    "{m}{{{a}}}", "rate({m}{{{a}}}[5m])", "sum by (job) (rate({m}{{{a}}}[5m])) / 2",
    "{m}{{{a}, {b}}} > bool {m}", "absent({m}{{{a}}})", "{m}{{{a}}} and on(job) {m}{{{b}}}",
    "label_replace({m}{{{a}}}, \"x\", \"$1\", \"y\", \"(.*)\")", "{{{a}}}", "{m} > bool {{{a}}}",
    "{m}{{{a} or {b}}}", "count_values(\"v\", {m}{{{a}}})", "{m}{{{a}}} # {b}\n",
]
MATCHERS = [p for p in PIECES if "=" in p] + ["le=~\"0.5|1\"", 'a=~"[a-z]+"', 'a!~"(x|y)"', 'a=~"x{2}"']
structured = st.builds(lambda t, m, a, b: t.format(m=m, a=a, b=b), st.sampled_from(TEMPLATES),
                       st.sampled_from(["foo", "up", "sum", "bool", "rate", "inf", "x_bucket"]),
                       st.sampled_from(MATCHERS), st.sampled_from(MATCHERS))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structured | soup | st.text(max_size=40))
def test_same_as_promql_parser(expr: str) -> None:
    assert_same(expr)


def test_regex_matchers_of_named_selectors_are_stood_in_for() -> None:
    expr = 'sum(rate(http_requests_total{code=~"5..", job!~"a|b", env="prod"}[5m]))'
    assert _without_regexes(expr) is not None
    assert_same(expr)
    selector = next(n for n, _ in walk(parse(expr)) if isinstance(n, pp.VectorSelector))
    assert [m for m in matchers(selector) if m.name != "__name__"] == [
        Matcher("code", "Re", "5.."), Matcher("job", "NotRe", "a|b"), Matcher("env", "Equal", "prod")]
    for kept in ['{code=~"5.."}', 'up > bool {code=~".*"}', 'up{__name__=~"u.*"}', 'up{code=~"("}',
                 'up{code=~ # c\n "5.."}', 'up{"code"=~"5.."}']:
        assert _without_regexes(kept) is None, kept
        assert_same(kept)


def test_every_shipped_and_fixture_expression() -> None:
    exprs: set[str] = set()
    for path in [*ROOT.joinpath("rulesets").rglob("*.yml"), *ROOT.joinpath("tests").rglob("*.yml"),
                 *ROOT.joinpath("examples").rglob("*.yml")]:
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except Exception:  # invalid fixtures are expected; PyYAML fails in several ways
            continue
        groups = doc.get("groups") if isinstance(doc, dict) else None
        for group in groups if isinstance(groups, list) else []:
            rules = group.get("rules") if isinstance(group, dict) else None
            for rule in rules if isinstance(rules, list) else []:
                if isinstance(rule, dict) and isinstance(rule.get("expr"), str):
                    exprs.add(rule["expr"])
    assert len(exprs) > 100
    assert sum(1 for e in exprs if _without_regexes(e) is not None) >= 5
    for expr in sorted(exprs):
        assert_same(expr)



def _versioned_calls() -> st.SearchStrategy[str]:
    from opsctl.rules.versions import AGGREGATION_SINCE, FUNCTION_REMOVED, FUNCTION_SINCE

    names = sorted({*FUNCTION_SINCE, *FUNCTION_REMOVED, *AGGREGATION_SINCE, "rate", "sum", "topk", "abs"})
    shapes = ["{f}(x[5m])", "{f}(up)", "{f}(2, up)", "{f}(up, \"a\")", "{f}(x[5m], 0.5, 0.5)", "{f} by (a) (up)",
              "up{{a=\"{f}\"}}", "{f}_total", "sum({f}(up)) / {f}"]
    name = st.sampled_from(names).flatmap(lambda n: st.sampled_from([n, n.upper(), n.capitalize()]))
    call = st.builds(lambda shape, f: shape.format(f=f), st.sampled_from(shapes), name)
    return st.lists(call | structured, min_size=1, max_size=3).map(" + ".join)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_versioned_calls())
def test_function_problem_text_gate_changes_nothing(expr: str) -> None:
    from opsctl.rules.versions import PromVersion, function_problem

    try:
        nodes = list(walk(parse(expr)))
    except (ValueError, RuntimeError, OverflowError):
        return
    for version in (PromVersion(2, 37), PromVersion(2, 42), PromVersion(2, 51), PromVersion(3, 0)):
        assert list(function_problem(nodes, version, expr)) == list(function_problem(nodes, version)), expr


def _recursive_walk(node: Any, anc: tuple[Any, ...] = ()) -> Any:
    from opsctl.rules.promql_ast import children

    yield node, anc
    for child in children(node):
        yield from _recursive_walk(child, (*anc, node))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_versioned_calls())
def test_walk_is_a_depth_first_walk_in_source_order(expr: str) -> None:
    try:
        ast = parse(expr)
    except (ValueError, RuntimeError, OverflowError):
        return

    def shape(pairs: Any) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(type(n).__name__, str(n), tuple(type(a).__name__ for a in anc)) for n, anc in pairs]

    assert shape(walk(ast)) == shape(_recursive_walk(ast)), expr


@given(st.lists(st.tuples(st.sampled_from(["job", "__name__", "le"]), st.sampled_from(["=", "!=", "=~", "!~"]),
                          st.sampled_from(["", "a", "a.*", "x|y", "5..", ".*"])), min_size=1, max_size=4),
       st.sampled_from(["up", ""]), st.booleans())
def test_regex_matchers_are_the_regex_ones_of_matchers(ms: list[tuple[str, str, str]], name: str, alt: bool) -> None:
    """regex_matchers() gives what matchers() gives, less the `=`/`!=` ones, with and without stand-ins."""
    import promql_parser as pp

    from opsctl.promql_syntax import matchers, parse, regex_matchers

    body = (" or " if alt else ", ").join(f'{label}{op}"{value}"' for label, op, value in ms)
    expr = f"{name}{{{body}}}"
    for stand_ins in (True, False):
        try:
            node = parse(expr, stand_ins=stand_ins)
        except (ValueError, RuntimeError, OverflowError):
            return
        if not isinstance(node, pp.VectorSelector):
            return
        assert regex_matchers(node) == [m for m in matchers(node) if m.op in ("Re", "NotRe")], expr


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*'ab_:5 {}"\'`#\n\t=~x,()\\', "\u00a0", "\x1c", "foo", " {", '{a=~"x"}', "# c\n",
                                 "5m", "{}"]), max_size=25))
def test_selector_spans_are_the_selector_pattern_matches(parts: list[str]) -> None:
    """promql_syntax._selector_spans() finds what its specification, the _SELECTOR pattern, finds."""
    from opsctl.promql_syntax import _SELECTOR, _selector_spans

    text = "".join(parts)
    expected = [(m.start(), m.group("name"), m.start("body"), m.end("body"), m.end())
                for m in _SELECTOR.finditer(text) if m.group("body") is not None]
    assert _selector_spans(text) == expected, text
