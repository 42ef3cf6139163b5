"""histogram-bucket: a `_bucket` series compared or used without histogram_quantile()."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

QUANTILE_FUNCS = {"histogram_quantile", "histogram_fraction"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}

INFO = CheckInfo(
    "histogram-bucket", Severity.warning, "Histogram _bucket series used without histogram_quantile()",
    "A `_bucket` series counts observations at or below its `le` bound, cumulatively, one series per bound. "
    "Comparing it with a threshold, or summing it over `le`, mixes all the bounds and means nothing. Use "
    "`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))` for a latency, or select one bound with "
    "`le=\"0.5\"` for an SLI ratio. Recording `sum by (le) (rate(x_bucket[5m]))` for a later "
    "histogram_quantile() is fine.",
)


def _keeps_le(agg: pp.AggregateExpr) -> bool:
    mod = agg.modifier
    if str(agg.op) in ("topk", "bottomk", "limitk", "limit_ratio"):
        return True
    if mod is None:
        return False
    labels = set(mod.labels)
    return "le" in labels if "By" in str(mod.type) else "le" not in labels


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if "_bucket" not in rule.expr and "\\" not in rule.expr:
        return  # no name can end in _bucket (unless spelt with an escape in a __name__ string)
    for sel in ctx.selectors(rule):
        name, anc = sel.name, sel.ancestors
        if not name or not name.endswith("_bucket"):
            continue
        if any(m.name == "le" for m in sel.matchers):
            continue
        if any(isinstance(a, pp.Call) and a.func.name in QUANTILE_FUNCS for a in anc):
            continue
        if any(isinstance(a, pp.BinaryExpr) and str(a.op) in COMPARISONS for a in anc):
            yield rule_issue(f"{name} is compared with a threshold without histogram_quantile() and without an "
                             "le matcher", rule)
        elif any(isinstance(a, pp.AggregateExpr) and not _keeps_le(a) for a in anc):
            yield rule_issue(f"{name} is aggregated without keeping le and without histogram_quantile(): the "
                             "result mixes all bucket bounds", rule)
