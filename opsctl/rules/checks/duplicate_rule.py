"""duplicate-rule: the same rule defined twice, in one file or across files."""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as pp

from opsctl.rules.checks.base import CheckInfo, Context, Issue
from opsctl.rules.model import Rule, Severity

INFO = CheckInfo(
    "duplicate-rule", Severity.warning, "Rule defined more than once (within or across files)",
    "Two recording rules with the same name and labels write the same series and overwrite each other "
    "(what `promtool check rules` lints as duplicate rules). Two alerts with the same name and labels, in "
    "one file or spread over several, send duplicate or conflicting notifications; if their expressions "
    "differ, which one is right is anyone's guess.",
    scope="files",
)


def _key(rule: Rule) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return (rule.kind, rule.name, tuple(sorted(rule.labels.items())))


def _same_expression(a: str, b: str) -> bool:
    """Same text, or the same expression once parsed and printed (spacing, quoting, comments aside)."""
    if a == b:
        return True
    try:
        return str(pp.parse(a)) == str(pp.parse(b))
    except (ValueError, RuntimeError, OverflowError):
        return False


def check_files(ctx: Context) -> Iterator[Issue]:
    # the first rule of each kind and name; the labels are compared only between rules of one name (few)
    named: dict[tuple[str, str], Rule] = {}
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], Rule] = {}
    for rf in ctx.files:
        for rule in rf.rules:
            if not rule.name:
                continue
            earlier = named.setdefault((rule.kind, rule.name), rule)
            if earlier is rule:
                continue
            seen.setdefault(_key(earlier), earlier)
            key = _key(rule)
            first = seen.get(key)
            if first is None:
                seen[key] = rule
                continue
            where = f"{first.file}:{first.line}" if first.file != rule.file else f"line {first.line}"
            same = _same_expression(first.expr, rule.expr)
            what = "recording rule" if rule.kind == "record" else "alert"
            detail = "with the same expression" if same else "with a different expression"
            yield Issue(f"{what} {rule.name} with the same labels is already defined at {where}, {detail}",
                        rule.loc("rule"), rule=rule)
