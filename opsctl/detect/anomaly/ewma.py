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
    direction_kind,
    floor_scale,
    z_to_score,
)


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
        base = ew.mean().shift(1).to_numpy()
        sd = ew.std(bias=True).shift(1).to_numpy()
        scale = floor_scale(sd, base, p.rel_floor, p.abs_floor)
        z = (vs - base) / scale
        score = np.where(np.isfinite(base), z_to_score(z, p.threshold), 0.0)
        n = vs.shape[0]
        # effective memory of an EWMA is about 2/alpha points
        conf = np.minimum(np.arange(n, dtype=np.float64) * p.alpha / 2.0, 1.0)
        return AnomalyFrame(score, direction_kind(vs, base, score), base, vs, conf)
