"""Go-compatible text formatting used in rule unit-test reports, so that messages read like promtool's.

- `go_quote(s)`: Go's `strconv.Quote`.
- `labels_string(labels)`: Prometheus `labels.Labels.String()`: `{__name__="x", a="b"}`, sorted by name.
- `float_e(v)`: Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `6.1E+01`, `NaN`, `+Inf`.
- `model_duration(ms)`: prometheus/common `model.Duration.String()`: `5m`, `1d`, `2m59s999ms`, `0s`.
- `go_duration(ms)`: Go's `time.Duration.String()`: `0s`, `1m0s`, `1h0m0s`, `2m59.999s`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal

from opsctl.gosem.durations import format_go_duration
from opsctl.gosem.strconv import quote


def go_quote(s: str) -> str:
    """Go's strconv.Quote (opsctl.gosem)."""
    return quote(s)


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


def go_duration(ms: int) -> str:
    """Go's time.Duration.String() for a duration given in milliseconds (opsctl.gosem)."""
    return format_go_duration(ms * 1_000_000)


def indent_lines(text: str, indent: str) -> str:
    """promtool's indentLines: prefix every line but the first with indent."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [indent + line for line in lines[1:]])
