"""`opsctl rules backtest`: replay alerting rules over exported series and measure the noise they make.

How it works
1. The exported series (opsctl.data.exports: Prometheus query_range JSON, CSV, Parquet) go into an
   in-memory storage. (`opsctl rules backtest --data` streams the export by time windows instead, with the
   same results and memory that does not grow with the period: opsctl.rules.backtest_stream.)
2. Recording rules are evaluated group by group, in file order, with range queries on the evaluation grid
   and written back (with staleness markers where a recorded series stops), unless the export already
   holds series of that name, which are then used as they are.
3. Each alerting rule's expression is evaluated with one range query; every output series becomes an alert
   instance (series labels without `__name__`, plus the rule's labels, templates expanded, plus
   `alertname`), present or absent at each step.
4. A vectorised version of Prometheus' alert state machine turns presence into episodes:
   pending from the first present step, firing once present for `for`, and when the condition goes away
   either resolved at once or, with `keep_firing_for`, kept firing until it has been absent that long
   (a return within that time continues the same episode). A pending alert that goes away never fires.
5. Per alert name: episodes fired, total firing time, flaps (re-fires of an instance after it resolved),
   longest episode, pending-only activations (noise that `for` already filtered), instances, and a
   timeline. `compare()` sets two rule-set versions side by side.

The evaluation grid starts at the first data sample (aligned so that `--from` is on the grid) and steps by
the group's `interval` (default 1m) unless a step is given; episodes are clipped to [from, to].
Deviation from a live Prometheus: recording rules of all groups are evaluated before the alerting
rules (a live server interleaves groups; only same-instant cross-group dependencies differ), and
evaluation times are aligned to the grid instead of Prometheus' per-group hash offset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opsctl.data.exports import Series
from opsctl.errors import InputError
from opsctl.promql import STALE_NAN, Engine, Labels, PromQLError, Storage
from opsctl.promql.semantics import engine_options
from opsctl.rules.loader import DEFAULT_VERSION, LoadOptions, load_rule_file
from opsctl.rules.model import Rule, RuleGroup
from opsctl.rules.staleness import mark_stale
from opsctl.rules.testing_eval import recorded_labels
from opsctl.rules.versions import PromVersion

__all__ = [
    "DEFAULT_STEP",
    "SCHEMA_VERSION",
    "AlertDiff",
    "AlertStats",
    "BacktestResult",
    "Episode",
    "backtest",
    "compare",
    "episodes_from_presence",
    "load_rule_groups",
    "record_episodes",
    "sort_episodes",
]

SCHEMA_VERSION = 1
DEFAULT_STEP = 60.0
LOOKBACK_DELTA_S = 300.0


# -- the state machine ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawEpisode:
    """Step indices of one firing episode: active (pending) at, fired at, resolved at (or None)."""

    active: int
    fired: int
    resolved: int | None


def _steps_for(duration_s: float, step_s: float) -> int:
    """Smallest k with k * step >= duration (in integer milliseconds, as Prometheus compares times)."""
    d = round(duration_s * 1000)
    s = round(step_s * 1000)
    if d <= 0:
        return 0
    return -(-d // s)


def episodes_from_presence(present: np.ndarray, for_steps: int, keep_steps: int) -> tuple[list[RawEpisode], int]:
    """Run Prometheus' alert state machine over a boolean presence array (one entry per evaluation).

    Returns the firing episodes and the number of activations that stayed pending and went away.
    `for_steps`: evaluations after activation until firing (ceil(for / step));
    `keep_steps`: absent evaluations an alert keeps firing (ceil(keep_firing_for / step)).
    """
    p = np.asarray(present, dtype=bool)
    n = int(p.shape[0])
    if n == 0 or not p.any():
        return [], 0
    padded = np.concatenate(([False], p, [False])).astype(np.int8)
    d = np.diff(padded)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1  # inclusive
    episodes: list[RawEpisode] = []
    pending_only = 0
    cur_active = cur_fired = last_end = -1
    firing = False
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if firing:
            gap = s - last_end - 1
            if gap <= keep_steps:
                last_end = e  # came back while kept firing: the same episode goes on
                continue
            episodes.append(RawEpisode(cur_active, cur_fired, last_end + 1 + keep_steps))
            firing = False
        f = s + for_steps
        if f <= e:
            firing, cur_active, cur_fired, last_end = True, s, f, e
        else:
            pending_only += 1
    if firing:
        resolved = last_end + 1 + keep_steps
        episodes.append(RawEpisode(cur_active, cur_fired, resolved if resolved < n else None))
    return episodes, pending_only


# -- results ------------------------------------------------------------------------------------------------


@dataclass
class Episode:
    labels: dict[str, str]
    active_at: float  # Unix seconds
    fired_at: float
    resolved_at: float | None  # None: still firing at the end of the window

    def firing_seconds(self, start: float, end: float) -> float:
        """Firing time within [start, end]."""
        a = max(self.fired_at, start)
        b = min(self.resolved_at if self.resolved_at is not None else end, end)
        return max(0.0, b - a)

    def to_dict(self, start: float, end: float) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "active_at": self.active_at,
            "fired_at": self.fired_at,
            "resolved_at": self.resolved_at,
            "firing_seconds": self.firing_seconds(start, end),
            "ongoing": self.resolved_at is None or self.resolved_at > end,
        }


@dataclass
class InstanceStats:
    labels: dict[str, str]
    fired: int
    firing_seconds: float
    flaps: int

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "fired": self.fired, "firing_seconds": self.firing_seconds,
                "flaps": self.flaps}


@dataclass
class AlertStats:
    name: str
    rules: list[str]  # "file:group" of every rule with this alert name
    for_: float
    keep_firing_for: float
    step: float
    start: float
    end: float
    episodes: list[Episode] = field(default_factory=list)
    pending_only: int = 0

    @property
    def fired(self) -> int:
        return sum(1 for e in self.episodes if self.start <= e.fired_at <= self.end)

    @property
    def firing_seconds(self) -> float:
        return sum(e.firing_seconds(self.start, self.end) for e in self.episodes)

    @property
    def resolved(self) -> int:
        return sum(1 for e in self.episodes if e.resolved_at is not None and self.start <= e.resolved_at <= self.end)

    @property
    def instances(self) -> int:
        return len({tuple(sorted(e.labels.items())) for e in self.episodes})

    @property
    def flaps(self) -> int:
        """Re-fires: episodes of an instance that already fired and resolved earlier in the window."""
        seen: dict[tuple[tuple[str, str], ...], int] = {}
        for e in self.episodes:
            if self.start <= e.fired_at <= self.end:
                key = tuple(sorted(e.labels.items()))
                seen[key] = seen.get(key, 0) + 1
        return sum(c - 1 for c in seen.values())

    @property
    def longest(self) -> Episode | None:
        if not self.episodes:
            return None
        return max(self.episodes, key=lambda e: e.firing_seconds(self.start, self.end))

    def by_instance(self) -> list[InstanceStats]:
        """The same figures per alert instance (label set), most firing time first."""
        groups: dict[tuple[tuple[str, str], ...], list[Episode]] = {}
        for e in self.episodes:
            groups.setdefault(tuple(sorted(e.labels.items())), []).append(e)
        out = []
        for key, eps in groups.items():
            fired = sum(1 for e in eps if self.start <= e.fired_at <= self.end)
            out.append(InstanceStats(dict(key), fired, sum(e.firing_seconds(self.start, self.end) for e in eps),
                                     max(0, fired - 1)))
        return sorted(out, key=lambda x: (-x.firing_seconds, sorted(x.labels.items())))

    def timeline(self, width: int) -> list[int]:
        """Per bucket of the window: 2 if some instance fired in it, 0 otherwise."""
        width = max(1, width)
        out = [0] * width
        span = self.end + self.step - self.start  # the last evaluation covers one step too
        if span <= 0:
            return out
        for e in self.episodes:
            a = max(e.fired_at, self.start)
            b = min(e.resolved_at if e.resolved_at is not None else self.end, self.end)
            if b < a:
                continue
            if e.resolved_at is None:
                b = self.end + self.step
            i0 = min(width - 1, int((a - self.start) / span * width))
            i1 = min(width - 1, math.ceil((b - self.start) / span * width - 1e-9) - 1) if b > a else i0
            for i in range(i0, max(i0, i1) + 1):
                out[i] = 2
        return out

    def to_dict(self) -> dict[str, Any]:
        longest = self.longest
        return {
            "alertname": self.name,
            "rules": self.rules,
            "for_seconds": self.for_,
            "keep_firing_for_seconds": self.keep_firing_for,
            "step_seconds": self.step,
            "fired": self.fired,
            "resolved": self.resolved,
            "firing_seconds": self.firing_seconds,
            "flaps": self.flaps,
            "pending_only": self.pending_only,
            "instances": self.instances,
            "longest_episode": longest.to_dict(self.start, self.end) if longest is not None else None,
            "instances_detail": [i.to_dict() for i in self.by_instance()],
            "episodes": [e.to_dict(self.start, self.end) for e in
                         sorted(self.episodes, key=lambda e: (e.fired_at, sorted(e.labels.items())))],
        }


@dataclass
class BacktestResult:
    rule_files: list[str]
    start: float
    end: float
    alerts: list[AlertStats] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)  # recording rules evaluated
    recorded_from_data: list[str] = field(default_factory=list)  # recording rules whose series were in the data
    warnings: list[str] = field(default_factory=list)
    series: int = 0
    samples: int = 0

    def alert(self, name: str) -> AlertStats | None:
        return next((a for a in self.alerts if a.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_files": self.rule_files,
            "from": self.start,
            "to": self.end,
            "input": {"series": self.series, "samples": self.samples},
            "recorded": self.recorded,
            "recorded_from_data": self.recorded_from_data,
            "warnings": self.warnings,
            "alerts": [a.to_dict() for a in self.alerts],
        }


@dataclass
class AlertDiff:
    name: str
    before: AlertStats | None
    after: AlertStats | None

    @staticmethod
    def _get(s: AlertStats | None, attr: str) -> float:
        return float(getattr(s, attr)) if s is not None else 0.0

    @property
    def fired_delta(self) -> int:
        return int(self._get(self.after, "fired") - self._get(self.before, "fired"))

    @property
    def firing_seconds_delta(self) -> float:
        return self._get(self.after, "firing_seconds") - self._get(self.before, "firing_seconds")

    @property
    def flaps_delta(self) -> int:
        return int(self._get(self.after, "flaps") - self._get(self.before, "flaps"))

    def to_dict(self) -> dict[str, Any]:
        def side(s: AlertStats | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {"fired": s.fired, "firing_seconds": s.firing_seconds, "flaps": s.flaps,
                    "pending_only": s.pending_only, "instances": s.instances}
        return {
            "alertname": self.name,
            "before": side(self.before),
            "after": side(self.after),
            "fired_delta": self.fired_delta,
            "firing_seconds_delta": self.firing_seconds_delta,
            "flaps_delta": self.flaps_delta,
        }


def compare(before: BacktestResult, after: BacktestResult) -> list[AlertDiff]:
    """Per alert name, the two versions side by side (an alert missing from one side is None there)."""
    names = [a.name for a in before.alerts] + [a.name for a in after.alerts if before.alert(a.name) is None]
    return [AlertDiff(n, before.alert(n), after.alert(n)) for n in names]


# -- running ------------------------------------------------------------------------------------------------


def load_rule_groups(paths: list[str], prometheus_version: PromVersion | None = None) -> list[RuleGroup]:
    options = LoadOptions(prometheus_version=prometheus_version) if prometheus_version else None
    groups: list[RuleGroup] = []
    for p in paths:
        groups.extend(load_rule_file(p, options).groups)
    return groups


def _fill_storage(storage: Storage, series: list[Series], consume: bool = False) -> tuple[int, float, float]:
    """Add the series to the storage, the samples of each metric name in one pair of arrays (in input
    order within a name): the engine then takes those arrays as they are instead of copying them.
    consume=True empties `series` and lets each series go once copied (peak memory of long exports)."""
    samples = 0
    lo, hi = math.inf, -math.inf
    by_name: dict[str, list[Series | None]] = {}
    for s in series:
        if len(s):
            by_name.setdefault(s.labels.get("__name__", ""), []).append(s)
    if consume:
        series.clear()
    for group in by_name.values():
        total = sum(len(s) for s in group if s is not None)
        ts_all = np.empty(total, dtype=np.int64)
        vs_all = np.empty(total, dtype=np.float64)
        at = 0
        for j in range(len(group)):
            one = group[j]
            assert one is not None
            n = len(one)
            ts_all[at : at + n] = np.round(np.asarray(one.timestamps, dtype=np.float64) * 1000)
            vs_all[at : at + n] = one.values
            # Native histograms (JSON exports): the storage keeps them in the series' object array.
            storage.add(Labels(one.labels), ts_all[at : at + n], vs_all[at : at + n],
                        None if one.histograms is None else list(one.histograms))
            at += n
            samples += n
            lo = min(lo, float(one.timestamps[0]))
            hi = max(hi, float(one.timestamps[-1]))
            if consume:
                group[j] = None
            del one
    return samples, lo, hi


# Evaluation works through the period in chunks of steps (each step of a range query is independent):
# the engine's working arrays stay bounded by CHUNK_ELEMENTS (steps x selected series) whatever the period.
CHUNK_ELEMENTS = 250_000


def _chunk_steps(engine: Engine) -> int:
    return max(16, CHUNK_ELEMENTS // max(1, len(engine.storage)))


# (labels, times, values, histograms): histograms is None for float-only pieces, else an object array aligned
# with times (a native histogram, or None at a float point).
Piece = tuple[Labels, np.ndarray, np.ndarray, "np.ndarray | None"]


def _range(engine: Engine, expr: str, start: float, end: float, step: float,
           failures: list[tuple[int, str]] | None = None) -> Iterator[Piece]:
    """(labels, times, values, histograms) pieces of a range query, chunk by chunk (a series may come in
    several pieces). An evaluation that fails (many-to-many matching, ...) fails only at its own steps, as a
    rule evaluation does in Prometheus: those steps give nothing and are reported in `failures` as
    (step index, message)."""
    n = math.floor((end - start) / step + 1e-9) + 1
    if _QUERY_BOUNDS.search(expr):
        # Prometheus evaluates a rule as an instant query: start() = end() = its time, range() = step() = 0
        # (also inside duration expressions); a range query's chunk would give the chunk's bounds
        yield from _instant_steps(engine, expr, start, step, 0, n, failures)
        return
    size = _chunk_steps(engine)
    for i in range(0, n, size):
        yield from _range_steps(engine, expr, start, step, i, min(n, i + size), failures)


# start(), end(), range(), step() (3.12+; step() and range() in durations from 3.6/3.10), `@ start()`
_QUERY_BOUNDS = re.compile(r"\b(?:start|end|range|step)\s*\(\s*\)", re.IGNORECASE)


def _instant_steps(engine: Engine, expr: str, start: float, step: float, i0: int, i1: int,
                   failures: list[tuple[int, str]] | None) -> Iterator[Piece]:
    """A rule that reads its query's bounds, evaluated at steps [i0, i1) of the grid start + i*step as the
    instant queries Prometheus runs."""
    for i in range(i0, i1):
        t = start + i * step
        try:
            res = engine.instant(expr, t)
        except PromQLError as exc:
            if failures is None:
                raise InputError(f"cannot evaluate {expr!r}: {exc}", "<rules>") from None
            failures.append((i, str(exc)))
            continue
        ts = np.array([t], dtype=np.float64)
        if res.type == "vector":
            for s in res.series:
                hs = None
                if s.histograms is not None and s.histograms[0] is not None:
                    hs = np.empty(1, dtype=object)
                    hs[0] = s.histograms[0]
                yield s.labels, ts, np.asarray(s.values[:1], dtype=np.float64), hs
        elif res.type == "scalar" and res.scalar is not None:
            yield Labels(), ts, np.array([res.scalar], dtype=np.float64), None
        else:
            raise InputError(f"expression {expr!r} does not give a vector or scalar", "<rules>")


def _range_steps(engine: Engine, expr: str, start: float, step: float, i0: int, i1: int,
                 failures: list[tuple[int, str]] | None) -> Iterator[Piece]:
    try:
        res = engine.range(expr, start + i0 * step, start + (i1 - 1) * step, step)
    except PromQLError as exc:
        if failures is None:
            raise InputError(f"cannot evaluate {expr!r}: {exc}", "<rules>") from None
        if i1 - i0 == 1:
            failures.append((i0, str(exc)))
            return
        mid = (i0 + i1) // 2  # find the failing steps by halving
        yield from _range_steps(engine, expr, start, step, i0, mid, failures)
        yield from _range_steps(engine, expr, start, step, mid, i1, failures)
        return
    if res.type == "matrix":
        for s in res.series:
            hs = None
            if s.histograms is not None:
                hs = np.empty(len(s.histograms), dtype=object)
                hs[:] = s.histograms
            yield s.labels, np.asarray(s.timestamps, dtype=np.float64), np.asarray(s.values, dtype=np.float64), hs
        return
    if res.type == "scalar" and res.scalar_timestamps is not None and res.scalar_values is not None:
        yield Labels(), np.asarray(res.scalar_timestamps, dtype=np.float64), np.asarray(res.scalar_values,
                                                                                        dtype=np.float64), None
        return
    raise InputError(f"expression {expr!r} does not give a vector or scalar", "<rules>")


def _failure_warning(kind: str, name: str, failures: list[tuple[int, str]], steps: int) -> str:
    effect = ("its alerts keep their state there" if kind == "alert"
              else "nothing is recorded there, and no staleness marker")
    return (f"{kind} {name}: evaluation failed at {len(failures)} of {steps} steps ({effect}, as when a rule "
            f"evaluation fails in Prometheus): {failures[0][1]}")


def _carry_over_failures(present: np.ndarray, failures: list[tuple[int, str]]) -> np.ndarray:
    """Presence with each failed step taking the state of the step before (a failed evaluation changes
    nothing in Prometheus: alerts keep their state, recorded series are not marked stale)."""
    out = present.copy()
    for i, _ in sorted(failures):
        if 0 < i < len(out):
            out[i] = out[i - 1]
    return out


def _grid_start(data_start: float, start: float, step: float) -> float:
    """The first grid point at or after data_start, on the grid through `start`."""
    if data_start >= start:
        return start
    k = math.floor((start - data_start) / step)
    return start - k * step


# (template text, alert name, sample labels, value (a float or a native histogram), evaluation time in seconds)
# -> expanded text
Renderer = Callable[[str, str, Mapping[str, str], Any, float], str]


def _default_renderer(engine: Engine) -> Renderer:
    from opsctl.rules.testing_eval import query_vector
    from opsctl.rules.testing_templates import CachedRenderer

    cached = CachedRenderer({}, "")

    def render(text: str, name: str, labels: Mapping[str, str], value: Any, t: float) -> str:
        t_ms = round(t * 1000)  # `now` in the template is the evaluation time, as in Prometheus
        return cached(text, name, labels, value, lambda q: query_vector(engine, q, t_ms), t_ms)

    return render


def _alert_labels(rule_labels: dict[str, str], alertname: str, sample: Labels, value: Any, t: float,
                  render: Renderer | None) -> tuple[tuple[str, str], ...]:
    d = {k: v for k, v in sample.items() if k != "__name__"}
    for k in sorted(rule_labels):
        text = rule_labels[k]
        if "{{" in text and render is not None:
            text = render(text, alertname, dict(sample), value, t)
        if text == "":
            d.pop(k, None)
        else:
            d[k] = text
    d["alertname"] = alertname
    return tuple(sorted(d.items()))


def backtest(rule_files: list[str], series: list[Series], start: float | None = None, end: float | None = None,
             step: float | None = None, progress: Callable[..., None] | None = None,
             consume: bool = False, prometheus_version: PromVersion | None = None,
             infer_staleness: bool = True) -> BacktestResult:
    """Replay the alerting rules of `rule_files` over `series`. Raises InputError for bad rules or range.

    `prometheus_version` (default: 3.16, the newest supported) decides the rule-file rules and the engine's semantics.

    `progress(1, total=rules)` is called after each rule is replayed (the CLI draws a bar from it).
    consume=True: the caller no longer needs `series`; the list is emptied and each series freed as
    soon as its samples are in the engine (a long export is then not held twice).
    infer_staleness=False: no stale markers are inferred from gaps (opsctl.rules.staleness)."""
    groups = load_rule_groups(rule_files, prometheus_version)
    storage = Storage()
    n_series = len(series)
    names_in_data = {s.labels.get("__name__", "") for s in series}
    # Stale markers where the data shows a series stopped (opsctl.rules.staleness), as Prometheus writes.
    if infer_staleness and not consume:
        series = list(series)  # the caller's list keeps its series
    stale_added, stale_warnings = mark_stale(series) if infer_staleness else (0, [])
    samples, data_lo, data_hi = _fill_storage(storage, series, consume)
    samples -= stale_added
    if samples == 0:
        raise InputError("the export holds no samples", "<data>")
    w_start = data_lo if start is None else float(start)
    w_end = data_hi if end is None else float(end)
    if w_end < w_start:
        raise InputError(f"--to ({w_end}) is before --from ({w_start})", "<arguments>")
    if step is not None and step <= 0:
        raise InputError("--step must be positive", "<arguments>")
    result = BacktestResult([str(p) for p in rule_files], w_start, w_end, series=n_series, samples=samples)
    result.warnings += stale_warnings
    engine_opts = engine_options(prometheus_version or DEFAULT_VERSION)  # the version's PromQL semantics
    engine = Engine(storage, lookback_delta=LOOKBACK_DELTA_S, max_chunk_elements=CHUNK_ELEMENTS, **engine_opts)
    render = _default_renderer(engine)
    n_rules = sum(len(g.rules) for g in groups)

    def tick() -> None:
        if progress is not None:
            progress(1, total=n_rules)

    # Recording rules first, in group order.
    for g in groups:
        g_step = step or g.interval or DEFAULT_STEP
        offset = g.query_offset or 0.0
        for rule in g.rules:
            if rule.kind != "record":
                continue
            if rule.name in names_in_data:
                result.recorded_from_data.append(rule.name)
                continue
            _record(engine, storage, rule, g, _grid_start(data_lo, w_start, g_step), w_end, g_step, offset,
                    result.warnings)
            result.recorded.append(rule.name)
            tick()

    for g, rule, stats, g_step, offset in alert_rules(groups, step, result, w_start, w_end):
        _replay_alert(engine, rule, g, stats, _grid_start(data_lo, w_start, g_step), w_end, g_step, offset,
                      render, result.warnings)
        tick()
    for stats in result.alerts:
        sort_episodes(stats)
    return result


def alert_rules(groups: list[RuleGroup], step: float | None, result: BacktestResult, w_start: float,
                w_end: float) -> Iterator[tuple[RuleGroup, Rule, AlertStats, float, float]]:
    """Each alerting rule with its group, its statistics (one AlertStats per alert name, appended to
    `result.alerts` on first sight; rules of the same name in several groups share it), the evaluation step
    and the group's query offset: the walk both the whole-input and the streamed replay make."""
    by_name: dict[str, AlertStats] = {}
    for g in groups:
        g_step = step or g.interval or DEFAULT_STEP
        offset = g.query_offset or 0.0
        for rule in g.rules:
            if rule.kind != "alert":
                continue
            stats = by_name.get(rule.name)
            if stats is None:
                stats = AlertStats(rule.name, [], rule.for_, rule.keep_firing_for, g_step, w_start, w_end)
                by_name[rule.name] = stats
                result.alerts.append(stats)
            stats.rules.append(f"{Path(rule.file).name}:{g.name}")
            yield g, rule, stats, g_step, offset


def sort_episodes(stats: AlertStats) -> None:
    """Episodes in time order (then by labels): the order, and with it the longest episode among equally
    long ones, does not depend on the order instances were met in."""
    stats.episodes.sort(key=lambda e: (e.fired_at, sorted(e.labels.items()), e.active_at,
                                       math.inf if e.resolved_at is None else e.resolved_at))


def _record(engine: Engine, storage: Storage, rule: Rule, group: RuleGroup, start: float, end: float,
            step: float, offset: float, warnings: list[str]) -> None:
    n = math.floor((end - start) / step + 1e-9) + 1
    grid_ms = np.round((start + np.arange(n) * step) * 1000).astype(np.int64)
    extra = {**group.labels, **rule.labels}
    failures: list[tuple[int, str]] = []
    recorded, hists = on_grid(_range(engine, rule.expr, start - offset, end - offset, step, failures),
                              start, step, offset, n)
    if failures:
        warnings.append(_failure_warning("recording rule", rule.name, failures, n))
    # Written after the whole period is evaluated: the rule's own expression never reads its output. In the
    # order a TSDB creates them (first step present, then label order within a step), which decides the
    # summation order of aggregations over them; it does not depend on how the period is cut in chunks.
    order = sorted(recorded, key=lambda lab: (int(np.argmax(recorded[lab][0])), lab.items_tuple))
    for labels in order:
        present, values = recorded[labels]
        d = recorded_labels(labels, rule.name, extra)
        # A stale marker at the first evaluation after each present run, as the rule manager writes.
        alive = _carry_over_failures(present, failures) if failures else present
        stale = np.zeros(n, dtype=bool)
        stale[1:] = alive[:-1] & ~alive[1:]
        keep = present | stale
        values[stale] = STALE_NAN
        h = hists.get(labels)
        storage.add(Labels(d), grid_ms[keep], values[keep], None if h is None else list(h[keep]))


def on_grid(pieces: Iterable[tuple[Labels, np.ndarray, np.ndarray, np.ndarray | None]], start: float,
            step: float, offset: float, n: int, first: int = 0,
            ) -> tuple[dict[Labels, tuple[np.ndarray, np.ndarray]], dict[Labels, np.ndarray]]:
    """A recording rule's range results placed on its evaluation grid of `n` steps from step `first`
    (evaluation i at `start + i*step`, read at `- offset`): per series, which steps are present and their
    values; and the native histograms (object arrays) of the series that have some."""
    recorded: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
    hists: dict[Labels, np.ndarray] = {}
    for labels, ts, vs, hs in pieces:
        idx = np.round((ts + offset - start) / step).astype(np.int64) - first
        ok = (idx >= 0) & (idx < n)
        got = recorded.get(labels)
        if got is None:
            got = recorded[labels] = (np.zeros(n, dtype=bool), np.full(n, np.nan))
        got[0][idx[ok]] = True
        got[1][idx[ok]] = vs[ok]
        if hs is not None:
            if labels not in hists:
                hists[labels] = np.full(n, None, dtype=object)
            hists[labels][idx[ok]] = hs[ok]
    return recorded, hists


def _replay_alert(engine: Engine, rule: Rule, group: RuleGroup, stats: AlertStats, start: float, end: float,
                  step: float, offset: float, render: Renderer | None, warnings: list[str]) -> None:
    n = math.floor((end - start) / step + 1e-9) + 1
    rule_labels = {**group.labels, **rule.labels}
    templated = any("{{" in v for v in rule_labels.values())
    presence: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    clash = False
    failures: list[tuple[int, str]] = []
    for labels, ts, vs, hs in _range(engine, rule.expr, start - offset, end - offset, step, failures):
        idx = np.round((ts + offset - start) / step).astype(np.int64)
        ok = (idx >= 0) & (idx < n)
        idx, vals = idx[ok], vs[ok]
        if not templated:
            key = _alert_labels(rule_labels, rule.name, labels, 0.0, 0.0, None)
            arr = presence.setdefault(key, np.zeros(n, dtype=bool))
            clash = clash or bool(arr[idx].any())
            arr[idx] = True
            continue
        tvals: list[Any] = vals.tolist()
        if hs is not None:  # a histogram sample: `$value` is the histogram (template.AlertTemplateData)
            tvals = [v if h is None else h for v, h in zip(tvals, hs[ok].tolist(), strict=True)]
        for i, v in zip(idx.tolist(), tvals, strict=True):
            key = _alert_labels(rule_labels, rule.name, labels, v, start + i * step, render)
            arr = presence.setdefault(key, np.zeros(n, dtype=bool))
            clash = clash or bool(arr[i])
            arr[i] = True
    if failures:
        warnings.append(_failure_warning("alert", rule.name, failures, n))
        presence = {key: _carry_over_failures(arr, failures) for key, arr in presence.items()}
    if clash:
        warnings.append(f"alert {rule.name}: several series give the same alert labels at one time "
                        "(Prometheus fails such an evaluation: 'vector contains metrics with the same labelset "
                        "after applying alert labels'); they were merged")
    record_episodes(stats, rule, presence, start, step)


def record_episodes(stats: AlertStats, rule: Rule, presence: dict[Any, np.ndarray], start: float,
                    step: float) -> None:
    """Turn per-step presence of each alert label set (steps from `start`, `step` apart) into firing episodes
    with the rule's `for`/`keep_firing_for`, keeping those that touch the report window of `stats`."""
    for_steps = _steps_for(rule.for_, step)
    keep_steps = _steps_for(rule.keep_firing_for, step)
    for key, arr in presence.items():
        raw, pending_only = episodes_from_presence(arr, for_steps, keep_steps)
        stats.pending_only += pending_only
        for ep in raw:
            resolved_at = start + ep.resolved * step if ep.resolved is not None else None
            e = Episode(dict(key), start + ep.active * step, start + ep.fired * step, resolved_at)
            if (e.resolved_at is not None and e.resolved_at < stats.start) or e.fired_at > stats.end:
                continue
            stats.episodes.append(e)
