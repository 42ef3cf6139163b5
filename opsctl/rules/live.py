"""Evidence from a live Prometheus-compatible server for `opsctl rules validate --prometheus URL`.

`gather(files, client, ...)` asks the server (Prometheus, Thanos, Mimir, VictoriaMetrics: only the
query API and, where served, `/api/v1/metadata` are used) and returns `LiveEvidence`:

- metric types from `/api/v1/metadata` (what `--metadata FILE` gives offline); a server without that
  endpoint is a note, and the type checks stay silent;
- the scrape interval measured from the data (the median spacing of raw `up` samples over 10 minutes),
  not from `/api/v1/status/config`, which Thanos and Mimir do not serve;
- every distinct vector selector of the rules that matches no series now (`count(selector)`), and with a
  lookback window when it was last seen (a range query of the same count, pushed down to the server);
- a single warning, instead of hundreds of findings, when most selectors match nothing: the server is
  probably the wrong one (or empty);
- with a lookback window, how many times each alerting rule would have fired in it, for how long and how
  often it flapped (`firing`): the replay of `rules backtest --prometheus` (opsctl.rules.backtest_live;
  the server evaluates each expression with range queries at the group's interval, `for` and
  `keep_firing_for` are applied here), bounded by its own query budget (`max_replay_queries`); alerts it
  cannot replay exactly from range queries, or past the budget, are listed in `firing_skipped`.

Queries are bounded in number (`max_queries`) and concurrency, each has the client's timeout, and an
unreachable server is one clear warning: never a crash, never a silent pass. Selectors of series that
the linted rules record themselves are not asked about (new rules are not deployed yet).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import promql_parser as pp

from opsctl.rules.checks.live_firing import CONTINUOUS_SHARE, FLAPS_WARN  # thresholds live with the check
from opsctl.rules.model import RuleFile
from opsctl.rules.promql_ast import matchers, walk

_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
WRONG_SERVER_SHARE = 0.8


# steps per range query of the replay: under Prometheus's 11,000 points per series, so 7 days at 1m is two
# queries an alert (rules backtest uses 2,000 for its progress bar and memory per query)
REPLAY_CHUNK_STEPS = 10_000


@dataclass
class AlertFiring:
    """What the replay over the lookback found for one alert name (all its rules)."""

    alert: str
    window: float  # seconds
    fired: int = 0
    instances: int = 0
    firing_seconds: float = 0.0
    longest_seconds: float = 0.0
    top_instance_seconds: float = 0.0  # firing time of the instance that fired longest
    flaps: int = 0  # re-fires of an instance after it resolved, summed over instances
    top_instance_flaps: int = 0  # re-fires of the instance that re-fired most
    pending_only: int = 0
    mode: str = "pushdown"

    @property
    def continuous(self) -> bool:
        return self.window > 0 and self.top_instance_seconds > CONTINUOUS_SHARE * self.window

    @property
    def flapping(self) -> bool:
        return self.top_instance_flaps >= FLAPS_WARN

    def to_dict(self) -> dict[str, Any]:
        return {"alert": self.alert, "fired": self.fired, "instances": self.instances,
                "firing_seconds": self.firing_seconds, "longest_seconds": self.longest_seconds,
                "top_instance_firing_share": round(self.top_instance_seconds / self.window, 4) if self.window else None,
                "flaps": self.flaps, "top_instance_flaps": self.top_instance_flaps,
                "pending_only": self.pending_only, "mode": self.mode,
                "continuous": self.continuous, "flapping": self.flapping}


@dataclass
class LiveEvidence:
    server: str
    metric_types: dict[str, str] | None = None
    scrape_interval: float | None = None
    absent: dict[str, str] = field(default_factory=dict)   # selector text -> what the server says
    selectors_checked: int = 0
    notes: list[str] = field(default_factory=list)
    missing_labels: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (file, line) -> messages
    warning: str | None = None                              # one run-level warning (unreachable, wrong server)
    lookback: float | None = None
    firing: dict[str, AlertFiring] = field(default_factory=dict)  # alert name -> what the replay found
    firing_skipped: dict[str, str] = field(default_factory=dict)  # alert name -> why it was not replayed
    firing_window: tuple[float, float] | None = None
    firing_queries: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The `live` section of the JSON report (docs/rules.md)."""
        out: dict[str, Any] = {"prometheus": self.server, "warning": self.warning,
                               "scrape_interval_seconds": self.scrape_interval,
                               "selectors_checked": self.selectors_checked, "lookback_seconds": self.lookback}
        if self.firing_window is not None:
            out["firing"] = {
                "from": self.firing_window[0], "to": self.firing_window[1], "queries": self.firing_queries,
                "alerts": [a.to_dict() for a in sorted(self.firing.values(), key=lambda a: a.alert)],
                "skipped": dict(sorted(self.firing_skipped.items())),
            }
        return out

    @property
    def wrong_server(self) -> bool:
        return self.warning is not None and "wrong server" in self.warning


def selector_text(node: Any) -> str:
    """A vector selector as a plain `{__name__="x", a="b"}` selector, without offset or @."""
    import json  # live mode only: every lint imports this module (live-alert-firing's constants)

    parts = [f"{m.name}{_OPS.get(m.op, '=')}{json.dumps(m.value)}" for m in matchers(node)]
    name = getattr(node, "name", None)
    if name and not any(m.name == "__name__" for m in matchers(node)):
        parts.insert(0, f"__name__={json.dumps(name)}")
    return "{" + ", ".join(parts) + "}"


def rule_selectors(rf: RuleFile) -> dict[int, set[str]]:
    """id(rule) -> the selector texts of its expression."""
    out: dict[int, set[str]] = {}
    for rule in rf.rules:
        if rule.ast is None:
            continue
        found = set()
        for node, _ in walk(rule.ast):
            if isinstance(node, pp.VectorSelector):
                found.add(selector_text(node))
        out[id(rule)] = found
    return out


_TEMPLATE_LABEL = re.compile(r"(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)")


def used_labels(rule: Any) -> set[str]:
    """Labels a rule relies on its input series to carry: `by (...)`, `on (...)`, `group_left/right (...)`
    and `$labels.X` in its templates. Empty when the expression makes labels itself (label_replace,
    label_join), so nothing can be said from the input series."""
    if rule.ast is None or "label_replace" in rule.expr or "label_join" in rule.expr:
        return set()
    out: set[str] = set()
    for node, _ in walk(rule.ast):
        if isinstance(node, pp.AggregateExpr) and node.modifier is not None and "By" in str(node.modifier.type):
            out.update(node.modifier.labels)
        elif isinstance(node, pp.BinaryExpr) and node.modifier is not None:
            m = node.modifier.matching
            if m is not None and "Include" in str(m.type):
                out.update(m.labels)
            out.update(node.modifier.group_labels or [])
    for text in [*rule.labels.values(), *rule.annotations.values()]:
        if "{{" in text:
            out.update(_TEMPLATE_LABEL.findall(text))
    return out - {"__name__", "le", "quantile"} - set(rule.labels)


def _ago(seconds: float) -> str:
    from opsctl.durations import format_duration

    return format_duration(max(0, round(seconds)))


def gather(files: list[RuleFile], client: Any, *, now: float, lookback: float | None = None,
           max_queries: int = 300, concurrency: int = 4, max_replay_queries: int = 300,
           progress: Callable[[int], None] | None = None) -> LiveEvidence:
    from opsctl.prom.client import PrometheusError

    ev = LiveEvidence(server=client.url, lookback=lookback)
    recorded = {r.name for rf in files for r in rf.rules if r.kind == "record" and r.name}
    selectors: set[str] = set()
    for rf in files:
        for sels in rule_selectors(rf).values():
            selectors.update(sel for sel in sels if _name_of(sel) not in recorded)
    try:
        client.query("vector(1)", now)
    except PrometheusError as exc:
        ev.warning = f"Prometheus at {client.url} cannot be queried ({exc}); live checks skipped"
        return ev
    try:
        payload = client._get("/api/v1/metadata", {})
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, dict):
            import json

            from opsctl.rules.metadata import _from_json

            ev.metric_types = _from_json(json.dumps(data), "/api/v1/metadata")
    except Exception as exc:  # any failure of an optional endpoint is a note
        ev.notes.append(f"no metric metadata from {client.url}/api/v1/metadata ({exc}): type checks stay silent")
    try:
        spacing: list[float] = []
        samples = 0
        for s in client.query("up[10m]", now):
            ts = list(s.timestamps)
            samples += len(ts)
            spacing += [b - a for a, b in itertools.pairwise(ts) if b > a]
        if spacing:
            import statistics

            ev.scrape_interval = round(statistics.median(spacing), 3)
            ev.notes.append(f"scrape interval measured from raw `up` samples: {_ago(ev.scrape_interval)}")
        elif samples:
            ev.notes.append("fewer than two raw `up` samples of a series in the last 10 minutes: scrape interval "
                            "unknown")
        else:
            ev.notes.append("no raw `up` samples in the last 10 minutes: scrape interval unknown")
    except PrometheusError as exc:
        ev.notes.append(f"scrape interval not measured ({exc})")
    todo = sorted(selectors)
    if len(todo) > max_queries:
        ev.notes.append(f"{len(todo)} distinct selectors; only the first {max_queries} were asked about")
        todo = todo[:max_queries]

    def ask(sel: str) -> tuple[str, str | None]:
        try:
            if client.query(f"count({sel})", now):
                return sel, None
            if lookback:
                step = max(60.0, lookback / 200)
                seen = client.query_range(f"count({sel})", now - lookback, now, step)
                last = max((float(s.timestamps[-1]) for s in seen if len(s.timestamps)), default=None)
                if last is not None:
                    return sel, f"matches no series now; last seen {_ago(now - last)} ago"
                return sel, f"matches no series now nor in the last {_ago(lookback)}"
            return sel, "matches no series now"
        except PrometheusError as exc:
            return sel, f"could not be checked ({exc})"

    from concurrent.futures import ThreadPoolExecutor  # live mode only: not loaded by every lint

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for i, (sel, verdict) in enumerate(pool.map(ask, todo), start=1):
            if verdict is not None:
                ev.absent[sel] = verdict
            if progress is not None:
                progress(i)
    ev.selectors_checked = len(todo)
    _check_labels(files, client, now, ev, recorded, max_queries, concurrency)
    missing = sum(1 for v in ev.absent.values() if v.startswith("matches no series"))
    if todo and len(todo) >= 5 and missing / len(todo) >= WRONG_SERVER_SHARE:
        ev.warning = (f"{missing} of {len(todo)} selectors match no series on {client.url}: this is probably the "
                      "wrong server (or an empty one); per-selector findings are shown as info")
    if lookback and not ev.wrong_server:
        from opsctl.errors import InputError

        try:
            replay_firing(files, client, now, lookback, ev, max_replay_queries, concurrency)
        except (InputError, PrometheusError, ValueError) as exc:  # a note, never the end of the run
            ev.notes.append(f"firing over the lookback not replayed: {exc}")
    return ev


def replay_firing(files: list[RuleFile], client: Any, now: float, lookback: float, ev: LiveEvidence,
                  max_queries: int, concurrency: int) -> None:
    """Per alert name, firings over [now - lookback, now]: the `rules backtest --prometheus` replay, bounded."""
    from dataclasses import replace

    from opsctl.rules.backtest_live import backtest_live

    groups = []
    for rf in files:
        if rf.unreadable:
            continue
        for g in rf.groups:
            rules = [r for r in g.rules if r.ast is not None and r.name]  # rules that parse (errors are findings)
            if any(r.kind == "alert" for r in rules):
                groups.append(replace(g, rules=rules))
    if not groups:
        return
    start, end = now - lookback, now
    result = backtest_live([rf.path for rf in files], client, start, end, groups=groups, jobs=concurrency,
                           max_queries=max_queries, raw_fallback=False, keep_going=True,
                           chunk_steps=REPLAY_CHUNK_STEPS)
    ev.firing_window = (start, end)
    ev.firing_queries = result.queries
    ev.firing_skipped = dict(result.skipped)
    for a in result.alerts:
        if a.name in result.skipped:
            continue
        per_instance = a.by_instance()
        top = max((i.firing_seconds for i in per_instance), default=0.0)
        longest = a.longest
        ev.firing[a.name] = AlertFiring(
            a.name, lookback, fired=a.fired, instances=a.instances, firing_seconds=a.firing_seconds,
            longest_seconds=longest.firing_seconds(start, end) if longest is not None else 0.0,
            top_instance_seconds=top, flaps=a.flaps, top_instance_flaps=max((i.flaps for i in per_instance), default=0),
            pending_only=a.pending_only,
            mode=result.modes.get(a.name, "pushdown"))
    ev.notes.append(f"firing over the last {_ago(lookback)}: {len(ev.firing)} alert(s) replayed with "
                    f"{result.queries} range queries"
                    + (f", {len(ev.firing_skipped)} not replayed" if ev.firing_skipped else ""))


def _check_labels(files: list[RuleFile], client: Any, now: float, ev: LiveEvidence, recorded: set[str],
                  max_queries: int, concurrency: int) -> None:
    """Labels a rule uses that none of its (present) input series carry: `count(sel{label!=""})` is 0 for
    every selector of the rule. Rules reading series the linted rules record are skipped."""
    from opsctl.prom.client import PrometheusError

    asks: dict[tuple[str, str], None] = {}
    plan: list[tuple[Any, set[str], str]] = []
    for rf in files:
        per_rule = rule_selectors(rf)
        for rule in rf.rules:
            sels = per_rule.get(id(rule), set())
            if not sels or any(s in ev.absent for s in sels) or any(_name_of(s) in recorded for s in sels):
                continue
            for label in sorted(used_labels(rule)):
                plan.append((rule, sels, label))
                for sel in sels:
                    asks[(sel, label)] = None
    pairs = list(asks)[:max_queries]
    if len(asks) > max_queries:
        ev.notes.append(f"{len(asks)} selector/label pairs; only the first {max_queries} were asked about")

    def ask(pair: tuple[str, str]) -> tuple[tuple[str, str], bool | None]:
        sel, label = pair
        narrowed = sel[:-1] + (", " if sel != "{}" else "") + f'{label}!=""}}'
        try:
            return pair, bool(client.query(f"count({narrowed})", now))
        except PrometheusError:
            return pair, None

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        has = dict(pool.map(ask, pairs))
    for rule, sels, label in plan:
        answers = [has.get((sel, label)) for sel in sels]
        if answers and all(a is False for a in answers):
            ev.missing_labels.setdefault((rule.file, rule.line), []).append(
                f"uses the label {label}, which none of its series carry on {client.url} "
                f"({', '.join(sorted(sels))})")


def _name_of(sel: str) -> str:
    m = re.search(r'__name__="([^"]*)"', sel)
    return m.group(1) if m else ""
