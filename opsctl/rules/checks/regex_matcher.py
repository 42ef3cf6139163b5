"""regex-matcher: regular-expression matchers that are redundant or always/never match."""

from __future__ import annotations

import promql_parser as pp

from opsctl.promql_syntax import regex_matchers
from opsctl.rules.checks.base import CheckInfo, Context, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

_META = set(".^$*+?()[]{}|\\")

INFO = CheckInfo(
    "regex-matcher", Severity.warning, "Regex matcher that is redundant, or always or never matches",
    "Prometheus anchors every regex matcher (`=~\"foo\"` means `^(?:foo)$`), so `^`/`$` are redundant and a "
    "regex without metacharacters is a slower `=` (info). `=~\".*\"` matches everything including a missing "
    "label and selects nothing useful; `!~\".*\"` never matches; repeated alternatives (`a|a`) are dead "
    "code (warning). An empty alternative (`=~\"value|\"`, value or no such label) is a deliberate idiom "
    "and only noted (info).",
)


def _alternatives(value: str) -> list[str] | None:
    if any(c in value for c in "()[]{}\\"):
        return None
    return value.split("|")


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if "~" not in rule.expr:
        return  # no `=~`/`!~` written: no regex matcher (and the selectors need not be worked out)
    for node, _ in ctx.of_type(rule, pp.VectorSelector):
        for m in regex_matchers(node):
            key = (m.name, m.op, m.value)
            found = _FOUND.get(key)
            if found is None:  # a function of the matcher: rule files repeat a few regexes many times
                if len(_FOUND) >= 10_000:
                    _FOUND.clear()
                found = _FOUND[key] = _problems(*key)
            for message, severity in found:
                yield rule_issue(message, rule, severity=severity)


_FOUND: dict[tuple[str, str, str], list[tuple[str, Severity | None]]] = {}


def _problems(name: str, op: str, value: str) -> list[tuple[str, Severity | None]]:
    """What is wrong with the regex matcher `name op value` (op "Re" or "NotRe"): (message, severity or None for
    the check's default)."""
    sym = "=~" if op == "Re" else "!~"
    where = f'{name}{sym}"{value}"'
    if value in (".*", "(.*)", "^.*$"):
        msg = ("always matches (even a missing label); drop the matcher" if op == "Re"
               else "never matches anything; the selector selects nothing")
        return [(f"{where} {msg}", None)]
    if not any(c in _META for c in value):
        eq = "=" if op == "Re" else "!="
        return [(f'{where} has no regex metacharacters: use {name}{eq}"{value}"', Severity.info)]
    out: list[tuple[str, Severity | None]] = []
    if value.startswith("^") or (value.endswith("$") and not value.endswith("\\$")):
        out.append((f"{where}: Prometheus anchors regexes already; ^ and $ are redundant", Severity.info))
    alts = _alternatives(value.strip("^$"))
    if alts and len(alts) != len(set(alts)):
        dup = sorted({a for a in alts if alts.count(a) > 1})
        out.append((f"{where} repeats the alternative(s) {', '.join(dup)}", None))
    elif alts and "" in alts and op == "Re" and len(alts) > 1:
        # `=~"value|"` is the usual way to say "value, or no such label": a note, not a problem
        out.append((f"{where} has an empty alternative, so it also matches a missing label", Severity.info))
    return out
