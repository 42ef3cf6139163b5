"""The one parser for every time given on the command line (`--from`, `--to`, `--at`, ...).

Accepted forms (surrounding spaces ignored, letters case-insensitive):

- RFC 3339 / ISO 8601 with a zone: `2026-01-31T12:00:00Z`, `2026-01-31T12:00:00.5+02:00`,
  a space instead of `T` is fine.
- A date or a date-time WITHOUT a zone (`2026-01-31`, `2026-01-31T12:00`): read as UTC, unless the
  caller passes `tz` (the on-call commands pass the schedule's zone).
- Unix seconds, integer or decimal: `1769860800`, `1769860800.25`, `-5` (before 1970).
- `now`; `now-1h`, `now+30m`; and the short forms `-7d`, `+1h` (relative to now). Durations are
  Prometheus durations (`90s`, `1h30m`, `2w`, `100ms`); a signed bare number is Unix seconds, not a
  duration.

Every problem is an `InputError` whose message names the option (`what`) and the text given.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, tzinfo

from opsctl.durations import parse_duration
from opsctl.errors import InputError

__all__ = ["FORMS", "parse_range", "parse_time"]

CLI = "<command line>"
FORMS = "RFC 3339 (2026-01-31T00:00:00Z), a date (2026-01-31, UTC), Unix seconds, now, now-1h or -7d"

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_RELATIVE = re.compile(r"(now)?\s*([+-])\s*([0-9a-z]+)")
# Unix seconds of 0001-01-01 and 9999-12-31T23:59:59: the span datetime can show.
_MIN_T = -62135596800.0
_MAX_T = 253402300799.0


def _bad(what: str, text: str, why: str = "") -> InputError:
    reason = f"{why}; expected" if why else "not a time; expected"
    return InputError(f"{what} {text!r}: {reason} {FORMS}", CLI)


def _checked(value: float, what: str, text: str) -> float:
    if not math.isfinite(value) or not _MIN_T <= value <= _MAX_T:
        raise _bad(what, text, "out of range (years 1 to 9999)")
    return value


def parse_time(text: str, *, now: float | None = None, what: str = "--from", tz: tzinfo | None = None) -> float:
    """Unix seconds of `text` (see the module docstring for the forms).

    `now` (Unix seconds) anchors `now` and relative forms (default: the current time); `what` is the
    option named in errors; `tz` is the zone of date-times given without one (default UTC).
    """
    if not isinstance(text, str):
        raise _bad(what, str(text))
    raw = text
    s = text.strip().lower()
    if not s:
        raise _bad(what, raw, "empty")
    base = time.time() if now is None else float(now)
    if s == "now":
        return _checked(base, what, raw)
    if _NUMBER.fullmatch(s):
        return _checked(float(s), what, raw)
    m = _RELATIVE.fullmatch(s)
    if m:
        try:
            delta = parse_duration(m.group(3))
        except ValueError as exc:
            raise _bad(what, raw, str(exc)) from None
        return _checked(base + delta if m.group(2) == "+" else base - delta, what, raw)
    iso = s.upper()
    if iso.endswith("Z"):
        iso = iso[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(iso)
    except (ValueError, OverflowError):
        raise _bad(what, raw) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz or UTC)
    try:
        value = dt.timestamp()
    except (OverflowError, ValueError):
        raise _bad(what, raw, "out of range (years 1 to 9999)") from None
    return _checked(value, what, raw)


def parse_range(
    from_text: str | None,
    to_text: str | None,
    *,
    now: float | None = None,
    default_from: str | None = None,
    default_to: str | None = "now",
    tz: tzinfo | None = None,
) -> tuple[float, float]:
    """`(start, end)` in Unix seconds from `--from`/`--to`; both relative to the same `now`.

    A missing side takes its default (itself parsed by `parse_time`); a missing side without a default
    is an error naming the option. `--from` after `--to` is an error; equal ends are allowed.
    """
    base = time.time() if now is None else float(now)
    f = from_text if from_text is not None else default_from
    t = to_text if to_text is not None else default_to
    if f is None:
        raise InputError("--from is required", CLI)
    if t is None:
        raise InputError("--to is required", CLI)
    start = parse_time(f, now=base, what="--from", tz=tz)
    end = parse_time(t, now=base, what="--to", tz=tz)
    if start > end:
        raise InputError(f"--from {f!r} is after --to {t!r}", CLI)
    return start, end
