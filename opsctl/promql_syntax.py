"""The PromQL syntax-tree toolkit: one way to read promql_parser's AST, as Prometheus has promql/parser/ast.go.

Every area that reads PromQL (the engine `opsctl.promql`, the linter `opsctl.rules`, the SLO evaluator
`opsctl.slo`) uses these, so they give one answer for one expression:

- `children(node)`, `walk(node)` (depth-first, source order, with ancestors), `selectors(node)`;
- `matcher_groups(vs)`: what a vector selector selects, as alternatives (one group unless the selector has
  promql-parser's `or`: `x{a="1" or a="2"}` is two groups), each group a list of `Matcher` with the metric
  name as a `__name__` equality first; a series is selected when every matcher of some group matches;
- `matchers(vs)`: every label matcher as written (all groups, without the metric name), for checks that
  look at how matchers are written;
- `metric_name(vs)`, `metric_names(node)`, `func_name(node)`, `op_name(op)`;
- `parse(expr)`: promql_parser.parse plus Prometheus's regex rules: each regex matcher is compiled by
  `opsctl.gosem` (Go RE2) and an invalid one is a parse error with Prometheus's text and position
  (`1:3: parse error: error parsing regexp: missing closing ): `^(?:()$``). With `stand_ins=True` (the
  linter) each distinct regex is compiled once per process (see below). Read a parsed selector's matchers
  with `matchers()`/`matcher_groups()` only: regex matchers may be stood in for in the tree.

The module sits beside the area packages (importing it does not load the numpy engine), like
`opsctl.gosem` and `opsctl.durations`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import promql_parser as pp

from opsctl.gosem import regexp as gosem_regexp
from opsctl.gosem.strconv import ErrSyntax, unquote_prometheus

__all__ = ["OPS", "Matcher", "PromQLSyntaxError", "children", "func_name", "is_stand_in", "matcher_groups",
           "matchers", "metric_name", "metric_names", "op_name", "parse", "regex_matchers", "selectors", "walk"]

OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


class PromQLSyntaxError(ValueError):
    """An expression Prometheus rejects; str() is Prometheus's `line:col: parse error: ...`."""


def children(node: Any) -> list[Any]:
    """The direct subexpressions of a node, in source order (parser.Children)."""
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
    """Every vector selector (also those inside range selectors), with its ancestors."""
    for n, anc in walk(node):
        if isinstance(n, pp.VectorSelector):
            yield n, anc


def func_name(node: Any) -> str | None:
    return node.func.name if isinstance(node, pp.Call) else None


def op_name(op: Any) -> str:
    """`MatchOp.Re` -> `Re`, `TokenType.SUM` style names -> their last part."""
    text = str(op)  # (promql_parser's op objects are new on each access and unhashable: key by their text)
    name = _OP_NAMES.get(text)
    if name is None:
        name = _OP_NAMES[text] = text.split(".")[-1]  # a dict hit is cheaper than split() and [-1]
    return name


_OP_NAMES: dict[str, str] = {}  # str(op) -> op_name(op); a few dozen operators at most


class Matcher(NamedTuple):
    """A label matcher as written: op is "Equal", "NotEqual", "Re" or "NotRe" (`symbol` gives `=~` etc.)."""

    name: str
    op: str
    value: str

    @property
    def symbol(self) -> str:
        return OPS[self.op]


def _matcher(m: Any) -> Matcher:
    value = m.value
    original = _ORIGINALS.get(value) if value.startswith(_MARKER) else None
    return Matcher(m.name, *original) if original else Matcher(m.name, op_name(m.op), value)


def is_stand_in(value: str) -> bool:
    """Whether a matcher value read from promql_parser's tree is a regex stand-in (parse(stand_ins=True)): the
    matcher is then a regex matcher, not the `=`/`!=` it looks like (matchers() gives it back as written)."""
    return value.startswith(_MARKER)


def matcher_groups(vs: pp.VectorSelector) -> list[list[Matcher]]:
    """What the selector selects: alternatives, each [`__name__` = name (when named), label matchers...]."""
    ms = vs.matchers
    groups = [ms.matchers] if not ms.or_matchers else ms.or_matchers
    base = [Matcher("__name__", "Equal", vs.name)] if vs.name else []
    return [base + [_matcher(m) for m in group] for group in groups]


def matchers(vs: pp.VectorSelector) -> list[Matcher]:
    """Every label matcher as written (of all `or` alternatives), without the metric name before `{`."""
    ms = vs.matchers
    if not ms.or_matchers:
        return [_matcher(m) for m in ms.matchers]
    return [_matcher(m) for group in ms.or_matchers for m in group]


_REGEX_OPS = (pp.MatchOp.Re, pp.MatchOp.NotRe)


def regex_matchers(vs: pp.VectorSelector) -> list[Matcher]:
    """The regex matchers (`=~`, `!~`) of matchers(vs), in its order, without making the others."""
    ms = vs.matchers
    out = []
    for m in [m for group in ms.or_matchers for m in group] if ms.or_matchers else ms.matchers:
        if m.op in _REGEX_OPS or is_stand_in(m.value):
            matcher = _matcher(m)
            if matcher.op in ("Re", "NotRe"):
                out.append(matcher)
    return out


def metric_name(vs: pp.VectorSelector) -> str | None:
    """The metric name a selector asks for: its name, or a `__name__="..."` matcher common to all groups."""
    if vs.name:
        return str(vs.name)
    names = {next((m.value for m in g if m.name == "__name__" and m.op == "Equal"), None)
             for g in matcher_groups(vs)}
    return names.pop() if len(names) == 1 else None


def metric_names(node: Any) -> list[str]:
    """The metric names an expression selects, in order of first appearance."""
    seen: dict[str, None] = {}
    for vs, _ in selectors(node):
        name = metric_name(vs)
        if name:
            seen.setdefault(name, None)
    return list(seen)


# -- parsing ----------------------------------------------------------------------------------------------
# promql_parser compiles every regex matcher with Rust's regex crate, whose syntax is not Go's (it rejects
# `\Q..\E`, accepts `(?<n>..)` and `a)(b`) and whose error texts are not Prometheus's. parse() therefore
# checks each regex matcher with opsctl.gosem first (Go RE2, Prometheus's anchoring and error texts).
#
# With stand_ins=True, regex matchers of named selectors are not given to promql_parser at all: compiling
# takes ~35 us each, most of the parse time of a typical rule, and rule files repeat a few regexes
# (`code=~"5.."`) thousands of times. `label=~"re"` / `label!~"re"` is parsed as `label="<marker>"` /
# `label!="<marker>"` (one marker per distinct regex) and `matchers()`/`matcher_groups()` give back the
# regex. Unnamed selectors (where regexes decide whether the selector may match everything) and __name__
# matchers are parsed as written; so is any expression whose rewritten form does not parse, so that the
# errors are promql_parser's own.
_MARKER = f"opsctl-regex-{os.urandom(8).hex()}-"  # what secrets.token_hex(8) does, without its imports
_ORIGINALS: dict[str, tuple[str, str]] = {}  # marker -> (op, regex); one marker per distinct pair
_MARKERS: dict[tuple[str, str], str] = {}  # (op, regex) -> marker
_REGEX_VALUES: dict[str, str | None] = {}  # regex string literal as written -> its value (None: bad string)
_REGEX_ERRORS: dict[str, str | None] = {}  # regex value -> Go's error text, None when valid
_STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)"""
# Strings and comments are matched whole, so nothing inside them is taken for a selector; a selector's
# body may hold strings but no comment. Identifiers start only at a word boundary and quantifiers are
# possessive: linear time on any input. (Fixed patterns of opsctl's own, so Python's re is fine here.)
_SELECTOR = re.compile(
    rf"""{_STRING}|\#[^\n]*+|(?<![A-Za-z0-9_:])(?P<name>[A-Za-z_:][A-Za-z0-9_:]*+)?\s*+"""
    rf"""\{{(?P<body>(?:[^{{}}"'`#]++|{_STRING})*+)\}}"""
)
_REGEX_MATCHER = re.compile(
    rf"{_STRING}|(?<![A-Za-z0-9_])(?P<label>[A-Za-z_][A-Za-z0-9_]*+)\s*+(?P<op>=~|!~)\s*+(?P<literal>{_STRING})"
)
# _selector_spans' parts: the characters where something other than a name or a space starts, a string, a body
_SPAN_NEXT = re.compile(r"""["'`#{]""")
_SPAN_STRING = re.compile(_STRING)
_SPAN_BODY = re.compile(rf"""\{{(?P<body>(?:[^{{}}"'`#]++|{_STRING})*+)\}}""")
_IDENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:")
_IDENT_FIRST = _IDENT_CHARS - frozenset("0123456789")


def _selector_spans(expr: str) -> list[tuple[int, str | None, int, int, int]]:
    """(start, name or None, body start, body end, end) of the selectors _SELECTOR.finditer(expr) matches (its
    matches with a body), in order, at half the cost: the engine looks only for quotes, `#` and `{`, and the
    name before a `{` is found by stepping back over spaces and an identifier, as the pattern's look-behind and
    possessive name take it (tests/rules/test_promql_parse.py holds the two to the same answers)."""
    out: list[tuple[int, str | None, int, int, int]] = []
    pos, size = 0, len(expr)
    search, ident = _SPAN_NEXT.search, _IDENT_CHARS
    while True:
        m = search(expr, pos)
        if m is None:
            return out
        i = m.start()
        c = expr[i]
        if c == "#":  # a comment, to the line's end
            end = expr.find("\n", i)
            pos = size if end < 0 else end
            continue
        if c != "{":  # a string (an unterminated quote is a character like another)
            string = _SPAN_STRING.match(expr, i)
            pos = string.end() if string is not None else i + 1
            continue
        body = _SPAN_BODY.match(expr, i)
        if body is None:
            pos = i + 1
            continue
        j = i  # where the spaces before `{` start, and k the identifier before them (both from pos on)
        while j > pos and expr[j - 1].isspace():
            j -= 1
        k = j
        while k > pos and expr[k - 1] in ident:
            k -= 1
        name = None
        if k < j and expr[k] in _IDENT_FIRST and (k == 0 or expr[k - 1] not in ident):
            start, name = k, expr[k:j]
        elif j < i:  # spaces: the match starts at the first of them not right after an identifier character
            start = j if j == 0 or expr[j - 1] not in ident else j + 1
        elif i == 0 or expr[i - 1] not in ident:
            start = i
        else:  # `5{`: no match at this `{` (the look-behind fails)
            pos = i + 1
            continue
        out.append((start, name, body.start("body"), body.end("body"), body.end()))
        pos = body.end()
_NOT_METRIC_NAMES = {
    "and", "or", "unless", "atan2", "bool", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "start", "end", "step", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio", "inf", "nan",
}


def parse(expr: str, *, stand_ins: bool = False) -> Any:
    """promql_parser.parse(expr) with Go's regex rules; PromQLSyntaxError for a regex Go rejects, else
    promql_parser's own errors (ValueError and friends)."""
    rewritten, unchecked = _rewrite(expr) if stand_ins and "~" in expr else (None, True)
    if rewritten is not None:
        try:
            node = pp.parse(rewritten)
        except (ValueError, RuntimeError, OverflowError):
            pass  # parse the original below: its own error, or (should the rewrite be wrong) its own AST
        else:
            if unchecked:  # regexes left as written (unnamed selectors, __name__): Go's verdict too
                _check_regexes(expr)
            return node
    try:
        node = pp.parse(expr)
    except (ValueError, RuntimeError, OverflowError):
        if "~" not in expr:
            raise
        _check_regexes(expr)  # a regex Go rejects: Prometheus's text rather than the Rust crate's
        # Every regex is valid Go: one the Rust crate rejects (`\Q.\E`) in a named selector is stood in for.
        rewritten = None if stand_ins else _without_regexes(expr)
        if rewritten is None:
            raise
        try:
            return pp.parse(rewritten)
        except (ValueError, RuntimeError, OverflowError):
            pass
        raise
    if "~" in expr:
        _check_regexes(expr)
    return node


def _regex_value(literal: str) -> str | None:
    if literal in _REGEX_VALUES:
        return _REGEX_VALUES[literal]
    value: str | None
    try:
        value = unquote_prometheus(literal)
    except ErrSyntax:
        value = None
    _REGEX_VALUES[literal] = value
    return value


def _regex_error(value: str) -> str | None:
    if value not in _REGEX_ERRORS:
        try:
            gosem_regexp.compile_prometheus(value)
            _REGEX_ERRORS[value] = None
        except gosem_regexp.RegexpError as exc:
            _REGEX_ERRORS[value] = str(exc)
    return _REGEX_ERRORS[value]


def _where(expr: str, pos: int) -> str:
    """Prometheus's `line:col` of a position (columns count bytes, as Go's do)."""
    line = expr.count("\n", 0, pos) + 1
    start = expr.rfind("\n", 0, pos) + 1
    col = len(expr[start:pos].encode("utf-8", "surrogatepass")) + 1
    return f"{line}:{col}"


def _check_regexes(expr: str) -> None:
    """Raise PromQLSyntaxError for the first regex matcher Go (as Prometheus uses it) rejects."""
    for _, _, offset, body_end, _ in _selector_spans(expr):
        body = expr[offset:body_end]
        if "~" not in body:
            continue
        for m in _REGEX_MATCHER.finditer(body):
            if m.group("op") is None:
                continue
            value = _regex_value(m.group("literal"))
            if value is None:
                continue  # a bad string literal: promql_parser says so
            error = _regex_error(value)
            if error is not None:
                raise PromQLSyntaxError(f"{_where(expr, offset + m.start('label'))}: parse error: {error}")


def _without_regexes(expr: str) -> str | None:
    """expr with the regex matchers of named selectors replaced by equality matchers on markers; None
    when there is nothing to replace or a regex is invalid (the original parse reports it)."""
    return _rewrite(expr)[0]


def _rewrite(expr: str) -> tuple[str | None, bool]:
    """(_without_regexes(expr), whether some regex matcher was left as written and is not checked yet)."""
    replaced = 0
    unchecked = False

    def matcher(m: re.Match[str]) -> str:
        nonlocal replaced, unchecked
        op = m.group("op")
        if op is None:
            return m.group()
        if m.group("label") == "__name__":
            unchecked = True
            return m.group()
        value = _regex_value(m.group("literal"))
        if value is None or _regex_error(value) is not None:
            raise _InvalidRegex
        original = ("Re" if op == "=~" else "NotRe", value)
        marker = _MARKERS.get(original)
        if marker is None:
            marker = _MARKERS[original] = f"{_MARKER}{len(_ORIGINALS)}"
            _ORIGINALS[marker] = original
        replaced += 1
        return f'{m.group("label")}{"=" if op == "=~" else "!="}"{marker}"'

    # the text, with the regex matchers in the bodies of named selectors replaced (what _SELECTOR.sub did)
    pieces: list[str] = []
    done = 0
    try:
        for _, name, body_start, body_end, _ in _selector_spans(expr):
            body = expr[body_start:body_end]
            if "~" not in body:
                continue
            if name is None or name.lower() in _NOT_METRIC_NAMES:
                unchecked = True
                continue
            pieces += (expr[done:body_start], _REGEX_MATCHER.sub(matcher, body))
            done = body_end
    except _InvalidRegex:
        return None, True
    return ("".join(pieces) + expr[done:] if replaced else None), unchecked


class _InvalidRegex(Exception):
    pass
