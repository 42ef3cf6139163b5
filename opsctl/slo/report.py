"""SLO compliance from data: SLI, error budget, burn rates, burn periods, gaps, daily table, burn-down.

Everything is computed from one per-interval "indicator" per SLO: `bad[i]` and `total[i]` over a grid of
`step`-second intervals ending at the report end (NaN where there is no data: a gap, reported, counted
neither good nor bad). Units depend on the SLI and budgeting method:

- request-based (Occurrences, events / ratio SLIs): event counts; SLI = 1 - sum(bad) / sum(total).
- raw error-ratio SLIs (sloth `raw`): bad = the error ratio of the interval, total = 1 (sloth's averaging).
- threshold SLIs (OpenSLO thresholdMetric, e.g. `up`, `probe_success`, a latency quantile): every series
  sample of an interval is one event, bad when the objective's `op value` does not hold.
- Timeslices: the step is the time slice; a slice is bad when its good ratio is under `timeSliceTarget`
  (a slice with no events is good and counted as idle); RatioTimeslices averages the slices' ratios.

Error budget = (1 - objective) x total; consumed = bad; burn rate over a window = error ratio / (1 - objective).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from opsctl.errors import InputError
from opsctl.slo.evaluate import (
    Evaluator,
    Plan,
    SampleError,
    SampleStore,
    Scalar,
    Vec,
    plan_queries,
    store_from_series,
)
from opsctl.slo.generate import BAD_OP
from opsctl.slo.model import SLO
from opsctl.slo.spec import render_window, wrap_counters
from opsctl.slo.windows import WindowCatalog, prom_duration, windows_for

SCHEMA_VERSION = 1
MAX_POINTS = 500
DEFAULT_STEP = 60.0
MIN_PERIOD_SHARE = 0.01  # a burning period must consume at least 1% of the window's budget


# ------------------------------------------------------------------------------------------- indicator


@dataclass
class Indicator:
    t0: float
    step: float
    bad: np.ndarray
    total: np.ndarray
    unit: str  # events | slices | ratio
    idle_slices: int = 0

    @property
    def G(self) -> int:
        return int(self.bad.shape[0])

    def ends(self) -> np.ndarray:
        return self.t0 + self.step * (np.arange(self.G) + 1)


@dataclass
class Queries:
    kind: str  # events | raw | threshold
    bad: str | None = None
    good: str | None = None
    total: str | None = None
    ratio: str | None = None
    threshold: str | None = None

    def all(self) -> list[str]:
        return [q for q in (self.bad, self.good, self.total, self.ratio, self.threshold) if q]


def regroup(query: str, labels: list[str]) -> str:
    """`query` with its outermost `sum` aggregations (through arithmetic and parentheses) made `sum by (labels)`,
    the way `--group-by` splits an SLI: `sum(rate(x[5m])) / sum(rate(y[5m]))` -> `sum by (a) (...) / ...`."""
    import promql_parser as pp

    from opsctl import promql_syntax

    def walk(node: object) -> str:
        if isinstance(node, pp.AggregateExpr) and str(node.op) == "sum" and node.param is None:
            return f"sum by ({', '.join(labels)}) ({node.expr})"
        if isinstance(node, pp.ParenExpr):
            return f"({walk(node.expr)})"
        if isinstance(node, pp.BinaryExpr):
            mod = f" {node.modifier}" if node.modifier is not None and str(node.modifier) else ""
            return f"{walk(node.lhs)} {node.op}{mod} {walk(node.rhs)}"
        return str(node)

    try:
        return walk(promql_syntax.parse(query))
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"--group-by: cannot regroup {query!r}: {exc}") from None


def queries_for(slo: SLO, step: float, group_by: list[str] | None = None) -> Queries:
    """The SLI queries rendered for one report step (`{{.window}}` = the step); with `group_by`, their outer
    sums keep those labels."""
    sli = slo.sli
    w = prom_duration(step)
    where = f"SLO {slo.id}"

    def r(q: str | None) -> str | None:
        if q is None:
            return None
        if sli.counter:
            q = wrap_counters(q, where)
        q = render_window(q, w)
        return regroup(q, group_by) if group_by else q

    if sli.threshold_query is not None:
        return Queries("threshold", threshold=sli.threshold_query)
    if sli.total_query is not None and (sli.error_query is not None or sli.good_query is not None):
        return Queries("events", bad=r(sli.error_query), good=r(sli.good_query), total=r(sli.total_query))
    return Queries("raw", ratio=r(sli.error_ratio_query))


def _collapse(v: Vec | Scalar, g: int) -> np.ndarray:
    if isinstance(v, Scalar):
        return v.values.copy()
    if v.values.shape[0] == 0:
        return np.full(g, np.nan)
    present = (~np.isnan(v.values)).any(axis=0)
    return np.where(present, np.nansum(v.values, axis=0), np.nan)


def _threshold_counts(v: Vec | Scalar, slo: SLO, g: int) -> tuple[np.ndarray, np.ndarray]:
    vals = v.values[None, :] if isinstance(v, Scalar) else v.values
    if vals.shape[0] == 0:
        return np.full(g, np.nan), np.full(g, np.nan)
    present = ~np.isnan(vals)
    op, value = slo.sli.threshold_op or "gte", float(slo.sli.threshold_value or 0.0)
    with np.errstate(invalid="ignore"):
        bad_op = BAD_OP[op]
        bad = {">=": vals >= value, ">": vals > value, "<=": vals <= value, "<": vals < value}[bad_op] & present
    total = present.sum(axis=0).astype(float)
    nbad = bad.sum(axis=0).astype(float)
    none = total == 0
    return np.where(none, np.nan, nbad), np.where(none, np.nan, total)


MAX_GROUPS = 500
GroupKey = tuple[tuple[str, str], ...]


def _by_group(v: Vec | Scalar, g: int, keep: list[str] | None) -> dict[GroupKey, np.ndarray]:
    """Rows of a result summed per label set (`keep`: only these labels; None: every label but __name__)."""
    if isinstance(v, Scalar):
        return {(): v.values.copy()}
    out: dict[GroupKey, np.ndarray] = {}
    for lab, row in zip(v.labels, v.values, strict=True):
        key = tuple(sorted((k, val) for k, val in lab.items() if k != "__name__" and (keep is None or k in keep)))
        if key in out:
            cur = out[key]
            out[key] = np.where(np.isnan(cur), row, np.where(np.isnan(row), cur, cur + row))
        else:
            out[key] = row.astype(float).copy()
    return out


def group_indicators(slo: SLO, store: SampleStore, group_by: list[str] | None = None
                     ) -> list[tuple[dict[str, str], Indicator]]:
    """One indicator per label set the SLI's queries keep (what the generated per-group rules compute), from
    an export's samples: see `groups_from`."""
    q = queries_for(slo, store.step, group_by)
    ev = Evaluator(store, count_mode=q.kind == "events")
    return groups_from(slo, q, ev.evaluate, store.t0, store.step, store.G, group_by)


def groups_from(slo: SLO, q: Queries, evaluate: Callable[[str], Vec | Scalar], t0: float, step: float, g: int,
                group_by: list[str] | None) -> list[tuple[dict[str, str], Indicator]]:
    """One indicator per label set of the results of `q`'s queries (`evaluate(query)`: per-interval event
    counts for events SLIs; an export's evaluator or a Prometheus server give them alike): events SLIs pair
    bad (or good) and total rows with the same labels, as PromQL's `/` does; a group with totals but no error
    series counts zero bad events (Prometheus would give it no ratio at all). Threshold SLIs group their series
    by `group_by`. Empty when the SLI keeps no labels."""
    keep = group_by
    if q.kind == "events":
        totals = _by_group(evaluate(q.total or ""), g, keep)
        parts = _by_group(evaluate(q.bad if q.bad is not None else q.good or ""), g, keep)
        out = []
        for key, total in sorted(totals.items()):
            part = parts.get(key)
            if q.bad is not None:
                bad = np.where(np.isnan(total), np.nan, 0.0) if part is None else part
            else:
                bad = total - (np.zeros(g) if part is None else np.nan_to_num(part))
            out.append((dict(key), _finish(slo, t0, step, bad, total, "events")))
    elif q.kind == "raw":
        out = [(dict(key), _finish(slo, t0, step, ratio, np.where(np.isnan(ratio), np.nan, 1.0), "ratio"))
               for key, ratio in sorted(_by_group(evaluate(q.ratio or ""), g, keep).items())]
    else:
        if not group_by:
            return []
        v = evaluate(q.threshold or "")
        if isinstance(v, Scalar):
            return []
        rows: dict[GroupKey, list[int]] = {}
        for i, lab in enumerate(v.labels):
            rows.setdefault(tuple(sorted((k, lab[k]) for k in group_by if k in lab)), []).append(i)
        out = []
        for key, idx in sorted(rows.items()):
            sub = Vec([v.labels[i] for i in idx], v.values[idx])
            bad, total = _threshold_counts(sub, slo, g)
            out.append((dict(key), _finish(slo, t0, step, bad, total, "events")))
    if len(out) == 1 and not out[0][0]:
        return []  # one group without labels: the SLO itself
    if len(out) > MAX_GROUPS:
        raise InputError(f"SLO {slo.id}: {len(out)} groups (more than {MAX_GROUPS}); choose fewer labels with "
                         "--group-by", slo.file, slo.line)
    return out


def indicator_from_store(slo: SLO, store: SampleStore, group_by: list[str] | None = None) -> Indicator:
    q = queries_for(slo, store.step, group_by)
    g = store.G
    if q.kind == "events":
        ev = Evaluator(store, count_mode=True)
        total = _collapse(ev.evaluate(q.total or ""), g)
        if q.bad is not None:
            bad = _collapse(ev.evaluate(q.bad), g)
        else:
            bad = total - _collapse(ev.evaluate(q.good or ""), g)
        return _finish(slo, store.t0, store.step, bad, total, "events")
    ev = Evaluator(store, count_mode=False)
    if q.kind == "raw":
        ratio = _collapse(ev.evaluate(q.ratio or ""), g)
        return _finish(slo, store.t0, store.step, ratio, np.where(np.isnan(ratio), np.nan, 1.0), "ratio")
    bad, total = _threshold_counts(ev.evaluate(q.threshold or ""), slo, g)
    return _finish(slo, store.t0, store.step, bad, total, "events")


def _finish(slo: SLO, t0: float, step: float, bad: np.ndarray, total: np.ndarray, unit: str) -> Indicator:
    """Apply the budgeting method: Timeslices turn each interval (= slice) into one good or bad slice."""
    unknown = np.isnan(total) | np.isnan(bad)
    bad = np.where(unknown, np.nan, np.clip(bad, 0, None))
    total = np.where(unknown, np.nan, total)
    if slo.budgeting == "Occurrences":
        return Indicator(t0, step, bad, total, unit)
    r = _slice_factor(slo, step)
    if r > 1:  # sum the step intervals of each slice; a slice without any data stays unknown
        def fold(a: np.ndarray) -> np.ndarray:
            m = a.reshape(-1, r)
            return np.where(np.isnan(m).all(axis=1), np.nan, np.nansum(m, axis=1))
        bad, total = fold(bad), fold(total)
        unknown = np.isnan(total)
        step = step * r
    with np.errstate(all="ignore"):
        good_ratio = np.where(total > 0, 1 - bad / total, 1.0)
    idle = int(np.sum((total == 0) & ~unknown))
    if slo.budgeting == "RatioTimeslices":
        sb = 1 - good_ratio
    else:
        target = slo.timeslice_target if slo.timeslice_target is not None else slo.objective_ratio
        sb = (good_ratio < target - 1e-12).astype(float)
    return Indicator(t0, step, np.where(unknown, np.nan, sb), np.where(unknown, np.nan, 1.0), "slices", idle)


# ---------------------------------------------------------------------------------------------- windows


def _add_units(dt: datetime, count: int, unit: str) -> datetime:
    if unit in ("M", "Q", "Y"):
        months = count * {"M": 1, "Q": 3, "Y": 12}[unit]
        y, m = divmod(dt.month - 1 + months, 12)
        day = min(dt.day, [31, 29 if _leap(dt.year + y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m])
        return dt.replace(year=dt.year + y, month=m + 1, day=day)
    from datetime import timedelta
    secs = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    return dt + timedelta(seconds=count * secs)


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def report_window(slo: SLO, end: float) -> tuple[float, float, str]:
    """(start, end, kind): the rolling period ending at `end`, or the calendar period containing it."""
    if slo.calendar is None:
        return end - slo.period, end, "rolling"
    cal = slo.calendar
    tz = ZoneInfo(cal.timezone)
    start = datetime.fromtimestamp(cal.start, tz)
    if end < cal.start:
        raise InputError(f"SLO {slo.id}: the report end is before the calendar window's startTime", slo.file, slo.line)
    for _ in range(100000):
        nxt = _add_units(start, cal.count, cal.unit)
        if nxt.timestamp() >= end:
            return start.timestamp(), nxt.timestamp(), "calendar"
        start = nxt
    raise InputError(f"SLO {slo.id}: calendar window too far from startTime", slo.file, slo.line)


def grid(slo: SLO, end: float, step: float) -> tuple[float, float, int, str, float]:
    """(t0, window_start, intervals, kind, window_end): the grid ends at `end` (calendar: the period's end
    is later; intervals after `end` are not part of the grid)."""
    start, wend, kind = report_window(slo, end)
    r = _slice_factor(slo, step)
    g = max(1, math.ceil((end - start) / (step * r) - 1e-9)) * r  # whole slices, aligned on `end`
    return end - g * step, start, g, kind, wend


def _slice_factor(slo: SLO, step: float) -> int:
    if slo.budgeting in ("Timeslices", "RatioTimeslices") and slo.timeslice_window:
        return max(1, round(slo.timeslice_window / step))
    return 1


def choose_step(slo: SLO, step: float | None, spacing: float | None) -> float:
    """The evaluation step: --step, else 1m or the export's sample spacing. Time slices are built from
    intervals of this step, so for Timeslices it must divide the slice window (else the slice is the step)."""
    if step:
        s = float(step)
    else:
        s = DEFAULT_STEP
        if spacing and spacing > s:
            s = math.ceil(spacing / 60.0) * 60.0
    if slo.budgeting in ("Timeslices", "RatioTimeslices") and slo.timeslice_window:
        ts = float(slo.timeslice_window)
        if s >= ts or abs(ts / s - round(ts / s)) > 1e-9:
            return ts
    return s


# ---------------------------------------------------------------------------------------------- results


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) else float(x)


@dataclass
class SLOReport:
    slo: SLO
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.data["status"])

    def to_dict(self) -> dict[str, Any]:
        return self.data


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def analyse(slo: SLO, ind: Indicator, window_start: float, window_kind: str, window_end: float,
            top: int = 10, windows: WindowCatalog | None = None) -> SLOReport:
    bad, total, step, g = ind.bad, ind.total, ind.step, ind.G
    ends = ind.ends()
    known = ~np.isnan(total)
    B = float(np.nansum(bad))
    T = float(np.nansum(total))
    eb = slo.error_budget_ratio
    budget_total = eb * T
    sli = (1 - B / T) if T > 0 else math.nan
    if T <= 0:
        status = "no_data"
    elif sli + 1e-12 >= slo.objective_ratio:
        status = "ok"
    else:
        status = "violated"

    def ratio_over(k: int) -> float:
        if k > g:
            k = g
        t = float(np.nansum(total[g - k:]))
        return float(np.nansum(bad[g - k:])) / t if t > 0 else math.nan

    try:
        if slo.pyrra is not None:  # pyrra's own windows (14x, 7x, 2x, 1x)
            from opsctl.slo.pyrra import PyrraObjective, window_set
            assert isinstance(slo.pyrra, PyrraObjective)
            ws = window_set(slo.pyrra)
        else:
            ws = windows_for(slo.period, windows)
    except InputError as exc:
        raise InputError(exc.message, slo.file, slo.line) from None
    burn = []
    burn_by_window: dict[float, float] = {}
    for w in [*ws.distinct(), slo.period]:
        k = max(1, round(w / step))  # windows that are not a whole number of steps use the nearest one
        er = ratio_over(k)
        br = er / eb if eb > 0 and not math.isnan(er) else math.nan
        burn_by_window[w] = br
        burn.append({"window": prom_duration(w), "seconds": w, "effective_seconds": min(k, g) * step,
                     "error_ratio": _num(er), "burn_rate": _num(br)})
    alerts = []
    for sev, quick, slow in (("page", ws.page_quick, ws.page_slow), ("ticket", ws.ticket_quick, ws.ticket_slow)):
        def over(a: Any) -> bool | None:
            s, lng = burn_by_window.get(a.short, math.nan), burn_by_window.get(a.long, math.nan)
            if math.isnan(s) or math.isnan(lng):
                return None
            return s > a.factor and lng > a.factor
        q, sl = over(quick), over(slow)
        firing = None if q is None and sl is None else bool(q) or bool(sl)
        alerts.append({"severity": sev, "firing": firing, "conditions": [
            {"short": prom_duration(a.short), "long": prom_duration(a.long), "factor": round(a.factor, 6),
             "firing": f} for a, f in ((quick, q), (slow, sl))]})

    # Gaps: intervals with no data, neither good nor bad.
    gap_runs = _runs(~known)
    gaps = [{"start": iso(ends[a] - step), "end": iso(ends[b - 1]), "seconds": (b - a) * step}
            for a, b in gap_runs]
    unknown_seconds = float((~known).sum() * step)

    # Periods that burned the budget: runs of intervals burning faster than 1x, by budget consumed.
    with np.errstate(all="ignore"):
        per_burn = np.where(known & (total > 0), (bad / total) / eb if eb > 0 else np.nan, np.nan)
    hot = np.nan_to_num(per_burn, nan=0.0) > 1.0
    periods: list[dict[str, Any]] = []
    for a, b in _merge_runs(_runs(hot), 2):
        consumed = float(np.nansum(bad[a:b]))
        periods.append({
            "start": iso(ends[a] - step), "end": iso(ends[b - 1]), "seconds": (b - a) * step,
            "bad": consumed, "budget_consumed_ratio": _num(consumed / budget_total) if budget_total > 0 else None,
            "peak_burn_rate": _num(float(np.nanmax(per_burn[a:b]))),
        })
    # Noise (a handful of bad events in one interval) is not a "period that burned the budget".
    periods = [p for p in periods if p["budget_consumed_ratio"] is not None
               and p["budget_consumed_ratio"] >= MIN_PERIOD_SHARE]
    periods.sort(key=lambda p: -(p["bad"] or 0.0))
    periods = periods[:top]

    # Daily table (UTC days by interval end).
    day = np.floor((ends - 1e-6) / 86400).astype(np.int64)
    d0 = int(day[0]) if g else 0
    di = day - d0
    nd = int(di[-1]) + 1 if g else 0
    bad0, tot0 = np.nan_to_num(bad), np.nan_to_num(total)
    dbad = np.bincount(di, weights=bad0, minlength=nd)
    dtot = np.bincount(di, weights=tot0, minlength=nd)
    dunk = np.bincount(di, weights=(~known).astype(float), minlength=nd) * step
    daily = []
    for i in range(nd):
        daily.append({
            "date": datetime.fromtimestamp((d0 + i) * 86400, UTC).date().isoformat(),
            "total": float(dtot[i]), "bad": float(dbad[i]), "good": float(dtot[i] - dbad[i]),
            "sli": _num(1 - dbad[i] / dtot[i]) if dtot[i] > 0 else None,
            "budget_consumed_ratio": _num(dbad[i] / budget_total) if budget_total > 0 else None,
            "unknown_seconds": float(dunk[i]),
        })

    # Burn-down: remaining budget (fraction of the window's budget) after each interval.
    cum = np.cumsum(bad0)
    remaining = 1 - cum / budget_total if budget_total > 0 else np.full(g, np.nan)
    stride = max(1, math.ceil(g / MAX_POINTS))
    idx = list(range(stride - 1, g, stride))
    if g and idx[-1] != g - 1:
        idx.append(g - 1)
    burndown = [{"time": iso(float(ends[i])), "remaining_ratio": _num(float(remaining[i]))} for i in idx]
    if g and budget_total > 0:  # before the first interval nothing is consumed: the line starts at the window
        burndown.insert(0, {"time": iso(max(float(ind.t0), window_start)), "remaining_ratio": 1.0})

    data: dict[str, Any] = {
        "id": slo.id, "name": slo.name, "service": slo.service, "spec": slo.spec,
        "description": slo.description, "objective": slo.objective, "budgeting": slo.budgeting,
        "sli_kind": slo.sli.kind, "unit": ind.unit,
        "window": {"kind": window_kind, "start": iso(window_start), "end": iso(window_end),
                   "data_end": iso(ind.t0 + g * step), "period_seconds": slo.period, "step_seconds": step},
        "sli": _num(sli), "status": status, "compliant": None if status == "no_data" else status == "ok",
        "events": {"total": T, "bad": B, "good": T - B},
        "error_budget": {
            "total": budget_total, "consumed": B, "remaining": budget_total - B,
            "consumed_ratio": _num(B / budget_total) if budget_total > 0 else None,
            "remaining_ratio": _num(1 - B / budget_total) if budget_total > 0 else None,
        },
        "burn_rates": burn, "alerts": alerts, "burn_periods": periods,
        "gaps": {"unknown_seconds": unknown_seconds, "coverage": _num(float(known.mean())) if g else None,
                 "ranges": gaps},
        "daily": daily, "burndown": burndown,
    }
    if ind.unit == "slices":
        data["idle_slices"] = ind.idle_slices
    return SLOReport(slo, data)


def _merge_runs(runs: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if out and a - out[-1][1] <= max_gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


# ----------------------------------------------------------------------------------------------- sources


def _spacing(series: list[Any]) -> float | None:
    diffs = [float(np.median(np.diff(s.timestamps))) for s in series if len(s) > 2]
    return float(np.median(diffs)) if diffs else None


@dataclass
class Options:
    end: float | None = None
    step: float | None = None
    top: int = 10
    group_by: list[str] | None = None  # --group-by: split the SLI by these labels (None: as the queries keep)
    windows: WindowCatalog | None = None  # alert windows per period (--slo-period-windows-path)
    on_duplicate: str = "error"  # conflicting duplicate samples: "error" or "keep-first"
    alert_history: bool = False  # replay the generated alert rules over the period (opsctl.slo.history)
    prometheus_version: str | None = None  # the replay's engine semantics (default: 3.16)


def report_from_export(slos: list[SLO], path: Path, opts: Options | None = None,
                       batch_rows: int | None = None,
                       progress: Callable[..., None] | None = None) -> list[SLOReport]:
    """Reports from an export file. Parquet and CSV are streamed in bounded memory with pyarrow (a CSV the
    streaming reader cannot take, e.g. with ISO-8601 times or unsorted rows, is read in memory instead);
    Prometheus JSON is read in memory. `progress(rows, total=rows_in_file)` follows a streamed read."""
    o = opts or Options()
    out = _report_from_export(slos, path, o, batch_rows, progress)
    if o.alert_history:
        _add_alert_history(out, path, o)
    return out


def _add_alert_history(reports: list[SLOReport], path: Path, o: Options) -> None:
    """Replay each SLO's generated alert rules over its report period on the export's series."""
    from opsctl.data.exports import read_export
    from opsctl.slo.history import alert_history

    series = read_export(path)
    for r in reports:
        w = r.data["window"]
        start = datetime.fromisoformat(w["start"].replace("Z", "+00:00")).timestamp()
        end = datetime.fromisoformat(w["data_end"].replace("Z", "+00:00")).timestamp()
        plan = _plan(r.slo, float(w["step_seconds"]))
        wanted = [s for s in series if plan.wanted(s.labels)]
        try:
            r.data["alert_history"] = alert_history(r.slo, wanted, start, end, float(w["step_seconds"]), o.windows,
                                                    o.prometheus_version)
        except InputError as exc:
            raise InputError(f"SLO {r.slo.id}: alert history: {exc.message}", r.slo.file, r.slo.line) from None


def _report_from_export(slos: list[SLO], path: Path, o: Options, batch_rows: int | None,
                        progress: Callable[..., None] | None) -> list[SLOReport]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _report_streamed(slos, path, o, batch_rows, progress)
    if suffix in (".csv", ".txt") and path.is_file():
        try:  # fast path: numeric timestamps, rows of a series in time order
            return _report_streamed(slos, path, o, batch_rows, progress)
        except InputError as exc:
            if getattr(exc, "final", False):  # the content is wrong (duplicates, short rows...): no retry
                raise
            # ISO times, unsorted rows, odd values...: the in-memory reader handles or explains them
    from opsctl.data.exports import read_export
    series = read_export(path)
    if not series or all(len(s) == 0 for s in series):
        raise InputError("no samples in the export", str(path))
    last = max(float(s.timestamps[-1]) for s in series if len(s))
    end = o.end if o.end is not None else last
    spacing = _spacing(series)
    out = []
    for slo in slos:
        step = choose_step(slo, o.step, spacing)
        t0, wstart, g, kind, wend = grid(slo, end, step)
        plan = _plan(slo, step, o.group_by)
        try:
            store = store_from_series(series, t0, step, g, plan, o.on_duplicate)
        except SampleError as exc:
            raise InputError(exc.message, str(path)) from None
        out.append(_analyse_all(slo, store, wstart, kind, wend, o))
    return out


GROUP_FIELDS = ("sli", "status", "compliant", "events", "error_budget", "burn_rates", "alerts", "gaps")


def _analyse_all(slo: SLO, store: SampleStore, wstart: float, kind: str, wend: float, o: Options) -> SLOReport:
    """The SLO's report (the total over every group) with one entry per group under "groups"."""
    return analyse_groups(slo, _with_file(slo, store, o.group_by),
                          _with_file(slo, store, o.group_by, grouped=True), wstart, kind, wend, o)


def analyse_groups(slo: SLO, total: Indicator, groups: list[tuple[dict[str, str], Indicator]], wstart: float,
                   kind: str, wend: float, o: Options) -> SLOReport:
    """The report of `total` with one entry (SLI, budget, burn rates, alerts, gaps) per group."""
    rep = analyse(slo, total, wstart, kind, wend, o.top, o.windows)
    out = []
    for labels, ind in groups:
        gd = analyse(slo, ind, wstart, kind, wend, o.top, o.windows).data
        out.append({"labels": labels, **{k: gd[k] for k in GROUP_FIELDS}})
    rep.data["group_by"] = o.group_by
    rep.data["groups"] = out
    return rep


def _with_file(slo: SLO, store: SampleStore, group_by: list[str] | None = None, grouped: bool = False) -> Any:
    """The SLO's indicator (or per-group indicators); query errors name the SLO's place in the spec."""
    try:
        if grouped:
            return group_indicators(slo, store, group_by)
        return indicator_from_store(slo, store, group_by)
    except InputError as exc:
        if exc.file == "<input>":
            raise InputError(f"SLO {slo.id}: {exc.message}", slo.file, slo.line) from None
        raise


def _report_streamed(slos: list[SLO], path: Path, o: Options, batch_rows: int | None,
                     progress: Callable[..., None] | None = None) -> list[SLOReport]:
    from opsctl.slo import stream
    try:
        _first, last, _rows = stream.time_range(path)
        if progress is not None:
            progress(0, total=int(_rows))
        end = o.end if o.end is not None else last
        spacing = _streamed_spacing(path)
        plans = []
        for slo in slos:
            step = choose_step(slo, o.step, spacing)
            t0, wstart, g, kind, wend = grid(slo, end, step)
            store = SampleStore(t0, step, g, _plan(slo, step, o.group_by), o.on_duplicate)
            plans.append((slo, store, wstart, kind, wend))
        stream.fill_stores(path, [(st, st.plan.wanted if st.plan else _all) for _, st, *_ in plans],
                           batch_rows or stream.BATCH_ROWS, progress)
    finally:
        stream.release()  # the parsed CSV kept between the passes
    return [_analyse_all(slo, store, wstart, kind, wend, o) for slo, store, wstart, kind, wend in plans]


def _all(labels: dict[str, str]) -> bool:
    return True


def _plan(slo: SLO, step: float, group_by: list[str] | None = None) -> Plan:
    try:
        return plan_queries(queries_for(slo, step, group_by).all())
    except InputError as exc:
        raise InputError(f"SLO {slo.id}: {exc.message}", slo.file, slo.line) from None


def _streamed_spacing(path: Path) -> float | None:
    from opsctl.slo import stream
    for labels, inverse, ts, _vs in stream.iter_batches(path, batch_rows=65536):
        diffs = []
        for sid in range(len(labels)):
            t = ts[inverse == sid]
            if t.size > 2:
                diffs.append(float(np.median(np.diff(np.sort(t)))))
        return float(np.median(diffs)) if diffs else None
    return None


def summary(reports: list[SLOReport]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "slos": [r.to_dict() for r in reports],
        "violated": sum(1 for r in reports if r.status == "violated"),
        "no_data": sum(1 for r in reports if r.status == "no_data"),
    }
