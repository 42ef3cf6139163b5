"""EWMA: exponentially weighted mean and standard deviation of the past; flags spikes and drops.

The baseline at point i is the EWMA of the points before i (alpha = `alpha`), the scale the EW standard
deviation of those points, floored by `rel_floor`*|baseline| and `abs_floor`. Score = |z|/(|z|+threshold).
Cheap and adaptive: good for metrics whose level drifts slowly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from opsctl.detect.anomaly.base import (
    AnomalyDetector,
    AnomalyFrame,
    Params,
    floor_scale,
    scored_direction_kind,
    z_to_score_inplace,
)


def _lag1(a: np.ndarray) -> np.ndarray:
    """pd.Series(a).shift(1) as an array: NaN, a[0], ..., a[n-2]."""
    out = np.empty_like(a)
    out[:1] = np.nan
    out[1:] = a[:-1]
    return out


class EwmaParams(Params):
    alpha: float = Field(0.05, gt=0, le=1, description="smoothing factor (larger reacts faster)")
    threshold: float = Field(4.0, gt=0, description="z at which the score is 0.5")
    rel_floor: float = Field(0.01, ge=0, description="scale floor as a fraction of abs(baseline)")
    abs_floor: float = Field(1e-9, ge=0, description="absolute scale floor")
    min_periods: int = Field(10, ge=1, description="points of history before scoring")


class Ewma(AnomalyDetector):
    id = "ewma"
    summary = "EWMA mean/std of the past; spikes and drops beyond threshold sigmas"
    Params = EwmaParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, EwmaParams)
        s = pd.Series(vs)
        ew = s.ewm(alpha=p.alpha, adjust=True, min_periods=p.min_periods)
        base = _lag1(ew.mean().to_numpy())
        sd = _lag1(ew.std(bias=True).to_numpy())
        scale = floor_scale(sd, base, p.rel_floor, p.abs_floor)
        z = np.subtract(vs, base)
        z /= scale
        score = z_to_score_inplace(z, p.threshold)  # 0 where the baseline is NaN (z is NaN there)
        inf = np.isinf(base)
        if inf.any():
            score[inf] = 0.0
        n = vs.shape[0]
        # effective memory of an EWMA is about 2/alpha points: min(i * alpha / 2, 1), computed up to
        # the first i where it reaches 1 (it only grows), 1 after
        conf = np.ones(n)
        reach = 2.0 / p.alpha  # may be Inf for a tiny alpha
        k = min(n, int(reach) + 2) if reach < n else n
        conf[:k] = np.minimum(np.arange(k, dtype=np.float64) * p.alpha / 2.0, 1.0)
        return AnomalyFrame(score, scored_direction_kind(vs, base, score), base, vs, conf)
