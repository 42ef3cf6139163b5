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
    OUTLIER,
    AnomalyDetector,
    AnomalyFrame,
    Params,
    blockwise,
    expand,
    floor_scale,
    hopping_window_blocks,
    robust_sigma,
    z_to_score_inplace,
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
        n = vs.shape[0]
        # everything but the point's own value is per block of `hop` points (they share one window)
        st = hopping_window_blocks(vs, p.window, hop, mad=True)
        base = np.where(st["count"] >= p.min_periods, st["median"], np.nan)
        scale = floor_scale(robust_sigma(st), base, p.rel_floor, p.abs_floor)
        z = blockwise(np.subtract, vs, base, hop)
        blockwise(np.divide, z, scale, hop, out=z)
        score = z_to_score_inplace(z, p.threshold)  # 0 where the baseline is NaN (z is NaN there)
        if np.isinf(base).any():
            score[expand(np.isinf(base), hop, n)] = 0.0
        kind = (score > 0).view(np.int8) * np.int8(OUTLIER)
        conf = expand(np.minimum(st["count"] / p.window, 1.0), hop, n)
        return AnomalyFrame(score, kind, expand(base, hop, n), vs, conf)
