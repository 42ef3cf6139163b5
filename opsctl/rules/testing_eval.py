"""Rule evaluation over time as Prometheus' rule manager does it (rules/manager.go, rules/alerting.go,
rules/recording.go of Prometheus 2.42, plus `keep_firing_for`, which 2.42 already has).

- `AppendStore`: the TSDB append semantics the rule manager sees: per series, a sample older than the
  newest one is "out of order sample", one at the same time with other value bits is "duplicate sample
  for timestamp", the same value again is a no-op.
- `RuleEvaluator.eval(ts)`: evaluates every group in order, every rule in its group, writes recording
  rule output and the `ALERTS` / `ALERTS_FOR_STATE` series back, marks series that a rule stopped
  returning as stale (Prometheus' staleness handling), and runs the alert state machine:
  inactive -> pending -> firing (after `for`), kept firing for `keep_firing_for` after the condition
  goes away, resolved otherwise. Label and annotation templates are expanded per alert.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsctl.promql import STALE_NAN, Engine, Labels, PromQLError, Storage
from opsctl.promql.headchunks import HeadSeries
from opsctl.rules.model import Rule, RuleGroup

ALERT_METRIC = "ALERTS"
ALERT_FOR_STATE_METRIC = "ALERTS_FOR_STATE"
RESOLVED_RETENTION_MS = 15 * 60 * 1000

ERR_OUT_OF_ORDER = "out of order sample"
ERR_DUPLICATE = "duplicate sample for timestamp"

StateName = str  # "inactive" | "pending" | "firing"


def _bits(v: Any) -> int | str:
    """A sample's identity for the duplicate check: the float's bits, or a histogram's notation."""
    if isinstance(v, float | int):
        return int(struct.unpack("<Q", struct.pack("<d", v))[0])
    return str(v.test_expression())


def recorded_labels(labels: Mapping[str, str], name: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The labels a recording rule writes a result series with: `__name__` set to the rule's name, then
    the group's and rule's labels (an empty value removes the label), as Prometheus's rule manager does."""
    d = dict(labels)
    d["__name__"] = name
    for k, v in extra.items():
        if v == "":
            d.pop(k, None)
        else:
            d[k] = v
    return d


class RuleEvalError(Exception):
    """A rule's evaluation failed (query error, label clash, limit); message as Prometheus words it."""


class AppendStore:
    """Appends samples to an opsctl.promql Storage with TSDB head semantics, batching the writes.

    A native histogram is stored with the counter-reset hint it reads back with from the TSDB head
    (opsctl.promql.headchunks: `unknown` where the head starts a chunk, `not_reset` after it, `gauge` in
    gauge chunks), for input series and recording-rule output alike."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._last: dict[Labels, tuple[int, Any]] = {}  # labels -> (t_ms, value as appended)
        self._pending: dict[Labels, tuple[list[int], list[Any]]] = {}
        self._heads: dict[Labels, HeadSeries] = {}  # the series that have had a histogram

    def append(self, labels: Labels, t_ms: int, value: Any) -> str | None:
        """Append one sample (a float or a native histogram, opsctl.promql.histogram.FloatHistogram);
        returns the TSDB error text, or None when stored (or identical)."""
        last = self._last.get(labels)
        if last is not None:
            if t_ms < last[0]:
                return ERR_OUT_OF_ORDER
            if t_ms == last[0]:
                return None if _bits(value) == _bits(last[1]) else ERR_DUPLICATE
        self._last[labels] = (t_ms, value)
        if self._heads or type(value) is not float:
            value = self._through_head(labels, t_ms, value)
        pend = self._pending.get(labels)
        if pend is None:
            pend = ([], [])
            self._pending[labels] = pend
        pend[0].append(t_ms)
        pend[1].append(value)
        return None

    def _through_head(self, labels: Labels, t_ms: int, value: Any) -> Any:
        """The value as the TSDB head gives it back (a histogram with its chunk's counter-reset hint);
        a float is only noted in a series that has had histograms."""
        head = self._heads.get(labels)
        if head is None:
            if isinstance(value, float | int):
                return value
            head = self._heads[labels] = HeadSeries()
        return head.append(t_ms, value)

    def flush(self) -> None:
        if not self._pending:
            return
        for labels, (ts, vs) in self._pending.items():
            if all(isinstance(v, float | int) for v in vs):
                self.storage.add(labels, ts, vs)
            else:
                hs = [None if isinstance(v, float | int) else v for v in vs]
                self.storage.add(labels, ts, [0.0 if h is not None else v for v, h in zip(vs, hs, strict=True)], hs)
        self._pending.clear()


@dataclass
class Alert:
    labels: Labels  # includes alertname, no __name__
    annotations: dict[str, str]
    active_at_ms: int
    value: float
    state: StateName = "pending"
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    keep_firing_since_ms: int | None = None


# A template renderer: (text, alert name, sample labels, value, query function, evaluation time in ms) ->
# expanded text. The value is the sample's float, or its native histogram (opsctl.promql.histogram.FloatHistogram)
# as in Prometheus; the evaluation time is what the template function `now` returns (in seconds).
Renderer = Callable[[str, str, Mapping[str, str], Any, Callable[[str], list[Any]], int], str]


@dataclass
class AlertingRuleState:
    rule: Rule
    labels: dict[str, str]  # rule labels (group labels merged in), unexpanded
    active: dict[Labels, Alert] = field(default_factory=dict)

    def active_alerts(self) -> list[Alert]:
        """Prometheus ActiveAlerts(): every alert not resolved (pending, firing, or kept firing)."""
        return [a for a in self.active.values() if a.resolved_at_ms is None]


def query_vector(engine: Engine, expr: str, t_ms: int) -> list[tuple[Labels, float]]:
    """EngineQueryFunc: instant query; a scalar becomes one sample without labels."""
    try:
        res = engine.instant(expr, t_ms / 1000.0)
    except PromQLError as exc:
        raise RuleEvalError(str(exc)) from None
    except RecursionError:
        raise RuleEvalError("expression nested too deeply") from None
    except Exception as exc:  # an evaluator defect must fail the test, never pass it or crash the run
        raise RuleEvalError(f"opsctl internal evaluation error ({type(exc).__name__}: {exc})") from None
    if res.type == "vector":
        out: list[tuple[Labels, Any]] = []
        for s in res.series:
            if s.histograms and s.histograms[-1] is not None:
                out.append((s.labels, s.histograms[-1]))  # a native histogram sample
                continue
            v = float(s.values[-1]) if len(s.values) else math.nan
            out.append((s.labels, v))
        return out
    if res.type == "scalar":
        return [(Labels(), float(res.scalar if res.scalar is not None else math.nan))]
    raise RuleEvalError("rule result is not a vector or scalar")


class RuleEvaluator:
    """Evaluates ordered rule groups at successive timestamps over one AppendStore."""

    def __init__(self, groups: list[RuleGroup], store: AppendStore, engine: Engine,
                 render: Renderer | None = None) -> None:
        self.groups = groups
        self.store = store
        self.engine = engine
        self.render = render
        self.alert_states: dict[tuple[int, int], AlertingRuleState] = {}
        self.previous: dict[tuple[int, int], dict[Labels, None]] = {}
        # rule -> query time -> result, for rules evaluated ahead (precompute())
        self.batched: dict[tuple[int, int], dict[int, list[tuple[Labels, float]]]] = {}
        for gi, g in enumerate(groups):
            for ri, r in enumerate(g.rules):
                if r.kind == "alert":
                    self.alert_states[(gi, ri)] = AlertingRuleState(r, {**g.labels, **r.labels})

    # -- queries ----------------------------------------------------------------------------------------
    def precompute(self, engine: Engine, times_ms: list[int]) -> None:
        """Evaluate up front, at every evaluation time, the rules whose results cannot depend on the
        evaluation sequence, and serve their per-step queries from that (one vectorised evaluation
        instead of one query per step). `engine` holds the input series, fully loaded.

        Layer 1: rules reading only series no rule writes. Layer n+1: rules that also read series
        recorded only by rules of earlier layers which run before them in every step: those series
        are replayed (recording-rule output, staleness markers, append semantics) from the earlier
        layers' results. Rules Engine.instant_many cannot serve exactly stay step by step, and any
        irregularity while replaying (an error a step would report) stops the layering."""
        order = [(gi, ri) for gi, g in enumerate(self.groups) for ri in range(len(g.rules))]
        writers: dict[str, list[tuple[int, int]]] = {}
        for gi, ri in order:
            r = self.groups[gi].rules[ri]
            if r.kind != "alert":
                writers.setdefault(r.name, []).append((gi, ri))
        storage = engine.storage
        input_names = {s.labels.name for s in storage.series()}
        names_of = {key: engine.selected_names(self.groups[key[0]].rules[key[1]].expr) for key in order}
        while True:
            added = False
            replayed: set[tuple[int, int]] = set()
            for key in order:
                names = names_of[key]
                if key in self.batched or names is None or names & {ALERT_METRIC, ALERT_FOR_STATE_METRIC}:
                    continue
                deps = [w for n in names for w in writers.get(n, [])]
                if not all(w in self.batched and w < key for w in deps):
                    continue
                if any(n in writers and n in input_names for n in names):
                    continue  # recorded and input series of one name: creation order not reproduced
                if deps and not set(deps) <= replayed:
                    # series recorded by the rules evaluated so far, as the step-by-step run writes them
                    replay = [k for k in order if k in self.batched and self.groups[k[0]].rules[k[1]].kind != "alert"]
                    sim = Storage()
                    for s in storage.series():
                        sim.add(s.labels, s.ts, s.vs, list(s.hs) if s.hs is not None else None)
                    if not self._replay(AppendStore(sim), replay, times_ms):
                        return
                    engine = engine.on_storage(sim)  # every option: the version's semantics
                    replayed = set(replay)
                rule = self.groups[key[0]].rules[key[1]]
                offset_ms = round((self.groups[key[0]].query_offset or 0.0) * 1000)
                qt = [t - offset_ms for t in times_ms]
                res = engine.instant_many(rule.expr, qt)
                if res is not None:
                    self.batched[key] = dict(zip(qt, res, strict=True))
                    added = True
            if not added:
                return

    def _replay(self, store: AppendStore, keys: list[tuple[int, int]], times_ms: list[int]) -> bool:
        """Write what the (batched) recording rules `keys` record at each time into store; False when
        a step would report an error."""
        previous: dict[tuple[int, int], dict[Labels, None]] = {}
        for ts in times_ms:
            for key in keys:
                g = self.groups[key[0]]
                offset_ms = round((g.query_offset or 0.0) * 1000)
                if ts - offset_ms not in self.batched[key]:
                    return False
                try:
                    vec = self._eval_recording(key, g.rules[key[1]], g, ts, offset_ms)
                except RuleEvalError:
                    return False
                if _write_vec(store, previous, key, vec, ts) is not None:
                    return False
        store.flush()
        return True

    def rule_query(self, key: tuple[int, int], expr: str, t_ms: int) -> list[tuple[Labels, float]]:
        got = self.batched.get(key)
        if got is not None:
            res = got.get(t_ms)
            if res is not None:
                return res
        return self.query(expr, t_ms)

    def query(self, expr: str, t_ms: int) -> list[tuple[Labels, float]]:
        self.store.flush()
        return query_vector(self.engine, expr, t_ms)

    def alerts_named(self, name: str) -> list[Alert]:
        out: list[Alert] = []
        for st in self.alert_states.values():
            if st.rule.name == name:
                out.extend(st.active_alerts())
        return out

    # -- evaluation -------------------------------------------------------------------------------------
    def eval(self, ts_ms: int) -> list[tuple[Rule, str]]:
        """Evaluate every group at ts; returns (rule, error) for each rule whose evaluation failed."""
        errors: list[tuple[Rule, str]] = []
        for gi, g in enumerate(self.groups):
            offset_ms = round((g.query_offset or 0.0) * 1000)
            for ri, rule in enumerate(g.rules):
                key = (gi, ri)
                try:
                    if rule.kind == "alert":
                        vec = self._eval_alerting(key, self.alert_states[key], ts_ms, offset_ms, g.limit)
                    else:
                        vec = self._eval_recording(key, rule, g, ts_ms, offset_ms)
                except RuleEvalError as exc:
                    errors.append((rule, str(exc)))
                    continue
                err = self._write(key, vec, ts_ms)
                if err is not None:
                    errors.append((rule, err))
        return errors

    def _write(self, key: tuple[int, int], vec: list[tuple[Labels, float]], ts_ms: int) -> str | None:
        return _write_vec(self.store, self.previous, key, vec, ts_ms)

    def _eval_recording(self, key: tuple[int, int], rule: Rule, group: RuleGroup, ts_ms: int,
                        offset_ms: int) -> list[tuple[Labels, float]]:
        vec = self.rule_query(key, rule.expr, ts_ms - offset_ms)
        extra = {**group.labels, **rule.labels}
        out: list[tuple[Labels, float]] = []
        seen: set[Labels] = set()
        for labels, value in vec:
            lab = Labels(recorded_labels(labels, rule.name, extra))
            if lab in seen:
                raise RuleEvalError("vector contains metrics with the same labelset after applying rule labels")
            seen.add(lab)
            out.append((lab, value))
        if group.limit > 0 and len(out) > group.limit:
            raise RuleEvalError(f"exceeded limit of {group.limit} with {len(out)} series")
        return out

    def _expand(self, text: str, name: str, sample_labels: Mapping[str, str], value: Any, t_ms: int) -> str:
        if self.render is None or "{{" not in text:
            return text
        return self.render(text, name, sample_labels, value, lambda q: self._template_query(q, t_ms), t_ms)

    def _template_query(self, expr: str, t_ms: int) -> list[Any]:
        return self.query(expr, t_ms)

    def _eval_alerting(self, key: tuple[int, int], st: AlertingRuleState, ts_ms: int, offset_ms: int,
                       limit: int) -> list[tuple[Labels, float]]:
        rule = st.rule
        res = self.rule_query(key, rule.expr, ts_ms - offset_ms)
        fresh: dict[Labels, Alert] = {}
        for labels, value in res:
            tmpl_value = value  # templates see the histogram itself (template.AlertTemplateData)
            if not isinstance(value, float | int):
                value = 0.0  # a histogram sample: Prometheus's alert value is the sample's F, 0
            sample_labels = dict(labels)
            d = {k: v for k, v in sample_labels.items() if k != "__name__"}
            for name in sorted(st.labels):
                expanded = self._expand(st.labels[name], rule.name, sample_labels, tmpl_value, ts_ms)
                if expanded == "":
                    d.pop(name, None)  # labels.Builder.Set with an empty value deletes the label
                else:
                    d[name] = expanded
            d["alertname"] = rule.name
            annotations = {name: self._expand(rule.annotations[name], rule.name, sample_labels, tmpl_value, ts_ms)
                           for name in sorted(rule.annotations)}
            lab = Labels(d)
            if lab in fresh:
                raise RuleEvalError("vector contains metrics with the same labelset after applying alert labels")
            fresh[lab] = Alert(lab, annotations, ts_ms, value)

        for lab, a in fresh.items():
            old = st.active.get(lab)
            if old is not None and old.state != "inactive":
                old.value = a.value
                old.annotations = a.annotations
                continue
            st.active[lab] = a

        hold_ms = round(rule.for_ * 1000)
        keep_ms = round(rule.keep_firing_for * 1000)
        vec: list[tuple[Labels, float]] = []
        num_active = 0
        for lab in list(st.active):
            a = st.active[lab]
            if lab not in fresh:
                keep_firing = False
                if a.state == "firing" and keep_ms > 0:
                    if a.keep_firing_since_ms is None:
                        a.keep_firing_since_ms = ts_ms
                    if ts_ms - a.keep_firing_since_ms < keep_ms:
                        keep_firing = True
                if a.state == "pending" or (
                        a.resolved_at_ms is not None and ts_ms - a.resolved_at_ms > RESOLVED_RETENTION_MS):
                    del st.active[lab]
                if a.state != "inactive" and not keep_firing:
                    a.state = "inactive"
                    a.resolved_at_ms = ts_ms
                if not keep_firing:
                    continue
            else:
                a.keep_firing_since_ms = None
            num_active += 1
            if a.state == "pending" and ts_ms - a.active_at_ms >= hold_ms:
                a.state = "firing"
                a.fired_at_ms = ts_ms
            vec.append((self._alert_series(st, a, ALERT_METRIC), 1.0))
            vec.append((self._alert_series(st, a, ALERT_FOR_STATE_METRIC), float(a.active_at_ms // 1000)))
        if limit > 0 and num_active > limit:
            st.active = {}
            raise RuleEvalError(f"exceeded limit of {limit} with {num_active} alerts")
        return vec

    @staticmethod
    def _alert_series(st: AlertingRuleState, a: Alert, metric: str) -> Labels:
        # Prometheus starts from the rule's own (unexpanded) labels and overlays the alert's labels, so a
        # templated label that expanded to "" shows up with its template text in ALERTS.
        d = {k: v for k, v in st.labels.items() if v != ""}
        d.update(a.labels)
        d["__name__"] = metric
        d["alertname"] = st.rule.name
        if metric == ALERT_METRIC:
            d["alertstate"] = a.state
        return Labels(d)


def _write_vec(store: AppendStore, previous: dict[tuple[int, int], dict[Labels, None]], key: tuple[int, int],
               vec: list[tuple[Labels, float]], ts_ms: int) -> str | None:
    """Append a rule's output at ts; series it returned last time but not now get a staleness marker."""
    last_err: str | None = None
    returned: dict[Labels, None] = {}
    for labels, value in vec:
        err = store.append(labels, ts_ms, value)
        if err is not None:
            last_err = err
        else:
            returned[labels] = None
    for labels in previous.get(key, {}):
        if labels not in returned:
            # Series no longer exposed: mark it stale (errors are expected and ignored here).
            store.append(labels, ts_ms, STALE_NAN)
    previous[key] = returned
    return last_err
