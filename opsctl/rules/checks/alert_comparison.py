"""alert-comparison: an alert whose expression has no condition fires whenever its series exist
(pint's alerts/comparison)."""

from __future__ import annotations

from typing import Any

import promql_parser as pp

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
# functions whose result is itself the condition (empty unless something is wrong)
CONDITION_FUNCS = {"absent", "absent_over_time"}

INFO = CheckInfo(
    "alert-comparison", Severity.warning, "Alert expression has no condition, so it always fires",
    "An alert fires for every series its expression returns. Without a comparison (`> 0.9`, `== 0`) or "
    "absent(), `rate(errors_total[5m])` returns a series for every target, all the time, and the alert "
    "never stops firing. A comparison with `bool` (`x > bool 1`) returns 0 or 1 for every series, which "
    "also always fires. Expressions without any series (a Watchdog's `vector(1)`) are meant to fire always "
    "and are not reported; a bare selector whose matchers pick the bad series (`x{state=\"failed\"}`) is a "
    "presence test and only noted (info). As pint's alerts/comparison.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert or rule.ast is None:
        return
    positions = ctx.positions(rule)  # the node types of the expression, and where they are
    if pp.VectorSelector not in positions:
        return  # vector(1), time() > 0...: nothing to compare, fires on purpose
    if _has_condition(ctx.nodes(rule), positions):
        return
    top = rule.ast
    while isinstance(top, pp.ParenExpr):
        top = top.expr
    if isinstance(top, pp.VectorSelector) and any(m.name != "__name__" for m in ctx.selectors(rule)[0].matchers):
        # `bad_index_size{name=~".*ccnew.*"}`: the matchers pick the bad series; it exists only when there is
        # a problem, a presence test by design
        yield rule_issue(f"alert {rule.name} fires whenever a series matching its selector exists (a presence "
                         "test; compare with a threshold if that is not meant)", rule, severity=Severity.info)
    elif isinstance(top, pp.BinaryExpr) and str(top.op) in COMPARISONS:
        yield rule_issue(f"alert {rule.name} compares with `bool`: the result is 0 or 1 for every series, so it "
                         "always fires", rule)
    else:
        yield rule_issue(f"alert {rule.name} has no condition (comparison or absent()): it fires for every series "
                         "the expression returns, whenever they exist", rule)


def _has_condition(nodes: list[tuple[Any, tuple[Any, ...]]], positions: dict[type, list[int]]) -> bool:
    for i in positions.get(pp.BinaryExpr, ()):
        node = nodes[i][0]
        op = str(node.op)
        if op in COMPARISONS:
            if node.modifier is not None and node.modifier.return_bool:
                continue
            return True
        if op in ("and", "unless"):
            return True  # filtered by another vector: a condition of its own kind
    return any(nodes[i][0].func.name in CONDITION_FUNCS for i in positions.get(pp.Call, ()))
