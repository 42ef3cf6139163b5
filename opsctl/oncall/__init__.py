"""On-call schedules, escalation policies and drills (library for `opsctl oncall` / `opsctl drill`).

Modules:
- `timeutil`: parsing instants and wall-clock arithmetic in a schedule's time zone.
- `intervals`: sweeping prioritised intervals into a final, non-overlapping timeline.
- `schedule`: the schedule model (PagerDuty-like layers, restrictions, overrides) and its rendering.
- `coverage`: who is on call, gaps, and load (hours by category, streaks, rest, fairness).
- `policy`: escalation policies (levels, delays, loops, urgency, ack timeout, response targets).
- `pagerduty`, `ical`: import/export (`ical_recur`: recurring iCal events expanded with dateutil's rrule).
- `drill`: replaying incidents against a schedule and policy with responder models.
- `postmortem`: post-incident documents from a drill result.
"""
