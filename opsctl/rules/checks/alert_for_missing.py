"""alert-for-missing: an alert without `for` fires on the first bad evaluation."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "alert-for-missing", Severity.warning, "Alert has no `for` duration",
    "Without `for`, an alert fires on the first evaluation where its expression returns a result, so a "
    "single scrape hiccup or restart pages someone. Add `for: 5m` (or what suits the signal). Alerts that "
    "are meant to fire at once say so with an explicit `for: 0m`, which this check accepts; an expression "
    "without series (a Watchdog's `vector(1)`) fires always and needs no `for`.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    # an explicit `for: 0m` (or 0s) says "fire at once" on purpose
    if rule.is_alert and rule.for_ == 0 and not rule.has_for:
        if rule.ast is not None and pp.VectorSelector not in ctx.positions(rule):
            return  # no series in it (a Watchdog's `vector(1)`): it fires always, `for` changes nothing
        where = "rule"
        yield Issue(f"alert {rule.name} has no `for` duration: it fires on the first failing evaluation",
                    rule.loc(where), rule=rule)
