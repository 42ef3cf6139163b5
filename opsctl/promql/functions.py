"""PromQL functions (Prometheus 2.42 list), vectorised over series and steps."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import promql_parser as pp

from opsctl.gosem import regexp as gosem_regexp
from opsctl.promql import ast, extended
from opsctl.promql.durexpr import QUERY_FUNCS
from opsctl.promql.durexpr import go_seconds as _go_seconds
from opsctl.promql.model import Labels, PromQLError
from opsctl.promql.values import Flat, Mat, Scalar, Str, Vec

if TYPE_CHECKING:
    from opsctl.promql.engine import _Evaluator

_MAX_GATHER = 4_000_000
_NATIVE = {
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
    "histogram_stddev",
    "histogram_stdvar",
    "histogram_avg",
}


def _err(msg: str) -> PromQLError:
    return PromQLError(msg)


def _unwrap(node: Any) -> Any:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def _finish(
    labels: list[Labels], vals: np.ndarray, mask: np.ndarray, keep_name: bool = False,
    hists: np.ndarray | None = None,
) -> Vec:
    from opsctl.promql.engine import drop_name, merge_rows

    if not keep_name:
        labels = drop_name(labels)
    return merge_rows(labels, vals, mask, hists)


def _relabelled(old: Labels, new: Labels, dst: str) -> Labels:
    """label_replace/label_join's result labels: a pending `__name__` removal (delayed name removal)
    carries over unless the function wrote `__name__` itself."""
    if old.pending_drop and dst != "__name__":
        return new.with_pending_drop()
    return new


# -- range-vector helpers -------------------------------------------------------------------------


def _prefix(flat: Flat, name: str, values: np.ndarray) -> np.ndarray:
    got = flat.cached(name)
    if got is not None:
        return got
    p = np.zeros(len(values) + 1, dtype=values.dtype)
    np.cumsum(values, out=p[1:])
    return flat.store(name, p)


def _window_sum(m: Mat) -> np.ndarray:
    return _reduce_windows(np.add, m.flat.vs, m.lo, m.hi)


def _window_sum_exact(m: Mat) -> np.ndarray:
    """Kahan sums like Prometheus; windows of small integers take the (identical) plain-sum fast path."""
    vs = m.flat.vs
    p = m.flat.cached("nonint")
    if p is None:
        with np.errstate(invalid="ignore"):
            bad = ~((vs == np.floor(vs)) & (np.abs(vs) < 2.0**40))
        p = _prefix(m.flat, "nonint", bad.astype(np.int64))
    hi = m.hi
    lo = m.lo
    has_bad = (p[hi] - p[lo]) > 0
    out = _reduce_windows(np.add, vs, np.where(has_bad, hi, lo), hi)
    if has_bad.any():
        sub = Mat(m.flat, m.labels, np.where(has_bad, lo, hi), hi, m.ends, m.range_ms)
        exact, _ = _gather(sub, _g_sum_kahan, 1)
        out = np.where(has_bad, exact, out)
    return out


def _pair_flags(flat: Flat, name: str) -> np.ndarray:
    """Exclusive prefix sums of per-pair events (the flag at j concerns samples j-1, j), computed
    lazily per stored series: p[k] for k in (start, end] of a series sums its flags before k."""
    key = "pairs_" + name
    got = flat.shared.get(key)
    if not isinstance(got, tuple):
        nbase = int(flat.shared.get("nbase", flat.n))  # type: ignore[call-overload]
        got = (np.empty(len(flat.vs) + 1), np.zeros(nbase, dtype=bool))
        flat.shared[key] = got
    p, done = got
    todo = flat.rows[~done[flat.rows]]
    if len(todo):
        base_starts = flat.shared["base_starts"]
        base_ends = flat.shared["base_ends"]
        for r in todo:
            st, en = int(base_starts[r]), int(base_ends[r])  # type: ignore[index]
            if en <= st:
                continue
            seg = flat.vs[st:en]
            flags = np.zeros(en - st)
            a, b = seg[:-1], seg[1:]
            with np.errstate(invalid="ignore"):
                if name == "changes":
                    flags[1:] = (a != b) & ~(np.isnan(a) & np.isnan(b))
                elif name == "resets":
                    flags[1:] = b < a
                else:  # corr: counter-reset corrections
                    flags[1:] = np.where(b < a, a, 0.0)
            np.cumsum(flags, out=p[st + 1 : en + 1])
        done[todo] = True
    return p


def _reduce_windows(fn: Any, vs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """fn.reduce(vs[lo:hi]) for each (non-empty) window, sequentially like Prometheus; O(window)."""
    out = np.full(lo.shape, np.nan)
    pos = hi > lo
    if not pos.any():
        return out
    lo_p, hi_p = lo[pos], hi[pos]
    last = len(vs) - 1
    at_end = hi_p > last
    hi_c = np.minimum(hi_p, last)
    res = np.empty(len(lo_p))
    block = 1_000_000
    for s in range(0, len(lo_p), block):
        idx = np.empty(2 * len(lo_p[s : s + block]), dtype=np.int64)
        idx[0::2], idx[1::2] = lo_p[s : s + block], hi_c[s : s + block]
        res[s : s + block] = fn.reduceat(vs, idx)[0::2]
    fix = at_end & (lo_p < last)
    if fix.any():
        res[fix] = fn(res[fix], vs[last])
    out[pos] = res
    return out


def _window_minmax(m: Mat, kind: str) -> np.ndarray:
    """fmax/fmin over each window (NaN only if all values are NaN), like Prometheus."""
    return _reduce_windows(np.fmax if kind == "max" else np.fmin, m.flat.vs, m.lo, m.hi)


def _gather(
    m: Mat,
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]], np.ndarray],
    min_count: int,
    extra: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply fn(V (P,W), TS (P,W), valid (P,W), cnt (P,), extra) to windows, in blocks."""
    cnt = (m.hi - m.lo).ravel()
    lo = m.lo.ravel()
    shape = m.lo.shape
    out = np.full(cnt.shape, np.nan)
    ok = cnt >= min_count
    todo = np.flatnonzero(ok)
    if len(todo) == 0 or len(m.flat.vs) == 0:
        return out.reshape(shape), ok.reshape(shape)
    ex = {k: np.broadcast_to(v, shape).ravel() for k, v in (extra or {}).items()}
    wmax = int(cnt[todo].max())
    block = max(1, _MAX_GATHER // wmax)
    last = len(m.flat.vs) - 1
    for s in range(0, len(todo), block):
        el = todo[s : s + block]
        c = cnt[el]
        w = int(c.max())
        ar = np.arange(w)
        idx = np.minimum(lo[el][:, None] + ar[None, :], last)
        valid = ar[None, :] < c[:, None]
        with np.errstate(all="ignore"):
            out[el] = fn(m.flat.vs[idx], m.flat.ts[idx], valid, c, {k: v[el] for k, v in ex.items()})
    return out.reshape(shape), ok.reshape(shape)


def _kahan_inc(inc: np.ndarray, total: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' kahanSumInc (Neumaier variant), element-wise."""
    t = total + inc
    c = c + np.where(np.abs(total) >= np.abs(inc), (total - t) + inc, (inc - t) + total)
    return t, c


def _g_sum_kahan(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    total = np.zeros(len(c))
    comp = np.zeros(len(c))
    for i in range(v.shape[1]):
        act = valid[:, i]
        nt, nc = _kahan_inc(np.where(act, v[:, i], 0.0), total, comp)
        total = np.where(act, nt, total)
        comp = np.where(act, nc, comp)
    return np.where(np.isinf(total), total, total + comp)


def _g_avg_kahan(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    mean = np.zeros(len(c))
    comp = np.zeros(len(c))
    count = np.zeros(len(c))
    for i in range(v.shape[1]):
        act = valid[:, i]
        x = v[:, i]
        count = np.where(act, count + 1, count)
        skip = np.isinf(mean) & (
            (np.isinf(x) & ((mean > 0) == (x > 0))) | (~np.isinf(x) & ~np.isnan(x))
        )
        upd = act & ~skip
        nm, nc = _kahan_inc(x / count - mean / count, mean, comp)
        mean = np.where(upd, nm, mean)
        comp = np.where(upd, nc, comp)
    return np.where(np.isinf(mean), mean, mean + comp)


def _g_avg_kahan3(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    """Prometheus 3's avg_over_time: a Kahan sum divided by the count, switching to an incremental
    mean only when the sum overflows."""
    from opsctl.promql.aggregate import _kahan_inc as kahan3

    n = len(c)
    total, comp, mean = np.zeros(n), np.zeros(n), np.zeros(n)
    incr = np.zeros(n, dtype=bool)
    for i in range(v.shape[1]):
        act = valid[:, i]
        x = v[:, i]
        count = float(i + 1)
        ns, nk = kahan3(x, total, comp)
        plain = act & ~incr & ~np.isinf(ns)
        switch = act & ~incr & np.isinf(ns)
        m_sw = np.where(switch, total / (count - 1) if count > 1 else total, mean)
        k_sw = np.where(switch, comp / (count - 1) if count > 1 else comp, comp)
        skip = np.isinf(m_sw) & ((np.isinf(x) & ((m_sw > 0) == (x > 0))) | (~np.isinf(x) & ~np.isnan(x)))
        nm, nkm = kahan3(x / count - (m_sw + k_sw) / count, m_sw, k_sw)
        go = act & (switch | incr) & ~skip
        total = np.where(plain, ns, total)
        comp = np.where(plain, nk, np.where(go, nkm, np.where(act, k_sw, comp)))
        mean = np.where(go, nm, np.where(act, m_sw, mean))
        incr = incr | switch
    return np.where(incr, mean + comp, (total + comp) / c)


def _g_integral(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    """Prometheus 3.16's integral (funcIntegral, #14440): the Kahan sum over consecutive sample pairs of
    value * (t - t_prev), value by ex["strategy"]: 0 the previous sample's, 1 the current one's, 2 their
    mean (itself a Kahan pair, halved); NaN samples count as 0. One sample: 0."""
    from opsctl.promql.aggregate import _kahan_inc as kinc

    n = len(c)
    strat = ex["strategy"]
    left, right = strat == 0, strat == 1
    total, comp = np.zeros(n), np.zeros(n)
    prev_v, prev_t = np.zeros(n), np.zeros(n, dtype=np.int64)
    zero = np.zeros(n)
    for i in range(v.shape[1]):
        act = valid[:, i]
        x = v[:, i]
        cur = np.where(np.isnan(x), 0.0, x)
        prv = np.where(np.isnan(prev_v), 0.0, prev_v)
        if i > 0:
            t1, c1 = kinc(cur, prv, zero)
            over = np.isinf(t1) & ~np.isinf(cur) & ~np.isinf(prv)
            if over.any():
                t2, c2 = kinc(cur / 2, prv / 2, zero)
                tv, tc = np.where(over, t2, t1 / 2), np.where(over, c2, c1 / 2)
            else:
                tv, tc = t1 / 2, c1 / 2
            nz = (prv != 0) | (cur != 0)
            val = np.where(left, prv, np.where(right, cur, np.where(nz, tv, 0.0)))
            cval = np.where(left | right | ~nz, 0.0, tc)
            upd = act & ((val != 0) | (cval != 0))
            dt = (ts[:, i] - prev_t) / 1000
            ns, nc = kinc(val * dt, total, comp + cval * dt)
            total = np.where(upd, ns, total)
            comp = np.where(upd, nc, comp)
        prev_v = np.where(act, x, prev_v)
        prev_t = np.where(act, ts[:, i], prev_t)
    return np.where(np.isinf(total), total, total + comp)


def _g_stdvar(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    # Welford with Kahan-compensated mean and aux, exactly as Prometheus 2.42.
    n = len(c)
    count = np.zeros(n)
    mean, cmean = np.zeros(n), np.zeros(n)
    aux, caux = np.zeros(n), np.zeros(n)
    for i in range(v.shape[1]):
        act = valid[:, i]
        x = v[:, i]
        cnt = count + 1
        delta = x - (mean + cmean)
        nm, ncm = _kahan_inc(delta / cnt, mean, cmean)
        na, nca = _kahan_inc(delta * (x - (nm + ncm)), aux, caux)
        count = np.where(act, cnt, count)
        mean, cmean = np.where(act, nm, mean), np.where(act, ncm, cmean)
        aux, caux = np.where(act, na, aux), np.where(act, nca, caux)
    return (aux + caux) / count


def _g_stdvar_fast(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    mean = np.where(valid, v, 0.0).sum(axis=1) / c
    return np.where(valid, (v - mean[:, None]) ** 2, 0.0).sum(axis=1) / c


def _g_quantile(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray],
    exact_rank: bool = False,
) -> np.ndarray:
    """quantile_over_time; exact_rank: see aggregate._quantile_cols (Prometheus >= 3.16)."""
    from opsctl.promql.aggregate import _quantile_cols

    if np.isnan(np.where(valid, v, 0.0)).any():
        return _quantile_cols(ex["q"], v.T, valid.T, exact_rank)
    # No NaNs: a plain sort with padding at the end gives Prometheus' order.
    srt = np.sort(np.where(valid, v, np.inf), axis=1)
    q = ex["q"]
    n = c.astype(np.float64)
    rank = q * (n - 1)
    fl = np.floor(rank)
    lower = np.clip(np.nan_to_num(fl, nan=0.0), 0, None).astype(np.int64)
    lower = np.minimum(lower, c - 1)
    upper = np.minimum(c - 1, lower + 1)
    weight = rank - fl
    rows = np.arange(len(c))
    res = srt[rows, lower] * (1 - weight) + srt[rows, upper] * weight
    if exact_rank:
        res = np.where(weight == 0, srt[rows, lower], res)
    res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
    return np.where(np.isnan(q), np.nan, res)


def _g_mad(v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray],
           nan: bool = False, exact_rank: bool = False) -> np.ndarray:
    """mad_over_time: the median of the absolute deviations from the median (Prometheus 3).

    nan (Engine.mad_nan, Prometheus >= 3.14): a window holding a NaN sample gives NaN."""
    half = {"q": np.full(len(c), 0.5)}
    med = _g_quantile(v, ts, valid, c, half, exact_rank)
    res = _g_quantile(np.abs(v - med[:, None]), ts, valid, c, half, exact_rank)
    if nan:
        res = np.where(np.isnan(np.where(valid, v, 0.0)).any(axis=1), np.nan, res)
    return res


def _g_ts_of_extreme(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    """ts_of_min/max_over_time: the time of the first sample holding the window's min (max) value,
    NaN samples only when all are NaN (Prometheus's compareOverTime)."""
    real = valid & ~np.isnan(v)
    top = bool(ex["max"][0]) if len(c) else False
    with np.errstate(invalid="ignore"):
        best = np.where(real, v, -np.inf if top else np.inf)
        ext = best.max(axis=1) if top else best.min(axis=1)
    hit = real & (v == ext[:, None])
    first = np.where(hit.any(axis=1), np.argmax(hit, axis=1), 0)
    return ts[np.arange(len(c)), first] / 1000.0


def _natsort_chunks(s: str) -> list[str]:
    return re.findall(r"[0-9]+|[^0-9]+", s)  # Go's \d is ASCII


def natsort_less(a: str, b: str) -> bool:
    """github.com/facette/natsort Compare(a, b): digit runs compare as integers."""
    ca, cb = _natsort_chunks(a), _natsort_chunks(b)
    for i, x in enumerate(ca):
        if i >= len(cb):
            return False
        y = cb[i]
        if x.isdigit() and y.isdigit() and x.isascii() and y.isascii():
            xi, yi = int(x), int(y)
            if xi == yi:
                if i == len(ca) - 1:
                    return True
                if i == len(cb) - 1:
                    return False
                continue
            return xi < yi
        if x == y:
            if i == len(ca) - 1:
                return True
            if i == len(cb) - 1:
                return False
            continue
        return x.encode() < y.encode()
    return False


def _sort_by_label(rows: list[int], labels: list[Labels], keys: list[str], desc: bool) -> list[int]:
    """sort_by_label(_desc): natural order of the given labels' values, then the whole label set."""
    import functools

    def cmp(i: int, j: int) -> int:
        a, b = (labels[j], labels[i]) if desc else (labels[i], labels[j])
        for k in keys:
            x, y = a.get(k, ""), b.get(k, "")
            if x == y:
                continue
            return -1 if natsort_less(x, y) else 1
        ta = [(n.encode(), v.encode()) for n, v in a.items_tuple]
        tb = [(n.encode(), v.encode()) for n, v in b.items_tuple]
        return -1 if ta < tb else (1 if ta > tb else 0)

    return sorted(rows, key=functools.cmp_to_key(cmp))


def _linreg(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, tref: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus 2.42 linearRegression (Kahan-compensated sums), vectorised over windows."""
    n = c.astype(float)
    z = np.zeros(len(c))
    sx, cx, sy, cy, sxy, cxy, sx2, cx2 = z, z, z, z, z, z, z, z
    for i in range(v.shape[1]):
        act = valid[:, i]
        x = (ts[:, i] - tref) / 1e3
        y = v[:, i]
        a1, b1 = _kahan_inc(x, sx, cx)
        a2, b2 = _kahan_inc(y, sy, cy)
        a3, b3 = _kahan_inc(x * y, sxy, cxy)
        a4, b4 = _kahan_inc(x * x, sx2, cx2)
        sx, cx = np.where(act, a1, sx), np.where(act, b1, cx)
        sy, cy = np.where(act, a2, sy), np.where(act, b2, cy)
        sxy, cxy = np.where(act, a3, sxy), np.where(act, b3, cxy)
        sx2, cx2 = np.where(act, a4, sx2), np.where(act, b4, cx2)
    sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
    cov = sxy - sx * sy / n
    varx = sx2 - sx * sx / n
    slope = cov / varx
    intercept = sy / n - slope * sx / n
    first = v[:, :1]
    const = np.all(np.where(valid, v == first, True), axis=1)
    init = v[:, 0]
    slope = np.where(const, np.where(np.isinf(init), np.nan, 0.0), slope)
    intercept = np.where(const, np.where(np.isinf(init), np.nan, init), intercept)
    return slope, intercept


_EXACT_WINDOW = 64
_BLOCK = 4096


def _linreg_blocked(m: Mat, tref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares over windows in O(1) each, via prefix sums inside blocks of 4096 samples per
    series (coordinates relative to each block's first sample keep the sums small and precise).

    Returns (slope, intercept at tref (T,), ok). Used for windows too long for the exact (Kahan,
    sample-by-sample) path; agrees with it to ~1e-12 relative.
    """
    flat = m.flat
    shape = m.lo.shape
    cnt = m.hi - m.lo
    ok = cnt >= 2
    lens = (flat.ends - flat.starts).astype(np.int64)
    nblk = (lens + _BLOCK - 1) // _BLOCK
    blkbase = np.zeros(len(lens) + 1, dtype=np.int64)
    blkbase[1:] = np.cumsum(nblk)
    total_blocks = int(blkbase[-1])
    slope = np.full(shape, np.nan)
    icpt = np.full(shape, np.nan)
    if total_blocks == 0 or not ok.any():
        return slope, icpt, ok
    # Padded (blocks, K) arrays of t and y.
    gidx = np.full((total_blocks, _BLOCK), -1, dtype=np.int64)
    for r in range(len(lens)):
        ln = int(lens[r])
        if ln == 0:
            continue
        b0 = int(blkbase[r])
        nb = int(nblk[r])
        flat_idx = np.arange(int(flat.starts[r]), int(flat.ends[r]), dtype=np.int64)
        pad = np.full(nb * _BLOCK, -1, dtype=np.int64)
        pad[:ln] = flat_idx
        gidx[b0 : b0 + nb] = pad.reshape(nb, _BLOCK)
    valid = gidx >= 0
    gi = np.maximum(gidx, 0)
    t = flat.ts[gi]
    y = flat.vs[gi]
    # NaN/Inf samples would poison the prefix sums for the rest of their block: they are left out of
    # the sums and counted, and windows holding one take the exact path below.
    finite = np.isfinite(y)
    nonfin = valid & ~finite
    p_bad = np.cumsum(nonfin, axis=1, dtype=np.int64) if nonfin.any() else None
    ot = t[:, 0]
    # Frame origin: the block's first finite value (0 when it has none).
    first_fin = np.argmax(finite, axis=1)
    oy = np.where(finite.any(axis=1), y[np.arange(len(y)), first_fin], 0.0)
    with np.errstate(all="ignore"):
        x = np.where(valid, (t - ot[:, None]) / 1e3, 0.0)
        yc = np.where(valid & finite, y - oy[:, None], 0.0)
        one = valid.astype(np.float64)
        p_n = np.cumsum(one, axis=1)
        p_x = np.cumsum(x, axis=1)
        p_y = np.cumsum(yc, axis=1)
        p_xy = np.cumsum(x * yc, axis=1)
        p_xx = np.cumsum(x * x, axis=1)
        chg = np.zeros_like(one)
        chg[:, 1:] = (y[:, 1:] != y[:, :-1]) & valid[:, 1:]
        p_c = np.cumsum(chg, axis=1)
        del t, x, yc, chg
        rows = np.repeat(np.arange(shape[0]), shape[1]).reshape(shape)
        sel = ok & (cnt <= _BLOCK)
        if p_bad is not None:
            sel &= ~_window_has_nonfinite(m, p_bad, blkbase)
        r_ = rows[sel]
        lo_local = m.lo[sel] - flat.starts[r_]
        last_local = m.hi[sel] - 1 - flat.starts[r_]
        ba = blkbase[r_] + lo_local // _BLOCK
        pa = lo_local % _BLOCK
        bb = blkbase[r_] + last_local // _BLOCK
        pb = last_local % _BLOCK
        same = ba == bb
        end_a = np.where(same, pb, _BLOCK - 1)

        def part(p: np.ndarray, vals_first: np.ndarray) -> np.ndarray:
            return p[ba, end_a] - (p[ba, pa] - vals_first)

        xa_first = (flat.ts[m.lo[sel]] - ot[ba]) / 1e3
        ya_first = flat.vs[m.lo[sel]] - oy[ba]
        n_a = part(p_n, np.ones(len(ba)))
        sx_a = part(p_x, xa_first)
        sy_a = part(p_y, ya_first)
        sxy_a = part(p_xy, xa_first * ya_first)
        sxx_a = part(p_xx, xa_first * xa_first)
        ch_a = p_c[ba, end_a] - p_c[ba, pa]
        # Second block (frame B), zero when the window sits in one block.
        nb_ = np.where(same, 0.0, p_n[bb, pb])
        sx_b = np.where(same, 0.0, p_x[bb, pb])
        sy_b = np.where(same, 0.0, p_y[bb, pb])
        sxy_b = np.where(same, 0.0, p_xy[bb, pb])
        sxx_b = np.where(same, 0.0, p_xx[bb, pb])
        # A change between the last sample of block A and the first of block B counts too.
        first_b = np.where(same, 0, m.hi[sel] - 1 - pb)
        ch_b = np.where(same, 0.0, p_c[bb, pb] + (flat.vs[first_b] != flat.vs[np.maximum(first_b - 1, 0)]))
        # Move block A's sums into frame B.
        d = np.where(same, 0.0, (ot[ba] - ot[bb]) / 1e3)
        e = np.where(same, 0.0, oy[ba] - oy[bb])
        sx = sx_a + n_a * d + sx_b
        sy = sy_a + n_a * e + sy_b
        sxy = sxy_a + e * sx_a + d * sy_a + n_a * d * e + sxy_b
        sxx = sxx_a + 2 * d * sx_a + n_a * d * d + sxx_b
        n = n_a + nb_
        cov = sxy - sx * sy / n
        varx = sxx - sx * sx / n
        sl = cov / varx
        frame_t = np.where(same, ot[ba], ot[bb])
        frame_y = np.where(same, oy[ba], oy[bb])
        tr = np.broadcast_to(tref[None, :], shape)[sel]
        ic = (sy / n + frame_y) + sl * ((tr - frame_t) / 1e3 - sx / n)
        const = (ch_a + ch_b) == 0
        init = flat.vs[m.lo[sel]]
        sl = np.where(const, np.where(np.isinf(init), np.nan, 0.0), sl)
        ic = np.where(const, np.where(np.isinf(init), np.nan, init), ic)
    slope[sel] = sl
    icpt[sel] = ic
    long = ok & ~sel
    if long.any():
        sub = Mat(flat, m.labels, np.where(long, m.lo, m.hi), m.hi, m.ends, m.range_ms)
        s2, _ = _gather(sub, _g_deriv, 2)
        slope = np.where(long, s2, slope)
        i2, _ = _gather(sub, _g_intercept, 2, {"t": tref[None, :].astype(float)})
        icpt = np.where(long, i2, icpt)
    return slope, icpt, ok


def _window_has_nonfinite(m: Mat, p_bad: np.ndarray, blkbase: np.ndarray) -> np.ndarray:
    """Per window (N, T): does it hold a NaN or Inf sample? p_bad: inclusive prefix counts per block."""
    flat = m.flat
    out = np.zeros(m.lo.shape, dtype=bool)
    rows = np.repeat(np.arange(m.lo.shape[0]), m.lo.shape[1]).reshape(m.lo.shape)
    has = m.hi > m.lo
    r_ = rows[has]
    lo_local = m.lo[has] - flat.starts[r_]
    last_local = m.hi[has] - 1 - flat.starts[r_]
    flat_bad = p_bad.ravel()
    upto = _series_bad_prefix(flat_bad, blkbase, r_, last_local)
    out[has] = upto - _series_bad_prefix(flat_bad, blkbase, r_, lo_local - 1) > 0
    return out


def _series_bad_prefix(flat_bad: np.ndarray, blkbase: np.ndarray, r_: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Non-finite samples of series r_ at local indexes <= local (-1: none), from per-block prefix counts."""
    b = blkbase[r_] + np.maximum(local, 0) // _BLOCK
    pos = np.maximum(local, 0) % _BLOCK
    within = flat_bad[b * _BLOCK + pos]
    # Totals of the earlier blocks of the same series.
    totals = flat_bad.reshape(-1, _BLOCK)[:, -1]
    cum = np.zeros(len(totals) + 1, dtype=np.int64)
    np.cumsum(totals, out=cum[1:])
    earlier = cum[b] - cum[blkbase[r_]]
    return np.where(local < 0, 0, within + earlier)


def _g_intercept(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    _, intercept = _linreg(v, ts, valid, c, ex["t"].astype(np.int64))
    return intercept


def _g_deriv(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    slope, _ = _linreg(v, ts, valid, c, ts[:, 0])
    return slope


def _g_predict(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    slope, intercept = _linreg(v, ts, valid, c, ex["t"].astype(np.int64))
    return slope * ex["d"] + intercept


def _g_holt(
    v: np.ndarray, ts: np.ndarray, valid: np.ndarray, c: np.ndarray, ex: dict[str, np.ndarray]
) -> np.ndarray:
    sf, tf = ex["sf"], ex["tf"]
    s0 = np.zeros(len(c))
    s1 = v[:, 0].copy()
    b = v[:, 1] - v[:, 0]
    for i in range(1, v.shape[1]):
        act = i < c
        x = sf * v[:, i]
        if i > 1:
            nb = tf * (s1 - s0) + (1 - tf) * b
            b = np.where(act, nb, b)
        y = (1 - sf) * (s1 + b)
        s0 = np.where(act, s1, s0)
        s1 = np.where(act, x + y, s1)
    return s1


def _extrapolated(m: Mat, is_counter: bool, is_rate: bool, v3: bool = False) -> tuple[np.ndarray, np.ndarray]:
    cnt = m.hi - m.lo
    ok = cnt >= 2
    if len(m.flat.vs) == 0:
        return np.full(cnt.shape, np.nan), ok
    last_i = np.maximum(m.hi - 1, 0)
    first_i = np.minimum(m.lo, len(m.flat.vs) - 1)
    vs, ts = m.flat.vs, m.flat.ts
    v0, v1 = vs[first_i], vs[last_i]
    t0, t1 = ts[first_i], ts[last_i]
    with np.errstate(all="ignore"):
        result = v1 - v0
        if is_counter:
            corr = _pair_flags(m.flat, "corr")
            # Only series with at least one counter reset need the correction lookups.
            nonempty = m.flat.ends > m.flat.starts
            has = np.zeros(m.n, dtype=bool)
            has[nonempty] = corr[m.flat.ends[nonempty]] != 0
            rows = np.flatnonzero(has)
            if len(rows) == m.n:
                result = result + (corr[last_i + 1] - corr[first_i + 1])
            elif len(rows):
                result[rows] = result[rows] + (corr[last_i[rows] + 1] - corr[first_i[rows] + 1])
        range_end = m.ends[None, :]
        range_start = range_end - m.range_ms
        d_start = (t0 - range_start) / 1000.0
        d_end = (range_end - t1) / 1000.0
        sampled = (t1 - t0) / 1000.0
        avg = sampled / (cnt - 1)
        thr = avg * 1.1
        if v3:
            # Prometheus 3: the counter's zero point also caps the half-interval extrapolation.
            d_start = np.where(d_start < thr, d_start, avg / 2)
        if is_counter:
            dz = sampled * (v0 / result)
            use = (result > 0) & (v0 >= 0) & (dz < d_start)
            d_start = np.where(use, dz, d_start)
        ext = sampled + np.where((d_start < thr) | v3, d_start, avg / 2) + np.where(d_end < thr, d_end, avg / 2)
        factor = ext / sampled
        if is_rate:
            factor = factor / (m.range_ms / 1000.0)
        return result * factor, ok


def _instant_rate(m: Mat, is_rate: bool) -> tuple[np.ndarray, np.ndarray]:
    cnt = m.hi - m.lo
    ok = cnt >= 2
    if len(m.flat.vs) == 0:
        return np.full(cnt.shape, np.nan), ok
    li = np.maximum(m.hi - 1, 0)
    pi = np.maximum(m.hi - 2, 0)
    vs, ts = m.flat.vs, m.flat.ts
    lv, pv = vs[li], vs[pi]
    with np.errstate(all="ignore"):
        if is_rate:
            res = np.where(lv < pv, lv, lv - pv)
        else:
            res = lv - pv
        interval = (ts[li] - ts[pi]) / 1000.0
        ok = ok & (interval != 0)
        if is_rate:
            res = res / interval
    return res, ok


def _absent_labels(node: Any, skip_metadata: bool = False) -> Labels:
    """The labels of absent()/absent_over_time()'s result. skip_metadata (Engine.type_unit_transparent,
    Prometheus >= 3.16): matchers on `__type__` and `__unit__` give no label."""
    node = _unwrap(node)
    if isinstance(node, pp.MatrixSelector):
        node = node.vector_selector
    if not isinstance(node, pp.VectorSelector):
        return Labels()
    groups = ast.matchers_of(node)
    if len(groups) != 1:
        return Labels()
    d: dict[str, str] = {}
    seen: set[str] = set()
    for op, name, value in groups[0]:
        if name == "__name__" or (skip_metadata and name in ("__type__", "__unit__")):
            continue
        if op == "=" and name not in seen:
            d[name] = value
        else:
            d.pop(name, None)
        seen.add(name)
    return Labels(d)


# -- element-wise functions -----------------------------------------------------------------------


def _date_parts(v: np.ndarray, part: str) -> np.ndarray:
    out = np.full(v.shape, np.nan)
    fin = np.isfinite(v) & (np.abs(v) < 1e15)
    secs = np.trunc(v[fin]).astype(np.int64)
    d = secs.astype("datetime64[s]")
    day = d.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]")
    if part == "year":
        r = year.astype(np.int64) + 1970
    elif part == "month":
        r = month.astype(np.int64) % 12 + 1
    elif part == "day_of_month":
        r = (day - month.astype("datetime64[D]")).astype(np.int64) + 1
    elif part == "day_of_year":
        r = (day - year.astype("datetime64[D]")).astype(np.int64) + 1
    elif part == "day_of_week":
        r = (day.astype(np.int64) + 4) % 7
    elif part == "hour":
        r = (d - day.astype("datetime64[s]")).astype(np.int64) // 3600
    elif part == "minute":
        r = (d - day.astype("datetime64[s]")).astype(np.int64) % 3600 // 60
    elif part == "days_in_month":
        r = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
    else:
        raise _err(f"unknown date part {part}")
    out[fin] = r
    if not fin.all():
        # NaN, Inf and huge values: Go's int64(v) and time.Unix(...).UTC() (see _go_date).
        k = _DATE_PARTS.index(part)
        rest = np.flatnonzero(~fin.ravel())
        flat_out = out.reshape(-1)
        flat_v = v.reshape(-1)
        for i in rest:
            flat_out[i] = _go_date(float(flat_v[i]))[k]
    return out


_DATE_PARTS = ("year", "month", "day_of_month", "day_of_year", "day_of_week", "hour", "minute", "days_in_month")
_ABSOLUTE_ZERO_YEAR = -292277022399
# Go's time package: seconds from its absolute zero (Jan 1 of _ABSOLUTE_ZERO_YEAR) to the Unix epoch.
_UNIX_TO_ABSOLUTE = 62135596800 - (_ABSOLUTE_ZERO_YEAR - 1) * 3652425 * 86400 // 10000


def _go_date(v: float) -> tuple[int, ...]:
    """The date parts Prometheus 2.42 computes for v, as time.Unix(int64(v), 0).UTC() does on amd64:
    NaN, Inf and values outside int64 convert to the smallest int64, and Go's absolute-time
    arithmetic wraps around in 64 bits (year(NaN) = 292277026596)."""
    if math.isfinite(v) and -(2.0**63) <= v < 2.0**63:
        sec = int(v)
    else:
        sec = -(2**63)
    # uint64(sec + (unixToInternal + internalToAbsolute)) with int64 wrap-around.
    absolute = (sec + _UNIX_TO_ABSOLUTE) % 2**64
    days, secs = divmod(absolute, 86400)
    cycles, rem = divmod(days, 146097)  # 400-year cycles; the absolute zero year is 1 modulo 400
    d = date.fromordinal(rem + 1)
    year = _ABSOLUTE_ZERO_YEAR + 400 * cycles + d.year - 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    dim = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[d.month - 1]
    return (year, d.month, d.day, d.timetuple().tm_yday, (d.weekday() + 1) % 7, secs // 3600, secs % 3600 // 60,
            dim)


_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_INV_LN10 = float("0.43429448190325182765112891891660508229439700580366656611445378316586464920887")
_INV_LN2 = float("1.44269504088896340735992468100189213742664595415298593413544940693110921918118507989")
_SQRT2_2 = float("0.70710678118654752440084436210484903928483593768847403658833986899536623923105")


def go_log(x: np.ndarray) -> np.ndarray:
    """Go's math.Log (FreeBSD algorithm), element-wise and bit-exact, as Prometheus computes ln()."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        f1, ki = np.frexp(x)
        small = f1 < _SQRT2_2
        f1 = np.where(small, f1 * 2, f1)
        k = (ki - small).astype(np.float64)
        f = f1 - 1
        s = f / (2 + f)
        s2 = s * s
        s4 = s2 * s2
        l1, l2, l3, l4, l5, l6, l7 = _LG
        t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)))
        t2 = s4 * (l2 + s4 * (l4 + s4 * l6))
        r = t1 + t2
        hfsq = 0.5 * f * f
        out = k * _LN2HI - ((hfsq - (s * (hfsq + r) + k * _LN2LO)) - f)
    out = np.where(np.isnan(x) | (x == np.inf), x, out)
    out = np.where(x < 0, np.nan, out)
    return np.where(x == 0, -np.inf, out)


def go_log10(x: np.ndarray) -> np.ndarray:
    return go_log(x) * _INV_LN10


def go_log2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    frac, exp = np.frexp(x)
    with np.errstate(all="ignore"):
        out = go_log(frac) * _INV_LN2 + exp
    out = np.where(frac == 0.5, (exp - 1).astype(np.float64), out)
    return np.where(np.isfinite(x) & (x > 0), out, go_log(x))


_SIMPLE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": go_log,
    "log2": go_log2,
    "log10": go_log10,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "deg": lambda v: v * 180 / math.pi,
    "rad": lambda v: v * math.pi / 180,
    "sgn": np.sign,
}

_DATE = {"day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"}


def _bucket_bound(s: str | None) -> float | None:
    if s is None or "_" in s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def openmetrics_float(f: float) -> str:
    """Prometheus's labels.FormatOpenMetricsFloat: strconv.FormatFloat(f, 'g', -1, 64), with ".0" appended
    when that has neither "." nor "e" (1 -> "1.0", 0.25 -> "0.25", 1e-05 -> "1e-05", 1e+06 -> "1e+06")."""
    if f == 1:
        return "1.0"
    if f == 0:
        return "0.0"
    if f == -1:
        return "-1.0"
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    from decimal import Decimal

    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    exp = len(ds) + exponent - 1
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:  # Go's %g with the shortest digits decides with precision 6
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        text = "0." + "0" * (-exp - 1) + ds
    elif len(ds) <= exp + 1:
        text = ds + "0" * (exp + 1 - len(ds))
    else:
        text = ds[: exp + 1] + "." + ds[exp + 1 :]
    text = neg + text
    return text if "." in text else text + ".0"


def _histogram_quantiles(ev: _Evaluator, args: list[Any], times: np.ndarray) -> Vec:
    """histogram_quantiles(v, "label", q1, q2, ...) (Prometheus 3.11+, #17285): histogram_quantile for
    each q, its result series labelled `label`="q" (FormatOpenMetricsFloat, set over any such label: the
    same label set twice at a step is an error)."""
    from opsctl.promql.engine import merge_rows

    vec = ev.eval_vec_h(args[0], times)
    label = ev.eval_str(args[1], times)
    qs = [ev.eval_scalar(a, times) for a in args[2:]]
    out_l: list[Labels] = []
    out_v: list[np.ndarray] = []
    out_m: list[np.ndarray] = []
    for q in qs:
        res = _histogram_quantile(ev, q, vec)
        if res.n == 0:
            continue
        # q is one number per step; a q that changes over the steps labels each step with its value
        texts = [openmetrics_float(float(x)) for x in q] if len(q) > 1 and not (q == q[0]).all() else None
        for text in (sorted(set(texts)) if texts is not None else [openmetrics_float(float(q[0]))]):
            steps = np.array([x == text for x in texts]) if texts is not None else None
            for i, lab in enumerate(res.labels):
                new = lab.set(label, text)
                out_l.append(new.with_pending_drop() if lab.pending_drop else new)
                out_v.append(res.vals[i])
                out_m.append(res.mask[i] & steps if steps is not None else res.mask[i])
    t = len(times)
    if not out_l:
        return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
    return merge_rows(out_l, np.vstack(out_v), np.vstack(out_m))


def _histogram_quantile(ev: _Evaluator, q: np.ndarray, vec: Vec) -> Vec:
    if vec.hists is None:
        return _histogram_quantile_classic(ev, q, vec)
    from opsctl.promql import histogram as nh
    from opsctl.promql.values import is_hist

    classic = _histogram_quantile_classic(ev, q, vec.floats(), keep_group_names=True)
    ishist = is_hist(vec.hists) & vec.mask
    vals = np.full(vec.vals.shape, np.nan)
    for i, j in zip(*np.nonzero(ishist), strict=True):
        vals[i, j] = nh.histogram_quantile(float(q[j]), vec.hists[i, j], ev.engine.hist_quantile_nan_bucket)
    mask = ishist.copy()
    # A native histogram and classic buckets with the same labels at a step: neither is evaluated.
    cidx = {lab: k for k, lab in enumerate(classic.labels)}
    cmask = classic.mask.copy()
    for i, lab in enumerate(vec.labels):
        k = cidx.get(lab)
        if k is not None:
            clash = mask[i] & cmask[k]
            mask[i] &= ~clash
            cmask[k] &= ~clash
    labels = list(vec.labels) + [lab for lab in classic.labels]
    return _finish(labels, np.vstack([vals, classic.vals]) if labels else vals,
                   np.vstack([mask, cmask]) if labels else mask)


def _native_hist_func(ev: _Evaluator, name: str, args: list[Any], times: np.ndarray) -> Vec:
    """histogram_count/sum/avg/stddev/stdvar/fraction: native-histogram samples only (floats are
    left out, as in Prometheus); the metric name is dropped."""
    from opsctl.promql import histogram as nh
    from opsctl.promql.values import is_hist

    t = len(times)
    if name == "histogram_fraction":
        lower = ev.eval_scalar(args[0], times)
        upper = ev.eval_scalar(args[1], times)
        vec = ev.eval_vec_h(args[2], times)
    else:
        vec = ev.eval_vec_h(args[0], times)
    if name == "histogram_fraction":
        classic = _classic_fraction(lower, upper, vec.floats(), ev.engine.hist_fraction_inf_bucket)
        if vec.hists is None:
            return _finish(classic.labels, classic.vals, classic.mask)
    if vec.hists is None:
        return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
    ishist = is_hist(vec.hists) & vec.mask
    vals = np.full(vec.vals.shape, np.nan)
    for i, j in zip(*np.nonzero(ishist), strict=True):
        h = vec.hists[i, j]
        with np.errstate(all="ignore"):
            if name == "histogram_count":
                v = h.count
            elif name == "histogram_sum":
                v = h.sum
            elif name == "histogram_avg":
                v = float(np.float64(h.sum) / np.float64(h.count))
            elif name == "histogram_stddev":
                v = nh.histogram_stddev(h)
            elif name == "histogram_stdvar":
                v = nh.histogram_stdvar(h)
            else:
                v = nh.histogram_fraction(float(lower[j]), float(upper[j]), h, ev.engine.hist_fraction_inf_bucket,
                                          ev.engine.nhcb_fraction_zero)
        vals[i, j] = v
    if name == "histogram_fraction" and classic.n:
        return _without_clashes(vec.labels, vals, ishist, classic)
    return _finish(vec.labels, vals, ishist)


def _without_clashes(labels: list[Labels], vals: np.ndarray, mask: np.ndarray, classic: Vec) -> Vec:
    """Native results plus classic-bucket results (whose labels still hold the metric name): where a
    native histogram and classic buckets share their labels at a step, neither is evaluated."""
    mask = mask.copy()
    cidx = {lab: k for k, lab in enumerate(classic.labels)}
    cmask = classic.mask.copy()
    for i, lab in enumerate(labels):
        k = cidx.get(lab)
        if k is not None:
            clash = mask[i] & cmask[k]
            mask[i] &= ~clash
            cmask[k] &= ~clash
    all_labels = list(labels) + list(classic.labels)
    return _finish(all_labels, np.vstack([vals, classic.vals]), np.vstack([mask, cmask]))


def _classic_fraction(lower: np.ndarray, upper: np.ndarray, vec: Vec, inf_bucket: bool = True) -> Vec:
    """histogram_fraction over classic buckets (Prometheus's BucketFraction), per `le` group and step;
    the group labels keep the metric name (the caller drops it). inf_bucket: see _bucket_fraction."""
    t = len(lower)
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, lab in enumerate(vec.labels):
        ub = _bucket_bound(lab.get("le"))
        if ub is None or math.isnan(ub):
            continue
        groups.setdefault(lab.without(("le",)), []).append((ub, i))
    out_l: list[Labels] = []
    out_v: list[np.ndarray] = []
    out_m: list[np.ndarray] = []
    for glab, items in groups.items():
        res = np.full(t, np.nan)
        present = np.zeros(t, dtype=bool)
        for j in range(t):
            buckets = sorted((ub, float(vec.vals[r, j])) for ub, r in items if vec.mask[r, j])
            if not buckets:
                continue
            present[j] = True
            res[j] = _bucket_fraction(float(lower[j]), float(upper[j]), buckets, inf_bucket)
        out_l.append(glab)
        out_v.append(res)
        out_m.append(present)
    if not out_l:
        return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
    return Vec(out_l, np.vstack(out_v), np.vstack(out_m))


def _bucket_fraction(lower: float, upper: float, buckets: list[tuple[float, float]], inf_bucket: bool = True) -> float:
    """BucketFraction. inf_bucket (Engine.hist_fraction_inf_bucket, Prometheus >= 3.8, #17424): the first
    bucket starts at 0 when its upper bound is positive (else at -Inf), and a bound inside a bucket starting
    at -Inf takes the bucket's whole count; before, the first bucket started at -Inf and such a bound gave
    NaN (Inf/Inf)."""
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    co: list[list[float]] = []
    for ub, c in buckets:
        if co and co[-1][0] == ub:
            co[-1][1] += c
        else:
            co.append([ub, c])
    count = co[-1][1]
    if count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    lower_bound = -math.inf if co[0][0] <= 0 or not inf_bucket else 0.0
    for i, (upper_bound, bcount) in enumerate(co):
        if i > 0:
            lower_bound = co[i - 1][0]

        def interp(v: float, lb: float = lower_bound, ubd: float = upper_bound, bc: float = bcount,
                   rk: float = rank) -> float:
            if lb == -math.inf and inf_bucket:
                return bc
            with np.errstate(all="ignore"):
                return float(rk + (bc - rk) * np.float64(v - lb) / np.float64(ubd - lb))

        if not lower_set and lower_bound >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and lower_bound >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lower_bound < lower < upper_bound:
            lower_rank, lower_set = interp(lower), True
        if not upper_set and lower_bound < upper < upper_bound:
            upper_rank, upper_set = interp(upper), True
        if lower_set and upper_set:
            break
        rank = bcount
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / count


def _histogram_quantile_classic(ev: _Evaluator, q: np.ndarray, vec: Vec, keep_group_names: bool = False) -> Vec:
    from opsctl.promql.engine import drop_name

    t = len(q)
    groups: dict[Labels, list[tuple[float, int]]] = {}
    # Prometheus >= 3.16 (Engine.hist_nan_le_ignored): a bucket of `le="NaN"` is left out like a malformed one.
    skip_nan = ev.engine.hist_nan_le_ignored
    for i, lab in enumerate(vec.labels):
        ub = _bucket_bound(lab.get("le"))
        if ub is None or (skip_nan and ub != ub):
            continue
        groups.setdefault(lab.without(("le",)), []).append((ub, i))
    out_l: list[Labels] = []
    out_v: list[np.ndarray] = []
    out_m: list[np.ndarray] = []
    for glab, items in groups.items():
        items.sort(key=lambda x: x[0])
        bounds = np.array([b for b, _ in items])
        rows = np.array([r for _, r in items])
        m = vec.mask[rows]
        v = vec.vals[rows]
        res = np.full(t, np.nan)
        present = m.any(axis=0)
        patterns: dict[bytes, list[int]] = {}
        for col in np.flatnonzero(present):
            patterns.setdefault(m[:, col].tobytes(), []).append(int(col))
        for _pat, cols_l in patterns.items():
            cols = np.array(cols_l)
            use = m[:, cols[0]]
            b = bounds[use]
            c = v[use][:, cols]
            # Coalesce buckets with the same upper bound.
            bounds_u, inv = np.unique(b, return_inverse=True)
            cc = np.zeros((len(bounds_u), len(cols)))
            np.add.at(cc, inv, c)
            res[cols] = _bucket_quantile(q[cols], bounds_u, cc)
        out_l.append(glab if keep_group_names else drop_name([glab])[0])
        out_v.append(res)
        out_m.append(present)
    if not out_l:
        return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
    if keep_group_names:
        return Vec(out_l, np.vstack(out_v), np.vstack(out_m))
    return _finish(out_l, np.vstack(out_v), np.vstack(out_m))


def _bucket_quantile(q: np.ndarray, ub: np.ndarray, counts: np.ndarray) -> np.ndarray:
    n = len(ub)
    res = np.full(len(q), np.nan)
    if ub[-1] != np.inf or n < 2:
        res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
        return np.where(np.isnan(q), np.nan, res)
    mx = np.fmax.accumulate(counts, axis=0)
    counts = np.where(np.isnan(counts), counts, mx)
    obs = counts[-1]
    with np.errstate(all="ignore"):
        rank = q * obs
        ge = counts[:-1] >= rank[None, :]
        anyge = ge.any(axis=0)
        bidx = np.where(anyge, np.argmax(ge, axis=0), n - 1)
        cols = np.arange(len(q))
        end = ub[bidx]
        cnt = counts[bidx, cols]
        start = np.where(bidx > 0, ub[np.maximum(bidx - 1, 0)], 0.0)
        prev = np.where(bidx > 0, counts[np.maximum(bidx - 1, 0), cols], 0.0)
        val = start + (end - start) * ((rank - prev) / (cnt - prev))
        val = np.where(bidx == n - 1, ub[n - 2], val)
        val = np.where((bidx == 0) & (ub[0] <= 0), ub[0], val)
        val = np.where(obs == 0, np.nan, val)
    val = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, val))
    return np.where(np.isnan(q), np.nan, val)


# -- dispatch -------------------------------------------------------------------------------------


_RANGE_FUNCS = {
    "integral",
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "deriv",
    "predict_linear",
    "holt_winters",
    "double_exponential_smoothing",
    "changes",
    "resets",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "quantile_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "present_over_time",
    "absent_over_time",
    "mad_over_time",
    "first_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_last_over_time",
    "ts_of_first_over_time",
}


def _go_min_max(a: np.ndarray, b: np.ndarray, is_max: bool) -> np.ndarray:
    """math.Max / math.Min element-wise: NaN if either is NaN, max(+0, -0) = +0, min(+0, -0) = -0."""
    with np.errstate(all="ignore"):
        r = np.maximum(a, b) if is_max else np.minimum(a, b)  # NaN-propagating
        z = (a == 0) & (b == 0)
        if z.any():
            sa, sb = np.signbit(a), np.signbit(b)
            neg = (sa & sb) if is_max else (sa | sb)
            r = np.where(z, np.where(neg, -0.0, 0.0), r)
    return r


def call(ev: _Evaluator, node: Any, times: np.ndarray) -> Any:
    if ev.engine.extended_range and extended.is_extended_call(node):
        return extended.call(ev, node, times)
    name = node.func.name
    args = list(node.args)
    t = len(times)
    if name in _NATIVE:
        return _native_hist_func(ev, name, args, times)
    if name in _RANGE_FUNCS:
        return _range_call(ev, name, args, times)
    if name == "time":
        return Scalar(times / 1000.0)
    if name in QUERY_FUNCS:  # Prometheus 3.12+ (#17877): constants of the query (foldQueryContextFunctions)
        if name == "start":
            v = ev.start_ms / 1000.0
        elif name == "end":
            v = ev.end_ms / 1000.0
        elif name == "range":
            v = _go_seconds(ev.end_ms - ev.start_ms)
        else:
            v = _go_seconds(ev.query_step_ms)
        return Scalar(np.full(t, v))
    if name in ("min_of", "max_of"):  # Prometheus 3.13+ (#18687): Go's math.Min / math.Max
        return Scalar(_go_min_max(ev.eval_scalar(args[0], times), ev.eval_scalar(args[1], times), name == "max_of"))
    if name == "pi":
        return Scalar(np.full(t, math.pi))
    if name == "vector":
        s = ev.eval_scalar(args[0], times)
        return Vec([Labels()], s[None, :].copy(), np.ones((1, t), dtype=bool))
    if name == "scalar":
        vec = ev.eval_vec(args[0], times)
        if vec.n == 0:
            return Scalar(np.full(t, np.nan))
        cnt = vec.mask.sum(axis=0)
        val = np.where(vec.mask, vec.vals, 0.0).sum(axis=0)
        return Scalar(np.where(cnt == 1, val, np.nan))
    if name in _DATE:
        if args:
            vec = ev.eval_vec(args[0], times)
            return _finish(vec.labels, _date_parts(vec.vals, name), vec.mask)
        return Vec([Labels()], _date_parts(times[None, :] / 1000.0, name), np.ones((1, t), dtype=bool))
    if name == "timestamp":
        arg = _unwrap(args[0])
        vec = ev.eval_vec_h(arg, times)
        if isinstance(arg, pp.VectorSelector) and vec.sample_ts is not None:
            vals = vec.sample_ts / 1000.0
        else:
            vals = np.broadcast_to(times / 1000.0, vec.vals.shape).copy()
        return _finish(vec.labels, vals, vec.mask)
    if name == "start_timestamp":  # Prometheus 3.14+ (#19089), with start timestamps kept
        arg = _unwrap(args[0])
        vec = ev.eval_vec_h(arg, times)
        if (ev.engine.storage.start_timestamps is None or not isinstance(arg, pp.VectorSelector)
                or vec.sample_ts is None or vec.n == 0):
            # not kept, or not a selector's samples (`start_timestamp(x * 1)`): nothing, as Prometheus
            return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
        sts = np.vstack([ev.engine.storage.start_timestamps_at(lab, vec.sample_ts[i])
                         for i, lab in enumerate(vec.labels)])
        return _finish(vec.labels, sts / 1000.0, vec.mask)
    if name == "absent":
        vec = ev.eval_vec_h(args[0], times)
        present = np.asarray(vec.mask.any(axis=0)) if vec.n else np.zeros(t, dtype=bool)
        return Vec([_absent_labels(args[0], ev.engine.type_unit_transparent)], np.ones((1, t)), ~present[None, :])
    if name in _SIMPLE:
        vec = ev.eval_vec(args[0], times)
        with np.errstate(all="ignore"):
            if name in ("rad", "deg") and ev.engine.rad_deg_factor:
                # Prometheus >= 3.16: v * (Pi/180), v * (180/Pi) (one rounded factor, no overflow of v * 180)
                vals = vec.vals * (math.pi / 180 if name == "rad" else 180 / math.pi)
            else:
                vals = _SIMPLE[name](vec.vals)
        return _finish(vec.labels, vals, vec.mask)
    if name == "round":
        vec = ev.eval_vec(args[0], times)
        near = ev.eval_scalar(args[1], times) if len(args) > 1 else np.ones(t)
        with np.errstate(all="ignore"):
            inv = 1.0 / near
            vals = np.floor(vec.vals * inv[None, :] + 0.5) / inv[None, :]
        return _finish(vec.labels, vals, vec.mask)
    if name in ("clamp", "clamp_min", "clamp_max"):
        vec = ev.eval_vec(args[0], times)
        mask = vec.mask
        with np.errstate(all="ignore"):
            if name == "clamp":
                lo = ev.eval_scalar(args[1], times)
                hi = ev.eval_scalar(args[2], times)
                vals = np.maximum(lo[None, :], np.minimum(hi[None, :], vec.vals))
                mask = mask & ~(hi < lo)[None, :]
            elif name == "clamp_min":
                vals = np.maximum(vec.vals, ev.eval_scalar(args[1], times)[None, :])
            else:
                vals = np.minimum(vec.vals, ev.eval_scalar(args[1], times)[None, :])
        return _finish(vec.labels, vals, mask)
    if name in ("sort", "sort_desc"):
        vec = ev.eval_vec(args[0], times)
        if t == 1:
            rows = [i for i in range(vec.n) if vec.mask[i, 0]]
            desc = name == "sort_desc"
            rows.sort(key=lambda i: (bool(np.isnan(vec.vals[i, 0])), -vec.vals[i, 0] if desc else vec.vals[i, 0]))
            ev.pending_order = rows
        return vec
    if name in ("sort_by_label", "sort_by_label_desc"):
        vec = ev.eval_vec_h(args[0], times)
        if t == 1:
            keys = [ev.eval_str(a, times) for a in args[1:]]
            rows = [i for i in range(vec.n) if vec.mask[i, 0]]
            ev.pending_order = _sort_by_label(rows, vec.labels, keys, name == "sort_by_label_desc")
        return vec
    if name == "histogram_quantile":
        q = ev.eval_scalar(args[0], times)
        vec = ev.eval_vec_h(args[1], times)
        return _histogram_quantile(ev, q, vec)
    if name == "histogram_quantiles":
        return _histogram_quantiles(ev, args, times)
    if name == "label_replace":
        vec = ev.eval_vec_h(args[0], times)
        dst, repl, src, regex = (ev.eval_str(a, times) for a in args[1:5])
        try:
            rx = gosem_regexp.compile("^(?:" + regex + ")$")
        except gosem_regexp.RegexpError:
            raise _err(f"invalid regular expression in label_replace(): {regex}") from None
        from opsctl.promql.engine import check_label_name

        if not check_label_name(dst, ev.engine.v3, ev.invalid_strings):
            raise _err(f"invalid destination label name in label_replace(): {dst}")
        new = []
        for lab in vec.labels:
            mm = rx.search(lab.get(src, ""))
            if mm is None:
                new.append(lab)
                continue
            res = gosem_regexp.expand(repl, mm)
            d = dict(lab.items_tuple)
            d.pop(dst, None)
            if res:
                d[dst] = res
            new.append(_relabelled(lab, Labels(d), dst))
        return _finish(new, vec.vals, vec.mask, keep_name=True, hists=vec.hists)
    if name == "label_join":
        vec = ev.eval_vec_h(args[0], times)
        strs = [ev.eval_str(a, times) for a in args[1:]]
        dst, sep, srcs = strs[0], strs[1], strs[2:]
        from opsctl.promql.engine import check_label_name

        for src in srcs:
            if not check_label_name(src, ev.engine.v3, ev.invalid_strings):
                raise _err(f"invalid source label name in label_join(): {src}")
        if not check_label_name(dst, ev.engine.v3, ev.invalid_strings):
            raise _err(f"invalid destination label name in label_join(): {dst}")
        new = []
        for lab in vec.labels:
            val = sep.join(lab.get(src, "") for src in srcs)
            d = dict(lab.items_tuple)
            if val:
                d[dst] = val
            else:
                d.pop(dst, None)
            new.append(_relabelled(lab, Labels(d), dst))
        return _finish(new, vec.vals, vec.mask, keep_name=True, hists=vec.hists)
    raise _err(f"function {name}() is not supported")


def _range_call(ev: _Evaluator, name: str, args: list[Any], times: np.ndarray) -> Vec:
    t = len(times)
    extra: dict[str, np.ndarray] = {}
    if name == "quantile_over_time":
        extra["q"] = ev.eval_scalar(args[0], times)[None, :]
        marg = args[1]
    else:
        marg = args[0]
    m = ev.eval(_unwrap(marg), times)
    if not isinstance(m, Mat):
        raise _err(f"expected type range vector in call to function {name}()")
    if name == "absent_over_time":
        any_present = ((m.hi - m.lo) > 0).any(axis=0) if m.n else np.zeros(t, dtype=bool)
        return Vec([_absent_labels(marg, ev.engine.type_unit_transparent)], np.ones((1, t)),
                   ~any_present[None, :])
    keep_name = name in ("last_over_time", "first_over_time")
    if m.flat.hs is not None:
        from opsctl.promql.histfuncs import range_call_hist

        vals, ok, hists = range_call_hist(ev, name, args, times, m, marg, extra, _compute_range)
        return _finish(m.labels, vals, ok, keep_name=keep_name, hists=hists)
    key = _cache_key(ev, name, _unwrap(marg), times)
    if key is None or m.n == 0:
        vals, ok = _compute_range(ev, name, args, times, m, marg, extra)
    else:
        vals, ok = _cached_range(ev, name, args, times, m, marg, extra, key)
    return _finish(m.labels, vals, ok, keep_name=keep_name)


def _compute_range(
    ev: _Evaluator,
    name: str,
    args: list[Any],
    times: np.ndarray,
    m: Mat,
    marg: Any,
    extra: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    cnt = m.hi - m.lo
    exact = ev.engine.exact
    t = len(times)
    with np.errstate(all="ignore"):
        if name in ("rate", "increase", "delta"):
            vals, ok = _extrapolated(m, name != "delta", name == "rate", ev.engine.v3)
        elif name in ("irate", "idelta"):
            vals, ok = _instant_rate(m, name == "irate")
        elif name == "count_over_time":
            vals, ok = cnt.astype(float), cnt > 0
        elif name == "present_over_time":
            vals, ok = np.ones(cnt.shape), cnt > 0
        elif name == "last_over_time":
            idx = np.maximum(m.hi - 1, 0)
            vals = m.flat.vs[idx] if len(m.flat.vs) else np.full(cnt.shape, np.nan)
            ok = cnt > 0
        elif name == "first_over_time":
            idx = np.minimum(m.lo, max(len(m.flat.vs) - 1, 0))
            vals = m.flat.vs[idx] if len(m.flat.vs) else np.full(cnt.shape, np.nan)
            ok = cnt > 0
        elif name in ("ts_of_last_over_time", "ts_of_first_over_time"):
            last = max(len(m.flat.ts) - 1, 0)
            idx = np.maximum(m.hi - 1, 0) if name == "ts_of_last_over_time" else np.minimum(m.lo, last)
            vals = m.flat.ts[idx] / 1000.0 if len(m.flat.ts) else np.full(cnt.shape, np.nan)
            ok = cnt > 0
        elif name in ("ts_of_min_over_time", "ts_of_max_over_time"):
            vals, ok = _gather(m, _g_ts_of_extreme, 1, {"max": np.full(cnt.shape, name == "ts_of_max_over_time")})
        elif name == "mad_over_time":
            vals, ok = _gather(m, functools.partial(_g_mad, nan=ev.engine.mad_nan,
                                                    exact_rank=ev.engine.quantile_exact_rank), 1)
        elif name == "integral":
            strategy = np.full(t, 2.0)
            if len(args) > 1:
                sa = ev.eval_scalar(args[1], times)
                # an invalid strategy (not 0, 1 or 2) is Prometheus's warning, and the default (2)
                good = np.isfinite(sa) & (np.trunc(sa) == sa) & (sa >= 0) & (sa <= 2)
                strategy = np.where(good, sa, 2.0)
            vals, ok = _gather(m, _g_integral, 1, {"strategy": strategy[None, :]})
        elif name == "sum_over_time":
            vals, ok = (_window_sum_exact(m) if exact else _window_sum(m)), cnt > 0
        elif name == "avg_over_time" and ev.engine.v3:
            vals, ok = _gather(m, _g_avg_kahan3, 1)
        elif name == "avg_over_time":
            if exact:
                vals, ok = _gather(m, _g_avg_kahan, 1)
            else:
                vals, ok = _window_sum(m) / cnt, cnt > 0
                over = ok & np.isinf(vals)
                if over.any():
                    sub = Mat(m.flat, m.labels, np.where(over, m.lo, m.hi), m.hi, m.ends, m.range_ms)
                    alt, _ = _gather(sub, _g_avg_kahan, 1)
                    vals = np.where(over, alt, vals)
        elif name in ("min_over_time", "max_over_time"):
            vals, ok = _window_minmax(m, name[:3]), cnt > 0
        elif name in ("changes", "resets"):
            p = _pair_flags(m.flat, name)
            vals = p[np.maximum(m.hi, 1)] - p[np.minimum(m.lo + 1, np.maximum(m.hi, 1))]
            ok = cnt > 0
        elif name in ("stddev_over_time", "stdvar_over_time"):
            vals, ok = _gather(m, _g_stdvar if exact else _g_stdvar_fast, 1)
            if name == "stddev_over_time":
                vals = np.sqrt(vals)
        elif name == "quantile_over_time":
            gq = functools.partial(_g_quantile, exact_rank=True) if ev.engine.quantile_exact_rank else _g_quantile
            vals, ok = _gather(m, gq, 1, extra)
        elif name == "deriv":
            if exact and int((m.hi - m.lo).max(initial=0)) <= _EXACT_WINDOW:
                vals, ok = _gather(m, _g_deriv, 2)
            else:
                vals, _, ok = _linreg_blocked(m, times)
        elif name == "predict_linear":
            d = ev.eval_scalar(args[1], times)
            tref = times
            inner = _unwrap(marg)
            node_at = inner.vector_selector if isinstance(inner, pp.MatrixSelector) else inner
            if getattr(node_at, "at", None) is not None:
                tref = np.full(t, ev.start_ms, dtype=np.int64)
            if exact and int((m.hi - m.lo).max(initial=0)) <= _EXACT_WINDOW:
                vals, ok = _gather(m, _g_predict, 2, {"d": d[None, :], "t": tref[None, :].astype(float)})
            else:
                sl, ic, ok = _linreg_blocked(m, tref)
                vals = sl * d[None, :] + ic
        elif name in ("holt_winters", "double_exponential_smoothing"):
            sf = ev.eval_scalar(args[1], times)
            tf = ev.eval_scalar(args[2], times)
            bad_sf = (sf <= 0) | (sf >= 1) | np.isnan(sf)
            if bad_sf.any():
                raise _err(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf[bad_sf][0]:f}")
            bad_tf = (tf <= 0) | (tf >= 1) | np.isnan(tf)
            if bad_tf.any():
                raise _err(f"invalid trend factor. Expected: 0 < tf < 1, got: {tf[bad_tf][0]:f}")
            vals, ok = _gather(m, _g_holt, 2, {"sf": sf[None, :], "tf": tf[None, :]})
        else:
            raise _err(f"function {name}() is not supported")
    return vals, ok


# Functions whose per-series result depends only on the series' samples, the window and the step
# times: their results are cached per stored series, so rules selecting overlapping series with the
# same function and window (common in rule sets, and in backtests of many rules) compute them once.
_CACHEABLE = _RANGE_FUNCS - {"integral", "quantile_over_time", "predict_linear", "holt_winters",
                             "double_exponential_smoothing", "absent_over_time"}
_CACHE_BUDGET = 3 * 1024**3


def _cache_key(ev: _Evaluator, name: str, inner: Any, times: np.ndarray) -> tuple[Any, ...] | None:
    if name not in _CACHEABLE or ev.grid is None or not isinstance(inner, pp.MatrixSelector):
        return None
    vs = inner.vector_selector
    if vs.at is not None or len(times) == 0:
        return None
    eng = ev.engine
    return ("fn", name, ast.td_ms(inner.range), ast.td_ms(vs.offset), int(times[0]), len(times),
            ev.grid[1], eng.exact, eng.v3, eng.lookback_ms)


def _cached_range(
    ev: _Evaluator,
    name: str,
    args: list[Any],
    times: np.ndarray,
    m: Mat,
    marg: Any,
    extra: dict[str, np.ndarray],
    key: tuple[Any, ...],
) -> tuple[np.ndarray, np.ndarray]:
    shared = m.flat.shared
    entry = shared.get(key)
    nbase = int(shared.get("nbase", 0))  # type: ignore[call-overload]
    t = len(times)
    if not isinstance(entry, tuple):
        # np.zeros maps fresh pages lazily: only rows actually computed take memory.
        entry = (np.zeros((nbase, t)), np.zeros((nbase, t), dtype=bool), np.zeros(nbase, dtype=bool))
        shared[key] = entry
    store_v, store_ok, done = entry
    rows = m.flat.rows
    pos = np.flatnonzero(~done[rows])
    if len(pos):
        ev.engine.fn_cache_charge(shared, key, len(pos) * t * 9, _CACHE_BUDGET)
        sub = Mat(m.flat.subset([int(i) for i in pos]), [m.labels[int(i)] for i in pos], m.lo[pos], m.hi[pos],
                  m.ends, m.range_ms)
        v, ok = _compute_range(ev, name, args, times, sub, marg, extra)
        store_v[rows[pos]] = v
        store_ok[rows[pos]] = ok
        done[rows[pos]] = True
    else:
        ev.engine.fn_cache_charge(shared, key, 0, _CACHE_BUDGET)
    return store_v[rows], store_ok[rows]


__all__ = ["Str", "call"]
