"""Helpers over the promql-parser AST for the engine: durations, @ timestamps, matchers, parse errors.
Reading the tree (children, walk, matchers) is opsctl.promql_syntax, shared with the linter and slo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import promql_parser

from opsctl import promql_syntax
from opsctl.promql.model import PromQLError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_AT_RE = re.compile(r"\n {8}at: Some\(\n\s+At\(\n\s+SystemTime \{\n\s+tv_sec: (-?\d+),\n\s+tv_nsec: (\d+),")


def parse(text: str) -> Any:
    """Parse PromQL text (regexes checked with Go's rules, see opsctl.promql_syntax); errors become
    PromQLError."""
    try:
        return promql_syntax.parse(text)
    except promql_syntax.PromQLSyntaxError as exc:
        raise PromQLError(str(exc)) from None
    except ValueError as exc:
        raise PromQLError(f"parse error: {exc}") from None
    except BaseException as exc:  # the Rust extension may panic on odd input
        if type(exc).__name__ == "PanicException":
            raise PromQLError(f"parse error: {exc}") from None
        raise


def td_ms(td: timedelta | None) -> int:
    if td is None:
        return 0
    return td.days * 86_400_000 + td.seconds * 1000 + td.microseconds // 1000


def at_ms(node: Any) -> tuple[str, int | None] | None:
    """The @ modifier of a selector or subquery: ('at', ms) / ('start', None) / ('end', None) / None."""
    at = node.at
    if at is None:
        return None
    kind = at.type
    if kind == promql_parser.AtModifierType.Start:
        return ("start", None)
    if kind == promql_parser.AtModifierType.End:
        return ("end", None)
    try:
        dt = at.at
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        delta = dt - _EPOCH
        return ("at", td_ms(delta))
    except BaseException as exc:  # negative timestamps make the extension panic; read its debug output
        if type(exc).__name__ != "PanicException":
            raise
        m = _AT_RE.search(repr(node))
        if not m:
            raise PromQLError("cannot read @ modifier timestamp") from None
        sec, nsec = int(m.group(1)), int(m.group(2))
        return ("at", sec * 1000 + nsec // 1_000_000)


def matchers_of(vs: Any) -> list[list[tuple[str, str, str]]]:
    """Matchers of a vector selector as alternatives (`or` groups), each [(op, name, value)] with ops
    '=', '!=', '=~', '!~' and the metric name as an equality matcher on __name__ (promql_syntax's reading)."""
    return [[(m.symbol, m.name, m.value) for m in group] for group in promql_syntax.matcher_groups(vs)]


EXPERIMENTAL_AGGREGATIONS = frozenset({"limitk", "limit_ratio"})


def preorder(node: Any) -> Iterator[Any]:
    """The nodes of an expression, each before its operands, left to right (an aggregation's parameter
    before its expression): the order in which Prometheus's parser reports the first offending call."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, promql_parser.Call):
            stack.extend(reversed(list(n.args)))
        elif isinstance(n, promql_parser.AggregateExpr):
            stack.append(n.expr)
            if n.param is not None:
                stack.append(n.param)
        elif isinstance(n, promql_parser.BinaryExpr):
            stack.extend([n.rhs, n.lhs])
        elif isinstance(n, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
            stack.append(n.expr)
        elif isinstance(n, promql_parser.MatrixSelector):
            stack.append(n.vector_selector)


def experimental_use(node: Any) -> tuple[str, bool] | None:
    """The first experimental function (name, False) or aggregation (name, True) the expression uses:
    Prometheus 3 refuses them unless run with --enable-feature=promql-experimental-functions."""
    for n in preorder(node):
        if isinstance(n, promql_parser.Call) and getattr(n.func, "experimental", False):
            return n.func.name, False
        if isinstance(n, promql_parser.AggregateExpr):
            op = str(n.op).lower()
            if op in EXPERIMENTAL_AGGREGATIONS:
                return op, True
    return None


def experimental_error(text: str, node: Any) -> str | None:
    """Prometheus 3's parse error for an experimental function or aggregation (feature not enabled), with
    the line:column of its name in `text`; None when the expression uses none."""
    use = experimental_use(node)
    if use is None:
        return None
    name, is_agg = use
    pos = _name_position(text, name)
    where = f"{pos[0]}:{pos[1]}: " if pos else ""
    if is_agg:
        return (f"{where}parse error: {name}() is experimental and must be enabled with "
                "--enable-feature=promql-experimental-functions")
    return f'{where}parse error: function "{name}" is not enabled'


def name_position(text: str, name: str) -> tuple[int, int] | None:
    """line:column (1-based) of the first call of function `name` in `text`, outside strings and comments."""
    return _name_position(text, name)


def _name_position(text: str, name: str) -> tuple[int, int] | None:
    pat = re.compile(r"(?<![A-Za-z0-9_:])" + re.escape(name) + r"\s*\(")
    i = 0
    while i < len(text):
        c = text[i]
        if c in "\"'`":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if c != "`" and text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "#":
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        if pat.match(text, i):
            line = text.count("\n", 0, i) + 1
            col = i - (text.rfind("\n", 0, i) + 1) + 1
            return line, col
        i += 1
    return None
