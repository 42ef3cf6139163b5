"""The registry of rule checks: every check id, its summary, docs and implementation, in one place.

A check module defines `INFO: CheckInfo` and either `check_rule(rule, group, ctx)` (per rule) or
`check_files(ctx)` (across all files). Structural ids (what the loader reports) are listed from
`structural.INFOS` so that `opsctl rules checks` and `explain` cover them too.
"""

from __future__ import annotations

from types import ModuleType

from opsctl.rules.checks import (
    absent_misuse,
    aggregation_drops_label,
    alert_comparison,
    alert_for_missing,
    annotation_required,
    counter_without_rate,
    dashboard_link,
    duplicate_rule,
    group_interval,
    histogram_bucket,
    label_value_template,
    live_firing,
    live_series,
    promql_fragile,
    promql_impossible,
    rate_non_counter,
    rate_range_short,
    record_name_format,
    regex_matcher,
    required_label,
    rule_dependency,
    rule_policy,
    runbook,
    severity_label,
    structural,
    template_query,
)
from opsctl.rules.checks.base import CheckInfo

CHECK_MODULES: list[ModuleType] = [
    alert_for_missing,
    rate_non_counter,
    counter_without_rate,
    rate_range_short,
    aggregation_drops_label,
    regex_matcher,
    histogram_bucket,
    absent_misuse,
    record_name_format,
    duplicate_rule,
    severity_label,
    required_label,
    annotation_required,
    runbook,
    dashboard_link,
    alert_comparison,
    label_value_template,
    template_query,
    rule_policy,
    rule_dependency,
    live_series,
    live_firing,
    promql_fragile,
    promql_impossible,
    group_interval,
]

REGISTRY: dict[str, CheckInfo] = {info.id: info for info in structural.INFOS}
REGISTRY.update({m.INFO.id: m.INFO for m in CHECK_MODULES})
MODULES: dict[str, ModuleType] = {m.INFO.id: m for m in CHECK_MODULES}

__all__ = ["CHECK_MODULES", "MODULES", "REGISTRY", "CheckInfo"]
