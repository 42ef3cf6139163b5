"""PromQL syntax of Prometheus releases after 3.10 that promql-parser (the parser `rules validate` checks
expressions with) cannot read, made readable for validation.

- `</` and `>/` (3.11, #17904): trim observations from native histograms. Binary operators at the
  precedence of comparisons that type-check like arithmetic (no `bool`, scalars on both sides allowed):
  read as `+`, which accepts and rejects the same operand types. `+` binds tighter, which changes the shape
  of the tree, not whether it is accepted.
- `anchored` and `smoothed` (3.7 behind `--enable-feature=promql-extended-range-selectors`; always on
  from 3.16, #19697): modifiers of a vector or range selector, read as blanks. The parser's own errors
  (`anchored modifier is not supported for subqueries`, `... not implemented` after anything but a
  selector, `anchored and smoothed modifiers cannot be used together`) are reported as promtool words them.

The rewrite keeps every other character where it was, so positions in later error messages still hold.
It is for checking only: the PromQL engine reads the modifiers its own way (opsctl.promql.extended, which
uses the scanning here) and does not evaluate the trim operators (a parse error), so `rules test` and
`rules backtest` never evaluate the rewritten text.
"""

from __future__ import annotations

import re
from typing import Protocol

__all__ = ["EXTENDED_RANGE_SELECTORS", "readable"]

EXTENDED_RANGE_SELECTORS = "promql-extended-range-selectors"

# strings (possibly unterminated) and comments, which the rewrite leaves alone
_SKIP = re.compile(r""""(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?|#[^\n]*""", re.S)
_TOKEN = re.compile(r"[<>]/|(?<![A-Za-z0-9_:.])(?:anchored|smoothed)(?![A-Za-z0-9_:])", re.IGNORECASE)
# words after which `anchored` is a metric name, not a modifier
_OPERATOR_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
                   "group_right", "atan2"}
_WORD_BEFORE = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*|[0-9][A-Za-z0-9.]*)\s*$")


class _Version(Protocol):
    def at_least(self, major: int, minor: int) -> bool: ...


class SyntaxProblem(ValueError):
    """A parse error of the newer syntax, with its 1-based column."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"1:{column}: parse error: {message}")
        self.column = column


def readable(expr: str, version: _Version, features: frozenset[str] | None = None) -> str:
    """`expr` with the newer syntax `version` accepts rewritten for promql-parser; raises SyntaxProblem for
    what that version's parser rejects in it. Unchanged when there is nothing to rewrite."""
    if "</" not in expr and ">/" not in expr:  # substring tests: a regex search costs 10x on every rule
        low = expr.lower()
        if "anchored" not in low and "smoothed" not in low:
            return expr
    trim = version.at_least(3, 11)
    modifiers = version.at_least(3, 16) or (
        version.at_least(3, 7) and features is not None and EXTENDED_RANGE_SELECTORS in features)
    if not trim and not modifiers:
        return expr
    out = list(expr)
    code = _code_mask(expr)
    last_modifier: tuple[int, str] | None = None  # (end of the blanked keyword, keyword)
    for m in _TOKEN.finditer(expr):
        start = m.start()
        if not code[start]:
            continue
        tok = m.group(0).lower()
        if tok in ("</", ">/"):
            if trim:
                out[start], out[start + 1] = "+", " "
            continue
        if not modifiers:
            continue
        kind = _modifier_target(expr, code, start)
        if kind is None:
            continue  # a metric or label name
        # promtool places these errors at the start of the expression the modifier follows
        if kind == "subquery":
            raise SyntaxProblem(_operand_start(expr, code, start, inner=True) + 1,
                                f"{tok} modifier is not supported for subqueries")
        if kind == "other":
            raise SyntaxProblem(_operand_start(expr, code, start) + 1, f"{tok} modifier not implemented")
        if last_modifier is not None and last_modifier[1] != tok and not expr[last_modifier[0]:start].strip():
            raise SyntaxProblem(_operand_start(expr, code, last_modifier[0] - len(last_modifier[1])) + 1,
                                "anchored and smoothed modifiers cannot be used together")
        out[start:m.end()] = " " * (m.end() - start)
        last_modifier = (m.end(), tok)
    return "".join(out)


def _code_mask(expr: str) -> list[bool]:
    mask = [True] * len(expr)
    for m in _SKIP.finditer(expr):
        for i in range(m.start(), m.end()):
            mask[i] = False
    return mask


def _prev_code(expr: str, code: list[bool], i: int) -> int:
    """Index of the last code character before `i` that is not a space (-1: none)."""
    i -= 1
    while i >= 0 and (expr[i].isspace() or not code[i]):
        i -= 1
    return i


def _matching_open(expr: str, code: list[bool], i: int) -> int:
    close = expr[i]
    opening = {")": "(", "]": "[", "}": "{"}[close]
    depth = 0
    while i >= 0:
        if code[i] and expr[i] == close:
            depth += 1
        elif code[i] and expr[i] == opening:
            depth -= 1
            if depth == 0:
                return i
        i -= 1
    return 0


def _operand_start(expr: str, code: list[bool], keyword: int, inner: bool = False) -> int:
    """Where the expression ending before the modifier at `keyword` starts (a selector with its range,
    offset and @; a call; a number). `inner`: of a subquery, where its inner expression starts."""
    i = _prev_code(expr, code, keyword)
    while i > 0:
        if expr[i] in ")]}":
            k = _matching_open(expr, code, i)
            if expr[k] == "[" and inner:
                return _operand_start(expr, code, k)
            j = _prev_code(expr, code, k)
            if expr[k] == "(" and re.search(r"@\s*(?:start|end)\s*$", expr[:k], re.IGNORECASE):
                i = _prev_code(expr, code, expr[:k].rindex("@"))
                continue
            if expr[k] in "[{" and j >= 0 and (expr[j] in ")]}" or expr[j].isalnum() or expr[j] in "_:"):
                i = j  # the selector (or call) before the range or the label matchers
                continue
            if expr[k] == "(" and j >= 0 and (expr[j].isalnum() or expr[j] in "_:"):
                m = _WORD_BEFORE.search(expr[: j + 1])
                return m.start(1) if m else k
            return k
        m = _WORD_BEFORE.search(expr[: i + 1])
        if m is None:
            return i
        before = expr[: m.start(1)]
        mod = re.search(r"(?:\boffset|@)\s*-?\s*$", before, re.IGNORECASE)
        if mod is not None:
            i = _prev_code(expr, code, mod.start())
            continue
        return m.start(1)
    return max(i, 0)


def _modifier_target(expr: str, code: list[bool], start: int) -> str | None:
    """What `anchored`/`smoothed` at `start` follows: "selector" (a vector or range selector, or its offset
    or @), "subquery", "other" (an expression the parser rejects the modifier after), or None when the word
    is a name (of a metric, a label or a function)."""
    after = expr[start + len("anchored"):].lstrip()
    if after.startswith("(") or (after.startswith("{") and not expr[:start].rstrip().endswith(("]", "}"))):
        return None  # `anchored(...)` is a function name; `anchored{...}` a selector
    return _target_before(expr, code, start)


def _target_before(expr: str, code: list[bool], start: int) -> str | None:
    i = _prev_code(expr, code, start)
    if i < 0:
        return None  # first word: a metric name
    prev = expr[i]
    if prev == "]":
        k = _matching_open(expr, code, i)
        return "subquery" if ":" in expr[k + 1:i] else "selector"
    if prev == "}":
        return "selector"
    if prev == ")":
        at = re.search(r"@\s*(?:start|end)\s*\(\s*\)$", expr[: i + 1], re.IGNORECASE)
        return _target_before(expr, code, at.start()) if at else "other"
    m = _WORD_BEFORE.search(expr[: i + 1])
    if m is None:
        return None  # after an operator, a comma or an opening bracket: a name
    word = m.group(1)
    if word.lower() in _OPERATOR_WORDS:
        return None
    if word[0].isdigit():  # a duration or timestamp of `offset`/`@` (then: what they modify), or a number
        mod = re.search(r"(?:\boffset|@)\s*-?\s*$", expr[: m.start(1)], re.IGNORECASE)
        return _target_before(expr, code, mod.start()) if mod else "other"
    return "selector"  # a metric name, or a modifier after a modifier
