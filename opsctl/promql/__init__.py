"""An embedded PromQL evaluator (Prometheus 2.42 semantics) on the promql-parser AST, numpy underneath.

See docs/promql.md. Public API:

    from opsctl.promql import Storage, Engine, Labels, STALE_NAN, is_stale, PromQLError, Result, SeriesResult
"""

from opsctl.promql import _register  # noqa: F401  (teaches the parser Prometheus 2.42 functions)
from opsctl.promql.engine import Engine
from opsctl.promql.model import STALE_NAN, Labels, PromQLError, Result, SeriesResult, Storage, is_stale

__all__ = ["STALE_NAN", "Engine", "Labels", "PromQLError", "Result", "SeriesResult", "Storage", "is_stale"]
