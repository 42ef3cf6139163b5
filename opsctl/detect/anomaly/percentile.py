"""Rolling percentile: tail-latency style detector comparing a point with a high percentile of the past.

With q = the `percentile` (default 99) of the past `window` points and m their median, the excess
e = (x - q) / max(q - m, rel_floor*|m|, abs_floor) is 0 when x <= q; score = e / (e + threshold).
Only upward excursions count (`spike`): a latency that exceeds its own p99 by as much again as the
p99 exceeds the median scores 0.5 with threshold 1.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from opsctl.detect.anomaly.base import (
    SPIKE,
    AnomalyDetector,
    AnomalyFrame,
    Params,
    blockwise,
    expand,
    floor_scale,
    hopping_window_blocks,
)


class PercentileParams(Params):
    window: int = Field(300, ge=5, description="points of history")
    percentile: float = Field(99.0, gt=50, lt=100, description="percentile of the past that is normal")
    hop: int = Field(0, ge=0, description="recompute every hop points (0: window // 5, at least 1)")
    threshold: float = Field(1.0, gt=0, description="excess (in units of p - median) scoring 0.5")
    rel_floor: float = Field(0.01, ge=0, description="floor of (p - median) as a fraction of abs(median)")
    abs_floor: float = Field(1e-9, ge=0, description="absolute floor of (p - median)")
    min_periods: int = Field(20, ge=1, description="points of history before scoring")


class RollingPercentile(AnomalyDetector):
    id = "rolling_percentile"
    summary = "value above a high percentile (p99) of the past window: tail-latency spikes"
    Params = PercentileParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, PercentileParams)
        q = p.percentile / 100.0
        hop = p.hop or max(1, p.window // 5)
        n = vs.shape[0]
        # everything but the point's own value is per block of `hop` points (they share one window)
        st = hopping_window_blocks(vs, p.window, hop, quantiles=(q,))
        med = st["median"]
        hi = np.where(st["count"] >= p.min_periods, st[f"q{q}"], np.nan)
        scale = floor_scale(hi - med, med, p.rel_floor, p.abs_floor)
        e = blockwise(np.subtract, vs, hi, hop)
        blockwise(np.divide, e, scale, hop, out=e)
        # clip(nan_to_num(e, nan=0), 0, None): positive values stay (+Inf as the float max), the rest is 0
        excess = np.where(e > 0, e, 0.0)
        if excess.size and excess.max() == np.inf:
            excess[excess == np.inf] = np.finfo(np.float64).max
        np.add(excess, p.threshold, out=e)
        score = np.divide(excess, e, out=excess)
        kind = (score > 0).view(np.int8) * np.int8(SPIKE)
        conf = expand(np.minimum(st["count"] / p.window, 1.0), hop, n)
        return AnomalyFrame(score, kind, expand(hi, hop, n), vs, conf)
