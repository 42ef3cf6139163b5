"""dashboard-link: dashboard annotations are absolute http(s) URLs."""

from __future__ import annotations

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult, split_url
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "dashboard-link", Severity.warning, "Dashboard annotation is not an absolute http(s) URL",
    "Annotations named `dashboard`, `dashboard_url`, `grafana_url` (any name containing `dashboard`) "
    "are rendered as links by chat and paging tools; a relative path or a typo gives a dead link. "
    "Templated parts (`{{ $labels.instance }}`) are allowed after the host; a link that starts with a template "
    "(`{{ $externalURL }}/graph`) is not judged.",
    kinds=ALERTS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    for name, value in rule.annotations.items():
        lowered = name.lower()
        if "dashboard" not in lowered and lowered != "grafana_url":
            continue
        if value.strip().startswith("{{"):
            continue  # e.g. {{ $externalURL }}/graph: the scheme and host come from a template
        parts = split_url(value.strip())
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or "{{" in parts.netloc:
            yield Issue(f"{name} {value!r} is not an absolute http(s) URL",
                        rule.annotation_locs.get(name, rule.loc("annotations")), rule=rule)
