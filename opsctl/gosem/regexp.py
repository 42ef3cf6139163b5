"""Go regular expressions (package regexp, RE2 syntax) through google-re2, with Go's error texts.

RE2 is the engine Go's regexp mirrors: the same syntax, leftmost-first semantics, and time linear in the
input, so no pattern can hold a process (`(a+)+b` is as fast as `ab`). ASCII-only `\\d \\s \\w \\b`, POSIX
classes (`[[:alpha:]]`), Unicode classes (`\\pL`, `\\p{Greek}`), flags (`(?i)`, `(?s)`, `(?m)`, `(?U)`) and
`\\Q...\\E` behave as in Go. Where RE2 (C++) and Go differ, Go wins: `\\C` and (before Go 1.22, which the
oracles Prometheus 2.42 and Alertmanager 0.25 were built with) `(?<name>...)` are errors, and error texts
are Go's (`error parsing regexp: missing closing ): `(a``).

- `compile(pattern)`: `regexp.Compile`, unanchored; a compiled object with the `re`-like API of google-re2
  (`search`, `fullmatch`, `finditer`, groups) for code that needs match positions or groups.
- `compile_anchored(value)`: a label matcher's regex as Prometheus and Alertmanager build it,
  `^(?:value)$` (`dot_nl=True` gives Prometheus 3's `^(?s:value)$`); `.matches(text)` is the fast boolean
  test (literal and literal-alternation shortcuts, a bounded memo of recent answers).
- `compile_prometheus(value)`: the same for a PromQL matcher, which Prometheus also parses unanchored.
- `match_string`, `replace_all_string`: `regexp.MatchString` and `ReplaceAllString` with Go's `$1`, `${name}`
  expansion.

Like Go, text that is not valid UTF-8 (a lone surrogate in a Python str) is matched with each bad code point
read as U+FFFD.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2 as _re2
from re2 import _re2 as _core

__all__ = ["AnchoredRegexp", "Regexp", "RegexpError", "compile", "compile_anchored", "compile_prometheus", "expand",
           "match_string", "quote_meta", "replace_all_string"]

Regexp = Any  # google-re2's compiled pattern (re-like API)
_META = frozenset("\\.+*?()|[]{}^$")
_MEMO_SIZE = 4096  # answers remembered per anchored regexp (label values repeat a lot)


class RegexpError(ValueError):
    """An invalid regular expression; str() is Go's text (`error parsing regexp: <code>: `<expr>``)."""


def _options(*, capture: bool) -> Any:
    opts = _re2.Options()
    opts.log_errors = False
    opts.never_capture = not capture
    return opts


_CAPTURE = _options(capture=True)
_BOOLEAN = _options(capture=False)  # no submatches: RE2 answers with its DFA

# RE2 (C++) error texts -> Go regexp/syntax error codes (regexp/syntax.ErrorCode)
_RE2_TO_GO = (
    ("missing ): ", "missing closing ): "),
    ("unexpected ): ", "unexpected ): "),
    ("missing ]: ", "missing closing ]: "),
    ("no argument for repetition operator: ", "missing argument to repetition operator: "),
    ("invalid named capture group: ", "invalid named capture: "),
    ("invalid character class range: ", "invalid character class range: "),
    ("invalid character class: ", "invalid character class: "),
    ("invalid repetition size: ", "invalid repeat count: "),
    ("bad repetition operator: ", "invalid nested repetition operator: "),
    ("invalid perl operator: ", "invalid or unsupported Perl syntax: "),
    ("invalid escape sequence: ", "invalid escape sequence: "),
    ("invalid UTF-8: ", "invalid UTF-8: "),
)


def _go_error(raw: object) -> RegexpError:
    msg = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if msg == "trailing \\":
        text = "trailing backslash at end of expression: ``"
    elif "bad nesting" in msg or "nesting depth" in msg:
        text = "expression nests too deeply"
    elif "too large" in msg or "too big" in msg:
        text = "expression too large"
    else:
        text = msg
        for prefix, go in _RE2_TO_GO:
            if msg.startswith(prefix):
                text = f"{go}`{msg[len(prefix):]}`"
                break
    return RegexpError("error parsing regexp: " + text)


def _go_only_errors(pattern: str) -> None:
    """What RE2 (C++) accepts and Go rejects: `\\C` (any byte) anywhere outside `\\Q...\\E`."""
    if "\\C" not in pattern:
        return
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] != "\\":
            i += 1
            continue
        nxt = pattern[i + 1:i + 2]
        if nxt == "C":
            raise RegexpError("error parsing regexp: invalid escape sequence: `\\C`")
        if nxt == "Q":
            end = pattern.find("\\E", i + 2)
            i = n if end < 0 else end + 2
            continue
        i += 2


def _check_named_groups(pattern: str, compiled: Any) -> None:
    """Go before 1.22 knows only `(?P<name>...)`; RE2 also takes `(?<name>...)`."""
    if "(?<" not in pattern:
        return
    for name in compiled.NamedCapturingGroups():
        text = name.decode() if isinstance(name, bytes) else name
        if f"(?P<{text}>" not in pattern:
            raise RegexpError("error parsing regexp: invalid or unsupported Perl syntax: `(?<`")


def _core_compile(pattern: str, options: Any) -> Any:
    if len(pattern) > 100_000:
        raise RegexpError("error parsing regexp: expression too large")
    _go_only_errors(pattern)
    try:
        encoded = pattern.encode("utf-8")
    except UnicodeEncodeError:
        raise RegexpError("error parsing regexp: invalid UTF-8: `" + pattern + "`") from None
    compiled = _core.RE2(encoded, options)
    if not compiled.ok():
        raise _go_error(compiled.error())
    if "(?<" in pattern:
        _check_named_groups(pattern, compiled if options is _CAPTURE else _core_compile(pattern, _CAPTURE))
    return compiled


@lru_cache(maxsize=1024)
def compile(pattern: str) -> Regexp:  # the name Go uses (regexp.Compile)
    """regexp.Compile(pattern): unanchored, with google-re2's `re`-like API; RegexpError with Go's text."""
    _core_compile(pattern, _CAPTURE)  # Go's checks and error texts
    try:
        return _re2.compile(pattern, _CAPTURE)
    except _re2.error as exc:  # pragma: no cover - _core_compile has raised already
        raise _go_error(exc.args[0] if exc.args else "") from None


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode("utf-8")


class AnchoredRegexp:
    """A label matcher's regex: `^(?:value)$` compiled the way Prometheus and Alertmanager do."""

    __slots__ = ("_affix", "_literal", "_memo", "_re", "_set", "expr", "value")

    def __init__(self, value: str, *, dot_nl: bool = False) -> None:
        self.value = value
        self.expr = ("^(?s:" if dot_nl else "^(?:") + value + ")$"
        self._re = _core_compile(self.expr, _BOOLEAN)
        self._literal: str | None = None
        self._set: frozenset[str] | None = None
        self._affix: tuple[str, str] | None = None  # ("prefix" | "suffix" | "contains", literal)
        self._memo: dict[str, bool] = {}
        if not any(c in _META for c in value):
            self._literal = value
        elif "|" in value and not any(c in _META for c in value.replace("|", "")):
            self._set = frozenset(value.split("|"))
        else:  # `lit.*`, `.*lit`, `.*lit.*` as Prometheus's FastRegexMatcher shortcuts them
            for kind, head, tail in (("contains", ".*", ".*"), ("prefix", "", ".*"), ("suffix", ".*", "")):
                core = value[len(head):len(value) - len(tail)] if value.startswith(head) and value.endswith(tail) \
                    else None
                if core is not None and len(value) >= len(head) + len(tail) and not any(c in _META for c in core):
                    self._affix = (kind, core)
                    break

    def matches(self, text: str) -> bool:
        """Whether the whole of `text` matches (Go's MatchString on the anchored expression)."""
        if self._literal is not None:
            return text == self._literal
        if self._set is not None:
            return text in self._set
        if self._affix is not None and "\n" not in text:  # `.` never meets a newline here
            kind, core = self._affix
            if kind == "prefix":
                return text.startswith(core)
            if kind == "suffix":
                return text.endswith(core)
            return core in text
        hit = self._memo.get(text)
        if hit is None:
            data = _encode(text)
            hit = self._re.Match(_core.RE2.Anchor.ANCHOR_BOTH, data, 0, len(data))[0][0] >= 0
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = hit
        return hit

    def __repr__(self) -> str:
        return f"AnchoredRegexp({self.value!r})"


@lru_cache(maxsize=4096)
def compile_anchored(value: str, *, dot_nl: bool = False) -> AnchoredRegexp:
    """The regex of a `=~`/`!~` label matcher, anchored as `^(?:value)$`; RegexpError with Go's text
    (which, like Go's, quotes the anchored expression: `missing closing ): `^(?:()$``)."""
    return AnchoredRegexp(value, dot_nl=dot_nl)


@lru_cache(maxsize=4096)
def compile_prometheus(value: str, *, dot_nl: bool = False) -> AnchoredRegexp:
    """A Prometheus label matcher's regex (model/labels/regexp.go): `^(?:value)$` must compile and, as
    Prometheus also parses the value alone, so must `value` (`a)(b` is rejected: `unexpected ): `a)(b``)."""
    anchored = compile_anchored(value, dot_nl=dot_nl)
    _boolean(value)
    return anchored


def match_string(pattern: str, text: str) -> bool:
    """regexp.MatchString(pattern, text): whether the text contains a match."""
    data = _encode(text)
    return _boolean(pattern).Match(_core.RE2.Anchor.UNANCHORED, data, 0, len(data))[0][0] >= 0


@lru_cache(maxsize=1024)
def _boolean(pattern: str) -> Any:
    return _core_compile(pattern, _BOOLEAN)


def quote_meta(text: str) -> str:
    """regexp.QuoteMeta: escape every metacharacter of `text`."""
    return "".join("\\" + c if c in _META else c for c in text)


def expand(template: str, m: Any) -> str:
    """regexp.Expand for a google-re2 match: $1, ${1}, $name, ${name}, $$; unknown or invalid names (and
    numbers with a leading zero, `$01`) expand to ""."""
    out = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        i += 1
        if i < n and template[i] == "$":
            out.append("$")
            i += 1
            continue
        if i < n and template[i] == "{":
            j = template.find("}", i + 1)
            cand = template[i + 1:j] if j >= 0 else ""
            if j < 0 or not cand or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in cand):
                out.append("$")
                continue
            name = cand
            i = j + 1
        else:
            j = i
            while j < n and template[j].isascii() and (template[j].isalnum() or template[j] == "_"):
                j += 1
            if j == i:
                out.append("$")
                continue
            name = template[i:j]
            i = j
        val: str | None = None
        if name.isdigit() and (name[0] != "0" or len(name) == 1):
            idx = int(name)
            if idx <= (m.re.groups or 0):
                val = m.group(idx)
        elif name in m.re.groupindex:
            val = m.group(name)
        out.append(val or "")
    return "".join(out)


def replace_all_string(pattern: str, repl: str, src: str) -> str:
    """regexp.MustCompile(pattern).ReplaceAllString(src, repl)."""
    rx = compile(pattern)
    src = _encode(src).decode("utf-8")
    out = []
    last = 0
    last_match_end = -1
    pos = 0
    while pos <= len(src):
        m = rx.search(src, pos)
        if m is None:
            break
        a, b = m.span()
        if a == b and a == last_match_end:  # Go: an empty match right after a match is skipped
            pos = a + 1
            continue
        out.append(src[last:a])
        out.append(expand(repl, m))
        last = b
        last_match_end = b
        pos = b if b > a else b + 1
    out.append(src[last:])
    return "".join(out)
