"""Seasonal baseline: compare with the same time one period ago (last day or last week).

The baseline at time t is the median of the values at t - k*period for k = 1..`seasons` (the sample
nearest that time, within `tolerance`, default half the median sampling step); the residual x - baseline
is scaled by the robust sigma (1.4826*MAD) of the past `window` residuals, floored. Needs one full
period of history before it scores; points without a seasonal match score 0.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from opsctl.detect.anomaly.base import (
    AnomalyDetector,
    AnomalyFrame,
    Params,
    direction_kind,
    floor_scale,
    hopping_window_stats,
    nan_to_num,
    robust_sigma,
    z_to_score,
)


class SeasonalParams(Params):
    period: float = Field(86400.0, gt=0, description="season length in seconds (86400 day, 604800 week)")
    seasons: int = Field(1, ge=1, le=8, description="how many past periods to take the median of")
    window: int = Field(288, ge=3, description="past residuals for the robust sigma")
    threshold: float = Field(4.0, gt=0, description="z at which the score is 0.5")
    tolerance: float = Field(0.0, ge=0, description="max time mismatch in seconds (0: half the step)")
    rel_floor: float = Field(0.01, ge=0, description="sigma floor as a fraction of abs(baseline)")
    abs_floor: float = Field(1e-9, ge=0, description="absolute sigma floor")


def _left_insertion(ts: np.ndarray, target: np.ndarray, back: float) -> np.ndarray:
    """np.clip(np.searchsorted(ts, target), 0, n - 1) for sorted ts and targets ts - const: on a regular
    clock the answer is `back` points earlier, which is checked (the first index whose time is at
    least the target); only the points where that guess fails are searched."""
    n = ts.shape[0]
    back_i = round(min(back, float(n))) if np.isfinite(back) else 0
    j = np.arange(-back_i, n - back_i)
    np.clip(j, 0, n - 1, out=j)
    good = ts[j] >= target
    good &= (j == 0) | (ts[np.maximum(j - 1, 0)] < target)
    miss = np.flatnonzero(~good)
    if miss.size:
        j[miss] = np.clip(np.searchsorted(ts, target[miss]), 0, n - 1)
    return j


class Seasonal(AnomalyDetector):
    id = "seasonal"
    summary = "same time last day/week (median of past seasons); spikes and drops against it"
    Params = SeasonalParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, SeasonalParams)
        n = vs.shape[0]
        if n < 2:
            return AnomalyFrame(np.zeros(n), np.zeros(n, np.int8), np.full(n, np.nan), vs, np.zeros(n))
        step = float(np.median(np.diff(ts)))
        tol = p.tolerance or step / 2.0
        cands = np.full((p.seasons, n), np.nan)
        for k in range(1, p.seasons + 1):
            target = ts - k * p.period
            j = _left_insertion(ts, target, k * p.period / step if step > 0 else 0.0)
            jm = np.clip(j - 1, 0, n - 1)
            nearer = np.where(np.abs(ts[jm] - target) < np.abs(ts[j] - target), jm, j)
            ok = (np.abs(ts[nearer] - target) <= tol) & (nearer < np.arange(n))
            cands[k - 1] = np.where(ok, vs[nearer], np.nan)
        have = np.isfinite(cands).any(axis=0)
        if p.seasons == 1:
            base = cands[0]
        else:
            base = np.full(n, np.nan)
            if have.any():
                base[have] = np.nanmedian(cands[:, have], axis=0)
        resid = vs - base
        idx = np.flatnonzero(have)
        if idx.size and idx[-1] - idx[0] + 1 == idx.size:  # usually all but the first period(s): slices
            first = int(idx[0])
            sub = hopping_window_stats(resid[first:], p.window, max(1, p.window // 5), mad=True)
            st = {}
            for key, fill in (("median", np.nan), ("mad", np.nan), ("meanad", np.nan), ("count", 0.0)):
                st[key] = np.empty(n)
                st[key][:first] = fill
                st[key][first:] = sub[key]
        else:
            st = {"median": np.full(n, np.nan), "mad": np.full(n, np.nan), "meanad": np.full(n, np.nan),
                  "count": np.zeros(n)}
            if idx.size:
                sub = hopping_window_stats(resid[have], p.window, max(1, p.window // 5), mad=True)
                for key in st:
                    st[key][have] = sub[key]
        sigma = floor_scale(robust_sigma(st), base, p.rel_floor, p.abs_floor)
        z = (resid - nan_to_num(st["median"], nan=0.0)) / sigma
        score = np.where(np.isfinite(base) & (st["count"] >= 10), z_to_score(z, p.threshold), 0.0)
        conf = np.minimum(st["count"] / p.window, 1.0)
        conf *= have if p.seasons == 1 else np.isfinite(cands).mean(axis=0)
        return AnomalyFrame(score, direction_kind(vs, base, score), base, vs, conf)
