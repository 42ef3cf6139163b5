"""Range functions over series that hold native-histogram samples.

Only used when a range vector's samples include histograms (`Flat.hs` is set); float-only data never
comes here. Windows without a histogram sample are evaluated by the vectorised float code on the
float samples; windows with one are evaluated sample by sample, following Prometheus's
promql/functions.go (`extrapolatedRate`, `histogramRate`, `instantValue`, `funcChanges`,
`funcResets`, `*_over_time`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from opsctl.promql.histogram import CUSTOM_BUCKETS_SCHEMA
from opsctl.promql.model import hist_mask
from opsctl.promql.values import Flat, Mat

if TYPE_CHECKING:
    from opsctl.promql.engine import _Evaluator
    from opsctl.promql.histogram import FloatHistogram

__all__ = ["range_call_hist", "strip_histograms"]

# Functions that count or pick samples whatever their type: evaluated on all samples.
_ANY_SAMPLE = {"count_over_time", "present_over_time", "ts_of_last_over_time", "ts_of_first_over_time"}
# Functions with a histogram meaning, evaluated sample by sample in windows holding a histogram.
_HIST_AWARE = {"rate", "increase", "delta", "irate", "idelta", "changes", "resets", "sum_over_time",
               "avg_over_time", "last_over_time", "first_over_time"}


def strip_histograms(m: Mat) -> Mat:
    """The range vector with its histogram samples left out (what float-only functions see)."""
    flat = m.flat
    keep = ~hist_mask(flat.vs)
    p = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=p[1:])
    starts, ends = p[flat.starts], p[flat.ends]
    n = flat.n
    shared: dict[object, object] = {"nbase": n, "base_starts": starts, "base_ends": ends}
    nflat = Flat(list(flat.labels), flat.ts[keep], flat.vs[keep], starts, ends, np.arange(n), shared)
    return Mat(nflat, m.labels, p[m.lo], p[m.hi], m.ends, m.range_ms)


def range_call_hist(
    ev: _Evaluator,
    name: str,
    args: list[Any],
    times: np.ndarray,
    m: Mat,
    marg: Any,
    extra: dict[str, np.ndarray],
    compute: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(values, presence, histograms) of range function `name` over `m`, whose samples include
    native histograms. `compute` is functions._compute_range (the float implementation)."""
    if name in _ANY_SAMPLE:
        vals, ok = compute(ev, name, args, times, m, marg, extra)
        return vals, ok, None
    ms = strip_histograms(m)
    if len(ms.flat.ts):
        vals, ok = compute(ev, name, args, times, ms, marg, extra)
    else:
        vals, ok = np.full(m.lo.shape, np.nan), np.zeros(m.lo.shape, dtype=bool)
    if name not in _HIST_AWARE:
        return vals, ok, None
    vals = np.array(vals, dtype=float)
    ok = np.array(ok, dtype=bool)
    flat = m.flat
    hs = flat.hs
    assert hs is not None
    ish = hist_mask(flat.vs)
    hp = np.zeros(len(ish) + 1, dtype=np.int64)
    np.cumsum(ish, out=hp[1:])
    hcnt = hp[m.hi] - hp[m.lo]
    hout = np.full(vals.shape, None, dtype=object)
    # Per sample: does it reset the counter against the sample before it (both histograms)? Computed
    # once per stored sample, not once per window holding the pair (windows overlap).
    rec = ev.engine.nhcb_reconcile
    # Cached with the storage's arrays, which engines of other versions may share: keyed by the one
    # version-dependent part of DetectReset (custom bounds that differ: Engine.nhcb_reconcile).
    flags_key = "hist_reset_flags_nhcb_reconcile" if rec else "hist_reset_flags"
    flags = flat.shared.get(flags_key)
    if not isinstance(flags, np.ndarray):
        flags = np.full(len(flat.ts), -1, dtype=np.int8)
        flat.shared[flags_key] = flags

    def resets(lo: int, hi: int) -> list[bool]:
        """resets(lo, hi)[i]: sample lo+i+1 resets against sample lo+i."""
        fill(lo, hi)
        return [bool(f) for f in flags[lo + 1 : hi]]

    def fill(lo: int, hi: int) -> None:
        for k in np.flatnonzero(flags[lo + 1 : hi] < 0) + lo + 1:
            flags[k] = 1 if (ish[k] and ish[k - 1] and hs[k].detect_reset(hs[k - 1], rec)) else 0

    rate_like = name in ("rate", "increase", "delta")
    if rate_like:
        schemas = np.fromiter((h.schema if h is not None else 0 for h in hs), dtype=np.int64, count=len(hs))
        custom = schemas == CUSTOM_BUCKETS_SCHEMA
    cnt = m.hi - m.lo
    for i, j in zip(*np.nonzero(hcnt > 0), strict=True):
        lo, hi = int(m.lo[i, j]), int(m.hi[i, j])
        if rate_like:
            # Only histograms in the window (else Prometheus gives nothing); O(resets) Python work.
            rres = None
            if hcnt[i, j] == cnt[i, j] and hi - lo >= 2:
                if name != "delta":
                    fill(lo, hi)
                end = int(m.ends[j])
                rres = _rate_window(flat.ts, hs, flags, schemas, custom, lo, hi, end - m.range_ms, end,
                                    m.range_ms, name != "delta", name == "rate", ev.engine.hist_rate_zero_cap,
                                    rec)
            if rres is None:
                ok[i, j] = False
            else:
                hout[i, j], vals[i, j], ok[i, j] = rres, np.nan, True
            continue
        # Functions of the window's last or first samples only look at those.
        if name == "last_over_time":
            lo = hi - 1
        elif name == "first_over_time":
            hi = lo + 1
        elif name in ("irate", "idelta"):
            lo = max(lo, hi - 2)
        samples = [(int(flat.ts[k]), hs[k] if ish[k] else float(flat.vs[k])) for k in range(lo, hi)]
        pair_resets = resets(lo, hi) if name in ("resets", "irate") else []
        res = _window(name, samples, pair_resets, ev.engine.hist_kahan, rec)
        if res is None:
            ok[i, j] = False
        elif isinstance(res, float):
            vals[i, j], ok[i, j] = res, True
        else:
            hout[i, j], vals[i, j], ok[i, j] = res, np.nan, True
    return vals, ok, hout


def _rate_window(ts: np.ndarray, hs: np.ndarray, flags: np.ndarray, schemas: np.ndarray, custom: np.ndarray,
                 lo: int, hi: int, range_start: int, range_end: int, range_ms: int, is_counter: bool,
                 is_rate: bool, zero_cap: bool = False, reconcile: bool = False) -> FloatHistogram | None:
    """extrapolatedRate + histogramRate over histogram samples lo..hi-1 (all histograms, >= 2), with
    the per-sample reset flags, schemas and custom-bucket flags precomputed. `reconcile`:
    Engine.nhcb_reconcile (custom bounds that change within the range)."""
    from opsctl.promql.histogram import CounterResetHint, FloatHistogram, HistogramError

    first, last = hs[lo], hs[hi - 1]
    prev = first
    using_custom = bool(custom[lo])
    replaced = False
    if is_counter and flags[lo + 1] == 1:
        second = hs[lo + 1]
        prev = FloatHistogram(schema=second.schema, custom_values=list(second.custom_values))
        using_custom = bool(custom[lo + 1])
        replaced = True
    if bool(custom[hi - 1]) != using_custom:
        return None
    min_schema = min(last.schema, prev.schema)
    if is_counter and hi - lo > 2:
        min_schema = min(min_schema, int(schemas[lo + 1 : hi - 1].min()))
        if bool((custom[lo + 1 : hi - 1] != using_custom).any()):
            return None
    try:
        h = last.copy_to_schema(min_schema).sub(prev, reconcile)
        if is_counter:
            for k in np.flatnonzero(flags[lo + 1 : hi] == 1) + lo + 1:
                if k == lo + 1 and replaced:
                    continue  # compared with the empty histogram: adding it changes nothing
                h = h.add(hs[k - 1], reconcile)
    except HistogramError:
        return None
    h.counter_reset_hint = CounterResetHint.GAUGE
    h = h.compact(0)
    n = hi - lo
    first_t, last_t = int(ts[lo]), int(ts[hi - 1])
    to_start = (first_t - range_start) / 1000.0
    to_end = (range_end - last_t) / 1000.0
    sampled = (last_t - first_t) / 1000.0
    avg = sampled / (n - 1)
    threshold = avg * 1.1
    if to_start >= threshold:
        to_start = avg / 2
    if zero_cap and is_counter and h.count > 0 and first.count >= 0:
        # Prometheus >= 3.6 (zero_cap): the zero point of the count caps the extrapolation to the start, and
        # the whole histogram is scaled as its count. Prometheus 3.5 caps floats only.
        to_zero = sampled * (first.count / h.count)
        if to_zero < to_start:
            to_start = to_zero
    if to_end >= threshold:
        to_end = avg / 2
    factor = (sampled + to_start + to_end) / sampled if sampled != 0 else 1.0
    if is_rate:
        factor /= range_ms / 1000.0
    return h.mul(factor)


def _is_h(v: Any) -> bool:
    return not isinstance(v, float)


def _window(name: str, samples: list[tuple[int, Any]], pair_resets: list[bool],
            kahan: bool = False, reconcile: bool = False) -> float | FloatHistogram | None:
    """One window's result; pair_resets[i]: histogram sample i+1 resets against sample i."""
    if not samples:
        return None
    if name == "last_over_time":
        return samples[-1][1]  # type: ignore[no-any-return,unused-ignore]
    if name == "first_over_time":
        return samples[0][1]  # type: ignore[no-any-return,unused-ignore]
    if name in ("changes", "resets"):
        return _changes_resets(name, [v for _, v in samples], pair_resets)
    if name in ("irate", "idelta"):
        return _instant_value(samples, name == "irate", pair_resets[-1] if pair_resets else False, reconcile)
    hists = [v for _, v in samples if _is_h(v)]
    if len(hists) != len(samples):
        return None  # floats and histograms mixed in the window: Prometheus warns and gives nothing
    from opsctl.promql.histogram import HistogramError

    try:
        if kahan:  # Prometheus >= 3.10: FloatHistogram.KahanAdd
            from opsctl.promql.histogram import kahan_mean, kahan_sum

            acc = (kahan_mean if name == "avg_over_time" else kahan_sum)(hists, reconcile)
        elif name == "avg_over_time":  # 3.5 to 3.9: an incremental mean
            from opsctl.promql.histogram import incremental_mean

            acc = incremental_mean(hists, reconcile)
        else:
            acc = hists[0].copy()
            for h in hists[1:]:
                acc = acc.add(h, reconcile)
    except HistogramError:
        return None
    return acc.compact(0)


def _changes_resets(name: str, vals: list[Any], pair_resets: list[bool]) -> float:
    n = 0
    prev = vals[0]
    for i, cur in enumerate(vals[1:]):
        ph, ch = _is_h(prev), _is_h(cur)
        if not ph and not ch:
            if name == "changes":
                if cur != prev and not (cur != cur and prev != prev):
                    n += 1
            elif cur < prev:
                n += 1
        elif ph != ch:
            n += 1
        elif name == "changes":
            if not cur.equals(prev):
                n += 1
        elif pair_resets[i]:
            n += 1
        prev = cur
    return float(n)


def _instant_value(samples: list[tuple[int, Any]], is_rate: bool, last_resets: bool,
                   reconcile: bool = False) -> float | FloatHistogram | None:
    if len(samples) < 2:
        return None
    from opsctl.promql.histogram import CounterResetHint, HistogramError

    (t0, v0), (t1, v1) = samples[-2], samples[-1]
    dt = t1 - t0
    if dt == 0:
        return None
    if not _is_h(v0) and not _is_h(v1):
        res = v1 if (is_rate and v1 < v0) else v1 - v0
        return res / (dt / 1000.0) if is_rate else res
    if _is_h(v0) != _is_h(v1):
        return None
    h = v1.copy()
    if not is_rate or not last_resets:
        try:
            h = h.sub(v0, reconcile)
        except HistogramError:
            return None
    h.counter_reset_hint = CounterResetHint.GAUGE
    h = h.compact(0)
    if is_rate:
        h = h.div(dt / 1000.0)
    return h
