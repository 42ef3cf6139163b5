"""label-value-template: an alert label whose value changes on every evaluation (`$value`)."""

from __future__ import annotations

import re

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

_VALUE = re.compile(r"\{\{[^}]*(\$value\b|\.Value\b)[^}]*\}\}")

INFO = CheckInfo(
    "label-value-template", Severity.warning, "Alert label uses $value: a new alert on every evaluation",
    "Labels identify an alert. A label templated from `$value` (or `.Value`) changes whenever the value "
    "does, so each evaluation makes a new alert: the old one resolves, a new one fires, `for` restarts and "
    "Alertmanager sends a notification for each. Put the value in an annotation instead. As pint's "
    "alerts/template check of labels.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    for name, value in rule.labels.items():
        if "{{" in value and _VALUE.search(value):
            yield Issue(f"label {name} is templated from the alert's value: every new value is a new alert "
                        "(use an annotation)", rule.label_locs.get(name, rule.loc("labels")), rule=rule)
