"""Alertmanager label matchers (pkg/labels): the parser, `Matcher`, and Go RE2 regexps in Python.

`parse_matchers('{foo="bar", baz=~"a|b"}')` follows pkg/labels/parse.go of Alertmanager 0.25: an optional
`{...}` wrapper, commas outside double quotes separate matchers, values may be quoted (OpenMetrics escapes
`\\"`, `\\n`, `\\\\`) or bare, and whitespace around every token is dropped.

Regexps are Go RE2 anchored as `^(?:...)$`, compiled by `opsctl.gosem.regexp` (google-re2: Go's syntax,
POSIX and Unicode classes, ASCII `\\d`, Go's error texts, linear time whatever the pattern).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from opsctl.gosem import regexp as gosem_regexp
from opsctl.gosem.regexp import AnchoredRegexp, Regexp

LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MATCHER_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)


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
    _re: AnchoredRegexp | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def new(type_: MatchType, name: str, value: str) -> Matcher:
        rx = None
        if type_ in (MatchType.REGEXP, MatchType.NOT_REGEXP):
            try:
                rx = gosem_regexp.compile_anchored(value)
            except gosem_regexp.RegexpError as exc:
                raise MatcherError(str(exc)) from None
        return Matcher(name, type_, value, rx)

    def matches(self, value: str) -> bool:
        if self.type is MatchType.EQUAL:
            return value == self.value
        if self.type is MatchType.NOT_EQUAL:
            return value != self.value
        assert self._re is not None
        hit = self._re.matches(value)
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


# --- Go RE2 -------------------------------------------------------------------------------------


def compile_go_regex(pattern: str) -> Regexp:
    """regexp.Compile(pattern) through opsctl.gosem (RE2, linear time); MatcherError with Go's text."""
    try:
        return gosem_regexp.compile(pattern)
    except gosem_regexp.RegexpError as exc:
        raise MatcherError(str(exc)) from None
