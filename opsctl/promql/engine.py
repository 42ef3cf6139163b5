"""The evaluator: walks the promql-parser AST, evaluating each node at all query steps at once.

Instant queries are range queries with one step. Long range queries are evaluated in chunks of
steps (each step is independent in PromQL), which bounds memory.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

import numpy as np
import promql_parser as pp

from opsctl import promql_goparse
from opsctl.gosem import regexp as gosem_regexp
from opsctl.gosem import strconv as gosem_strconv
from opsctl.promql import ast, durexpr, extended
from opsctl.promql.model import Labels, PromQLError, Result, SeriesResult, Storage, StoredSeries, stale_mask
from opsctl.promql.values import Flat, Mat, Scalar, Str, Value, Vec, has_hist, hists_where, is_hist, make_base

__all__ = ["Engine"]

_ARITH = {"+", "-", "*", "/", "%", "^", "atan2"}
_DROPS_NAME = {"+", "-", "*", "/", "%", "^"}
_COMPARE = {"==", "!=", ">", "<", ">=", "<="}
_SET = {"and", "or", "unless"}
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MAX_ELEMS = 4_000_000
# How often merge_rows combined rows (the row order of such results can depend on the steps evaluated).
_MERGES = [0]
_ORDERING_AGGS = {"topk", "bottomk", "count_values", "limitk", "limit_ratio"}
_ORDERING_FUNCS = {"sort", "sort_desc", "sort_by_label", "sort_by_label_desc"}


def _err(msg: str) -> PromQLError:
    return PromQLError(msg)


def go_float(v: float) -> str:
    """strconv.FormatFloat(v, 'f', -1, 64)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(np.format_float_positional(v, unique=True, trim="-"))


class _Compiled:
    """A label matcher with its regex compiled by opsctl.gosem (RE2, anchored like Prometheus 2.42)."""

    def __init__(self, op: str, name: str, value: str, dot_nl: bool = False) -> None:
        self.op, self.name, self.value = op, name, value
        self.rx: gosem_regexp.AnchoredRegexp | None = None
        if op in ("=~", "!~"):
            try:
                # Prometheus 3: `.` in a matcher's regex also matches a newline.
                self.rx = gosem_regexp.compile_prometheus(value, dot_nl=dot_nl)
            except gosem_regexp.RegexpError as exc:
                raise _err(f"invalid regular expression {value!r}: {exc}") from None

    def matches(self, v: str) -> bool:
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        assert self.rx is not None
        ok = self.rx.matches(v)
        return ok if self.op == "=~" else not ok


def _binop(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Element-wise op; returns (value, keep) where keep is None for arithmetic."""
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b, None
        if op == "-":
            return a - b, None
        if op == "*":
            return a * b, None
        if op == "/":
            return a / b, None
        if op == "%":
            return np.fmod(a, b), None
        if op == "^":
            return np.power(a, b), None
        if op == "atan2":
            return np.arctan2(a, b), None
        if op == "==":
            return a, a == b
        if op == "!=":
            return a, a != b
        if op == ">":
            return a, a > b
        if op == "<":
            return a, a < b
        if op == ">=":
            return a, a >= b
        if op == "<=":
            return a, a <= b
    raise _err(f"operator {op!r} not allowed for operations between vectors/scalars")


def _hist_binop(
    op: str, a: np.ndarray, b: np.ndarray, ha: np.ndarray | None, hb: np.ndarray | None, return_bool: bool,
    shape: tuple[int, ...], reconcile: bool = False, gauge: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """_binop where either side may hold native histograms (Prometheus's vectorElemBinop).

    Returns (value, keep or None, histograms (object array), dropped): `dropped` marks elements whose
    operand types are incompatible (float + histogram, histogram > histogram, ...) or whose histogram
    operation fails; Prometheus skips those (with an annotation) even under `bool`. `reconcile`:
    Engine.nhcb_reconcile. `gauge`: Engine.hist_negative_gauge (a difference, or a product or quotient by a
    negative number, is a gauge histogram; before, it kept the histogram's hint)."""
    from opsctl.promql.histogram import CounterResetHint, HistogramError

    val, keep = _binop(op, a, b)
    val = np.array(np.broadcast_to(val, shape), dtype=float)
    if keep is not None:
        keep = np.array(np.broadcast_to(keep, shape))
    hout = np.full(shape, None, dtype=object)
    dropped = np.zeros(shape, dtype=bool)
    ia = np.broadcast_to(is_hist(ha), shape) if ha is not None else np.zeros(shape, dtype=bool)
    ib = np.broadcast_to(is_hist(hb), shape) if hb is not None else np.zeros(shape, dtype=bool)
    ha_b = np.broadcast_to(ha, shape) if ha is not None else None
    hb_b = np.broadcast_to(hb, shape) if hb is not None else None
    fa = np.broadcast_to(a, shape)
    fb = np.broadcast_to(b, shape)
    for idx in zip(*np.nonzero(ia | ib), strict=True):
        x: Any = ha_b[idx] if ha_b is not None else None
        y: Any = hb_b[idx] if hb_b is not None else None
        res = None
        ok = True
        try:
            if x is None:  # float op histogram
                if op == "*":
                    res = y.mul(float(fa[idx])).compact(0)
                    if gauge and fa[idx] < 0:
                        res.counter_reset_hint = CounterResetHint.GAUGE
                else:
                    ok = False
            elif y is None:  # histogram op float
                if op == "*":
                    res = x.mul(float(fb[idx])).compact(0)
                elif op == "/":
                    res = x.div(float(fb[idx])).compact(0)
                else:
                    ok = False
                if res is not None and gauge and fb[idx] < 0:
                    res.counter_reset_hint = CounterResetHint.GAUGE
            elif op == "+":
                res = x.add(y, reconcile).compact(0)
            elif op == "-":
                res = x.sub(y, reconcile)
                if gauge:
                    res.counter_reset_hint = CounterResetHint.GAUGE
                res = res.compact(0)
            elif op in ("==", "!="):
                eq = x.equals(y)
                assert keep is not None
                keep[idx] = eq if op == "==" else not eq
                res = x
            else:
                ok = False
        except HistogramError:
            ok = False
        if not ok:
            dropped[idx] = True
            continue
        if keep is not None and return_bool:
            val[idx] = 1.0 if keep[idx] else 0.0
        else:
            hout[idx] = res
            val[idx] = np.nan
    return val, keep, hout, dropped


def merge_rows(labels: list[Labels], vals: np.ndarray, mask: np.ndarray, hists: np.ndarray | None = None) -> Vec:
    """Combine rows with identical labels; overlap at a step is Prometheus' duplicate-labelset error."""
    index: dict[Labels, list[int]] = {}
    for i, lab in enumerate(labels):
        index.setdefault(lab, []).append(i)
    if hists is not None:
        hists = hists_where(mask, hists)
        if not has_hist(hists):
            hists = None
    if len(index) == len(labels):
        return Vec(labels, vals, mask, hists=hists)
    _MERGES[0] += 1
    out_l: list[Labels] = []
    out_v = np.empty((len(index), vals.shape[1]))
    out_m = np.zeros((len(index), vals.shape[1]), dtype=bool)
    out_h = np.empty((len(index), vals.shape[1]), dtype=object) if hists is not None else None
    for j, (lab, rows) in enumerate(index.items()):
        out_l.append(lab)
        if len(rows) == 1:
            out_v[j], out_m[j] = vals[rows[0]], mask[rows[0]]
            if out_h is not None and hists is not None:
                out_h[j] = hists[rows[0]]
            continue
        m = mask[rows]
        if (m.sum(axis=0) > 1).any():
            raise _err("vector cannot contain metrics with the same labelset")
        out_m[j] = m.any(axis=0)
        pick = np.argmax(m, axis=0)
        out_v[j] = vals[np.asarray(rows)[pick], np.arange(vals.shape[1])]
        if out_h is not None and hists is not None:
            out_h[j] = hists[np.asarray(rows)[pick], np.arange(vals.shape[1])]
    return Vec(out_l, out_v, out_m, hists=out_h)


# Delayed `__name__` removal (Prometheus's `promql-delayed-name-removal`) for the evaluation running in
# this context: operators and functions mark the name for removal instead of removing it, and the query
# drops it from its result (`Labels.final`). Set per evaluation (and per range-query worker thread).
_DELAYED_NAME: ContextVar[bool] = ContextVar("delayed_name", default=False)


def drop_name(labels: list[Labels]) -> list[Labels]:
    if _DELAYED_NAME.get():
        return [lab.with_pending_drop() for lab in labels]
    return [lab.without_name() for lab in labels]


def delayed_name_removal() -> bool:
    """Whether the running evaluation delays `__name__` removal to its end."""
    return _DELAYED_NAME.get()


class Engine:
    """Evaluate PromQL against a Storage. Times are float seconds; lookback_delta in seconds."""

    def __init__(
        self,
        storage: Storage,
        lookback_delta: float = 300.0,
        v3: bool = False,
        default_subquery_step: float = 60.0,
        max_chunk_elements: int = 2_000_000,
        exact: bool = True,
        threads: int = 2,
        experimental: bool = True,
        hist_rate_zero_cap: bool = False,
        delayed_name_removal: bool = False,
        hist_kahan: bool = False,
        nhcb_reconcile: bool = False,
        agg_param_checks: bool = False,
        quantile_exact_rank: bool = False,
        mad_nan: bool = False,
        hist_fraction_inf_bucket: bool = False,
        nhcb_fraction_zero: bool = False,
        binop_match_before_filter: bool = False,
        hist_nan_le_ignored: bool = False,
        hist_quantile_nan_bucket: bool = False,
        rad_deg_factor: bool = False,
        hist_negative_gauge: bool = False,
        agg_any_drop_name: bool = False,
        type_unit_transparent: bool = False,
        unknown_functions: frozenset[str] = frozenset(),
        extended_range: bool = False,
    ) -> None:
        # every keyword option, as given: on_storage() makes an engine of the same semantics
        self._options = {k: v for k, v in locals().items() if k not in ("self", "storage")}
        self.storage = storage
        # Functions the target Prometheus does not know yet (semantics.unknown_functions): a call is a
        # parse error; "duration:NAME": NAME() is not read inside duration expressions.
        self.unknown_functions = unknown_functions
        self._unknown_rx = (
            re.compile(r"(?<![A-Za-z0-9_:])(?:" + "|".join(sorted(n for n in unknown_functions if ":" not in n))
                       + r")\s*\(")
            if any(":" not in n for n in unknown_functions) else None)
        self._dur_unknown = frozenset(n.split(":", 1)[1] for n in unknown_functions if n.startswith("duration:"))
        # Prometheus's `promql-delayed-name-removal` feature: `__name__` stays on the series until the
        # end of the evaluation (so label_replace can read it), then goes where it was to be dropped.
        self.delayed_name_removal = delayed_name_removal
        # False: with v3, experimental functions and aggregations (sort_by_label, limitk, ...) are parse
        # errors, as in a Prometheus 3 run without --enable-feature=promql-experimental-functions.
        self.experimental = experimental
        self.lookback_ms = round(lookback_delta * 1000)
        self.v3 = v3
        # Prometheus >= 3.6: rate/increase of a counter histogram stop extrapolating towards the range's
        # start at the zero point of the histogram's count, as they do for float counters (3.5: no cap).
        self.hist_rate_zero_cap = hist_rate_zero_cap
        # Prometheus >= 3.10: sum/avg aggregations and sum_over_time/avg_over_time add native histograms
        # with Kahan compensation (FloatHistogram.KahanAdd); avg switches to an incremental mean only when
        # the running sum overflows. False: plain additions (3.5).
        self.hist_kahan = hist_kahan
        # Prometheus >= 3.8 (#17278): custom-bucket histograms (NHCB) with different bounds are added and
        # subtracted on the intersection of their bounds (+, -, sum, avg, *_over_time, rate, increase,
        # delta, irate, idelta), and a change of bounds is a counter reset only if a count on a common
        # bound went down. False (3.0 to 3.7): such pairs give nothing, and a change of bounds is a reset.
        self.nhcb_reconcile = nhcb_reconcile
        # Prometheus >= 3.16 (#19899): quantile and quantile_over_time return the sample at an exact rank
        # instead of a zero-weight interpolation with its neighbour (NaN next to ±Inf).
        self.quantile_exact_rank = quantile_exact_rank
        # Prometheus >= 3.6 (#16725): topk/bottomk/limitk/limit_ratio check their parameter over all steps
        # before evaluating: NaN is an error, k < 1 everywhere (ratio 0 everywhere) an empty result.
        self.agg_param_checks = agg_param_checks
        # Prometheus >= 3.14 (#19040): mad_over_time of a range holding a NaN sample is NaN.
        self.mad_nan = mad_nan
        # Prometheus >= 3.16 (#18680, #19986): __type__ and __unit__ are left out of vector-matching
        # signatures (without on), dropped by without aggregations and count_values, and give no label in
        # absent().
        self.type_unit_transparent = type_unit_transparent
        # Prometheus >= 3.9 (#17161): with delayed name removal, an aggregation group that keeps __name__
        # drops it at the end if any of its series was to drop it.
        self.agg_any_drop_name = agg_any_drop_name
        # Prometheus >= 3.7 (#17004): a difference of histograms, -h, and h times or divided by a negative
        # number are gauge histograms; before, they kept the hint of the (left) histogram.
        self.hist_negative_gauge = hist_negative_gauge
        # Prometheus >= 3.16 (#19901): rad(v) = v * (Pi/180) and deg(v) = v * (180/Pi), no intermediate
        # overflow (the last bit may differ from (v*Pi)/180).
        self.rad_deg_factor = rad_deg_factor
        # Prometheus >= 3.16 (#19973): histogram_quantile of a native histogram whose sum is NaN
        # interpolates in the bucket where the rank is reached, not in the last bucket.
        self.hist_quantile_nan_bucket = hist_quantile_nan_bucket
        # Prometheus >= 3.16 (#20057): histogram_quantile leaves out the classic buckets whose `le` is NaN,
        # as malformed ones.
        self.hist_nan_le_ignored = hist_nan_le_ignored
        # Prometheus >= 3.9 (#17668): the one-to-one and many-to-one matching errors of a vector binary
        # operation count the pairs a filter comparison drops.
        self.binop_match_before_filter = binop_match_before_filter
        # Prometheus >= 3.16 (#19657): histogram_fraction of custom buckets has no zero bucket; only a first
        # bucket with a positive upper bound starts at 0.
        self.nhcb_fraction_zero = nhcb_fraction_zero
        # Prometheus >= 3.8 (#17424): histogram_fraction takes the whole count of a bucket starting at -Inf
        # instead of NaN; a classic first bucket with a positive bound starts at 0.
        self.hist_fraction_inf_bucket = hist_fraction_inf_bucket
        # Prometheus >= 3.16, or 3.7+ with promql-extended-range-selectors: the `anchored` and `smoothed`
        # modifiers (opsctl.promql.extended). False: they are parse errors.
        self.extended_range = extended_range
        self.default_subquery_step_ms = round(default_subquery_step * 1000)
        self.max_chunk_elements = max_chunk_elements
        # exact=True reproduces Prometheus' floating-point arithmetic (Kahan sums, running means)
        # bit for bit; exact=False uses faster formulas that may differ in the last digits.
        self.exact = exact
        self.threads = threads
        # selection key -> (storage or metric-name version, base Flat, selection)
        self._sel_cache: dict[tuple[Any, ...], tuple[int, Flat, tuple[Flat, Flat]]] = {}
        self._cache_version = -1
        self._rx_cache: dict[tuple[str, str, str], _Compiled] = {}
        self._base: tuple[Flat, Flat] | None = None
        self._name_base: dict[str, tuple[int, Flat, Flat]] = {}
        self._parse_cache: dict[Any, Any] = {}
        # query -> whether its parse depends on the query's step and range (durexpr.needs_context)
        self._ctx_needed: dict[str, bool] = {}
        self._lock = threading.RLock()
        # Cached range-function results (functions._cached_range) over all bases, least recently used
        # first: (id of the base's shared dict, key) -> (shared dict, bytes).
        self._fn_lru: OrderedDict[tuple[int, Any], tuple[dict[object, object], int]] = OrderedDict()
        self._fn_bytes = 0

    # -- public API ---------------------------------------------------------------------------


    def on_storage(self, storage: Storage) -> Engine:
        """An engine of the same options (lookback, semantics of the version, ...) over another storage."""
        return Engine(storage, **self._options)
    def instant(self, query: str, t: float) -> Result:
        expr = self._parse(query, 0, 0)
        ms = round(t * 1000)
        ev = _Evaluator(self, ms, ms)
        if self.v3 and "\\" in query:
            ev.invalid_strings = invalid_utf8_strings(query)
        times = np.array([ms], dtype=np.int64)
        if not self.delayed_name_removal:
            return _to_instant_result(ev.eval(expr, times), ev, expr, ms)
        token = _DELAYED_NAME.set(True)
        try:
            val = ev.eval(expr, times)
        finally:
            _DELAYED_NAME.reset(token)
        return _final_labels(_to_instant_result(val, ev, expr, ms))

    def range(self, query: str, start: float, end: float, step: float) -> Result:
        if step <= 0:
            raise _err("zero or negative query resolution step widths are not accepted. Try a positive integer")
        if end < start:
            raise _err("end timestamp must not be before start time")
        start_ms, end_ms, step_ms = round(start * 1000), round(end * 1000), round(step * 1000)
        if step_ms <= 0:
            raise _err("zero or negative query resolution step widths are not accepted. Try a positive integer")
        # Prometheus's step() function is 0 when start == end (foldQueryContextFunctions); step() in a
        # duration expression is the step still (durationVisitor)
        q_step = step_ms if end_ms != start_ms else 0
        expr = self._parse(query, step_ms, end_ms - start_ms)
        times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        chunk = max(64, self.max_chunk_elements // max(1, len(self.storage)))
        chunks = [times[i : i + chunk] for i in range(0, len(times), chunk)]

        def run(tchunk: np.ndarray) -> Value:
            ev = _Evaluator(self, start_ms, end_ms)
            ev.grid = (start_ms, step_ms)
            ev.query_step_ms = q_step
            if self.v3 and "\\" in query:
                ev.invalid_strings = invalid_utf8_strings(query)
            if not self.delayed_name_removal:
                return ev.eval(expr, tchunk)
            token = _DELAYED_NAME.set(True)
            try:
                return ev.eval(expr, tchunk)
            finally:
                _DELAYED_NAME.reset(token)

        if self.threads > 1 and len(chunks) > 1:
            # Steps are independent: evaluate chunks on several threads (numpy releases the GIL).
            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                values = list(pool.map(run, chunks))
        else:
            values = [run(c) for c in chunks]
        parts: dict[Labels, list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {}
        scalar_parts: list[np.ndarray] = []
        is_scalar = False
        any_hists = False
        for tchunk, val in zip(chunks, values, strict=True):
            if isinstance(val, Scalar):
                is_scalar = True
                scalar_parts.append(val.vals)
                continue
            if not isinstance(val, Vec):
                kind = "range vector" if isinstance(val, Mat) else "string"
                raise _err(f'invalid expression type "{kind}" for range query, must be Scalar or instant Vector')
            hists = val.hists
            any_hists = any_hists or hists is not None
            labels = val.labels
            if self.delayed_name_removal:
                labels = [lab.final() for lab in labels]
            for i, (lab, vals, mask) in enumerate(zip(labels, val.vals, val.mask, strict=True)):
                if mask.any():
                    parts.setdefault(lab, []).append(
                        (tchunk[mask], vals[mask], hists[i][mask] if hists is not None else None))
        if is_scalar:
            allv = np.concatenate(scalar_parts) if scalar_parts else np.empty(0)
            ts = times / 1000.0
            return Result(
                "matrix",
                [SeriesResult(Labels(), ts, allv)],
                scalar_timestamps=ts,
                scalar_values=allv,
            )
        series = []
        for lab in sorted(parts):
            got = parts.pop(lab)  # free the per-chunk pieces as we go (peak memory of long ranges)
            ts = np.concatenate([p[0] for p in got]) / 1000.0
            vs = np.concatenate([p[1] for p in got])
            hl = None
            if any_hists and any(p[2] is not None and has_hist(p[2]) for p in got):
                hl = [h for p in got for h in (p[2] if p[2] is not None else [None] * len(p[0]))]
                vs = np.where(np.array([h is not None for h in hl], dtype=bool), np.nan, vs)
            del got
            if self.delayed_name_removal and len(ts) > 1 and not (np.diff(ts) > 0).all():
                # Series that differed only by a dropped name (`a or -b`): merged by time as Prometheus
                # merges them, an error where two have a sample at one step.
                order = np.argsort(ts, kind="stable")
                ts, vs = ts[order], vs[order]
                if hl is not None:
                    hl = [hl[k] for k in order]
                if (np.diff(ts) == 0).any():
                    raise _err("vector cannot contain metrics with the same labelset")
            series.append(SeriesResult(lab, ts, vs, hl))
        return Result("matrix", series)

    def selected_names(self, query: str) -> set[str] | None:
        """Metric names an expression reads, if instant_many() may serve it: every selector must name
        one metric, and no `@`, negative `offset`, `smoothed`, sort/topk/bottomk/count_values. None otherwise."""
        try:
            expr = self._parse(query)
        except PromQLError:
            return None
        names: set[str] = set()
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
                stack.append(node.expr)
            elif isinstance(node, pp.BinaryExpr):
                stack += [node.lhs, node.rhs]
            elif isinstance(node, pp.AggregateExpr):
                if str(node.op).lower() in _ORDERING_AGGS:
                    return None
                stack.append(node.expr)
                if node.param is not None:
                    stack.append(node.param)
            elif isinstance(node, pp.Call):
                if (node.func.name in _ORDERING_FUNCS or node.func.name in durexpr.QUERY_FUNCS
                        or node.func.name in extended.LOOKS_AHEAD):
                    return None
                stack += list(node.args)
            elif isinstance(node, pp.MatrixSelector):
                stack.append(node.vector_selector)
            elif isinstance(node, pp.SubqueryExpr | pp.VectorSelector):
                if node.at is not None or ast.td_ms(node.offset) < 0:
                    return None
                if isinstance(node, pp.SubqueryExpr):
                    stack.append(node.expr)
                    continue
                found = {next((m[2] for m in g if m[0] == "=" and m[1] == "__name__"), None)
                         for g in ast.matchers_of(node)}
                if len(found) != 1 or None in found:
                    return None
                names |= {n for n in found if n is not None}
            elif not isinstance(node, pp.NumberLiteral | pp.StringLiteral):
                return None
        return names

    def instant_many(self, query: str, times_ms: list[int]) -> list[list[tuple[Labels, float]]] | None:
        """Instant queries at several times evaluated together (vectorised over the times).

        Returns per time the result as (labels, value) pairs in instant-query order (a scalar becomes
        one sample without labels), identical to instant() at each time; None when that cannot be
        guaranteed (see selected_names(); also results whose row order depends on the times evaluated)
        or the query fails or is not a vector/scalar (callers then query step by step). Not with delayed
        name removal (callers then use instant(), which does it)."""
        if self.delayed_name_removal or self.selected_names(query) is None:
            return None
        expr = self._parse(query, 0, 0)
        out: list[list[tuple[Labels, float]]] = []
        times = np.asarray(times_ms, dtype=np.int64)
        if len(times) == 0:
            return out
        chunk = max(64, self.max_chunk_elements // max(1, len(self.storage)))
        for i in range(0, len(times), chunk):
            tchunk = times[i : i + chunk]
            before = _MERGES[0]
            ev = _Evaluator(self, int(tchunk[0]), int(tchunk[-1]))
            try:
                val = ev.eval(expr, tchunk)
            except Exception:  # the step-by-step path then reports errors at the right step
                return None
            if ev.order is not None or _MERGES[0] != before:
                return None
            if isinstance(val, Vec) and val.hists is not None:
                return None  # native histogram results: served step by step (instant())
            if isinstance(val, Scalar) and val.vals.shape == tchunk.shape:
                out += [[(Labels(), float(x))] for x in val.vals]
            elif isinstance(val, Vec) and val.n == 0:
                out += [[] for _ in range(len(tchunk))]
            elif isinstance(val, Vec) and val.vals.shape == val.mask.shape == (val.n, len(tchunk)):
                cols = val.mask.T
                vals = val.vals.T
                labels = val.labels
                for k in range(len(tchunk)):
                    rows = np.flatnonzero(cols[k])
                    vk = vals[k]
                    out.append([(labels[r], float(vk[r])) for r in rows])
            else:
                return None
        return out

    def _parse(self, query: str, step_ms: int | None = None, range_ms: int | None = None) -> Any:
        """The AST of `query`; step_ms and range_ms: the query's step (0 for an instant query) and
        end - start, the values of step() and range() in duration expressions."""
        # Rule evaluation parses the same few expressions at every step; the AST is never mutated.
        ctx = None
        key: Any = query
        need = self._ctx_needed.get(query)
        if need is None:
            need = self._ctx_needed[query] = self.v3 and durexpr.needs_context(query)
            if len(self._ctx_needed) > 4096:
                self._ctx_needed.clear()
        if need and step_ms is not None and range_ms is not None:
            ctx = durexpr.Context(durexpr.go_seconds(step_ms), durexpr.go_seconds(range_ms), self._dur_unknown)
            key = (query, step_ms, range_ms)
        expr = self._parse_cache.get(key)
        if expr is None:
            try:
                # Prometheus 3 duration expressions (`[5m * 2]`, `offset (1h + 5m)`) become literals.
                text = durexpr.rewrite(query, ctx) if self.v3 else query
                if self.extended_range:
                    text = extended.rewrite(text)
                expr = ast.parse(text)
            except extended.ModifierSyntaxError:
                raise
            except PromQLError:
                # Prometheus' own wording and position where the port of its parser finds the error.
                go = promql_goparse.syntax_error(extended.readable(query) if self.extended_range else query)
                if go is not None:
                    raise PromQLError(go) from None
                raise
            # `x @ 6m`: Prometheus 2.42 rejects it, 3.x (and promql-parser) read 360 s.
            at_err = None if self.v3 else promql_goparse.at_duration_error(query)
            if at_err is None and _FILL_RX.search(query):
                at_err = _fill_error(expr)
            if at_err is None and self._unknown_rx is not None and self._unknown_rx.search(query):
                at_err = _unknown_function_error(query, expr, self.unknown_functions)
            if at_err is None and self.v3 and not self.experimental:
                at_err = ast.experimental_error(query, expr)
            if at_err is not None:
                raise PromQLError(at_err)
            if len(self._parse_cache) > 4096:
                self._parse_cache.clear()
            self._parse_cache[key] = expr
        return expr

    # -- storage access -----------------------------------------------------------------------

    def _compiled(self, op: str, name: str, value: str) -> _Compiled:
        key = (op, name, value)
        c = self._rx_cache.get(key)
        if c is None:
            c = self._rx_cache[key] = _Compiled(op, name, value, self.v3)
        return c

    def _bases(self) -> tuple[Flat, Flat]:
        """All stored series as one base Flat (with and without stale markers), rebuilt on change."""
        if self._cache_version != self.storage.version or self._base is None:
            self._cache_version = self.storage.version
            self._forget(self._base)
            # Insertion order, like the series order of Prometheus' TSDB head (series creation order);
            # it decides the summation order of aggregations, so results match bit for bit.
            self._base = _build_bases(self.storage.series())
        return self._base

    def fn_cache_charge(self, shared: dict[object, object], key: Any, nbytes: int, budget: int) -> None:
        """Account nbytes more for a cached function result (0: a cache hit) and evict the least
        recently used other results while the total is over budget."""
        with self._lock:
            k = (id(shared), key)
            old = self._fn_lru.pop(k, None)
            self._fn_lru[k] = (shared, (old[1] if old is not None else 0) + nbytes)
            self._fn_bytes += nbytes
            while self._fn_bytes > budget and len(self._fn_lru) > 1:
                (_, okey), (osh, osize) = self._fn_lru.popitem(last=False)
                osh.pop(okey, None)
                self._fn_bytes -= osize

    def _forget(self, bases: tuple[Flat, Flat] | None) -> None:
        """Drop the function-result accounting of bases being replaced."""
        if bases is None:
            return
        ids = {id(bases[0].shared), id(bases[1].shared)}
        for k in [k for k in self._fn_lru if k[0] in ids]:
            self._fn_bytes -= self._fn_lru.pop(k)[1]

    def _name_bases(self, name: str) -> tuple[int, Flat, Flat]:
        """The series of one metric name as a base Flat pair, rebuilt only when that name changes."""
        stamp = self.storage.name_version(name)
        got = self._name_base.get(name)
        if got is None or got[0] != stamp:
            if got is not None:
                self._forget((got[1], got[2]))
            full, nostale = _build_bases(self.storage.series_named(name))
            got = (stamp, full, nostale)
            self._name_base[name] = got
        return got

    def select(self, vs: Any) -> tuple[Flat, Flat]:
        """(all samples incl. stale markers, samples without stale markers) of matching series."""
        groups = ast.matchers_of(vs)
        key = tuple(tuple(g) for g in groups)
        with self._lock:
            names = {next((m[2] for m in g if m[0] == "=" and m[1] == "__name__"), None) for g in groups}
            name = names.pop() if len(names) == 1 else None
            if name is not None:
                # Every alternative selects one metric name: only that name's series can match, and
                # only changes to them invalidate the selection.
                stamp, full, nostale = self._name_bases(name)
            else:
                full, nostale = self._bases()
                stamp = self.storage.version
            hit = self._sel_cache.get(key)
            if hit is not None and hit[0] == stamp and hit[1] is full:
                return hit[2]
            compiled = [[self._compiled(*m) for m in g] for g in groups]
            for g in compiled:
                if all(m.matches("") for m in g):
                    raise _err("vector selector must contain at least one non-empty matcher")
            rows = [
                i
                for i, lab in enumerate(full.labels)
                if any(all(m.matches(lab.get(m.name, "")) for m in g) for g in compiled)
            ]
            res = (full.subset(rows), nostale.subset(rows) if nostale is not full else full.subset(rows))
            if len(self._sel_cache) > 4096:
                self._sel_cache.clear()
            self._sel_cache[key] = (stamp, full, res)
            return res


_FILL_RX = re.compile(r"(?<![A-Za-z0-9_:])fill(?:_left|_right)?\s*\(", re.IGNORECASE)


def _fill_error(node: Any) -> str | None:
    """An error for the binary-operator fill modifiers (`a + fill(0) b`, Prometheus 3.16's
    promql-binop-fill-modifiers feature), which promql-parser reads but the engine does not evaluate."""
    for n in ast.preorder(node):
        if isinstance(n, pp.BinaryExpr):
            fv = n.modifier.fill_values if n.modifier is not None else None
            if fv is not None and (fv.lhs is not None or fv.rhs is not None):
                return ("parse error: the fill modifiers of binary operators (fill, fill_left, fill_right) "
                        "are not supported")
    return None


def _unknown_function_error(text: str, node: Any, unknown: frozenset[str]) -> str | None:
    """Prometheus's parse error for the first call of a function its version does not know."""
    for n in ast.preorder(node):
        if isinstance(n, pp.Call) and n.func.name in unknown:
            pos = ast.name_position(text, n.func.name)
            where = f"{pos[0]}:{pos[1]}: " if pos else ""
            return f'{where}parse error: unknown function with name "{n.func.name}"'
    return None


def _contiguous(arrays: list[np.ndarray]) -> np.ndarray | None:
    """One view over `arrays` when they are consecutive pieces of one 1-D buffer, else None."""
    parts = [a for a in arrays if len(a)]
    if not parts:
        return None
    base = parts[0].base
    if not isinstance(base, np.ndarray) or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    item = base.itemsize
    origin = base.__array_interface__["data"][0]
    start = parts[0].__array_interface__["data"][0]
    pos = start
    for a in parts:
        if (a.base is not base or a.dtype != base.dtype or not a.flags.c_contiguous
                or a.__array_interface__["data"][0] != pos):
            return None
        pos += len(a) * item
    first = (start - origin) // item
    view = base[first : first + (pos - start) // item]
    return view if len(view) == sum(len(a) for a in arrays) else None


def _build_bases(stored: list[StoredSeries]) -> tuple[Flat, Flat]:
    labels = [s.labels for s in stored]
    offs = np.zeros(len(stored) + 1, dtype=np.int64)
    offs[1:] = np.cumsum([len(s.ts) for s in stored])
    if stored:
        # Series whose arrays already lie end to end in one buffer (a backtest's storage) are taken as
        # they are; otherwise they are copied into one array.
        ts = _contiguous([s.ts for s in stored])
        if ts is None:
            ts = np.concatenate([s.ts for s in stored])
        vals = _contiguous([s.vs for s in stored])
        if vals is None:
            vals = np.concatenate([s.vs for s in stored])
    else:
        ts, vals = np.empty(0, dtype=np.int64), np.empty(0)
    hs: np.ndarray | None = None
    if any(s.hs is not None for s in stored):
        hs = np.empty(len(ts), dtype=object)
        for i, s in enumerate(stored):
            if s.hs is not None:
                hs[offs[i] : offs[i + 1]] = s.hs
    # Let the storage share our consolidated arrays instead of keeping a second copy.
    for i, s in enumerate(stored):
        s.share(ts[offs[i] : offs[i + 1]], vals[offs[i] : offs[i + 1]],
                hs[offs[i] : offs[i + 1]] if hs is not None else None)
    full = make_base(labels, ts, vals, offs, hs)
    keep = ~stale_mask(vals)
    if keep.all():
        nostale = full
    else:
        seg = np.repeat(np.arange(len(stored)), np.diff(offs))
        counts = np.bincount(seg[keep], minlength=len(stored))
        offs2 = np.zeros(len(stored) + 1, dtype=np.int64)
        offs2[1:] = np.cumsum(counts)
        nostale = make_base(labels, ts[keep], vals[keep], offs2, hs[keep] if hs is not None else None)
    return full, nostale


def _final_labels(res: Result) -> Result:
    """An instant result with the pending `__name__` removals done (delayed name removal)."""
    if res.type != "vector":
        return res
    seen: set[Labels] = set()
    for s in res.series:
        s.labels = s.labels.final()
        if s.labels in seen:
            raise _err("vector cannot contain metrics with the same labelset")
        seen.add(s.labels)
    return res


def _to_instant_result(val: Value, ev: _Evaluator, expr: Any, t_ms: int) -> Result:
    if isinstance(val, Scalar):
        return Result("scalar", scalar=float(val.vals[0]))
    if isinstance(val, Str):
        return Result("string", string=val.val)
    if isinstance(val, Mat):
        series = []
        fhs = val.flat.hs
        for i, lab in enumerate(val.labels):
            lo, hi = int(val.lo[i, 0]), int(val.hi[i, 0])
            if hi > lo:
                hl = None
                if fhs is not None and has_hist(fhs[lo:hi]):
                    hl = list(fhs[lo:hi])
                series.append(SeriesResult(lab, val.flat.ts[lo:hi] / 1000.0, val.flat.vs[lo:hi].copy(), hl))
        series.sort(key=lambda s: s.labels.items_tuple)
        return Result("matrix", series)
    out = []
    rows = ev.order if ev.order is not None else list(range(val.n))
    hists = val.hists
    for i in rows:
        if val.mask[i, 0]:
            h = hists[i, 0] if hists is not None else None
            out.append(SeriesResult(val.labels[i], np.array([t_ms / 1000.0]),
                                    np.array([np.nan if h is not None else val.vals[i, 0]]),
                                    [h] if h is not None else None))
    return Result("vector", out)


class _Evaluator:
    def __init__(self, engine: Engine, start_ms: int, end_ms: int) -> None:
        self.engine = engine
        self.start_ms = start_ms
        self.end_ms = end_ms
        # The query's step (ms) as Prometheus's step() sees it: 0 for an instant query.
        self.query_step_ms = 0
        self.order: list[int] | None = None  # output order of the top-level vector (sort, topk, ...)
        self.pending_order: list[int] | None = None
        # (phase, step) when the times being evaluated are phase + step*k (range queries, subqueries).
        self.grid: tuple[int, int] | None = None
        self.span = (start_ms - 86_400_000, end_ms)
        # The query's strings that are invalid UTF-8 for Go (3.x label-name checks, invalid_utf8_strings).
        self.invalid_strings: dict[str, str] = {}

    # -- dispatch -----------------------------------------------------------------------------

    def eval(self, node: Any, times: np.ndarray) -> Value:
        self.pending_order = None
        val = self._dispatch(node, times)
        keeps_order = isinstance(node, pp.ParenExpr | pp.AggregateExpr) or (
            isinstance(node, pp.Call) and node.func.name in _ORDERING_FUNCS
        )
        if not keeps_order:
            self.pending_order = None
        self.order = self.pending_order
        return val

    def _dispatch(self, node: Any, times: np.ndarray) -> Value:
        if isinstance(node, pp.ParenExpr):
            return self.eval(node.expr, times)
        if isinstance(node, pp.NumberLiteral):
            return Scalar(np.full(len(times), float(node.val)))
        if isinstance(node, pp.StringLiteral):
            return Str(node.val)
        if isinstance(node, pp.VectorSelector):
            return self.vector_selector(node, times)
        if isinstance(node, pp.MatrixSelector):
            return self.matrix_selector(node, times)
        if isinstance(node, pp.SubqueryExpr):
            return self.subquery(node, times)
        if isinstance(node, pp.UnaryExpr):
            return self.unary(node, times)
        if isinstance(node, pp.BinaryExpr):
            return self.binary(node, times)
        if isinstance(node, pp.AggregateExpr):
            from opsctl.promql.aggregate import aggregate

            return aggregate(self, node, times)
        if isinstance(node, pp.Call):
            from opsctl.promql.functions import call

            return call(self, node, times)
        raise _err(f"unsupported expression {type(node).__name__}")

    def eval_vec(self, node: Any, times: np.ndarray) -> Vec:
        """An instant vector argument of a float-only function: histogram samples are left out (as
        Prometheus ignores them there)."""
        return self.eval_vec_h(node, times).floats()

    def eval_vec_h(self, node: Any, times: np.ndarray) -> Vec:
        """An instant vector, native-histogram samples included."""
        v = self.eval(node, times)
        if not isinstance(v, Vec):
            raise _err(f"expected instant vector, got {type(v).__name__}")
        return v

    def eval_scalar(self, node: Any, times: np.ndarray) -> np.ndarray:
        v = self.eval(node, times)
        if not isinstance(v, Scalar):
            raise _err(f"expected scalar, got {type(v).__name__}")
        return v.vals

    def eval_str(self, node: Any, times: np.ndarray) -> str:
        v = self.eval(node, times)
        if not isinstance(v, Str):
            raise _err(f"expected string, got {type(v).__name__}")
        return v.val

    # -- selectors ----------------------------------------------------------------------------

    def ref_times(self, node: Any, times: np.ndarray) -> np.ndarray:
        """Evaluation times for a selector/subquery after @ and offset."""
        at = ast.at_ms(node)
        off = ast.td_ms(node.offset)
        if at is None:
            return times - off
        kind, ms = at
        if kind == "start":
            ms = self.start_ms
        elif kind == "end":
            ms = self.end_ms
        assert ms is not None
        return np.full(len(times), ms - off, dtype=np.int64)

    def _ref_grid(self, node: Any) -> tuple[int, int] | None:
        if self.grid is None or node.at is not None:
            return None
        return (self.grid[0] - ast.td_ms(node.offset), self.grid[1])

    def vector_selector(self, node: Any, times: np.ndarray) -> Vec:
        full, _ = self.engine.select(node)
        refs = self.ref_times(node, times)
        if full.n == 0:
            return Vec([], np.empty((0, len(times))), np.zeros((0, len(times)), dtype=bool))
        idx = full.index_right(refs, self._ref_grid(node), self.span) - 1
        valid = idx >= full.starts[:, None]
        idx = np.maximum(idx, 0)
        if len(full.ts) == 0:
            return Vec(list(full.labels), np.zeros(valid.shape), valid)
        t = full.ts[idx]
        v = full.vs[idx]
        lb = refs[None, :] - self.engine.lookback_ms
        valid &= (t > lb) if self.engine.v3 else (t >= lb)
        valid &= ~stale_mask(v)
        hs = full.hs
        if hs is not None:
            h = hists_where(valid, hs[idx])
            return Vec(list(full.labels), v, valid, sample_ts=t, hists=h if has_hist(h) else None)
        return Vec(list(full.labels), v, valid, sample_ts=t)

    def windows(
        self, flat: Flat, refs: np.ndarray, rng: int, grid: tuple[int, int] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        hi = flat.index_right(refs, grid, self.span)
        shift = rng if self.engine.v3 else rng + 1
        lgrid = (grid[0] - shift, grid[1]) if grid is not None else None
        lo = flat.index_right(refs - shift, lgrid, self.span)
        return lo, hi

    def matrix_selector(self, node: Any, times: np.ndarray) -> Mat:
        vs = node.vector_selector
        _, flat = self.engine.select(vs)
        refs = self.ref_times(vs, times)
        rng = ast.td_ms(node.range)
        lo, hi = self.windows(flat, refs, rng, self._ref_grid(vs))
        return Mat(flat, list(flat.labels), lo, hi, refs, rng)

    def subquery(self, node: Any, times: np.ndarray) -> Mat:
        refs = self.ref_times(node, times)
        rng = ast.td_ms(node.range)
        step = ast.td_ms(node.step) if node.step is not None else self.engine.default_subquery_step_ms
        if step <= 0:
            step = self.engine.default_subquery_step_ms
        lo_t = int(refs.min()) - rng
        first = -((-lo_t) // step) * step  # ceil to a multiple of step
        inner_times = np.arange(first, int(refs.max()) + 1, step, dtype=np.int64)
        if len(inner_times) == 0:
            inner_times = np.empty(0, dtype=np.int64)
        labels: list[Labels] = []
        chunks_ts: dict[Labels, list[np.ndarray]] = {}
        chunks_vs: dict[Labels, list[np.ndarray]] = {}
        chunks_hs: dict[Labels, list[np.ndarray | None]] = {}
        any_h = False
        n_series = max(1, len(self.engine.storage))
        chunk = max(64, self.engine.max_chunk_elements // n_series)
        saved_grid, saved_span = self.grid, self.span
        self.grid = (int(first), step)
        self.span = (int(first) - 86_400_000, int(inner_times[-1]) if len(inner_times) else int(first))
        for i in range(0, len(inner_times), chunk):
            it = inner_times[i : i + chunk]
            inner = self.eval(node.expr, it)
            if not isinstance(inner, Vec):
                raise _err("subquery is only allowed on instant vector")
            ih = inner.hists
            for k, (lab, vals, mask) in enumerate(zip(inner.labels, inner.vals, inner.mask, strict=True)):
                if not mask.any():
                    continue
                if lab not in chunks_ts:
                    labels.append(lab)
                    chunks_ts[lab], chunks_vs[lab], chunks_hs[lab] = [], [], []
                chunks_ts[lab].append(it[mask])
                chunks_vs[lab].append(vals[mask])
                chunks_hs[lab].append(ih[k][mask] if ih is not None else None)
                any_h = any_h or ih is not None
        self.grid, self.span = saved_grid, saved_span
        labels.sort(key=lambda lab: lab.items_tuple)
        if labels:
            ts = np.concatenate([np.concatenate(chunks_ts[lab]) for lab in labels])
            vs = np.concatenate([np.concatenate(chunks_vs[lab]) for lab in labels])
        else:
            ts, vs = np.empty(0, dtype=np.int64), np.empty(0)
        offs = np.zeros(len(labels) + 1, dtype=np.int64)
        offs[1:] = np.cumsum([sum(len(c) for c in chunks_ts[lab]) for lab in labels])
        shs = None
        if any_h and labels:
            shs = np.concatenate([
                np.concatenate([h if h is not None else np.full(len(c), None, dtype=object)
                                for h, c in zip(chunks_hs[lab], chunks_ts[lab], strict=True)])
                for lab in labels])
            if not has_hist(shs):
                shs = None
            else:
                from opsctl.promql.histogram import CounterResetHint
                from opsctl.promql.model import HIST_NAN

                vs = np.where(is_hist(shs), HIST_NAN, vs)
                # Like Prometheus: explicit (not-)counter-reset hints become unknown in a subquery's
                # samples, which may skip or repeat the sample that carries them.
                for hk in np.flatnonzero(is_hist(shs)):
                    h = shs[hk]
                    if h.counter_reset_hint in (CounterResetHint.COUNTER_RESET, CounterResetHint.NOT_COUNTER_RESET):
                        h = h.copy()
                        h.counter_reset_hint = CounterResetHint.UNKNOWN
                        shs[hk] = h
        flat = make_base(labels, ts, vs, offs, shs)
        sgrid = None
        if self.grid is not None and node.at is None:
            sgrid = (self.grid[0] - ast.td_ms(node.offset), self.grid[1])
        lo, hi = self.windows(flat, refs, rng, sgrid)
        return Mat(flat, list(labels), lo, hi, refs, rng)

    # -- operators ----------------------------------------------------------------------------

    def unary(self, node: Any, times: np.ndarray) -> Value:
        v = self.eval(node.expr, times)
        if isinstance(v, Scalar):
            return Scalar(-v.vals)
        if isinstance(v, Vec):
            hists = v.hists
            if hists is not None:
                hists = hists.copy()
                from opsctl.promql.histogram import CounterResetHint

                gauge = self.engine.hist_negative_gauge
                for i, j in zip(*np.nonzero(is_hist(hists)), strict=True):
                    hists[i, j] = hists[i, j].mul(-1.0)
                    if gauge:  # Prometheus >= 3.7: Mul(-1) makes it a gauge histogram
                        hists[i, j].counter_reset_hint = CounterResetHint.GAUGE
            return merge_rows(drop_name(v.labels), -v.vals, v.mask, hists)
        raise _err("unary expression only allowed on expressions of type scalar or instant vector")

    def binary(self, node: Any, times: np.ndarray) -> Value:
        op = str(node.op).lower()
        mod = node.modifier
        return_bool = bool(mod.return_bool) if mod is not None else False
        lhs = self.eval(node.lhs, times)
        rhs = self.eval(node.rhs, times)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            val, keep = _binop(op, lhs.vals, rhs.vals)
            if keep is not None:
                if not return_bool:
                    raise _err("comparisons between scalars must use BOOL modifier")
                val = keep.astype(float)
            return Scalar(val)
        if isinstance(lhs, Vec) and isinstance(rhs, Scalar):
            return self._vec_scalar(op, lhs, rhs.vals, False, return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vec):
            return self._vec_scalar(op, rhs, lhs.vals, True, return_bool)
        if isinstance(lhs, Vec) and isinstance(rhs, Vec):
            if op in _SET:
                return self._set_op(op, lhs, rhs, mod, len(times))
            return self._vec_vec(op, lhs, rhs, mod, return_bool, len(times))
        raise _err(f"binary expression must contain only scalar and instant vector types, op {op}")

    def _vec_scalar(self, op: str, vec: Vec, sc: np.ndarray, swap: bool, return_bool: bool) -> Vec:
        if vec.hists is not None:
            return self._vec_scalar_h(op, vec, sc, swap, return_bool)
        a, b = (sc[None, :], vec.vals) if swap else (vec.vals, sc[None, :])
        val, keep = _binop(op, a, b)
        mask = vec.mask
        if keep is not None:
            val = np.broadcast_to(vec.vals, vec.vals.shape).copy()
            if return_bool:
                val = keep.astype(float)
            else:
                mask = mask & keep
        else:
            val = np.broadcast_to(val, vec.vals.shape).copy()
        labels = vec.labels
        if op in _DROPS_NAME or return_bool or (op == "atan2" and self.engine.v3):
            return merge_rows(drop_name(labels), val, mask)
        return Vec(list(labels), val, mask)

    def _vec_scalar_h(self, op: str, vec: Vec, sc: np.ndarray, swap: bool, return_bool: bool) -> Vec:
        assert vec.hists is not None
        a, b = (sc[None, :], vec.vals) if swap else (vec.vals, sc[None, :])
        ha, hb = (None, vec.hists) if swap else (vec.hists, None)
        val, keep, hout, dropped = _hist_binop(op, a, b, ha, hb, return_bool, vec.vals.shape,
                                               gauge=self.engine.hist_negative_gauge)
        mask = vec.mask & ~dropped
        if keep is not None:
            val = np.where(is_hist(vec.hists), np.nan, vec.vals)
            if return_bool:
                val = keep.astype(float)
                hout = np.full(vec.vals.shape, None, dtype=object)
            else:
                mask = mask & keep
                hout = hists_where(mask, vec.hists)
        labels = vec.labels
        if op in _DROPS_NAME or return_bool or (op == "atan2" and self.engine.v3):
            return merge_rows(drop_name(labels), val, mask, hout)
        return merge_rows(list(labels), val, mask, hout) if has_hist(hout) else Vec(list(labels), val, mask)

    @staticmethod
    def _sig_fn(mod: Any, metadata: bool = False) -> Callable[[Labels], tuple[tuple[str, str], ...]]:
        """The matching signature of a series; metadata (Engine.type_unit_transparent, Prometheus >= 3.16):
        without `on`, `__type__` and `__unit__` are left out like `__name__`."""
        matching = mod.matching if mod is not None else None
        if matching is not None and matching.type == pp.LabelModifierType.Include:
            names = set(matching.labels)
            return lambda lab: tuple((k, v) for k, v in lab.items_tuple if k in names)
        names = set(matching.labels) if matching is not None else set()
        names.add("__name__")
        if metadata:
            names.update(("__type__", "__unit__"))
        return lambda lab: tuple((k, v) for k, v in lab.items_tuple if k not in names)

    def _set_op(self, op: str, lhs: Vec, rhs: Vec, mod: Any, t: int) -> Vec:
        sig = self._sig_fn(mod, self.engine.type_unit_transparent)
        lsig = [sig(lab) for lab in lhs.labels]
        rsig = [sig(lab) for lab in rhs.labels]
        if op in ("and", "unless"):
            present: dict[Any, np.ndarray] = {}
            for s, m in zip(rsig, rhs.mask, strict=True):
                present[s] = present[s] | m if s in present else m.copy()
            none = np.zeros(t, dtype=bool)
            out_mask = np.empty_like(lhs.mask)
            for i, s in enumerate(lsig):
                p = present.get(s, none)
                out_mask[i] = lhs.mask[i] & (p if op == "and" else ~p)
            return Vec(list(lhs.labels), lhs.vals.copy(), out_mask,
                       hists=hists_where(out_mask, lhs.hists) if lhs.hists is not None else None)
        # or
        lpresent: dict[Any, np.ndarray] = {}
        for s, m in zip(lsig, lhs.mask, strict=True):
            lpresent[s] = lpresent[s] | m if s in lpresent else m.copy()
        none = np.zeros(t, dtype=bool)
        rmask = np.empty_like(rhs.mask)
        for i, s in enumerate(rsig):
            rmask[i] = rhs.mask[i] & ~lpresent.get(s, none)
        labels = list(lhs.labels) + list(rhs.labels)
        vals = np.concatenate([lhs.vals, rhs.vals]) if labels else np.empty((0, t))
        mask = np.concatenate([lhs.mask, rmask]) if labels else np.zeros((0, t), dtype=bool)
        hists = None
        if labels and (lhs.hists is not None or rhs.hists is not None):
            hists = np.concatenate([
                x.hists if x.hists is not None else np.full(x.vals.shape, None, dtype=object) for x in (lhs, rhs)
            ])
        return merge_rows(labels, vals, mask, hists)

    def _vec_vec(self, op: str, lhs: Vec, rhs: Vec, mod: Any, return_bool: bool, t: int) -> Vec:
        card = mod.card if mod is not None else pp.VectorMatchCardinality.OneToOne
        include = list(mod.group_labels or []) if mod is not None else []
        matching = mod.matching if mod is not None else None
        on = matching is not None and matching.type == pp.LabelModifierType.Include
        match_names = list(matching.labels) if matching is not None else []
        if lhs.n == 0 or rhs.n == 0:
            return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
        # Prometheus short-circuits a step where either side has no sample: nothing can match there, so
        # neither side's duplicates are an error at that step.
        both = lhs.mask.any(axis=0) & rhs.mask.any(axis=0)
        if not both.any():
            return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
        if not both.all():
            lhs = Vec(lhs.labels, lhs.vals, lhs.mask & both, lhs.sample_ts, lhs.hists)
            rhs = Vec(rhs.labels, rhs.vals, rhs.mask & both, rhs.sample_ts, rhs.hists)
        with_h = lhs.hists is not None or rhs.hists is not None
        swapped = card == pp.VectorMatchCardinality.OneToMany
        many, one = (rhs, lhs) if swapped else (lhs, rhs)
        sig = self._sig_fn(mod, self.engine.type_unit_transparent)
        # The "one" side: at most one series per signature per step.
        groups: dict[Any, list[int]] = {}
        for i, lab in enumerate(one.labels):
            groups.setdefault(sig(lab), []).append(i)
        one_side = "left" if swapped else "right"
        gvals: dict[Any, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for s, rows in groups.items():
            if len(rows) == 1:
                r = rows[0]
                gvals[s] = (one.vals[r], one.mask[r], np.full(t, r))
                continue
            m = one.mask[rows]
            cnt = m.sum(axis=0)
            if (cnt > 1).any():
                step = int(np.argmax(cnt > 1))
                dup = [rows[k] for k in range(len(rows)) if m[k, step]]
                a, b = one.labels[dup[1]], one.labels[dup[0]]
                if self.engine.v3:  # Prometheus 3 names the series in input order
                    a, b = b, a
                if on:
                    matched = a.only(match_names)
                else:
                    matched = a.without([*match_names, "__name__"])
                raise _err(
                    f"found duplicate series for the match group {matched.go_string()} on the {one_side} "
                    f"hand-side of the operation: [{a.go_string()}, {b.go_string()}];many-to-many matching "
                    "not allowed: matching labels must be unique on one side"
                )
            pick = np.asarray(rows)[np.argmax(m, axis=0)]
            gvals[s] = (one.vals[pick, np.arange(t)], np.asarray(m.any(axis=0)), pick)
        out_labels: list[Labels] = []
        out_vals: list[np.ndarray] = []
        out_mask: list[np.ndarray] = []
        out_h: list[np.ndarray] = []
        matched_count: dict[Any, np.ndarray] = {}
        result_cache: dict[tuple[Labels, Labels], Labels] = {}
        seen_result: dict[tuple[Any, Labels], np.ndarray] = {}
        drop = op in _DROPS_NAME or return_bool or (op == "atan2" and self.engine.v3)
        # Delayed name removal: arithmetic still removes the name here (Prometheus's resultMetric);
        # `bool` comparisons mark it for removal at the end.
        pend = return_bool and _DELAYED_NAME.get() and not (op in _DROPS_NAME or (op == "atan2" and self.engine.v3))
        if pend:
            drop = False
        delayed = _DELAYED_NAME.get()
        one_to_one = card == pp.VectorMatchCardinality.OneToOne
        match_before_filter = self.engine.binop_match_before_filter
        for i, lab in enumerate(many.labels):
            s = sig(lab)
            g = gvals.get(s)
            if g is None:
                continue
            ov, om, opick = g
            m = many.mask[i] & om
            if not m.any():
                continue
            vl, vr = (ov, many.vals[i]) if swapped else (many.vals[i], ov)
            hrow = None
            if with_h:
                oh = one.hists[opick, np.arange(t)] if one.hists is not None else None
                mh = many.hists[i] if many.hists is not None else None
                hl, hr = (oh, mh) if swapped else (mh, oh)
                val, keep, hrow, dropped = _hist_binop(op, vl, vr, hl, hr, return_bool, (t,),
                                                       self.engine.nhcb_reconcile, self.engine.hist_negative_gauge)
                m = m & ~dropped
                if not m.any():
                    continue
            else:
                val, keep = _binop(op, vl, vr)
            # Prometheus >= 3.9 (Engine.binop_match_before_filter): the matching checks below also count
            # the pairs a filter comparison drops.
            mc = m
            if keep is not None:
                if return_bool:
                    val = keep.astype(float)
                else:
                    m = m & keep
            if not match_before_filter:
                mc = m
            if one_to_one:
                if s in matched_count:
                    if (matched_count[s] & mc).any():
                        raise _err(
                            "multiple matches for labels: many-to-one matching must be explicit "
                            "(group_left/group_right)"
                        )
                    matched_count[s] |= mc
                else:
                    matched_count[s] = mc.copy()
            # Result labels may depend on which "one" series matched (group_x include labels).
            picks = np.unique(opick[mc]) if include else np.array([-1])
            for p in picks:
                pm = m if p < 0 else (m & (opick == p))
                pmc = mc if p < 0 else (mc & (opick == p))
                other = one.labels[int(p)] if p >= 0 else Labels()
                key = (lab, other)
                res = result_cache.get(key)
                if res is None:
                    res = self._result_metric(lab, other, drop, one_to_one, on, match_names, include, delayed)
                    if pend:
                        res = res.with_pending_drop()
                    result_cache[key] = res
                if not one_to_one:
                    k2 = (s, res)
                    if k2 in seen_result:
                        if (seen_result[k2] & pmc).any():
                            raise _err("multiple matches for labels: grouping labels must ensure unique matches")
                        seen_result[k2] = seen_result[k2] | pmc
                    else:
                        seen_result[k2] = pmc
                if not pm.any():
                    continue
                out_labels.append(res)
                out_vals.append(val)
                out_mask.append(pm)
                if with_h:
                    out_h.append(hrow if hrow is not None else np.full(t, None, dtype=object))
        if not out_labels:
            return Vec([], np.empty((0, t)), np.zeros((0, t), dtype=bool))
        return merge_rows(out_labels, np.vstack(out_vals), np.vstack(out_mask),
                          np.vstack(out_h) if with_h else None)

    @staticmethod
    def _result_metric(
        lhs: Labels,
        rhs: Labels,
        drop: bool,
        one_to_one: bool,
        on: bool,
        match_names: list[str],
        include: list[str],
        delayed: bool = False,
    ) -> Labels:
        d = dict(lhs.items_tuple)
        if drop:
            d.pop("__name__", None)
            if delayed:  # Prometheus 3's resultMetric removes the metadata labels with the name
                d.pop("__type__", None)
                d.pop("__unit__", None)
        if one_to_one:
            if on:
                d = {k: v for k, v in d.items() if k in match_names}
            else:
                for n in match_names:
                    d.pop(n, None)
        for n in include:
            v = rhs.get(n, "")
            if v:
                d[n] = v
            else:
                d.pop(n, None)
        return Labels(d)


def check_label_name(name: str, v3: bool = False, invalid: Mapping[str, str] | None = None) -> bool:
    """A valid label name: Prometheus 2's legacy pattern; Prometheus 3's UTF-8 names: any non-empty name
    that is valid UTF-8, i.e. not one of the query's `invalid` strings (invalid_utf8_strings)."""
    if v3:
        return name != "" and (invalid is None or name not in invalid)
    return bool(_LABEL_NAME_RE.match(name))


def invalid_utf8_strings(query: str) -> dict[str, str]:
    """The string literals of `query` that Go reads as invalid UTF-8 (byte escapes such as `"\\xff"`), as
    promql-parser hands them over (each such byte as the code point of its value) -> Go's bytes (a
    surrogateescape str, gosem.strconv; `quote` writes it as Go does)."""
    if "\\" not in query:
        return {}
    out: dict[str, str] = {}
    for lit in promql_goparse.string_literals(query):
        try:
            go = gosem_strconv.unquote(lit)
        except gosem_strconv.ErrSyntax:
            continue
        if any(0xDC80 <= ord(c) <= 0xDCFF for c in go):
            out["".join(chr(ord(c) - 0xDC00) if 0xDC80 <= ord(c) <= 0xDCFF else c for c in go)] = go
    return out
