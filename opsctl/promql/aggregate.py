"""Aggregation operators (sum, avg, min, max, count, group, stddev, stdvar, topk, bottomk, quantile,
count_values), vectorised over steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import promql_parser as pp

from opsctl.promql import gosort
from opsctl.promql.model import Labels, PromQLError
from opsctl.promql.values import Vec, hists_where

if TYPE_CHECKING:
    from opsctl.promql.engine import _Evaluator


def _empty(t: int) -> Vec:
    return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))


def _group_fn(mod: Any, extra: str | None = None, metadata: bool = False) -> Any:
    """The grouping labels of a series. metadata (Engine.type_unit_transparent, Prometheus >= 3.16):
    `without` drops `__type__` and `__unit__` as it drops `__name__`."""
    without = mod is not None and mod.type == pp.AggModifierType.Without
    names = list(mod.labels) if mod is not None else []
    if without:
        drop = {*names, "__name__", "__type__", "__unit__"} if metadata else {*names, "__name__"}
        return lambda lab: lab.without(drop)
    keep = set(names)
    if extra is not None:
        keep.add(extra)
    if "__name__" in keep:
        # `by (__name__)` keeps a name whose removal is pending (delayed name removal) pending.
        return lambda lab: lab.only(keep).with_pending_drop() if lab.pending_drop else lab.only(keep)
    return lambda lab: lab.only(keep)


def _groups(keys: list[Labels]) -> tuple[list[Labels], np.ndarray]:
    ids: dict[Labels, int] = {}
    gid = np.empty(len(keys), dtype=np.int64)
    for i, k in enumerate(keys):
        gid[i] = ids.setdefault(k, len(ids))
    return list(ids), gid


def _any_pending_drop(glabels: list[Labels], gid: np.ndarray, vec: Vec) -> list[Labels]:
    """Prometheus >= 3.9 (Engine.agg_any_drop_name, #17161): an aggregation group that keeps `__name__`
    (`by (__name__)`) drops it at the end when any of its series with a sample was to drop it; before, the
    group followed its first series."""
    pend = [i for i, lab in enumerate(vec.labels) if lab.pending_drop]
    if not pend:  # without delayed name removal, always
        return glabels
    out = list(glabels)
    for i in pend:
        g = int(gid[i])
        if not out[g].pending_drop and vec.mask[i].any():
            out[g] = out[g].with_pending_drop()
    return out


def _reduce(ufunc: Any, arr: np.ndarray, gid: np.ndarray, ngroups: int) -> np.ndarray:
    order = np.argsort(gid, kind="stable")
    sg = gid[order]
    starts = np.flatnonzero(np.r_[True, sg[1:] != sg[:-1]])
    out = ufunc.reduceat(arr[order], starts, axis=0)
    res = np.empty((ngroups, *arr.shape[1:]), dtype=out.dtype)
    res[sg[starts]] = out
    return res


def aggregate(ev: _Evaluator, node: Any, times: np.ndarray) -> Vec:
    op = str(node.op).lower()
    t = len(times)
    param: np.ndarray | None = None
    label: str | None = None
    if op in ("topk", "bottomk", "quantile", "limitk", "limit_ratio"):
        param = ev.eval_scalar(node.param, times)
        if op in ("topk", "bottomk", "limitk") and not ev.engine.agg_param_checks:
            _topk_k(param)  # checked at every step, as Prometheus does, samples or not
    elif op == "count_values":
        label = ev.eval_str(node.param, times)
        from opsctl.promql.engine import check_label_name

        if not check_label_name(label, ev.engine.v3, ev.invalid_strings):
            if ev.engine.v3:  # Go's %q, which writes invalid UTF-8 bytes as \xNN
                from opsctl.gosem import quote

                raise PromQLError(f"invalid label name {quote(ev.invalid_strings.get(label, label))}")
            raise PromQLError(f'invalid label name "{label}"')
    vec = ev.eval_vec_h(node.expr, times)
    ev.pending_order = None
    if param is not None and ev.engine.agg_param_checks and op != "quantile" and _param_checks(op, param):
        return _empty(t)
    if vec.n == 0:
        return _empty(t)
    mod = node.modifier
    if op == "count_values":
        assert label is not None
        if vec.hists is not None:
            return _count_values_h(vec, mod, label, t, ev.engine.type_unit_transparent)
        return _count_values(vec, mod, label, t, ev.engine.type_unit_transparent)
    if vec.hists is not None:
        if op in ("sum", "avg"):
            return _sum_avg_h(ev, node, vec, times, op)
        if op not in ("count", "group", "limitk", "limit_ratio"):
            # Prometheus ignores histogram samples here (with an info annotation).
            vec = vec.floats()
    gf = _group_fn(mod, metadata=ev.engine.type_unit_transparent)
    glabels, gid = _groups([gf(lab) for lab in vec.labels])
    if ev.engine.agg_any_drop_name:
        glabels = _any_pending_drop(glabels, gid, vec)
    ng = len(glabels)
    mask = vec.mask
    with np.errstate(all="ignore"):
        cnt = _reduce(np.add, mask.astype(np.int64), gid, ng)
        present = cnt > 0
        if op == "sum":
            filled = np.where(mask, vec.vals, 0.0)
            val = _reduce(np.add, filled, gid, ng)
            if ev.engine.v3 and ev.engine.exact and not _plain_sum_exact(filled):
                val = _kahan_running("sum", vec, gid, ng)
        elif op == "count":
            val = cnt.astype(float)
        elif op == "group":
            val = np.ones((ng, t))
        elif op == "max":
            val = _reduce(np.fmax, np.where(mask, vec.vals, np.nan), gid, ng)
        elif op == "min":
            val = _reduce(np.fmin, np.where(mask, vec.vals, np.nan), gid, ng)
        elif op == "avg" and ev.engine.v3:
            val = _kahan_running("avg", vec, gid, ng)
        elif op in ("avg", "stddev", "stdvar"):
            val = _running(op, vec, gid, ng, ev.engine.v3)
        elif op in ("topk", "bottomk"):
            assert param is not None
            return _topk(ev, vec, gid, ng, param, op == "topk")
        elif op == "limitk":
            assert param is not None
            return _limitk(ev, vec, gid, ng, param)
        elif op == "limit_ratio":
            assert param is not None
            return _limit_ratio(ev, vec, param)
        elif op == "quantile":
            assert param is not None
            val = np.full((ng, t), np.nan)
            for g in range(ng):
                rows = np.flatnonzero(gid == g)
                val[g] = _quantile_cols(param, vec.vals[rows], mask[rows], ev.engine.quantile_exact_rank)
        else:
            raise PromQLError(f"unsupported aggregation operator {op!r}")
    return Vec(glabels, val, present)


def _plain_sum_exact(filled: np.ndarray) -> bool:
    """True when every value is an integer and the absolute sum stays below 2^53: then plain and
    Kahan summation give the same bits, whatever the order."""
    with np.errstate(all="ignore"):
        if not np.isfinite(filled).all() or not (np.floor(filled) == filled).all():
            return False
        return bool(np.abs(filled).sum(axis=0).max(initial=0.0) < 2.0**53)


def _kahan_inc(inc: np.ndarray, total: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus 3's kahanSumInc (Neumaier; compensation reset when the sum overflows)."""
    t = total + inc
    c = np.where(np.isinf(t), 0.0, c + np.where(np.abs(total) >= np.abs(inc), (total - t) + inc, (inc - t) + total))
    return t, c


def _kahan_running(op: str, vec: Vec, gid: np.ndarray, ng: int) -> np.ndarray:
    """sum / avg as Prometheus 3 accumulates them: Kahan-compensated sums, series in input order; avg
    switches to an incremental mean only when the sum would overflow."""
    t = vec.vals.shape[1]
    count = np.zeros((ng, t))
    total = np.zeros((ng, t))
    comp = np.zeros((ng, t))
    mean = np.zeros((ng, t))
    incr = np.zeros((ng, t), dtype=bool)
    members = [np.flatnonzero(gid == g) for g in range(ng)]
    depth = max(len(m) for m in members)
    for r in range(depth):
        groups = np.array([g for g in range(ng) if len(members[g]) > r], dtype=np.int64)
        rows = np.array([members[g][r] for g in groups], dtype=np.int64)
        x = vec.vals[rows]
        act = vec.mask[rows]
        c0, s0, k0, m0, i0 = count[groups], total[groups], comp[groups], mean[groups], incr[groups]
        first = act & (c0 == 0)
        upd = act & (c0 > 0)
        c1 = np.where(act, c0 + 1, c0)
        ns, nk = _kahan_inc(x, s0, k0)
        if op == "sum":
            s1 = np.where(first, x, np.where(upd, ns, s0))
            k1 = np.where(first, 0.0, np.where(upd, nk, k0))
            m1, i1 = m0, i0
        else:
            plain = upd & ~i0 & ~np.isinf(ns)
            switch = upd & ~i0 & np.isinf(ns)
            # switching to the incremental mean: mean and compensation of the values so far
            m_sw = np.where(switch, s0 / c0, m0)
            k_sw = np.where(switch, k0 / c0, k0)
            inc_mode = switch | (upd & i0)
            skip = np.isinf(m_sw) & ((np.isinf(x) & ((m_sw > 0) == (x > 0))) | (~np.isinf(x) & ~np.isnan(x)))
            cur = m_sw + k_sw
            nm, nkm = _kahan_inc(x / c1 - cur / c1, m_sw, k_sw)
            go = inc_mode & ~skip
            m1 = np.where(go, nm, m_sw)
            k1 = np.where(go, nkm, np.where(plain, nk, k_sw))
            s1 = np.where(first, x, np.where(plain, ns, s0))
            k1 = np.where(first, 0.0, k1)
            m1 = np.where(first, x, m1)
            i1 = np.where(first, False, i0 | switch)
        count[groups], total[groups], comp[groups], mean[groups], incr[groups] = c1, s1, k1, m1, i1
    if op == "sum":
        return total + comp
    return np.where(incr, mean + comp, (total + comp) / count)


def _running(op: str, vec: Vec, gid: np.ndarray, ng: int, v3: bool = False) -> np.ndarray:
    """avg / stddev / stdvar exactly as Prometheus 2.42 accumulates them, series by series in input
    order (vectorised over groups and steps). v3: a group whose first sample is NaN or ±Inf has a NaN
    stddev/stdvar (Prometheus 3; 2.x gives 0 for a lone NaN)."""
    t = vec.vals.shape[1]
    count = np.zeros((ng, t))
    mean = np.zeros((ng, t))
    value = np.zeros((ng, t))
    members = [np.flatnonzero(gid == g) for g in range(ng)]
    depth = max(len(m) for m in members)
    for r in range(depth):
        groups = np.array([g for g in range(ng) if len(members[g]) > r], dtype=np.int64)
        rows = np.array([members[g][r] for g in groups], dtype=np.int64)
        x = vec.vals[rows]
        act = vec.mask[rows]
        c0 = count[groups]
        m0 = mean[groups]
        v0 = value[groups]
        first = act & (c0 == 0)
        upd = act & (c0 > 0)
        c1 = c0 + 1
        if op == "avg":
            skip = np.isinf(m0) & ((np.isinf(x) & ((m0 > 0) == (x > 0))) | (~np.isinf(x) & ~np.isnan(x)))
            nm = m0 + (x / c1 - m0 / c1)
            m1 = np.where(upd & ~skip, nm, m0)
            v1 = v0
        else:
            delta = x - m0
            nm = m0 + delta / c1
            m1 = np.where(upd, nm, m0)
            v1 = np.where(upd, v0 + delta * (x - nm), v0)
        m1 = np.where(first, x, m1)
        v1 = np.where(first, np.where(np.isfinite(x), 0.0, np.nan) if v3 and op != "avg" else 0.0, v1)
        count[groups] = np.where(act, c1, c0)
        mean[groups] = m1
        value[groups] = v1
    if op == "avg":
        return mean
    var = value / count
    return np.sqrt(var) if op == "stddev" else var


def _quantile_cols(q: np.ndarray, vals: np.ndarray, mask: np.ndarray, exact_rank: bool = False) -> np.ndarray:
    """Prometheus' quantile() over the present values of each column (NaNs sort first).

    exact_rank (Engine.quantile_exact_rank, Prometheus >= 3.16): a rank that falls on a sample gives that
    sample, not a zero-weight interpolation with its neighbour (which is NaN next to an infinity)."""
    isnan = np.isnan(vals)
    cat = np.where(mask, np.where(isnan, 0, 1), 2)
    clean = np.where(cat == 1, vals, 0.0)
    order = np.lexsort((clean, cat), axis=0)
    srt = np.take_along_axis(np.where(mask, vals, np.nan), order, axis=0)
    n = mask.sum(axis=0)
    with np.errstate(all="ignore"):
        rank = q * (n - 1)
        fl = np.floor(rank)
        lower = np.clip(np.nan_to_num(fl, nan=0.0), 0, None).astype(np.int64)
        upper = np.minimum(np.maximum(n - 1, 0), lower + 1)
        lower = np.minimum(lower, np.maximum(n - 1, 0))
        weight = rank - fl
        cols = np.arange(vals.shape[1])
        res = srt[lower, cols] * (1 - weight) + srt[upper, cols] * weight
        if exact_rank:
            res = np.where(weight == 0, srt[lower, cols], res)
        res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
        res = np.where(np.isnan(q), np.nan, res)
    return np.where(n > 0, res, np.nan)


def _param_checks(op: str, param: np.ndarray) -> bool:
    """Prometheus >= 3.6's checks of the parameter of topk/bottomk/limitk/limit_ratio over all steps at
    once (Engine.agg_param_checks, #16725), after the inner expression ran, samples or not.
    True: no step can keep a sample (every k < 1, every ratio 0), the result is empty."""
    from opsctl.promql.engine import go_float

    if len(param) == 0:
        return True
    has_nan = bool(np.isnan(param).any())
    mx = float("nan") if has_nan else float(param.max())  # Go's math.Max/Min propagate NaN
    mn = float("nan") if has_nan else float(param.min())
    if op == "limit_ratio":
        if mx == 0 and mn == 0:
            return True
        if has_nan:
            raise PromQLError("Ratio value is NaN")
        return False
    if mx < 1:
        return True
    if has_nan:
        raise PromQLError("Parameter value is NaN")
    if mn <= -9223372036854775808.0:
        raise PromQLError(f"Scalar value {go_float(mn)} underflows int64")
    if mx >= 9223372036854774784.0:
        raise PromQLError(f"Scalar value {go_float(mx)} overflows int64")
    return False


def _topk_k(param: np.ndarray) -> np.ndarray:
    """k per step as Prometheus 2.42 reads it: int64(param); a value no int64 holds is an error."""
    ok = (param <= 9223372036854774784.0) & (param >= -9223372036854775808.0)
    if not ok.all():
        from opsctl.promql.engine import go_float

        bad = float(param[np.flatnonzero(~ok)[0]])
        raise PromQLError(f"Scalar value {go_float(bad)} overflows int64")
    return np.trunc(param).astype(np.int64)


def _topk(ev: _Evaluator, vec: Vec, gid: np.ndarray, ng: int, param: np.ndarray, top: bool) -> Vec:
    """topk/bottomk with Prometheus' heap (container/heap over the group's samples in input order), so
    that the members kept among tied values, and their output order, are Prometheus' own."""
    t = vec.vals.shape[1]
    k = _topk_k(param)
    sel = np.zeros_like(vec.mask)
    order_rows: list[int] = []
    firsts: list[tuple[int, list[int]]] = []
    for g in range(ng):
        rows = np.flatnonzero(gid == g)
        v, m = vec.vals[rows], vec.mask[rows]
        heap, size = _heap_select(v, m, k, top, need_order=(t == 1))
        for c in range(t):
            sel[rows[heap[: size[c], c]], c] = True
        if t == 1 and size[0] > 0:
            members = [int(x) for x in heap[: size[0], 0]]
            vals0 = v[:, 0]

            def heap_less(i: int, j: int, members: list[int] = members, vals0: np.ndarray = vals0) -> bool:
                a, b = vals0[members[i]], vals0[members[j]]
                return bool(np.isnan(a) or (a < b if top else a > b))

            def swap(i: int, j: int, members: list[int] = members) -> None:
                members[i], members[j] = members[j], members[i]

            # sort.Sort(sort.Reverse(heap))
            gosort.sort(len(members), lambda i, j: heap_less(j, i), swap)
            first_present = int(np.flatnonzero(m[:, 0])[0])
            firsts.append((first_present, [int(rows[x]) for x in members]))
    if t == 1:
        # Groups come out in the order of their first sample in the input vector.
        for _, chosen in sorted(firsts, key=lambda f: f[0]):
            order_rows.extend(chosen)
        ev.pending_order = order_rows
    return Vec(list(vec.labels), vec.vals, sel)


def _limitk(ev: _Evaluator, vec: Vec, gid: np.ndarray, ng: int, param: np.ndarray) -> Vec:
    """limitk (Prometheus 3): per group and step, the first k samples in input order, unchanged."""
    k = _topk_k(param)
    sel = np.zeros_like(vec.mask)
    for g in range(ng):
        rows = np.flatnonzero(gid == g)
        m = vec.mask[rows]
        rank = np.cumsum(m, axis=0)  # 1-based position among the group's present samples
        sel[rows] = m & (rank <= k[None, :])
    if vec.vals.shape[1] == 1:
        # Groups in the order of their first sample, each group's samples in input order.
        firsts: dict[int, list[int]] = {}
        for r in np.flatnonzero(sel[:, 0]):
            firsts.setdefault(int(gid[r]), []).append(int(r))
        ev.pending_order = [r for rows_ in firsts.values() for r in rows_]
    return Vec(list(vec.labels), vec.vals, sel, hists=_keep_hists(vec, sel))


def _keep_hists(vec: Vec, sel: np.ndarray) -> np.ndarray | None:
    if vec.hists is None:
        return None
    return hists_where(sel, vec.hists)


def _sum_avg_h(ev: _Evaluator, node: Any, vec: Vec, times: np.ndarray, op: str) -> Vec:
    """sum/avg over a vector holding native histograms: floats aggregate as usual, histograms add up
    (avg: their mean, incremental as in 3.5; Engine.hist_kahan: with Prometheus >= 3.10's Kahan compensation); a
    group mixing floats and histograms at a step gives nothing (Prometheus warns), as does a group whose
    histograms cannot be added (custom vs exponential; custom buckets of different bounds unless
    Engine.nhcb_reconcile, Prometheus >= 3.8, which adds them on the bounds they have in common)."""
    from opsctl.promql.histogram import HistogramError, incremental_mean, kahan_mean, kahan_sum
    from opsctl.promql.values import is_hist

    t = len(times)
    kahan = ev.engine.hist_kahan
    rec = ev.engine.nhcb_reconcile
    fvec = vec.floats()
    hists = vec.hists
    assert hists is not None
    gf = _group_fn(node.modifier, metadata=ev.engine.type_unit_transparent)
    glabels, gid = _groups([gf(lab) for lab in vec.labels])
    if ev.engine.agg_any_drop_name:
        glabels = _any_pending_drop(glabels, gid, vec)
    ng = len(glabels)
    ishist = is_hist(hists) & vec.mask
    isfloat = fvec.mask
    with np.errstate(all="ignore"):
        fcnt = _reduce(np.add, isfloat.astype(np.int64), gid, ng)
        hcnt = _reduce(np.add, ishist.astype(np.int64), gid, ng)
        if op == "sum":
            filled = np.where(isfloat, fvec.vals, 0.0)
            val = _reduce(np.add, filled, gid, ng)
            if ev.engine.v3 and ev.engine.exact and not _plain_sum_exact(filled):
                val = _kahan_running("sum", fvec, gid, ng)
        else:
            val = _kahan_running("avg", fvec, gid, ng) if ev.engine.v3 else _running("avg", fvec, gid, ng, False)
    present = (fcnt > 0) & (hcnt == 0)
    hout = np.full((ng, t), None, dtype=object)
    for g, j in zip(*np.nonzero(hcnt > 0), strict=True):
        if fcnt[g, j] > 0:
            continue
        rows = np.flatnonzero((gid == g) & ishist[:, j])
        try:
            if kahan:  # Prometheus >= 3.10: FloatHistogram.KahanAdd
                acc = (kahan_sum if op == "sum" else kahan_mean)([hists[r, j] for r in rows], rec)
            elif op == "avg":  # 3.5 to 3.9: an incremental mean
                acc = incremental_mean([hists[r, j] for r in rows], rec)
            else:
                acc = hists[rows[0], j].copy()
                for r in rows[1:]:
                    acc = acc.add(hists[r, j], rec)
        except HistogramError:
            continue
        hout[g, j] = acc.compact(0)
        present[g, j] = True
        val[g, j] = np.nan
    return Vec(glabels, val, present, hists=hout)


def _count_values_h(vec: Vec, mod: Any, label: str, t: int, metadata: bool = False) -> Vec:
    """count_values over a vector with histograms: a histogram's value label is its String()."""
    from opsctl.promql.engine import go_float, merge_rows
    from opsctl.promql.values import is_hist

    gf = _group_fn(mod, extra=label, metadata=metadata)
    hists = vec.hists
    assert hists is not None
    ishist = is_hist(hists)
    counts: dict[Labels, np.ndarray] = {}
    for i, j in zip(*np.nonzero(vec.mask), strict=True):
        text = str(hists[i, j]) if ishist[i, j] else go_float(float(vec.vals[i, j]))
        key = gf(vec.labels[i].set(label, text))
        row = counts.get(key)
        if row is None:
            row = counts[key] = np.zeros(t)
        row[j] += 1
    if not counts:
        return _empty(t)
    out_l = list(counts)
    vals = np.vstack([counts[lab] for lab in out_l])
    return merge_rows(out_l, vals, vals > 0)


def _limit_ratio(ev: _Evaluator, vec: Vec, param: np.ndarray) -> Vec:
    """limit_ratio (Prometheus 3): a series is kept when its label hash / 2^64-1 is below r (r >= 0) or at
    least 1 + r (r < 0), so r and -(1 - r) pick complementary sets; r is capped to [-1, 1]; NaN keeps none."""
    from opsctl.promql.xxh64 import labels_hash

    r = np.clip(param, -1.0, 1.0)
    offs = np.array([float(labels_hash(lab.items_tuple)) / float(2**64 - 1) for lab in vec.labels])[:, None]
    with np.errstate(invalid="ignore"):
        keep = ((r >= 0)[None, :] & (offs < r[None, :])) | ((r < 0)[None, :] & (offs >= 1.0 + r[None, :]))
    sel = vec.mask & keep
    if vec.vals.shape[1] == 1:
        ev.pending_order = [int(x) for x in np.flatnonzero(sel[:, 0])]
    return Vec(list(vec.labels), vec.vals, sel, hists=_keep_hists(vec, sel))


def _heap_select(v: np.ndarray, m: np.ndarray, k: np.ndarray, top: bool,
                 need_order: bool) -> tuple[np.ndarray, np.ndarray]:
    """Run Prometheus' topk (top=True) or bottomk heap over the rows of one group, per step (column),
    vectorised over the steps. Returns (heap rows (K, T), heap sizes (T,)): heap[:size[c], c]."""
    nrows, t = v.shape
    kk = np.minimum(np.maximum(k, 0), nrows)
    present = m.sum(axis=0)
    cols_all = np.arange(t)
    heap = np.zeros((max(1, int(kk.max(initial=0))), t), dtype=np.int64)
    size = np.zeros(t, dtype=np.int64)
    # Steps where every present sample is kept need no heap for membership: fill them directly (in row
    # order; their order matters only for an instant query, which runs the heap).
    simple = (present <= kk) & (not need_order)
    if simple.any():
        for r in range(nrows):
            c = np.flatnonzero(simple & m[r])
            heap[size[c], c] = r
            size[c] += 1
    run = ~simple & (kk >= 1) & (present > 0)
    if not run.any():
        return heap, size

    def less(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        va, vb = v[heap[a, c], c], v[heap[b, c], c]
        with np.errstate(invalid="ignore"):
            return np.isnan(va) | ((va < vb) if top else (va > vb))

    def swap(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        heap[a, c], heap[b, c] = heap[b, c], heap[a, c].copy()

    def up(j: np.ndarray, c: np.ndarray) -> None:
        while len(c):
            i = np.where(j > 0, (j - 1) // 2, 0)
            go = (i != j) & less(j, i, c)
            j, i, c = j[go], i[go], c[go]
            swap(i, j, c)
            j = i

    def down(n: np.ndarray, c: np.ndarray) -> None:
        i = np.zeros(len(c), dtype=np.int64)
        while len(c):
            j1 = 2 * i + 1
            keep = j1 < n
            i, j1, n, c = i[keep], j1[keep], n[keep], c[keep]
            if not len(c):
                break
            j2 = j1 + 1
            has2 = j2 < n
            j = j1.copy()
            if has2.any():
                sub = np.flatnonzero(has2)
                pick = less(j2[sub], j1[sub], c[sub])
                j[sub[pick]] = j2[sub[pick]]
            go = less(j, i, c)
            i, j, n, c = i[go], j[go], n[go], c[go]
            swap(i, j, c)
            i = j

    for r in range(nrows):
        act = run & m[r]
        if not act.any():
            continue
        first = act & (size == 0)
        if first.any():
            heap[0, first] = r
            size[first] = 1
        c = cols_all[act & ~first]
        if not len(c):
            continue
        x = v[r, c]
        h0 = v[heap[0, c], c]
        with np.errstate(invalid="ignore"):
            cond = (size[c] < kk[c]) | ((h0 < x) if top else (h0 > x)) | np.isnan(h0)
        c = c[cond]
        full = size[c] == kk[c]
        insitu = full & (kk[c] == 1)
        heap[0, c[insitu]] = r
        pop = full & ~insitu
        if pop.any():
            cp = c[pop]
            n = size[cp] - 1
            swap(np.zeros(len(cp), dtype=np.int64), n, cp)
            down(n.copy(), cp)
            size[cp] = n
        cp = c[~insitu]
        if len(cp):
            pos = size[cp]
            heap[pos, cp] = r
            size[cp] = pos + 1
            up(pos.copy(), cp)
    return heap, size


def _count_values(vec: Vec, mod: Any, label: str, t: int, metadata: bool = False) -> Vec:
    from opsctl.promql.engine import go_float, merge_rows

    gf = _group_fn(mod, extra=label, metadata=metadata)
    bits = vec.vals.view(np.uint64)
    uniq = np.unique(bits[vec.mask])
    by_text: dict[str, list[np.uint64]] = {}
    for u in uniq:
        text = go_float(float(np.array([u], dtype=np.uint64).view(np.float64)[0]))
        by_text.setdefault(text, []).append(u)
    out_l: list[Labels] = []
    out_v: list[np.ndarray] = []
    out_m: list[np.ndarray] = []
    for text, us in by_text.items():
        m = vec.mask & np.isin(bits, np.asarray(us, dtype=np.uint64))
        glabels, gid = _groups([gf(lab.set(label, text)) for lab in vec.labels])
        cnt = _reduce(np.add, m.astype(np.int64), gid, len(glabels))
        for g, lab in enumerate(glabels):
            if cnt[g].any():
                out_l.append(lab)
                out_v.append(cnt[g].astype(float))
                out_m.append(cnt[g] > 0)
    if not out_l:
        return _empty(t)
    return merge_rows(out_l, np.vstack(out_v), np.vstack(out_m))
