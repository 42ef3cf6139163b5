"""Go's time.Time as template values: String() and Format(layout) like Go."""

from __future__ import annotations

import datetime as dt
from typing import Any

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Go layout tokens, longest first where prefixes overlap
_TOKENS = [
    "January", "Jan", "Monday", "Mon", "MST",
    "2006", "002", "01", "02", "03", "04", "05", "06", "_2", "15",
    "-07:00:00", "-0700", "-07:00", "-07", "Z07:00:00", "Z0700", "Z07:00", "Z07",
    "PM", "pm", "1", "2", "3", "4", "5",
]


class GoTime:
    """A Go time.Time (wraps an aware datetime; nanoseconds kept separately)."""

    gotype = "time.Time"

    def __init__(self, when: dt.datetime, nanos: int | None = None) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        self.dt = when
        self.nanos = when.microsecond * 1000 if nanos is None else nanos

    @classmethod
    def from_unix_nanos(cls, ns: int) -> GoTime:
        sec, rem = divmod(ns, 1_000_000_000)
        d = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=sec, microseconds=rem // 1000)
        return cls(d, rem)

    def __str__(self) -> str:
        return self.Format("2006-01-02 15:04:05.999999999 -0700 MST")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and self.dt == other.dt and self.nanos == other.nanos

    def __hash__(self) -> int:
        return hash((self.dt, self.nanos))

    def GoString(self) -> str:
        d = self.dt
        off = d.utcoffset()
        loc = "time.UTC" if not off else 'time.Location("")'
        return (f"time.Date({d.year}, time.{_MONTHS[d.month - 1]}, {d.day}, {d.hour}, {d.minute}, {d.second}, "
                f"{self.nanos}, {loc})")

    # Go methods usable from templates
    def Format(self, layout: str) -> str:
        return go_format(self, layout)

    def Unix(self) -> int:
        return (self.dt - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(seconds=1)  # exact, no float

    def UnixMilli(self) -> int:
        return self.Unix() * 1000 + self.nanos // 1_000_000

    def UnixNano(self) -> int:
        return self.Unix() * 1_000_000_000 + self.nanos

    def UTC(self) -> GoTime:
        return GoTime(self.dt.astimezone(dt.UTC), self.nanos)

    def Local(self) -> GoTime:
        return self

    def IsZero(self) -> bool:
        return self.dt.year == 1 and self.dt.month == 1 and self.dt.day == 1 and self.dt.hour == 0 \
            and self.dt.minute == 0 and self.dt.second == 0 and self.nanos == 0

    def Year(self) -> int:
        return self.dt.year

    def Day(self) -> int:
        return self.dt.day

    def Hour(self) -> int:
        return self.dt.hour

    def Minute(self) -> int:
        return self.dt.minute

    def Second(self) -> int:
        return self.dt.second


    def Add(self, d: GoDuration) -> GoTime:
        return GoTime.from_unix_nanos(self.UnixNano() + d.ns)


class GoDuration:
    """A Go time.Duration (int64 nanoseconds): String() like Go (`1h0m0s`, `1.5s`, `100ms`, `0s`)."""

    gotype = "time.Duration"

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __str__(self) -> str:
        return go_duration_string(self.ns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and self.ns == other.ns

    def __hash__(self) -> int:
        return hash(self.ns)

    def String(self) -> str:
        return str(self)

    def Nanoseconds(self) -> int:
        return self.ns

    def Milliseconds(self) -> int:
        return int(self.ns / 1_000_000)

    def Seconds(self) -> float:
        return self.ns / 1e9

    def Minutes(self) -> float:
        return self.ns / 6e10

    def Hours(self) -> float:
        return self.ns / 3.6e12


def go_duration_string(ns: int) -> str:
    """time.Duration.String() (opsctl.gosem keeps Go's semantics in one place)."""
    from opsctl.gosem.durations import format_go_duration

    return format_go_duration(ns)


ZERO_TIME = GoTime(dt.datetime(1, 1, 1, tzinfo=dt.UTC), 0)


def _zone_name(d: dt.datetime) -> str:
    off = d.utcoffset() or dt.timedelta(0)
    name = d.tzname() or ""
    if off == dt.timedelta(0) and name in ("UTC", "UTC+00:00", ""):
        return "UTC"
    if name.startswith("UTC"):
        secs = int(off.total_seconds())
        sign = "+" if secs >= 0 else "-"
        secs = abs(secs)
        h, m = divmod(secs // 60, 60)
        return f"{sign}{h:02d}{m:02d}"
    return name


def go_format(t: GoTime, layout: str) -> str:
    d = t.dt
    out: list[str] = []
    i = 0
    n = len(layout)
    while i < n:
        # fractional seconds: .000 / ,000 / .999
        if layout[i] in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not (j < n and layout[j].isdigit()):
                digits = j - i - 1
                frac = f"{t.nanos:09d}"[:digits]
                if ch == "9":
                    frac = frac.rstrip("0")
                    if frac:
                        out.append(layout[i] + frac)
                else:
                    out.append(layout[i] + frac)
                i = j
                continue
        for tok in _TOKENS:
            if layout.startswith(tok, i):
                out.append(_fmt_token(tok, d))
                i += len(tok)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)


def _fmt_token(tok: str, d: dt.datetime) -> str:
    off = d.utcoffset() or dt.timedelta(0)
    secs = int(off.total_seconds())
    if tok == "January":
        return _MONTHS[d.month - 1]
    if tok == "Jan":
        return _MONTHS[d.month - 1][:3]
    if tok == "Monday":
        return _DAYS[d.weekday()]
    if tok == "Mon":
        return _DAYS[d.weekday()][:3]
    if tok == "MST":
        return _zone_name(d)
    if tok == "2006":
        return f"{d.year:04d}"
    if tok == "06":
        return f"{d.year % 100:02d}"
    if tok == "01":
        return f"{d.month:02d}"
    if tok == "1":
        return str(d.month)
    if tok == "02":
        return f"{d.day:02d}"
    if tok == "2":
        return str(d.day)
    if tok == "_2":
        return f"{d.day:2d}"
    if tok == "002":
        return f"{d.timetuple().tm_yday:03d}"
    if tok == "15":
        return f"{d.hour:02d}"
    if tok in ("03", "3"):
        h = d.hour % 12 or 12
        return f"{h:02d}" if tok == "03" else str(h)
    if tok == "04":
        return f"{d.minute:02d}"
    if tok == "4":
        return str(d.minute)
    if tok == "05":
        return f"{d.second:02d}"
    if tok == "5":
        return str(d.second)
    if tok == "PM":
        return "PM" if d.hour >= 12 else "AM"
    if tok == "pm":
        return "pm" if d.hour >= 12 else "am"
    if tok.startswith("Z") and secs == 0:
        return "Z"
    sign = "+" if secs >= 0 else "-"
    a = abs(secs)
    hh, rem = divmod(a, 3600)
    mm, ss = divmod(rem, 60)
    core = tok.lstrip("Z-")
    if core == "07":
        return f"{sign}{hh:02d}"
    if core == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if core == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if core == "07:00:00":
        return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"
    return tok


def to_gotime(v: Any) -> GoTime:
    if isinstance(v, GoTime):
        return v
    if isinstance(v, dt.datetime):
        return GoTime(v)
    raise TypeError(f"not a time: {v!r}")
