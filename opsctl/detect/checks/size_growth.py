"""Size and growth of a file, a directory tree or a database.

Measures bytes (a path: file size or the sum under a directory; a sql source: `query` returning bytes,
e.g. `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`), records each
measurement in the state DB, and fails when the size exceeds `max_bytes` or it grew by more than
`max_growth_bytes` within `over` (compared with the oldest measurement inside that span).
"""

from __future__ import annotations

from pydantic import field_validator, model_validator

from opsctl.detect.anomaly.base import Params
from opsctl.detect.result import CheckResult, make_fingerprint

from .base import Check, Context


class SizeGrowthParams(Params):
    path: str | None = None
    source: str | None = None
    query: str | None = None
    max_bytes: float | None = None
    max_growth_bytes: float | None = None
    over: float = 3600.0

    @field_validator("over", mode="before")
    @classmethod
    def _dur(cls, v: object) -> object:
        from opsctl.durations import parse_duration

        return parse_duration(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _what(self) -> SizeGrowthParams:
        if (self.path is None) == (self.source is None):
            raise ValueError("give either path or source (with query)")
        if self.source is not None and not self.query:
            raise ValueError("source needs query")
        if self.max_bytes is None and self.max_growth_bytes is None:
            raise ValueError("give max_bytes and/or max_growth_bytes")
        return self


class SizeGrowth(Check):
    id = "size_growth"
    summary = "file, directory or database size and growth over a time span"
    Params = SizeGrowthParams

    def run(self, ctx: Context) -> list[CheckResult]:
        from opsctl.detect.sources import file_size

        p = self.params
        assert isinstance(p, SizeGrowthParams)
        d = self.detector
        fp = make_fingerprint(d.name, d.labels)
        if p.path is not None:
            path = ctx.config.resolve_path(p.path)
            size = float(file_size(path))
        else:
            assert p.source is not None and p.query is not None
            _, rows = ctx.sources.sql(p.source).query(p.query)
            if not rows or rows[0][0] is None:
                raise ValueError("the size query returned no value")
            size = float(rows[0][0])
        now = ctx.now.timestamp()
        past = ctx.state.size_since(d.name, now - p.over)
        ctx.state.record_size(d.name, now, size)
        extras: dict[str, object] = {"bytes": size}
        problems = []
        if p.max_bytes is not None and size > p.max_bytes:
            problems.append(f"size {size:.0f} B > {p.max_bytes:.0f} B")
        if past is not None:
            growth = size - past[1]
            extras.update(growth_bytes=growth, growth_since=past[0])
            if p.max_growth_bytes is not None and growth > p.max_growth_bytes:
                problems.append(f"grew {growth:.0f} B in {now - past[0]:.0f}s (> {p.max_growth_bytes:.0f} B)")
        if problems:
            return [CheckResult(False, d.severity, "; ".join(problems), fp, extras, d.name, dict(d.labels))]
        return [CheckResult(True, d.severity, f"size {size:.0f} B", fp, extras, d.name, dict(d.labels))]
