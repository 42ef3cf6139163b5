"""rate-range-short: rate()/increase() range shorter than 4x the (known) scrape interval."""

from __future__ import annotations

import promql_parser as pp

from opsctl.durations import format_duration
from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

FUNCS = {"rate", "increase"}
FACTOR = 4

INFO = CheckInfo(
    "rate-range-short", Severity.warning, "rate()/increase() range shorter than 4x the scrape interval",
    "rate() needs at least two samples in its window and is noisy with few; with a range under four scrape "
    "intervals a missed scrape makes the series vanish and alerts flap. Use a range of at least 4x the "
    "scrape interval. The interval must be known: `scrape_interval` in the configuration (or "
    "`--scrape-interval`); the group's evaluation interval says nothing about how often targets are "
    "scraped, so without a scrape interval the check is silent.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    interval = ctx.config.scrape_interval
    if not interval:
        return
    for node, _ in ctx.nodes(rule):
        if isinstance(node, pp.Call) and node.func.name in FUNCS and node.args:
            arg = node.args[0]
            if isinstance(arg, pp.MatrixSelector):
                seconds = arg.range.total_seconds()
                if seconds < FACTOR * interval:
                    yield rule_issue(
                        f"{node.func.name}() over [{format_duration(seconds)}] is shorter than {FACTOR}x the "
                        f"scrape interval ({format_duration(interval)}); use at least "
                        f"[{format_duration(FACTOR * interval)}]", rule)
