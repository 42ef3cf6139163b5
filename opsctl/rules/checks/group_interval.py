"""group-interval: a group evaluated less often than every 5 minutes leaves gaps in what it records (pint's
group/interval)."""

from __future__ import annotations

import re
from pathlib import Path

from opsctl.rules.checks.base import CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

LOOKBACK = 300.0  # Prometheus's default query lookback delta (--query.lookback-delta), seconds
_INTERVAL_KEY = re.compile(r"^(\s*(?:-\s+)?)interval\s*:")

INFO = CheckInfo(
    "group-interval", Severity.warning, "Group interval above 5m: recorded series have gaps",
    "Each evaluation of a group writes one sample per series it records (and the `ALERTS` series of its "
    "alerts). An instant query looks back at most 5 minutes for a sample (the default "
    "`--query.lookback-delta`), so with `interval: 10m` a recorded series is missing for half of the time "
    "when queried, and whatever reads it (dashboards, other rules and alerts) sees gaps. Lower the interval "
    "to 5m or less. An alerting rule with `keep_firing_for` at least the group interval is not counted. "
    "Reported once per group, at its `interval`. As pint's group/interval (only an explicit group "
    "`interval` is checked, not the configured global evaluation interval).",
)


def _fmt(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


def _affected(rule: Rule, interval: float) -> bool:
    return not (rule.is_alert and rule.keep_firing_for >= interval)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    interval = group.interval
    if interval is None or interval <= LOOKBACK or not _affected(rule, interval):
        return
    # once per group: at the first rule it concerns that the run looks at
    first = next((r for r in group.rules if not r.invalid and INFO.id not in r.disabled and _affected(r, interval)),
                 None)
    if first is not rule:
        return
    yield Issue(f"group {group.name} has interval {_fmt(interval)}, longer than the {_fmt(LOOKBACK)} query lookback: "
                "the series it records (and its alerts' ALERTS series) disappear between evaluations; use 5m or "
                "less (or keep_firing_for >= the interval on its alerts)", _interval_loc(group, ctx))


def _interval_loc(group: RuleGroup, ctx: Context) -> tuple[int, int]:
    """Line and column of the group's `interval` key, read from the file (only when reporting)."""
    text = ctx.file_text(Path(group.file))
    end = group.rules[0].line if group.rules else group.line + 50
    if text:
        lines = text.splitlines()
        for i in range(max(group.line - 1, 0), min(end, len(lines))):
            m = _INTERVAL_KEY.match(lines[i])
            if m and len(m.group(1)) + 1 == group.column:
                return i + 1, group.column
    return group.line, group.column
