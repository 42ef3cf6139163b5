"""Level shift and trend change: the recent level or slope departs from the longer past.

Level: the median of the last `short` points (including the current one) against the median of the
`long` points before them, in units of that reference window's robust sigma (1.4826*MAD, floored).
Trend: the least-squares slopes over each half of the last `trend_window` points against the slope
over the `trend_window` points before; the smaller change of the two (zero when they disagree in sign,
as a step only bends one half), divided by the standard error of a slope fitted to that many points of
noise sigma, is the trend z. The larger z drives the score; the type is `trend_change` when the trend z
is at least half the level z, `level_shift` otherwise. Both use only the current and earlier points.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, model_validator

from opsctl.detect.anomaly.base import (
    LEVEL_SHIFT,
    NONE,
    TREND_CHANGE,
    AnomalyDetector,
    AnomalyFrame,
    Params,
    floor_scale,
    hopping_window_stats,
    nan_to_num,
    robust_sigma,
    z_to_score,
)


class LevelShiftParams(Params):
    short: int = Field(5, ge=1, description="points in the recent level (median)")
    long: int = Field(120, ge=3, description="points of reference history before the recent ones")
    trend_window: int = Field(30, ge=3, description="points per slope estimate (0 disables trends)")
    threshold: float = Field(4.0, gt=0, description="shift in sigmas at which the score is 0.5")
    trend: bool = Field(True, description="also detect trend changes")
    rel_floor: float = Field(0.01, ge=0, description="sigma floor as a fraction of abs(median)")
    abs_floor: float = Field(1e-9, ge=0, description="absolute sigma floor")

    @model_validator(mode="after")
    def _short_long(self) -> LevelShiftParams:
        if self.short > self.long:
            raise ValueError(f"short ({self.short}) must not exceed long ({self.long}): the recent level is "
                             "compared with a longer past")
        return self


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    if k <= 0:
        return a
    out = np.full_like(a, np.nan)
    out[k:] = a[:-k]
    return out


def rolling_median(vs: np.ndarray, k: int) -> np.ndarray:
    """Median of vs[i-k+1 .. i] for i >= k-1 (length n-k+1), as np.median over a sliding window.

    Short windows (k <= 9) go through a sorting network on k shifted arrays (k*(k-1)/2 elementwise
    min/max, no per-window selection); longer ones through np.median."""
    n = vs.shape[0]
    if k > 9:
        return np.median(sliding_window_view(vs, k), axis=1)
    m = n - k + 1
    if k == 3:
        a, b, c = vs[:m], vs[1 : m + 1], vs[2 : m + 2]
        return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    if k == 5:  # the median of e and the middle two of a..d (10 min/max instead of the network's 20)
        a, b, c, d, e = (vs[j : j + m] for j in range(5))
        f = np.maximum(np.minimum(a, b), np.minimum(c, d))
        g = np.minimum(np.maximum(a, b), np.maximum(c, d))
        lo = np.minimum(e, f)
        np.maximum(e, f, out=f)
        np.minimum(f, g, out=f)
        return np.maximum(lo, f, out=f)
    rows = [vs[j : j + m].copy() for j in range(k)]
    for top in range(k - 1, 0, -1):  # bubble network: after pass `top`, rows[top] holds the top-th smallest
        for j in range(top):
            lo = np.minimum(rows[j], rows[j + 1])
            np.maximum(rows[j], rows[j + 1], out=rows[j + 1])
            rows[j] = lo
    mid = k // 2
    if k % 2:
        return rows[mid]
    return (rows[mid - 1] + rows[mid]) / 2.0


def rolling_slope(vs: np.ndarray, w: int) -> np.ndarray:
    """OLS slope (per point) over the w points ending at i (NaN before w points).

    slope_i = sum_k (k - (w-1)/2) * vs[i-w+1+k] / (w * (w*w-1)/12): one correlation with a fixed
    kernel, centred so that no large terms cancel (the form mean(t*x) - mean(t)*mean(x) lost about
    1e-9 absolute at a million points)."""
    n = vs.shape[0]
    out = np.full(n, np.nan)
    if n >= w:
        kernel = np.arange(w, dtype=np.float64) - (w - 1) / 2.0
        out[w - 1 :] = np.convolve(vs, kernel[::-1], "valid")
        out[w - 1 :] /= w * (w * w - 1) / 12.0
    return out


class LevelShift(AnomalyDetector):
    id = "level_shift"
    summary = "recent median or slope departs from the longer past: level shifts and trend changes"
    Params = LevelShiftParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, LevelShiftParams)
        n = vs.shape[0]
        recent = np.full(n, np.nan)
        if n >= p.short:  # median of the last `short` points, current one included
            recent[p.short - 1:] = rolling_median(vs, p.short)
        st = hopping_window_stats(vs, p.long, max(1, p.long // 5), mad=True)
        # reference = the long window ending just before the recent `short` points
        ref = _shift(st["median"], p.short - 1)
        cnt = _shift(st["count"], p.short - 1)
        ref = np.where(cnt >= min(p.long, 10), ref, np.nan)
        sigma = floor_scale(_shift(robust_sigma(st), p.short - 1), ref, p.rel_floor, p.abs_floor)
        z_level = (recent - ref) / sigma
        z = np.abs(nan_to_num(z_level, nan=0.0))
        kind = np.full(n, LEVEL_SHIFT, dtype=np.int8)
        if p.trend and n > 2 * p.trend_window:
            w = p.trend_window
            h = max(2, w // 2)
            old = _shift(rolling_slope(vs, w), w)
            half = rolling_slope(vs, h)
            late = half - old  # slope change over the last half window
            early = _shift(half, h) - old  # ... and over the half before it
            # a ramp changes the slope in both halves; a step only in the half that holds it
            same = np.sign(late) == np.sign(early)
            dslope = np.where(same, np.minimum(np.abs(late), np.abs(early)), 0.0)
            # in units of the standard error of a slope fitted to h points of noise sigma
            se = sigma * np.sqrt(12.0 / (h**3 - h))
            z_trend = nan_to_num(dslope / se, nan=0.0)
            trend_wins = z_trend >= 0.5 * z
            kind[trend_wins] = TREND_CHANGE
            z = np.maximum(z, z_trend)
        score = np.where(np.isfinite(ref), z_to_score(z, p.threshold), 0.0)
        kind[score <= 0] = NONE
        conf = np.minimum(nan_to_num(cnt) / p.long, 1.0)
        return AnomalyFrame(score, kind, ref, vs, conf)
