"""promql-fragile: alerts that flap or fire falsely by construction (pint's promql/fragile): sampling
aggregations (topk, bottomk, limitk, limit_ratio), and arithmetic between two aggregations without `for`."""

from __future__ import annotations

from typing import Any, NamedTuple

import promql_parser as pp

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity
from opsctl.rules.promql_ast import matchers, op_name, output_labels, selectors

SAMPLING = {"topk", "bottomk", "limitk", "limit_ratio"}

INFO = CheckInfo(
    "promql-fragile", Severity.warning, "Alert flaps (topk/bottomk) or fires falsely after a restart",
    "Sampling functions: `topk(10, x > 0)` in an alert may return a different set of series on each "
    "evaluation; each series is an alert, so alerts start and resolve in turn and `for` never holds. Alert "
    "on the condition itself (`x > 0`) and let Alertmanager group the notifications. Recording rules may use "
    "these freely, and so may alerts that aggregate the sample again (`min(topk(10, x)) > 5000`) or sample "
    "series without labels (`topk(1, sum(x))`).\n\n"
    "Arithmetic between aggregations: `sum(foo{job=\"a\"}) / sum(bar{job=\"b\"}) > 0.1` without `for`. "
    "After a Prometheus restart the targets are scraped over the first scrape interval, so for a while each "
    "aggregation sums only the targets already scraped; one side can hold all of `a` and the other one "
    "target of `b`, and the ratio crosses the threshold for one evaluation: a page nobody can reproduce. "
    "Add `for:` of at least one scrape interval (`for: 2m`). Joins that only copy labels "
    "(`* on (instance) group_left (node) max by (instance, node) (...)`) and aggregations of a join "
    "(`count(a * b)`) are not reported. A warning when the two sides certainly read different targets or "
    "times (different `job` equality matchers, a different `offset` or `@`); otherwise only a note (info): "
    "two aggregations of series from the same targets (`sum(errors_total) / sum(requests_total)` from one "
    "exporter) gain their series together, one scrape at a time, and cannot be told apart from the rule "
    "alone.\n\n"
    "As pint's promql/fragile (both parts; pint's earlier `without()` part was dropped by pint too), except "
    "that pint reports every such alert as a warning.",
    kinds=ALERTS,
)

_ARITH = {"+", "-", "*", "/", "%", "^"}
_CMP = {"==", "!=", ">", "<", ">=", "<="}


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert or rule.ast is None:
        return
    if pp.AggregateExpr not in ctx.positions(rule):
        return  # neither sampling nor arithmetic between aggregations without an aggregation
    key = ("promql-fragile", rule.expr)
    seen = ctx.cache.get(key)  # per distinct expression: [sampling op, may have a ratio, the ratio found]
    if seen is None:
        seen = ctx.cache[key] = _scan(ctx.nodes(rule), ctx.positions(rule), rule.ast, rule.expr)
    sampling = seen[0]
    if sampling:
        yield rule_issue(f"alert {rule.name} uses {sampling}(): the series it keeps can change on every "
                         "evaluation, so alerts flap", rule)
        return
    if rule.for_ > 0:
        return  # (arithmetic between aggregations matters only to an alert without `for`)
    if seen[1] is _UNSET:
        seen[1] = _candidate(ctx.nodes(rule), ctx.positions(rule))
    if seen[1]:
        if seen[2] is _UNSET:
            seen[2] = partial_data(rule.ast)
        found = seen[2]
        if found:
            text, apart = found
            why = ("the two sides read different scrape jobs or times, so " if apart else
                   "if the two sides come from different targets, ")
            yield rule_issue(f"alert {rule.name} has no `for` and does arithmetic between aggregations "
                             f"({text}): {why}after a Prometheus restart each side may hold a different share of "
                             "its targets for a scrape interval and fire a false alert; add `for: 2m` or more",
                             rule, severity=None if apart else Severity.info)


_UNSET = object()


def _scan(nodes: list[tuple[Any, tuple[Any, ...]]], positions: dict[type, list[int]], ast: Any,
          expr: str) -> list[Any]:
    """[the sampling aggregation, whether the expression may do arithmetic between aggregations (_UNSET: not
    looked at yet), the arithmetic found (partial_data; _UNSET: not looked for yet)]."""
    lower = expr.lower()  # (keywords in any case; every sampling aggregation is named topk, bottomk or limit*)
    if ("topk" in lower or "bottomk" in lower or "limit" in lower) and \
            any(op_name(nodes[i][0].op).lower() in SAMPLING for i in positions.get(pp.AggregateExpr, ())):
        op = sampling_op(ast)
        if op:
            return [op, False, None]
    return [None, _UNSET, _UNSET]


def _candidate(nodes: list[tuple[Any, tuple[Any, ...]]], positions: dict[type, list[int]]) -> bool:
    """Whether partial_data() may find something: an arithmetic operation with an aggregation on each side (its
    sources of kind "aggregate" come from aggregations inside the sides: `sum(a) / sum(b)`, not
    `max(a > 14.4 * 0.001)`). Pre-order: an operation's left side starts right after it."""
    aggregations = positions.get(pp.AggregateExpr, ())
    if len(aggregations) < 2:
        return False
    for i in positions.get(pp.BinaryExpr, ()):
        op = nodes[i][0]
        if str(op.op) not in _ARITH:
            continue
        depth, left = len(nodes[i][1]), nodes[i + 1][0]
        sides = set()
        for k in aggregations:
            node, ancestors = nodes[k]
            if k > i and len(ancestors) > depth and ancestors[depth] is op:  # inside the operation
                sides.add((ancestors[depth + 1] if len(ancestors) > depth + 1 else node) is left)
        if len(sides) == 2:
            return True
    return False


class _Join(NamedTuple):
    op: str
    src: _S
    depth: int  # 0: a direct join; more when the join happened inside an aggregation (`sum(a * b)`)
    adds_labels: bool  # group_left(...)/group_right(...) with labels


class _S(NamedTuple):
    """pint's label source, reduced to what this check reads."""

    kind: str  # "aggregate", "selector", "function", "number"
    node: Any
    op: str = ""  # the outermost aggregation or function applied
    cond: bool = False
    joins: tuple[_Join, ...] = ()


def sampling_op(ast: Any) -> str | None:
    """pint's sampling part: the sampling aggregation (topk...) the alert's series come from, unless an outer
    aggregation or function consumes it (`min(topk(10, x))`) or its input has no labels (`topk(3, sum(x))`)."""
    for src in _sources(ast):
        if src.op in SAMPLING:
            labels = output_labels(src.node.expr)
            if labels.closed and not labels.names:
                continue
            return src.op
    return None


def partial_data(ast: Any) -> tuple[str, bool] | None:
    """The first `aggregation op aggregation` pint's promql/fragile reports (for an alert without `for`), and
    whether its sides certainly differ in origin (different `job` matchers, offsets or `@`); None if none."""
    found: tuple[str, bool] | None = None
    for src in _sources(ast):
        if src.kind != "aggregate" or not src.cond:
            continue
        for j in src.joins:
            if j.src.kind != "aggregate" or j.depth > 0 or j.op not in _ARITH:
                continue
            if j.adds_labels and not j.src.cond:
                continue  # a join that adds labels, not a ratio
            apart = _apart(src.node, j.src.node)
            if found is None or (apart and not found[1]):
                found = (f"`{_text(src.node)}` {j.op} `{_text(j.src.node)}`", apart)
    return found


def _origin(node: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The times (offset, @) and the `job` values the selectors of an expression read."""
    times: set[str] = set()
    jobs: set[str] = set()
    for vs, _ in selectors(node):
        times.add(f"{vs.offset} {vs.at}")
        jobs |= {m.value for m in matchers(vs) if m.name == "job" and m.op == "Equal"}
    return frozenset(times), frozenset(jobs)


def _apart(a: Any, b: Any) -> bool:
    (times_a, jobs_a), (times_b, jobs_b) = _origin(a), _origin(b)
    return times_a != times_b or bool(jobs_a and jobs_b and not jobs_a & jobs_b)


def _text(node: Any) -> str:
    text = " ".join(str(node).replace("{}", "").split())
    return text if len(text) <= 50 else text[:47] + "..."


def _is_scalar(node: Any) -> bool:
    while isinstance(node, (pp.ParenExpr, pp.UnaryExpr)):
        node = node.expr
    if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
        return True
    if isinstance(node, pp.Call):
        return node.func.name in ("scalar", "time", "pi")
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _deeper(s: _S) -> _S:
    return s._replace(joins=tuple(j._replace(depth=j.depth + 1) for j in s.joins)) if s.joins else s


def _sources(node: Any) -> list[_S]:
    """pint's LabelsSource: the series sources of an expression, with the sources each joins with."""
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return _sources(node.expr)
    if isinstance(node, pp.MatrixSelector):
        return _sources(node.vector_selector)
    if isinstance(node, pp.VectorSelector):
        return [_S("selector", node)]
    if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
        return [_S("number", node)]
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op).split(".")[-1].lower()
        return [_deeper(s)._replace(kind="aggregate", node=node, op=op) for s in _sources(node.expr)]
    if isinstance(node, pp.Call):
        found = [s._replace(kind="function", node=node, op=node.func.name) for a in node.args if not _is_scalar(a)
                 for s in _sources(a)]
        return found or [_S("function", node, op=node.func.name)]
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    return []


def _binary(node: Any) -> list[_S]:
    op = str(node.op).strip().lower()
    lhs, rhs = _sources(node.lhs), _sources(node.rhs)
    cmp = op in _CMP
    if _is_scalar(node.lhs) or _is_scalar(node.rhs):  # no vector matching
        vector_side = rhs if _is_scalar(node.lhs) and not _is_scalar(node.rhs) else lhs
        return [s._replace(cond=s.cond or cmp) for s in vector_side]
    mod = node.modifier
    card = str(mod.card) if mod is not None else ""
    adds = bool(mod is not None and mod.group_labels)
    if op in ("and", "or", "unless"):
        out = []
        rhs_cond = any(s.cond for s in rhs)
        for s in lhs:
            if op == "and":
                s = s._replace(joins=s.joins + tuple(_Join(op, r, 0, False) for r in rhs), cond=s.cond or rhs_cond)
            out.append(s)
        return out + (rhs if op == "or" else [])
    if "OneToMany" in card:  # group_right: the right side's series carry on
        return [r._replace(joins=r.joins + tuple(_Join(op, s, 0, adds) for s in lhs), cond=r.cond or cmp)
                for r in rhs]
    return [s._replace(joins=s.joins + tuple(_Join(op, r, 0, adds and "ManyToOne" in card) for r in rhs),
                       cond=s.cond or cmp) for s in lhs]
