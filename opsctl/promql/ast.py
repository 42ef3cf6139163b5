"""Helpers over the promql-parser AST: durations, @ timestamps, matchers, parse errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import promql_parser

from opsctl.promql.model import PromQLError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_AT_RE = re.compile(r"\n {8}at: Some\(\n\s+At\(\n\s+SystemTime \{\n\s+tv_sec: (-?\d+),\n\s+tv_nsec: (\d+),")


def parse(text: str) -> Any:
    """Parse PromQL text; parse errors become PromQLError."""
    try:
        return promql_parser.parse(text)
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
    """Matchers of a vector selector as alternatives (`or` groups), each [(op, name, value)].

    ops: '=', '!=', '=~', '!~'. The metric name becomes an equality matcher on __name__.
    """
    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    base: list[tuple[str, str, str]] = []
    if vs.name:
        base.append(("=", "__name__", vs.name))
    ms = vs.matchers
    groups = [list(ms.matchers)] if not ms.or_matchers else [list(g) for g in ms.or_matchers]
    out = []
    for g in groups:
        out.append(base + [(ops[_op_name(m.op)], m.name, m.value) for m in g])
    return out


def _op_name(op: object) -> str:
    text = str(op)
    return text.rsplit(".", 1)[-1]


def go_regex(rx: str) -> str:
    """Translate RE2 syntax Python's re rejects: flag groups `(?i)` in mid-pattern apply to the rest
    of the enclosing group in RE2; rewrite them as scoped `(?i:...)` groups."""
    out: list[str] = []
    closers: list[int] = []  # per open group: how many extra ')' to emit at its end
    i = 0
    n = len(rx)
    in_class = False
    extra_top = 0
    while i < n:
        c = rx[i]
        if c == "\\" and i + 1 < n:
            out.append(rx[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and rx[i] == "^":
                out.append("^")
                i += 1
            if i < n and rx[i] == "]":
                out.append("]")
                i += 1
            continue
        if c == "(":
            m = re.match(r"\(\?([imsU-]+)\)", rx[i:])
            if m:
                flags = m.group(1).replace("U", "")
                if flags and flags != "-":
                    out.append("(?" + flags + ":")
                    if closers:
                        closers[-1] += 1
                    else:
                        extra_top += 1
                i += len(m.group(0))
                continue
            closers.append(0)
            out.append(c)
            i += 1
            continue
        if c == ")":
            if closers:
                out.append(")" * closers.pop())
            out.append(c)
            i += 1
            continue
        if c == "|" and closers and closers[-1]:
            # An alternation ends the scope of the flags within the current branch.
            out.append(")" * closers[-1])
            closers[-1] = 0
        elif c == "|" and not closers and extra_top:
            out.append(")" * extra_top)
            extra_top = 0
        out.append(c)
        i += 1
    out.append(")" * extra_top)
    return "".join(out)
