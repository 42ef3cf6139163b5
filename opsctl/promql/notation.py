"""Prometheus' expanding series notation, as used by promqltest `load` blocks and promtool rule tests.

`parse_series_desc('foo{a="b"} 1+2x3 _ stale')` returns the labels (including `__name__`) and the
expanded values: `None` for a missing sample (`_`), `STALE_NAN` for `stale`.

Grammar (Prometheus' generated_parser.y, `series_item`):

- `_`          one missing sample; `_xN` N missing samples
- `v`          one sample (a number, `Inf`, `NaN`, with optional sign, or `stale`)
- `vxN`        N+1 samples of value v
- `v+dxN`      N+1 samples v, v+d, ..., v+N*d (`v-dxN` counts down)
"""

from __future__ import annotations

import re
import struct
from typing import Any

__all__ = ["STALE_NAN", "expand_values", "is_stale", "parse_labels", "parse_number", "parse_series_desc"]

# Prometheus' staleness marker: a NaN with a specific bit pattern (value.StaleNaN = 0x7ff0000000000002).
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
_STALE_BITS = 0x7FF0000000000002


def is_stale(x: float) -> bool:
    """True if x is Prometheus' staleness marker (not just any NaN)."""
    return bool(struct.unpack("<Q", struct.pack("<d", float(x)))[0] == _STALE_BITS)


# No hexadecimal: Prometheus disallows it in series descriptions ("0x10" is 0 repeated 11 times).
_NUM = r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF]|[nN][aA][nN])"
_NUM_RE = re.compile(_NUM + r"$")
# E.g. `0+0x1440` is 0 + 0 x 1440, not 0 + 0x1440.
_SNUM = _NUM
_ITEM_RE = re.compile(
    r"^(?P<base>" + _SNUM + r"|stale)"
    r"(?:(?P<delta>[+-](?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF]|[nN][aA][nN])))?"
    r"(?:x(?P<times>[0-9]+))?$"
)
_BLANK_RE = re.compile(r"^_(?:x(?P<times>[0-9]+))?$")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MAX_EXPANSION = 10_000_000


def parse_number(text: str) -> float:
    """A number of the series notation: decimal, exponent, Inf, NaN, with optional sign."""
    if not _NUM_RE.match(text):
        raise ValueError(f"invalid number {text!r}")
    body = text.lstrip("+-")
    val = float(body)
    return -val if text.startswith("-") else val


def _item(token: str) -> list[float | None]:
    m = _BLANK_RE.match(token)
    if m:
        n = int(m.group("times")) if m.group("times") is not None else 1
        if n > _MAX_EXPANSION:
            raise ValueError(f"series expansion too large: {token!r}")
        return [None] * n
    m = _ITEM_RE.match(token)
    if not m:
        raise ValueError(f'unexpected {token!r} in series values, expected number or "stale"')
    base_s, delta_s, times_s = m.group("base"), m.group("delta"), m.group("times")
    base = STALE_NAN if base_s == "stale" else parse_number(base_s)
    if times_s is None:
        if delta_s is not None:
            raise ValueError(f"unexpected {token!r} in series values: missing 'x<count>' after increment")
        return [base]
    n = int(times_s)
    if n > _MAX_EXPANSION:
        raise ValueError(f"series expansion too large: {token!r}")
    if delta_s is None:
        return [base] * (n + 1)
    if base_s == "stale":
        raise ValueError(f"unexpected {token!r} in series values: cannot increment 'stale'")
    delta = parse_number(delta_s)
    out: list[float | None] = []
    v = base
    for _ in range(n + 1):
        out.append(v)
        v += delta
    return out


_HIST_KEYS = {"schema", "sum", "count", "z_bucket", "z_bucket_w", "custom_values", "buckets", "offset",
              "n_buckets", "n_offset", "counter_reset_hint"}
_HINTS = {"unknown": 0, "reset": 1, "not_reset": 2, "gauge": 3}
_INT_RE = re.compile(r"[+-]?[0-9]+$")


def _hist_number(key: str, text: str) -> float:
    try:
        return parse_number(text)
    except ValueError:
        raise ValueError(f"error parsing {key} number: {text}") from None


def _parse_histogram(text: str, pos: int) -> tuple[Any, bool, int]:
    """Parse `{{schema:0 sum:5 buckets:[1 2]}}` at text[pos] == '{{'; return (FloatHistogram, whether
    counter_reset_hint was given, position after `}}`)."""
    from opsctl.promql.histogram import CounterResetHint, FloatHistogram, Span

    i = pos + 2
    desc: dict[str, Any] = {}
    n = len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if text.startswith("}}", i):
            i += 2
            break
        m = re.compile(r"([a-zA-Z_]+):").match(text, i)
        if not m or m.group(1).lower() not in _HIST_KEYS:
            raise ValueError(
                f"unexpected {text[i:i + 20]!r} in histogram description, expected histogram description key, "
                "e.g. buckets:[5 10 7]"
            )
        key = m.group(1).lower()
        if key in desc:
            raise ValueError(f'duplicate key "{key}" in histogram')
        i = m.end()
        if key in ("buckets", "n_buckets", "custom_values"):
            if i >= n or text[i] != "[":
                raise ValueError(f"error parsing {key}: expected '['")
            j = text.find("]", i)
            if j < 0:
                raise ValueError(f"error parsing {key}: missing ']'")
            items = text[i + 1 : j].split()
            if not items:
                raise ValueError(f"error parsing {key}: empty bucket set")
            desc[key] = [_hist_number(key, x) for x in items]
            i = j + 1
            continue
        j = i
        while j < n and text[j] not in " \t" and not text.startswith("}}", j):
            j += 1
        word = text[i:j]
        i = j
        if key == "counter_reset_hint":
            if word.lower() not in _HINTS:
                raise ValueError(f"error parsing counter_reset_hint: unknown value {word}")
            desc[key] = CounterResetHint(_HINTS[word.lower()])
        elif key in ("schema", "offset", "n_offset"):
            if not _INT_RE.match(word):
                raise ValueError(f"error parsing {key} number: {word}")
            desc[key] = int(word)
        else:
            desc[key] = _hist_number(key, word)
        if i >= n:
            raise ValueError("unterminated histogram description, expected '}}'")
    h = FloatHistogram()
    h.schema = int(desc.get("schema", 0))
    h.sum = float(desc.get("sum", 0.0))
    h.count = float(desc.get("count", 0.0))
    h.zero_count = float(desc.get("z_bucket", 0.0))
    h.zero_threshold = float(desc.get("z_bucket_w", 0.0))
    if "custom_values" in desc:
        h.custom_values = list(desc["custom_values"])
    for bkey, okey, bucket_attr, span_attr in (
        ("buckets", "offset", "positive_buckets", "positive_spans"),
        ("n_buckets", "n_offset", "negative_buckets", "negative_spans"),
    ):
        buckets = list(desc.get(bkey, []))
        setattr(h, bucket_attr, buckets)
        setattr(h, span_attr, [Span(int(desc.get(okey, 0)), len(buckets))] if buckets else [])
    if "counter_reset_hint" in desc:
        h.counter_reset_hint = desc["counter_reset_hint"]
    return h, "counter_reset_hint" in desc, i


def _histogram_item(text: str, pos: int, out: list[Any], hints: list[bool] | None, reconcile: bool = False) -> int:
    """Expand one histogram item (`{{..}}`, `{{..}}xN`, `{{..}}+{{..}}xN`, `{{..}}-{{..}}xN`)."""
    base, base_hint, pos = _parse_histogram(text, pos)
    n = len(text)
    if pos + 2 < n and text[pos] in "+-" and text.startswith("{{", pos + 1):
        op = text[pos]
        inc, inc_hint, pos = _parse_histogram(text, pos + 1)
        m = re.compile(r"x([0-9]+)").match(text, pos)
        if not m:
            raise ValueError("unexpected histogram increment without 'x<count>'")
        times = int(m.group(1))
        pos = m.end()
        if times > _MAX_EXPANSION:
            raise ValueError("series expansion too large")
        # Prometheus records whether the increment (the last histogram built) set a hint.
        vals = [base]
        cur = base
        from opsctl.promql.histogram import HistogramError

        for _ in range(times):
            if cur.schema > inc.schema:
                raise ValueError(
                    f"error combining histograms: cannot merge from schema {inc.schema} to {cur.schema}"
                )
            try:
                cur = cur.copy().add(inc, reconcile) if op == "+" else cur.copy().sub(inc, reconcile)
            except HistogramError as exc:
                raise ValueError(str(exc)) from None
            vals.append(cur)
        out.extend(vals)
        if hints is not None:
            hints.extend([inc_hint] * len(vals))
    else:
        m = re.compile(r"x([0-9]+)").match(text, pos)
        count = 1
        if m:
            count = int(m.group(1)) + 1
            pos = m.end()
            if count > _MAX_EXPANSION:
                raise ValueError("series expansion too large")
        out.extend([base] * count)
        if hints is not None:
            hints.extend([base_hint] * count)
    if pos < n and text[pos] not in " \t\r\n":
        raise ValueError(f"unexpected {text[pos:pos + 20]!r} after histogram in series values")
    return pos


def expand_values(text: str, hints: list[bool] | None = None, reconcile: bool = False) -> list[Any]:
    """Expand a series value sequence such as `1+2x3 _ stale 5x2`.

    Elements are floats, None (a missing sample) or, for `{{...}}` native-histogram samples,
    `opsctl.promql.histogram.FloatHistogram` objects. If `hints` is a list, one bool per value is
    appended to it: whether that value is a histogram whose `counter_reset_hint` was given explicitly
    (promqltest compares the hint only then). `reconcile` (Prometheus >= 3.8, the engine option
    `nhcb_reconcile`): `{{..}}+{{..}}xN` / `-` with custom buckets of different bounds adds on their
    common bounds, as the parser's FloatHistogram.Add does from 3.8 on; else (3.0 to 3.7) an error.
    """
    out: list[Any] = []
    if "{{" not in text:
        for token in text.split():
            got = _item(token)
            out.extend(got)
            if hints is not None:
                hints.extend([False] * len(got))
            if len(out) > _MAX_EXPANSION:
                raise ValueError("series expansion too large")
        return out
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            break
        if text.startswith("{{", pos):
            pos = _histogram_item(text, pos, out, hints, reconcile)
        else:
            end = pos
            while end < n and text[end] not in " \t\r\n":
                end += 1
            got = _item(text[pos:end])
            out.extend(got)
            if hints is not None:
                hints.extend([False] * len(got))
            pos = end
        if len(out) > _MAX_EXPANSION:
            raise ValueError("series expansion too large")
    return out


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def _read_string(text: str, pos: int) -> tuple[str, int]:
    """Read a Go-style quoted string starting at text[pos]; return (value, position after it)."""
    quote = text[pos]
    if quote not in "\"'`":
        raise ValueError(f"expected quoted string at column {pos + 1}")
    i = pos + 1
    out: list[str] = []
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n" and quote != "`":
            break
        if c == "\\" and quote != "`":
            i += 1
            if i >= len(text):
                break
            e = text[i]
            if e in _ESCAPES:
                if (e == "'" and quote == '"') or (e == '"' and quote == "'"):
                    raise ValueError(f"invalid escape sequence \\{e} at column {i}")
                out.append(_ESCAPES[e])
                i += 1
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(e)
            if width is not None:
                digits = text[i + 1 : i + 1 + width]
                if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                    raise ValueError(f"invalid escape sequence at column {i}")
                out.append(chr(int(digits, 16)))
                i += 1 + width
                continue
            if e in "01234567":
                digits = text[i : i + 3]
                if len(digits) != 3 or not re.fullmatch(r"[0-7]{3}", digits):
                    raise ValueError(f"invalid escape sequence at column {i}")
                out.append(chr(int(digits, 8)))
                i += 3
                continue
            raise ValueError(f"invalid escape sequence \\{e} at column {i}")
        out.append(c)
        i += 1
    raise ValueError("unterminated quoted string")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _parse_label_block(text: str, pos: int, labels: dict[str, str]) -> int:
    """Parse `{a="b", "utf8.name"="c", "bare.metric"}` starting at text[pos] == '{'."""
    pos += 1
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            raise ValueError("unterminated label set, expected '}'")
        if text[pos] == "}":
            return pos + 1
        if text[pos] in "\"'`":
            name, pos = _read_string(text, pos)
            pos = _skip_ws(text, pos)
            if pos < len(text) and text[pos] in ",}":
                # A quoted metric name (Prometheus 3 UTF-8 syntax).
                if "__name__" in labels:
                    raise ValueError("metric name specified twice")
                labels["__name__"] = name
                if text[pos] == ",":
                    pos += 1
                continue
        else:
            m = _LABEL_NAME_RE.match(text, pos)
            if not m:
                raise ValueError(f"unexpected character {text[pos]!r} in label set at column {pos + 1}")
            name = m.group(0)
            pos = _skip_ws(text, m.end())
        if pos >= len(text) or text[pos] != "=":
            raise ValueError(f"expected '=' after label name {name!r} at column {pos + 1}")
        pos = _skip_ws(text, pos + 1)
        if pos >= len(text):
            raise ValueError(f"expected label value for {name!r}")
        value, pos = _read_string(text, pos)
        if name in labels:
            raise ValueError(f"label {name!r} specified twice")
        labels[name] = value
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "}":
            continue
        else:
            raise ValueError(f"expected ',' or '}}' in label set at column {pos + 1}")


def parse_labels(text: str) -> tuple[dict[str, str], int]:
    """Parse a series selector with equality labels only (`foo{a="b"}`, `{__name__="foo"}`).

    Returns the labels and the position right after the selector. Empty label values are dropped,
    as Prometheus does when storing a series.
    """
    pos = _skip_ws(text, 0)
    labels: dict[str, str] = {}
    m = _METRIC_NAME_RE.match(text, pos)
    if m:
        labels["__name__"] = m.group(0)
        pos = m.end()
    if pos < len(text) and text[pos] == "{":
        name = labels.pop("__name__", None)
        pos = _parse_label_block(text, pos, labels)
        if name is not None:
            if "__name__" in labels:
                raise ValueError("metric name specified twice")
            labels["__name__"] = name
    if not labels and not text[pos - 1 : pos] == "}":
        raise ValueError("expected a metric name or a label set")
    return {k: v for k, v in labels.items() if v != ""}, pos


def parse_series_desc(text: str, hints: list[bool] | None = None,
                      reconcile: bool = False) -> tuple[dict[str, str], list[Any]]:
    """Parse `metric{labels} values...` into (labels incl. `__name__`, expanded values); see
    expand_values() for the value types, `hints` and `reconcile`."""
    labels, pos = parse_labels(text)
    rest = text[pos:]
    if rest and rest[0] not in " \t":
        raise ValueError(f"unexpected {rest[:20]!r} after series labels")
    return labels, expand_values(rest, hints, reconcile)


_ST_ITEM = re.compile(r"([+-]?)([0-9]+)([a-wyzA-Z]*)")


def _st_duration(text: str, pos: int) -> tuple[int, int]:
    """A signed Prometheus duration of one unit at text[pos:] (promqltest's parseDurationPrefix): (ms, end)."""
    m = _ST_ITEM.match(text, pos)
    if not m:
        raise ValueError(f"expected digits in duration {text[pos:]!r}")
    from opsctl.durations import parse_duration

    ms = round(parse_duration(m.group(2) + m.group(3)) * 1000)
    return (-ms if m.group(1) == "-" else ms), m.end()


def parse_st_sequence(text: str) -> list[int | None]:
    """promqltest's `@st` offset sequence (parseSTSequence): `_`, `_xN`, `<dur>`, `<dur>xN` (N+1 times),
    `<dur>+<dur>xN` / `<dur>-<dur>xN`; offsets in ms relative to each sample's time, None omitted."""
    out: list[int | None] = []
    for item in text.split():
        if item == "_":
            out.append(None)
            continue
        if item.startswith("_x"):
            n = int(item[2:])
            if n <= 0:
                raise ValueError("invalid repeat count")
            out.extend([None] * n)
            continue
        base, pos = _st_duration(item, 0)
        rest = item[pos:]
        if not rest:
            out.append(base)
        elif rest[0] == "x":
            out.extend([base] * (int(rest[1:]) + 1))
        elif rest[0] in "+-":
            delta, pos2 = _st_duration(item[pos + 1 :], 0)
            delta = -delta if rest[0] == "-" else delta
            tail = item[pos + 1 + pos2 :]
            if not tail.startswith("x"):
                raise ValueError("expected 'x<count>' after step duration")
            out.extend(base + k * delta for k in range(int(tail[1:]) + 1))
        else:
            raise ValueError(f"unexpected character {rest[0]!r} after duration")
    return out
