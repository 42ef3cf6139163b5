"""SQL statement on a configured sql source (e.g. VACUUM, DELETE of expired rows)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from opsctl.detect.anomaly.base import Params

from .base import Action, ActionError


class SqlParams(Params):
    source: str
    statement: str
    retries: int = Field(1, ge=0, le=10)


class SqlStatement(Action):
    id = "sql"
    summary = "SQL statement on a sql source (VACUUM, cleanup)"
    Params = SqlParams

    def describe(self) -> str:
        p = self.params
        assert isinstance(p, SqlParams)
        return f"{p.source}: {p.statement}"

    def run(self, config: Any, sources: Any) -> str:
        from opsctl.detect.sources import SourceError

        p = self.params
        assert isinstance(p, SqlParams)
        try:
            n = sources.sql(p.source).execute(p.statement)
        except SourceError as exc:
            raise ActionError(str(exc)) from None
        return f"ok ({n} rows)" if n >= 0 else "ok"
