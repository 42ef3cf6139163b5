"""iCalendar: export rendered shifts as VEVENTs; import VEVENTs as overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.intervals import Segment
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


def import_ical(data: bytes | str, tz: ZoneInfo, file: str = "<ical>") -> list[Override]:
    """Overrides from the VEVENTs of a calendar. Floating times are local to `tz`; all-day events run
    from local midnight; recurring events (RRULE/RDATE) are refused rather than half-read."""
    try:
        cals = icalendar.Calendar.from_ical(data, multiple=True)
    except ValueError as exc:
        raise InputError(f"invalid iCalendar data: {exc}", file) from None
    out = []
    n = 0
    for cal in cals:
        for ev in cal.walk("VEVENT"):
            n += 1
            where = f"VEVENT {n}" + (f" ({ev.get('uid')})" if ev.get("uid") else "")
            if ev.get("rrule") is not None or ev.get("rdate") is not None:
                raise InputError(f"{where}: recurring events (RRULE/RDATE) are not supported; export them "
                                 "expanded", file)
            if str(ev.get("status", "")).upper() == "CANCELLED":
                continue
            user = _user_of(ev)
            if not user:
                raise InputError(f"{where}: no person (X-OPSCTL-USER, ATTENDEE or SUMMARY)", file)
            start_prop = ev.get("dtstart")
            if start_prop is None:
                raise InputError(f"{where}: missing DTSTART", file)
            start_v = start_prop.dt
            try:
                start = _instant(start_v, tz)
                if ev.get("dtend") is not None:
                    end = _instant(ev.get("dtend").dt, tz)
                elif ev.get("duration") is not None:
                    end = start + ev.get("duration").dt.total_seconds()
                elif isinstance(start_v, date) and not isinstance(start_v, datetime):
                    end = timeutil.local_midnight(start_v + timedelta(days=1), tz)
                else:
                    end = start
            except ValueError as exc:
                raise InputError(f"{where}: {exc}", file) from None
            if end <= start:
                raise InputError(f"{where}: ends before it starts (or has no length)", file)
            out.append(Override(start, end, user))
    out.sort(key=lambda o: (o.start, o.end, o.user))
    return out
