"""Z-score: mean and standard deviation over a sliding window of the past `window` points.

Classic and fast; sensitive to outliers inside the window (use robust_z when the history is noisy).
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
    history_confidence,
    scored_direction_kind,
    z_to_score_inplace,
)


def _lag1(a: np.ndarray) -> np.ndarray:
    """pd.Series(a).shift(1) as an array: NaN, a[0], ..., a[n-2]."""
    out = np.empty_like(a)
    out[:1] = np.nan
    out[1:] = a[:-1]
    return out


class ZScoreParams(Params):
    window: int = Field(60, ge=2, description="points of history in the baseline")
    threshold: float = Field(4.0, gt=0, description="z at which the score is 0.5")
    rel_floor: float = Field(0.01, ge=0, description="scale floor as a fraction of abs(mean)")
    abs_floor: float = Field(1e-9, ge=0, description="absolute scale floor")
    min_periods: int = Field(10, ge=2, description="points of history before scoring")


class ZScore(AnomalyDetector):
    id = "zscore"
    summary = "mean/std over a sliding window of the past; spikes and drops beyond threshold sigmas"
    Params = ZScoreParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, ZScoreParams)
        roll = pd.Series(vs).rolling(p.window, min_periods=min(p.min_periods, p.window))
        base = _lag1(roll.mean().to_numpy())
        sd = _lag1(roll.std(ddof=0).to_numpy())
        scale = floor_scale(sd, base, p.rel_floor, p.abs_floor)
        z = np.subtract(vs, base)
        z /= scale
        score = z_to_score_inplace(z, p.threshold)  # 0 where the baseline is NaN (z is NaN there)
        inf = np.isinf(base)
        if inf.any():
            score[inf] = 0.0
        conf = history_confidence(vs.shape[0], p.window)
        return AnomalyFrame(score, scored_direction_kind(vs, base, score), base, vs, conf)
