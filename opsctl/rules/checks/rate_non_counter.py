"""rate-non-counter: rate()/increase()/irate()/resets() applied to something that is not a counter."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import COUNTER_SUFFIXES, CheckInfo, Context, RuleCheckResult, rule_issue, selector_name
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
    for node, _anc in ctx.nodes(rule):
        if not isinstance(node, pp.Call) or node.func.name not in COUNTER_FUNCS or not node.args:
            continue
        arg = node.args[0]
        if not isinstance(arg, pp.MatrixSelector):
            continue
        name = selector_name(arg.vector_selector)
        if name and ":" not in name and not name.endswith(COUNTER_SUFFIXES):
            yield rule_issue(f"{node.func.name}() on {name}, which is not named like a counter "
                             f"(_total, _count, _sum, _bucket)", rule)
