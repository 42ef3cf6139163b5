"""histogram-bucket: a `_bucket` series compared or used without histogram_quantile()."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue, selector_name
from opsctl.rules.model import Rule, RuleGroup, Severity

QUANTILE_FUNCS = {"histogram_quantile", "histogram_fraction"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}

INFO = CheckInfo(
    "histogram-bucket", Severity.warning, "Histogram _bucket series used without histogram_quantile()",
    "A `_bucket` series counts observations at or below its `le` bound, cumulatively, one series per bound. "
    "Comparing it with a threshold, or summing it over `le`, mixes all the bounds and means nothing. Use "
    "`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))` for a latency, or select one bound with "
    "`le=\"0.5\"` for an SLI ratio.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    for node, anc in ctx.nodes(rule):
        if not isinstance(node, pp.VectorSelector):
            continue
        name = selector_name(node)
        if not name or not name.endswith("_bucket"):
            continue
        if any(m.name == "le" for m in node.matchers.matchers):
            continue
        if any(isinstance(a, pp.Call) and a.func.name in QUANTILE_FUNCS for a in anc):
            continue
        compared = any(isinstance(a, pp.BinaryExpr) and str(a.op) in COMPARISONS for a in anc)
        how = "compared with a threshold" if compared else "used"
        yield rule_issue(f"{name} is {how} without histogram_quantile() and without an le matcher", rule)
