"""SLO reports pushed down to a Prometheus-compatible server (Prometheus, Thanos, Mimir).

Only the SLI queries travel: each is evaluated by the server with `query_range` at the report step with
`{{.window}}` = step, so the server aggregates the raw samples and returns one small series per query (the
`sum(...)` in the SLI), never the raw data. Ranges are split so that no request asks for more than
`MAX_POINTS` points (Prometheus refuses more than 11,000 per series).
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import numpy as np

from opsctl.errors import InputError
from opsctl.slo.model import SLO
from opsctl.slo.report import (
    Indicator,
    Options,
    SLOReport,
    _finish,
    analyse,
    choose_step,
    grid,
    queries_for,
)

MAX_POINTS = 10_000
DEFAULT_STEP = 300.0  # rate() needs two samples per window: 1m windows are empty at a 1m scrape interval
_RATE = re.compile(r"\b(?:i?rate)\s*\(")


def _matrix(client: Any, expr: str, t0: float, step: float, g: int) -> np.ndarray:
    """(series, G) values of `expr` evaluated at the end of every grid interval; NaN where absent."""
    rows: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    i = 0
    while i < g:
        j = min(g, i + MAX_POINTS)
        start, end = t0 + (i + 1) * step, t0 + j * step
        try:
            result = client.query_range(expr, start, end, step)
        except InputError:
            raise
        except Exception as exc:  # PrometheusError, httpx errors: report which query failed
            raise InputError(f"query failed: {exc}: {expr.strip()[:200]}", "<prometheus>") from None
        for s in result:
            key = tuple(sorted(s.labels.items()))
            row = rows.setdefault(key, np.full(g, np.nan))
            idx = np.rint((np.asarray(s.timestamps) - t0) / step).astype(np.int64) - 1
            ok = (idx >= 0) & (idx < g)
            row[idx[ok]] = np.asarray(s.values, dtype=np.float64)[ok]
        i = j
    if not rows:
        return np.empty((0, g))
    return np.vstack(list(rows.values()))


def _collapse(m: np.ndarray, g: int) -> np.ndarray:
    if m.shape[0] == 0:
        return np.full(g, np.nan)
    present = (~np.isnan(m)).any(axis=0)
    return np.where(present, np.nansum(m, axis=0), np.nan)


def indicator_from_prometheus(slo: SLO, client: Any, t0: float, step: float, g: int) -> Indicator:
    q = queries_for(slo, step)
    if q.kind == "events":
        total_q = q.total or ""
        total = _collapse(_matrix(client, total_q, t0, step, g), g)
        if q.bad is not None:
            bad = _collapse(_matrix(client, q.bad, t0, step, g), g)
        else:
            bad = total - _collapse(_matrix(client, q.good or "", t0, step, g), g)
        if _RATE.search(total_q):  # per-second rates -> events per interval
            bad, total = bad * step, total * step
        return _finish(slo, t0, step, bad, total, "events")
    if q.kind == "raw":
        ratio = _collapse(_matrix(client, q.ratio or "", t0, step, g), g)
        return _finish(slo, t0, step, ratio, np.where(np.isnan(ratio), np.nan, 1.0), "ratio")
    from opsctl.slo.evaluate import Vec
    from opsctl.slo.report import _threshold_counts
    m = _matrix(client, q.threshold or "", t0, step, g)
    bad, total = _threshold_counts(Vec([{}] * m.shape[0], m), slo, g)
    return _finish(slo, t0, step, bad, total, "events")


def report_from_prometheus(slos: list[SLO], client: Any, opts: Options | None = None) -> list[SLOReport]:
    o = opts or Options()
    out = []
    for slo in slos:
        step = choose_step(slo, o.step or DEFAULT_STEP, None)
        end = o.end if o.end is not None else math.floor(time.time() / step) * step
        t0, wstart, g, kind, wend = grid(slo, end, step)
        try:
            ind = indicator_from_prometheus(slo, client, t0, step, g)
        except InputError as exc:
            if exc.file == "<input>":
                raise InputError(f"SLO {slo.id}: {exc.message}", slo.file, slo.line) from None
            raise
        out.append(analyse(slo, ind, wstart, kind, wend, o.top, o.windows))
    return out
