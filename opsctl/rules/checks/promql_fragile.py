"""promql-fragile: sampling aggregations (topk, bottomk, limitk, limit_ratio) in alerting rules flap
(pint's promql/fragile)."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

SAMPLING = {"topk", "bottomk", "limitk", "limit_ratio"}

INFO = CheckInfo(
    "promql-fragile", Severity.warning, "Alert uses topk/bottomk/limitk: a different set of alerts each time",
    "`topk(10, x > 0)` in an alert may return a different set of series on each evaluation; each series is "
    "an alert, so alerts start and resolve in turn and `for` never holds. Alert on the condition itself "
    "(`x > 0`) and let Alertmanager group the notifications. Recording rules may use these freely. As "
    "pint's promql/fragile (sampling functions).",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert or rule.ast is None:
        return
    for node, _ in ctx.nodes(rule):
        if isinstance(node, pp.AggregateExpr):
            op = str(node.op).split(".")[-1].lower()
            if op in SAMPLING:
                yield rule_issue(f"alert {rule.name} uses {op}(): the series it keeps can change on every "
                                 "evaluation, so alerts flap", rule)
                return
