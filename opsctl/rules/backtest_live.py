"""`opsctl rules backtest --prometheus URL`: replay alerting rules over a live Prometheus, and
`--check-replay`: compare the replay with what really fired there.

Modes, per alerting rule (the report says which was used):

- pushdown: the server evaluates the rule's expression with range queries at the group's evaluation
  step (`query_range`, over [from, to] in chunks of at most CHUNK_STEPS steps, JOBS queries at a time);
  `for`/`keep_firing_for` are applied here by the same state machine as the export-based backtest
  (opsctl.rules.backtest.episodes_from_presence), so the report and `--compare` are the same. Recording
  rules the expression reads are used as the server recorded them when it holds their series in the
  window; otherwise their expression is inlined (a plain selector of the recorded name, no matchers, no
  offset/@, not under a range selector, and the rule adds no labels, is replaced by `(expr)`), which is
  exact since the server evaluates it at the same instants. Staleness is the server's own: a series that
  stopped was marked stale, so `absent()` fires at once as in the real rule evaluation.
- raw: when an inlining is not exact, the raw samples of every metric the rule set reads are fetched
  (matrix selectors `{__name__="m"}[chunk]`, chunk by chunk) and replayed with the export-based
  backtest; samples read through the API carry no stale markers, so staleness is read from the gaps
  between samples (opsctl.rules.staleness), as for an export.

Native histograms are read from the server as the `--data` JSON exports are (opsctl.promql.promjson, into
`Series.histograms`): raw mode replays histogram functions over them exactly as over an export, and in
pushdown mode a rule whose result is a histogram is present at its histogram samples, its `$value` (label
templates) being the histogram, printed as Prometheus prints it; template `query` results may be histograms.
`backtest_live(..., force_raw=True)` replays every alert in raw mode (to compare both modes).

`check_replay(result, client, groups)` reads `ALERTS{alertstate="firing"}` raw samples over the same window:
a real firing starts at the first sample after a gap of more than 1.5 evaluation intervals. Two firings are
alike when they are of the same alert with the same labels and start within two evaluation intervals of each
other. Firings are counted when they start in [from, to - 2 intervals] (their partner may lie anywhere), so a
firing cut by the end of the window is not counted as a miss.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opsctl.data.exports import Series
from opsctl.errors import InputError
from opsctl.prom.client import PrometheusClient, PrometheusError
from opsctl.promql import Labels
from opsctl.promql_syntax import metric_name, selectors
from opsctl.promql_syntax import parse as parse_promql
from opsctl.rules.backtest import (
    DEFAULT_STEP,
    LOOKBACK_DELTA_S,
    AlertStats,
    BacktestResult,
    _alert_labels,
    backtest,
    load_rule_groups,
    record_episodes,
)
from opsctl.rules.model import Rule, RuleGroup

__all__ = ["CHUNK_STEPS", "JOBS", "CheckReplay", "LiveBacktestResult", "RuleCheck", "backtest_live",
           "check_replay", "inline_recording_rules"]

CHUNK_STEPS = 2000  # steps per range query (Prometheus refuses more than 11,000 points per series)
RAW_CHUNK_S = 3600.0  # seconds of raw samples per matrix query
JOBS = 4  # queries in flight at once


@dataclass
class LiveBacktestResult(BacktestResult):
    source: str = ""
    modes: dict[str, str] = field(default_factory=dict)  # alertname -> "pushdown" | "raw"
    inlined: dict[str, list[str]] = field(default_factory=dict)  # alertname -> recording rules inlined
    queries: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # alertname -> why it was not replayed

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["live"] = {"prometheus": self.source, "modes": self.modes, "inlined": self.inlined,
                     "queries": self.queries}
        if self.skipped:
            d["live"]["skipped"] = self.skipped
        return d


# -- inlining recording rules -----------------------------------------------------------------------------

_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")


def _replace_identifier(expr: str, name: str, replacement: str) -> tuple[str, int]:
    """Replace the identifier `name` outside strings and comments, when not a function call."""
    out: list[str] = []
    i, n, count = 0, len(expr), 0
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            out.append(expr[i:j + 1])
            i = j + 1
            continue
        if c == "#":
            j = expr.find("\n", i)
            j = n if j < 0 else j
            out.append(expr[i:j])
            i = j
            continue
        if c in _IDENT_CHARS:
            j = i
            while j < n and expr[j] in _IDENT_CHARS:
                j += 1
            word = expr[i:j]
            k = j
            while k < n and expr[k] in " \t\r\n":
                k += 1
            if word == name and not (k < n and expr[k] == "("):
                out.append(replacement)
                count += 1
            else:
                out.append(word)
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out), count


def _inline_one(expr: str, rec: Rule) -> str | None:
    """`expr` with every selector of `rec`'s name replaced by its expression; None when not exact."""
    if rec.labels:
        return None
    try:
        tree = parse_promql(expr)
    except Exception:
        return None
    uses = 0
    for vs, anc in selectors(tree):
        if metric_name(vs) != rec.name:
            continue
        if (not vs.name or list(_plain_matchers(vs)) or vs.offset is not None or vs.at is not None
                or (anc and type(anc[-1]).__name__ == "MatrixSelector")):
            return None
        uses += 1
    new, count = _replace_identifier(expr, rec.name, f"({rec.expr})")
    if count != uses:
        return None
    try:
        new_tree = parse_promql(new)
    except Exception:
        return None
    if any(metric_name(vs) == rec.name for vs, _ in selectors(new_tree)):
        return None
    return new


def _plain_matchers(vs: Any) -> Iterator[Any]:
    from opsctl.promql_syntax import matchers

    for m in matchers(vs):
        if m.name != "__name__":
            yield m


def inline_recording_rules(expr: str, recording: dict[str, Rule], missing: set[str]) -> tuple[str | None, list[str]]:
    """Inline the recording rules named in `missing` (transitively); (None, ...) when one cannot be."""
    done: list[str] = []
    for _ in range(32):  # recording rules nest a few levels deep; a cycle stops here
        try:
            names = {metric_name(vs) for vs, _ in selectors(parse_promql(expr))}
        except Exception:
            return None, done
        todo = [n for n in names if n in missing and n in recording]
        if not todo:
            return expr, done
        for name in sorted(todo):
            new = _inline_one(expr, recording[name])
            if new is None:
                return None, done
            expr = new
            done.append(name)
    return None, done


# -- fetching ---------------------------------------------------------------------------------------------


def _n_chunks(stats: AlertStats, group: RuleGroup, step: float, chunk_steps: int) -> int:
    offset = group.query_offset or 0.0
    return len(_chunks(stats.start - offset, stats.end - offset, step, max(1, chunk_steps)))


def _chunks(start: float, end: float, step: float, size: int) -> list[tuple[float, float]]:
    n = math.floor((end - start) / step + 1e-9) + 1
    return [(start + i * step, start + (min(n, i + size) - 1) * step) for i in range(0, n, size)]


def _with_histograms(client: PrometheusClient) -> dict[str, bool]:
    """Keyword arguments for client.query/query_range that read native histogram samples (a stand-in client
    that is not a PrometheusClient, e.g. in tests, is asked for its plain answer)."""
    return {"histograms": True} if isinstance(client, PrometheusClient) else {}


def _query_chunks(client: PrometheusClient, pool: ThreadPoolExecutor, width: int, expr: str,
                  chunks: list[tuple[float, float]], step: float) -> Iterator[list[Series]]:
    """Range-query results chunk by chunk, in order, at most `width` queries in flight."""
    pending: list[Any] = []
    kw = _with_histograms(client)
    for a, b in chunks:
        pending.append(pool.submit(client.query_range, expr, a, b, step, **kw))
        if len(pending) >= width:
            yield pending.pop(0).result()
    for f in pending:
        yield f.result()


def _present_on_server(client: PrometheusClient, name: str, start: float, end: float) -> bool:
    span = max(1, math.ceil(end - start) + 1)
    got = client.query(f'count(count_over_time({{__name__="{name}"}}[{span}s]))', end)
    return bool(got) and len(got[0]) > 0 and float(got[0].values[-1]) > 0


# -- the replay -------------------------------------------------------------------------------------------


def backtest_live(rule_files: list[str], client: PrometheusClient, start: float, end: float,
                  step: float | None = None, *, jobs: int = JOBS, progress: Callable[..., None] | None = None,
                  chunk_steps: int = CHUNK_STEPS, groups: list[RuleGroup] | None = None,
                  max_queries: int | None = None, raw_fallback: bool = True,
                  keep_going: bool = False, force_raw: bool = False) -> LiveBacktestResult:
    """Replay the alerting rules of `rule_files` over [start, end] of a live Prometheus.

    `groups`: the rule groups, already loaded (else read from `rule_files`). For callers that must stay
    bounded (`rules validate --prometheus --lookback`): `max_queries` caps the queries sent (an alert whose
    replay would pass it is not replayed), `raw_fallback=False` does not fetch raw samples for alerts whose
    recording rules cannot be inlined, and `keep_going=True` records a failed query against its alert and
    goes on; all three land in `result.skipped` (alert name -> why). `force_raw=True`: every alert is replayed
    in raw mode (from raw samples), as when its recording rules cannot be inlined.

    Raises InputError for bad rules or range, PrometheusError when the server fails (unless keep_going)."""
    if end < start:
        raise InputError(f"--to ({end}) is before --from ({start})", "<arguments>")
    if step is not None and step <= 0:
        raise InputError("--step must be positive", "<arguments>")
    if groups is None:
        groups = load_rule_groups(rule_files)
    result = LiveBacktestResult([str(p) for p in rule_files], start, end, source=client.url)
    recording = {r.name: r for g in groups for r in g.rules if r.kind == "record"}
    alerts = [(g, r) for g in groups for r in g.rules if r.kind == "alert"]
    on_server: dict[str, bool] = {}

    def has(name: str) -> bool:
        if name not in on_server:
            try:
                on_server[name] = _present_on_server(client, name, start, end)
            except PrometheusError:
                if not keep_going:
                    raise
                on_server[name] = False  # then inlined when exact: the replay stays right
            result.queries += 1
        return on_server[name]

    # Decide the mode of each alerting rule.
    plans: list[tuple[RuleGroup, Rule, str | None]] = []
    for g, r in alerts:
        expr: str | None = r.expr
        try:
            names = {metric_name(vs) for vs, _ in selectors(parse_promql(r.expr))}
        except Exception as exc:
            if not keep_going:
                raise InputError(f"alert {r.name}: {exc}", r.file) from None
            result.skipped[r.name] = f"its expression could not be read for the replay ({exc})"
            continue
        missing = set() if force_raw else _missing_recorded(names, recording, has)
        if force_raw:
            expr = None
        elif missing:
            expr, done = inline_recording_rules(r.expr, recording, missing)
            if expr is not None and done:
                result.inlined.setdefault(r.name, [])
                result.inlined[r.name] += [d for d in done if d not in result.inlined[r.name]]
        plans.append((g, r, expr))

    by_name: dict[str, AlertStats] = {}
    raw_names: list[str] = []
    n_rules = len(plans)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for g, r, expr in plans:
            g_step = step or g.interval or DEFAULT_STEP
            stats = by_name.get(r.name)
            if stats is None:
                stats = AlertStats(r.name, [], r.for_, r.keep_firing_for, g_step, start, end)
                by_name[r.name] = stats
                result.alerts.append(stats)
            stats.rules.append(f"{Path(r.file).name}:{g.name}")
            if expr is None and not raw_fallback:
                result.skipped[r.name] = ("a recording rule it reads has no series on the server and cannot be "
                                          "inlined exactly (rules backtest --prometheus replays it from raw samples)")
            elif expr is None:
                result.modes[r.name] = "raw"
                raw_names.append(r.name)
            elif max_queries is not None and result.queries + _n_chunks(stats, g, g_step, chunk_steps) > max_queries:
                result.skipped[r.name] = f"query budget ({max_queries} queries) spent on the alerts before it"
            else:
                result.modes.setdefault(r.name, "pushdown")
                try:
                    _pushdown_alert(client, pool, max(1, jobs), r, expr, g, stats, g_step, chunk_steps, result)
                except PrometheusError as exc:
                    if not keep_going:
                        raise
                    result.skipped[r.name] = f"the server failed a query: {exc}"
                    stats.episodes = []
            if progress is not None:
                progress(1, total=n_rules)
        if raw_names:
            _raw_fallback(client, pool, rule_files, groups, set(raw_names), recording, start, end, step, result,
                          by_name)
    return result


def _missing_recorded(names: set[str | None], recording: dict[str, Rule], has: Callable[[str], bool]) -> set[str]:
    """Recording rules read (transitively) that the server holds no series of."""
    missing: set[str] = set()
    todo = [n for n in names if n and n in recording]
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if has(n):
            continue
        missing.add(n)
        try:
            inner = {metric_name(vs) for vs, _ in selectors(parse_promql(recording[n].expr))}
        except Exception:  # the loader already parsed it; nothing more to follow
            inner = set()
        todo += [m for m in inner if m and m in recording]
    return missing


def _pushdown_alert(client: PrometheusClient, pool: ThreadPoolExecutor, width: int, rule: Rule, expr: str,
                    group: RuleGroup, stats: AlertStats, step: float, chunk_steps: int,
                    result: LiveBacktestResult) -> None:
    start, end = stats.start, stats.end
    offset = group.query_offset or 0.0
    n = math.floor((end - start) / step + 1e-9) + 1
    rule_labels = {**group.labels, **rule.labels}
    templated = any("{{" in v for v in rule_labels.values())
    render = _server_renderer(client) if templated else None
    presence: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    chunks = _chunks(start - offset, end - offset, step, max(1, chunk_steps))
    for got in _query_chunks(client, pool, width, expr, chunks, step):
        result.queries += 1
        for s in got:
            result.series += 1
            result.samples += len(s)
            idx = np.round((np.asarray(s.timestamps) + offset - start) / step).astype(np.int64)
            ok = (idx >= 0) & (idx < n)
            labels = Labels(s.labels)
            if not templated:
                key = _alert_labels(rule_labels, rule.name, labels, 0.0, 0.0, None)
                presence.setdefault(key, np.zeros(n, dtype=bool))[idx[ok]] = True
                continue
            values: list[Any] = np.asarray(s.values)[ok].tolist()
            if s.histograms is not None:  # a histogram sample: `$value` is the histogram (AlertTemplateData)
                values = [v if h is None else h for v, h in zip(values, s.histograms[ok].tolist(), strict=True)]
            for i, v in zip(idx[ok].tolist(), values, strict=True):
                key = _alert_labels(rule_labels, rule.name, labels, v, start + i * step, render)
                presence.setdefault(key, np.zeros(n, dtype=bool))[i] = True
    # the replay covers exactly the window (steps from stats.start), so the window filter keeps every episode
    record_episodes(stats, rule, presence, start, step)


def _server_renderer(client: PrometheusClient) -> Callable[[str, str, Any, Any, float], str]:
    """Label templates expanded as the rule manager does; their `query` calls go to the server."""
    from opsctl.rules.testing_templates import CachedRenderer

    cached = CachedRenderer({}, "")
    kw = _with_histograms(client)

    def render(text: str, name: str, labels: Any, value: Any, t: float) -> str:
        def query(q: str) -> list[tuple[Labels, Any]]:
            return [(Labels(s.labels), _last(s)) for s in client.query(q, t, **kw)]
        return cached(text, name, labels, value, query, round(t * 1000))  # `now`: the evaluation time

    return render


def _last(s: Series) -> Any:
    """The last sample of an instant query's element: its float, or its native histogram."""
    if not len(s):
        return math.nan
    if s.histograms is not None and s.histograms[-1] is not None:
        return s.histograms[-1]
    return float(s.values[-1])


def _max_range(expr: str) -> float:
    """Seconds of data before an evaluation the expression may read (ranges, offsets, lookback)."""
    longest = 0.0
    try:
        from opsctl.promql_syntax import walk

        for node, _ in walk(parse_promql(expr)):
            for attr in ("range", "offset"):
                v = getattr(node, attr, None)
                if v is not None and hasattr(v, "total_seconds"):
                    longest += max(0.0, float(v.total_seconds()))
    except Exception:
        return 86400.0
    return longest + LOOKBACK_DELTA_S


def _raw_fallback(client: PrometheusClient, pool: ThreadPoolExecutor, rule_files: list[str],
                  groups: list[RuleGroup], raw_alerts: set[str], recording: dict[str, Rule], start: float,
                  end: float, step: float | None, result: LiveBacktestResult, by_name: dict[str, AlertStats]) -> None:
    """Fetch the raw samples every rule of the raw-mode alerts reads and replay them from memory."""
    exprs = [r.expr for g in groups for r in g.rules if r.kind == "alert" and r.name in raw_alerts]
    names: set[str] = set()
    before = 0.0
    todo = list(exprs)
    seen: set[str] = set()
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.add(e)
        before = max(before, _max_range(e))
        for sel, _ in selectors(parse_promql(e)):
            m = metric_name(sel)
            if m is None:
                raise InputError("raw mode needs a metric name in every selector of the rules it replays",
                                 "<rules>")
            names.add(m)
            if m in recording and not result_has(m, client, start, end):
                todo.append(recording[m].expr)
    series: list[Series] = []
    lo = start - before
    kw = _with_histograms(client)
    for name in sorted(names):
        pieces: dict[tuple[tuple[str, str], ...], list[Series]] = {}
        t = lo
        futures = []
        while t < end:
            b = min(end, t + RAW_CHUNK_S)
            span = max(1, math.ceil(b - t))
            futures.append(pool.submit(client.query, f'{{__name__="{name}"}}[{span}s]', b, **kw))
            t = b
        for f in futures:
            result.queries += 1
            for s in f.result():
                pieces.setdefault(tuple(sorted(s.labels.items())), []).append(s)
        for key, parts in pieces.items():
            ts = np.concatenate([p.timestamps for p in parts])
            vs = np.concatenate([p.values for p in parts])
            ts, first = np.unique(ts, return_index=True)  # chunk edges are read twice
            hs: np.ndarray | None = None
            if any(p.histograms is not None for p in parts):  # native histograms, as from a JSON export
                hs = np.empty(len(vs), dtype=object)
                at = 0
                for p in parts:
                    if p.histograms is not None:
                        hs[at:at + len(p)] = p.histograms
                    at += len(p)
                hs = hs[first]
            series.append(Series(dict(key), ts, vs[first], histograms=hs))
    replay = backtest(rule_files, series, start, end, step) if series else None
    result.warnings.append(
        "raw mode (" + ", ".join(sorted(raw_alerts)) + "): a recording rule could not be inlined exactly, so the "
        "raw samples were fetched and replayed here; the API gives no stale markers, so staleness is read "
        "from gaps in the samples (opsctl.rules.staleness)")
    for name in raw_alerts:
        stats = by_name[name]
        got = replay.alert(name) if replay is not None else None
        if got is not None:
            stats.episodes = got.episodes
            stats.pending_only = got.pending_only
    if replay is not None:
        result.series += replay.series
        result.samples += replay.samples
        # (the in-memory replay ran every rule; only the warnings of the raw-mode alerts concern it)
        result.warnings += [w for w in replay.warnings if not w.startswith("alert ")
                            or any(w.startswith(f"alert {n}:") for n in raw_alerts)]


def result_has(name: str, client: PrometheusClient, start: float, end: float) -> bool:
    try:
        return _present_on_server(client, name, start, end)
    except PrometheusError:
        return False


# -- --check-replay ---------------------------------------------------------------------------------------


@dataclass
class RuleCheck:
    alertname: str
    interval: float
    alike: int = 0
    only_replayed: list[tuple[dict[str, str], float]] = field(default_factory=list)
    only_real: list[tuple[dict[str, str], float]] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)  # replayed start - real start, of alike pairs

    @property
    def typical_offset(self) -> float | None:
        return statistics.median(self.offsets) if self.offsets else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alertname": self.alertname,
            "interval_seconds": self.interval,
            "alike": self.alike,
            "only_replayed": len(self.only_replayed),
            "only_real": len(self.only_real),
            "typical_offset_seconds": self.typical_offset,
            "only_replayed_firings": [{"labels": lb, "fired_at": t} for lb, t in self.only_replayed],
            "only_real_firings": [{"labels": lb, "fired_at": t} for lb, t in self.only_real],
        }


@dataclass
class CheckReplay:
    rules: list[RuleCheck]

    @property
    def alike(self) -> int:
        return sum(r.alike for r in self.rules)

    @property
    def total(self) -> int:
        return sum(r.alike + len(r.only_replayed) + len(r.only_real) for r in self.rules)

    @property
    def alike_ratio(self) -> float | None:
        return self.alike / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"alike": self.alike, "firings": self.total, "alike_ratio": self.alike_ratio,
                "rules": [r.to_dict() for r in self.rules]}


def real_firings(client: PrometheusClient, start: float, end: float, intervals: dict[str, float],
                 default_interval: float) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Per alert name, (labels without alertstate, start time) of each firing in ALERTS over [start, end]."""
    series: dict[tuple[tuple[str, str], ...], list[np.ndarray]] = {}
    t = start
    while t < end:
        b = min(end, t + RAW_CHUNK_S)
        span = max(1, math.ceil(b - t))
        for s in client.query(f'ALERTS{{alertstate="firing"}}[{span}s]', b):
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("alertstate", "__name__")))
            series.setdefault(key, []).append(np.asarray(s.timestamps, dtype=np.float64))
        t = b
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for key, parts in series.items():
        labels = dict(key)
        name = labels.get("alertname", "")
        gap = 1.5 * intervals.get(name, default_interval)
        ts = np.unique(np.concatenate(parts))
        if len(ts) == 0:
            continue
        starts = [float(ts[0])] + [float(x) for x in ts[1:][np.diff(ts) > gap]]
        out.setdefault(name, []).extend((labels, s) for s in starts)
    return out


def check_replay(result: BacktestResult, client: PrometheusClient, groups: list[RuleGroup]) -> CheckReplay:
    """Compare the replayed firings of `result` with the firings in the server's ALERTS series."""
    intervals: dict[str, float] = {}
    for g in groups:
        for r in g.rules:
            if r.kind == "alert":
                intervals.setdefault(r.name, g.interval or DEFAULT_STEP)
    default = max(intervals.values(), default=DEFAULT_STEP)
    lead = 2 * default
    real = real_firings(client, result.start - lead, result.end, intervals, default)
    checks: list[RuleCheck] = []
    for a in result.alerts:
        iv = intervals.get(a.name, a.step)
        tol = 2 * iv + 1e-6
        counted_until = result.end - 2 * iv
        rc = RuleCheck(a.name, iv)
        replayed = sorted(((e.labels, e.fired_at) for e in a.episodes), key=lambda x: x[1])
        got = sorted(real.get(a.name, []), key=lambda x: x[1])
        used_real: set[int] = set()
        for labels, t in replayed:
            best, best_d = -1, math.inf
            for j, (rl, rt) in enumerate(got):
                if j in used_real or rl != labels:
                    continue
                d = abs(t - rt)
                if d <= tol and d < best_d:
                    best, best_d = j, d
            counted = result.start <= t <= counted_until
            if best >= 0:
                used_real.add(best)
                if counted or result.start <= got[best][1] <= counted_until:
                    rc.alike += 1
                    rc.offsets.append(t - got[best][1])
            elif counted:
                rc.only_replayed.append((labels, t))
        for j, (rl, rt) in enumerate(got):
            if j not in used_real and result.start <= rt <= counted_until:
                rc.only_real.append((rl, rt))
        checks.append(rc)
    return CheckReplay(checks)
