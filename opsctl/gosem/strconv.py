"""Go string quoting (package strconv): `quote` (strconv.Quote), `unquote` (strconv.Unquote for "...", `...`
and '...'), `unquote_char` (strconv.UnquoteChar) and `is_print` (unicode.IsPrint).

Go strings are bytes; Python strings are code points. Bytes that are not valid UTF-8 travel in a Python str
as lone surrogates (U+DC80..U+DCFF, the `surrogateescape` convention): `unquote('"\\xff"')` gives `"\\udcff"`
and `quote("\\udcff")` gives `"\\xff"`, as Go's round trip does.
"""

from __future__ import annotations

import unicodedata

__all__ = ["ErrSyntax", "is_print", "quote", "unquote", "unquote_char", "unquote_prometheus"]


class ErrSyntax(ValueError):
    """strconv.ErrSyntax: `invalid syntax`."""

    def __init__(self, text: str = "invalid syntax") -> None:
        super().__init__(text)


_QUOTE_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
              "\\": "\\\\", '"': '\\"'}
_UNQUOTE_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX = frozenset("0123456789abcdefABCDEF")


def is_print(ch: str) -> bool:
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if ch == " ":
        return True
    return unicodedata.category(ch)[0] in "LMNPS"


def quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal, non-printable runes escaped."""
    out = ['"']
    for ch in s:
        esc = _QUOTE_ESC.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # a byte that was not valid UTF-8
            out.append(f"\\x{o - 0xDC00:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif is_print(ch):
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def unquote_char(s: str, i: int, quote: str) -> tuple[str, int, bool]:
    """strconv.UnquoteChar at s[i]: (value, next index, is_byte); `is_byte` for `\\x..` and octal escapes,
    which stand for one byte rather than one rune. Raises ErrSyntax."""
    c = s[i]
    if c == quote and quote in ("'", '"'):
        raise ErrSyntax
    if c != "\\":
        return c, i + 1, False
    if i + 1 >= len(s):
        raise ErrSyntax
    c = s[i + 1]
    i += 2
    simple = _UNQUOTE_ESC.get(c)
    if simple is not None:
        return simple, i, False
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        hx = s[i:i + n]
        if len(hx) < n or not all(h in _HEX for h in hx):
            raise ErrSyntax
        v = int(hx, 16)
        if c == "x":
            return chr(v), i + n, True
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise ErrSyntax
        return chr(v), i + n, False
    if c in "01234567":
        oc = s[i - 1:i + 2]
        if len(oc) < 3 or not all(d in "01234567" for d in oc):
            raise ErrSyntax
        v = int(oc, 8)
        if v > 255:
            raise ErrSyntax
        return chr(v), i + 2, True
    if c in ("'", '"'):
        if c != quote:
            raise ErrSyntax
        return c, i, False
    raise ErrSyntax


def _bytes_to_str(raw: bytearray) -> str:
    return raw.decode("utf-8", "surrogateescape")


def unquote(s: str) -> str:
    """strconv.Unquote of a "...", `...` or '...' literal; raises ErrSyntax."""
    if len(s) < 2:
        raise ErrSyntax
    q = s[0]
    if q != s[-1]:
        raise ErrSyntax
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ErrSyntax
        return body.replace("\r", "")
    if q not in ('"', "'"):
        raise ErrSyntax
    if "\n" in body:
        raise ErrSyntax
    if q == "'":  # a rune literal: exactly one character
        if not body:
            raise ErrSyntax
        v, end, is_byte = unquote_char(body, 0, q)
        if end != len(body):
            raise ErrSyntax
        return _bytes_to_str(bytearray([ord(v)])) if is_byte else v
    if "\\" not in body and '"' not in body:
        return body
    return _decode(body, q)


def _decode(body: str, q: str) -> str:
    """The escapes of a quoted body, bytes (`\\xff`, octal) joined into UTF-8 as Go's strings hold them."""
    out: list[str] = []
    raw = bytearray()
    i = 0
    while i < len(body):
        v, i, is_byte = unquote_char(body, i, q)
        if is_byte:
            raw.append(ord(v))
            continue
        if raw:
            out.append(_bytes_to_str(raw))
            raw.clear()
        out.append(v)
    if raw:
        out.append(_bytes_to_str(raw))
    return "".join(out)


def unquote_prometheus(s: str) -> str:
    """Prometheus util/strutil.Unquote, for PromQL string literals: strconv.Unquote except that '...' holds
    a string like "..." does, and a `...` raw string keeps its carriage returns. Raises ErrSyntax."""
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"'`":
        raise ErrSyntax
    q = s[0]
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ErrSyntax
        return body
    if "\n" in body:
        raise ErrSyntax
    if "\\" not in body and q not in body:
        return body
    return _decode(body, q)
