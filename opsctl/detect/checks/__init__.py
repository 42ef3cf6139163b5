"""Health checks (one module each)."""

from __future__ import annotations

from .base import Check
from .http_probe import HttpProbe
from .promql_threshold import PromqlThreshold
from .size_growth import SizeGrowth
from .sql_check import SqlCheck

CHECKS: dict[str, type[Check]] = {c.id: c for c in (HttpProbe, SqlCheck, PromqlThreshold, SizeGrowth)}
