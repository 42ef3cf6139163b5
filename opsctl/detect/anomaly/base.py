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
from numpy.lib.stride_tricks import as_strided
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
    return z_to_score_inplace(z.copy(), threshold)


def z_to_score_inplace(z: np.ndarray, threshold: float) -> np.ndarray:
    """|z| / (|z| + threshold) with NaN as 0 and +-Inf as 1e300, written over `z` (float64)."""
    np.abs(z, out=z)
    np.fmax(z, 0.0, out=z)  # NaN -> 0
    if z.size and z.max() == np.inf:
        z[z == np.inf] = 1e300
    t = z + threshold
    return np.divide(z, t, out=z)


def direction_kind(x: np.ndarray, baseline: np.ndarray, score: np.ndarray, up: int = SPIKE,
                   down: int = DROP) -> np.ndarray:
    kind = np.where(x >= baseline, up, down).astype(np.int8)
    kind[(score <= 0) | ~np.isfinite(baseline)] = NONE
    return kind


def scored_direction_kind(x: np.ndarray, baseline: np.ndarray, score: np.ndarray) -> np.ndarray:
    """direction_kind(x, baseline, score) where score is 0 wherever the baseline is not finite."""
    kind = (x >= baseline).view(np.int8)  # 1 (SPIKE) or 0 -> 2 (DROP) below
    np.subtract(DROP, kind, out=kind)
    kind *= (score > 0).view(np.int8)
    return kind


_BIG = float(np.finfo(np.float64).max)


def floor_scale(scale: np.ndarray, level: np.ndarray, rel_floor: float, abs_floor: float) -> np.ndarray:
    """The scale never drops below rel_floor*|level| nor abs_floor, so flat series don't divide by ~0.

    np.maximum(nan_to_num(scale, nan=0), np.maximum(rel_floor * nan_to_num(|level|, nan=0), abs_floor)),
    in place: minimum(., float max) is nan_to_num's +Inf mapping; the floor f >= 0 replaces NaN by
    fmax afterwards (np.maximum returns its second operand on a tie such as -0.0 vs 0.0, which fmax
    does not always, so the tie is decided by np.maximum first)."""
    lv = np.abs(level)
    np.minimum(lv, _BIG, out=lv)
    np.multiply(lv, rel_floor, out=lv)
    np.fmax(lv, abs_floor, out=lv)  # NaN -> abs_floor; no signed-zero tie (both >= +0)
    out = np.minimum(scale, _BIG)
    np.maximum(out, lv, out=out)
    return np.fmax(out, lv, out=out)  # NaN -> the floor; elsewhere out is lv's bits or above


def robust_sigma(stats: dict[str, np.ndarray]) -> np.ndarray:
    """1.4826*MAD, or 1.2533*mean absolute deviation where the MAD is 0 (more than half the window
    equal, e.g. a mostly-zero counter): both estimate sigma for normal data."""
    mad = stats["mad"]
    return np.where(mad > 0, MAD_TO_SIGMA * mad, MEANAD_TO_SIGMA * stats["meanad"])


def history_confidence(n: int, window: int) -> np.ndarray:
    """Points of history before i (capped at window) / window."""
    out = np.ones(n)  # window / window
    k = min(n, window)
    out[:k] = np.arange(k, dtype=np.float64) / float(window)
    return out


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


def _sorted_row_quantile(a: np.ndarray, q: float) -> np.ndarray:
    """_row_quantile_inplace on rows already sorted: the same two order statistics and arithmetic."""
    k = a.shape[1]
    vi = (k - 1) * q
    if vi >= k - 1:
        return a[:, -1].copy()
    if vi < 0:
        return a[:, 0].copy()
    lo = int(np.floor(vi))
    b = a[:, lo + 1]
    prev = a[:, lo]
    gamma = vi - lo
    diff = b - prev
    if gamma >= 0.5:
        return b - diff * (1.0 - gamma)
    return prev + diff * gamma


def _sorted_row_median(a: np.ndarray) -> np.ndarray:
    """_row_median_inplace on rows already sorted (same values, same arithmetic)."""
    k = a.shape[1]
    mid = k // 2
    if k % 2:
        return a[:, mid].copy()
    return (a[:, mid - 1] + a[:, mid]) / 2.0


def _sorted_row_mad(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Median of |a - m| per row (as _row_median_inplace would give) for rows sorted ascending with
    a[:, k//2 - 1] <= m <= a[:, k//2] and m finite, without computing every deviation.

    The deviations of a row form two ascending runs, A_i = |a[mid-1-i] - m| (left of mid, outwards) and
    B_i = |a[mid+i] - m|; the order statistics of their union come from a binary search, per row at
    once, for how many of the smallest are taken from A."""
    rows, k = a.shape
    mid = k // 2
    n_a, n_b = mid, k - mid
    flat = a.reshape(-1)
    base = np.arange(rows) * k

    def dev(col: np.ndarray) -> np.ndarray:
        return np.abs(flat[base + col] - m)

    r = mid - 1 if k % 2 == 0 else mid  # 0-based rank of the (lower) middle deviation
    lo = np.full(rows, max(0, r + 1 - n_b))
    hi = np.full(rows, min(r + 1, n_a))
    while True:  # smallest t with not (A[t] < B[r-t]): t of the r+1 smallest come from A
        act = lo < hi
        if not act.any():
            break
        t = (lo + hi) // 2
        tt = np.where(act, t, lo)
        ok = act & (tt < n_a) & (r - tt >= 0)
        take = np.zeros(rows, dtype=bool)
        if ok.any():
            ca = np.where(ok, mid - 1 - tt, 0)
            cb = np.where(ok, mid + r - tt, 0)
            take = ok & (dev(ca) < dev(cb))
        lo = np.where(act & take, tt + 1, lo)
        hi = np.where(act & ~take, tt, hi)
    t = lo
    neg = np.full(rows, -np.inf)
    last_a = np.where(t > 0, dev(np.clip(mid - t, 0, k - 1)), neg)  # A[t-1]
    last_b = np.where(r - t >= 0, dev(np.clip(mid + r - t, 0, k - 1)), neg)  # B[r-t]
    lower = np.maximum(last_a, last_b)
    if k % 2:
        return lower
    pos = np.full(rows, np.inf)
    next_a = np.where(t < n_a, dev(np.clip(mid - 1 - t, 0, k - 1)), pos)  # A[t]
    next_b = np.where(r + 1 - t < n_b, dev(np.clip(mid + r + 1 - t, 0, k - 1)), pos)  # B[r+1-t]
    return (lower + np.minimum(next_a, next_b)) / 2.0


_NEG_ZERO = np.array(-0.0).view(np.int64)


def _sortable(x: np.ndarray) -> bool:
    """No NaN and no -0.0 in x: a sort and a selection then give the same order statistics (they may
    order -0.0 and 0.0, equal keys, differently, and the MAD search needs a total order)."""
    return not (np.isnan(x).any() or (x.view(np.int64) == _NEG_ZERO).any())


def hopping_window_blocks(x: np.ndarray, window: int, hop: int, quantiles: tuple[float, ...] = (),
                          mad: bool = False) -> dict[str, np.ndarray]:
    """`hopping_window_stats` per block instead of per point: entry b describes the points
    b*hop .. b*hop+hop-1 (they share one window). `expand(block_array, hop, n)` gives the per-point
    array; detectors that combine the statistics do it per block first (hop times fewer values).

    The full windows are sorted once (one pass of numpy's vectorised sort, cheaper than the two or
    three selections it replaces): median and quantiles are order statistics of the sorted row, the MAD
    a search over the two sorted runs of deviations. "meanad" is then computed only where the MAD is
    not > 0 (the only place robust_sigma uses it), in the element order the selection-based form left,
    so that its sum rounds the same; NaN elsewhere. Input with NaN or -0.0 takes the selection-based
    form throughout (see _sortable)."""
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
        first = int(np.argmax(full))  # starts grow: the full windows are the blocks first..nb-1
        s0 = int(starts[first]) - window
        view = as_strided(x[s0:], shape=(nb - first, window), strides=(hop * x.strides[0], x.strides[0]),
                          writeable=False)  # row r = x[s0 + r*hop : s0 + r*hop + window]
        if (mad or len(quantiles) > 0) and _sortable(x):
            w = view.copy()
            w.sort(axis=1)
            for q in quantiles:
                qv[q][first:] = _sorted_row_quantile(w, q)
            m = _sorted_row_median(w)
            med[first:] = m
            if mad:
                mv = _sorted_row_mad(w, m)
                inf = np.flatnonzero(~np.isfinite(m))
                if inf.size:  # an overflowing median: deviations Inf and NaN, not two sorted runs
                    d = np.abs(w[inf] - m[inf, None])
                    mv[inf] = _row_median_inplace(d)
                madv[first:] = mv
                zero = np.flatnonzero(~(mv > 0))
                if zero.size:  # the mean deviation as the selection-based form summed it
                    w0 = view[zero]  # a copy
                    for q in quantiles:
                        _row_quantile_inplace(w0, q)
                    m0 = _row_median_inplace(w0)
                    np.subtract(w0, m0[:, None], out=w0)
                    np.abs(w0, out=w0)
                    meanad[first + zero] = w0.mean(axis=1)
        else:
            w = view.copy()  # free to reorder in place
            for q in quantiles:
                qv[q][first:] = _row_quantile_inplace(w, q)
            m = _row_median_inplace(w)
            med[first:] = m
            if mad:  # deviations from the median, in place of the window (no second copy)
                np.subtract(w, m[:, None], out=w)
                np.abs(w, out=w)
                meanad[first:] = w.mean(axis=1)
                madv[first:] = _row_median_inplace(w)
    for b in np.flatnonzero(~full & (starts > 0)):  # partial windows at the start
        w1 = x[: starts[b]]
        m1 = float(np.median(w1))
        med[b] = m1
        if mad:
            madv[b] = float(np.median(np.abs(w1 - m1)))
            meanad[b] = float(np.mean(np.abs(w1 - m1)))
        for q in quantiles:
            qv[q][b] = float(np.quantile(w1, q))
    out = {"median": med, "count": count}
    if mad:
        out["mad"] = madv
        out["meanad"] = meanad
    for q in quantiles:
        out[f"q{q}"] = qv[q]
    return out


def expand(blocks: np.ndarray, hop: int, n: int, shift: int = 0, fill: float = np.nan) -> np.ndarray:
    """Per-point array of per-block values: out[i] = blocks[(i - shift) // hop] for i >= shift, `fill`
    before (np.repeat(blocks, hop)[:n] moved right by `shift`), one pass."""
    out = np.empty(n, dtype=blocks.dtype)
    s = min(max(shift, 0), n)
    out[:s] = fill
    m = n - s
    nfull = m // hop
    if nfull:
        out[s : s + nfull * hop].reshape(nfull, hop)[...] = blocks[:nfull, None]
    if m > nfull * hop:
        out[s + nfull * hop :] = blocks[nfull]
    return out


def blockwise(op: Any, x: np.ndarray, blocks: np.ndarray, hop: int, out: np.ndarray | None = None) -> np.ndarray:
    """op(x, expand(blocks, hop, n)) without building the expanded array (a ufunc, broadcast per block)."""
    n = x.shape[0]
    if out is None:
        out = np.empty(n, dtype=np.result_type(x, blocks))
    nfull = n // hop
    if nfull:
        op(x[: nfull * hop].reshape(nfull, hop), blocks[:nfull, None], out=out[: nfull * hop].reshape(nfull, hop))
    if n > nfull * hop:
        op(x[nfull * hop :], blocks[nfull], out=out[nfull * hop :])
    return out


def hopping_window_stats(x: np.ndarray, window: int, hop: int, quantiles: tuple[float, ...] = (),
                         mad: bool = False) -> dict[str, np.ndarray]:
    """Causal robust statistics recomputed every `hop` points over the `window` points before the hop.

    For point i, with s = i - i % hop, the statistics describe x[max(0, s - window):s] (strictly before i).
    Returns per-point arrays: "median", "mad" (if asked: raw median absolute deviation, plus "meanad",
    the mean absolute deviation from the median), "count", and "q<p>" for each quantile p. Points with
    no history get NaN. Cost is O(n/hop * window).
    """
    n = x.shape[0]
    return {k: expand(v, hop, n) for k, v in hopping_window_blocks(x, window, hop, quantiles, mad).items()}
