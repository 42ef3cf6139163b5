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
from opsctl.slo.evaluate import Vec
from opsctl.slo.model import SLO
from opsctl.slo.report import (
    Indicator,
    Options,
    Queries,
    SLOReport,
    _finish,
    _threshold_counts,
    analyse_groups,
    choose_step,
    grid,
    groups_from,
    queries_for,
)

MAX_POINTS = 10_000
DEFAULT_STEP = 300.0  # rate() needs two samples per window: 1m windows are empty at a 1m scrape interval
_RATE = re.compile(r"\b(?:i?rate)\s*\(")


def _series(client: Any, expr: str, t0: float, step: float, g: int) -> Vec:
    """The series of `expr` evaluated at the end of every grid interval: labels and (series, G) values, NaN
    where absent."""
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
        return Vec([], np.empty((0, g)))
    return Vec([dict(k) for k in rows], np.vstack(list(rows.values())))


def _matrix(client: Any, expr: str, t0: float, step: float, g: int) -> np.ndarray:
    """(series, G) values of `expr` evaluated at the end of every grid interval; NaN where absent."""
    return _series(client, expr, t0, step, g).values


def _collapse(m: np.ndarray, g: int) -> np.ndarray:
    if m.shape[0] == 0:
        return np.full(g, np.nan)
    present = (~np.isnan(m)).any(axis=0)
    return np.where(present, np.nansum(m, axis=0), np.nan)


class _Server:
    """The SLI queries of one SLO evaluated on the server, each once (the total and the groups share them);
    events SLIs give events per interval (per-second rates multiplied by the step)."""

    def __init__(self, client: Any, q: Queries, t0: float, step: float, g: int) -> None:
        self.client, self.t0, self.step, self.g = client, t0, step, g
        self.scale = step if q.kind == "events" and _RATE.search(q.total or "") else 1.0
        self.memo: dict[str, Vec] = {}

    def __call__(self, expr: str) -> Vec:
        v = self.memo.get(expr)
        if v is None:
            v = _series(self.client, expr, self.t0, self.step, self.g)
            if self.scale != 1.0:
                v = Vec(v.labels, v.values * self.scale)
            self.memo[expr] = v
        return v


def indicator_from_prometheus(slo: SLO, client: Any, t0: float, step: float, g: int,
                              group_by: list[str] | None = None) -> Indicator:
    return _indicators(slo, client, t0, step, g, group_by)[0]


def _indicators(slo: SLO, client: Any, t0: float, step: float, g: int, group_by: list[str] | None = None
                ) -> tuple[Indicator, list[tuple[dict[str, str], Indicator]]]:
    """The SLO's indicator (over every group) and one per label set the SLI's queries keep (`group_by`: the
    outer sums keep these labels), as `group_indicators` computes them from an export."""
    q = queries_for(slo, step, group_by)
    ev = _Server(client, q, t0, step, g)
    if q.kind == "events":
        total = _collapse(ev(q.total or "").values, g)
        if q.bad is not None:
            bad = _collapse(ev(q.bad).values, g)
        else:
            bad = total - _collapse(ev(q.good or "").values, g)
        ind = _finish(slo, t0, step, bad, total, "events")
    elif q.kind == "raw":
        ratio = _collapse(ev(q.ratio or "").values, g)
        ind = _finish(slo, t0, step, ratio, np.where(np.isnan(ratio), np.nan, 1.0), "ratio")
    else:
        bad, total = _threshold_counts(ev(q.threshold or ""), slo, g)
        ind = _finish(slo, t0, step, bad, total, "events")
    return ind, groups_from(slo, q, ev, t0, step, g, group_by)


def report_from_prometheus(slos: list[SLO], client: Any, opts: Options | None = None) -> list[SLOReport]:
    """Reports with the SLI queries evaluated on the server; per group (`opts.group_by`, or the labels the
    SLI's queries keep) as from an export, with the total over every group."""
    o = opts or Options()
    out = []
    for slo in slos:
        step = choose_step(slo, o.step or DEFAULT_STEP, None)
        end = o.end if o.end is not None else math.floor(time.time() / step) * step
        t0, wstart, g, kind, wend = grid(slo, end, step)
        try:
            ind, groups = _indicators(slo, client, t0, step, g, o.group_by)
        except InputError as exc:
            if exc.file == "<input>":
                raise InputError(f"SLO {slo.id}: {exc.message}", slo.file, slo.line) from None
            raise
        out.append(analyse_groups(slo, ind, groups, wstart, kind, wend, o))
    return out
