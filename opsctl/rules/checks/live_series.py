"""live-series: with `--prometheus URL`, selectors that match no series on the server (and the server
itself when it cannot be asked, or is probably the wrong one). See opsctl.rules.live."""

from __future__ import annotations

from collections.abc import Iterator

from opsctl.rules.checks.base import CheckInfo, Context, Issue
from opsctl.rules.model import Severity

INFO = CheckInfo(
    "live-series", Severity.warning, "Selector matches no series on the live Prometheus (--prometheus)",
    "With `--prometheus URL` (Prometheus, Thanos, Mimir, VictoriaMetrics), each distinct vector selector "
    "of the rules is asked about: one that matches no series makes its rule silently empty (an alert that"
    " cannot fire). Labels a rule relies on (`by`, `on`, `group_left/right`, `$labels.X` in templates) "
    "that none of its series carry are reported too. With `--lookback 7d` the finding says when the "
    "series were last seen. Series the linted rules record themselves are not asked about. When most "
    "selectors match nothing, one warning says the server is probably the wrong one and the per-selector "
    "findings become info; an unreachable server is one warning, never a silent pass. The same run takes "
    "metric types from `/api/v1/metadata` and the scrape interval from the data for the type and range "
    "checks.",
    scope="files",
)


def check_files(ctx: Context) -> Iterator[Issue]:
    ev = ctx.config.live
    if ev is None:
        return
    if ev.warning and ctx.files:
        first = ctx.files[0]
        yield Issue(ev.warning, (0, 0), rule=first.rules[0] if first.rules else None)
    if not ev.absent and not ev.missing_labels:
        return
    from opsctl.rules.live import rule_selectors

    severity = Severity.info if ev.wrong_server else None
    for rf in ctx.files:
        per_rule = rule_selectors(rf)
        for rule in rf.rules:
            for sel in sorted(per_rule.get(id(rule), ())):
                verdict = ev.absent.get(sel)
                if verdict is not None:
                    yield Issue(f"{sel} {verdict} on {ev.server}", rule.loc("expr"), severity=severity, rule=rule)
            for message in ev.missing_labels.get((rule.file, rule.line), []):
                yield Issue(f"{rule.name or 'rule'} {message}", rule.loc("expr"), rule=rule)
