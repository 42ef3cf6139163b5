"""severity-label: every alert carries a severity label from the allowed set."""

from __future__ import annotations

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "severity-label", Severity.warning, "Alert severity label missing or not allowed",
    "Routing, inhibition and paging policies key on the `severity` label (name configurable with "
    "`severity_label`). An alert without it, or with a value outside `allowed_severities` (default "
    "critical, error, warning, info, none: `none` is the Watchdog/InfoInhibitor idiom of kube-prometheus), "
    "falls through to the default route or is never paged. A policy check: a warning unless the "
    "configuration raises it (`severity: {severity-label: error}`), since Prometheus accepts any value.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    name = ctx.config.severity_label
    allowed = ctx.config.allowed_severities
    value = rule.labels.get(name)
    if value is None or value == "":
        yield Issue(f"alert {rule.name} has no {name} label (allowed: {', '.join(allowed)})",
                    rule.loc("labels") if rule.labels else rule.loc("rule"), rule=rule)
    elif "{{" not in value and allowed and value not in allowed:
        yield Issue(f"{name} {value!r} is not one of {', '.join(allowed)}",
                    rule.label_locs.get(name, rule.loc("labels")), rule=rule)
