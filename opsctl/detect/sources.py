"""Where series and values come from: Prometheus (HTTP API), exported files, SQL databases.

- `prometheus`: PromQL through opsctl.prom.client (query_range over `range` at `step` for anomaly
  detectors; instant queries for promql_threshold).
- `file`: Prometheus query_range JSON, CSV or Parquet read by opsctl.data.exports.read_export; a
  detector's `match:` keeps only series whose labels equal the given values.
- `sql`: sqlite by path (stdlib) or `sqlite:///path`; any other URL goes through SQLAlchemy when it is
  installed (`pip install sqlalchemy` plus the DB driver). For anomaly detectors the query returns rows
  `timestamp, value[, label columns...]`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd

from opsctl import secrets
from opsctl.data.exports import Series, read_export, series_from_frame
from opsctl.errors import InputError
from opsctl.prom.client import PrometheusClient

from .config import FileSource, LoadedConfig, PrometheusSource, SqlSource
from .tlsconfig import TLSConfig


class SourceError(Exception):
    """A source could not deliver data (unreachable server, failed query)."""


class SqlConnection:
    """DB-API access to sqlite (stdlib) or, through SQLAlchemy, any other database URL."""

    def __init__(self, *, path: Path | None = None, url: str | None = None, timeout: float = 10.0) -> None:
        self._sqlite: sqlite3.Connection | None = None
        self._engine: Any = None
        if url and url.startswith("sqlite:///") and "?" not in url:
            path = Path(url[len("sqlite:///"):])
            url = None
        if path is not None:
            if not path.exists():
                raise SourceError(f"sqlite database not found: {path}")
            self._sqlite = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        elif url:
            try:
                import sqlalchemy  # type: ignore[import-not-found, unused-ignore]
            except ImportError:
                raise SourceError("this database URL needs SQLAlchemy: pip install 'opsctl-sre[sql]'") from None
            self._engine = sqlalchemy.create_engine(url)
        else:  # pragma: no cover - validated by the config
            raise SourceError("no database given")

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            if self._sqlite is not None:
                cur = self._sqlite.execute(sql)
                cols = [d[0] for d in (cur.description or [])]
                return cols, list(cur.fetchall())
            import sqlalchemy

            with self._engine.connect() as conn:
                res = conn.execute(sqlalchemy.text(sql))
                if not res.returns_rows:
                    conn.commit()
                    return [], []
                return list(res.keys()), [tuple(r) for r in res.fetchall()]
        except Exception as exc:
            raise SourceError(f"SQL error: {exc}") from None

    def execute(self, sql: str) -> int:
        """Run a statement (e.g. VACUUM); returns the row count when known."""
        try:
            if self._sqlite is not None:
                cur = self._sqlite.execute(sql)
                return cur.rowcount
            import sqlalchemy

            with self._engine.connect() as conn:
                res = conn.execute(sqlalchemy.text(sql))
                conn.commit()
                return int(res.rowcount or 0)
        except Exception as exc:
            raise SourceError(f"SQL error: {exc}") from None

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._engine is not None:
            self._engine.dispose()


class Sources:
    """Opens sources lazily and closes them at the end of a run."""

    def __init__(self, lc: LoadedConfig) -> None:
        self.lc = lc
        self._prom: dict[str, PrometheusClient] = {}
        self._sql: dict[str, SqlConnection] = {}
        self._files: dict[str, list[Series]] = {}

    def close(self) -> None:
        for c in self._prom.values():
            c.close()
        for s in self._sql.values():
            s.close()

    def _src(self, name: str) -> Any:
        src = self.lc.config.sources.get(name)
        if src is None:
            raise SourceError(f"unknown source {name!r}")
        return src

    def prometheus(self, name: str) -> PrometheusClient:
        if name not in self._prom:
            src = self._src(name)
            if not isinstance(src, PrometheusSource):
                raise SourceError(f"source {name!r} is not a prometheus source")
            token_file = str(self.lc.resolve_path(src.bearer_token_file)) if src.bearer_token_file else None
            token = None
            if src.bearer_token_env:
                token = _env(src.bearer_token_env)
            auth = None
            if src.username is not None:
                password = ""
                if src.password_env:
                    password = _env(src.password_env)
                elif src.password_file:
                    try:
                        password = secrets.from_file(self.lc.resolve_path(src.password_file))
                    except OSError as exc:
                        raise SourceError(f"cannot read password_file: {exc.strerror or exc}") from None
                auth = (src.username, password)
            if token_file is not None:
                try:
                    token = secrets.from_file(token_file)
                except OSError as exc:
                    raise SourceError(f"cannot read bearer_token_file: {exc.strerror or exc}") from None
                token_file = None
            secrets.register_url(src.url)
            self._prom[name] = PrometheusClient(src.url, bearer_token=token, bearer_token_file=token_file,
                                                basic_auth=auth, headers=src.headers, timeout=src.timeout,
                                                retries=src.retries,
                                                tls=src.tls_config.options(self.lc.base) if src.tls_config else None)
        return self._prom[name]

    def sql(self, name: str) -> SqlConnection:
        if name not in self._sql:
            src = self._src(name)
            if not isinstance(src, SqlSource):
                raise SourceError(f"source {name!r} is not a sql source")
            if src.path:
                self._sql[name] = SqlConnection(path=self.lc.resolve_path(src.path))
            else:
                url = src.url or _env(src.url_env or "")
                secrets.register_url(url)  # a database URL may hold a password
                if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                    url = "sqlite:///" + str(self.lc.resolve_path(url[len("sqlite:///"):]))
                self._sql[name] = SqlConnection(url=url)
        return self._sql[name]

    def series(self, source: str, query: str | None, match: dict[str, str], range_s: float,
               step: float, now: float | None = None) -> list[Series]:
        """The series an anomaly detector looks at."""
        src = self._src(source)
        if isinstance(src, PrometheusSource):
            end = now if now is not None else time.time()
            try:
                out = self.prometheus(source).query_range(query or "", end - range_s, end, step)
            except Exception as exc:
                raise SourceError(str(exc)) from None
        elif isinstance(src, FileSource):
            if source not in self._files:
                self._files[source] = read_export(self.lc.resolve_path(src.path), src.format)
            out = self._files[source]
        elif isinstance(src, SqlSource):
            cols, rows = self.sql(source).query(query or "")
            if not cols:
                raise SourceError("the query returned no columns")
            frame = pd.DataFrame(rows, columns=cols)
            if "timestamp" not in [c.lower() for c in cols]:
                frame = frame.rename(columns={cols[0]: "timestamp"})
            if "value" not in [c.lower() for c in cols] and len(cols) >= 2:
                frame = frame.rename(columns={cols[1]: "value"})
            try:
                out = series_from_frame(frame, f"source {source}", "")
            except InputError as exc:
                raise SourceError(exc.message) from None
        else:  # pragma: no cover
            raise SourceError(f"unsupported source {source!r}")
        if match:
            out = [s for s in out if all(s.labels.get(k) == v for k, v in match.items())]
        return out


def check_files(lc: LoadedConfig) -> None:
    """Read every `file` source as a run would, look for every sqlite `path`, and load every `tls_config`'s
    files; an unreadable or empty export is an InputError naming the file and, where it can, the line
    (`detect validate` calls this so that it catches what a run would)."""
    for name, src in lc.config.sources.items():
        if isinstance(src, PrometheusSource) and src.tls_config is not None:
            problem = src.tls_config.problem(lc.base)
            if problem:
                raise lc.error(f"source {name!r}: tls_config: {problem[1]}", "sources", name, "tls_config", problem[0])
        if isinstance(src, SqlSource) and src.path and not lc.resolve_path(src.path).is_file():
            raise lc.error(f"source {name!r}: sqlite database not found: {lc.resolve_path(src.path)}",
                           "sources", name, "path")
        if isinstance(src, FileSource):
            path = lc.resolve_path(src.path)
            series = read_export(path, src.format)
            if not any(len(s) for s in series):
                raise InputError(f"source {name!r}: no samples (only a header?)", str(path), 2)
    for name, body in lc.config.alerting.receivers.items():
        if isinstance(body, dict) and body.get("tls_config") is not None:
            problem = TLSConfig.model_validate(body["tls_config"]).problem(lc.base)
            if problem:
                raise lc.error(f"receiver {name!r}: tls_config: {problem[1]}", "alerting", "receivers", name,
                               "tls_config", problem[0])


def _env(name: str) -> str:
    val = secrets.from_env(name)
    if val is None:
        raise SourceError(f"environment variable {name} is not set")
    return val


def file_size(path: Path) -> int:
    """Bytes in a file, or in all files below a directory."""
    if path.is_dir():
        total = 0
        for p in path.rglob("*"):
            with contextlib.suppress(OSError):
                if p.is_file():
                    total += p.stat().st_size
        return total
    return path.stat().st_size
