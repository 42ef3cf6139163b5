"""The `anchored` and `smoothed` modifiers of Prometheus's extended range selectors (3.7 behind
`--enable-feature=promql-extended-range-selectors`, always on from 3.16, prometheus/prometheus #19697;
native histograms #18564).

promql-parser cannot read the modifiers, so `rewrite` turns them into calls of internal functions before
parsing: `x[5m] offset 1m anchored` becomes `__opsctl_anchored(x[5m] offset 1m)`, `x[5m] smoothed`
`__opsctl_smoothed(x[5m])` and an instant `x smoothed` `__opsctl_smoothed_vector(x)`. The syntax errors
(modifier after a subquery or a non-selector, both modifiers together) come from opsctl.rules.newsyntax,
as `rules validate` reports them. `functions.call` hands a call whose argument is such a wrapper to `call`
here, which follows upstream's engine.go (matrixSelector/extendFloats, smoothSeries, the
AnchoredSafeFunctions/SmoothedSafeFunctions checks) and functions.go (extendedRate,
extendedHistogramRate, pickFirstSampleIndices). Start timestamps are not modelled (upstream's behaviour
without them). Evaluation is a plain loop per series and step: these modifiers are rare, and none of it
runs for queries without them.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import promql_parser as pp

from opsctl.promql import ast
from opsctl.promql.histogram import CounterResetHint, FloatHistogram, HistogramError
from opsctl.promql.model import Labels, PromQLError
from opsctl.promql.values import Flat, Mat, Vec, make_base

if TYPE_CHECKING:
    from opsctl.promql.engine import _Evaluator

__all__ = ["ANCHORED", "MATRIX_WRAPPERS", "SMOOTHED", "SMOOTHED_VECTOR", "WRAPPERS", "call", "readable",
           "rewrite"]

ANCHORED = "__opsctl_anchored"
SMOOTHED = "__opsctl_smoothed"
SMOOTHED_VECTOR = "__opsctl_smoothed_vector"
MATRIX_WRAPPERS = frozenset({ANCHORED, SMOOTHED})
WRAPPERS = MATRIX_WRAPPERS | {SMOOTHED_VECTOR}
# `smoothed` reads samples after the evaluation time (up to the lookback delta), like a negative offset
LOOKS_AHEAD = frozenset({SMOOTHED, SMOOTHED_VECTOR})

# functions.go AnchoredSafeFunctions / SmoothedSafeFunctions (3.16)
ANCHORED_SAFE = ("changes", "delta", "increase", "rate", "resets")
SMOOTHED_SAFE = ("delta", "increase", "rate")

_QUICK = re.compile(r"anchored|smoothed", re.IGNORECASE)


def _register() -> None:
    vt = pp.ValueType
    try:
        pp.parse(f"{ANCHORED}(x[1m])")
        return
    except ValueError:
        pass
    try:
        pp.register_extra_functions([
            pp.Function(ANCHORED, [vt.Matrix], vt.Matrix),
            pp.Function(SMOOTHED, [vt.Matrix], vt.Matrix),
            pp.Function(SMOOTHED_VECTOR, [vt.Vector], vt.Vector),
        ])
    except ValueError:
        pass


_register()


class ModifierSyntaxError(PromQLError):
    """A syntax error of the modifiers themselves, already in promtool's words and position."""


class _V316:
    @staticmethod
    def at_least(major: int, minor: int) -> bool:
        return (3, 16) >= (major, minor)


class _V310:  # modifiers (with their feature flag) but not the trim operators, which the engine lacks
    @staticmethod
    def at_least(major: int, minor: int) -> bool:
        return (3, 10) >= (major, minor)


def readable(expr: str) -> str:
    """`expr` with the modifiers blanked out (positions kept), for reporting other syntax errors; the
    histogram trim operators stay, so that they are the error reported."""
    from opsctl.rules import newsyntax

    try:
        return newsyntax.readable(expr, _V310(), frozenset({newsyntax.EXTENDED_RANGE_SELECTORS}))
    except newsyntax.SyntaxProblem:
        return expr


def rewrite(expr: str) -> str:
    """`expr` with `anchored`/`smoothed` modifiers turned into calls of the wrapper functions; raises
    PromQLError with promtool's wording for the modifiers' own syntax errors."""
    if not _QUICK.search(expr):
        return expr
    from opsctl.rules import newsyntax as ns

    try:
        ns.readable(expr, _V316())
    except ns.SyntaxProblem as exc:
        raise ModifierSyntaxError(str(exc)) from None
    code = ns._code_mask(expr)
    edits: list[tuple[int, int, int, str]] = []  # (operand start, keyword start, keyword end, wrapper)
    for m in ns._TOKEN.finditer(expr):
        start = m.start()
        tok = m.group(0).lower()
        if not code[start] or tok not in ("anchored", "smoothed"):
            continue
        if ns._modifier_target(expr, code, start) != "selector":
            continue
        op = ns._operand_start(expr, code, start)
        operand = expr[op:start]
        is_matrix = any(c == "[" and code[op + i] for i, c in enumerate(operand))
        if tok == "anchored":
            # an anchored instant vector selector evaluates as a plain one (engine.go reads Anchored only
            # for range selectors)
            wrapper = ANCHORED if is_matrix else ""
        else:
            wrapper = SMOOTHED if is_matrix else SMOOTHED_VECTOR
        edits.append((op, start, m.end(), wrapper))
    out = expr
    for op, start, end, wrapper in reversed(edits):
        if wrapper:
            out = out[:op] + wrapper + "(" + out[op:start].rstrip() + ")" + out[end:]
        else:
            out = out[:start] + " " * (end - start) + out[end:]
    return out


# -- evaluation -------------------------------------------------------------------------------------------


def _wrapped(node: Any) -> tuple[Any, str] | None:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    if isinstance(node, pp.Call) and node.func.name in MATRIX_WRAPPERS:
        return node.args[0], node.func.name
    return None


def is_extended_call(node: Any) -> bool:
    """Whether functions.call must hand `node` (a Call) to `call` here."""
    if node.func.name in WRAPPERS:
        return True
    return any(_wrapped(a) is not None for a in node.args)


def call(ev: _Evaluator, node: Any, times: np.ndarray) -> Any:
    name = node.func.name
    if name == SMOOTHED_VECTOR:
        return _smoothed_vector(ev, node.args[0], times)
    if name in MATRIX_WRAPPERS:
        return _matrix(ev, node.args[0], name == SMOOTHED, times)
    args = list(node.args)
    ms, kind = next(w for a in args if (w := _wrapped(a)) is not None)
    if kind == ANCHORED and name not in ANCHORED_SAFE:
        raise PromQLError(f"anchored modifier can only be used with: {', '.join(ANCHORED_SAFE)} - not with {name}")
    if kind == SMOOTHED and name not in SMOOTHED_SAFE:
        raise PromQLError(f"smoothed modifier can only be used with: {', '.join(SMOOTHED_SAFE)} - not with {name}")
    smoothed = kind == SMOOTHED
    vs = ms.vector_selector
    _, flat = ev.engine.select(vs)
    refs = ev.ref_times(vs, times)
    rng = ast.td_ms(ms.range)
    lb = ev.engine.lookback_ms
    reconcile = ev.engine.nhcb_reconcile
    n, t = flat.n, len(times)
    vals = np.full((n, t), np.nan)
    mask = np.zeros((n, t), dtype=bool)
    hists = np.full((n, t), None, dtype=object)
    any_hist = False
    fhs = flat.hs
    for i in range(n):
        s, e = int(flat.starts[i]), int(flat.ends[i])
        if e <= s:
            continue
        ts = flat.ts[s:e].tolist()
        fv = flat.vs[s:e].tolist()
        hs = list(fhs[s:e]) if fhs is not None else None
        for j in range(t):
            range_end = int(refs[j])
            range_start = range_end - rng
            lo = bisect.bisect_right(ts, range_start - lb)
            hi = bisect.bisect_right(ts, range_end + lb if smoothed else range_end)
            if hi <= lo:
                continue
            w_ts = ts[lo:hi]
            w_h = hs[lo:hi] if hs is not None else None
            r: float | FloatHistogram | None
            if name in ("changes", "resets"):
                r = _changes_resets(name, w_ts, fv[lo:hi], w_h, range_start, reconcile)
            else:
                r = _rate(name, w_ts, fv[lo:hi], w_h, range_start, range_end, rng, smoothed, reconcile)
            if r is None:
                continue
            mask[i, j] = True
            if isinstance(r, FloatHistogram):
                hists[i, j] = r
                any_hist = True
            else:
                vals[i, j] = r
    from opsctl.promql.functions import _finish

    return _finish(list(flat.labels), vals, mask, hists=hists if any_hist else None)


def _split(w_ts: list[int], w_v: list[float], w_h: list[Any] | None
           ) -> tuple[list[tuple[int, float]], list[tuple[int, FloatHistogram]]]:
    if w_h is None:
        return list(zip(w_ts, w_v, strict=True)), []
    fl = [(tt, v) for tt, v, h in zip(w_ts, w_v, w_h, strict=True) if h is None]
    hl = [(tt, h) for tt, h in zip(w_ts, w_h, strict=True) if h is not None]
    return fl, hl


def _interp(t1: int, y1: float, t2: int, y2: float, t: int, is_counter: bool) -> float:
    if is_counter and y2 < y1:
        y1 = 0.0
    return y1 + (y2 - y1) * float(t - t1) / float(t2 - t1)


def _rate(name: str, w_ts: list[int], w_v: list[float], w_h: list[Any] | None, range_start: int,
          range_end: int, rng: int, smoothed: bool, reconcile: bool) -> float | FloatHistogram | None:
    fl, hl = _split(w_ts, w_v, w_h)
    if fl and hl:
        return None  # mixed floats and histograms: a warning upstream
    is_counter = name != "delta"
    is_rate = name == "rate"
    if hl:
        return _hist_rate(hl, range_start, range_end, rng, smoothed, is_counter, is_rate, reconcile)
    f = fl
    last = len(f) - 1
    first = max(0, _search(last, lambda k: f[k][0] > range_start) - 1)
    if smoothed:
        last = _search(last, lambda k: f[k][0] >= range_end)
    if f[last][0] <= range_start:
        return None
    if smoothed and f[first][0] > range_end:
        return None
    # pickOrInterpolateLeft / Right without start timestamps
    if f[first][0] < range_start and smoothed:
        left = _interp(f[first][0], f[first][1], f[first + 1][0], f[first + 1][1], range_start, is_counter)
    else:
        left = f[first][1]
    if f[last][0] > range_end and last > 0 and smoothed:
        right = _interp(f[last - 1][0], f[last - 1][1], f[last][0], f[last][1], range_end, is_counter)
    elif f[last][0] > range_end and last > 0:
        right = f[last - 1][1]
    else:
        right = f[last][1]
    result = right - left
    if is_counter:
        if f[first][0] <= range_start:
            first += 1
        if f[last][0] >= range_end:
            last -= 1
        correction = 0.0
        prev = left
        for _, v in f[first:last + 1]:
            if v < prev:
                correction += prev
            prev = v
        if right < prev:
            correction += prev
        result += correction
    if is_rate:
        result /= rng / 1000.0
    return result


def _search(n: int, pred: Any) -> int:
    """Go's sort.Search: the smallest k in [0, n) with pred(k), else n."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _interp_hist(t1: int, h1: FloatHistogram, t2: int, h2: FloatHistogram, t: int, is_counter: bool,
                 reconcile: bool) -> FloatHistogram:
    if t == t1:
        return h1.copy()
    if t == t2:
        return h2.copy()
    fraction = float(t - t1) / float(t2 - t1)
    if is_counter and h2.detect_reset(h1, reconcile):
        return h2.copy().mul(fraction)
    result = h2.copy().sub(h1, reconcile)
    result = result.mul(fraction)
    return result.add(h1, reconcile)


def _hist_rate(h: list[tuple[int, FloatHistogram]], range_start: int, range_end: int, rng: int,
               smoothed: bool, is_counter: bool, is_rate: bool, reconcile: bool) -> FloatHistogram | None:
    last = len(h) - 1
    first = max(0, _search(last, lambda k: h[k][0] > range_start) - 1)
    if smoothed:
        last = _search(last, lambda k: h[k][0] >= range_end)
    if h[last][0] <= range_start:
        return None
    if smoothed and h[first][0] > range_end:
        return None
    window = h[first:last + 1]
    custom = window[0][1].uses_custom_buckets()
    if any(p.uses_custom_buckets() != custom for _, p in window):
        return None  # mixed exponential and custom buckets: a warning upstream
    try:
        if smoothed and h[first][0] < range_start:
            left = _interp_hist(h[first][0], h[first][1], h[first + 1][0], h[first + 1][1], range_start,
                                is_counter, reconcile)
        else:
            left = h[first][1].copy()
        if smoothed and last > 0 and h[last][0] > range_end:
            right = _interp_hist(h[last - 1][0], h[last - 1][1], h[last][0], h[last][1], range_end,
                                 is_counter, reconcile)
        else:
            right = h[last][1].copy()
        result = right.copy().sub(left, reconcile)
        if is_counter:
            correction = _hist_correction(h, first, last, left, right, range_start, smoothed, reconcile)
            if correction is not None:
                result = result.add(correction, reconcile)
    except HistogramError:
        return None
    if is_rate:
        result = result.div(rng / 1000.0)
    result.counter_reset_hint = CounterResetHint.GAUGE
    return result.compact(0)


def _hist_correction(h: list[tuple[int, FloatHistogram]], first_i: int, last_i: int, left: FloatHistogram,
                     right: FloatHistogram, range_start: int, smoothed: bool,
                     reconcile: bool) -> FloatHistogram | None:
    first = first_i + 1
    prev = left
    if smoothed and h[first_i][0] < range_start and h[first_i + 1][1].detect_reset(h[first_i][1], reconcile):
        prev = h[first_i + 1][1]
        first += 1
    last = last_i - 1
    if first > last + 1:
        return None
    correction: FloatHistogram | None = None
    for _, p in h[first:last + 1]:
        if p.detect_reset(prev, reconcile):
            correction = prev.copy() if correction is None else correction.add(prev, reconcile)
        prev = p
    if right.detect_reset(prev, reconcile):
        correction = prev.copy() if correction is None else correction.add(prev, reconcile)
    return correction


def _changes_resets(name: str, w_ts: list[int], w_v: list[float], w_h: list[Any] | None,
                    range_start: int, reconcile: bool) -> float | None:
    """funcChanges / funcResets over an anchored window (pickFirstSampleIndices: the last sample at or
    before the range start, of either type, is the baseline)."""
    k = bisect.bisect_right(w_ts, range_start)
    if k >= len(w_ts):
        return None
    base = max(k - 1, 0)
    seq: list[tuple[float, FloatHistogram | None]] = [
        (w_v[q], w_h[q] if w_h is not None else None) for q in range(base, len(w_ts))]
    count = 0
    pv, ph = seq[0]
    for cv, ch in seq[1:]:
        if name == "changes":
            if ph is None and ch is None:
                if cv != pv and not (cv != cv and pv != pv):
                    count += 1
            elif ph is None or ch is None:
                count += 1
            elif not ch.equals(ph):
                count += 1
        elif ph is None and ch is None:
            if cv < pv:
                count += 1
        elif ph is None or ch is None or ch.detect_reset(ph, reconcile):
            count += 1  # a switch between float and histogram is a reset too
        pv, ph = cv, ch
    return float(count)


def _matrix(ev: _Evaluator, ms: Any, smoothed: bool, times: np.ndarray) -> Mat:
    """A range selector with the modifier, evaluated on its own (engine.go matrixSelector + extendFloats):
    the samples inside the range plus points at both ends."""
    vs = ms.vector_selector
    _, flat = ev.engine.select(vs)
    ref = int(ev.ref_times(vs, times[:1])[0])
    rng = ast.td_ms(ms.range)
    lb = ev.engine.lookback_ms
    mint, maxt = ref - rng, ref
    labels: list[Labels] = []
    all_ts: list[np.ndarray] = []
    all_vs: list[np.ndarray] = []
    fhs = flat.hs
    for i in range(flat.n):
        s, e = int(flat.starts[i]), int(flat.ends[i])
        ts = flat.ts[s:e].tolist()
        lo = bisect.bisect_right(ts, mint - lb)
        hi = bisect.bisect_right(ts, maxt + lb if smoothed else maxt)
        if hi <= lo:
            continue
        if fhs is not None and any(x is not None for x in fhs[s + lo:s + hi]):
            raise PromQLError(f"{'smoothed' if smoothed else 'anchored'} modifier is not supported with histograms")
        f = list(zip(ts[lo:hi], flat.vs[s + lo:s + hi].tolist(), strict=True))
        pts = _extend_floats(f, mint, maxt, smoothed)
        if not pts:
            continue
        labels.append(flat.labels[i])
        all_ts.append(np.array([p[0] for p in pts], dtype=np.int64))
        all_vs.append(np.array([p[1] for p in pts], dtype=np.float64))
    offs = np.zeros(len(labels) + 1, dtype=np.int64)
    offs[1:] = np.cumsum([len(a) for a in all_ts])
    cat_ts = np.concatenate(all_ts) if all_ts else np.zeros(0, dtype=np.int64)
    cat_vs = np.concatenate(all_vs) if all_vs else np.zeros(0)
    base: Flat = make_base(labels, cat_ts, cat_vs, offs)
    t = len(times)
    lo_a = np.repeat(offs[:-1, None], t, axis=1)
    hi_a = np.repeat(offs[1:, None], t, axis=1)
    return Mat(base, labels, lo_a, hi_a, np.full(t, ref, dtype=np.int64), rng)


def _extend_floats(f: list[tuple[int, float]], mint: int, maxt: int, smoothed: bool) -> list[tuple[int, float]]:
    last = len(f) - 1
    first = max(0, _search(last, lambda k: f[k][0] > mint) - 1)
    if smoothed:
        last = _search(last, lambda k: f[k][0] >= maxt)
    if f[last][0] <= mint:
        return []
    if smoothed and f[first][0] < mint:
        left = _interp(f[first][0], f[first][1], f[first + 1][0], f[first + 1][1], mint, False)
    else:
        left = f[first][1]
    if f[last][0] > maxt and last > 0:
        right = (_interp(f[last - 1][0], f[last - 1][1], f[last][0], f[last][1], maxt, False) if smoothed
                 else f[last - 1][1])
    else:
        right = f[last][1]
    if f[first][0] <= mint:
        first += 1
    if f[last][0] >= maxt:
        last -= 1
    return [(mint, left), *f[first:last + 1], (maxt, right)]


def _smoothed_vector(ev: _Evaluator, vs: Any, times: np.ndarray) -> Vec:
    """engine.go smoothSeries: the value at each step interpolated between the samples around it (within
    the lookback delta either side), or the last one when none follows."""
    while isinstance(vs, pp.ParenExpr):
        vs = vs.expr
    _, flat = ev.engine.select(vs)
    refs = ev.ref_times(vs, times)
    lb = ev.engine.lookback_ms
    n, t = flat.n, len(times)
    vals = np.full((n, t), np.nan)
    mask = np.zeros((n, t), dtype=bool)
    hists = np.full((n, t), None, dtype=object)
    any_hist = False
    fhs = flat.hs
    for i in range(n):
        s, e = int(flat.starts[i]), int(flat.ends[i])
        ts = flat.ts[s:e].tolist()
        fv = flat.vs[s:e].tolist()
        hs = list(fhs[s:e]) if fhs is not None else None
        for j in range(t):
            d = int(refs[j])
            lo = bisect.bisect_right(ts, d - lb)
            hi = bisect.bisect_right(ts, d + lb)
            if hi <= lo:
                continue
            w_ts = ts[lo:hi]
            w_h = hs[lo:hi] if hs is not None else None
            has_h = w_h is not None and any(x is not None for x in w_h)
            if has_h and w_h is not None and any(x is None for x in w_h):
                continue  # mixed floats and histograms
            k = bisect.bisect_left(w_ts, d)
            if has_h and w_h is not None:
                if k < len(w_ts) and w_ts[k] == d:
                    r: Any = w_h[k].copy()
                elif 0 < k < len(w_ts):
                    p, q = w_h[k - 1], w_h[k]
                    if p.uses_custom_buckets() != q.uses_custom_buckets():
                        continue
                    is_counter = (p.counter_reset_hint != CounterResetHint.GAUGE
                                  or q.counter_reset_hint != CounterResetHint.GAUGE)
                    try:
                        r = _interp_hist(w_ts[k - 1], p, w_ts[k], q, d, is_counter, ev.engine.nhcb_reconcile)
                    except HistogramError:
                        continue
                elif k > 0:
                    r = w_h[k - 1].copy()
                    r.counter_reset_hint = CounterResetHint.UNKNOWN
                else:
                    continue
                hists[i, j] = r
                any_hist = True
                mask[i, j] = True
                continue
            w_v = fv[lo:hi]
            if k < len(w_ts) and w_ts[k] == d:
                vals[i, j] = w_v[k]
            elif 0 < k < len(w_ts):
                vals[i, j] = _interp(w_ts[k - 1], w_v[k - 1], w_ts[k], w_v[k], d, False)
            elif k > 0:
                vals[i, j] = w_v[k - 1]
            else:
                continue
            mask[i, j] = True
    from opsctl.promql.engine import merge_rows

    return merge_rows(list(flat.labels), vals, mask, hists if any_hist else None)
