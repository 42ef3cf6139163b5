"""record-name-format: recording rule names follow `level:metric:operations`."""

from __future__ import annotations

import re

from opsctl.rules.checks.base import CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.model import Rule, RuleGroup, Severity

NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")

INFO = CheckInfo(
    "record-name-format", Severity.warning, "Recording rule name not in level:metric:operations form",
    "Prometheus's naming convention for recorded series is `level:metric:operations`, e.g. "
    "`job:http_requests:rate5m` (aggregation level, metric name without `_total`, operations applied). "
    "It tells a reader where the series came from and keeps recorded names apart from scraped ones.",
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if rule.kind == "record" and rule.name and not NAME_RE.match(rule.name):
        yield Issue(f"recording rule {rule.name} is not named level:metric:operations "
                    "(e.g. job:http_requests:rate5m)", rule.loc("record"), rule=rule)
