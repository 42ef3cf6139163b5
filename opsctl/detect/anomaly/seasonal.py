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
    expand,
    floor_scale,
    hopping_window_blocks,
    hopping_window_stats,
    nan_to_num,
    robust_sigma,
    scored_direction_kind,
    z_to_score_inplace,
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


def _shifted(a: np.ndarray, b: int) -> np.ndarray:
    """a[clip(arange(n) - b, 0, n - 1)] for b >= 0, by slices."""
    n = a.shape[0]
    b = min(b, n)
    out = np.empty_like(a)
    out[:b] = a[0]
    out[b:] = a[: n - b]
    return out


def _regular_shift(ts: np.ndarray, target: np.ndarray, back: float) -> tuple[int, np.ndarray, np.ndarray] | None:
    """(b, ts[j], ts[j - 1]) when _left_insertion's guess j = clip(i - b, 0, n - 1) holds at every i
    (a regular clock), checked by slices; None when it fails somewhere."""
    n = ts.shape[0]
    b = round(min(back, float(n))) if np.isfinite(back) else 0
    if b < 0:
        return None
    ts_j, ts_jm = _shifted(ts, b), _shifted(ts, b + 1)
    if not (ts_j >= target).all():
        return None
    before = ts_jm < target  # the time before j is earlier than the target (or j is 0: i <= b)
    before[: b + 1] = True
    if not before.all():
        return None
    return b, ts_j, ts_jm


def _median_step(ts: np.ndarray) -> float:
    """float(np.median(np.diff(ts))) without the selection when the clock is regular."""
    d = np.diff(ts)
    if d.size and d.min() == d.max():
        return float(np.median(d[: 2 - d.size % 2]))  # the same middle value(s) and arithmetic
    return float(np.median(d))


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
        step = _median_step(ts)
        tol = p.tolerance or step / 2.0
        cands = np.full((p.seasons, n), np.nan)
        for k in range(1, p.seasons + 1):
            target = ts - k * p.period
            back = k * p.period / step if step > 0 else 0.0
            reg = _regular_shift(ts, target, back)
            if reg is not None:  # j = max(i - b, 0): slices instead of gathers, same values
                b, ts_j, ts_jm = reg
                d_j = np.abs(np.subtract(ts_j, target, out=ts_j), out=ts_j)
                d_jm = np.abs(np.subtract(ts_jm, target, out=ts_jm), out=ts_jm)
                use_jm = d_jm < d_j  # the point before is nearer
                ok = np.minimum(d_jm, d_j, out=d_j) <= tol  # the distance of the nearer one
                # the nearer point lies before i: jm < i for i > 0; j < i for i > 0 when b >= 1
                ok[:1] = False
                if b == 0:
                    ok &= use_jm
                c = _shifted(vs, b)
                if use_jm.any():
                    np.copyto(c, _shifted(vs, b + 1), where=use_jm)
                np.copyto(c, np.nan, where=~ok)
                cands[k - 1] = c
                continue
            j = _left_insertion(ts, target, back)
            jm = np.clip(j - 1, 0, n - 1)
            nearer = np.where(np.abs(ts[jm] - target) < np.abs(ts[j] - target), jm, j)
            ok = (np.abs(ts[nearer] - target) <= tol) & (nearer < np.arange(n))
            cands[k - 1] = np.where(ok, vs[nearer], np.nan)
        if p.seasons == 1:
            base = cands[0]
            have = np.isfinite(base)
        else:
            have = np.isfinite(cands).any(axis=0)
            base = np.full(n, np.nan)
            if have.any():
                base[have] = np.nanmedian(cands[:, have], axis=0)
        resid = vs - base
        hop = max(1, p.window // 5)
        first = int(np.argmax(have)) if n else 0
        last = n - 1 - int(np.argmax(have[::-1])) if n else -1
        if have.any() and int(np.count_nonzero(have)) == last - first + 1:
            # usually all but the first period(s): block statistics of resid[first:], spread from first on
            sub = hopping_window_blocks(resid[first:], p.window, hop, mad=True)
            count_b = sub["count"]
            sig = expand(robust_sigma(sub), hop, n, first)
            med0 = expand(nan_to_num(sub["median"], nan=0.0), hop, n, first, 0.0)
            counted = expand(count_b >= 10, hop, n, first, False)
            conf = expand(np.minimum(count_b / p.window, 1.0), hop, n, first, 0.0)
        else:
            st = {"median": np.full(n, np.nan), "mad": np.full(n, np.nan), "meanad": np.full(n, np.nan),
                  "count": np.zeros(n)}
            if have.any():
                sub = hopping_window_stats(resid[have], p.window, hop, mad=True)
                for key in st:
                    st[key][have] = sub[key]
            sig = robust_sigma(st)
            med0 = nan_to_num(st["median"], nan=0.0)
            counted = st["count"] >= 10
            conf = np.minimum(st["count"] / p.window, 1.0)
        sigma = floor_scale(sig, base, p.rel_floor, p.abs_floor)
        z = np.subtract(resid, med0, out=resid)
        z /= sigma
        score = z_to_score_inplace(z, p.threshold)
        counted &= np.isfinite(base)
        np.copyto(score, 0.0, where=~counted)
        conf *= have if p.seasons == 1 else np.isfinite(cands).mean(axis=0)
        return AnomalyFrame(score, scored_direction_kind(vs, base, score), base, vs, conf)
