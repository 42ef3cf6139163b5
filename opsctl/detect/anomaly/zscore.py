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
    direction_kind,
    floor_scale,
    history_confidence,
    z_to_score,
)


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
        base = roll.mean().shift(1).to_numpy()
        sd = roll.std(ddof=0).shift(1).to_numpy()
        scale = floor_scale(sd, base, p.rel_floor, p.abs_floor)
        z = (vs - base) / scale
        score = np.where(np.isfinite(base), z_to_score(z, p.threshold), 0.0)
        conf = history_confidence(vs.shape[0], p.window)
        return AnomalyFrame(score, direction_kind(vs, base, score), base, vs, conf)
