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
    TREND_CHANGE,
    AnomalyDetector,
    AnomalyFrame,
    Params,
    expand,
    floor_scale,
    hopping_window_blocks,
    robust_sigma,
    z_to_score_inplace,
)

_BIG = float(np.finfo(np.float64).max)


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


def _slope_valid(vs: np.ndarray, w: int) -> np.ndarray:
    """rolling_slope(vs, w)[w - 1:] (n >= w): the slopes of the complete windows."""
    kernel = np.arange(w, dtype=np.float64) - (w - 1) / 2.0
    out = np.convolve(vs, kernel[::-1], "valid")
    out /= w * (w * w - 1) / 12.0
    return out


def rolling_slope(vs: np.ndarray, w: int) -> np.ndarray:
    """OLS slope (per point) over the w points ending at i (NaN before w points).

    slope_i = sum_k (k - (w-1)/2) * vs[i-w+1+k] / (w * (w*w-1)/12): one correlation with a fixed
    kernel, centred so that no large terms cancel (the form mean(t*x) - mean(t)*mean(x) lost about
    1e-9 absolute at a million points)."""
    n = vs.shape[0]
    out = np.full(n, np.nan)
    if n >= w:
        out[w - 1 :] = _slope_valid(vs, w)
    return out


class LevelShift(AnomalyDetector):
    id = "level_shift"
    summary = "recent median or slope departs from the longer past: level shifts and trend changes"
    Params = LevelShiftParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, LevelShiftParams)
        n = vs.shape[0]
        k = p.short - 1  # the reference window ends just before the recent `short` points
        recent = np.full(n, np.nan)
        if n >= p.short:  # median of the last `short` points, current one included
            recent[k:] = rolling_median(vs, p.short)
        hop = max(1, p.long // 5)
        st = hopping_window_blocks(vs, p.long, hop, mad=True)
        # per block of `hop` points (they share one window), then spread over the points k later
        ref_b = np.where(st["count"] >= min(p.long, 10), st["median"], np.nan)
        sigma_b = floor_scale(robust_sigma(st), ref_b, p.rel_floor, p.abs_floor)
        nan1 = np.full(1, np.nan)
        sigma_fill = float(floor_scale(nan1, nan1, p.rel_floor, p.abs_floor)[0])  # no reference yet
        ref = expand(ref_b, hop, n, k)
        sigma = expand(sigma_b, hop, n, k, sigma_fill)
        # z = |nan_to_num((recent - ref) / sigma, nan=0)|: NaN -> 0, +-Inf -> the float max
        z = np.subtract(recent, ref, out=recent)
        z /= sigma
        np.abs(z, out=z)
        np.fmax(z, 0.0, out=z)
        np.minimum(z, _BIG, out=z)
        kind = np.full(n, LEVEL_SHIFT, dtype=np.int8)
        w = p.trend_window
        s0 = 2 * w - 1  # first point with both slopes; before it the trend z is 0 (no effect)
        if p.trend and n > 2 * w:
            h = max(2, w // 2)
            m = n - s0
            old = _slope_valid(vs, w)[:m]  # slope over the w points before the last w, at s0..n-1
            half = _slope_valid(vs, h)
            late = half[s0 - h + 1 : s0 - h + 1 + m] - old  # slope change over the last half window
            early = half[s0 - 2 * h + 1 : s0 - 2 * h + 1 + m] - old  # ... and over the half before it
            # a ramp changes the slope in both halves; a step only in the half that holds it
            same = np.sign(late) == np.sign(early)
            np.abs(late, out=late)
            np.abs(early, out=early)
            dslope = np.minimum(late, early, out=late)
            np.copyto(dslope, 0.0, where=~same)
            # in units of the standard error of a slope fitted to h points of noise sigma
            se = sigma[s0:] * np.sqrt(12.0 / (h**3 - h))
            z_trend = np.divide(dslope, se, out=se)
            np.fmax(z_trend, 0.0, out=z_trend)  # nan_to_num(nan=0) of a value >= 0
            np.minimum(z_trend, _BIG, out=z_trend)
            zs = z[s0:]
            trend_wins = z_trend >= 0.5 * zs
            kind[s0:][trend_wins] = TREND_CHANGE
            np.maximum(zs, z_trend, out=zs)
        score = z_to_score_inplace(z, p.threshold)
        bad = ~np.isfinite(ref_b)
        if bad.any() or k > 0:
            score[expand(bad, hop, n, k, True)] = 0.0
        kind *= (score > 0).view(np.int8)
        conf = expand(np.minimum(st["count"] / p.long, 1.0), hop, n, k, 0.0)
        return AnomalyFrame(score, kind, ref, vs, conf)
