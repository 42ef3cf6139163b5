"""Post-incident documents (Markdown) from a drill result's incident record.

The record is the per-incident object of `opsctl drill run --format json` (see docs/oncall.md); the
document has a summary, impact, a timeline and follow-up actions derived from what the timeline shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsctl.durations import format_duration


def _dur(seconds: float | None) -> str:
    return "n/a" if seconds is None else format_duration(round(seconds))


def _span(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def actions(inc: dict[str, Any], targets: dict[str, Any] | None) -> list[str]:
    """Follow-up actions that the timeline supports (nothing invented)."""
    out = []
    skipped = [e for e in inc["timeline"] if e["event"] == "skipped"]
    for e in skipped:
        out.append(f"Close the coverage gap: {e['detail']} at {e['at']} (check `opsctl oncall gaps`).")
    exhausted = inc.get("exhausted_at")
    if inc["acknowledged_at"] is None and inc.get("auto_resolved_before_ack") and not exhausted:
        out.append("Nobody acknowledged before the alert resolved by itself: check whether it should page "
                   "at all, or lower its urgency.")
    elif inc["acknowledged_at"] is None:
        unanswered = _span(inc["triggered_at"], inc["resolved_at"])
        out.append("Nobody acknowledged: the escalation policy was exhausted"
                   + (f" at {exhausted}" if exhausted else "")
                   + (f" and the incident stayed open {_dur(unanswered)} without an answer" if unanswered else "")
                   + ". Add a final level or loops (num_loops) and check responders' notification rules.")
    elif exhausted:
        out.append(f"The escalation policy was exhausted at {exhausted} before {inc['acknowledged_by']} "
                   "acknowledged late: add a final level or loops (num_loops).")
    if inc["max_level"] > 1:
        first = [p["user"] for p in inc["pages"] if p["level"] == 1]
        who = ", ".join(sorted(set(first))) or "level 1"
        out.append(f"Escalated to level {inc['max_level']}: find out why {who} did not acknowledge in time.")
    if "ack" in inc["missed"] and targets and targets.get("ack_seconds") is not None:
        out.append(f"Acknowledgement target missed ({_dur(targets['ack_seconds'])} for {inc['severity']}; "
                   f"took {_dur(inc['time_to_ack_seconds'])}): review level-1 escalation delay and paging "
                   "reliability.")
    if "respond" in inc["missed"] and targets and targets.get("respond_seconds") is not None:
        out.append(f"Response target missed ({_dur(targets['respond_seconds'])} for {inc['severity']}; "
                   f"took {_dur(inc['time_to_respond_seconds'])}): check access/runbook readiness for the "
                   "responder.")
    night = sorted({p["user"] for p in inc["pages"] if p["night"]})
    if night:
        out.append(f"Night pages ({', '.join(night)}): confirm severity {inc['severity']!r} justifies waking "
                   "people, or route it to business hours.")
    if inc["retriggers"]:
        out.append(f"Re-triggered {inc['retriggers']} time(s) by the acknowledgement timeout: the incident "
                   "outlived the timeout; hand over explicitly or resolve sooner.")
    return out


def render_markdown(inc: dict[str, Any], source: str, targets: dict[str, Any] | None = None) -> str:
    tta = inc["time_to_ack_seconds"]
    ttr = inc["time_to_respond_seconds"]
    open_for = _span(inc["triggered_at"], inc["resolved_at"])
    unacked_for = _span(inc["triggered_at"], inc["acknowledged_at"] or inc["resolved_at"])
    paged = sorted({p["user"] for p in inc["pages"]})
    lines = [
        f"# Post-incident review: {inc['id']} — {inc['title']}",
        "",
        f"_Source: {source}. Times are in the schedule's time zone._",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Severity | {inc['severity']} ({inc['urgency']} urgency) |",
        f"| Triggered | {inc['triggered_at']} |",
        f"| Acknowledged | {inc['acknowledged_at'] or 'never'}"
        + (f" by {inc['acknowledged_by']} (level {inc['acknowledged_level']})" if inc["acknowledged_by"] else "")
        + " |",
        f"| Responding | {inc['responded_at'] or 'never'} |",
        f"| Resolved | {inc['resolved_at'] or 'unknown'} |",
        f"| Time to acknowledge | {_dur(tta)} |",
        f"| Time to respond | {_dur(ttr)} |",
        "",
        "## Impact",
        "",
        f"- Open for {_dur(open_for)}; without an acknowledgement for {_dur(unacked_for)}.",
        f"- Response targets: {'missed ' + ', '.join(inc['missed']) if inc['missed'] else 'met'}"
        + (f" (ack {_dur(targets.get('ack_seconds'))}, respond {_dur(targets.get('respond_seconds'))})"
           if targets else " (no targets for this severity)") + ".",
        f"- {len(inc['pages'])} page(s) to {len(paged)} person(s): {', '.join(paged) or 'nobody'}; "
        f"{sum(1 for p in inc['pages'] if p['night'])} at night.",
        f"- Highest escalation level reached: {inc['max_level']}; re-triggers: {inc['retriggers']}.",
    ]
    if inc.get("notifications"):
        targets_told = sorted({n["target"] for n in inc["notifications"]})
        lines.append(f"- Notified (no acknowledgement possible): {', '.join(targets_told)}.")
    if inc.get("in_support_hours") is not None:
        lines.append(f"- Triggered {'inside' if inc['in_support_hours'] else 'outside'} support hours "
                     f"({inc['urgency']} urgency).")
    if inc.get("labels"):
        lines.append("- Labels: " + ", ".join(f"`{k}={v}`" for k, v in sorted(inc["labels"].items())))
    lines += ["", "## Timeline", "", "| Time | Event | Detail |", "|---|---|---|"]
    for e in inc["timeline"]:
        detail = str(e["detail"]).replace("|", "\\|")
        lines.append(f"| {e['at']} | {e['event']} | {detail} |")
    lines += ["", "## Actions", ""]
    acts = actions(inc, targets)
    lines += [f"- [ ] {a}" for a in acts] if acts else ["- No follow-up actions follow from the timeline."]
    lines.append("")
    return "\n".join(lines)
