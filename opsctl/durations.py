"""Prometheus durations: `1h30m`, `5m`, `90s`, `1d`, `2w`, `1y`, `100ms` (model.ParseDuration)."""

from __future__ import annotations

import functools
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
_UNIT_MS = {unit: round(seconds * 1000) for unit, seconds in _UNITS.items()}


@functools.lru_cache(maxsize=4096)  # rule files repeat a handful of durations thousands of times
def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration; raises ValueError like Go's model.ParseDuration."""
    if text == "0":
        return 0.0
    if not text:
        raise ValueError("empty duration string")
    m = _RE.match(text)
    if not m or not any(m.groups()):
        raise ValueError(f'not a valid duration string: "{text}"')
    ms = 0
    for unit, value in zip(_ORDER, m.groups(), strict=True):
        if value is not None:
            ms += int(value) * _UNIT_MS[unit]
    # model.Duration is a Go time.Duration: nanoseconds in an int64, so at most ~292 years (`293y` fails,
    # `106751d` passes, `106752d` fails: checked against promtool 2.42).
    if ms * 1_000_000 > 2**63 - 1:
        raise ValueError(f'duration out of range: "{text}"')
    return ms / 1000


def format_duration(seconds: float) -> str:
    """Inverse of parse_duration, in Prometheus' canonical form (`1h30m`, `0s`)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit in _ORDER:
        size = round(_UNITS[unit] * 1000)
        if ms >= size:
            n, ms = divmod(ms, size)
            out.append(f"{n}{unit}")
    return "".join(out)
