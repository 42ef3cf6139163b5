"""annotation-required: alerts have the annotations responders need."""

from __future__ import annotations

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "annotation-required", Severity.warning, "Alert lacks a required annotation",
    "A page at 3 a.m. should say what is wrong (`summary`), with what numbers (`description`), and what "
    "to do (`runbook_url`). The list is `required_annotations` in the configuration: by default `summary` "
    "and `description` (what Alertmanager notification templates show); add `runbook_url` there when your "
    "team keeps runbooks (opsctl's own packs do).",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    for name in ctx.config.required_annotations:
        if not rule.annotations.get(name, "").strip():
            yield Issue(f"alert {rule.name} has no {name} annotation",
                        rule.loc("annotations") if rule.annotations else rule.loc("rule"), rule=rule)
