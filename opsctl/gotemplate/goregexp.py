"""Go regexp helpers: compile with RE2 (google-re2, the engine Go's regexp mirrors) and Go's error texts,
MatchString, and ReplaceAllString with Go's template expansion ($1, ${name}, $$). Without google-re2 installed,
Python's re is used after translating the RE2 syntax that differs."""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Any


class RegexpError(Exception):
    pass


def _translate(pattern: str) -> str:
    """Map RE2 syntax to Python re: \\z -> \\Z, $ (no multiline) -> \\Z-like end, (?P<n>) kept."""
    out = []
    i = 0
    in_class = False
    multiline = False
    m = re.match(r"\(\?([imsU]+)\)", pattern)
    if m and "m" in m.group(1):
        multiline = True
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Q":
                j = pattern.find(r"\E", i + 2)
                lit = pattern[i + 2:] if j < 0 else pattern[i + 2:j]
                out.append(re.escape(lit))
                i = len(pattern) if j < 0 else j + 2
                continue
            else:
                out.append(c + nxt)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":
                out.append(r"\]")
                i += 1
        elif c == "$" and not multiline:
            out.append(r"(?!(?s:.))")
        else:
            out.append(c)
        i += 1
    return "".join(out)


try:  # google-re2: the RE2 engine Go's regexp package mirrors (syntax, semantics, linear time)
    _re2: Any = importlib.import_module("re2")
    _RE2_OPTIONS: Any = _re2.Options()
    _RE2_OPTIONS.log_errors = False
except ImportError:  # pragma: no cover - fall back to Python's re with syntax translation
    _re2 = None


# RE2 (C++) error texts -> Go regexp/syntax error texts
_RE2_TO_GO = [
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
]


def _re2_error_text(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    msg = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if msg == "trailing \\":
        return "trailing backslash at end of expression: ``"
    for prefix, go in _RE2_TO_GO:
        if msg.startswith(prefix):
            return f"{go}`{msg[len(prefix):]}`"
    if "too large" in msg or "too big" in msg:
        return "expression too large"
    return msg


@lru_cache(maxsize=512)
def go_compile(pattern: str) -> Any:
    """Compile a Go (RE2 syntax) regexp; raises RegexpError with Go's message."""
    if len(pattern) > 10000:
        raise RegexpError("error parsing regexp: expression too large")
    k = pattern.find("(?<")
    if k >= 0 and (k == 0 or pattern[k - 1] != "\\"):  # named groups (?<n>...) arrived in Go 1.22
        raise RegexpError("error parsing regexp: invalid or unsupported Perl syntax: `(?<`")
    if _re2 is not None:
        try:
            return _re2.compile(pattern, _RE2_OPTIONS)
        except _re2.error as exc:
            raise RegexpError("error parsing regexp: " + _re2_error_text(exc)) from None
    for bad in ("(?=", "(?!", "(?#", "(?>"):
        k = pattern.find(bad)
        if k >= 0 and (k == 0 or pattern[k - 1] != "\\"):
            raise RegexpError(f"error parsing regexp: invalid or unsupported Perl syntax: `{bad}`")
    m = re.search(r"(?<!\\)(?:\\\\)*\\([1-9])", pattern)
    if m:
        raise RegexpError(f"error parsing regexp: invalid escape sequence: `\\{m.group(1)}`")
    try:
        return re.compile(_translate(pattern))
    except re.error as exc:
        raise RegexpError("error parsing regexp: " + _go_error_text(exc, pattern)) from None


def _go_error_text(exc: re.error, pattern: str) -> str:
    msg = exc.msg
    pos = exc.pos or 0
    if msg.startswith("missing ), unterminated subpattern"):
        return f"missing closing ): `{pattern}`"
    if msg.startswith("unbalanced parenthesis"):
        return f"unexpected ): `{pattern}`"
    if msg.startswith("unterminated character set"):
        return f"missing closing ]: `{pattern[pos:]}`"
    if msg.startswith("nothing to repeat"):
        return f"missing argument to repetition operator: `{pattern[pos:pos + 1]}`"
    if msg.startswith("multiple repeat"):
        return f"invalid nested repetition operator: `{pattern[max(pos - 1, 0):pos + 1]}`"
    if msg.startswith("bad escape"):
        return f"invalid escape sequence: `{pattern[pos:pos + 2]}`"
    if msg.startswith("bad character range"):
        return f"invalid character class range: `{pattern[pos:].split(']')[0]}`"
    return f"{msg}: `{pattern}`"


def go_match_string(pattern: str, s: str) -> bool:
    return go_compile(pattern).search(s) is not None


def _expand(template: str, m: Any) -> str:
    """regexp.Expand: $1, ${1}, $name, ${name}, $$; unknown/invalid names expand to ""."""
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
        name = ""
        if i < n and template[i] == "{":
            j = template.find("}", i + 1)
            cand = template[i + 1:j] if j >= 0 else ""
            if j < 0 or not cand or not re.fullmatch(r"[A-Za-z0-9_]+", cand):
                out.append("$")
                continue
            name = cand
            i = j + 1
        else:
            j = i
            while j < n and (template[j].isalnum() or template[j] == "_") and template[j].isascii():
                j += 1
            if j == i:
                out.append("$")
                continue
            name = template[i:j]
            i = j
        try:
            if name.isdigit():
                idx = int(name)
                val = m.group(idx) if idx <= (m.re.groups or 0) else None
            else:
                val = m.group(name) if name in m.re.groupindex else None
        except (IndexError, re.error):
            val = None
        out.append(val or "")
    return "".join(out)


def go_replace_all_string(pattern: str, repl: str, src: str) -> str:
    rx = go_compile(pattern)
    out = []
    last = 0
    last_match_end = -1
    pos = 0
    while pos <= len(src):
        m = rx.search(src, pos)
        if m is None:
            break
        a, b = m.span()
        # Go: an empty match immediately after a previous match is ignored
        if a == b and a == last_match_end:
            pos = a + 1
            continue
        out.append(src[last:a])
        out.append(_expand(repl, m))
        last = b
        last_match_end = b
        pos = b if b > a else b + 1
    out.append(src[last:])
    return "".join(out)
