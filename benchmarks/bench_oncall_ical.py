"""Benchmark: `import-ical` of a recurring calendar (RRULE expansion with dateutil) over a year.

A Google-style export: a 5-person weekly rotation (each a FREQ=WEEKLY;INTERVAL=5 event started in
2024), a daily 09:00-17:00 day shift, an every-4-hours check-in (FREQ=HOURLY) and 50 RECURRENCE-ID
swaps, expanded over 2026 (Europe/Berlin). Also the worst accepted case: a FREQ=MINUTELY rule whose
DTSTART is far enough back that ~190,000 instances are walked before the window (the cap is 200,000).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.ical import import_ical

TZ = timeutil.zone("Europe/Berlin")


def _event(uid: str, who: str, lines: str) -> str:
    return f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20240101T000000Z\nSUMMARY:On call: {who}\n{lines}\nEND:VEVENT\n"


def calendar() -> str:
    events = []
    people = ["alice", "bob", "carol", "dave", "erin"]
    for i, who in enumerate(people):
        d = date(2024, 1, 1) + timedelta(weeks=i)
        events.append(_event(f"rot-{who}", who, f"DTSTART;TZID=Europe/Berlin:{d:%Y%m%d}T090000\n"
                             f"DTEND;TZID=Europe/Berlin:{d + timedelta(weeks=1):%Y%m%d}T090000\n"
                             "RRULE:FREQ=WEEKLY;INTERVAL=5"))
    events.append(_event("days", "frank", "DTSTART;TZID=Europe/Berlin:20240101T090000\n"
                         "DTEND;TZID=Europe/Berlin:20240101T170000\nRRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"))
    events.append(_event("checkin", "grace", "DTSTART:20240101T000000Z\nDURATION:PT15M\nRRULE:FREQ=HOURLY;INTERVAL=4"))
    for k in range(50):
        d = date(2026, 1, 5) + timedelta(weeks=k)
        owner = people[(d - date(2024, 1, 1)).days // 7 % 5]
        events.append(_event(f"rot-{owner}", "heidi", f"RECURRENCE-ID;TZID=Europe/Berlin:{d:%Y%m%d}T090000\n"
                             f"DTSTART;TZID=Europe/Berlin:{d:%Y%m%d}T090000\n"
                             f"DTEND;TZID=Europe/Berlin:{d + timedelta(days=2):%Y%m%d}T090000"))
    return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//bench//EN\n" + "".join(events) + "END:VCALENDAR\n"


def main() -> dict[str, Any]:
    text = calendar()
    a, b = timeutil.to_epoch("2026-01-01T00:00:00", TZ), timeutil.to_epoch("2027-01-01T00:00:00", TZ)
    runs = []
    n = 0
    for _ in range(3):
        t0 = time.perf_counter()
        n = len(import_ical(text, TZ, "bench.ics", a, b))
        runs.append(time.perf_counter() - t0)
    best = min(runs)
    # ~190,000 minutes before the window: close to the most a rule may walk (200,000)
    dense = ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//bench//EN\n"
             + _event("dense", "ivan", "DTSTART:20250823T000000Z\nDURATION:PT1M\nRRULE:FREQ=MINUTELY;INTERVAL=1")
             + "END:VCALENDAR\n")
    t0 = time.perf_counter()
    try:
        dense_n: int | str = len(import_ical(dense, TZ, "dense.ics", a, a + 3600))
    except InputError as exc:
        dense_n = f"refused: {exc.message}"
    dense_s = time.perf_counter() - t0
    return {
        "events": text.count("BEGIN:VEVENT"),
        "overrides_in_2026": n,
        "import_seconds_best_of_3": round(best, 4),
        "overrides_per_second": round(n / best, 1),
        "minutely_walk_190k_seconds": round(dense_s, 3),
        "minutely_walk_result": dense_n,
    }


if __name__ == "__main__":
    print(main())
