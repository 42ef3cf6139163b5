"""template-query: PromQL inside a template's `query` call must parse (pint checks these queries too)."""

from __future__ import annotations

import re

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

_QUERY = re.compile(r'\bquery\s+("(?:[^"\\\n]|\\.)*"|`[^`]*`)')

INFO = CheckInfo(
    "template-query", Severity.warning, "PromQL in a template's `query` call does not parse",
    "Alert annotations may run a query when the alert fires: `{{ query \"sum(up)\" | first | value }}`. "
    "Prometheus parses that query only then, so a syntax error shows up as `<error expanding template>` in "
    "the page someone reads at 3 a.m. The string given to `query` is checked as PromQL here.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    for what, values, locs in (("label", rule.labels, rule.label_locs),
                               ("annotation", rule.annotations, rule.annotation_locs)):
        for key, text in values.items():
            if "query" not in text or "{{" not in text:
                continue
            for m in _QUERY.finditer(text):
                expr = _unquote(m.group(1))
                if expr is None:
                    continue
                problem = _parse_problem(expr)
                if problem:
                    yield Issue(f'{what} "{key}": query {m.group(1)} does not parse: {problem}',
                                locs.get(key, rule.loc("rule")), rule=rule)


def _unquote(lit: str) -> str | None:
    if lit.startswith("`"):
        return lit[1:-1]
    from opsctl.gosem.strconv import unquote

    try:
        return unquote(lit)
    except ValueError:
        return None


def _parse_problem(expr: str) -> str | None:
    from opsctl.rules.promql_ast import parse

    try:
        parse(expr)
    except (ValueError, RuntimeError, OverflowError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
