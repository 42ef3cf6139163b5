"""Shared machinery for the anomaly detectors: result arrays, score mapping, causal window statistics.

Every anomaly detector takes `(timestamps, values)` (float seconds, floats) and returns an `AnomalyFrame`
with one entry per input point. It is causal: the baseline at point i uses only points before i, so
running it over a growing series never changes a past score (no look-ahead).

Scores are in [0, 1): `|z| / (|z| + threshold)`, so a deviation of exactly `threshold` robust
standard deviations scores 0.5, twice that 0.67, and the order of deviations is preserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict

# Anomaly types; `kind` arrays hold indexes into this tuple.
ANOMALY_TYPES: tuple[str, ...] = ("none", "spike", "drop", "trend_change", "level_shift", "outlier")
NONE, SPIKE, DROP, TREND_CHANGE, LEVEL_SHIFT, OUTLIER = range(6)

MAD_TO_SIGMA = 1.4826
MEANAD_TO_SIGMA = 1.2533


class Params(BaseModel):
    """Base of every detector's parameter model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ParamsBase = Params


@dataclass
class AnomalyFrame:
    """Per-point output of an anomaly detector (all arrays have the input's length)."""

    score: np.ndarray  # float in [0, 1)
    kind: np.ndarray  # int8 index into ANOMALY_TYPES
    baseline: np.ndarray  # expected value (NaN while warming up)
    observed: np.ndarray  # the input value
    confidence: np.ndarray  # 0-1: how much history backs the baseline

    def point(self, i: int) -> dict[str, Any]:
        return {
            "score": float(self.score[i]),
            "type": ANOMALY_TYPES[int(self.kind[i])],
            "confidence": float(self.confidence[i]),
            "baseline": None if not np.isfinite(self.baseline[i]) else float(self.baseline[i]),
            "observed": float(self.observed[i]),
        }


class AnomalyDetector:
    """Base class: subclasses set id/summary/Params and implement `_score` on finite values."""

    id: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[Params]]

    def __init__(self, params: ParamsBase | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def score(self, timestamps: np.ndarray, values: np.ndarray) -> AnomalyFrame:
        """Score every point; NaN/Inf inputs score 0 and are ignored by the baselines."""
        ts = np.asarray(timestamps, dtype=np.float64)
        vs = np.asarray(values, dtype=np.float64)
        if ts.shape != vs.shape:
            raise ValueError("timestamps and values differ in length")
        finite = np.isfinite(vs)
        n = vs.shape[0]
        if finite.all():
            return self._score(ts, vs)
        out = AnomalyFrame(
            score=np.zeros(n),
            kind=np.zeros(n, dtype=np.int8),
            baseline=np.full(n, np.nan),
            observed=vs.copy(),
            confidence=np.zeros(n),
        )
        if finite.any():
            sub = self._score(ts[finite], vs[finite])
            out.score[finite] = sub.score
            out.kind[finite] = sub.kind
            out.baseline[finite] = sub.baseline
            out.confidence[finite] = sub.confidence
        return out

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:  # pragma: no cover - abstract
        raise NotImplementedError


def nan_to_num(a: np.ndarray, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> np.ndarray:
    """np.nan_to_num(a, nan=..., posinf=..., neginf=...) on a float array (a new array), in two passes
    instead of five when there is no infinity."""
    out = np.where(np.isnan(a), nan, a)
    if np.isinf(out).any():
        np.nan_to_num(out, copy=False, posinf=posinf, neginf=neginf)
    return out


def z_to_score(z: np.ndarray, threshold: float) -> np.ndarray:
    a = np.abs(nan_to_num(z, nan=0.0, posinf=1e300, neginf=1e300))
    return a / (a + threshold)


def direction_kind(x: np.ndarray, baseline: np.ndarray, score: np.ndarray, up: int = SPIKE,
                   down: int = DROP) -> np.ndarray:
    kind = np.where(x >= baseline, up, down).astype(np.int8)
    kind[(score <= 0) | ~np.isfinite(baseline)] = NONE
    return kind


def floor_scale(scale: np.ndarray, level: np.ndarray, rel_floor: float, abs_floor: float) -> np.ndarray:
    """The scale never drops below rel_floor*|level| nor abs_floor, so flat series don't divide by ~0."""
    lv = nan_to_num(np.abs(level), nan=0.0)
    return np.maximum(nan_to_num(scale, nan=0.0), np.maximum(rel_floor * lv, abs_floor))


def robust_sigma(stats: dict[str, np.ndarray]) -> np.ndarray:
    """1.4826*MAD, or 1.2533*mean absolute deviation where the MAD is 0 (more than half the window
    equal, e.g. a mostly-zero counter): both estimate sigma for normal data."""
    mad = stats["mad"]
    return np.where(mad > 0, MAD_TO_SIGMA * mad, MEANAD_TO_SIGMA * stats["meanad"])


def history_confidence(n: int, window: int) -> np.ndarray:
    """Points of history before i (capped at window) / window."""
    return np.minimum(np.arange(n, dtype=np.float64), window) / float(window)


def _row_median_inplace(a: np.ndarray) -> np.ndarray:
    """Median of each row of a 2-D float array without NaNs; reorders `a` (no copy, unlike np.median).

    One selection per row: for an even row length the lower middle is the largest value left of the
    upper middle once the row is partitioned there (partitioning at two places costs four times more)."""
    k = a.shape[1]
    mid = k // 2
    a.partition(mid, axis=1)
    if k % 2:
        return a[:, mid].copy()
    return (a[:, :mid].max(axis=1) + a[:, mid]) / 2.0


def _row_quantile_inplace(a: np.ndarray, q: float) -> np.ndarray:
    """np.quantile(a, q, axis=1) (its default "linear" method, same arithmetic) for a 2-D float array
    without NaNs, by one selection per row; reorders `a`."""
    k = a.shape[1]
    vi = (k - 1) * q  # numpy's virtual index for the linear method
    if vi >= k - 1:
        return a.max(axis=1)
    if vi < 0:
        return a.min(axis=1)
    lo = int(np.floor(vi))
    a.partition(lo + 1, axis=1)
    b = a[:, lo + 1].copy()
    prev = a[:, : lo + 1].max(axis=1)
    gamma = vi - lo
    diff = b - prev
    if gamma >= 0.5:  # numpy's _lerp
        return b - diff * (1.0 - gamma)
    return prev + diff * gamma


def hopping_window_stats(x: np.ndarray, window: int, hop: int, quantiles: tuple[float, ...] = (),
                         mad: bool = False) -> dict[str, np.ndarray]:
    """Causal robust statistics recomputed every `hop` points over the `window` points before the hop.

    For point i, with s = i - i % hop, the statistics describe x[max(0, s - window):s] (strictly before i).
    Returns per-point arrays: "median", "mad" (if asked: raw median absolute deviation, plus "meanad",
    the mean absolute deviation from the median), "count", and "q<p>" for each quantile p. Points with
    no history get NaN. Cost is O(n/hop * window).
    """
    n = x.shape[0]
    starts = np.arange(0, n, hop)
    nb = starts.shape[0]
    med = np.full(nb, np.nan)
    madv = np.full(nb, np.nan)
    meanad = np.full(nb, np.nan)
    qv = {q: np.full(nb, np.nan) for q in quantiles}
    count = np.minimum(starts, window).astype(np.float64)
    full = starts >= window
    if n >= window and full.any():
        view = sliding_window_view(x, window)  # view[j] = x[j:j+window]
        w = view[starts[full] - window]  # a copy: free to reorder in place
        for q in quantiles:
            qv[q][full] = _row_quantile_inplace(w, q)
        m = _row_median_inplace(w)
        med[full] = m
        if mad:  # deviations from the median, in place of the window (no second copy)
            np.subtract(w, m[:, None], out=w)
            np.abs(w, out=w)
            meanad[full] = w.mean(axis=1)
            madv[full] = _row_median_inplace(w)
    for b in np.flatnonzero(~full & (starts > 0)):  # partial windows at the start
        w1 = x[: starts[b]]
        m1 = float(np.median(w1))
        med[b] = m1
        if mad:
            madv[b] = float(np.median(np.abs(w1 - m1)))
            meanad[b] = float(np.mean(np.abs(w1 - m1)))
        for q in quantiles:
            qv[q][b] = float(np.quantile(w1, q))
    rep = np.minimum(np.diff(np.append(starts, n)), hop)
    out = {"median": np.repeat(med, rep), "count": np.repeat(count, rep)}
    if mad:
        out["mad"] = np.repeat(madv, rep)
        out["meanad"] = np.repeat(meanad, rep)
    for q in quantiles:
        out[f"q{q}"] = np.repeat(qv[q], rep)
    return out
