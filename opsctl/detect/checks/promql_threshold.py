"""PromQL threshold: an instant query whose every series is compared with a threshold.

One result per returned series (fingerprint from the detector name and the series labels), failing
when `value <op> threshold` holds. An empty result is ok unless `absent: fail`. Queries go through
opsctl.prom.client with the source's auth, timeout and retries.
"""

from __future__ import annotations

from typing import Literal

from opsctl.detect.anomaly.base import Params
from opsctl.detect.result import CheckResult, make_fingerprint

from .base import OPS, Check, Context


class PromqlThresholdParams(Params):
    source: str
    expr: str
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    threshold: float
    absent: Literal["ok", "fail"] = "ok"


class PromqlThreshold(Check):
    id = "promql_threshold"
    summary = "instant PromQL query, each series compared with a threshold"
    Params = PromqlThresholdParams

    def run(self, ctx: Context) -> list[CheckResult]:
        p = self.params
        assert isinstance(p, PromqlThresholdParams)
        d = self.detector
        series = ctx.sources.prometheus(p.source).query(p.expr, ctx.now.timestamp())
        out = []
        if not series:
            ok = p.absent == "ok"
            out.append(CheckResult(ok, d.severity, "query returned no series" + ("" if ok else " (absent)"),
                                   make_fingerprint(d.name, d.labels), {"expr": p.expr}, d.name, dict(d.labels)))
        for s in series:
            if len(s) == 0:
                continue
            value = float(s.values[-1])
            labels = {**s.labels, **d.labels}
            bad = OPS[p.op](value, p.threshold)
            shown = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            msg = f"{{{shown}}} = {value:g} {p.op} {p.threshold:g}" if bad else f"{{{shown}}} = {value:g}"
            out.append(CheckResult(not bad, d.severity, msg, make_fingerprint(d.name, labels),
                                   {"value": value, "threshold": p.threshold, "series": s.labels},
                                   d.name, labels))
        return out
