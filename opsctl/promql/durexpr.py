"""Prometheus 3 duration expressions: `x[5m * 2]`, `x[30s+1s:20*500ms]`, `x offset (1h + 5m)`.

promql-parser reads only literal durations there, so `rewrite(query)` evaluates each duration
expression (numbers are seconds, durations like `1h30m` or `8000ms`; `+ - * / % ^`, parentheses, unary
minus, Prometheus's precedence) and writes the result back as a literal (`1800000ms`) before parsing.
Strings and comments are left alone; a query without such expressions is returned unchanged.

Prometheus 3.6+ also reads `step()`, 3.10+ `range()` and 3.13+ `min_of(a, b)` / `max_of(a, b)` there
(`x[step()+1ms]`, `x offset min_of(step(), 1s)`): their values are the query's (`Context`: step and
end - start in seconds, both 0 for an instant query), so such a query is rewritten per query shape. After
`offset` without parentheses only one such term is the offset (`x offset step()*2` is `(x offset step())*2`,
as in Prometheus's offset_duration_expr).
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from opsctl.promql.model import PromQLError

__all__ = ["QUERY_FUNCS", "Context", "go_seconds", "needs_context", "rewrite"]

# Functions whose value is the query's start, end, end - start or step (Prometheus's
# foldQueryContextFunctions, 3.12+): constants of a query; instant_many's per-time queries differ.
QUERY_FUNCS = frozenset({"start", "end", "range", "step"})


def go_seconds(ms: int) -> float:
    """time.Duration(ms * time.Millisecond).Seconds()."""
    sec, rem = divmod(abs(ms), 1000)
    v = float(sec) + float(rem * 1_000_000) / 1e9
    return -v if ms < 0 else v


class Context(NamedTuple):
    """What `step()` and `range()` stand for in a query's duration expressions (seconds), and the
    duration functions the target Prometheus does not read there (names, see semantics.DURATION_FUNCTIONS)."""

    step: float
    range: float
    unknown: frozenset[str] = frozenset()


_CTX_FUNC = re.compile(r"(step|range)\s*\(\s*\)", re.IGNORECASE)
_MINMAX = re.compile(r"(min_of|max_of)\s*\(", re.IGNORECASE)
_OFFSET_TERM = re.compile(r"offset(\s*)([+-]?)(\s*)(?:(step|range)\s*\(\s*\)|(min_of|max_of)\s*\(|\()",
                          re.IGNORECASE)
_MAYBE_CTX = re.compile(r"(?:step|range|min_of|max_of)\s*\(", re.IGNORECASE)


def needs_context(query: str) -> bool:
    """Whether `query` may hold step()/range()/min_of()/max_of() (whose rewrite depends on the Context)."""
    low = query.lower()
    if "step" not in low and "range" not in low and "min_of" not in low and "max_of" not in low:
        return False  # (the regex alone costs tens of microseconds on a long query)
    return _MAYBE_CTX.search(query) is not None

_DUR_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d|w|y))+")
_DUR_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r"\s*(?:-?\s*(?:[0-9]+(?:ms|s|m|h|d|w|y))+|[0-9]+(?:\.[0-9]+)?)?\s*")


def _tokens(text: str, ctx: Context | None = None) -> list[str | float]:
    out: list[str | float] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "sSrRmM":
            m = _CTX_FUNC.match(text, i)
            if m:
                fn = m.group(1).lower()
                if ctx is None or fn in ctx.unknown:
                    raise PromQLError(f"unexpected {fn}() in duration expression")
                out.append(ctx.step if fn == "step" else ctx.range)
                i = m.end()
                continue
            m = _MINMAX.match(text, i)
            if m:
                fn = m.group(1).lower()
                if ctx is not None and fn in ctx.unknown:
                    raise PromQLError(f"unexpected {fn}() in duration expression")
                out.append(fn)
                i = m.end()
                continue
        if c in "+-*/%^(),":
            out.append(c)
            i += 1
            continue
        m = _DURATION.match(text, i)
        if m:
            out.append(sum(int(a) * _DUR_UNIT[u] for a, u in _DUR_PART.findall(m.group())))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m:
            g = m.group()
            out.append(float(int(g, 16)) if g[:2].lower() == "0x" else float(g))
            i = m.end()
            continue
        raise PromQLError(f"unexpected character {c!r} in duration expression")
    return out


class _Parser:
    def __init__(self, toks: list[str | float]) -> None:
        self.toks, self.i = toks, 0

    def peek(self) -> str | float | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str | float | None:
        t = self.peek()
        self.i += 1
        return t

    def expr(self) -> float:  # + -
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            r = self.term()
            v = v + r if op == "+" else v - r
        return v

    def term(self) -> float:  # * / %
        v = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.take()
            r = self.unary()
            if op == "*":
                v *= r
            elif r == 0:
                raise PromQLError("division by zero in duration expression")
            else:
                v = v / r if op == "/" else math.fmod(v, r)
        return v

    def unary(self) -> float:
        if self.peek() in ("-", "+"):
            neg = self.take() == "-"
            v = self.unary()
            return -v if neg else v
        return self.power()

    def power(self) -> float:  # right-associative, binds tighter than unary minus
        v = self.atom()
        if self.peek() == "^":
            self.take()
            v = math.pow(v, self.unary())
        return v

    def atom(self) -> float:
        t = self.take()
        if t == "(":
            v = self.expr()
            if self.take() != ")":
                raise PromQLError("unclosed parenthesis in duration expression")
            return v
        if isinstance(t, float):
            return t
        if t in ("min_of", "max_of"):  # Go's math.Min / math.Max
            a = self.expr()
            if self.take() != ",":
                raise PromQLError(f"expected 2 arguments in {t}() in duration expression")
            b = self.expr()
            if self.take() != ")":
                raise PromQLError(f"unclosed {t}( in duration expression")
            if math.isnan(a) or math.isnan(b):
                return math.nan
            if a == b == 0:
                neg = math.copysign(1.0, a) < 0 and math.copysign(1.0, b) < 0
                pos = math.copysign(1.0, a) > 0 and math.copysign(1.0, b) > 0
                return (0.0 if not neg else -0.0) if t == "max_of" else (-0.0 if not pos else 0.0)
            return min(a, b) if t == "min_of" else max(a, b)
        raise PromQLError("unexpected token in duration expression")


def evaluate(text: str, ctx: Context | None = None) -> float:
    """The value in seconds of a duration expression."""
    p = _Parser(_tokens(text, ctx))
    v = p.expr()
    if p.peek() is not None:
        raise PromQLError("unexpected token in duration expression")
    return v


def _literal(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"-{-ms}ms" if ms < 0 else f"{ms}ms"


def _skip_string(q: str, i: int) -> int:
    quote = q[i]
    j = i + 1
    while j < len(q):
        if q[j] == "\\" and quote != "`":
            j += 2
            continue
        if q[j] == quote:
            return j + 1
        j += 1
    return j


def _closing(q: str, i: int, open_: str, close: str) -> int:
    """Index of the bracket closing q[i] (== open_), or -1."""
    depth = 0
    j = i
    while j < len(q):
        c = q[j]
        if c in "\"'`":
            j = _skip_string(q, j)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _part(text: str, ctx: Context | None) -> str:
    if _PLAIN.fullmatch(text):
        return text
    return _literal(evaluate(text, ctx))


def _term_end(q: str, m: re.Match[str]) -> int:
    """End (exclusive) of the offset term `m` matched (`step()`, `min_of(...)`, `(...)`), or -1."""
    if m.group(4):
        return m.end()
    j = _closing(q, m.end() - 1, "(", ")")
    return j + 1 if j > 0 else -1


def rewrite(query: str, ctx: Context | None = None) -> str:
    """`query` with its duration expressions as literals; `ctx`: the values of step() and range() (None:
    they stay as written, for the parser to reject)."""
    if "[" not in query and "offset" not in query.lower():
        return query
    out: list[str] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c in "\"'`":
            j = _skip_string(query, i)
            out.append(query[i:j])
            i = j
            continue
        if c == "#":
            j = query.find("\n", i)
            j = n if j < 0 else j
            out.append(query[i:j])
            i = j
            continue
        if c == "[":
            j = _closing(query, i, "[", "]")
            if j < 0:
                break
            inner = query[i + 1 : j]
            parts = inner.split(":")
            if len(parts) <= 2 and all(p.strip() or k == 1 for k, p in enumerate(parts)):
                try:
                    inner = ":".join(_part(p, ctx) if p.strip() else p for p in parts)
                except PromQLError:
                    inner = query[i + 1 : j]  # leave it to the parser's error
            out.append("[" + inner + "]")
            i = j + 1
            continue
        m = _OFFSET_TERM.match(query, i) if c in "oO" else None
        if m and (i == 0 or not (query[i - 1].isalnum() or query[i - 1] in "_:")):
            start = m.end() - 1
            if m.group(4):
                start = m.start(4)
            elif m.group(5):
                start = m.start(5)
            j = _term_end(query, m)
            if j > 0:
                try:
                    v = evaluate(query[start:j], ctx)
                except PromQLError:
                    v = None
                if v is not None:
                    lit = _literal(-v if m.group(2) == "-" else v)
                    # promql-parser refuses `offset 0ms`, which is no offset at all
                    out.append("" if lit in ("0ms", "-0ms") else "offset " + lit)
                    i = j
                    continue
        out.append(c)
        i += 1
    out.append(query[i:])
    return "".join(out)
