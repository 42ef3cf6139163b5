"""regex-matcher: regular-expression matchers that are redundant or always/never match."""

from __future__ import annotations

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
    for sel in ctx.selectors(rule):
        for m in sel.matchers:
            op = m.op
            if op not in ("Re", "NotRe"):
                continue
            sym = "=~" if op == "Re" else "!~"
            value = m.value
            where = f'{m.name}{sym}"{value}"'
            if value in (".*", "(.*)", "^.*$"):
                msg = ("always matches (even a missing label); drop the matcher" if op == "Re"
                       else "never matches anything; the selector selects nothing")
                yield rule_issue(f"{where} {msg}", rule)
                continue
            if not any(c in _META for c in value):
                eq = "=" if op == "Re" else "!="
                yield rule_issue(f'{where} has no regex metacharacters: use {m.name}{eq}"{value}"', rule,
                                 severity=Severity.info)
                continue
            if value.startswith("^") or (value.endswith("$") and not value.endswith("\\$")):
                yield rule_issue(f"{where}: Prometheus anchors regexes already; ^ and $ are redundant", rule,
                                 severity=Severity.info)
            alts = _alternatives(value.strip("^$"))
            if alts and len(alts) != len(set(alts)):
                dup = sorted({a for a in alts if alts.count(a) > 1})
                yield rule_issue(f"{where} repeats the alternative(s) {', '.join(dup)}", rule)
            elif alts and "" in alts and op == "Re" and len(alts) > 1:
                # `=~"value|"` is the usual way to say "value, or no such label": a note, not a problem
                yield rule_issue(f"{where} has an empty alternative, so it also matches a missing label", rule,
                                 severity=Severity.info)
