"""The linter's view of PromQL: the shared syntax-tree toolkit (`opsctl.promql_syntax`: children, walk,
selectors, matchers) re-exported, its regex-caching parse, and label analysis (`output_labels`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import promql_parser as pp

from opsctl.promql_syntax import (
    Matcher,
    children,
    func_name,
    matcher_groups,
    matchers,
    op_name,
    selectors,
    walk,
)
from opsctl.promql_syntax import parse as _parse

__all__ = ["NONE", "OPEN", "LabelSet", "Matcher", "children", "func_name", "matcher_groups", "matchers",
           "node_list", "op_name", "output_labels", "parse", "selectors", "walk"]


_LEAVES = (pp.VectorSelector, pp.NumberLiteral, pp.StringLiteral)
_ONE_CHILD = (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)


def node_list(node: Any) -> list[tuple[Any, tuple[Any, ...]]]:
    """`list(walk(node))`: the same (node, ancestors) pairs in the same order, at half the cost (a rule
    file's expressions are walked once each by the loader, and the list is shared by the checks)."""
    out: list[tuple[Any, tuple[Any, ...]]] = []
    append = out.append
    stack: list[tuple[Any, tuple[Any, ...]]] = [(node, ())]
    pop, push = stack.pop, stack.append
    binary, aggregate, call, matrix = pp.BinaryExpr, pp.AggregateExpr, pp.Call, pp.MatrixSelector
    while stack:
        pair = pop()
        append(pair)
        current = pair[0]
        kind = type(current)
        if kind in _LEAVES:
            continue
        inner = (*pair[1], current)
        if kind is binary:
            push((current.rhs, inner))
            push((current.lhs, inner))
        elif kind is aggregate:
            if current.param is not None:
                push((current.param, inner))
            push((current.expr, inner))
        elif kind is call:
            stack.extend((kid, inner) for kid in reversed(current.args))
        elif kind in _ONE_CHILD:
            push((current.expr, inner))
        elif kind is matrix:
            push((current.vector_selector, inner))
        else:  # a type this does not know (a subclass): children() decides
            stack.extend((kid, inner) for kid in reversed(children(current)))
    return out


def parse(expr: str) -> Any:
    """The linter's parse: `opsctl.promql_syntax.parse` compiling each distinct regex once per process."""
    return _parse(expr, stand_ins=True)


@dataclass(frozen=True)
class LabelSet:
    """The labels an expression's output series can carry.

    closed=True: exactly `names` (an aggregation `by (...)`). closed=False: whatever the input carries,
    minus `removed`, plus `names` that are known to be added.
    """

    closed: bool
    names: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()

    def may_have(self, label: str) -> bool:
        if self.closed:
            return label in self.names
        return label in self.names or label not in self.removed

    def drop(self, labels: set[str] | frozenset[str]) -> LabelSet:
        if self.closed:
            return LabelSet(True, self.names - labels)
        return LabelSet(False, self.names - labels, self.removed | labels)

    def add(self, labels: set[str] | frozenset[str]) -> LabelSet:
        if self.closed:
            return LabelSet(True, self.names | labels)
        return LabelSet(False, self.names | labels, self.removed - labels)


OPEN = LabelSet(False)
NONE = LabelSet(True)
# functions whose output drops every label, or keeps the labels of their first argument
_SCALARISH = {"scalar", "time", "pi", "vector"}


def output_labels(node: Any) -> LabelSet:
    """A conservative description of the labels the result of `node` can carry."""
    handler = _OUTPUT_BY_TYPE.get(type(node))  # one look-up rather than a chain of isinstance() per node
    if handler is not None:
        return handler(node)
    for kind, handler in _OUTPUT_BY_TYPE.items():  # a subclass of one of promql_parser's types
        if isinstance(node, kind):
            return handler(node)
    return OPEN


def _none(node: Any) -> LabelSet:
    return NONE


def _open(node: Any) -> LabelSet:
    return OPEN


def _matrix_labels(node: Any) -> LabelSet:
    return output_labels(node.vector_selector)


def _inner_labels(node: Any) -> LabelSet:
    return output_labels(node.expr)


def _aggregate_labels(node: Any) -> LabelSet:
    op = op_name(node.op)
    inner = output_labels(node.expr)
    mod = node.modifier
    if op in ("topk", "bottomk", "limitk", "limit_ratio"):
        return inner
    if mod is None:
        result = NONE
    elif "By" in str(mod.type):
        result = LabelSet(True, frozenset(x for x in mod.labels if inner.may_have(x)))
    else:
        result = inner.drop(set(mod.labels))
    if op == "count_values" and isinstance(node.param, pp.StringLiteral):
        result = result.add({node.param.val})
    return result


def _call_labels(node: Any) -> LabelSet:
    name = node.func.name
    if name in _SCALARISH:
        return NONE
    if name in ("absent", "absent_over_time"):
        labels: set[str] = set()
        for n, _ in walk(node):
            if isinstance(n, pp.VectorSelector):
                labels |= {m.name for m in matchers(n) if m.op == "Equal"}
        return LabelSet(True, frozenset(labels - {"__name__"}))
    if name == "label_replace" and len(node.args) >= 2 and isinstance(node.args[1], pp.StringLiteral):
        return output_labels(node.args[0]).add({node.args[1].val})
    if name == "label_join" and len(node.args) >= 2 and isinstance(node.args[1], pp.StringLiteral):
        return output_labels(node.args[0]).add({node.args[1].val})
    if name == "histogram_quantile" and len(node.args) == 2:
        return output_labels(node.args[1]).drop({"le"})
    vec_args = [a for a in node.args if not isinstance(a, (pp.NumberLiteral, pp.StringLiteral))]
    return output_labels(vec_args[0]) if vec_args else NONE


def _binary_labels(node: Any) -> LabelSet:
    lhs, rhs = output_labels(node.lhs), output_labels(node.rhs)
    op = op_name(node.op)
    bmod = node.modifier
    lhs_scalar = _is_scalar(node.lhs)
    rhs_scalar = _is_scalar(node.rhs)
    if lhs_scalar and rhs_scalar:
        return NONE
    if lhs_scalar:
        return rhs
    if rhs_scalar:
        return lhs
    if op == "or":
        return _union(lhs, rhs)
    card = str(getattr(bmod, "card", "")) if bmod is not None else ""
    matching = getattr(bmod, "matching", None) if bmod is not None else None
    if "OneToMany" in card:  # group_right: result carries the right side's labels
        extra = set(getattr(bmod, "group_labels", []) or [])
        return rhs.add(extra)
    if "ManyToOne" in card:
        extra = set(getattr(bmod, "group_labels", []) or [])
        return lhs.add(extra)
    if matching is not None and "Include" in str(getattr(matching, "type", "")) and op not in ("and", "unless"):
        return LabelSet(True, frozenset(x for x in matching.labels if lhs.may_have(x)))
    if matching is not None and "Exclude" in str(getattr(matching, "type", "")) and op not in ("and", "unless"):
        return lhs.drop(set(matching.labels))
    return lhs


# promql_parser's node types are unrelated classes (each derives from Expr only): the order of the
# isinstance() chain this table replaced did not matter
_OUTPUT_BY_TYPE: dict[type, Any] = {
    pp.NumberLiteral: _none, pp.StringLiteral: _none, pp.VectorSelector: _open, pp.MatrixSelector: _matrix_labels,
    pp.ParenExpr: _inner_labels, pp.UnaryExpr: _inner_labels, pp.SubqueryExpr: _inner_labels,
    pp.AggregateExpr: _aggregate_labels, pp.Call: _call_labels, pp.BinaryExpr: _binary_labels,
}


def _union(a: LabelSet, b: LabelSet) -> LabelSet:
    if a.closed and b.closed:
        return LabelSet(True, a.names | b.names)
    return LabelSet(False, a.names | b.names, (a.removed if not a.closed else frozenset())
                    & (b.removed if not b.closed else frozenset()))


def _is_scalar(node: Any) -> bool:
    while isinstance(node, (pp.ParenExpr, pp.UnaryExpr)):
        node = node.expr
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, pp.Call) and node.func.name in ("scalar", "time", "pi"):
        return True
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False
