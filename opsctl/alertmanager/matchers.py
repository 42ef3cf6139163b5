"""Alertmanager label matchers (pkg/labels): the parser, `Matcher`, and Go RE2 regexps in Python.

`parse_matchers('{foo="bar", baz=~"a|b"}')` follows pkg/labels/parse.go of Alertmanager 0.25: an optional
`{...}` wrapper, commas outside double quotes separate matchers, values may be quoted (OpenMetrics escapes
`\\"`, `\\n`, `\\\\`) or bare, and whitespace around every token is dropped.

Regexps are Go RE2 anchored as `^(?:...)$`. `compile_go_regex()` translates the RE2 syntax Python's `re`
treats differently (mid-pattern flags, `$`, `\\z`, `\\Q..\\E`, `{,n}`, POSIX classes) and rejects what RE2
rejects (look-around, back-references, possessive/atomic groups, repeat counts over 1000). Unicode classes
(`\\pL`) are not supported by Python's `re` and are reported as errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MATCHER_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
# Go's \s in regexp is [\t\n\f\r ]; Python's \s also has \v and Unicode spaces.
_GO_SPACE = "\t\n\f\r "


class MatcherError(ValueError):
    """A matcher or regexp that Alertmanager would reject."""


class MatchType(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEXP = "=~"
    NOT_REGEXP = "!~"


_TYPE_ORDER = {MatchType.EQUAL: 0, MatchType.NOT_EQUAL: 1, MatchType.REGEXP: 2, MatchType.NOT_REGEXP: 3}


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexps are anchored like Alertmanager's (`^(?:value)$`)."""

    name: str
    type: MatchType
    value: str
    _re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def new(type_: MatchType, name: str, value: str) -> Matcher:
        rx = None
        if type_ in (MatchType.REGEXP, MatchType.NOT_REGEXP):
            rx = compile_go_regex("^(?:" + value + ")$")
        return Matcher(name, type_, value, rx)

    def matches(self, value: str) -> bool:
        if self.type is MatchType.EQUAL:
            return value == self.value
        if self.type is MatchType.NOT_EQUAL:
            return value != self.value
        assert self._re is not None
        hit = self._re.search(value) is not None
        return hit if self.type is MatchType.REGEXP else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.type.value}{openmetrics_escape(self.value)}"

    def sort_key(self) -> tuple[str, str, int]:
        return (self.name, self.value, _TYPE_ORDER[self.type])


def openmetrics_escape(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


def matchers_str(matchers: list[Matcher]) -> str:
    return "{" + ",".join(str(m) for m in matchers) + "}"


def matches_all(matchers: list[Matcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


def parse_matchers(text: str) -> list[Matcher]:
    """Parse a comma-separated list of matchers, optionally wrapped in `{}` (labels.ParseMatchers)."""
    s = text[1:] if text.startswith("{") else text
    s = s[:-1] if s.endswith("}") else s
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for ch in s:
        if ch == ",":
            if not inside:
                tokens.append("".join(token))
                token = []
                continue
        elif ch == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(ch)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher like `name="value"`, `name=~value` (labels.ParseMatcher)."""
    m = _MATCHER_RE.match(text)
    if not m:
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = m.group(1), m.group(2), m.group(3)
    expect_quote = False
    if raw.startswith('"'):
        raw = raw[1:]
        expect_quote = True
    out: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            if ch == "n":
                out.append("\n")
            elif ch in ('"', "\\"):
                out.append(ch)
            else:
                out.append("\\" + ch)
            continue
        if ch == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            out.append("\\")
        elif ch == '"':
            if not expect_quote or i < len(raw) - 1:
                raise MatcherError(f"matcher value contains unescaped double quote: {m.group(3)}")
            expect_quote = False
        else:
            out.append(ch)
    if expect_quote:
        raise MatcherError(f"matcher value contains unescaped double quote: {m.group(3)}")
    try:
        return Matcher.new(MatchType(op), name, "".join(out))
    except MatcherError as exc:
        raise MatcherError(f"{exc}") from None


# --- Go RE2 -> Python re ---------------------------------------------------------------------------

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_REPEAT_RE = re.compile(r"\{(\d+)(,(\d*))?\}")
_SHORTHAND = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}


@lru_cache(maxsize=4096)
def compile_go_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern with Go's semantics as far as Python's `re` allows."""
    py = _translate(pattern)
    try:
        return re.compile(py)
    except re.error as exc:
        raise MatcherError(f"error parsing regexp: {exc}: `{pattern}`") from None
    except (OverflowError, RecursionError):
        raise MatcherError(f"error parsing regexp: too complex: `{pattern}`") from None


def _translate(p: str) -> str:
    out: list[str] = []
    i = 0
    n = len(p)
    # stack of open groups: number of scoped-flag groups to close when this group closes
    stack: list[list[str]] = [[]]
    multiline = False
    assert_idx = flag_idx = -1  # out index of a zero-width assertion / flag group just emitted
    last_atom = False  # a quantifier may follow
    last_was_quant = False
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise MatcherError(f"error parsing regexp: trailing backslash at end of expression: `{p}`")
            d = p[i + 1]
            if d == "Q":
                end = p.find("\\E", i + 2)
                lit = p[i + 2:] if end < 0 else p[i + 2:end]
                out.append("(?:" + re.escape(lit) + ")" if lit else "")
                i = n if end < 0 else end + 2
                last_atom, last_was_quant = bool(lit), False
                continue
            if d.isdigit() and d != "0":
                raise MatcherError(f"error parsing regexp: invalid escape sequence: `\\{d}`")
            if d == "z":
                out.append("\\Z")
            elif d == "Z":
                raise MatcherError("error parsing regexp: invalid escape sequence: `\\Z`")
            elif d in "pP":
                cls, i = _unicode_class(p, i)
                out.append("[" + cls + "]")
                last_atom, last_was_quant = True, False
                continue
            elif d in _SHORTHAND:
                out.append("[" + _SHORTHAND[d] + "]")
            elif d in "DWS":
                out.append("[^" + _SHORTHAND[d.lower()] + "]")
            elif d.isalnum() and d not in "abfnrtvxAbB0":
                raise MatcherError(f"error parsing regexp: invalid escape sequence: `\\{d}`")
            else:
                out.append(c + d)
            i += 2
            if d in "AbBz":
                assert_idx = len(out) - 1
            last_atom, last_was_quant = True, False
            continue
        if c == "[":
            j, cls = _char_class(p, i)
            out.append(cls)
            i = j
            last_atom, last_was_quant = True, False
            continue
        if c == "(":
            if p.startswith("(?", i):
                m = re.match(r"\(\?([imsU-]*)(:|\))", p[i:])
                if p.startswith("(?P<", i):
                    out.append("(?P<")
                    i += 4
                    stack.append([])
                    last_atom = False
                    continue
                if not m:
                    raise MatcherError(f"error parsing regexp: invalid or unsupported Perl syntax: `{p[i:i + 3]}`")
                flags = m.group(1)
                if "U" in flags:
                    raise MatcherError(f"unsupported in opsctl: ungreedy flag (?U) in regexp `{p}`")
                if "m" in flags.split("-")[0]:
                    multiline = True
                if flags.endswith("-") or flags.count("-") > 1 or not flags.replace("-", ""):
                    if not (flags == "" and m.group(2) == ":"):
                        raise MatcherError(f"error parsing regexp: invalid or unsupported Perl syntax: `{m.group(0)}`")
                if m.group(2) == ":":
                    out.append("(?" + flags + ":" if flags else "(?:")
                    stack.append([])
                    last_atom = False
                else:
                    # flags for the rest of the enclosing group: open a scoped group closed with it;
                    # Go lets a following repeat apply to the atom before the flags
                    out.append("(?" + flags + ":")
                    stack[-1].append(flags)
                    flag_idx = len(out) - 1
                i += len(m.group(0))
                continue
            out.append("(")
            stack.append([])
            i += 1
            last_atom = False
            continue
        if c == ")":
            if len(stack) == 1:
                raise MatcherError(f"error parsing regexp: unexpected ): `{p}`")
            out.append(")" * len(stack.pop()))
            out.append(")")
            i += 1
            last_atom, last_was_quant = True, False
            continue
        if c == "|":
            # Go keeps mid-group flags for the later alternatives too: close the scoped groups, re-open
            out.append(")" * len(stack[-1]))
            out.append("|")
            out.extend("(?" + f + ":" for f in stack[-1])
            i += 1
            last_atom = False
            continue
        if c in "*+?{" and (c != "{" or _REPEAT_RE.match(p, i)):
            _fix_repeat_target(out, assert_idx, flag_idx, p)
        assert_idx = flag_idx = -1
        if c in "*+?":
            if last_was_quant and c != "?":
                raise MatcherError(f"error parsing regexp: invalid nested repetition operator: `{p}`")
            if not last_atom and not last_was_quant:
                raise MatcherError(f"error parsing regexp: missing argument to repetition operator: `{c}`")
            if last_was_quant and c == "?":
                out.append("?")
                i += 1
                last_was_quant = False
                last_atom = False
                continue
            out.append(c)
            i += 1
            last_atom, last_was_quant = False, True
            continue
        if c == "{":
            m = _REPEAT_RE.match(p, i)
            if m:
                lo = int(m.group(1))
                hi = m.group(3)
                if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                    raise MatcherError(f"error parsing regexp: invalid repeat count: `{m.group(0)}`")
                if last_was_quant:
                    raise MatcherError(f"error parsing regexp: invalid nested repetition operator: `{p}`")
                if not last_atom:
                    raise MatcherError(f"error parsing regexp: missing argument to repetition operator: `{m.group(0)}`")
                out.append(m.group(0))
                i = m.end()
                last_atom, last_was_quant = False, True
                continue
            out.append("\\{")
            i += 1
            last_atom, last_was_quant = True, False
            continue
        if c == "$":
            out.append("$" if multiline else "(?!(?s:.))")
            assert_idx = len(out) - 1
            i += 1
            last_atom, last_was_quant = True, False
            continue
        if c == "^":
            out.append("^")
            assert_idx = len(out) - 1
            i += 1
            last_atom, last_was_quant = True, False
            continue
        if c in "}]":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
        last_atom, last_was_quant = True, False
    if len(stack) != 1:
        raise MatcherError(f"error parsing regexp: missing closing ): `{p}`")
    out.append(")" * len(stack[0]))
    return "".join(out)


def _fix_repeat_target(out: list[str], assert_idx: int, flag_idx: int, p: str) -> None:
    """Python cannot repeat an assertion (Go can): wrap it in a group. A repeat right after a flag group
    (`x(?i)*`, which Go applies to `x`) is not supported."""
    if flag_idx >= 0 and flag_idx == len(out) - 1:
        raise MatcherError(f"unsupported in opsctl: a repeat right after a flag group in regexp `{p}`")
    if assert_idx >= 0 and assert_idx == len(out) - 1:
        out[assert_idx] = "(?:" + out[assert_idx] + ")"


_CATEGORIES = ["C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd",
               "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl",
               "Zp", "Zs"]


@lru_cache(maxsize=64)
def _category_ranges(cat: str) -> str:
    import unicodedata

    parts: list[str] = []
    start = -1
    for cp in range(0x110000 + 1):
        hit = cp <= 0x10FFFF and unicodedata.category(chr(cp)).startswith(cat)
        if hit and start < 0:
            start = cp
        elif not hit and start >= 0:
            end = cp - 1
            parts.append(f"\\U{start:08x}" + (f"-\\U{end:08x}" if end > start else ""))
            start = -1
    return "".join(parts)


def _unicode_class(p: str, i: int) -> tuple[str, int]:
    """`\\pL`, `\\p{Lu}`, `\\PN`, `\\p{^L}` at p[i] -> (class body for inside [...], next index)."""
    neg = p[i + 1] == "P"
    j = i + 2
    if j >= len(p):
        raise MatcherError("error parsing regexp: invalid character class range: `\\p`")
    if p[j] == "{":
        end = p.find("}", j)
        if end < 0:
            raise MatcherError(f"error parsing regexp: invalid character class range: `{p[i:]}`")
        name = p[j + 1:end]
        j = end + 1
    else:
        name = p[j]
        j += 1
    if name.startswith("^"):
        neg, name = not neg, name[1:]
    if name == "Any":
        body = "\\U00000000-\\U0010ffff"
    elif name in _CATEGORIES:
        body = _category_ranges(name)
    else:
        raise MatcherError(f"unsupported in opsctl: Unicode script class `\\p{{{name}}}` in regexp `{p}`")
    if neg:
        raise MatcherError(f"unsupported in opsctl: negated Unicode class in regexp `{p}`")
    return body, j


def _char_class(p: str, i: int) -> tuple[int, str]:
    out = ["["]
    j = i + 1
    if j < len(p) and p[j] == "^":
        out.append("^")
        j += 1
    first = True
    while j < len(p):
        c = p[j]
        if c == "]" and not first:
            out.append("]")
            return j + 1, "".join(out)
        first = False
        if c == "[" and p.startswith("[:", j):
            end = p.find(":]", j + 2)
            if end > 0:
                name = p[j + 2:end]
                neg = name.startswith("^")
                name = name[1:] if neg else name
                if name not in _POSIX:
                    raise MatcherError(f"error parsing regexp: invalid character class range: `[:{name}:]`")
                if neg:
                    raise MatcherError(f"unsupported in opsctl: negated POSIX class `[:^{name}:]` in `{p}`")
                out.append(_POSIX[name])
                j = end + 2
                continue
        if c == "\\":
            if j + 1 >= len(p):
                break
            d = p[j + 1]
            if d in _SHORTHAND:
                out.append(_SHORTHAND[d])
            elif d in "pP":
                cls, j = _unicode_class(p, j)
                out.append(cls)
                continue
            elif d == "Q":
                raise MatcherError(f"unsupported in opsctl: `\\{d}` inside a character class in `{p}`")
            elif d in "DWS":
                raise MatcherError(f"unsupported in opsctl: `\\{d}` inside a character class in `{p}`")
            elif d.isalnum() and d not in "afnrtvx0":
                raise MatcherError(f"error parsing regexp: invalid escape sequence: `\\{d}`")
            else:
                out.append(c + d)
            j += 2
            continue
        if c == "[":
            out.append("\\[")
        elif c in "&~|" and j + 1 < len(p) and p[j + 1] == c:
            out.append("\\" + c)
        else:
            out.append(c)
        j += 1
    raise MatcherError(f"error parsing regexp: missing closing ]: `{p[i:]}`")
