"""PromQL syntax that the target Prometheus version's parser rejects but promql-parser accepts.

promql-parser follows Prometheus 3, so an expression checked for an older target needs a second look at
its text: what 2.x rejects is visible only in tokens the syntax tree no longer shows (a quoted label
name, `or` between matchers, a number where 2.x wants a duration). Some things no version accepts are
caught here too: a duration beyond Go's int64 nanoseconds, and `or` between label matchers, which
promql-parser reads but neither promtool 2.42 nor 3.16 accepts. A duration after `@` (`x @ 6m`) is an
error for 2.x only: Prometheus 3 reads durations as numbers of seconds there, as in ranges (`[300]`).

Messages and positions are those of Prometheus's own parser (`1:9: parse error: ...`), checked against
promtool 2.42 in tests/rules/test_syntax_gate.py.

The scan runs only when a cheap pattern says the expression may contain such a construct, so the linter
pays nothing for the usual rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from opsctl.durations import parse_duration
from opsctl.rules.versions import PromVersion

# Quick tests on the raw text: does the expression possibly hold one of the constructs below?
_HINT_V2 = re.compile(
    r"""[{,]\s*["'`]"""                                      # quoted label or metric name in braces
    r"""|[\[:]\s*(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)\s*[\]:]"""   # [300] [5m:30]
    r"""|\boffset\s*[-+]?\s*(?:\d|\.\d)"""                   # offset 300
    r"""|@\s*[-+]?\s*\d+(?:ms|[smhdwy])"""                    # @ 6m
    r"""|(?:^|[^\[:\s\d])\s*\d+(?:ms|[smhdwy])(?![A-Za-z0-9_])""",  # x > 5m (not [5m], [5m:1m])
    re.IGNORECASE,
)
_HINT_ANY = re.compile(r"""\d{3,}(?:ms|[smhdwy])|["'`]\s*or\b""", re.IGNORECASE)
# _HINT_ANY's two halves, the second only when the text has a quote and "or" (a third cheaper in all)
_HINT_DURATION = re.compile(r"\d{3,}(?:ms|[smhdwy])", re.IGNORECASE)
_HINT_QUOTE_OR = re.compile(r"""["'`]\s*or\b""", re.IGNORECASE)
# _HINT_DURATION for ASCII text, a quarter faster: no IGNORECASE (which also lets `s` match U+017F) and
# [0-9] for \d (which also matches other scripts' digits); three digits before the unit match where three or
# more do (the last three of them), and spelt out, without a repeat, the engine tries each place faster
_HINT_DURATION_ASCII = re.compile(r"[0-9][0-9][0-9][smhdwySMHDWY]")


def _hint_any(expr: str) -> bool:
    """bool(_HINT_ANY.search(expr))."""
    if ('"' in expr or "'" in expr or "`" in expr) and "or" in expr.lower() and _HINT_QUOTE_OR.search(expr):
        return True
    # (`ms` starts with `m`: a match of `\d{3,}ms` is one of `\d{3,}m`; str.isascii takes constant time)
    return (_HINT_DURATION_ASCII if expr.isascii() else _HINT_DURATION).search(expr) is not None

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<comment>\#[^\n]*)
      |(?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
      |(?P<dur>(?:\d+(?:ms|[smhdwy]))+)(?![A-Za-z0-9_.])
      |(?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      |(?P<ident>:?[A-Za-z_][A-Za-z0-9_:]*)
      |(?P<op>=~|!~|!=|==|<=|>=|.)
    """,
    re.VERBOSE | re.DOTALL,
)

_INT64_NS = 2**63 - 1


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(expr: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(expr):
        kind = m.lastgroup or "op"
        if kind in ("ws", "comment"):
            continue
        out.append(_Tok(kind, m.group(), m.start()))
    return out


def _where(expr: str, pos: int) -> str:
    line = expr.count("\n", 0, pos) + 1
    col = pos - (expr.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


def _go_item(text: str) -> str:
    """Prometheus's lexer item in messages: Go %q, cut to 10 bytes with `...` after the quote."""
    import json  # only for a message

    if len(text) > 10:
        return json.dumps(text[:10]) + "..."
    return json.dumps(text)


_ASK_THE_PORT = ""  # a _scan message: the error is opsctl.promql_goparse's (Prometheus 2.42's parser's) first


def _after_offset(toks: list[_Tok], i: int) -> bool:
    """Whether token i follows `offset` (or `offset -`/`offset +`)."""
    j = i - 1
    if j >= 0 and toks[j].text in ("-", "+"):
        j -= 1
    return j >= 0 and toks[j].kind == "ident" and toks[j].text.lower() == "offset"


def _overflows(duration: str) -> bool:
    try:
        parse_duration(duration)
    except ValueError:
        return True
    return False


def syntax_problems(expr: str, version: PromVersion) -> Iterator[str]:
    """Parse errors Prometheus `version` reports for `expr` that promql-parser does not, as
    `line:col: parse error: message` (the first one only, as a parser stops at its first error)."""
    old = not version.at_least(3, 0)
    if not (_hint_any(expr) or (old and _HINT_V2.search(expr))):
        return
    for pos, message in _scan(_tokens(expr), old):
        if message == _ASK_THE_PORT:
            from opsctl.promql_goparse import syntax_error  # (only for a message)

            ported = syntax_error(expr)
            if ported is not None:
                yield ported
                return
            message = f'unexpected duration "{_TOKEN.match(expr, pos).group()}"'  # type: ignore[union-attr]
        yield f"{_where(expr, pos)}: parse error: {message}"
        return


def _scan(toks: list[_Tok], old: bool) -> Iterator[tuple[int, str]]:
    in_braces = False
    expect_name = False        # inside braces, where a label name may stand
    after_value = False        # inside braces, right after a matcher's value
    in_brackets = False
    for i, tok in enumerate(toks):
        prev = toks[i - 1] if i else None
        if tok.kind == "dur" and _overflows(tok.text):
            yield tok.pos, "duration out of range"
            return
        if old and tok.kind == "dur" and prev is not None and prev.text == "@":
            yield tok.pos, f'unexpected duration "{tok.text}" in @, expected timestamp'
            return
        if tok.text == "{":
            in_braces, expect_name, after_value = True, True, False
            continue
        if tok.text == "}":
            in_braces = False
            continue
        if in_braces:
            if old and expect_name and tok.kind == "str":
                yield tok.pos, f'unexpected string {_go_item(tok.text)} in label matching, expected identifier or "}}"'
                return
            if after_value and tok.kind == "ident" and tok.text.lower() == "or":
                yield tok.pos, 'unexpected identifier "or" in label matching, expected "," or "}"'
                return
            expect_name = tok.text == ","
            after_value = tok.kind == "str" and prev is not None and prev.text in ("=", "!=", "=~", "!~")
            continue
        if tok.text == "[":
            in_brackets = True
            if old and i + 1 < len(toks) and toks[i + 1].kind == "num":
                yield toks[i + 1].pos, "missing unit character in duration"
                return
            continue
        if tok.text == "]":
            in_brackets = False
            continue
        if in_brackets and tok.text == ":":
            if old and i + 1 < len(toks) and toks[i + 1].kind == "num":
                num = toks[i + 1]
                yield num.pos, f'unexpected number {_go_item(num.text)} in subquery selector, expected duration or "]"'
                return
            continue
        if old and tok.kind == "dur" and not in_brackets and not _after_offset(toks, i):
            # Prometheus 2 reads a duration only in a range, a subquery and after `offset`; 3.0 also as a number
            # of seconds (`x > 5m`, `predict_linear(x[1h], 1h)`). The 2.x parser's message depends on where it
            # meets one (after a comma, inside an aggregation...): the port of that parser words it
            yield tok.pos, _ASK_THE_PORT
            return
        if old and tok.kind == "ident" and tok.text.lower() == "offset":
            j = i + 1
            if j < len(toks) and toks[j].text in ("-", "+"):
                j += 1
            if j < len(toks) and toks[j].kind == "num":
                num = toks[j]
                yield num.pos, f"unexpected number {_go_item(num.text)} in offset, expected duration"
                return
