"""alert-for-missing: an alert without `for` fires on the first bad evaluation."""

from __future__ import annotations

from opsctl.rules.checks.base import CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "alert-for-missing", Severity.warning, "Alert has no `for` duration",
    "Without `for`, an alert fires on the first evaluation where its expression returns a result, so a "
    "single scrape hiccup or restart pages someone. Add `for: 5m` (or what suits the signal). Alerts that "
    "are meant to fire at once (a Watchdog) can disable this check with `# opsctl: disable=alert-for-missing`.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if rule.is_alert and rule.for_ == 0:
        where = "for" if rule.has_for else "rule"
        yield Issue(f"alert {rule.name} has no `for` duration: it fires on the first failing evaluation",
                    rule.loc(where), rule=rule)
