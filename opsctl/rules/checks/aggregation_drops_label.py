"""aggregation-drops-label: a template reads a label the expression's result cannot carry."""

from __future__ import annotations

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult, template_label_refs
from opsctl.rules.model import Rule, RuleGroup, Severity
from opsctl.rules.promql_ast import OPEN, LabelSet, keeps_input_labels, output_labels

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
    labels: LabelSet | None = None  # computed only when a template reads a label
    for what, values, locs in (("label", rule.labels, rule.label_locs),
                               ("annotation", rule.annotations, rule.annotation_locs)):
        for key, text in values.items():
            refs = template_label_refs(text)
            if not refs:
                continue
            if labels is None:  # a function of the expression: worked out once per distinct expression
                labels = ctx.cache.get(("output_labels", rule.expr))
                if labels is None:
                    # most alert expressions keep their input's labels, which their node types tell at once
                    plain = keeps_input_labels(ctx.nodes(rule), ctx.positions(rule))
                    labels = OPEN if plain else output_labels(rule.ast)
                    ctx.cache[("output_labels", rule.expr)] = labels
                if not labels.closed and not labels.removed:
                    return  # every label of the input (most alerts): a template may read any
            for ref in sorted(refs):
                if not labels.may_have(ref):
                    yield Issue(f'{what} "{key}" uses $labels.{ref}, but the expression\'s result has no '
                                f'"{ref}" label (it is aggregated or matched away)',
                                locs.get(key, rule.loc("rule")), rule=rule)
