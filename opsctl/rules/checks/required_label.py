"""required-label: alerts carry the labels the configuration requires (team, service...)."""

from __future__ import annotations

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "required-label", Severity.warning, "Alert lacks a label the configuration requires",
    "`required_labels` in the configuration lists labels every alert must set (for example `team` or "
    "`service` for routing and ownership). Nothing is required by default.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    for name in ctx.config.required_labels:
        if not rule.labels.get(name):
            yield Issue(f"alert {rule.name} has no {name} label (required by configuration)",
                        rule.loc("labels") if rule.labels else rule.loc("rule"), rule=rule)
