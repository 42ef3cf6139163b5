"""absent-misuse: absent() used where it cannot do what the rule expects."""

from __future__ import annotations

import promql_parser as pp

from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity
from opsctl.rules.promql_ast import matchers, walk

COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
_META = set(".^$*+?()[]{}\\")

INFO = CheckInfo(
    "absent-misuse", Severity.warning, "absent() used in a way that hides missing series",
    "absent(v) returns one series (value 1, labels from v's equality matchers) only when v selects nothing "
    "at all. With a regex or negative matcher (`absent(up{job=~\"a|b\"})`) it stays silent while one of the "
    "jobs is gone, and its result has no `job` label to say which. Write one absent() per target, or use "
    "`count by (job) (...)` against an expected list (warning when the matcher lists values, `a|b`; a "
    "pattern such as `.*compact.*` or a negative matcher usually means \"none is left\", so only a note). "
    "`absent(x) > 0` and similar comparisons are redundant: the value is always 1.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if "absent" not in rule.expr:
        return  # function names are written out: no absent() or absent_over_time() call
    for node, anc in ctx.of_type(rule, pp.Call):
        if node.func.name not in ("absent", "absent_over_time"):
            continue
        for inner, _ in walk(node.args[0] if node.args else node):
            if isinstance(inner, pp.VectorSelector):
                loose = [m for m in matchers(inner)
                         if m.name != "__name__" and m.op in ("Re", "NotRe", "NotEqual")]
                if loose:
                    m = loose[0]
                    # a list of values (`job=~"a|b"`) reads as "alert for each"; it is not (warning). A
                    # pattern (`job=~".*compact.*"`) or a negative matcher usually means "none is left",
                    # which absent() does say: a note only.
                    listed = m.op == "Re" and "|" in m.value and all(
                        alt and not any(c in _META for c in alt) for alt in m.value.split("|"))
                    yield rule_issue(
                        f"{node.func.name}() of a selector with the non-equality matcher {m.name}: it fires only "
                        "when no series matches at all, and its result cannot say which one is missing", rule,
                        severity=None if listed else Severity.info)
        if anc and isinstance(anc[-1], pp.BinaryExpr) and str(anc[-1].op) in COMPARISONS:
            parent = anc[-1]
            other = parent.rhs if str(parent.lhs) == str(node) else parent.lhs
            if isinstance(other, pp.NumberLiteral):
                yield rule_issue(f"{node.func.name}() compared with a number: its value is always 1, so the "
                                 "comparison adds nothing", rule, severity=Severity.info)
