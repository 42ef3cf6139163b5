"""Read Prometheus rule files and Kubernetes PrometheusRule manifests.

`parse_rule_file()` never raises for problems in the file's content: every structural problem that
`promtool check rules` rejects becomes a `Finding` (severity error) on the returned `RuleFile`, with the
file, line and column it concerns. Only a file that cannot be read or parsed as YAML at all is marked
`unreadable` (the CLI exits 2 for those).

`load_rule_file()` is the strict variant for consumers that need a valid file (rule unit tests, backtests):
it raises `InputError` naming the first error.

Field handling follows Prometheus's rulefmt (yaml.v3 with KnownFields): unknown fields are errors, scalar
values are taken as written (`yes` is the string "yes"), `null` is the zero value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser as pp

from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.gotemplate.quick import plainly_valid
from opsctl.rules.model import Finding, Rule, RuleFile, RuleGroup, Severity
from opsctl.rules.newsyntax import SyntaxProblem, readable
from opsctl.rules.promql_ast import node_list
from opsctl.rules.promql_ast import parse as parse_promql
from opsctl.rules.syntax_gate import syntax_problems
from opsctl.rules.versions import (
    AGGREGATION_SINCE,
    EXPERIMENTAL_AGGREGATIONS,
    EXPERIMENTAL_FUNCTIONS,
    FUNCTION_REMOVED,
    FUNCTION_SINCE,
    NEWEST_VERSION,
    PromVersion,
    function_problem,
    selector_problems,
)
from opsctl.yamlutil import DEFAULT_LIMITS, Limits, PosDict, PosList, go_yaml_tag, loads_documents, read_text

LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME_LINES = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(?:\n[a-zA-Z_][a-zA-Z0-9_]*)*")  # LABEL_NAME_RE per line
_SURROGATE = re.compile("[\ud800-\udfff]")  # not valid UTF-8: Prometheus rejects such label values
INLINE_RE = re.compile(r"#\s*opsctl:\s*(disable|disable-file)\s*=\s*([A-Za-z0-9_,\- ]+)")

GROUP_FIELDS = {"name", "interval", "limit", "rules", "query_offset", "labels"}
RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
K8S_GROUP_EXTRA = {"partial_response_strategy"}


DEFAULT_VERSION = NEWEST_VERSION

# (expression, major, minor, experimental functions allowed) -> what _Reader.parse_expr found
_PARSED: dict[tuple[str, int, int, bool], tuple[Any, list[Any], list[str]]] = {}
# template text -> plainly_valid(text)
_PLAIN_TEMPLATES: dict[str, bool] = {}
# the `group`/`rule` keywords of _Reader.problem, as the field readers take them: a dict made once per rule
# rather than a **kwargs dict for every call (they report a problem on few of them)
_NO_CONTEXT: dict[str, Any] = {}


# an arithmetic operator or parenthesis inside brackets, or `offset (`: only then can an expression hold a
# duration expression (the rewrite lives in opsctl.promql, whose import brings numpy: not for every rule)
_MAY_HAVE_DURATION_EXPR = re.compile(
    r"\[[^\]]*[-+*/%^()][^\]]*\]|offset\s*[-+]?\s*(?:\(|(?:step|range|min_of|max_of)\s*\()|@\s*-?\s*\(",
    re.IGNORECASE)
_BRACKET_OPERATOR = re.compile(r"[-+*/%^()]")
_OFFSET_OR_AT_PAREN = re.compile(r"offset\s*[-+]?\s*(?:\(|(?:step|range|min_of|max_of)\s*\()|@\s*-?\s*\(",
                                 re.IGNORECASE)


def _may_have_duration_expr(text: str) -> bool:
    """bool(_MAY_HAVE_DURATION_EXPR.search(text)) at a third of the cost: str.find for the brackets, the
    regex engine only inside them, and for `offset (`/`@ (` only when the text has `(` and `@`/`offset`."""
    start = text.find("[")
    while start >= 0:
        end = text.find("]", start)
        if end < 0:
            break
        if _BRACKET_OPERATOR.search(text, start + 1, end):
            return True
        start = text.find("[", end)  # a `[` before `end` spans a part of this one
    return "(" in text and ("@" in text or "offset" in text.lower()) and \
        _OFFSET_OR_AT_PAREN.search(text) is not None


# strings and comments as opsctl.promql.durexpr skips them (a string may be unterminated): a regex matcher's
# `"2[0-9][0-9]"` is no duration expression, and must not cost the import of opsctl.promql
_STRINGS_AND_COMMENTS = re.compile(r""""(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?|#[^\n]*""", re.S)


def _duration_exprs(expr: str, version: PromVersion | None = None) -> str:
    """Prometheus 3 duration expressions (`x[5m * 2]`, `offset (1h + 5m)`) as the literals they stand for.
    A rule is evaluated as an instant query: step() and range() are 0 there (those `version` reads)."""
    if not _may_have_duration_expr(expr):
        return expr
    if not _may_have_duration_expr(_STRINGS_AND_COMMENTS.sub("", expr)):
        return expr  # only inside strings or comments, which durexpr.rewrite leaves alone
    from opsctl.promql import PromQLError, durexpr
    from opsctl.promql.semantics import unknown_duration_functions

    unknown = frozenset() if version is None else unknown_duration_functions(version)
    try:
        return durexpr.rewrite(expr, durexpr.Context(0.0, 0.0, unknown))
    except PromQLError:
        return expr


@dataclass(frozen=True)
class LoadOptions:
    prometheus_version: PromVersion = DEFAULT_VERSION
    check_templates: bool = True
    limits: Limits = DEFAULT_LIMITS
    # Prometheus 3 feature flags the server runs with (`promql-experimental-functions` makes sort_by_label,
    # limitk, mad_over_time... usable; without it Prometheus 3 refuses rules that call them). None: do not
    # judge experimental functions (rule unit tests and backtests, which evaluate what they are given)
    features: frozenset[str] | None = None


_GATED_FUNCTIONS = frozenset({*FUNCTION_SINCE, *FUNCTION_REMOVED, *EXPERIMENTAL_FUNCTIONS})
_GATED_AGGREGATIONS = frozenset({*AGGREGATION_SINCE, *EXPERIMENTAL_AGGREGATIONS})
_SCREENED = (pp.BinaryExpr, pp.MatrixSelector, pp.NumberLiteral, pp.StringLiteral, pp.ParenExpr, pp.UnaryExpr)


def _screen(nodes: list[tuple[Any, tuple[Any, ...]]], expr: str | None = None) -> tuple[bool, bool]:
    """(may function_problem find anything, may selector_problems) for an expression's nodes: a look at
    their types, instead of a scan of the text for some 40 names (function_problem) or a second walk
    (selector_problems). Both say nothing unless these find a node of theirs.

    With the expression's text, the attributes the text rules out are not asked for (each is a copy out of
    promql_parser's tree): an `@` modifier is written with `@`, an aggregation is named in the text."""
    gated = selectors = False
    call, aggregate, vector, subquery = pp.Call, pp.AggregateExpr, pp.VectorSelector, pp.SubqueryExpr
    at = expr is None or "@" in expr
    limit: bool | None = None if expr is not None else True  # None: the text not looked at yet
    for node, _ in nodes:
        kind = type(node)
        if kind is vector:
            if not node.name or (at and node.at is not None):
                selectors = True
        elif kind is call:
            if node.func.name in _GATED_FUNCTIONS:
                gated = True
        elif kind is aggregate:
            if limit is None:  # every gated aggregation has "limit" in its name (a test says so)
                limit = "limit" in (expr or "").lower()
            if limit and str(node.op).split(".")[-1] in _GATED_AGGREGATIONS:
                gated = True
        elif kind is subquery:
            if at and node.at is not None:
                selectors = True
        elif kind not in _SCREENED:  # a type this does not know: let both look
            return True, True
    return gated, selectors


class _Reader:
    def __init__(self, path: str, text: str, options: LoadOptions) -> None:
        self.path = path
        self.text = text
        self.options = options
        self.result = RuleFile(path=path)
        self.stats: dict[str, int] = {}
        version = options.prometheus_version
        # what read_rule and parse_expr ask for every rule, worked out once
        self.utf8_names = version.at_least(3, 0)
        self.keep_firing_for = version.at_least(2, 42)
        self.new_syntax = version.at_least(3, 7)
        self.experimental = options.features is None or "promql-experimental-functions" in options.features
        self.fresh_nodes: list[Any] | None = None  # the node list parse_expr made last, not yet given to a rule

    # -- findings -------------------------------------------------------------------------------
    def problem(self, check: str, message: str, loc: tuple[int, int], *, group: str | None = None,
                rule: str | None = None, severity: Severity = Severity.error) -> None:
        self.result.problems.append(
            Finding(check, severity, message, self.path, loc[0], loc[1], group=group, rule=rule)
        )

    # -- typed field access ----------------------------------------------------------------------
    def string(self, d: PosDict, key: str, where: str, ctx: dict[str, Any] = _NO_CONTEXT) -> str:
        value = d.get(key)
        if value is None:  # missing, or null: both ""
            return ""
        if isinstance(value, (dict, list)):
            self.problem("schema", f"field {key}: cannot unmarshal {go_yaml_tag(value)} into string in {where}",
                         d.value_loc(key), **ctx)
            return ""
        found = d.info.get(key)  # d.text(key) or "", without the method call
        return (found[2] or "") if found is not None else ""

    def duration(self, d: PosDict, key: str, ctx: dict[str, Any] = _NO_CONTEXT) -> float | None:
        value = d.get(key)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            self.problem("schema", f"field {key}: cannot unmarshal {go_yaml_tag(value)} into a duration",
                         d.value_loc(key), **ctx)
            return None
        found = d.info.get(key)  # d.text(key) or "", without the method call
        try:
            return parse_duration((found[2] or "") if found is not None else "")
        except ValueError as exc:
            self.problem("duration", f"{key}: {exc}", d.value_loc(key), **ctx)
            return None

    def string_map(self, d: PosDict, key: str, where: str,
                   ctx: dict[str, Any] = _NO_CONTEXT) -> tuple[dict[str, str], dict[str, Any]]:
        value = d.get(key)
        if value is None:
            return {}, {}
        if not isinstance(value, PosDict):
            self.problem("schema", f"field {key}: cannot unmarshal {go_yaml_tag(value)} into map[string]string "
                         f"in {where}", d.value_loc(key), **ctx)
            return {}, {}
        info, loc = value.info, value.loc
        if len(info) == len(value) and None not in value.values():  # (C loops) no null, every key placed
            texts: dict[str, Any] = {k: found[2] for k, found in info.items()}
            if None not in texts.values():  # and every value a scalar: its text, as below, in one comprehension
                return texts, {k: found[0] for k, found in info.items()}
        out: dict[str, str] = {}
        locs: dict[str, Any] = {}
        for k, v in value.items():
            found = info.get(k)
            # value.key_loc(k) for every key (also those with a problem), without the method calls
            locs[k] = found[0] if found is not None else loc
            if v is None:
                out[k] = ""
            elif isinstance(v, (dict, list)):
                self.problem("schema", f"{key}.{k}: cannot unmarshal {go_yaml_tag(v)} into string",
                             value.value_loc(k), **ctx)
            else:  # value.text(k) or ""
                out[k] = (found[2] or "") if found is not None else ""
        return out, locs

    def unknown_fields(self, d: PosDict, allowed: set[str], gotype: str, ctx: dict[str, Any] = _NO_CONTEXT) -> None:
        if d.keys() <= allowed:  # the usual case, in one set comparison
            return
        for key in d:
            if key not in allowed:
                self.problem("schema", f"field {key} not found in type {gotype}", d.key_loc(key), **ctx)

    # -- structure --------------------------------------------------------------------------------
    def read(self) -> RuleFile:
        try:
            docs = loads_documents(self.text, self.path, self.options.limits, stats=self.stats)
        except InputError as exc:
            self.result.unreadable = True
            self.problem("yaml", exc.message, (exc.line, exc.column))
            return self.result
        self.scan_inline_comments()
        k8s = [d for d in docs if isinstance(d, PosDict) and "apiVersion" in d and "kind" in d]
        if k8s:
            self.result.kind = "prometheusrule"
            for doc in k8s:
                self.read_k8s(doc)
            return self.result
        if not docs or docs[0] is None:
            return self.result
        if len(docs) > 1:
            self.problem("multi-document", f"{len(docs)} YAML documents: Prometheus reads only the first, "
                         "the others are ignored", _doc_loc(docs[1]),
                         severity=Severity.warning)
        self.read_groups_doc(docs[0], "rulefmt.RuleGroups")
        return self.result

    def read_k8s(self, doc: PosDict) -> None:
        if doc.get("kind") != "PrometheusRule":
            return
        spec = doc.get("spec")
        if not isinstance(spec, PosDict):
            self.problem("schema", "PrometheusRule: spec must be a mapping with groups", doc.key_loc("kind"))
            return
        self.read_groups_doc(spec, "PrometheusRuleSpec", k8s=True)

    def read_groups_doc(self, doc: Any, gotype: str, k8s: bool = False) -> None:
        if not isinstance(doc, PosDict):
            self.problem("schema", f"cannot unmarshal {go_yaml_tag(doc)} into {gotype}: expected a mapping with "
                         "'groups'", _doc_loc(doc))
            return
        self.unknown_fields(doc, {"groups"}, gotype)
        groups = doc.get("groups")
        if groups is None:
            return
        if not isinstance(groups, PosList):
            self.problem("schema", f"field groups: cannot unmarshal {go_yaml_tag(groups)} into []rulefmt.RuleGroup",
                         doc.value_loc("groups"))
            return
        seen: set[str] = set()
        for i, g in enumerate(groups):
            self.read_group(g, groups.item_loc(i), seen, k8s)

    def read_group(self, g: Any, loc: tuple[int, int], seen: set[str], k8s: bool) -> None:
        if g is None:
            self.problem("schema", "empty list item in groups: Prometheus ignores it", loc, severity=Severity.warning)
            return
        if not isinstance(g, PosDict):
            self.problem("schema", f"cannot unmarshal {go_yaml_tag(g)} into rulefmt.RuleGroup", loc)
            return
        version = self.options.prometheus_version
        allowed = set(GROUP_FIELDS) | (K8S_GROUP_EXTRA if k8s else set())
        if not version.at_least(2, 53):
            allowed.discard("query_offset")
        if not version.at_least(3, 0):
            allowed.discard("labels")
        self.unknown_fields(g, allowed, "rulefmt.RuleGroup")
        name = self.string(g, "name", "rulefmt.RuleGroup")
        if name == "":
            self.problem("group-name", "Groupname must not be empty", g.loc)
        elif name in seen:
            self.problem("group-name", f'groupname: "{name}" is repeated in the same file', g.loc, group=name)
        seen.add(name)
        group = RuleGroup(name=name, file=self.path, line=g.loc[0], column=g.loc[1])
        group.interval = self.duration(g, "interval", {"group": name})
        group.query_offset = self.duration(g, "query_offset", {"group": name})
        limit = g.get("limit")
        if limit is not None:
            # Go's yaml.v3 resolves integers beyond int64 as floats, and puts a float into an int field
            # when it is not above MaxInt64 (truncated; NaN and larger values are errors)
            too_big = isinstance(limit, (int, float)) and not isinstance(limit, bool) and \
                (limit != limit or limit > 2.0**63 or (isinstance(limit, int) and limit >= 2**63))
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or too_big:
                tag = "!!float" if too_big else go_yaml_tag(limit)
                self.problem("schema", f"field limit: cannot unmarshal {tag} `{g.text('limit') or ''}` "
                             "into int", g.value_loc("limit"), group=name)
            else:
                group.limit = max(int(limit), -(2**63)) if limit != float("-inf") else -(2**63)
                if group.limit < 0:
                    self.problem("schema", "limit must not be negative", g.value_loc("limit"), group=name,
                                 severity=Severity.warning)
        group.labels, label_locs = self.string_map(g, "labels", "rulefmt.RuleGroup", {"group": name})
        for k, v in group.labels.items():
            self.check_label(k, v, label_locs.get(k, g.loc), {"group": name})
        rules = g.get("rules")
        if rules is not None and not isinstance(rules, PosList):
            self.problem("schema", f"field rules: cannot unmarshal {go_yaml_tag(rules)} into []rulefmt.Rule",
                         g.value_loc("rules"), group=name)
            rules = None
        self.result.groups.append(group)
        self.read_rules(group, rules)

    def read_rules(self, group: RuleGroup, rules: PosList | None) -> None:
        """Read a group's rules (after its header): each rule, its problems, its inline disables."""
        problems = self.result.problems
        read = group.rules
        locs = rules.item_locs if rules else []
        for i, r in enumerate(rules or []):
            before = len(problems)
            # rules.item_loc(i), without the method call
            loc = locs[i] if i < len(locs) else rules.loc if rules else (group.line, group.column)
            rule = self.read_rule(r, loc, group.name, i + 1)
            if rule is not None:
                if len(problems) != before:  # (the usual rule adds none: no slice, no generator)
                    rule.invalid = any(p.severity is Severity.error for p in problems[before:])
                if read and read[-1].end_line >= rule.line:
                    read[-1].end_line = rule.line - 1  # a block mapping's end mark is the next item
                read.append(rule)
        self.assign_disables(read)

    def valid_name(self, name: str, metric: bool = False) -> bool:
        """Prometheus 3 validates names as UTF-8 (any non-empty valid string); 2.x as legacy names."""
        if self.utf8_names:
            if name.isascii():  # (a constant-time test) no U+FFFD, no surrogate
                return bool(name)
            return bool(name) and "\ufffd" not in name and not _SURROGATE.search(name)
        return bool((METRIC_NAME_RE if metric else LABEL_NAME_RE).match(name))

    def check_label(self, k: str, v: str, loc: tuple[int, int], ctx: dict[str, Any] = _NO_CONTEXT) -> None:
        if not self.valid_name(k) or k == "__name__":
            self.problem("label-name", f"invalid label name: {k}", loc, **ctx)
        if not v.isascii() and ("\ufffd" in v or _SURROGATE.search(v)):  # isascii: constant time
            self.problem("label-name", f"invalid label value: {v}", loc, **ctx)

    def plain_names(self, names: dict[str, Any]) -> bool:
        """True when every key of `names` is certainly a valid label name (not `__name__`): then the
        per-name checks can find nothing. One test on the joined names rather than one call per name."""
        if "__name__" in names or "" in names:
            return False
        joined = "\n".join(names)
        if self.utf8_names:
            return joined.isascii()  # constant time; ASCII has no U+FFFD and no surrogate
        # legacy names: no name holds a newline, so one match of the joined text checks each of them
        return _LABEL_NAME_LINES.fullmatch(joined) is not None and joined.count("\n") == len(names) - 1

    def read_rule(self, r: Any, loc: tuple[int, int], group: str, index: int) -> Rule | None:
        if r is None:
            self.problem("schema", "empty list item in rules: Prometheus ignores it", loc, group=group,
                         severity=Severity.warning)
            return None
        if not isinstance(r, PosDict):
            self.problem("schema", f"cannot unmarshal {go_yaml_tag(r)} into rulefmt.Rule", loc, group=group)
            return None
        group_ctx = {"group": group}
        record = self.string(r, "record", "rulefmt.Rule", group_ctx)
        alert = self.string(r, "alert", "rulefmt.Rule", group_ctx)
        name = alert or record
        ctx: dict[str, Any] = {"group": group, "rule": name or None}
        self.unknown_fields(r, RULE_FIELDS, "rulefmt.Rule", ctx)
        expr = self.string(r, "expr", "rulefmt.Rule", ctx)
        if expr == "" and r.raw("expr") and not self.utf8_names:
            # `expr: null` is the metric `null` to Prometheus 2.x, which reads the yaml.Node's text; 3.x decodes
            # a string (null is "") and reports a missing expr (checked against promtool 2.42 and 3.16)
            expr = r.raw("expr") or ""
        if record and alert:
            self.problem("rule-kind", "only one of 'record' and 'alert' must be set", _kind_loc(r), **ctx)
        if not record and not alert:
            self.problem("rule-kind", "one of 'record' or 'alert' must be set", _kind_loc(r), **ctx)
        info, rule_loc, end = r.info, r.loc, r.end
        for_ = self.duration(r, "for", ctx) if "for" in r else None
        kff = self.duration(r, "keep_firing_for", ctx) if "keep_firing_for" in r else None
        if "keep_firing_for" in r and not self.keep_firing_for:
            self.problem("schema", "field keep_firing_for not found in type rulefmt.Rule", r.key_loc("keep_firing_for"),
                         **ctx)
        labels, label_locs = self.string_map(r, "labels", "rulefmt.Rule", ctx) if "labels" in r else ({}, {})
        annotations, annotation_locs = self.string_map(r, "annotations", "rulefmt.Rule", ctx) \
            if "annotations" in r else ({}, {})
        ast: Any = None
        nodes: list[tuple[Any, tuple[Any, ...]]] = []
        if expr == "":
            self.problem("promql-syntax", "field 'expr' must be set in rule", _expr_loc(r), **ctx)
        else:
            parsed = self.parse_expr(expr)
            if isinstance(parsed, str):
                self.problem("promql-syntax", f"could not parse expression: {parsed}", _expr_loc(r), **ctx)
            else:
                ast, nodes, messages = parsed
                # each rule has a list of its own: the one parse_expr just made, else a copy of the memo's
                nodes, self.fresh_nodes = (nodes if nodes is self.fresh_nodes else list(nodes)), None
                for msg in messages:
                    self.problem("promql-syntax", f"could not parse expression: {msg}", _expr_loc(r), **ctx)
        # r.value_loc(k) for every key, without the method calls
        field_locs = {k: info[k][1] if k in info else rule_loc for k in r}
        field_locs["rule"] = rule_loc
        # every field but `disabled` and `invalid`, positionally: a third faster than by keyword (which,
        # and then setting the rest, was a sixth of the loader's own time per rule)
        rule = Rule("alert" if alert else "record", name, expr, self.path, group, index,
                    rule_loc[0], rule_loc[1], end[0] if end[1] > 1 else end[0] - 1,  # line, column, end_line
                    for_ or 0.0, kff or 0.0, labels, annotations, field_locs, label_locs, annotation_locs,
                    for_ is not None, ast, nodes)  # has_for, ast, nodes
        if record:
            rec_loc = r.value_loc("record")
            if annotations:
                self.problem("rule-kind", "invalid field 'annotations' in recording rule", rec_loc, **ctx)
            if for_:
                self.problem("rule-kind", "invalid field 'for' in recording rule", rec_loc, **ctx)
            if kff:
                self.problem("rule-kind", "invalid field 'keep_firing_for' in recording rule", rec_loc, **ctx)
            if not self.valid_name(record, metric=True):
                self.problem("metric-name", f"invalid recording rule name: {record}", rec_loc, **ctx)
        if labels and not (self.plain_names(labels) and "".join(labels.values()).isascii()):
            for k, v in labels.items():
                self.check_label(k, v, label_locs.get(k, rule_loc), ctx)
        if annotations and not self.plain_names(annotations):
            for k in annotations:
                if not self.valid_name(k):
                    self.problem("label-name", f"invalid annotation name: {k}", annotation_locs.get(k, rule_loc),
                                 **ctx)
        if alert and self.options.check_templates:
            self.check_templates(rule, ctx)
        return rule

    def parse_expr(self, expr: str) -> str | tuple[Any, list[Any], list[str]]:
        """(AST, its nodes with ancestors, promtool's syntax messages) for an expression, or the parse error's
        message; a function of the expression and the options, so worked out once per distinct expression
        (rules that share an expression share its AST, which nothing changes)."""
        version = self.options.prometheus_version
        experimental = self.experimental
        key = (expr, version.major, version.minor, experimental)
        found = _PARSED.get(key)
        if found is not None:
            return found
        text = expr
        if self.new_syntax:  # syntax newer than promql-parser: `</`, `>/`, anchored, smoothed
            try:
                text = readable(expr, version, self.options.features)
            except SyntaxProblem as exc:
                return str(exc)
        try:
            ast = parse_promql(_duration_exprs(text, version) if self.utf8_names else text)
        except (ValueError, RuntimeError, OverflowError) as exc:
            # promtool's wording and position where the port finds it
            from opsctl.promql_goparse import syntax_error as go_syntax_error  # only for a message

            return str(go_syntax_error(text) or exc)
        nodes = node_list(ast)
        messages = list(syntax_problems(expr, version))
        gated, selectors_to_check = _screen(nodes, expr)
        if gated:
            messages += function_problem(nodes, version, expr, experimental=experimental)
        if selectors_to_check:
            messages += selector_problems(nodes)
        if len(_PARSED) >= 100_000:  # a long-lived process: keep the memo bounded
            _PARSED.clear()
        result = _PARSED[key] = (ast, nodes, [str(m) for m in messages] if messages else messages)
        self.fresh_nodes = nodes
        return result

    def check_templates(self, rule: Rule, ctx: dict[str, Any]) -> None:
        for what, values, locs in (("label", rule.labels, rule.label_locs),
                                   ("annotation", rule.annotations, rule.annotation_locs)):
            for k, text in values.items():
                if "{{" not in text:
                    continue
                plain = _PLAIN_TEMPLATES.get(text)
                if plain is None:  # the same summary/description texts recur across a file's alerts
                    if len(_PLAIN_TEMPLATES) >= 100_000:
                        _PLAIN_TEMPLATES.clear()
                    plain = _PLAIN_TEMPLATES[text] = plainly_valid(text)
                if plain:  # the parser (a costly import) only when needed
                    continue
                from opsctl.gotemplate.prometheus import check_rule_template

                version = self.options.prometheus_version
                err = check_rule_template(text, "__alert_" + rule.name, (version.major, version.minor))
                if err is not None:
                    loc = locs.get(k, (rule.line, rule.column))
                    self.problem("template-syntax", f'{what} "{k}": {err}', loc, **ctx)

    # -- inline disables --------------------------------------------------------------------------
    def scan_inline_comments(self) -> None:
        file_ids, self.comment_disables = inline_disables(self.text)
        self.result.file_disabled |= file_ids
        for line, column, message in disable_comment_problems(self.text):
            self.problem("disable-comment", message, (line, column), severity=Severity.warning)

    def assign_disables(self, rules: list[Rule]) -> None:
        """A disable comment belongs to the rule starting on the next line, else to the rule around it."""
        starts = {r.line: r for r in rules}
        for lineno, ids in self.comment_disables:
            owner = starts.get(lineno + 1)
            if owner is None:
                owner = next((r for r in rules if r.line <= lineno <= max(r.end_line, r.line)), None)
            if owner is not None:
                owner.disabled |= ids


def inline_disables(text: str) -> tuple[set[str], list[tuple[int, set[str]]]]:
    """`# opsctl: disable-file=...` ids (and `disable=` before the first content line), and the per-line
    `# opsctl: disable=...` comments as (line, ids)."""
    file_ids: set[str] = set()
    per_line: list[tuple[int, set[str]]] = []
    if "opsctl:" not in text:
        return file_ids, per_line
    first_content = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not first_content and stripped and not stripped.startswith("#") and stripped != "---":
            first_content = lineno
        if "opsctl:" not in line:
            continue
        m = INLINE_RE.search(line)
        if not m:
            continue
        ids = {x.strip() for x in m.group(2).replace(" ", ",").split(",") if x.strip()}
        if m.group(1) == "disable-file" or not first_content:
            file_ids |= ids
        else:
            per_line.append((lineno, ids))
    return file_ids, per_line


_LOOKS_LIKE_DIRECTIVE = re.compile(r"#\s*opsctl\b\s*:?\s*[A-Za-z-]*\s*=?", re.IGNORECASE)
# whether some line may hold one (a line's match is a match of the whole text)
_MAY_BE_DIRECTIVE = re.compile(r"#\s*opsctl\b", re.IGNORECASE)


def disable_comment_problems(text: str) -> list[tuple[int, int, str]]:
    """(line, column, message) for opsctl comments that are mistyped or name unknown check ids."""
    if _MAY_BE_DIRECTIVE.search(text) is None:  # (a file may name opsctl elsewhere: in its runbook links)
        return []
    from opsctl.rules.config import check_known_id

    out: list[tuple[int, int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if "opsctl" not in line.lower() or "#" not in line:
            continue
        hint = _LOOKS_LIKE_DIRECTIVE.search(line)
        if hint is None:
            continue
        m = INLINE_RE.search(line)
        if m is None or m.start() != hint.start():
            out.append((lineno, hint.start() + 1, "comment names opsctl but is not `# opsctl: disable=ID` or "
                        "`# opsctl: disable-file=ID`: it disables nothing"))
            continue
        for cid in (x.strip() for x in m.group(2).replace(" ", ",").split(",")):
            if not cid:
                continue
            try:
                check_known_id(cid)
            except ValueError as exc:
                out.append((lineno, m.start(2) + 1, f"{exc}: the disable comment has no effect for it"))
    return out


def _kind_loc(r: PosDict) -> tuple[int, int]:
    """Where a rule's kind problem is reported: its alert or record key, else the rule."""
    return r.key_loc("alert") if "alert" in r else r.key_loc("record") if "record" in r else r.loc


def _expr_loc(r: PosDict) -> tuple[int, int]:
    return r.value_loc("expr") if "expr" in r else r.loc


def _doc_loc(doc: Any) -> tuple[int, int]:
    return getattr(doc, "loc", (1, 1))


def parse_rule_text(text: str, path: str = "<input>", options: LoadOptions | None = None,
                    stats: dict[str, int] | None = None) -> RuleFile:
    """Read rule-file text. `stats`, if given, receives {"yaml_nodes": N}: the nodes counted against
    the YAML node limit."""
    reader = _Reader(path, text, options or LoadOptions())
    result = reader.read()
    if stats is not None:
        stats["yaml_nodes"] = reader.stats.get("nodes", 0)
    return result


def parse_rule_file(path: str | Path, options: LoadOptions | None = None) -> RuleFile:
    """Read a rule file; structural problems are findings on the result, never exceptions."""
    opts = options or LoadOptions()
    try:
        text = read_text(path, opts.limits)
    except InputError as exc:
        return unreadable_file(str(path), exc)
    return parse_rule_text(text, str(path), opts)


def unreadable_file(path: str, exc: InputError) -> RuleFile:
    rf = RuleFile(path=path, unreadable=True)
    rf.problems.append(Finding("yaml", Severity.error, exc.message, path, exc.line, exc.column))
    return rf


def load_rule_file(path: str | Path, options: LoadOptions | None = None) -> RuleFile:
    """Read a rule file that must be valid; raises InputError for the first error found."""
    rf = parse_rule_file(path, options)
    errors = sorted(rf.errors, key=Finding.sort_key)
    if errors:
        first = errors[0]
        raise InputError(first.message, first.file, first.line, first.column)
    return rf
