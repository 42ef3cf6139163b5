"""Helpers over promql_parser's AST: children, walking with ancestors, selectors and label analysis."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import promql_parser as pp


def children(node: Any) -> list[Any]:
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    return []


def walk(node: Any, ancestors: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Yield (node, ancestors) depth-first, in source order; ancestors[-1] is the parent."""
    stack = [(node, ancestors)]
    while stack:
        current, anc = stack.pop()
        yield current, anc
        kids = children(current)
        if kids:
            inner = (*anc, current)
            stack.extend((kid, inner) for kid in reversed(kids))


def selectors(node: Any) -> Iterator[tuple[pp.VectorSelector, tuple[Any, ...]]]:
    for n, anc in walk(node):
        if isinstance(n, pp.VectorSelector):
            yield n, anc


def func_name(node: Any) -> str | None:
    return node.func.name if isinstance(node, pp.Call) else None


class Matcher(NamedTuple):
    """A label matcher as written: op is "Equal", "NotEqual", "Re" or "NotRe"."""

    name: str
    op: str
    value: str


def matchers(vs: pp.VectorSelector) -> list[Matcher]:
    """The matchers of a selector, with the regex matchers `parse()` stood in for restored."""
    out = []
    for m in vs.matchers.matchers:
        value = m.value
        original = _ORIGINALS.get(value) if value.startswith(_MARKER) else None
        out.append(Matcher(m.name, *original) if original else Matcher(m.name, op_name(m.op), value))
    return out


# -- parsing ----------------------------------------------------------------------------------------------
# promql_parser compiles every regex matcher it parses (Rust regex, ~35 us each: most of the parse time of
# a typical rule). Rule files repeat a few regexes (`code=~"5.."`) thousands of times, so parse() compiles
# each distinct regex once: a named selector's `label=~"re"` / `label!~"re"` is parsed as `label="<marker>"`
# / `label!="<marker>"` and `matchers()` gives back the regex. Unnamed selectors (where regexes decide
# whether the selector may match everything) and __name__ matchers are parsed as written; so is any
# expression whose rewritten form does not parse, so error messages are promql_parser's own.
_MARKER = f"opsctl-regex-{secrets.token_hex(8)}-"
_ORIGINALS: dict[str, tuple[str, str]] = {}  # marker -> (op, regex); one marker per distinct pair
_MARKERS: dict[tuple[str, str], str] = {}  # (op, regex) -> marker
_REGEX_VALUES: dict[str, str | None] = {}  # regex string literal as written -> its value (None: invalid regex)
_STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)"""
# Strings and comments are matched whole, so nothing inside them is taken for a selector; a selector's
# body may hold strings but no comment. Identifiers start only at a word boundary and quantifiers are
# possessive: linear time on any input.
_SELECTOR = re.compile(
    rf"""{_STRING}|\#[^\n]*+|(?<![A-Za-z0-9_:])(?P<name>[A-Za-z_:][A-Za-z0-9_:]*+)\s*+"""
    rf"""\{{(?P<body>(?:[^{{}}"'`#]++|{_STRING})*+)\}}"""
)
_REGEX_MATCHER = re.compile(
    rf"{_STRING}|(?<![A-Za-z0-9_])(?P<label>[A-Za-z_][A-Za-z0-9_]*+)\s*+(?P<op>=~|!~)\s*+(?P<literal>{_STRING})"
)
_NOT_METRIC_NAMES = {
    "and", "or", "unless", "atan2", "bool", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "start", "end", "step", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio", "inf", "nan",
}


def parse(expr: str) -> Any:
    """promql_parser.parse(expr), compiling each distinct regex matcher once per process (see above)."""
    rewritten = _without_regexes(expr) if "~" in expr else None
    if rewritten is not None:
        try:
            return pp.parse(rewritten)
        except (ValueError, RuntimeError, OverflowError):
            pass  # parse the original below: its own error, or (should the rewrite be wrong) its own AST
    return pp.parse(expr)


def _regex_value(literal: str) -> str | None:
    if literal not in _REGEX_VALUES:
        try:
            node: Any = pp.parse(f"x{{a=~{literal}}}")
            _REGEX_VALUES[literal] = node.matchers.matchers[0].value
        except (ValueError, RuntimeError, OverflowError):
            _REGEX_VALUES[literal] = None
    return _REGEX_VALUES[literal]


def _without_regexes(expr: str) -> str | None:
    """expr with the regex matchers of named selectors replaced by equality matchers on markers; None
    when there is nothing to replace or a regex is invalid (the original parse reports it)."""
    replaced = 0

    def matcher(m: re.Match[str]) -> str:
        nonlocal replaced
        op = m.group("op")
        if op is None or m.group("label") == "__name__":
            return m.group()
        value = _regex_value(m.group("literal"))
        if value is None:
            raise _InvalidRegex
        original = ("Re" if op == "=~" else "NotRe", value)
        marker = _MARKERS.get(original)
        if marker is None:
            marker = _MARKERS[original] = f"{_MARKER}{len(_ORIGINALS)}"
            _ORIGINALS[marker] = original
        replaced += 1
        return f'{m.group("label")}{"=" if op == "=~" else "!="}"{marker}"'

    def selector(m: re.Match[str]) -> str:
        name = m.group("name")
        if name is None or name.lower() in _NOT_METRIC_NAMES or "~" not in m.group("body"):
            return m.group()
        return f'{m.string[m.start():m.start("body")]}{_REGEX_MATCHER.sub(matcher, m.group("body"))}}}'

    try:
        out = _SELECTOR.sub(selector, expr)
    except _InvalidRegex:
        return None
    return out if replaced else None


class _InvalidRegex(Exception):
    pass


def op_name(op: Any) -> str:
    return str(op).split(".")[-1]


@dataclass(frozen=True)
class LabelSet:
    """The labels an expression's output series can carry.

    closed=True: exactly `names` (an aggregation `by (...)`). closed=False: whatever the input carries,
    minus `removed`, plus `names` that are known to be added.
    """

    closed: bool
    names: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()

    def may_have(self, label: str) -> bool:
        if self.closed:
            return label in self.names
        return label in self.names or label not in self.removed

    def drop(self, labels: set[str] | frozenset[str]) -> LabelSet:
        if self.closed:
            return LabelSet(True, self.names - labels)
        return LabelSet(False, self.names - labels, self.removed | labels)

    def add(self, labels: set[str] | frozenset[str]) -> LabelSet:
        if self.closed:
            return LabelSet(True, self.names | labels)
        return LabelSet(False, self.names | labels, self.removed - labels)


OPEN = LabelSet(False)
NONE = LabelSet(True)
# functions whose output drops every label, or keeps the labels of their first argument
_SCALARISH = {"scalar", "time", "pi", "vector"}


def output_labels(node: Any) -> LabelSet:
    """A conservative description of the labels the result of `node` can carry."""
    if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
        return NONE
    if isinstance(node, pp.VectorSelector):
        return OPEN
    if isinstance(node, pp.MatrixSelector):
        return output_labels(node.vector_selector)
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return output_labels(node.expr)
    if isinstance(node, pp.AggregateExpr):
        op = op_name(node.op)
        inner = output_labels(node.expr)
        mod = node.modifier
        if op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return inner
        if mod is None:
            result = NONE
        elif "By" in str(mod.type):
            result = LabelSet(True, frozenset(x for x in mod.labels if inner.may_have(x)))
        else:
            result = inner.drop(set(mod.labels))
        if op == "count_values" and isinstance(node.param, pp.StringLiteral):
            result = result.add({node.param.val})
        return result
    if isinstance(node, pp.Call):
        name = node.func.name
        if name in _SCALARISH:
            return NONE
        if name in ("absent", "absent_over_time"):
            labels: set[str] = set()
            for n, _ in walk(node):
                if isinstance(n, pp.VectorSelector):
                    labels |= {m.name for m in matchers(n) if m.op == "Equal"}
            return LabelSet(True, frozenset(labels - {"__name__"}))
        if name == "label_replace" and len(node.args) >= 2 and isinstance(node.args[1], pp.StringLiteral):
            return output_labels(node.args[0]).add({node.args[1].val})
        if name == "label_join" and len(node.args) >= 2 and isinstance(node.args[1], pp.StringLiteral):
            return output_labels(node.args[0]).add({node.args[1].val})
        if name == "histogram_quantile" and len(node.args) == 2:
            return output_labels(node.args[1]).drop({"le"})
        vec_args = [a for a in node.args if not isinstance(a, (pp.NumberLiteral, pp.StringLiteral))]
        return output_labels(vec_args[0]) if vec_args else NONE
    if isinstance(node, pp.BinaryExpr):
        lhs, rhs = output_labels(node.lhs), output_labels(node.rhs)
        op = op_name(node.op)
        bmod = node.modifier
        lhs_scalar = _is_scalar(node.lhs)
        rhs_scalar = _is_scalar(node.rhs)
        if lhs_scalar and rhs_scalar:
            return NONE
        if lhs_scalar:
            return rhs
        if rhs_scalar:
            return lhs
        if op == "or":
            return _union(lhs, rhs)
        card = str(getattr(bmod, "card", "")) if bmod is not None else ""
        matching = getattr(bmod, "matching", None) if bmod is not None else None
        if "OneToMany" in card:  # group_right: result carries the right side's labels
            extra = set(getattr(bmod, "group_labels", []) or [])
            return rhs.add(extra)
        if "ManyToOne" in card:
            extra = set(getattr(bmod, "group_labels", []) or [])
            return lhs.add(extra)
        if matching is not None and "Include" in str(getattr(matching, "type", "")) and op not in ("and", "unless"):
            return LabelSet(True, frozenset(x for x in matching.labels if lhs.may_have(x)))
        if matching is not None and "Exclude" in str(getattr(matching, "type", "")) and op not in ("and", "unless"):
            return lhs.drop(set(matching.labels))
        return lhs
    return OPEN


def _union(a: LabelSet, b: LabelSet) -> LabelSet:
    if a.closed and b.closed:
        return LabelSet(True, a.names | b.names)
    return LabelSet(False, a.names | b.names, (a.removed if not a.closed else frozenset())
                    & (b.removed if not b.closed else frozenset()))


def _is_scalar(node: Any) -> bool:
    while isinstance(node, (pp.ParenExpr, pp.UnaryExpr)):
        node = node.expr
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, pp.Call) and node.func.name in ("scalar", "time", "pi"):
        return True
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False
