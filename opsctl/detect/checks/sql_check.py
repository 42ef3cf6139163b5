"""SQL check: a query returning one value compared with a threshold, or "no fresh rows since".

Value mode: `query` returns one row, first column a number; the check fails when
`value <op> threshold` holds (`op` one of > >= < <= == !=; e.g. `op: ">"`, `threshold: 100` fails on
more than 100 stuck jobs). Freshness mode: `fresh_query` returns the newest row's time (Unix seconds
or an ISO-8601 string, UTC unless zoned) and the check fails when it is older than `max_age` or there
is no row at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import field_validator, model_validator

from opsctl.detect.anomaly.base import Params
from opsctl.detect.result import CheckResult, make_fingerprint
from opsctl.durations import parse_duration

from .base import OPS, Check, Context


class SqlCheckParams(Params):
    source: str
    query: str | None = None
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    threshold: float | None = None
    fresh_query: str | None = None
    max_age: float | None = None

    @field_validator("max_age", mode="before")
    @classmethod
    def _dur(cls, v: object) -> object:
        return parse_duration(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _mode(self) -> SqlCheckParams:
        if (self.query is None) == (self.fresh_query is None):
            raise ValueError("give either query (with threshold) or fresh_query (with max_age)")
        if self.query is not None and self.threshold is None:
            raise ValueError("query needs threshold")
        if self.fresh_query is not None and self.max_age is None:
            raise ValueError("fresh_query needs max_age")
        return self


def _to_epoch(v: object) -> float:
    if isinstance(v, (int, float)):
        return float(v) / (1000.0 if float(v) > 1e11 else 1.0)
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp()
    dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


class SqlCheck(Check):
    id = "sql_check"
    summary = "SQL query value vs threshold, or no fresh rows since max_age"
    Params = SqlCheckParams

    def run(self, ctx: Context) -> list[CheckResult]:
        p = self.params
        assert isinstance(p, SqlCheckParams)
        d = self.detector
        fp = make_fingerprint(d.name, d.labels)
        db = ctx.sources.sql(p.source)
        if p.query is not None:
            _, rows = db.query(p.query)
            if not rows or rows[0][0] is None:
                return [CheckResult(False, d.severity, "query returned no value", fp, {}, d.name, dict(d.labels))]
            value = float(rows[0][0])
            assert p.threshold is not None
            bad = OPS[p.op](value, p.threshold)
            msg = f"value {value:g} {p.op} {p.threshold:g}" if bad else f"value {value:g} ok"
            return [CheckResult(not bad, d.severity, msg, fp, {"value": value, "threshold": p.threshold},
                                d.name, dict(d.labels))]
        assert p.fresh_query is not None and p.max_age is not None
        _, rows = db.query(p.fresh_query)
        if not rows or rows[0][0] is None:
            return [CheckResult(False, d.severity, "no rows at all", fp, {}, d.name, dict(d.labels))]
        newest = _to_epoch(rows[0][0])
        age = ctx.now.timestamp() - newest
        extras = {"newest": datetime.fromtimestamp(newest, UTC).isoformat(), "age_seconds": round(age, 3),
                  "max_age_seconds": p.max_age}
        if age > p.max_age:
            return [CheckResult(False, d.severity, f"no fresh rows since {extras['newest']} ({age:.0f}s ago)",
                                fp, extras, d.name, dict(d.labels))]
        return [CheckResult(True, d.severity, f"newest row {age:.0f}s old", fp, extras, d.name, dict(d.labels))]



