"""Helpers over the promql-parser AST for the engine: durations, @ timestamps, matchers, parse errors.
Reading the tree (children, walk, matchers) is opsctl.promql_syntax, shared with the linter and slo."""

from __future__ import annotations

import re
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
