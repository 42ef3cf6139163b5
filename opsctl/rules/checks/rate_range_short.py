"""rate-range-short: rate()/increase() range shorter than 4x the group's evaluation interval."""

from __future__ import annotations

import promql_parser as pp

from opsctl.durations import format_duration
from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

FUNCS = {"rate", "increase"}
FACTOR = 4

INFO = CheckInfo(
    "rate-range-short", Severity.warning, "rate()/increase() range shorter than 4x the evaluation interval",
    "rate() needs at least two samples in its window and is noisy with few; with a range under four "
    "intervals (group `interval`, or `evaluation_interval` from the configuration, 1m by default, which "
    "is usually also the scrape interval) a missed scrape makes the series vanish and alerts flap. Use a "
    "range of at least 4x the interval.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    interval = ctx.interval(group)
    for node, _ in ctx.nodes(rule):
        if isinstance(node, pp.Call) and node.func.name in FUNCS and node.args:
            arg = node.args[0]
            if isinstance(arg, pp.MatrixSelector):
                seconds = arg.range.total_seconds()
                if seconds < FACTOR * interval:
                    yield rule_issue(
                        f"{node.func.name}() over [{format_duration(seconds)}] is shorter than {FACTOR}x the "
                        f"evaluation interval ({format_duration(interval)}); use at least "
                        f"[{format_duration(FACTOR * interval)}]", rule)
