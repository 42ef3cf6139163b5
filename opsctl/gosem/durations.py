"""Go durations: `parse_go_duration` (time.ParseDuration: `1.5h`, `-90s`, `300ms`, `2h45m`, units ns us µs ms
s m h) and `format_go_duration` (time.Duration.String: `1h0m0s`, `1.5s`, `300ms`), both in integer
nanoseconds as Go keeps them. Prometheus' own durations (`model.Duration`: `1d`, `2w`, `1y`, integers only)
are `parse_duration`/`format_duration` from `opsctl.durations`, re-exported here."""

from __future__ import annotations

from opsctl.durations import format_duration, parse_duration

__all__ = ["format_duration", "format_go_duration", "parse_duration", "parse_go_duration"]

_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_LIMIT = 1 << 63


def _time_quote(s: str) -> str:
    """The `quote` of Go's time package: ASCII printable kept, the rest as \\x bytes."""
    out = ['"']
    for ch in s:
        if ch < " " or ord(ch) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def parse_go_duration(text: str) -> int:
    """time.ParseDuration(text) in nanoseconds; ValueError with Go's message (`time: invalid duration "x"`)."""
    orig = text
    invalid = ValueError("time: invalid duration " + _time_quote(orig))
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = 0
        v = 0
        while i < len(s) and "0" <= s[i] <= "9":
            if v > _LIMIT // 10:
                raise invalid
            v = v * 10 + ord(s[i]) - 48
            if v > _LIMIT:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        f, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if f > (_LIMIT - 1) // 10:
                        overflow = True
                    else:
                        y = f * 10 + ord(s[i]) - 48
                        if y > _LIMIT:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError("time: missing unit in duration " + _time_quote(orig))
        unit_text, s = s[:i], s[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise ValueError(f"time: unknown unit {_time_quote(unit_text)} in duration {_time_quote(orig)}")
        if v > _LIMIT // unit:
            raise invalid
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > _LIMIT:
                raise invalid
        total += v
        if total > _LIMIT:
            raise invalid
    if neg:
        return -total
    if total > _LIMIT - 1:
        raise invalid
    return total


def _frac(v: int, prec: int) -> tuple[str, int]:
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    text = ("." + "".join(reversed(digits))) if printed else ""
    return text, v


def format_go_duration(ns: int) -> str:
    """time.Duration(ns).String(): `1h2m3.5s`, `1.5ms`, `0s`."""
    neg = ns < 0
    u = -ns if neg else ns
    if u < 1_000_000_000:
        if u == 0:
            return "0s"
        if u < 1_000:
            out = f"{u}ns"
        else:
            prec, unit = (3, "\u00b5s") if u < 1_000_000 else (6, "ms")
            frac, whole = _frac(u, prec)
            out = f"{whole}{frac}{unit}"
    else:
        frac, secs = _frac(u, 9)
        out = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins:
            out = f"{mins % 60}m{out}"
            hours = mins // 60
            if hours:
                out = f"{hours}h{out}"
    return "-" + out if neg else out
