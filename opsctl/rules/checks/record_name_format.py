"""record-name-format: recording rule names follow `level:metric:operations`."""

from __future__ import annotations

import re

from opsctl.rules.checks.base import RECORDS, CheckInfo, Context, Issue, RuleCheckResult
from opsctl.rules.config import compile_record_pattern
from opsctl.rules.model import Rule, RuleGroup, Severity

NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")

INFO = CheckInfo(
    "record-name-format", Severity.warning, "Recording rule name not in level:metric:operations form",
    "Prometheus's naming convention for recorded series is `level:metric:operations`, e.g. "
    "`job:http_requests:rate5m` (aggregation level, metric name without `_total`, operations applied). "
    "It tells a reader where the series came from and keeps recorded names apart from scraped ones. "
    "`record_name_pattern` in the configuration replaces the convention with your own (a Go RE2 regex, "
    "anchored at both ends).",
    kinds=RECORDS,
)


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if rule.kind != "record" or not rule.name:
        return
    pattern = ctx.config.record_name_pattern
    if pattern is None:
        if not NAME_RE.match(rule.name):
            yield Issue(f"recording rule {rule.name} is not named level:metric:operations "
                        "(e.g. job:http_requests:rate5m)", rule.loc("record"), rule=rule)
        return
    key = ("record_name_pattern", pattern)
    compiled = ctx.cache.get(key)
    if compiled is None:
        compiled = ctx.cache[key] = compile_record_pattern(pattern)
    if not compiled.match(rule.name):
        yield Issue(f"recording rule {rule.name} does not match record_name_pattern {pattern!r}",
                    rule.loc("record"), rule=rule)
