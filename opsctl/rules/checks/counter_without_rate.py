"""counter-without-rate: a `_total` counter used by its raw value."""

from __future__ import annotations

from typing import Any

import promql_parser as pp

from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, metric_type, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

RANGE_OK = {"rate", "irate", "increase", "resets", "changes", "count_over_time", "present_over_time",
            "absent_over_time"}
INSTANT_OK_FUNCS = {"absent", "timestamp"}
INSTANT_OK_AGGS = {"count", "group"}

INFO = CheckInfo(
    "counter-without-rate", Severity.warning, "Counter used without rate()/increase()",
    "A counter's raw value only says how much happened since the process started; it drops to zero on "
    "every restart. Compare `rate(x_total[5m])` or `increase(x_total[1h])` instead. Presence tests "
    "(`absent`, `count`, `group`, `timestamp`, or the right side of `and`/`unless`) are fine. The type "
    "comes from evidence (`metadata` in the configuration or `--metadata FILE`); without it the check is "
    "silent, unless `guess_metric_types: true` asks for a guess from the name (`_total`) at info level.",
)


def _allowed(node: Any, ancestors: tuple[Any, ...]) -> bool:
    chain = (*ancestors, node)
    for i in range(len(chain) - 1, 0, -1):
        parent, child = chain[i - 1], chain[i]
        if isinstance(parent, pp.MatrixSelector) or isinstance(parent, pp.ParenExpr):
            continue
        if isinstance(parent, pp.Call):
            name = parent.func.name
            return name in RANGE_OK or name in INSTANT_OK_FUNCS
        if isinstance(parent, pp.AggregateExpr):
            return str(parent.op) in INSTANT_OK_AGGS
        if isinstance(parent, pp.BinaryExpr):
            op = str(parent.op)
            # promql_parser hands out new wrapper objects on every access: compare by text
            if op in ("and", "unless") and str(child) == str(parent.rhs):
                return True
            return False
        if isinstance(parent, pp.SubqueryExpr):
            continue
        return False
    return False


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    guess = ctx.config.guess_metric_types
    if not guess and not ctx.config.metric_types:
        return  # no evidence of types and no guessing: metric_type() is None for every name
    for sel in ctx.selectors(rule):
        name = sel.name
        if not name or ":" in name:
            continue
        kind = metric_type(ctx, name)
        if kind == "counter":
            severity = None
        elif kind is None and guess and name.endswith("_total"):
            severity = Severity.info
        else:
            continue
        if not _allowed(sel.node, sel.ancestors):
            why = "" if severity is None else " (a guess from the name)"
            yield rule_issue(f"counter {name} is used by its raw value; wrap it in rate() or increase(){why}", rule,
                             severity=severity)

