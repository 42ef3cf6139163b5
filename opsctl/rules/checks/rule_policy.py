"""rule-policy: configurable rule policies in the manner of pint's rule/for, rule/reject, rule/owner,
promql/aggregate and promql/selector. Silent until the configuration asks for something:

    rules:
      policy:
        for: {min: 1m, max: 1h}                     # alerts' `for` within bounds
        reject:                                     # Go RE2 patterns, anchored; keys and/or values
          - {label_key: "^(team_)?id$"}
          - {annotation_value: ".*TODO.*"}
        owner_label: team                           # every alert carries this label
        aggregate_keep: [job]                       # aggregations must keep these labels
        selector_require: [job]                     # every vector selector matches on these labels
"""

from __future__ import annotations

from typing import Any

import promql_parser as pp

from opsctl.durations import format_duration
from opsctl.rules.checks.base import CheckInfo, Context, Issue, RuleCheckResult, rule_issue
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "rule-policy", Severity.warning, "Rule breaks a configured policy (for bounds, rejected labels, owner, "
    "required aggregation or selector labels)",
    "Team policies that pint users write as rule/for, rule/reject, rule/owner, promql/aggregate and "
    "promql/selector, configured under `policy:` in the rules configuration: `for: {min, max}` bounds an "
    "alert's `for`; `reject` lists Go RE2 patterns (anchored) for `label_key`, `label_value`, "
    "`annotation_key` or `annotation_value` that no rule may use; `owner_label` must be on every alert; "
    "`aggregate_keep` labels must survive every aggregation (kept by `by`, not dropped by `without`); "
    "`selector_require` labels must be matched by every vector selector. Nothing is checked until "
    "configured.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    policy = ctx.config.policy
    if not policy:
        return
    yield from _for_bounds(rule, policy)
    yield from _reject(rule, policy, ctx)
    owner = policy.get("owner_label")
    if owner and rule.is_alert and not rule.labels.get(owner):
        yield Issue(f"alert {rule.name} has no {owner} label (owner_label policy)", rule.loc("rule"), rule=rule)
    if rule.ast is not None:
        yield from _aggregations(rule, policy, ctx)
        yield from _selectors(rule, policy, ctx)


def _for_bounds(rule: Rule, policy: dict[str, Any]) -> RuleCheckResult:
    bounds = policy.get("for") or {}
    if not rule.is_alert or not bounds:
        return
    lo, hi = bounds.get("min"), bounds.get("max")
    where = rule.loc("for") if rule.has_for else rule.loc("rule")
    if lo is not None and rule.for_ < lo:
        yield Issue(f"alert {rule.name} has for: {format_duration(rule.for_)}, below the policy's minimum "
                    f"{format_duration(lo)}", where, rule=rule)
    if hi is not None and rule.for_ > hi:
        yield Issue(f"alert {rule.name} has for: {format_duration(rule.for_)}, above the policy's maximum "
                    f"{format_duration(hi)}", where, rule=rule)


def _reject(rule: Rule, policy: dict[str, Any], ctx: Context) -> RuleCheckResult:
    for entry in policy.get("reject") or []:
        for kind, pattern in entry.items():
            regex = _compiled(ctx, pattern)
            what, part = kind.split("_", 1)
            items = rule.labels if what == "label" else rule.annotations
            locs = rule.label_locs if what == "label" else rule.annotation_locs
            for k, v in items.items():
                text = k if part == "key" else v
                if regex.match(text):
                    yield Issue(f"{what} {k}: {part} {text!r} is rejected by policy {pattern!r}",
                                locs.get(k, rule.loc("rule")), rule=rule)


def _compiled(ctx: Context, pattern: str) -> Any:
    key = ("rule-policy-regex", pattern)
    if key not in ctx.cache:
        from opsctl.rules.config import compile_record_pattern

        ctx.cache[key] = compile_record_pattern(pattern)
    return ctx.cache[key]


def _aggregations(rule: Rule, policy: dict[str, Any], ctx: Context) -> RuleCheckResult:
    keep = policy.get("aggregate_keep") or []
    if not keep:
        return
    for node, _ in ctx.nodes(rule):
        if not isinstance(node, pp.AggregateExpr) or str(node.op) in ("topk", "bottomk", "limitk", "limit_ratio"):
            continue
        mod = node.modifier
        labels = set(mod.labels) if mod is not None else set()
        by = mod is not None and "By" in str(mod.type)
        for label in keep:
            if (by and label not in labels) or (not by and (mod is None or label in labels)):
                how = f"by ({', '.join(sorted(labels))})" if by else (
                    f"without ({', '.join(sorted(labels))})" if mod is not None else "without by/without")
                yield rule_issue(f"{node.op} {how} drops the {label} label that the policy requires to keep",
                                 rule)


def _selectors(rule: Rule, policy: dict[str, Any], ctx: Context) -> RuleCheckResult:
    required = policy.get("selector_require") or []
    if not required:
        return
    for sel in ctx.selectors(rule):
        names = {m.name for m in sel.matchers}
        for label in required:
            if label not in names:
                yield rule_issue(f"selector {sel.name or '{...}'} has no {label} matcher (selector_require policy)",
                                 rule)
