"""iCalendar: export rendered shifts as VEVENTs; import VEVENTs (recurring ones expanded) as overrides."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import icalendar

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.ical_recur import Instance, Length, RecurrenceError, Series, parse_duration, parse_rrule
from opsctl.oncall.intervals import Entry, Segment, sweep
from opsctl.oncall.schedule import Override, Schedule

PRODID = "-//opsctl//oncall//EN"
SUMMARY_PREFIX = "On call: "


def export_ical(schedule: Schedule, segments: list[Segment], dtstamp: datetime | None = None) -> bytes:
    """One VEVENT per person per rendered shift, times in UTC; X-OPSCTL-USER carries the person."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{schedule.name} on-call")
    cal.add("x-wr-timezone", schedule.time_zone)
    stamp = dtstamp or datetime.now(UTC).replace(microsecond=0)
    for seg in segments:
        for user in seg.users:
            ev = icalendar.Event()
            ev.add("uid", f"{schedule.id}-{int(seg.start)}-{user}@opsctl")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", datetime.fromtimestamp(seg.start, UTC))
            ev.add("dtend", datetime.fromtimestamp(seg.end, UTC))
            ev.add("summary", f"{SUMMARY_PREFIX}{user} ({schedule.name})")
            ev.add("categories", [seg.source])
            ev.add("x-opsctl-user", user)
            cal.add_component(ev)
    return bytes(cal.to_ical())


def _instant(value: Any, tz: ZoneInfo) -> float:
    if isinstance(value, datetime):
        return timeutil.to_epoch(value, tz)
    if isinstance(value, date):
        return timeutil.local_midnight(value, tz)
    raise ValueError(f"unsupported date value {value!r}")


def _user_of(ev: Any) -> str | None:
    if ev.get("x-opsctl-user"):
        return str(ev.get("x-opsctl-user"))
    att = ev.get("attendee")
    if att is not None:
        first = att[0] if isinstance(att, list) else att
        cn = getattr(first, "params", {}).get("CN")
        if cn:
            return str(cn)
        text = str(first)
        return text.split(":", 1)[1] if text.lower().startswith("mailto:") else text
    summary = str(ev.get("summary") or "").strip()
    if summary.startswith(SUMMARY_PREFIX):
        summary = summary[len(SUMMARY_PREFIX):]
        if summary.endswith(")") and " (" in summary:
            summary = summary[: summary.rindex(" (")]
    return summary or None


# ------------------------------------------------------------------------------------ source lines


@dataclass
class _RawEvent:
    """Where a VEVENT and its properties are in the file (icalendar does not keep line numbers)."""

    line: int
    props: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # NAME -> [(line, raw value)]


def _split_value(logical: str) -> tuple[str, str]:
    """NAME[;PARAMS] and VALUE of an unfolded content line (a ':' inside quoted params is skipped)."""
    quoted = False
    for i, ch in enumerate(logical):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return logical[:i], logical[i + 1:]
    return logical, ""


def _scan(text: str) -> list[_RawEvent]:
    """The VEVENTs of the text in document order, with the first line of each content line."""
    logical: list[tuple[int, str]] = []
    for n, line in enumerate(re.split(r"\r\n|\n|\r", text), 1):
        if line[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line:
            logical.append((n, line))
    out: list[_RawEvent] = []
    stack: list[str] = []
    for n, content in logical:
        head, value = _split_value(content)
        name = head.split(";", 1)[0].strip().upper()
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] == "VEVENT":
                out.append(_RawEvent(n))
        elif name == "END":
            if stack:
                stack.pop()
        elif stack and stack[-1] == "VEVENT" and out:
            out[-1].props.setdefault(name, []).append((n, value))
    return out


# ------------------------------------------------------------------------------------------- import

# Properties whose parse errors icalendar records (lenient parsing) and we must not silently ignore.
_CHECKED = ("DTSTART", "DTEND", "DURATION", "RDATE", "EXDATE", "RECURRENCE-ID", "EXRULE")
MAX_INSTANCES = 200_000


@dataclass
class _Event:
    """One VEVENT, read: `series` holds what the instants need, `recurring` tells RRULE/RDATE."""

    where: str
    line: int
    uid: str | None
    user: str | None
    cancelled: bool
    series: Series
    recurring: bool
    all_day: bool
    recurrence_id: float | None
    recurrence_day: date | None
    sequence: int
    has_length: bool


class _Ctx:
    def __init__(self, file: str, raw: _RawEvent | None, where: str) -> None:
        self.file, self.raw, self.where = file, raw, where

    def line(self, prop: str | None = None) -> int:
        if self.raw is None:
            return 0
        if prop and self.raw.props.get(prop):
            return self.raw.props[prop][0][0]
        return self.raw.line

    def error(self, message: str, prop: str | None = None) -> InputError:
        return InputError(f"{self.where}: {message}", self.file, self.line(prop))


def _values(ev: Any, name: str) -> list[Any]:
    """The .dt of every value of a (possibly repeated, possibly comma-listed) date property."""
    prop = ev.get(name)
    if prop is None:
        return []
    out = []
    for p in prop if isinstance(prop, list) else [prop]:
        out += [v.dt for v in p.dts]
    return out


def _in_zone(value: date | datetime, zone: tzinfo) -> datetime:
    """A DATE (local midnight), floating or zoned DATE-TIME as an aware datetime in `zone`."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone, fold=0)
        return value.astimezone(zone)
    return datetime.combine(value, time(), tzinfo=zone)


def _check_tzid(ev: Any, name: str, ctx: _Ctx) -> None:
    prop = ev.get(name)
    for p in prop if isinstance(prop, list) else [prop]:
        tzid = getattr(p, "params", {}).get("TZID") if p is not None else None
        if tzid and any(isinstance(v.dt, datetime) and v.dt.tzinfo is None
                        for v in (p.dts if hasattr(p, "dts") else [p])):
            raise ctx.error(f"{name}: unknown time zone TZID={tzid} (no VTIMEZONE for it and not an IANA or "
                            "Windows zone name)", name)


def _same_zone(a: tzinfo | None, b: tzinfo | None) -> bool:
    return a is b or (a is not None and b is not None and str(a) == str(b))


def _length(ev: Any, start_v: date | datetime, dtstart: datetime, ctx: _Ctx) -> Length | None:
    """How long each instance lasts; None when the event gives no end (a timed event without
    DTEND/DURATION has no length)."""
    zone = dtstart.tzinfo
    assert zone is not None
    if ev.get("dtend") is not None:
        end_v = ev.get("dtend").dt
        start_tz = start_v.tzinfo if isinstance(start_v, datetime) else None
        end_tz = end_v.tzinfo if isinstance(end_v, datetime) else None
        if end_tz is not None and not _same_zone(start_tz, end_tz):
            # DTEND in another zone than DTSTART: only the real time between them means anything
            return Length(exact=end_v.timestamp() - dtstart.timestamp())
        # RFC 5545 §3.8.5.3 says "exact duration"; like Mozilla's ical.js we repeat the wall-clock
        # length, so a Mon 09:00 - Mon 09:00 shift hands over at 09:00 after a DST change too.
        end = _in_zone(end_v, zone)
        return Length(nominal=end.replace(tzinfo=None) - dtstart.replace(tzinfo=None))
    if ev.get("duration") is not None:
        raw = ctx.raw.props.get("DURATION") if ctx.raw is not None else None
        if raw:
            try:
                return parse_duration(raw[0][1])
            except RecurrenceError as exc:
                raise ctx.error(str(exc), "DURATION") from None
        td = ev.get("duration").dt
        return Length(timedelta(days=td.days), float(td.seconds))
    if not isinstance(start_v, datetime):
        return Length(nominal=timedelta(days=1))
    return None


def _read_event(ev: Any, raw: _RawEvent | None, n: int, tz: ZoneInfo, file: str) -> _Event:
    uid = str(ev.get("uid")) if ev.get("uid") else None
    ctx = _Ctx(file, raw, f"VEVENT {n}" + (f" ({uid})" if uid else ""))
    for prop, msg in getattr(ev, "errors", []) or []:
        if str(prop).upper() in _CHECKED:
            raise ctx.error(f"{str(prop).upper()}: {msg}", str(prop).upper())
    if ev.get("exrule") is not None:
        raise ctx.error("EXRULE (obsolete since RFC 5545) is not supported; use EXDATE", "EXRULE")
    for name in ("DTSTART", "DTEND", "RDATE", "EXDATE", "RECURRENCE-ID"):
        _check_tzid(ev, name, ctx)
    start_prop = ev.get("dtstart")
    if start_prop is None and ev.get("recurrence-id") is not None:
        start_prop = ev.get("recurrence-id")  # an instance that is not moved (typically a cancelled one)
    if start_prop is None:
        raise ctx.error("missing DTSTART", None)
    start_v = start_prop.dt
    if not isinstance(start_v, date):
        raise ctx.error(f"DTSTART: unsupported value {start_v!r}", "DTSTART")
    all_day = not isinstance(start_v, datetime)
    zone: tzinfo = start_v.tzinfo if isinstance(start_v, datetime) and start_v.tzinfo is not None else tz
    dtstart = _in_zone(start_v, zone)
    length = _length(ev, start_v, dtstart, ctx)
    series = Series(dtstart, length or Length())
    rrules = raw.props.get("RRULE", []) if raw is not None else []
    if raw is None and ev.get("rrule") is not None:  # no source lines: take icalendar's text of the rule
        rr = ev.get("rrule")
        rrules = [(0, p.to_ical().decode().replace("\\;", ";")) for p in (rr if isinstance(rr, list) else [rr])]
    for line, text in rrules:
        try:
            series.rules.append(parse_rrule(text, zone, all_day))
        except RecurrenceError as exc:
            raise InputError(f"{ctx.where}: RRULE: {exc}", file, line) from None
    rdate_prop = ev.get("rdate")
    for p in rdate_prop if isinstance(rdate_prop, list) else ([rdate_prop] if rdate_prop is not None else []):
        for v in p.dts:
            value = v.dt
            if isinstance(value, tuple):  # VALUE=PERIOD: start/end or start/duration
                s = _in_zone(value[0], zone)
                fin = value[1]
                fin_ts = _in_zone(fin, zone).timestamp() if not isinstance(fin, timedelta) else None
                series.rdates.append((s, fin_ts if fin_ts is not None else s.timestamp() + fin.total_seconds()))
            else:
                series.rdates.append((_in_zone(value, zone), None))
    for value in _values(ev, "exdate"):
        if not isinstance(value, datetime) and not all_day:
            series.exdays.add(value)
        else:
            series.exdates.add(_in_zone(value, zone).timestamp())
    rec_id = rec_day = None
    if ev.get("recurrence-id") is not None:
        rid = ev.get("recurrence-id")
        if str(getattr(rid, "params", {}).get("RANGE", "")).upper() == "THISANDFUTURE":
            raise ctx.error("RECURRENCE-ID;RANGE=THISANDFUTURE is not supported", "RECURRENCE-ID")
        if isinstance(rid.dt, datetime) or all_day:
            rec_id = _in_zone(rid.dt, zone).timestamp()
        else:
            rec_day = rid.dt
    try:
        sequence = int(str(ev.get("sequence", 0)))
    except ValueError:
        sequence = 0
    return _Event(ctx.where, ctx.line(), uid, _user_of(ev), str(ev.get("status", "")).upper() == "CANCELLED",
                  series, bool(series.rules or series.rdates), all_day, rec_id, rec_day, sequence,
                  length is not None)


Overlap = Literal["together", "latest"]


def import_ical(data: bytes | str, tz: ZoneInfo, file: str = "<ical>", start: float | None = None,
                end: float | None = None, overlap: Overlap = "together") -> list[Override]:
    """Overrides from the VEVENTs of a calendar.

    Floating times are local to `tz`; all-day events run from local midnight. Recurring events
    (RRULE/RDATE, with EXDATE and RECURRENCE-ID instances) are expanded into the instances that overlap
    [start, end) (each instance whole); without a window only rules with COUNT or UNTIL can be expanded.
    Single (non-recurring) events are imported whatever the window. Cancelled events and instances
    (STATUS:CANCELLED) are left out. With `overlap="together"` the people of overlapping events are on
    call together (one override per piece, with several users: what an export of a `mode: union`
    schedule says); with "latest" every event (instance) is one override, sorted by start, so a later
    one replaces an earlier one where they overlap. Errors name the file and line."""
    try:
        cals = icalendar.Calendar.from_ical(data, multiple=True)
    except ValueError as exc:
        raise InputError(f"invalid iCalendar data: {exc}", file) from None
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    raws = _scan(text)
    vevents = [ev for cal in cals for ev in cal.walk("VEVENT")]
    aligned = len(raws) == len(vevents)
    events: list[_Event] = []
    cancelled_series: set[str] = set()
    for i, ev in enumerate(vevents):
        if str(ev.get("status", "")).upper() == "CANCELLED" and ev.get("recurrence-id") is None:
            if ev.get("uid"):  # a cancelled event or series: nothing of it (or its instances) is imported
                cancelled_series.add(str(ev.get("uid")))
            continue
        events.append(_read_event(ev, raws[i] if aligned else None, i + 1, tz, file))

    masters: dict[str, _Event] = {}
    for e in events:
        if e.recurrence_id is None and e.recurrence_day is None and e.recurring and e.uid is not None:
            if e.uid in masters:
                raise InputError(f"{e.where}: a second recurring event with UID {e.uid} (first: "
                                 f"{masters[e.uid].where})", file, e.line)
            masters[e.uid] = e
    # RECURRENCE-ID instances of a recurring master: the latest SEQUENCE (then the last in the file) wins
    modified: dict[tuple[str, float | date], _Event] = {}
    for e in events:
        if (e.recurrence_id is not None or e.recurrence_day is not None) and e.uid in masters:
            k: tuple[str, float | date] = (e.uid, e.recurrence_id if e.recurrence_id is not None
                                           else e.recurrence_day)  # type: ignore[assignment]
            if k not in modified or e.sequence >= modified[k].sequence:
                modified[k] = e

    out: list[Override] = []

    def add(e: _Event, s: float, t: float, user: str | None) -> None:
        if not user:
            raise InputError(f"{e.where}: no person (X-OPSCTL-USER, ATTENDEE or SUMMARY)", file, e.line)
        out.append(Override(s, t, user))
        if len(out) > MAX_INSTANCES:
            raise InputError(f"more than {MAX_INSTANCES} events and instances; narrow the window", file)

    def overlaps(s: float, t: float) -> bool:
        return start is None or end is None or (s < end and t > start)

    for e in events:
        if e.cancelled:
            continue
        if (e.recurrence_id is not None or e.recurrence_day is not None) and e.uid in cancelled_series:
            continue
        if (e.recurrence_id is not None or e.recurrence_day is not None) and e.uid in masters:
            assert e.uid is not None
            key = e.recurrence_id if e.recurrence_id is not None else e.recurrence_day
            if modified.get((e.uid, key)) is not e:  # type: ignore[arg-type]
                continue
            length = e.series.length if e.has_length else masters[e.uid].series.length
            s = e.series.dtstart.timestamp()
            t = length.end(e.series.dtstart)
            if t <= s:
                raise InputError(f"{e.where}: ends before it starts (or has no length)", file, e.line)
            if overlaps(s, t):
                add(e, s, t, e.user or masters[e.uid].user)
            continue
        if not e.has_length and not e.recurring:
            raise InputError(f"{e.where}: ends before it starts (or has no length)", file, e.line)
        first_end = e.series.length.end(e.series.dtstart)
        if first_end <= e.series.dtstart.timestamp():
            raise InputError(f"{e.where}: ends before it starts (or has no length)", file, e.line)
        if not e.recurring:
            add(e, e.series.dtstart.timestamp(), first_end, e.user)
            continue
        try:
            instances = e.series.instances(start, end)
        except RecurrenceError as exc:
            raise InputError(f"{e.where}: {exc}", file, e.line) from None
        for inst in instances:
            if e.uid is not None and ((e.uid, inst.key) in modified or (e.uid, _local_day(inst, e)) in modified):
                continue  # replaced (or cancelled) by a RECURRENCE-ID instance
            add(e, inst.start, inst.end, e.user)
    out.sort(key=lambda o: (o.start, o.end, o.user))
    return _together(out) if overlap == "together" else out


def _together(overrides: list[Override]) -> list[Override]:
    """Overlapping events put their people on call together (what an export of a `mode: union`
    schedule, or any calendar with overlapping shifts, says): each run of overlapping events becomes
    pieces with everyone on call in them. Events that do not overlap another stay as they are."""
    out: list[Override] = []
    i, n = 0, len(overrides)
    while i < n:
        j, end = i + 1, overrides[i].end
        while j < n and overrides[j].start < end:
            end = max(end, overrides[j].end)
            j += 1
        if j == i + 1:
            out.append(overrides[i])
        else:
            entries = [Entry(o.start, o.end, o.users, 0, "ical") for o in overrides[i:j]]
            out += [Override(g.start, g.end, g.users[0], g.users[1:]) for g in sweep(entries, "union")]
        i = j
    return out


def _local_day(inst: Instance, e: _Event) -> date:
    """The local date of an instance's original start (for VALUE=DATE recurrence ids of timed series)."""
    return datetime.fromtimestamp(inst.key, e.series.dtstart.tzinfo).date()
