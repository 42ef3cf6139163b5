"""promql-impossible: parts of a query that can never return anything, and labels that cannot exist where
they are used (pint's promql/impossible)."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

import promql_parser as pp

from opsctl.promql_syntax import is_stand_in
from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity
from opsctl.rules.promql_ast import matchers, op_name

INFO = CheckInfo(
    "promql-impossible", Severity.warning, "Part of the query can never match or return anything",
    "Reports parts of a query that are dead: they can never return a result or never change it.\n\n"
    "- a comparison between constants that is always false: `vector(1) > 2` never returns anything;\n"
    "- a binary operation between two vectors whose sides can never have the same labels: in "
    "`foo{job=\"bar\"} unless sum(foo)` the right side has no labels (sum() removed them) while every left "
    "series has `job`, so `unless` never removes anything; `sum(a) and b{job=\"x\"}` never returns anything;\n"
    "- `x unless on() vector(1)`: the right side always returns something, so the result is always empty;\n"
    "- `vector(0) or sum(x)`: the left side always returns a series without labels, so the right side is "
    "never used;\n"
    "- a label used where it can no longer exist: `group by (cluster) (sum(errors))` (sum() removed "
    "`cluster`), `sum(foo) / on(cluster) count(bar)`, `x * on(instance) group_left(team) sum(y)`.\n\n"
    "Labels are known to exist from equality matchers (`{job=\"api\"}`) and known to be gone after "
    "aggregations (`sum()`, `by (...)`, `without (...)`), `on (...)`/`ignoring (...)`, absent(), vector(), "
    "histogram_quantile() (`le`) and `{label=\"\"}` matchers. Adding a label back with `group_left (team)` "
    "when the left side already has `team` (from an equality matcher) replaces it; that is only noted (info). "
    "As pint's promql/impossible, except: a right side of `or` that never matches the left side is not "
    "reported (its series are all added, which is what `or` is for); `vector(1) or x` is only reported when "
    "`x` has no labels either (otherwise its series are added too); labels ignored with `ignoring (...)` are "
    "not compared; only `=` matchers with a value make a label certain (pint also counts `=~`); a label added "
    "by `group_left (...)`/`group_right (...)` that an outer aggregation or an outer `on (...)`/`ignoring (...)` "
    "removes again (pint's unused and orphaned labels) is only noted (info): the join may still be wanted as a "
    "filter.",
)

CMP = {"==", "!=", ">", "<", ">=", "<="}
EMPTY: frozenset[str] = frozenset()
# functions returning a value without labels that is always there
_SCALAR_FUNCS = {"time", "pi", "scalar"}
_NO_ARG_TIME_FUNCS = {"days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month",
                      "year"}


class _Src(NamedTuple):
    """What an expression's result series can carry."""

    fixed: bool  # only `possible` (and `guaranteed`) labels can be present
    possible: frozenset[str]  # with fixed: the labels that may be there
    excluded: frozenset[str]  # without fixed: labels that cannot be there
    guaranteed: frozenset[str]  # labels every result series has
    why: str  # why the labels are fixed (for messages)
    always: bool = False  # always returns a result (a constant)
    value: float | None = None  # the constant it returns, when known
    cond: bool = False  # filtered by a comparison
    scalar: bool = False
    joined: frozenset[str] = EMPTY  # labels a group_left/group_right(...) join added, still carried

    def can_have(self, label: str) -> bool:
        if label in self.guaranteed:
            return True
        if self.fixed:
            return label in self.possible
        return label not in self.excluded

    def reason(self, label: str) -> str:
        if not self.fixed and label in self.excluded:
            return f"`{label}` is removed earlier in the query (`without`, `ignoring` or a `{label}=\"\"` matcher)"
        return self.why


_SPACES = re.compile(r"\s+")
_new = tuple.__new__  # _Src(...) from a tuple of all its fields, without namedtuple's Python-level __new__
_OPEN = _Src(False, EMPTY, EMPTY, EMPTY, "")


def _const(value: float | None, why: str, scalar: bool) -> _Src:
    return _Src(True, EMPTY, EMPTY, EMPTY, why, always=True, value=value, scalar=scalar)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if rule.ast is None or not may_find(ctx.nodes(rule), rule.expr):
        return
    key = ("promql-impossible", rule.expr)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = analyse(rule.ast)
    for message, severity in found:
        yield rule_issue(message, rule, severity=severity)


# calls whose result is a vector with a known, limited label set: fixed (vector(), absent()...) or with a label
# removed (histogram_quantile() drops `le`); time(), pi() and scalar() give scalars, which only meet a vector
# in a binary operation with a scalar side, where they never limit the vector's labels
_LIMITING_CALLS = frozenset({"vector", "absent", "absent_over_time", "histogram_quantile", *_NO_ARG_TIME_FUNCS})
# calls that send a rule to the walk when inside a binary operation between two vectors: all limiting ones but
# histogram_quantile(); vector() and the time functions are the only vectors that may be `always` there,
# absent() the only call that makes labels `guaranteed`
_WALK_IN_OPS = _LIMITING_CALLS - {"histogram_quantile"}
_LITERALS = frozenset({pp.NumberLiteral, pp.StringLiteral})
_PASS_THROUGH = frozenset({pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr})
_NEVER_CONST = frozenset({pp.VectorSelector, pp.MatrixSelector, pp.AggregateExpr, pp.StringLiteral})
_PLAIN = frozenset({*_LITERALS, *_PASS_THROUGH, pp.MatrixSelector})  # never limiting by themselves
_GROUPED = (pp.VectorMatchCardinality.OneToMany, pp.VectorMatchCardinality.ManyToOne)
_KEEP_LABELS = ("topk", "bottomk", "limitk", "limit_ratio")  # aggregations that keep their input's labels


def may_find(nodes: list[tuple[Any, tuple[Any, ...]]], expr: str | None = None) -> bool:
    """False when analyse() is sure to find nothing in the expression of these (node, ancestors) pairs
    (pre-order, as the loader lists them): a screen that spares most rules the walk, looking only at node
    types and a few attributes (the walk reads every matcher and modifier and builds a _Src per node).

    Why it is safe. Call a node *limiting* when its result can have a fixed label set or removed labels: an
    aggregation, vector(), absent(), histogram_quantile(), the time functions, a `{label=""}` matcher, a
    binary operation with `on (...)` or `ignoring (...)` (which keep or remove labels; group_left (...) and
    group_right (...) naming labels to copy always send the rule to the walk, and without such labels they
    are counted like `on`/`ignoring` alone). By induction over the handlers of the walk, an expression
    without a limiting node gives either a scalar, or a vector that may have any label (not `fixed`, no
    `excluded`), has no `joined` labels, is not `always` and has no known `value` (only vector() and the time
    functions make a vector `always`). So the findings need:
    - `by (label)` or `on (label)` that cannot be found: a limiting node inside the aggregation or operation
      (promql_parser rejects an aggregation of a scalar, and vector matching with a scalar side), and one
      that may remove that label (_named_labels_may_vanish);
    - a left side of `or` that is always there: vector() or a time function inside a binary operation between
      two vectors (an operation with a number or string literal side is not one; absent() there sends the
      rule to the walk too, as it makes labels `guaranteed`, below);
    - two sides that never match (arithmetic, comparison, `and`, `unless`): a limiting node inside a binary
      operation between two vectors, and a label every series of one side has that the other side may lack
      (_guaranteed_reaches);
    - anything about group_x() labels: a binary operation with group_left (...)/group_right (...) naming
      labels. Beyond the above, `on (...)` and `ignoring (...)` report only labels in `joined`, which only
      such a group_x() adds, and `or`/`unless on ()` with a side always there (vector() or a time function,
      above);
    - a comparison of constants: a comparison both of whose sides may be constant (_may_be_const).
    A node type this does not know sends the rule to the walk. `expr`, the expression's text, if given, spares a
    look for count_values()."""
    by_aggregations: set[int] = set()  # id() of the aggregations `by` and the operations `on (...)` seen
    vector_ops: set[int] = set()  # id() of the binary operations between two vectors seen
    limited_operand = False  # a limiting node inside an operand of one of vector_ops
    limited_by = False  # a limiting node inside one of by_aggregations
    # id() of the nodes seen that may remove labels -> what says which, for _removals: an aggregation's modifier,
    # an operation's `on`/`ignoring`, the labels of a selector's `{label=""}` matchers, None for a call (any)
    removers: dict[int, Any] = {}
    # the selectors seen with `{label="value"}` matchers (labels all their series have): (node, ancestors, labels)
    labelled: list[tuple[Any, tuple[Any, ...], set[str]]] = []
    # (the types as locals: this loop sees every node of every rule, and a local is faster than pp.X)
    binary, aggregate, call, selector = pp.BinaryExpr, pp.AggregateExpr, pp.Call, pp.VectorSelector
    by, equal, plain, literals, never_const = pp.AggModifierType.By, pp.MatchOp.Equal, _PLAIN, _LITERALS, _NEVER_CONST
    exclude = pp.LabelModifierType.Exclude
    for node, ancestors in nodes:
        kind = type(node)
        if kind is binary:
            mod = node.modifier
            ignoring = False
            if mod is not None:
                if mod.card in _GROUPED and mod.group_labels:
                    return True  # group_left (...)/group_right (...) copying labels
                matching = mod.matching
                ignoring = matching is not None
                if ignoring:
                    removers[id(node)] = matching
                if ignoring and matching.type != exclude:
                    # on (...) reports labels a side cannot have: like `by (...)`, a limiting node inside it
                    # sends the rule to the walk (below); it keeps only its labels: limiting itself too
                    by_aggregations.add(id(node))
            lhs, rhs = node.lhs, node.rhs
            lhs_kind, rhs_kind = type(lhs), type(rhs)
            if lhs_kind not in never_const and rhs_kind not in never_const and _may_be_const(lhs) \
                    and _may_be_const(rhs) and str(node.op).strip() in CMP:
                return True
            if lhs_kind not in literals and rhs_kind not in literals:
                vector_ops.add(id(node))
            if ignoring:  # `on (...)`/`ignoring (...)` keeps or removes labels: limiting, as below
                if by_aggregations and not by_aggregations.isdisjoint(map(id, ancestors)):
                    limited_by = True
                if vector_ops and not vector_ops.isdisjoint(map(id, ancestors)):
                    limited_operand = True
            continue  # without on/ignoring, a binary operation limits nothing itself
        if kind in plain:
            continue
        if kind is aggregate:
            mod = removers[id(node)] = node.modifier
            if mod is not None and mod.type == by:
                by_aggregations.add(id(node))
            limiting, walk_in_op = True, False
        elif kind is call:
            if not by_aggregations and not vector_ops:
                continue  # (nothing above it to report it: the name need not be read)
            name = node.func.name
            limiting, walk_in_op = name in _LIMITING_CALLS, name in _WALK_IN_OPS
            if limiting:
                removers[id(node)] = None
        elif kind is selector:
            if not by_aggregations and not vector_ops:
                continue
            # `{label=""}` (the loader's regex stand-ins are `=` matchers too, but never with an empty value);
            # a selector with `or` alternatives is counted as limiting (it is not, but it is rare)
            ms = node.matchers
            limiting, walk_in_op = bool(ms.or_matchers), False
            certain: set[str] = set()  # (the walk takes no label for certain from `or` alternatives)
            empty: set[str] = set()
            for m in ms.matchers:
                if m.op != equal or m.name == "__name__":
                    continue
                value = m.value
                if not value:
                    empty.add(m.name)
                elif not is_stand_in(value):
                    certain.add(m.name)
            if empty:
                limiting = True
                removers[id(node)] = frozenset(empty)
            if certain and not ms.or_matchers:
                labelled.append((node, ancestors, certain))
        else:
            return True  # a type this does not know
        if not limiting:
            continue
        # pre-order: the ancestors have been seen
        if by_aggregations and not by_aggregations.isdisjoint(map(id, ancestors)):
            limited_by = True
        if vector_ops and not vector_ops.isdisjoint(map(id, ancestors)):
            if walk_in_op:
                return True
            limited_operand = True
    removals = _removals(nodes, removers) if limited_by or (limited_operand and labelled) else []
    if limited_by and _named_labels_may_vanish(nodes, by_aggregations, removers, removals):
        return True
    if not limited_operand:
        return False
    # the labels all series of a side have come from `labelled`, count_values() and absent() (above)
    if (expr is None or "count_values" in expr.lower()) and _count_values_in(nodes, vector_ops):  # (any case)
        return True
    return bool(labelled) and _guaranteed_reaches(nodes, vector_ops, removals, labelled)


def _end(nodes: list[tuple[Any, tuple[Any, ...]]], index: int) -> int:
    """The index after the last node of the subtree of node `index` (pre-order: its nodes follow it, deeper)."""
    depth, end, count = len(nodes[index][1]), index + 1, len(nodes)
    while end < count and len(nodes[end][1]) > depth:
        end += 1
    return end


_ANY = None  # a _Removal's labels when it may remove any label


class _Removal(NamedTuple):
    """A node that may remove labels from what the walk finds an expression can have (_Src.can_have)."""

    at: int  # its index in the node list
    labels: frozenset[str] | None  # None: it may remove any
    keeps: bool  # it keeps only `labels` (else it removes them)

    def may_remove(self, label: str) -> bool:
        return self.labels is None or (label in self.labels) != self.keeps


_MISSING = object()


def _removals(nodes: list[tuple[Any, tuple[Any, ...]]], removers: dict[int, Any]) -> list[_Removal]:
    """The nodes that may remove a label, in order. Only these give a _Src a fixed label set or excluded
    labels; the others pass on the labels of their operands (or are scalars, which no label test sees): an
    aggregation but topk/bottomk/limitk/limit_ratio (all labels, or those `by (...)` does not keep, or those
    `without (...)` names); vector(), absent(), absent_over_time(), histogram_quantile() and the time
    functions (any); a `{label=""}` matcher; `on (...)` (what it does not keep), `ignoring (...)` (what it
    names). (A node type nobody knows has sent the rule to the walk.) `removers`: what may_find read of those
    nodes, by id(): an aggregation's modifier, an operation's matching, a selector's labels, None for a call."""
    out: list[_Removal] = []
    aggregate, binary = pp.AggregateExpr, pp.BinaryExpr
    by, exclude = pp.AggModifierType.By, pp.LabelModifierType.Exclude
    for index, (node, _) in enumerate(nodes):
        seen = removers.get(id(node), _MISSING)
        if seen is _MISSING:
            continue
        kind = type(node)
        if kind is aggregate:
            if op_name(node.op).lower() in _KEEP_LABELS:
                continue
            if seen is None:  # no modifier
                out.append(_Removal(index, _ANY, False))
            else:
                out.append(_Removal(index, frozenset(seen.labels), seen.type == by))
        elif kind is binary:
            out.append(_Removal(index, frozenset(seen.labels), seen.type != exclude))
        else:  # a call (None: any label) or a selector's `{label=""}` labels
            out.append(_Removal(index, seen, False))
    return out


def _may_lack(removals: list[_Removal], start: int, end: int, label: str) -> bool:
    """False when the walk surely finds that the expression of the subtree nodes[start:end] (a whole subtree)
    can have `label`: no node there may remove it (_removals)."""
    return any(start <= r.at < end and r.may_remove(label) for r in removals)


def _named_labels_may_vanish(nodes: list[tuple[Any, tuple[Any, ...]]], named: set[int], removers: dict[int, Any],
                             removals: list[_Removal]) -> bool:
    """Whether a label of an aggregation's `by (...)` or an operation's `on (...)` (the nodes whose id() is in
    `named`) may be one that the expression below it cannot have: what the walk reports there. `removers`
    holds the aggregation's modifier or the operation's matching (see may_find), whose labels those are."""
    for index, (node, _) in enumerate(nodes):
        if id(node) not in named:
            continue
        end = _end(nodes, index)
        for label in removers[id(node)].labels:
            if label != "__name__" and _may_lack(removals, index + 1, end, label):
                return True
    return False


def _count_values_in(nodes: list[tuple[Any, tuple[Any, ...]]], vector_ops: set[int]) -> bool:
    """Whether a count_values() is inside one of `vector_ops` (its label is one all its series have)."""
    for node, ancestors in nodes:
        if type(node) is pp.AggregateExpr and op_name(node.op).lower() == "count_values" \
                and not vector_ops.isdisjoint(map(id, ancestors)):
            return True
    return False


def _guaranteed_reaches(nodes: list[tuple[Any, tuple[Any, ...]]], vector_ops: set[int], removals: list[_Removal],
                        labelled: list[tuple[Any, tuple[Any, ...], set[str]]]) -> bool:
    """Whether an operand of one of `vector_ops` may have a label every one of its series has (`guaranteed`)
    that the other operand may lack (_removals): what the walk needs to find that two sides never match.
    Guaranteed labels come from `{label="value"}` matchers (the selectors in `labelled`, with those labels),
    count_values() and absent() (see may_find, which looks for the last two), and only aggregations remove
    them on the way up (`by (...)` keeps at most the labels it names, `without (...)` removes some, the others
    all); anything else keeps at most those of its arguments, or sends the rule to the walk. Past one of
    `vector_ops` they are taken to stay (at most they do). `removals`: _removals() of the nodes."""
    if not removals:
        return False  # no label can be missing anywhere
    # unless some node keeps only some labels or may remove any, only the labels named by a removal can lack
    removable: set[str] | None = None
    if all(r.labels is not None and not r.keeps for r in removals):
        removable = set().union(*(r.labels or () for r in removals))
    # id() of an operation -> the removals in its left side, in its right side, and the index of its left side
    sides: dict[int, tuple[list[_Removal], list[_Removal], int]] = {}
    index_of: dict[int, int] = {}  # id() of a node -> its index (made when first needed)
    for node, ancestors, certain in labelled:
        if vector_ops.isdisjoint(map(id, ancestors)):
            continue
        labels = certain & removable if removable is not None else set(certain)
        if not labels:
            continue
        below = node  # the child of `above` on the way up
        for above in reversed(ancestors):
            if id(above) in vector_ops:
                where = sides.get(id(above))
                if where is None:
                    if not index_of:
                        index_of = {id(n): i for i, (n, _) in enumerate(nodes)}
                    lhs = index_of[id(above)] + 1
                    rhs = _end(nodes, lhs)
                    end = _end(nodes, rhs)
                    where = sides[id(above)] = ([r for r in removals if lhs <= r.at < rhs],
                                                [r for r in removals if rhs <= r.at < end], lhs)
                left, right, lhs = where
                # the other side: the right one when `below` is the left one (it starts the left side)
                other = right if nodes[lhs][0] is below else left
                if other and any(r.may_remove(label) for r in other for label in labels):
                    return True
            elif type(above) is pp.AggregateExpr and op_name(above.op).lower() not in _KEEP_LABELS:
                mod = above.modifier
                if mod is None:
                    break
                if mod.type == pp.AggModifierType.By:
                    labels.intersection_update(mod.labels)
                else:
                    labels.difference_update(mod.labels)
                if not labels:
                    break
            below = above
    return False


def _may_be_const(node: Any) -> bool:
    """False when the walk surely gives `node` no known constant value (`value` None)."""
    kind = type(node)
    while kind in _PASS_THROUGH:
        node = node.expr
        kind = type(node)
    if kind is pp.NumberLiteral:
        return True
    if kind is pp.BinaryExpr:
        return _may_be_const(node.lhs) and _may_be_const(node.rhs)
    if kind is pp.Call:
        return node.func.name in ("pi", "vector")
    return kind not in _NEVER_CONST


def analyse(ast: Any) -> list[tuple[str, Severity | None]]:
    """The problems of one expression: (message, severity or None for the check's default)."""
    out: list[tuple[str, Severity | None]] = []
    _walk(ast, out)
    return out


def _frag(node: Any) -> str:
    text = _SPACES.sub(" ", str(node).replace("{}", ""))
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    handler = _BY_TYPE.get(type(node))  # one look-up instead of a chain of isinstance() per node
    if handler is not None:
        return handler(node, out)
    return _walk_subclass(node, out)


def _walk_subclass(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    """_walk for a node whose type is not one of promql_parser's own (a subclass), by isinstance()."""
    for kind, handler in _BY_TYPE.items():
        if isinstance(node, kind):
            return handler(node, out)
    return _OPEN


def _number(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    return _const(float(node.val), "a number has no labels", True)


def _string(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    return _const(None, "a string has no labels", True)


def _selector(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    ms = node.matchers
    if ms.or_matchers:
        return _Src(False, EMPTY, EMPTY, EMPTY, "")
    guaranteed: set[str] = set()
    excluded: set[str] = set()
    for m in matchers(node):
        if m.op == "Equal" and m.name != "__name__":
            (guaranteed if m.value else excluded).add(m.name)
    return _Src(False, EMPTY, frozenset(excluded), frozenset(guaranteed), "")


def _inner(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    return _walk(node.expr, out)


def _unary(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    inner = _walk(node.expr, out)
    return inner._replace(value=-inner.value) if inner.value is not None else inner


def _matrix(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    return _walk(node.vector_selector, out)


def _aggregate(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    inner = _walk(node.expr, out)
    op = op_name(node.op).lower()
    if op in ("topk", "bottomk", "limitk", "limit_ratio"):
        return inner._replace(always=False, value=None)
    mod = node.modifier
    if inner.joined:
        _unused_joined(node, op, mod, inner.joined, out)
    if mod is None:
        result = _Src(True, EMPTY, EMPTY, EMPTY, f"`{op}()` without `by` removes every label")
    elif "By" in str(mod.type):
        labels = list(mod.labels)
        for label in labels:
            if label != "__name__" and not inner.can_have(label):
                out.append((f"`{_frag(node)}`: `by ({label})` can never find a `{label}` label: "
                            f"{inner.reason(label)}", None))
        keep = frozenset(x for x in labels if inner.can_have(x))
        result = _Src(True, keep, EMPTY, inner.guaranteed & keep,
                      f"`{op} by ({', '.join(labels)})` keeps only those labels", joined=inner.joined & keep)
    else:
        gone = frozenset(mod.labels)
        result = inner._replace(possible=inner.possible - gone, excluded=inner.excluded | gone,
                                guaranteed=inner.guaranteed - gone, always=False, value=None, cond=False,
                                why=inner.why, joined=inner.joined - gone)
        if inner.fixed:
            result = result._replace(excluded=EMPTY)
    if op == "count_values" and isinstance(node.param, pp.StringLiteral):
        label = node.param.val
        result = result._replace(possible=result.possible | {label}, excluded=result.excluded - {label},
                                 guaranteed=result.guaranteed | {label})
    # an aggregation of something always there is always there too (sum(vector(1)))
    # result._replace(always=inner.always and not inner.cond, value=None, cond=False, scalar=False)
    return _new(_Src, (result[0], result[1], result[2], result[3], result[4], inner.always and not inner.cond,
                       None, False, False, result[9]))


def _call(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    name = node.func.name
    args = node.args
    if name == "vector":
        inner = _walk(args[0], out) if args else _OPEN
        value = inner.value if inner.always and not inner.cond else None
        return _const(value, "vector() returns one series without labels", False)._replace(
            always=inner.always and not inner.cond)
    if name in _SCALAR_FUNCS:
        for a in args:
            _walk(a, out)
        return _const(math.pi if name == "pi" else None, f"{name}() returns a number without labels", True)
    if name in _NO_ARG_TIME_FUNCS and not args:
        return _const(None, f"{name}() without an argument returns one series without labels", False)
    if name in ("absent", "absent_over_time"):
        labels: set[str] = set()
        for a in args:
            _walk(a, out)
            vs = a.vector_selector if isinstance(a, pp.MatrixSelector) else a
            if isinstance(vs, pp.VectorSelector) and not vs.matchers.or_matchers:
                labels |= {m.name for m in matchers(vs) if m.op == "Equal" and m.name != "__name__"}
        keep = frozenset(labels)
        return _Src(True, keep, EMPTY, keep,
                    f"{name}() returns only the labels of its selector's equality matchers (it returns "
                    "something only when no series exists)")
    first: _Src | None = None
    for a in args:
        if isinstance(a, (pp.NumberLiteral, pp.StringLiteral)):
            continue
        src = _walk(a, out)
        if first is None and not src.scalar:
            first = src
    if first is None:
        return _OPEN
    result = _new(_Src, (*first[:5], False, None, False, *first[8:]))  # first._replace(always=False, ...)
    if name in ("label_replace", "label_join") and len(args) >= 2 and isinstance(args[1], pp.StringLiteral):
        label = args[1].val
        result = result._replace(possible=result.possible | {label}, excluded=result.excluded - {label})
    elif name == "histogram_quantile":
        result = result._replace(possible=result.possible - {"le"}, guaranteed=result.guaranteed - {"le"},
                                 excluded=EMPTY if result.fixed else result.excluded | {"le"})
    return result


def _binary(node: Any, out: list[tuple[str, Severity | None]]) -> _Src:
    lhs = _walk(node.lhs, out)
    rhs = _walk(node.rhs, out)
    op = str(node.op).strip().lower()
    mod = node.modifier
    is_bool = bool(mod is not None and mod.return_bool)
    if lhs.scalar or rhs.scalar:
        return _with_scalar(node, op, lhs, rhs, is_bool, out)
    matching = mod.matching if mod is not None else None
    on = matching is not None and "Include" in str(matching.type)
    match_labels = list(matching.labels) if matching is not None else []
    if on:
        _on_labels(node, lhs, rhs, match_labels, out)
    card = str(mod.card) if mod is not None else ""
    grouped = "OneToMany" in card or "ManyToOne" in card  # group_left/group_right
    include = list(mod.group_labels or []) if mod is not None and grouped else []
    if matching is not None and op != "or":
        _orphaned_joined(node, op, card, on, match_labels, include, lhs, rhs, out)
    if op in ("and", "or", "unless"):
        return _set_op(node, op, lhs, rhs, on, match_labels, out)
    # arithmetic or comparison between two vectors
    right = "OneToMany" in card  # group_right: the result has the right side's labels
    many, one = (rhs, lhs) if right else (lhs, rhs)
    one_name, many_name, group = ("left", "right", "group_right") if right else ("right", "left", "group_left")
    never = None if on else _never_match(lhs, rhs, match_labels)
    if never:
        out.append((f"`{_frag(node)}`: the two sides never match: {never}, so it never returns anything", None))
    for label in include:
        if label == "__name__":
            continue
        if not one.can_have(label):
            out.append((f"`{_frag(node)}`: {group}({label}) copies `{label}` from the {one_name} side, which cannot "
                        f"have it: {one.reason(label)}", None))
        elif label in many.guaranteed:
            out.append((f"`{_frag(node)}`: `{label}` is already set by a matcher on the {many_name} side; "
                        f"{group}({label}) replaces it with the {one_name} side's value", Severity.info))
    added = frozenset(include) - {"__name__"}
    if on and not grouped:
        keep = frozenset(x for x in match_labels if many.can_have(x))
        result = _Src(True, keep, EMPTY, many.guaranteed & keep,
                      f"`on ({', '.join(match_labels)})` keeps only those labels", joined=many.joined & keep)
    elif on:
        result = many._replace(possible=many.possible | added, excluded=many.excluded - added,
                               joined=many.joined | added)
    elif grouped:  # ignoring(...) group_x(...): the labels of the `many` side stay
        result = many._replace(possible=many.possible | added, excluded=many.excluded - added,
                               joined=many.joined | added)
    else:
        gone = frozenset(match_labels)
        result = many._replace(possible=many.possible - gone, excluded=EMPTY if many.fixed else many.excluded | gone,
                               guaranteed=many.guaranteed - gone, joined=many.joined - gone)
    filtering = op in CMP and not is_bool
    if lhs.value is not None and rhs.value is not None and lhs.always and rhs.always and not never:
        value, dead = _fold(op, lhs.value, rhs.value, is_bool)
        if dead:
            _report_const(node, op, lhs.value, rhs.value, is_bool, out)
            return result._replace(always=False, value=None, cond=False, scalar=False)
        return result._replace(always=True, value=value, cond=False, scalar=False)
    # result._replace(always=..., value=None, cond=..., scalar=False), built directly
    return _new(_Src, (result[0], result[1], result[2], result[3], result[4],
                       lhs.always and rhs.always and not never and not filtering, None,
                       filtering or lhs.cond or rhs.cond, False, result[9]))


def _with_scalar(node: Any, op: str, lhs: _Src, rhs: _Src, is_bool: bool,
                 out: list[tuple[str, Severity | None]]) -> _Src:
    side = rhs if lhs.scalar and not rhs.scalar else lhs
    scalar = lhs.scalar and rhs.scalar
    filtering = op in CMP and not is_bool
    if lhs.value is None or rhs.value is None or not lhs.always or not rhs.always:
        # side._replace(cond=side.cond or filtering, always=side.always and not filtering, value=None,
        # scalar=scalar), built directly (the common case: a vector compared with a number)
        return _new(_Src, (side[0], side[1], side[2], side[3], side[4], side[5] and not filtering, None,
                           side[7] or filtering, scalar, side[9]))
    value, dead = _fold(op, lhs.value, rhs.value, is_bool)
    if dead:
        _report_const(node, op, lhs.value, rhs.value, is_bool, out)
        return side._replace(always=False, value=None, cond=False, scalar=scalar)
    return side._replace(always=True, value=value, cond=False, scalar=scalar)


def _fold(op: str, a: float, b: float, is_bool: bool) -> tuple[float | None, bool]:
    """(value, dead): the constant result of `a op b`; dead when a comparison is always false (without
    `bool` it then returns nothing; with `bool` always 0)."""
    if op in CMP:
        ok = {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
        if is_bool:
            return (1.0 if ok else 0.0), not ok
        return (a if ok else None), not ok
    try:
        if op == "+":
            return a + b, False
        if op == "-":
            return a - b, False
        if op == "*":
            return a * b, False
        if op == "/" and b:
            return a / b, False
        if op == "%" and b:
            return math.fmod(a, b), False
        if op == "^":
            return math.pow(a, b), False
    except (OverflowError, ValueError, ZeroDivisionError):
        pass
    return None, False


def _num(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _report_const(node: Any, op: str, a: float, b: float, is_bool: bool,
                  out: list[tuple[str, Severity | None]]) -> None:
    result = "always returns 0" if is_bool else "never returns anything"
    out.append((f"`{_frag(node)}` compares constants: `{_num(a)} {op} {_num(b)}` is always false, so it {result}",
                None))


def _on_labels(node: Any, lhs: _Src, rhs: _Src, labels: list[str], out: list[tuple[str, Severity | None]]) -> None:
    """pint's impossible labels of `on (...)`: a label a side cannot have."""
    for label in labels:
        if label == "__name__":
            continue
        for side, name in ((lhs, "left"), (rhs, "right")):
            if not side.can_have(label):
                out.append((f"`{_frag(node)}`: `on ({label})` but the {name} side cannot have `{label}`: "
                            f"{side.reason(label)}", None))
                break


def _never_match(lhs: _Src, rhs: _Src, ignored: list[str]) -> str | None:
    """Why two sides matched on all their labels (but `ignoring (...)` ones) never pair, or None."""
    for a, b, a_name, b_name in ((lhs, rhs, "left", "right"), (rhs, lhs, "right", "left")):
        for label in sorted(a.guaranteed):
            if label in ignored or label == "__name__":
                continue
            if not b.can_have(label):
                return f"every {a_name} series has `{label}` but no {b_name} series can have it ({b.reason(label)})"
    return None


def _set_op(node: Any, op: str, lhs: _Src, rhs: _Src, on: bool, labels: list[str],
            out: list[tuple[str, Severity | None]]) -> _Src:
    if op == "or":
        rhs_bare = rhs.fixed and not rhs.possible and not rhs.guaranteed
        if lhs.always and not lhs.cond and ((on and not labels) or (lhs.fixed and not lhs.possible and rhs_bare)):
            out.append((f"`{_frag(node)}`: the left side always returns a series, so the right side of `or` is "
                        "never used", None))
        if lhs.fixed and rhs.fixed:
            return _Src(True, lhs.possible | rhs.possible, EMPTY, lhs.guaranteed & rhs.guaranteed,
                        lhs.why or rhs.why, always=lhs.always or rhs.always, cond=lhs.cond and rhs.cond,
                        joined=lhs.joined | rhs.joined)
        ex = (lhs.excluded if not lhs.fixed else frozenset(x for x in rhs.excluded if not lhs.can_have(x))) & \
             (rhs.excluded if not rhs.fixed else frozenset(x for x in lhs.excluded if not rhs.can_have(x)))
        return _Src(False, EMPTY, ex, lhs.guaranteed & rhs.guaranteed, "", always=lhs.always or rhs.always,
                    cond=lhs.cond and rhs.cond, joined=lhs.joined | rhs.joined)
    never = None if on else _never_match(lhs, rhs, labels)
    if op == "unless":
        if never:
            out.append((f"`{_frag(node)}`: `unless` never removes anything: {never}", None))
        elif on and not labels and rhs.always and not rhs.cond:
            out.append((f"`{_frag(node)}`: the right side of `unless on()` always returns a series, so this never "
                        "returns anything", None))
        return lhs._replace(always=False, value=None)
    if never:  # and
        out.append((f"`{_frag(node)}`: `and` never returns anything: {never}", None))
    return lhs._replace(always=lhs.always and rhs.always and not never, value=None, cond=lhs.cond or rhs.cond)


def _unused_joined(node: Any, op: str, mod: Any, joined: frozenset[str],
                   out: list[tuple[str, Severity | None]]) -> None:
    """pint's unused labels: labels a group_left/group_right join added, removed again by an aggregation."""
    if mod is None:
        gone = set(joined)
    elif "By" in str(mod.type):
        gone = set(joined) - set(mod.labels)
    else:
        gone = set(joined) & set(mod.labels)
    for label in sorted(gone):
        out.append((f"`{_frag(node)}`: `{label}`, added by a group_left/group_right join inside, is removed again "
                    f"by `{op}`", Severity.info))


def _orphaned_joined(node: Any, op: str, card: str, on: bool, labels: list[str], include: list[str],
                     lhs: _Src, rhs: _Src, out: list[tuple[str, Severity | None]]) -> None:
    """pint's orphaned labels: labels a group_left/group_right join added on one side that this operation's
    `on (...)`/`ignoring (...)` keeps from the result."""
    if "OneToMany" in card:
        sides = [("left", lhs)]
    elif "ManyToOne" in card:
        sides = [("right", rhs)]
    else:  # one-to-one, and, unless
        sides = [("left", lhs), ("right", rhs)]
        if op in ("and", "unless"):
            sides = [("right", rhs)]
    for name, side in sides:
        for label in sorted(side.joined):
            if label in include or (on and label in labels) or (not on and label not in labels):
                continue
            out.append((f"`{_frag(node)}`: `{label}`, added by a group_left/group_right join on the {name} side, "
                        f"does not reach the result: `{'on' if on else 'ignoring'} ({', '.join(labels)})` leaves it "
                        "out", Severity.info))


# the order is that of the isinstance() chain this replaced (it decides for subclasses)
_BY_TYPE: dict[type, Any] = {
    pp.NumberLiteral: _number, pp.VectorSelector: _selector, pp.ParenExpr: _inner, pp.SubqueryExpr: _inner,
    pp.UnaryExpr: _unary, pp.MatrixSelector: _matrix, pp.AggregateExpr: _aggregate, pp.Call: _call,
    pp.BinaryExpr: _binary, pp.StringLiteral: _string,
}
