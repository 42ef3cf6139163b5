"""Robust z: median and MAD of the past `window` points, with a floor against flat series.

z = (x - median) / max(1.4826*MAD, rel_floor*|median|, abs_floor). The median/MAD are recomputed every
`hop` points (default window/10) over the `window` points before that moment, which keeps the cost at
O(n/hop * window) and the detector strictly causal. The floor stops a flat series (MAD = 0) from turning
every tiny wiggle into an infinite z. Points beyond the threshold are typed `outlier`, with the
direction in the baseline/observed pair.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from opsctl.detect.anomaly.base import (
    NONE,
    OUTLIER,
    AnomalyDetector,
    AnomalyFrame,
    Params,
    floor_scale,
    hopping_window_stats,
    robust_sigma,
    z_to_score,
)


class RobustZParams(Params):
    window: int = Field(120, ge=3, description="points of history for median/MAD")
    hop: int = Field(0, ge=0, description="recompute every hop points (0: window // 5, at least 1)")
    threshold: float = Field(5.0, gt=0, description="robust z at which the score is 0.5")
    rel_floor: float = Field(0.01, ge=0, description="scale floor as a fraction of abs(median)")
    abs_floor: float = Field(1e-9, ge=0, description="absolute scale floor")
    min_periods: int = Field(10, ge=1, description="points of history before scoring")


class RobustZ(AnomalyDetector):
    id = "robust_z"
    summary = "median/MAD of the past window with a floor against flat series; outliers"
    Params = RobustZParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, RobustZParams)
        hop = p.hop or max(1, p.window // 5)
        st = hopping_window_stats(vs, p.window, hop, mad=True)
        base = st["median"]
        base = np.where(st["count"] >= p.min_periods, base, np.nan)
        scale = floor_scale(robust_sigma(st), base, p.rel_floor, p.abs_floor)
        z = (vs - base) / scale
        score = np.where(np.isfinite(base), z_to_score(z, p.threshold), 0.0)
        kind = np.where(score > 0, OUTLIER, NONE).astype(np.int8)
        conf = np.minimum(st["count"] / p.window, 1.0)
        return AnomalyFrame(score, kind, base, vs, conf)
