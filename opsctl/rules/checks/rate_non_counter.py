"""rate-non-counter: rate()/increase()/irate()/resets() applied to something that is not a counter."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import COUNTER_SUFFIXES, CheckInfo, Context, RuleCheckResult, metric_type, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}

INFO = CheckInfo(
    "rate-non-counter", Severity.warning, "rate()/increase() on a metric that is not a counter",
    "rate, irate, increase and resets assume a monotonically increasing counter and treat every decrease as "
    "a counter reset, which gives nonsense on a gauge. The metric's type comes from evidence: `metadata` in "
    "the configuration or `--metadata FILE` (a saved `/api/v1/metadata` response, or exposition text with "
    "`# TYPE` lines); a gauge there is a warning. Without evidence the check is silent: names lie "
    "(`node_vmstat_pgmajfault` is a counter, some `*_total` are gauges). `guess_metric_types: true` turns on "
    "a name-based guess (`_total`, `_count`, `_sum`, `_bucket` are counters) at info level. Names containing "
    "`:` (recording rules) are not judged. Use `deriv()` or `delta()` for gauges.",
)

NON_COUNTERS = {"gauge", "info", "stateset", "gaugehistogram"}


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    # rate(x[5m]): Call > MatrixSelector > VectorSelector (the counter functions take one argument)
    guess = ctx.config.guess_metric_types
    if not guess and not ctx.config.metric_types:
        return  # no evidence of types and no guessing: metric_type() is None for every name
    for sel in ctx.selectors(rule):
        anc = sel.ancestors
        if len(anc) < 2 or not isinstance(anc[-1], pp.MatrixSelector) or not isinstance(anc[-2], pp.Call):
            continue
        func = anc[-2].func.name
        name = sel.name
        if func not in COUNTER_FUNCS or not name or ":" in name:
            continue
        kind = metric_type(ctx, name)
        if kind in NON_COUNTERS:
            yield rule_issue(f"{func}() on {name}, which is a {kind} (metadata)", rule)
        elif kind is None and guess and not name.endswith(COUNTER_SUFFIXES):
            yield rule_issue(f"{func}() on {name}, which is not named like a counter "
                             f"(_total, _count, _sum, _bucket); a guess from the name", rule, severity=Severity.info)
