"""Go-compatible text formatting used in rule unit-test reports, so that messages read like promtool's.

- `go_quote(s)`: Go's `strconv.Quote`.
- `labels_string(labels)`: Prometheus `labels.Labels.String()`: `{__name__="x", a="b"}`, sorted by name.
- `float_e(v)`: Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `6.1E+01`, `NaN`, `+Inf`.
- `model_duration(ms)`: prometheus/common `model.Duration.String()`: `5m`, `1d`, `2m59s999ms`, `0s`.
- `go_duration(ms)`: Go's `time.Duration.String()`: `0s`, `1m0s`, `1h0m0s`, `2m59.999s`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal

_SIMPLE_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    "\\": "\\\\", '"': '\\"',
}


def _go_printable(c: str) -> bool:
    if c == " ":
        return True
    cat = unicodedata.category(c)
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols (and ASCII space).
    return cat[0] in "LMNPS"


def go_quote(s: str) -> str:
    """Go's strconv.Quote."""
    out = ['"']
    for c in s:
        if c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
        elif _go_printable(c):
            out.append(c)
        else:
            cp = ord(c)
            if cp < 0x80:
                out.append(f"\\x{cp:02x}")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def labels_string(labels: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """Prometheus labels.Labels.String() of a label set (sorted by name)."""
    pairs = labels.items() if isinstance(labels, Mapping) else labels
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(pairs)) + "}"


def float_e(v: float) -> str:
    """Go's strconv.FormatFloat(v, 'E', -1, 64): shortest round-trip digits in d.dddE±dd form."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return sign + "0E+00"
    dec = Decimal(repr(abs(v)))
    digits_t = dec.as_tuple()
    digits = "".join(str(d) for d in digits_t.digits).rstrip("0") or "0"
    # exponent of the first digit
    exp = len(digits_t.digits) + int(digits_t.exponent) - 1
    # strip leading zeros from the digit tuple if any (repr never gives them for non-zero values)
    stripped = digits.lstrip("0")
    if stripped != digits:
        exp -= len(digits) - len(stripped)
        digits = stripped
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    esign = "+" if exp >= 0 else "-"
    return f"{sign}{mant}E{esign}{abs(exp):02d}"


_MODEL_UNITS: list[tuple[str, int, bool]] = [
    ("y", 1000 * 60 * 60 * 24 * 365, True),
    ("w", 1000 * 60 * 60 * 24 * 7, True),
    ("d", 1000 * 60 * 60 * 24, False),
    ("h", 1000 * 60 * 60, False),
    ("m", 1000 * 60, False),
    ("s", 1000, False),
    ("ms", 1, False),
]


def model_duration(ms: int) -> str:
    """prometheus/common model.Duration.String() of a duration in milliseconds."""
    if ms == 0:
        return "0s"
    out = []
    for unit, mult, exact in _MODEL_UNITS:
        if exact and ms % mult != 0:
            continue
        v = ms // mult
        if v > 0:
            out.append(f"{v}{unit}")
            ms -= v * mult
    return "".join(out)


def _frac(value: int, digits: int) -> str:
    """Integer part and trimmed fraction of value / 10**digits."""
    whole, frac = divmod(value, 10**digits)
    fs = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{fs}" if fs else str(whole)


def go_duration(ms: int) -> str:
    """Go's time.Duration.String() for a duration given in milliseconds."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    hours, rest = divmod(ms, 3600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = _frac(rest, 3) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return sign + secs


def indent_lines(text: str, indent: str) -> str:
    """promtool's indentLines: prefix every line but the first with indent."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [indent + line for line in lines[1:]])
