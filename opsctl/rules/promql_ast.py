"""The linter's view of PromQL: the shared syntax-tree toolkit (`opsctl.promql_syntax`: children, walk,
selectors, matchers) re-exported, its regex-caching parse, and label analysis (`output_labels`)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
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

__all__ = ["NONE", "OPEN", "LabelSet", "Matcher", "children", "func_name", "keeps_input_labels", "matcher_groups",
           "matchers", "may_drop", "node_list", "node_positions", "op_name", "output_labels", "parse", "selectors",
           "walk"]


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
# The labels of a scalar expression (a number, scalar()/time()/pi(), arithmetic of those): equal to NONE but
# a distinct object, so that a binary expression learns whether a side is a scalar from the side's labels
# instead of walking the side again (promql_parser builds a new wrapper object on every attribute access,
# so a second walk costs as much as the first). Never returned by output_labels().
_SCALAR = LabelSet(True)
# functions whose output drops every label, or keeps the labels of their first argument
_SCALARISH = {"scalar", "time", "pi", "vector"}
_SCALAR_FUNCS = {"scalar", "time", "pi"}
# functions _call_labels does not treat as "the labels of the first vector argument"
_SPECIAL_FUNCS = _SCALARISH | {"absent", "absent_over_time", "label_replace", "label_join", "histogram_quantile"}


def output_labels(node: Any) -> LabelSet:
    """A conservative description of the labels the result of `node` can carry."""
    labels = _labels(node)
    return NONE if labels is _SCALAR else labels


_VS, _MATRIX = pp.VectorSelector, pp.MatrixSelector
_NODE_TYPES = (pp.VectorSelector, pp.MatrixSelector, pp.NumberLiteral, pp.StringLiteral, pp.ParenExpr,
               pp.UnaryExpr, pp.SubqueryExpr, pp.AggregateExpr, pp.Call, pp.BinaryExpr)
_NODE_TYPE_SET = frozenset(_NODE_TYPES)
_FIRST = itemgetter(0)
# the node types an expression may have for keeps_input_labels() (calls and binary operations looked at)
_PLAIN_TYPES = frozenset((pp.VectorSelector, pp.MatrixSelector, pp.NumberLiteral, pp.ParenExpr, pp.UnaryExpr,
                          pp.Call, pp.BinaryExpr))


def node_positions(nodes: list[tuple[Any, tuple[Any, ...]]]) -> dict[type, list[int]]:
    """Where each node type occurs in a node list (`node_list()`): promql_parser type -> indexes, in order.
    One pass over the nodes that several checks share; each then visits only the types it cares about
    (touching a node costs more than the few operations done on it). A subclass counts as its base type."""
    kinds = list(map(type, map(_FIRST, nodes)))  # (map() runs in C: a fifth faster than a for loop here)
    if not _NODE_TYPE_SET.issuperset(kinds):
        kinds = [next((k for k in _NODE_TYPES if isinstance(node, k)), type(node)) for node, _ in nodes]
    found: dict[type, list[int]] = {}
    for i, kind in enumerate(kinds):
        where = found.get(kind)
        if where is None:
            found[kind] = [i]
        else:
            where.append(i)
    return found


def keeps_input_labels(nodes: list[tuple[Any, tuple[Any, ...]]], positions: dict[type, list[int]]) -> bool:
    """Whether output_labels() of an expression is certainly OPEN, from its node list and node_positions()
    (without output_labels()'s walk): it has a selector and is built only of selectors, range selectors,
    parentheses, signs, numbers, binary operators without on()/ignoring()/group_x(), and functions not in
    _SPECIAL_FUNCS whose first argument is a (range) selector.

    Why that is OPEN, by induction: a part without a selector is a scalar (numbers, signs, arithmetic;
    promql_parser rejects strings and subqueries of scalars there); a part with one is OPEN. A binary
    operation of a scalar and a vector gives the vector's labels; of two vectors without matching modifiers,
    the left side's (`or`: the union of two OPEN sets, OPEN); a function of a (range) selector gives the
    selector's (`vec_args[0]` of _call_labels)."""
    if _VS not in positions or not _PLAIN_TYPES.issuperset(positions):
        return False
    for i in positions.get(pp.BinaryExpr, ()):
        mod = nodes[i][0].modifier
        if mod is not None:
            card = str(mod.card)
            if mod.matching is not None or "OneToMany" in card or "ManyToOne" in card:
                return False
    last = len(nodes) - 1
    for i in positions.get(pp.Call, ()):
        node = nodes[i][0]
        if node.func.name in _SPECIAL_FUNCS or i == last:
            return False
        first, anc = nodes[i + 1]  # the node list is in pre-order: a call's first argument comes next
        if not anc or anc[-1] is not node or type(first) not in (_VS, _MATRIX):
            return False  # no arguments (`hour()`), or the first is not a selector
    return True


def may_drop(nodes: list[tuple[Any, tuple[Any, ...]]], positions: dict[type, list[int]],
             labels: frozenset[str] | set[str]) -> bool:
    """False when output_labels() of the expression surely may have each of `labels` (its result keeps them
    where its input has them), from its node list and node_positions(), without output_labels()'s walk.

    Why, by induction over _labels(): a label is lost only where one of these is: an aggregation but
    topk/bottomk/limitk/limit_ratio, unless `by (...)` names the label or `without (...)` does not; vector(),
    scalar(), time(), pi(), absent(), absent_over_time(); histogram_quantile() for `le`; a call whose first
    argument that is not a literal is a scalar, or that has none; `on (...)` without the label, `ignoring (...)`
    with it (group_x and set operations included, to be safe); an expression that is a scalar or a string as a
    whole. Anything else passes on the labels of its operands (label_replace() and count_values() add one;
    promql_parser rejects scalars where a vector is wanted, as in an aggregation or a subquery). A node type
    this does not know may lose any label."""
    if not _NODE_TYPE_SET.issuperset(positions):
        return True
    root = nodes[0][0]
    if type(root) is pp.StringLiteral or _is_scalar(root):
        return True
    for i in positions.get(pp.AggregateExpr, ()):
        node = nodes[i][0]
        if op_name(node.op) in _SAMPLING:
            continue
        mod = node.modifier
        if mod is None:
            return True
        names, by = mod.labels, mod.type == pp.AggModifierType.By
        if any((label in names) != by for label in labels):
            return True
    for i in positions.get(pp.Call, ()):
        node = nodes[i][0]
        name = node.func.name
        if name in _SCALARISH or name in ("absent", "absent_over_time"):
            return True
        if name == "histogram_quantile" and len(node.args) == 2:
            if "le" in labels:
                return True
            continue
        if name in ("label_replace", "label_join"):
            continue  # (the labels of its first argument, a vector, and one more)
        first = next((a for a in node.args if type(a) not in (pp.NumberLiteral, pp.StringLiteral)), None)
        if first is None or _is_scalar(first):
            return True
    include = pp.LabelModifierType.Include
    for i in positions.get(pp.BinaryExpr, ()):
        mod = nodes[i][0].modifier
        matching = mod.matching if mod is not None else None
        if matching is not None:
            names, on = matching.labels, matching.type == include
            if any((label in names) != on for label in labels):
                return True
    return False


def _is_scalar(node: Any) -> bool:
    """Whether _labels(node) is _SCALAR: numbers, scalar()/time()/pi(), signs, parentheses and arithmetic of
    those."""
    kind = type(node)
    while kind is pp.ParenExpr or kind is pp.UnaryExpr:
        node = node.expr
        kind = type(node)
    if kind is pp.NumberLiteral:
        return True
    if kind is pp.Call:
        return node.func.name in _SCALAR_FUNCS
    if kind is pp.BinaryExpr:
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _labels(node: Any) -> LabelSet:
    """output_labels() without its shortcut, and _SCALAR for a scalar expression."""
    handler = _OUTPUT_BY_TYPE.get(type(node))  # one look-up rather than a chain of isinstance() per node
    if handler is not None:
        return handler(node)
    for kind, handler in _OUTPUT_BY_TYPE.items():  # a subclass of one of promql_parser's types
        if isinstance(node, kind):
            return handler(node)
    return OPEN


def _vector(labels: LabelSet) -> LabelSet:
    """The labels of an expression that is not a scalar even when its input is."""
    return NONE if labels is _SCALAR else labels


def _number(node: Any) -> LabelSet:
    return _SCALAR


def _none(node: Any) -> LabelSet:
    return NONE


def _open(node: Any) -> LabelSet:
    return OPEN


def _matrix_labels(node: Any) -> LabelSet:
    return _labels(node.vector_selector)


def _inner_labels(node: Any) -> LabelSet:  # ( ) and a sign: a scalar stays a scalar
    return _labels(node.expr)


def _subquery_labels(node: Any) -> LabelSet:
    return _vector(_labels(node.expr))


_SAMPLING = {"topk", "bottomk", "limitk", "limit_ratio"}


def _aggregate_labels(node: Any) -> LabelSet:
    op = op_name(node.op)
    inner = _labels(node.expr)
    if op in _SAMPLING:
        return _vector(inner)
    mod = node.modifier
    if mod is None:
        result = NONE
    elif "By" in str(mod.type):
        result = LabelSet(True, frozenset(x for x in mod.labels if inner.may_have(x)))
    else:
        result = inner.drop(set(mod.labels))
    if op == "count_values":
        param = node.param
        if isinstance(param, pp.StringLiteral):
            result = result.add({param.val})
    return result


def _call_labels(node: Any) -> LabelSet:
    name = node.func.name
    if name in _SCALARISH:
        return _SCALAR if name in _SCALAR_FUNCS else NONE
    if name in ("absent", "absent_over_time"):
        labels: set[str] = set()
        for n, _ in walk(node):
            if isinstance(n, pp.VectorSelector):
                labels |= {m.name for m in matchers(n) if m.op == "Equal"}
        return LabelSet(True, frozenset(labels - {"__name__"}))
    args = node.args
    if name in ("label_replace", "label_join") and len(args) >= 2 and isinstance(args[1], pp.StringLiteral):
        return _labels(args[0]).add({args[1].val})
    if name == "histogram_quantile" and len(args) == 2:
        return _labels(args[1]).drop({"le"})
    for arg in args:  # the first argument that is not a literal
        if not isinstance(arg, (pp.NumberLiteral, pp.StringLiteral)):
            return _vector(_labels(arg))
    return NONE


def _binary_labels(node: Any) -> LabelSet:
    lhs, rhs = _labels(node.lhs), _labels(node.rhs)
    lhs_scalar = lhs is _SCALAR
    rhs_scalar = rhs is _SCALAR
    if lhs_scalar and rhs_scalar:
        return _SCALAR
    if lhs_scalar:
        return rhs
    if rhs_scalar:
        return lhs
    op = op_name(node.op)
    if op == "or":
        return _union(lhs, rhs)
    bmod = node.modifier
    if bmod is None:
        return lhs
    card = str(getattr(bmod, "card", ""))
    matching = getattr(bmod, "matching", None)
    if "OneToMany" in card:  # group_right: result carries the right side's labels
        extra = set(getattr(bmod, "group_labels", []) or [])
        return rhs.add(extra)
    if "ManyToOne" in card:
        extra = set(getattr(bmod, "group_labels", []) or [])
        return lhs.add(extra)
    if matching is not None and op not in ("and", "unless"):
        kind = str(getattr(matching, "type", ""))
        if "Include" in kind:
            return LabelSet(True, frozenset(x for x in matching.labels if lhs.may_have(x)))
        if "Exclude" in kind:
            return lhs.drop(set(matching.labels))
    return lhs


# promql_parser's node types are unrelated classes (each derives from Expr only): the order of the
# isinstance() chain this table replaced did not matter
_OUTPUT_BY_TYPE: dict[type, Any] = {
    pp.NumberLiteral: _number, pp.StringLiteral: _none, pp.VectorSelector: _open, pp.MatrixSelector: _matrix_labels,
    pp.ParenExpr: _inner_labels, pp.UnaryExpr: _inner_labels, pp.SubqueryExpr: _subquery_labels,
    pp.AggregateExpr: _aggregate_labels, pp.Call: _call_labels, pp.BinaryExpr: _binary_labels,
}


def _union(a: LabelSet, b: LabelSet) -> LabelSet:
    if a.closed and b.closed:
        return LabelSet(True, a.names | b.names)
    return LabelSet(False, a.names | b.names, (a.removed if not a.closed else frozenset())
                    & (b.removed if not b.closed else frozenset()))

