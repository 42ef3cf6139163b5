"""rate-non-counter: rate()/increase()/irate()/resets() applied to something that is not a counter."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import COUNTER_SUFFIXES, CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}

INFO = CheckInfo(
    "rate-non-counter", Severity.warning, "rate()/increase() on a metric that is not a counter",
    "rate, irate, increase and resets assume a monotonically increasing counter and treat every decrease as "
    "a counter reset, which gives nonsense on a gauge. Counters are named `..._total` (or `_count`, `_sum`, "
    "`_bucket` of histograms and summaries). Use `deriv()` or `delta()` for gauges. Names containing `:` "
    "(recording rules) are not judged.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    # rate(x[5m]): Call > MatrixSelector > VectorSelector (the counter functions take one argument)
    for sel in ctx.selectors(rule):
        anc = sel.ancestors
        if len(anc) < 2 or not isinstance(anc[-1], pp.MatrixSelector) or not isinstance(anc[-2], pp.Call):
            continue
        func = anc[-2].func.name
        name = sel.name
        if func in COUNTER_FUNCS and name and ":" not in name and not name.endswith(COUNTER_SUFFIXES):
            yield rule_issue(f"{func}() on {name}, which is not named like a counter "
                             f"(_total, _count, _sum, _bucket)", rule)
