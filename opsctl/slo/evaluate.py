"""Evaluate the PromQL of SLI queries over exported samples, one value per grid interval.

The report works on a grid of `G` intervals of `step` seconds; interval `i` is `(t0 + i*step, t0 + (i+1)*step]`
(right-closed like Prometheus ranges). Raw samples are first folded into per-series, per-interval
accumulators (`SampleStore`): sum, count, min, max, last value and counter increase (resets handled). That
folding is streaming-friendly: memory is `series x intervals`, never rows.

Expressions are then evaluated on those accumulators with Prometheus semantics for the subset SLIs use:
selectors with matchers and `offset`; `rate`, `irate`, `increase` and the `*_over_time` functions over a
range that is a whole number of steps (`{{.window}}` is rendered as the step); subqueries `(expr)[r:]` at
step resolution; `sum/avg/min/max/count/group` with `by`/`without`; arithmetic, comparisons (with and
without `bool`), `and/or/unless` with `on/ignoring/group_left/group_right`; `vector`, `scalar`, `abs`,
`ceil`, `floor`, `clamp_min`, `clamp_max`, `histogram_quantile`. Anything else is an `InputError`.

Differences from Prometheus, all documented in docs/slo.md: `rate()` is the exact counter increase inside
the range divided by the range (no extrapolation); instant selectors look back 5 minutes for a sample.
With `count_mode=True` (request-based SLIs) `rate()` returns the increase itself, so ratios are unchanged and
sums over intervals are event counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import promql_parser

from opsctl import promql_syntax
from opsctl.errors import InputError
from opsctl.gosem import regexp as gosem_regexp

LOOKBACK = 300.0
NAME = "__name__"


# ------------------------------------------------------------------------------------------ accumulation


Matchers = list[tuple[str, str, str]]
COUNTER_FNS = ("rate", "irate", "increase")


def _groups(vs: Any) -> list[Matchers]:
    """A selector's matchers as alternatives (opsctl.promql_syntax.matcher_groups), each [(name, op, value)]."""
    return [[(m.name, m.symbol, m.value) for m in group] for group in promql_syntax.matcher_groups(vs)]


def _matchers(vs: Any) -> Matchers:
    """The matchers of a selector without `or` alternatives."""
    return _groups(vs)[0]


@dataclass(frozen=True)
class PreAgg:
    """`sum [by|without (...)] (rate|irate|increase(selector[range]))`: summed while reading, because a sum
    of counter increases needs no per-series detail. Keyed by the expression's text."""

    key: str
    matchers: tuple[tuple[str, str, str], ...]
    grouping: tuple[str, ...] | None  # None: no modifier
    without: bool

    def group_labels(self, labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
        if self.grouping is None:
            return ()
        if self.without:
            return tuple(sorted((k, v) for k, v in labels.items() if k not in self.grouping and k != NAME))
        return tuple(sorted((k, labels[k]) for k in self.grouping if k in labels))


@dataclass
class Plan:
    """What a set of queries needs from the samples: pre-aggregated counter sums and per-series selectors."""

    preaggs: list[PreAgg]
    selectors: list[Matchers]
    counters: list[Matchers] = field(default_factory=list)  # selectors read by rate/irate/increase

    def wanted(self, labels: dict[str, str]) -> bool:
        return matches_any(labels, self.selectors) or any(
            all(_match(labels.get(n, ""), op, v) for n, op, v in p.matchers) for p in self.preaggs)


def plan_queries(queries: list[str]) -> Plan:
    preaggs: dict[str, PreAgg] = {}
    sels: list[Matchers] = []

    def visit(node: Any) -> None:
        pp = promql_parser
        if isinstance(node, pp.AggregateExpr):
            inner = node.expr
            if (str(node.op) == "sum" and node.param is None and isinstance(inner, pp.Call)
                    and inner.func.name in COUNTER_FNS and len(inner.args) == 1
                    and isinstance(inner.args[0], pp.MatrixSelector)
                    and inner.args[0].vector_selector.offset is None
                    and getattr(inner.args[0].vector_selector, "at", None) is None
                    and not getattr(inner.args[0].vector_selector.matchers, "or_matchers", None)):
                mod = node.modifier
                grouping = None if mod is None else tuple(mod.labels)
                without = mod is not None and mod.type == pp.AggModifierType.Without
                key = str(node)
                preaggs[key] = PreAgg(key, tuple(_matchers(inner.args[0].vector_selector)), grouping, without)
                return
            visit(inner)
            if node.param is not None:
                visit(node.param)
        elif isinstance(node, pp.VectorSelector):
            sels.extend(_groups(node))
        elif isinstance(node, pp.MatrixSelector):
            visit(node.vector_selector)
        elif isinstance(node, pp.BinaryExpr):
            visit(node.lhs)
            visit(node.rhs)
        elif isinstance(node, pp.Call):
            if node.func.name in COUNTER_FNS:
                for a in node.args:
                    if isinstance(a, pp.MatrixSelector):
                        counters.extend(_groups(a.vector_selector))
            for a in node.args:
                visit(a)
        elif isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
            visit(node.expr)

    counters: list[Matchers] = []
    for q in queries:
        try:
            visit(promql_syntax.parse(q))
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"invalid PromQL: {str(exc).strip().splitlines()[0]}") from None
    counters.extend(list(p.matchers) for p in preaggs.values())
    return Plan(list(preaggs.values()), sels, counters)


FULL = ("sum", "count", "min", "max", "last", "inc", "inc_n")


class SampleError(ValueError):
    """A sample an export must not hold: a conflicting duplicate or a negative counter value.

    `rows` are the source rows involved (0-based data rows, None when unknown: in-memory series)."""

    def __init__(self, message: str, rows: tuple[int | None, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.rows = rows


DUPLICATE_POLICIES = ("error", "keep-first")


class SampleStore:
    """Per-interval accumulators on a fixed grid, fed batch by batch, series by series.

    With a `Plan`, counters summed by a `PreAgg` are added into one row per group as they are read, and only
    series matched by other selectors keep a row of their own; without a plan every series keeps one.

    Samples are checked as they come: an exact duplicate (same series, time and value, as merging the
    exports of two replicas gives) is dropped; two different values for one series at one time are an error
    (`on_duplicate="error"`) or the first one is kept (`"keep-first"`); a negative value of a series read as
    a counter (by rate/irate/increase) is an error - a counter never goes below zero, and reading it would
    turn into a counter reset.
    """

    def __init__(self, t0: float, step: float, intervals: int, plan: Plan | None = None,
                 on_duplicate: str = "error") -> None:
        if on_duplicate not in DUPLICATE_POLICIES:
            raise ValueError(f"on_duplicate must be one of {DUPLICATE_POLICIES}")
        self.on_duplicate = on_duplicate
        self.duplicates_dropped = 0
        self.conflicts_dropped = 0
        self._last_row: list[int | None] = []
        self._counter: list[bool] = []
        self.t0 = float(t0)
        self.step = float(step)
        self.G = int(intervals)
        self.plan = plan
        self.labels: list[dict[str, str]] = []  # raw series
        self._index: dict[tuple[tuple[str, str], ...], int] = {}
        self._sinks: list[list[tuple[int, bool]]] = []  # per raw series: (row, full accumulators?)
        self._rows: list[dict[str, np.ndarray]] = []
        self.series_rows: list[tuple[dict[str, str], int]] = []
        self.groups: dict[str, dict[tuple[tuple[str, str], ...], int]] = {}
        self._last_t: list[float] = []
        self._last_v: list[float] = []
        self.samples = 0
        self.first_t = math.inf
        self.last_t = -math.inf

    def _new_row(self, full: bool) -> int:
        g = self.G
        if full:
            row = {"sum": np.zeros(g), "count": np.zeros(g), "min": np.full(g, np.inf),
                   "max": np.full(g, -np.inf), "last": np.full(g, np.nan), "inc": np.zeros(g), "inc_n": np.zeros(g)}
        else:
            row = {"inc": np.zeros(g), "inc_n": np.zeros(g)}
        self._rows.append(row)
        return len(self._rows) - 1

    def series_id(self, labels: dict[str, str]) -> int:
        key = tuple(sorted(labels.items()))
        sid = self._index.get(key)
        if sid is not None:
            return sid
        sid = len(self.labels)
        self._index[key] = sid
        self.labels.append(dict(labels))
        sinks: list[tuple[int, bool]] = []
        if self.plan is None or matches_any(labels, self.plan.selectors):
            row = self._new_row(True)
            self.series_rows.append((dict(labels), row))
            sinks.append((row, True))
        if self.plan is not None:
            for p in self.plan.preaggs:
                if all(_match(labels.get(n, ""), op, v) for n, op, v in p.matchers):
                    gk = p.group_labels(labels)
                    groups = self.groups.setdefault(p.key, {})
                    if gk not in groups:
                        groups[gk] = self._new_row(False)
                    sinks.append((groups[gk], False))
        self._sinks.append(sinks)
        self._last_t.append(-math.inf)
        self._last_v.append(math.nan)
        self._last_row.append(None)
        self._counter.append(self.plan is not None and matches_any(labels, self.plan.counters))
        return sid

    def add(self, sid: int, ts: np.ndarray, vs: np.ndarray, rows: np.ndarray | None = None,
            row_offset: int = 0) -> None:
        """Fold samples of one series, in time order, continuing from earlier calls for that series.

        `rows` (+ `row_offset`): each sample's 0-based data row in the source, named in errors (SampleError)."""
        if ts.size == 0 or not self._sinks[sid]:
            return
        ts = np.asarray(ts, dtype=np.float64)
        vs = np.asarray(vs, dtype=np.float64)
        keep = ~np.isnan(vs)  # NaN samples (incl. staleness markers) carry no value
        if not keep.all():
            ts, vs = ts[keep], vs[keep]
            if rows is not None:
                rows = np.asarray(rows)[keep]
        if ts.size == 0:
            return
        last_t = self._last_t[sid]
        d = np.diff(ts)
        if ts[0] < last_t or (d < 0).any():
            raise ValueError(f"samples of series {self.labels[sid]} are not in time order")

        def src_row(i: int) -> int | None:
            return None if rows is None else int(rows[i]) + row_offset

        if self._counter[sid] and vs.min() < 0:
            i = int(np.flatnonzero(vs < 0)[0])
            raise SampleError(f"counter series {_fmt_labels(self.labels[sid])} has a negative value "
                              f"({_g(vs[i])}) at {_iso(ts[i])}; counters never go below zero", (src_row(i),))
        if ts[0] == last_t or not d.all():  # the same time twice: duplicates (rare, so checked lazily)
            dup = np.empty(ts.size, dtype=bool)
            dup[0] = ts[0] == last_t
            dup[1:] = d == 0
            prev_vv = np.empty_like(vs)
            prev_vv[0] = self._last_v[sid]
            prev_vv[1:] = vs[:-1]
            conflict = dup & (vs != prev_vv)
            if conflict.any():
                i = int(np.flatnonzero(conflict)[0])
                if self.on_duplicate == "error":
                    first = self._last_row[sid] if i == 0 else src_row(i - 1)
                    raise SampleError(
                        f"series {_fmt_labels(self.labels[sid])} has two different values at {_iso(ts[i])} "
                        f"({_g(prev_vv[i])} and {_g(vs[i])}): merged exports of several replicas? Keep one "
                        "replica's samples, or choose --on-duplicate keep-first", (first, src_row(i)))
                self.conflicts_dropped += int(conflict.sum())
            self.duplicates_dropped += int((dup & ~conflict).sum())
            ts, vs = ts[~dup], vs[~dup]
            if rows is not None:
                rows = rows[~dup]
            if ts.size == 0:
                return
        if rows is not None:
            self._last_row[sid] = src_row(ts.size - 1)
        self.samples += int(ts.size)
        self.first_t = min(self.first_t, float(ts[0]))
        self.last_t = max(self.last_t, float(ts[-1]))
        prev_v = np.empty_like(vs)
        prev_v[0] = self._last_v[sid]
        prev_v[1:] = vs[:-1]
        delta = vs - prev_v
        np.copyto(delta, vs, where=delta < 0)  # a counter reset: the increase is the new value
        # vs holds no NaN: only the first sample can lack a previous value (the series' very first sample)
        skip = 1 if math.isnan(prev_v[0]) else 0
        self._last_t[sid] = float(ts[-1])
        self._last_v[sid] = float(vs[-1])
        k = np.ceil((ts - self.t0) / self.step).astype(np.int64) - 1
        if k[0] >= 0 and k[-1] < self.G:  # k is sorted: every sample is inside the grid (the usual case)
            v, d = vs, delta
        else:
            inside = (k >= 0) & (k < self.G)
            if not inside.any():
                return
            skip = skip if inside[0] else 0
            k, v, d = k[inside], vs[inside], delta[inside]
        # Only the span of intervals this chunk touches is updated (a batch covers a short time range).
        lo, hi = int(k[0]), int(k[-1]) + 1
        span = slice(lo, hi)
        kl = k - lo
        inc = np.bincount(kl[skip:], weights=d[skip:], minlength=hi - lo)
        inc_n = np.bincount(kl[skip:], minlength=hi - lo)
        full_done = False
        for row_id, full in self._sinks[sid]:
            row = self._rows[row_id]
            row["inc"][span] += inc
            row["inc_n"][span] += inc_n
            if not full or full_done:
                continue
            full_done = True
            row["sum"][span] += np.bincount(kl, weights=v, minlength=hi - lo)
            row["count"][span] += np.bincount(kl, minlength=hi - lo)
            ends = np.flatnonzero(np.append(k[1:] != k[:-1], True))
            starts = np.concatenate(([0], ends[:-1] + 1))
            ks = k[ends]
            row["last"][ks] = v[ends]
            row["min"][ks] = np.fmin(row["min"][ks], np.minimum.reduceat(v, starts))
            row["max"][ks] = np.fmax(row["max"][ks], np.maximum.reduceat(v, starts))

    MAX_CELLS = 1 << 22  # add_segments' per-batch (rows x intervals) scratch, 32 MiB of float64

    def add_segments(self, seg_sid: np.ndarray, lengths: np.ndarray, ts: np.ndarray, vs: np.ndarray,
                     rows: np.ndarray, row_offset: int = 0) -> bool:
        """`add` for many series at once: `ts`/`vs`/`rows` hold one segment per entry of `seg_sid` (one series'
        samples of a record batch, in time order, `lengths[i]` of them, each series once), folded with
        batch-wide array operations (faster than `add` per series when segments are short: many series, few
        rows each). Returns False without changing anything when the batch needs `add`'s sample-by-sample care
        (a NaN, a repeated or out-of-order time, a negative counter value, a series without accumulators) or
        would need too much scratch memory; the caller then feeds the segments to `add`."""
        n = int(ts.size)
        if n == 0:
            return True
        seg_list = seg_sid.tolist()
        sinks = [self._sinks[sid] for sid in seg_list]
        if not all(sinks) or len(set(seg_list)) < len(seg_list) or np.isnan(vs).any():
            return False
        seg_start = np.zeros(len(seg_list), dtype=np.int64)
        np.cumsum(lengths[:-1], out=seg_start[1:])
        prev_t = np.empty(n)
        prev_t[1:] = ts[:-1]
        prev_t[seg_start] = [self._last_t[sid] for sid in seg_list]
        if (ts <= prev_t).any():
            return False
        counter = np.fromiter((self._counter[sid] for sid in seg_list), dtype=bool, count=len(seg_list))
        if counter.any() and (vs[np.repeat(counter, lengths)] < 0).any():
            return False
        k = np.ceil((ts - self.t0) / self.step).astype(np.int64) - 1
        inside = (k >= 0) & (k < self.G)
        n_in = int(np.count_nonzero(inside))
        lo = int(k[inside].min()) if n_in else 0
        hi = int(k[inside].max()) + 1 if n_in else 0
        slots = max(len(x) for x in sinks)
        if n_in and slots * len(seg_list) * (hi - lo) > self.MAX_CELLS:
            return False
        # every check passed: from here on the store changes
        prev_v = np.empty(n)
        prev_v[1:] = vs[:-1]
        prev_v[seg_start] = [self._last_v[sid] for sid in seg_list]
        ends = (seg_start + lengths - 1).tolist()
        for sid, e in zip(seg_list, ends, strict=True):
            self._last_t[sid] = float(ts[e])
            self._last_v[sid] = float(vs[e])
            self._last_row[sid] = int(rows[e]) + row_offset
        self.samples += n
        self.first_t = min(self.first_t, float(ts.min()))
        self.last_t = max(self.last_t, float(ts.max()))
        if not n_in:
            return True
        delta = vs - prev_v
        np.copyto(delta, vs, where=delta < 0)  # a counter reset: the increase is the new value
        use = inside & ~np.isnan(prev_v)
        span = hi - lo
        kl = k - lo
        for j in range(slots):
            target = np.array([x[j][0] if j < len(x) else -1 for x in sinks], dtype=np.int64)
            row_ids, seg_row = np.unique(target, return_inverse=True)  # over segments, not samples
            seg_row = seg_row.reshape(-1)
            if row_ids[0] < 0:  # segments without an accumulator in this slot
                row_ids, seg_row = row_ids[1:], seg_row - 1
            if not row_ids.size:
                continue
            row_of = np.repeat(seg_row, lengths)
            m = use & (row_of >= 0)
            key = row_of[m] * span + kl[m]
            cells = row_ids.size * span
            inc = np.bincount(key, weights=delta[m], minlength=cells).reshape(row_ids.size, span)
            inc_n = np.bincount(key, minlength=cells).reshape(row_ids.size, span)
            for r, row_id in enumerate(row_ids.tolist()):
                row = self._rows[row_id]
                row["inc"][lo:hi] += inc[r]
                row["inc_n"][lo:hi] += inc_n[r]
        if not any(x[0][1] for x in sinks):
            return True
        # per-interval sum, count, last, min and max of the series that keep a full row of their own
        cum = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(inside, out=cum[1:])
        k_in, v_in = k[inside], vs[inside]
        for i, x in enumerate(sinks):
            row_id, full = x[0]
            if not full:
                continue
            a, b = int(cum[seg_start[i]]), int(cum[seg_start[i] + lengths[i]])
            if a == b:
                continue
            kk, v = k_in[a:b], v_in[a:b]
            s_lo, s_hi = int(kk[0]), int(kk[-1]) + 1
            kls = kk - s_lo
            row = self._rows[row_id]
            row["sum"][s_lo:s_hi] += np.bincount(kls, weights=v, minlength=s_hi - s_lo)
            row["count"][s_lo:s_hi] += np.bincount(kls, minlength=s_hi - s_lo)
            e = np.flatnonzero(np.append(kk[1:] != kk[:-1], True))
            st = np.concatenate(([0], e[:-1] + 1))
            ks = kk[e]
            row["last"][ks] = v[e]
            row["min"][ks] = np.fmin(row["min"][ks], np.minimum.reduceat(v, st))
            row["max"][ks] = np.fmax(row["max"][ks], np.maximum.reduceat(v, st))
        return True

    def row(self, row_id: int) -> dict[str, np.ndarray]:
        return self._rows[row_id]

    def select(self, matchers: Matchers) -> list[tuple[dict[str, str], int]]:
        return [(lab, r) for lab, r in self.series_rows
                if all(_match(lab.get(n, ""), op, val) for n, op, val in matchers)]


def _fmt_labels(labels: dict[str, str]) -> str:
    name = labels.get(NAME, "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != NAME)
    return f"{name}{{{inner}}}"


def _iso(t: float) -> str:
    from datetime import UTC, datetime
    try:
        return datetime.fromtimestamp(float(t), UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return repr(float(t))


def _g(x: float) -> str:
    return f"{float(x):.17g}" if x != int(x) else str(int(x))


def _match(value: str, op: str, pattern: str) -> bool:
    """One matcher on one label value; regexes are Go RE2 anchored as Prometheus 3 does, `^(?s:...)$`
    (opsctl.gosem; `.` also matches a newline, as this evaluator always had it)."""
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    try:
        ok = gosem_regexp.compile_prometheus(pattern, dot_nl=True).matches(value)
    except gosem_regexp.RegexpError as exc:
        raise InputError(f"invalid regular expression {pattern!r} in a selector: {exc}") from None
    return ok if op == "=~" else not ok


# ---------------------------------------------------------------------------------------------- values


@dataclass
class Vec:
    labels: list[dict[str, str]]
    values: np.ndarray  # (n, G), NaN = no sample


@dataclass
class Scalar:
    values: np.ndarray  # (G,)


@dataclass
class Range:
    """A range vector: per-interval accumulators and the range length in intervals."""

    labels: list[dict[str, str]]
    acc: dict[str, np.ndarray]  # each (n, G)
    k: int


Value = Vec | Scalar | Range


def _rolling_sum(a: np.ndarray, k: int) -> np.ndarray:
    c = np.concatenate([np.zeros((a.shape[0], 1)), np.cumsum(a, axis=1)], axis=1)
    lo = np.maximum(np.arange(a.shape[1]) + 1 - k, 0)
    return c[:, 1:] - c[:, lo]


def _ffill(a: np.ndarray, limit: int) -> np.ndarray:
    """Carry each value forward over at most `limit` following intervals (NaN beyond)."""
    if limit <= 0:
        return a
    n, g = a.shape
    idx = np.where(~np.isnan(a), np.arange(g), -1)
    idx = np.maximum.accumulate(idx, axis=1)
    rows = np.arange(n)[:, None]
    out = a[rows, np.maximum(idx, 0)]
    stale = (idx < 0) | (np.arange(g) - idx > limit)
    out[stale] = np.nan
    return out


def _rolling_extreme(a: np.ndarray, k: int, fn: Callable[..., np.ndarray], fill: float) -> np.ndarray:
    if k == 1:
        return a
    pad = np.concatenate([np.full((a.shape[0], k - 1), fill), a], axis=1)
    win = np.lib.stride_tricks.sliding_window_view(pad, k, axis=1)
    return fn(win, axis=2)


class Evaluator:
    """Evaluates parsed PromQL on a `SampleStore` (see the module docstring)."""

    def __init__(self, store: SampleStore, count_mode: bool = False) -> None:
        self.s = store
        self.count_mode = count_mode
        self.G = store.G
        self.step = store.step

    def evaluate(self, query: str) -> Vec | Scalar:
        try:
            node = promql_syntax.parse(query)
        except Exception as exc:
            raise InputError(f"invalid PromQL: {str(exc).strip().splitlines()[0]}") from None
        v = self.eval(node)
        if isinstance(v, Range):
            raise InputError("the query returns a range vector; an instant vector or scalar is needed")
        return v

    # -- helpers
    def _steps(self, seconds: float, what: str) -> int:
        k = seconds / self.step
        if k < 1 - 1e-9 or abs(k - round(k)) > 1e-6:
            raise InputError(f"{what} {seconds:g}s is not a whole number of report steps ({self.step:g}s); "
                             "use --step to pick a step that divides it")
        return round(k)

    def _selector(self, vs: Any) -> tuple[list[dict[str, str]], list[dict[str, np.ndarray]], int]:
        if getattr(vs, "at", None) is not None:
            raise InputError(f"selector {vs}: the @ modifier is not supported in reports")
        shift = 0
        if vs.offset is not None:
            shift = self._steps(vs.offset.total_seconds(), "offset")
        groups = _groups(vs)
        found = self.s.select(groups[0])
        if len(groups) > 1:  # `x{a="1" or a="2"}`: the series any alternative selects, each once
            rows = {r for _, r in found}
            for group in groups[1:]:
                extra = [(lab, r) for lab, r in self.s.select(group) if r not in rows]
                rows.update(r for _, r in extra)
                found += extra
        return [lab for lab, _ in found], [self.s.row(r) for _, r in found], shift

    @staticmethod
    def _shift(a: np.ndarray, k: int) -> np.ndarray:
        if k == 0:
            return a
        out = np.full_like(a, np.nan)
        out[:, k:] = a[:, :-k] if k < a.shape[1] else out[:, k:]
        return out

    # -- dispatch
    def eval(self, node: Any) -> Value:
        pp = promql_parser
        if isinstance(node, pp.NumberLiteral):
            return Scalar(np.full(self.G, float(node.val)))
        if isinstance(node, pp.ParenExpr):
            return self.eval(node.expr)
        if isinstance(node, pp.UnaryExpr):
            v = self.eval(node.expr)
            if isinstance(v, Vec):
                return Vec([_drop_name(x) for x in v.labels], -v.values)
            if isinstance(v, Scalar):
                return Scalar(-v.values)
            raise InputError("unary minus on a range vector")
        if isinstance(node, pp.VectorSelector):
            labels, rows, shift = self._selector(node)
            if not rows:
                return Vec([], np.empty((0, self.G)))
            last = np.vstack([r["last"] for r in rows])
            vals = _ffill(last, int(LOOKBACK // self.step))
            return Vec(labels, self._shift(vals, shift))
        if isinstance(node, pp.MatrixSelector):
            labels, rows, shift = self._selector(node.vector_selector)
            k = self._steps(node.range.total_seconds(), f"range [{node.range}]")
            acc = {key: self._shift(np.vstack([r[key] for r in rows]) if rows else np.empty((0, self.G)), shift)
                   for key in ("sum", "count", "min", "max", "last", "inc", "inc_n")}
            return Range(labels, acc, k)
        if isinstance(node, pp.SubqueryExpr):
            inner = self.eval(node.expr)
            if isinstance(inner, Scalar):
                inner = Vec([{}], inner.values[None, :])
            if not isinstance(inner, Vec):
                raise InputError("subquery of a range vector")
            if node.range is None:
                raise InputError("subquery without a range")
            k = self._steps(node.range.total_seconds(), f"subquery range [{node.range}]")
            iv: np.ndarray = inner.values
            present = ~np.isnan(iv)
            prev = _ffill(np.concatenate([np.full((iv.shape[0], 1), np.nan), iv[:, :-1]], axis=1), self.G)
            delta = iv - prev
            delta = np.where(delta < 0, iv, delta)
            has = present & ~np.isnan(prev)
            acc = {"sum": np.where(present, iv, 0.0), "count": present.astype(float),
                   "min": np.where(present, iv, np.inf), "max": np.where(present, iv, -np.inf),
                   "last": iv, "inc": np.where(has, delta, 0.0), "inc_n": has.astype(float)}
            return Range([_drop_name(x) for x in inner.labels], acc, k)
        if isinstance(node, pp.Call):
            return self._call(node)
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self._binary(node)
        if isinstance(node, pp.StringLiteral):
            raise InputError("string literals are not supported here")
        raise InputError(f"unsupported PromQL construct: {node}")

    # -- functions
    def _call(self, node: Any) -> Value:
        name = node.func.name
        args = node.args
        if name == "vector":
            s = self._scalar(self.eval(args[0]), name)
            return Vec([{}], s[None, :].copy())
        if name == "scalar":
            v = self.eval(args[0])
            if not isinstance(v, Vec):
                raise InputError("scalar() needs an instant vector")
            if v.values.shape[0] == 1:
                return Scalar(v.values[0].copy())
            if v.values.shape[0] == 0:
                return Scalar(np.full(self.G, np.nan))
            cnt = (~np.isnan(v.values)).sum(axis=0)
            return Scalar(np.where(cnt == 1, np.nansum(v.values, axis=0), np.nan))
        if name in ("rate", "irate", "increase", "sum_over_time", "count_over_time", "avg_over_time",
                    "min_over_time", "max_over_time", "last_over_time", "present_over_time"):
            r = self.eval(args[0])
            if not isinstance(r, Range):
                raise InputError(f"{name}() needs a range vector")
            return Vec([_drop_name(x) for x in r.labels], self._range_fn(name, r))
        if name in ("abs", "ceil", "floor", "sqrt", "exp", "ln", "log2", "log10"):
            v = self.eval(args[0])
            fn = {"abs": np.abs, "ceil": np.ceil, "floor": np.floor, "sqrt": np.sqrt, "exp": np.exp,
                  "ln": np.log, "log2": np.log2, "log10": np.log10}[name]
            if isinstance(v, Vec):
                with np.errstate(all="ignore"):
                    return Vec([_drop_name(x) for x in v.labels], fn(v.values))
            raise InputError(f"{name}() needs an instant vector")
        if name in ("clamp_min", "clamp_max"):
            v = self.eval(args[0])
            b = self._scalar(self.eval(args[1]), name)
            if not isinstance(v, Vec):
                raise InputError(f"{name}() needs an instant vector")
            fn2 = np.fmax if name == "clamp_min" else np.fmin
            out = np.where(np.isnan(v.values), np.nan, fn2(v.values, b[None, :]))
            return Vec([_drop_name(x) for x in v.labels], out)
        if name == "histogram_quantile":
            phi = self._scalar(self.eval(args[0]), name)
            v = self.eval(args[1])
            if not isinstance(v, Vec):
                raise InputError("histogram_quantile() needs an instant vector of buckets")
            return _histogram_quantile(phi, v)
        raise InputError(f"function {name}() is not supported in reports")

    def _range_fn(self, name: str, r: Range) -> np.ndarray:
        a, k = r.acc, r.k
        n = a["count"].shape[0]
        if n == 0:
            return np.empty((0, self.G))
        cnt = _rolling_sum(a["count"], k)
        none = cnt == 0
        if name in ("rate", "irate", "increase"):
            inc_n = _rolling_sum(a["inc_n"], k)
            inc = _rolling_sum(a["inc"], k)
            out = inc if (name == "increase" or self.count_mode) else inc / (k * self.step)
            return np.where(inc_n == 0, np.nan, out)
        if name == "sum_over_time":
            out = _rolling_sum(a["sum"], k)
        elif name == "count_over_time":
            out = cnt.astype(float)
        elif name == "present_over_time":
            out = np.ones_like(cnt, dtype=float)
        elif name == "avg_over_time":
            with np.errstate(all="ignore"):
                out = _rolling_sum(a["sum"], k) / cnt
        elif name == "min_over_time":
            out = _rolling_extreme(a["min"], k, np.min, np.inf)
        elif name == "max_over_time":
            out = _rolling_extreme(a["max"], k, np.max, -np.inf)
        else:  # last_over_time
            out = _ffill(a["last"], k - 1)
        return np.where(none, np.nan, out)

    def _scalar(self, v: Value, where: str) -> np.ndarray:
        if isinstance(v, Scalar):
            return v.values
        raise InputError(f"{where}(): expected a scalar argument")

    # -- aggregation
    def _aggregate(self, node: Any) -> Vec:
        op = str(node.op)
        pre = self.s.groups.get(str(node)) if self.s.plan is not None else None
        if pre is not None or (self.s.plan is not None and str(node) in {p.key for p in self.s.plan.preaggs}):
            return self._preagg(node, pre or {})
        v = self.eval(node.expr)
        if isinstance(v, Scalar):
            v = Vec([{}], v.values[None, :])
        if not isinstance(v, Vec):
            raise InputError(f"{op}() of a range vector")
        if op not in ("sum", "avg", "min", "max", "count", "group"):
            raise InputError(f"aggregation {op}() is not supported in reports")
        groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
        mod = node.modifier
        for i, lab in enumerate(v.labels):
            if mod is None:
                key: dict[str, str] = {}
            elif mod.type == promql_parser.AggModifierType.By:
                key = {k: lab[k] for k in mod.labels if k in lab}
            else:
                key = {k: x for k, x in lab.items() if k not in mod.labels and k != NAME}
            groups.setdefault(tuple(sorted(key.items())), []).append(i)
        labels, rows = [], []
        with np.errstate(all="ignore"):
            for key_t, idx in groups.items():
                block = v.values[idx]
                present = (~np.isnan(block)).sum(axis=0)
                if op == "sum":
                    out = np.nansum(block, axis=0)
                elif op == "avg":
                    out = np.nansum(block, axis=0) / present
                elif op == "min":
                    out = np.fmin.reduce(block, axis=0)
                elif op == "max":
                    out = np.fmax.reduce(block, axis=0)
                elif op == "count":
                    out = present.astype(float)
                else:
                    out = np.ones(self.G)
                rows.append(np.where(present == 0, np.nan, out))
                labels.append(dict(key_t))
        if not rows:
            return Vec([], np.empty((0, self.G)))
        return Vec(labels, np.vstack(rows))

    def _preagg(self, node: Any, groups: dict[tuple[tuple[str, str], ...], int]) -> Vec:
        call = node.expr
        k = self._steps(call.args[0].range.total_seconds(), f"range [{call.args[0].range}]")
        labels, rows = [], []
        for key, row_id in groups.items():
            r = self.s.row(row_id)
            inc = _rolling_sum(r["inc"][None, :], k)[0]
            inc_n = _rolling_sum(r["inc_n"][None, :], k)[0]
            if call.func.name != "increase" and not self.count_mode:
                inc = inc / (k * self.step)
            rows.append(np.where(inc_n == 0, np.nan, inc))
            labels.append(dict(key))
        if not rows:
            return Vec([], np.empty((0, self.G)))
        return Vec(labels, np.vstack(rows))

    # -- binary operators
    def _binary(self, node: Any) -> Value:
        op = str(node.op)
        mod = node.modifier
        return_bool = bool(mod is not None and mod.return_bool)
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        if isinstance(lhs, Range) or isinstance(rhs, Range):
            raise InputError(f"binary {op} on a range vector")
        if op in ("and", "or", "unless"):
            if not isinstance(lhs, Vec) or not isinstance(rhs, Vec):
                raise InputError(f"'{op}' needs instant vectors on both sides")
            return self._setop(op, lhs, rhs, mod)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            return Scalar(_arith(op, lhs.values, rhs.values, True))
        if isinstance(lhs, Vec) and isinstance(rhs, Scalar):
            out = _apply(op, lhs.values, rhs.values[None, :], lhs.values, return_bool)
            return Vec(_labels_after(op, lhs.labels, return_bool), out)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vec):
            out = _apply(op, lhs.values[None, :], rhs.values, rhs.values, return_bool)
            return Vec(_labels_after(op, rhs.labels, return_bool), out)
        assert isinstance(lhs, Vec) and isinstance(rhs, Vec)
        return self._vecvec(op, lhs, rhs, mod, return_bool)

    @staticmethod
    def _key_fn(mod: Any) -> Callable[[dict[str, str]], tuple[tuple[str, str], ...]]:
        matching = getattr(mod, "matching", None) if mod is not None else None
        if matching is None:
            return lambda lab: tuple(sorted((k, v) for k, v in lab.items() if k != NAME))
        names = set(matching.labels)
        if str(matching.type).endswith("On"):
            return lambda lab: tuple(sorted((k, v) for k, v in lab.items() if k in names))
        return lambda lab: tuple(sorted((k, v) for k, v in lab.items() if k not in names and k != NAME))

    def _vecvec(self, op: str, lhs: Vec, rhs: Vec, mod: Any, return_bool: bool) -> Vec:
        key = self._key_fn(mod)
        card = str(getattr(mod, "card", "OneToOne")) if mod is not None else "OneToOne"
        swap = card.endswith("OneToMany")
        many, one = (rhs, lhs) if swap else (lhs, rhs)
        one_index: dict[tuple[tuple[str, str], ...], int] = {}
        for i, lab in enumerate(one.labels):
            k = key(lab)
            if k in one_index:
                raise InputError(f"many-to-many matching for '{op}': duplicate series {dict(k)} on one side")
            one_index[k] = i
        if not card.endswith("ToMany") and not card.endswith("ToOne"):
            seen: set[tuple[tuple[str, str], ...]] = set()
            for lab in many.labels:
                k = key(lab)
                if k in seen and k in one_index:
                    raise InputError(f"'{op}': found duplicate series for the match group {dict(k)}; "
                                     "use group_left/group_right")
                seen.add(k)
        labels, rows = [], []
        for i, lab in enumerate(many.labels):
            j = one_index.get(key(lab))
            if j is None:
                continue
            a, b = (one.values[j], many.values[i]) if swap else (many.values[i], one.values[j])
            rows.append(_apply(op, a[None, :], b[None, :], a[None, :], return_bool)[0])
            labels.append(_labels_after(op, [lab], return_bool)[0])
        if not rows:
            return Vec([], np.empty((0, self.G)))
        return Vec(labels, np.vstack(rows))

    def _setop(self, op: str, lhs: Vec, rhs: Vec, mod: Any) -> Vec:
        key = self._key_fn(mod)
        if op == "or":
            lkeys: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
            for i, lab in enumerate(lhs.labels):
                k = key(lab)
                pres = ~np.isnan(lhs.values[i])
                lkeys[k] = lkeys[k] | pres if k in lkeys else pres
            labels = list(lhs.labels)
            rows = [lhs.values[i].copy() for i in range(len(lhs.labels))]
            full = {tuple(sorted(lab.items())): i for i, lab in enumerate(labels)}
            for i, lab in enumerate(rhs.labels):
                taken = lkeys.get(key(lab))
                vals = rhs.values[i] if taken is None else np.where(taken, np.nan, rhs.values[i])
                same = full.get(tuple(sorted(lab.items())))
                if same is not None:  # the same series on both sides: one series, samples from either
                    rows[same] = np.where(np.isnan(rows[same]), vals, rows[same])
                    continue
                labels.append(lab)
                rows.append(vals)
            return Vec(labels, np.vstack(rows) if rows else np.empty((0, self.G)))
        rkeys: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        for i, lab in enumerate(rhs.labels):
            k = key(lab)
            pres = ~np.isnan(rhs.values[i])
            rkeys[k] = rkeys[k] | pres if k in rkeys else pres
        labels, rows = [], []
        for i, lab in enumerate(lhs.labels):
            pres = rkeys.get(key(lab), np.zeros(self.G, dtype=bool))
            drop = ~pres if op == "and" else pres
            labels.append(lab)
            rows.append(np.where(drop, np.nan, lhs.values[i]))
        return Vec(labels, np.vstack(rows) if rows else np.empty((0, self.G)))


COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")


def _arith(op: str, a: np.ndarray, b: np.ndarray, return_bool: bool) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return np.divide(a, b)
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op in COMPARISONS:
            res = {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
            return res.astype(float)
    raise InputError(f"operator {op!r} is not supported")


def _apply(op: str, a: np.ndarray, b: np.ndarray, keep: np.ndarray, return_bool: bool) -> np.ndarray:
    missing = np.isnan(a) | np.isnan(b)
    if op in COMPARISONS:
        cond = _arith(op, a, b, True)
        if return_bool:
            return np.where(missing, np.nan, cond)
        return np.where(missing | (cond == 0), np.nan, np.broadcast_to(keep, cond.shape))
    out = _arith(op, a, b, False)
    return np.where(missing, np.nan, out)


def _drop_name(lab: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in lab.items() if k != NAME}


def _labels_after(op: str, labels: list[dict[str, str]], return_bool: bool) -> list[dict[str, str]]:
    if op in COMPARISONS and not return_bool:
        return labels
    return [_drop_name(x) for x in labels]


def _histogram_quantile(phi: np.ndarray, v: Vec) -> Vec:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, int]]] = {}
    for i, lab in enumerate(v.labels):
        if "le" not in lab:
            continue
        try:
            le = float(lab["le"].replace("+Inf", "inf"))
        except ValueError:
            continue
        key = tuple(sorted((k, x) for k, x in lab.items() if k not in ("le", NAME)))
        groups.setdefault(key, []).append((le, i))
    labels, rows = [], []
    G = v.values.shape[1]
    for key, items in groups.items():
        items.sort()
        les = np.array([x[0] for x in items])
        counts = np.vstack([v.values[i] for _, i in items])  # (B, G)
        out = np.full(G, np.nan)
        if len(items) >= 2 and math.isinf(les[-1]):
            present = ~np.isnan(counts).any(axis=0)
            cum = np.maximum.accumulate(np.nan_to_num(counts), axis=0)
            total = cum[-1]
            for t in np.flatnonzero(present & (total > 0)):
                q = float(phi[t])
                if q < 0:
                    out[t] = -math.inf
                    continue
                if q > 1:
                    out[t] = math.inf
                    continue
                rank = q * total[t]
                b = int(np.searchsorted(cum[:, t], rank, side="left"))
                b = min(b, len(les) - 1)
                if b == len(les) - 1:
                    out[t] = les[-2]
                    continue
                if b == 0 and les[0] <= 0:
                    out[t] = les[0]
                    continue
                start = 0.0 if b == 0 else les[b - 1]
                prev = 0.0 if b == 0 else cum[b - 1, t]
                cnt = cum[b, t] - prev
                out[t] = les[b] if cnt == 0 else start + (les[b] - start) * (rank - prev) / cnt
        labels.append(dict(key))
        rows.append(out)
    if not rows:
        return Vec([], np.empty((0, G)))
    return Vec(labels, np.vstack(rows))


def selectors(query: str) -> list[Matchers]:
    """The matchers of every vector selector in a query, one entry per alternative of an `or` selector."""
    node = promql_syntax.parse(query)
    return [group for vs, _ in promql_syntax.selectors(node) for group in _groups(vs)]


def matches_any(labels: dict[str, str], sels: list[list[tuple[str, str, str]]]) -> bool:
    return any(all(_match(labels.get(n, ""), op, v) for n, op, v in ms) for ms in sels)


def store_from_series(series: Iterable[Any], t0: float, step: float, intervals: int,
                      plan: Plan | None = None, on_duplicate: str = "error") -> SampleStore:
    """A `SampleStore` from in-memory `opsctl.data.exports.Series` (only wanted ones with a plan).

    SampleError (duplicates, negative counters) propagates: the caller names the file."""
    store = SampleStore(t0, step, intervals, plan, on_duplicate)
    for s in series:
        if plan is not None and not plan.wanted(s.labels):
            continue
        sid = store.series_id(s.labels)
        try:
            store.add(sid, s.timestamps, s.values)
        except SampleError:
            raise
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return store
