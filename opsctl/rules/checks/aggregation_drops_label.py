"""aggregation-drops-label: a template reads a label the expression's result cannot carry."""

from __future__ import annotations

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult, template_label_refs
from opsctl.rules.model import Rule, RuleGroup, Severity
from opsctl.rules.promql_ast import keeps_input_labels, may_drop, output_labels

INFO = CheckInfo(
    "aggregation-drops-label", Severity.warning, "Template uses a label the expression drops",
    "An alert's labels and annotations can only read labels its expression's result carries. After "
    "`sum by (job) (...)`, `{{ $labels.instance }}` is always empty, so the notification says less than "
    "its author thought. Keep the label in the aggregation (`by (job, instance)`), or stop using it.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert or rule.ast is None:
        return
    reads = []  # (what, key, the labels its template reads, where)
    for what, values, locs in (("label", rule.labels, rule.label_locs),
                               ("annotation", rule.annotations, rule.annotation_locs)):
        for key, text in values.items():
            refs = template_label_refs(text)
            if refs:
                reads.append((what, key, refs, locs))
    if not reads:
        return
    # a function of the expression and the labels read: worked out once per distinct expression
    labels = ctx.cache.get(("output_labels", rule.expr))
    if labels is None:
        nodes, positions = ctx.nodes(rule), ctx.positions(rule)
        # most alert expressions keep their input's labels, which their node types tell at once; most others
        # keep the labels their templates read (may_drop), without the walk of output_labels()
        if keeps_input_labels(nodes, positions) or \
                not may_drop(nodes, positions, frozenset().union(*(refs for _, _, refs, _ in reads))):
            return  # (not cached: another alert with this expression may read other labels)
        labels = ctx.cache[("output_labels", rule.expr)] = output_labels(rule.ast)
    if not labels.closed and not labels.removed:
        return  # every label of the input (most alerts): a template may read any
    for what, key, refs, locs in reads:
        for ref in sorted(refs):
            if not labels.may_have(ref):
                yield Issue(f'{what} "{key}" uses $labels.{ref}, but the expression\'s result has no '
                            f'"{ref}" label (it is aggregated or matched away)',
                            locs.get(key, rule.loc("rule")), rule=rule)
