"""pyrra `ServiceLevelObjective` (apiVersion pyrra.dev/v1alpha1): read the CRD, generate pyrra's rules.

The generator follows pyrra's `slo/rules.go` (commit 1ba95afbf90b) rule for rule: the `<name>-increase` group
(increase / count / sum recording rules over the whole window and the `SLOMetricAbsent` alerts) and the
`<name>` group (burn-rate recording rules `<metric>:burnrate<window>` and four `ErrorBudgetBurn` alerts with
`for`, `short`, `long`, `exhaustion` and its severity tiers). Indicators: ratio, latency (classic histogram
buckets), latencyNative (native histograms: `histogram_fraction` / `histogram_count`), bool-gauge. With
`generic=True` (pyrra's `--generic-rules`) the `<name>-generic` group of `pyrra_objective`, `pyrra_window`,
`pyrra_availability`, `pyrra_requests:rate5m` and `pyrra_errors:rate5m` (pyrra's GenericRules, for its Grafana
dashboards; latencyNative: only `pyrra_availability` besides the first two) follows; like pyrra, objectives with
grouping get none, except latencyNative ones (pyrra does not refuse those).
Not supported, and refused with a message: `performanceOverAccuracy` (pyrra's split short/long rule groups,
with `ruleOutput`'s short/long rule labels).

Label matchers are kept as pyrra's Go parser gives them: the selector's matchers in order, then
`__name__="<metric>"` (it matters for which labels become rule labels and grouping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import promql_parser

from opsctl.gosem.strconv import quote
from opsctl.promql_syntax import matchers as selector_matchers
from opsctl.slo.model import SLI, SLO, AlertMeta, SLOGroup
from opsctl.slo.windows import DAY, MINUTE, AlertWindow, WindowSet, prom_duration
from opsctl.yamlutil import PosDict

if TYPE_CHECKING:
    from opsctl.slo.spec import _Ctx

SPEC_PYRRA = "pyrra.dev/v1alpha1"
PROPAGATION_PREFIX = "pyrra.dev/"
NAME = "__name__"
NS = 1_000_000_000

Matcher = tuple[str, str, str]  # (name, op, value); op is = != =~ !~


@dataclass
class Metric:
    name: str
    matchers: list[Matcher] = field(default_factory=list)


@dataclass
class Severities:
    absent: str = ""
    fast: str = ""
    medium: str = ""
    slow: str = ""
    long_term: str = ""


@dataclass
class PyrraObjective:
    """pyrra's `slo.Objective`, for the indicator types opsctl generates."""

    name: str  # the __name__ label: metadata.name
    target: float  # ratio, e.g. 0.99
    window: float  # seconds
    kind: str  # ratio | latency | latency_native | bool_gauge
    total: Metric
    errors: Metric | None = None  # ratio: errors; latency: success (the le bucket)
    grouping: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # objective labels (pyrra.dev/... are propagated)
    annotations: dict[str, str] = field(default_factory=dict)
    description: str = ""
    burnrates: bool = True
    absent: bool = True
    disabled: bool = False
    alert_name: str = ""
    absent_name: str = ""
    severities: Severities = field(default_factory=Severities)
    description_as_label: bool = False  # spec.ruleOutput.enableDescriptionAsLabel (generic rules)
    latency: float = 0.0  # latency_native: the latency objective in seconds


# ------------------------------------------------------------------------------------------ formatting


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for whole seconds (`2m0s`, `1h0m0s`)."""
    s = round(seconds)
    if s == 0:
        return "0s"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def _go_f(x: float) -> str:
    from opsctl.slo.generate import go_f
    return go_f(x)


def matcher_str(m: Matcher) -> str:
    return f"{m[0]}{m[1]}{quote(m[2])}"


def selector(name: str, matchers: list[Matcher]) -> str:
    """Prometheus VectorSelector.String(): sorted matchers, the name's own `__name__` matcher left out."""
    parts = sorted(matcher_str(m) for m in matchers if not (m[0] == NAME and m[1] == "=" and m[2] == name and name))
    return f"{name}{{{','.join(parts)}}}" if parts else name


def _agg(op: str, grouping: list[str], inner: str) -> str:
    return f"{op} by ({', '.join(grouping)}) ({inner})" if grouping else f"{op}({inner})"


def _round_minute(ns: int) -> int:
    m = 60 * NS
    r = ns % m
    return ns - r if r + r < m else ns + m - r


@dataclass(frozen=True)
class PyrraWindow:
    severity: str
    for_: float
    long: float
    short: float
    factor: float


def windows(window: float) -> list[PyrraWindow]:
    """pyrra's `Windows`: the 28-day ratios (5m/1h x14, 30m/6h x7, 2h/1d x2, 6h/4d x1) scaled to the window."""
    w = round(window * NS)

    def r(div: int) -> float:
        return _round_minute(w // div) / NS

    return [
        PyrraWindow("critical", r(28 * 24 * 30), r(28 * 24), r(28 * 24 * 12), 14),
        PyrraWindow("critical", r(28 * 24 * 4), r(28 * 4), r(28 * 24 * 2), 7),
        PyrraWindow("warning", r(28 * 24), r(28), r(28 * 12), 2),
        PyrraWindow("warning", r(28 * 8), r(7), r(28 * 4), 1),
    ]


def window_set(o: PyrraObjective) -> WindowSet:
    """pyrra's four alert windows as opsctl's WindowSet (critical = page, warning = ticket), for `slo report`:
    the budget share of each is chosen so that the factor is pyrra's (14, 7, 2, 1)."""
    ws = windows(o.window)
    out = [AlertWindow(sev, speed, w.factor * w.long / o.window * 100, w.short, w.long, o.window)
           for w, (sev, speed) in zip(ws, (("page", "quick"), ("page", "slow"), ("ticket", "quick"),
                                           ("ticket", "slow")), strict=True)]
    return WindowSet(o.window, out[0], out[1], out[2], out[3])


def exhausts(o: PyrraObjective, factor: float) -> str:
    return prom_duration(float(int(o.window / factor)))


def absent_duration(o: PyrraObjective) -> str:
    w = windows(o.window)[0]
    threshold = w.factor * (1 - o.target)
    secs = int(threshold * w.long)  # time.Duration(threshold*long.Seconds()) * time.Second
    return prom_duration(_round_minute(int((secs + w.for_) * NS)) / NS)


def increase_interval(window: float) -> str:
    days = window / DAY
    for limit, secs in ((7, 30), (14, 60), (21, 90), (28, 120), (35, 150), (42, 180), (49, 210)):
        if days < limit:
            return prom_duration(secs)
    return prom_duration(240)


def _trim(metric: str, suffixes: tuple[str, ...]) -> str:
    for s in suffixes:
        if metric.endswith(s):
            metric = metric[: -len(s)]
    return metric


def burnrate_name(o: PyrraObjective, window: float) -> str:
    return f"{_trim(o.total.name, ('_total', '_count'))}:burnrate{prom_duration(window)}"


def increase_name(metric: str, window: float) -> str:
    return f"{_trim(metric, ('_total', '_count', '_bucket'))}:increase{prom_duration(window)}"


def common_labels(o: PyrraObjective) -> dict[str, str]:
    out = {"slo": o.name}
    for k, v in sorted(o.labels.items()):
        if k.startswith(PROPAGATION_PREFIX):
            out[k[len(PROPAGATION_PREFIX):]] = v
    return out


def common_annotations(o: PyrraObjective, external_url: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in o.annotations.items():
        if k.startswith(PROPAGATION_PREFIX):
            out[k[len(PROPAGATION_PREFIX):]] = v
    if external_url and o.name:
        base = external_url.rstrip("/").split("?")[0]
        scheme, sep, rest = base.partition("://")
        host = rest.split("/")[0] if sep else base
        expr = quote_plus("{" + NAME + '="' + o.name + '"}')
        url = f"{scheme}://{host}/objectives?expr={expr}&from=now-1h&to=now"
        if o.grouping:
            groups = ",".join(f'{g}="__TPL_{g}__"' for g in o.grouping)
            param = quote_plus("{" + groups + "}")
            for g in o.grouping:
                param = param.replace(f"__TPL_{g}__", "{{$labels." + g + "}}")
            url += "&grouping=" + param
        out["pyrra_url"] = url
    return out


def _severity(o: PyrraObjective, i: int, w: PyrraWindow) -> str:
    v = (o.severities.fast, o.severities.medium, o.severities.slow, o.severities.long_term)[i]
    return v or w.severity


def _grouping_labels(errors: list[Matcher], total: list[Matcher]) -> set[str]:
    out = {m[0] for m in errors} - {m[0] for m in total}
    out.discard("le")
    return out


# ----------------------------------------------------------------------------------------------- rules


def burnrate_expr(o: PyrraObjective, window: float) -> str:
    g = sorted(set(o.grouping))
    w = prom_duration(window)
    tot = o.total
    if o.kind == "ratio":
        assert o.errors is not None
        err = f"rate({selector(o.errors.name, o.errors.matchers)}[{w}])"
        total = f"rate({selector(tot.name, tot.matchers)}[{w}])"
        return f"{_agg('sum', g, err)} / {_agg('sum', g, total)}"
    if o.kind == "latency":
        assert o.errors is not None
        total = _agg("sum", g, f"rate({selector(tot.name, tot.matchers)}[{w}])")
        ok = _agg("sum", g, f"rate({selector(o.errors.name, o.errors.matchers)}[{w}])")
        return f"({total} - {ok}) / {total}"
    if o.kind == "latency_native":
        rate = _agg("sum", g, f"rate({selector(tot.name, tot.matchers)}[{w}])")
        return f"1 - histogram_fraction(0, {_go_f(o.latency)}, {rate})"
    sel = selector(tot.name, tot.matchers)
    count = _agg("sum", g, f"count_over_time({sel}[{w}])")
    return f"({count} - {_agg('sum', g, f'sum_over_time({sel}[{w}])')}) / {count}"


def burnrate_rules(o: PyrraObjective, external_url: str = "") -> dict[str, Any]:
    ws = windows(o.window)
    matchers = o.total.matchers
    grouping = set(o.grouping)
    rule_labels = common_labels(o)
    for m in matchers:
        if m[1] == "=" and m[0] != NAME:
            rule_labels[m[0]] = m[2]
    for g in grouping:
        rule_labels.pop(g, None)
    rules: list[dict[str, Any]] = []
    for br in sorted({x for w in ws for x in (w.short, w.long)}):
        rules.append({"record": burnrate_name(o, br), "expr": burnrate_expr(o, br), "labels": dict(rule_labels)})
    group = {"name": o.name, "interval": "30s", "rules": rules}
    if o.disabled or not o.burnrates:
        return group
    alert_m = []
    for m in matchers:
        if m[0] == NAME:
            continue
        if m[0] not in grouping and m[1] in ("=~", "!~"):
            continue
        alert_m.append(matcher_str(m))
    alert_m.append(f'slo="{o.name}"')
    sel = ",".join(sorted(alert_m))
    target = _go_f(o.target)
    for i, w in enumerate(ws):
        labels = common_labels(o)
        for m in matchers:
            if m[1] == "=" and m[0] != NAME and m[0] not in grouping:
                labels[m[0]] = m[2]
        labels.update({"short": prom_duration(w.short), "long": prom_duration(w.long),
                       "severity": _severity(o, i, w), "exhaustion": exhausts(o, w.factor)})
        f = f"{w.factor:.0f}"
        rule: dict[str, Any] = {
            "alert": o.alert_name or "ErrorBudgetBurn",
            "expr": (f"{burnrate_name(o, w.short)}{{{sel}}} > ({f} * (1-{target})) and "
                     f"{burnrate_name(o, w.long)}{{{sel}}} > ({f} * (1-{target}))"),
            # pyrra writes a Go time.Duration for ratio ("2m0s"), a Prometheus duration for the others ("2m")
            "for": go_duration(w.for_) if o.kind == "ratio" else prom_duration(w.for_),
            "labels": labels,
        }
        annotations = common_annotations(o, external_url)
        if annotations:
            rule["annotations"] = annotations
        rules.append(rule)
    return group


def _absent(o: PyrraObjective, metric: Metric, labels: dict[str, str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": o.absent_name or "SLOMetricAbsent",
                            "expr": f"absent({selector(metric.name, metric.matchers)}) == 1",
                            "for": absent_duration(o),
                            "labels": {**labels, "severity": o.severities.absent or "critical"}}
    annotations = common_annotations(o)
    if annotations:
        rule["annotations"] = annotations
    return rule


def increase_rules(o: PyrraObjective) -> dict[str, Any]:
    rule_labels = common_labels(o)
    tot = o.total
    for m in tot.matchers:
        if m[1] == "=" and m[0] != NAME:
            rule_labels[m[0]] = m[2]
    if o.kind == "latency_native":
        # pyrra's increaseRuleLatencyNative: total and good counts from the histograms, no absent alerts.
        hinc = _agg("sum", sorted(set(o.grouping)),
                    f"increase({selector(tot.name, tot.matchers)}[{prom_duration(o.window)}])")
        lat = _go_f(o.latency)
        return {"name": f"{o.name}-increase", "interval": increase_interval(o.window), "rules": [
            {"record": increase_name(tot.name, o.window), "expr": f"histogram_count({hinc})",
             "labels": dict(rule_labels)},
            {"record": increase_name(tot.name, o.window),
             "expr": f"histogram_fraction(0, {lat}, {hinc}) * histogram_count({hinc})",
             "labels": {**rule_labels, "le": lat}},
        ]}
    grouping = set(o.grouping)
    if o.kind == "bool_gauge":
        grouping |= {m[0] for m in tot.matchers}
    else:
        assert o.errors is not None
        grouping |= _grouping_labels(o.errors.matchers, tot.matchers)
    grouping |= {m[0] for m in tot.matchers if m[1] in ("=~", "!~")}
    for g in grouping:
        rule_labels.pop(g, None)
    gl = sorted(grouping)
    w = prom_duration(o.window)
    rules: list[dict[str, Any]] = []

    def inc(metric: Metric) -> str:
        return _agg("sum", gl, f"increase({selector(metric.name, metric.matchers)}[{w}])")

    if o.kind == "ratio":
        assert o.errors is not None
        rules.append({"record": increase_name(tot.name, o.window), "expr": inc(tot), "labels": dict(rule_labels)})
        if o.absent:
            rules.append(_absent(o, tot, rule_labels))
        if tot.name != o.errors.name:
            rules.append({"record": increase_name(o.errors.name, o.window), "expr": inc(o.errors),
                          "labels": dict(rule_labels)})
            if o.absent:
                rules.append(_absent(o, o.errors, rule_labels))
    elif o.kind == "latency":
        assert o.errors is not None
        le = next((m[2] for m in o.errors.matchers if m[0] == "le"), "")
        labels_le = {"le": le, **rule_labels}
        rules.append({"record": increase_name(tot.name, o.window), "expr": inc(tot), "labels": dict(rule_labels)})
        rules.append({"record": increase_name(o.errors.name, o.window), "expr": inc(o.errors),
                      "labels": dict(labels_le)})
        if o.absent:
            rules.append(_absent(o, tot, rule_labels))
            rules.append(_absent(o, o.errors, labels_le))
    else:
        sel = selector(tot.name, tot.matchers)
        base = _trim(tot.name, ())
        rules.append({"record": f"{base}:count{w}", "expr": _agg("sum", gl, f"count_over_time({sel}[{w}])"),
                      "labels": dict(rule_labels)})
        rules.append({"record": f"{base}:sum{w}", "expr": _agg("sum", gl, f"sum_over_time({sel}[{w}])"),
                      "labels": dict(rule_labels)})
        if o.absent:
            rules.append(_absent(o, tot, rule_labels))
    return {"name": f"{o.name}-increase", "interval": increase_interval(o.window), "rules": rules}


def _renamed(metric: Metric, name: str, slo: str) -> str:
    """`metric`'s selector with its `__name__` matcher pointing at `name` (a recording rule), plus
    `slo="<slo>"`: what pyrra's generic rules select."""
    ms = [(n, op, name if n == NAME else v) for n, op, v in metric.matchers]
    return selector(name, [*ms, ("slo", "=", slo)])


def generic_rules(o: PyrraObjective) -> dict[str, Any] | None:
    """pyrra's `GenericRules` (`--generic-rules`): the `<name>-generic` group its Grafana dashboards read.
    None for an objective with grouping (pyrra's ErrGroupingUnsupported: pyrra then writes no generic group
    and logs a warning)."""
    if o.grouping and o.kind != "latency_native":  # pyrra refuses grouping for the other kinds only
        return None
    labels = common_labels(o)
    if o.description_as_label:
        labels["description"] = o.description
    rules: list[dict[str, Any]] = [
        {"record": "pyrra_objective", "expr": _go_f(o.target)},
        {"record": "pyrra_window", "expr": str(int(o.window))},
    ]
    tot = o.total
    w = prom_duration(o.window)
    if o.kind == "ratio":
        assert o.errors is not None
        err = o.errors
        total_inc = _renamed(tot, increase_name(tot.name, o.window), o.name)
        errors_inc = _renamed(err, increase_name(err.name, o.window), o.name)
        rules += [
            {"record": "pyrra_availability", "expr": f"1 - sum({errors_inc} or vector(0)) / sum({total_inc})"},
            {"record": "pyrra_requests:rate5m", "expr": f"sum(rate({selector(tot.name, tot.matchers)}[5m]))"},
            {"record": "pyrra_errors:rate5m",
             "expr": f"sum(rate({selector(err.name, err.matchers)}[5m])) or vector(0)"},
        ]
    elif o.kind == "latency":
        assert o.errors is not None
        ok = o.errors
        total_name = increase_name(tot.name, o.window)
        total_ms = [(n, op, total_name if n == NAME else v) for n, op, v in tot.matchers]
        total_inc = selector(total_name, [*total_ms, ("le", "=", ""), ("slo", "=", o.name)])
        ok_inc = _renamed(ok, increase_name(ok.name, o.window), o.name)
        total_rate = f"sum(rate({selector(tot.name, tot.matchers)}[5m]))"
        rules += [
            {"record": "pyrra_availability", "expr": f"sum({ok_inc} or vector(0)) / sum({total_inc})"},
            {"record": "pyrra_requests:rate5m", "expr": total_rate},
            {"record": "pyrra_errors:rate5m",
             "expr": f"{total_rate} - sum(rate({selector(ok.name, ok.matchers)}[5m]))"},
        ]
    elif o.kind == "latency_native":
        inc_name = increase_name(tot.name, o.window)
        ms = [(n, op, inc_name if n == NAME else v) for n, op, v in tot.matchers]
        good = selector(inc_name, [*ms, ("slo", "=", o.name), ("le", "=", _go_f(o.latency))])
        total = selector(inc_name, [*ms, ("slo", "=", o.name), ("le", "=", "")])
        rules.append({"record": "pyrra_availability", "expr": f"sum({good} or vector(0)) / sum({total})"})
    else:
        count = _renamed(tot, f"{tot.name}:count{w}", o.name)
        good = _renamed(tot, f"{tot.name}:sum{w}", o.name)
        rules += [
            {"record": "pyrra_availability", "expr": f"sum({good}) / sum({count})"},
            {"record": "pyrra_requests:rate5m", "expr": f"sum({count})"},
            {"record": "pyrra_errors:rate5m", "expr": f"sum({count}) - sum({good})"},
        ]
    for r in rules:
        r["labels"] = dict(labels)
    return {"name": f"{o.name}-generic", "interval": "30s", "rules": rules}


def pyrra_groups(o: PyrraObjective, external_url: str = "", generic: bool = False) -> list[dict[str, Any]]:
    """The rule groups pyrra writes for an objective: increase rules, then burn rates and alerts, then (with
    `generic`, pyrra's --generic-rules) the generic rules when the objective has no grouping."""
    out = [increase_rules(o), burnrate_rules(o, external_url)]
    g = generic_rules(o) if generic else None
    return out + ([g] if g is not None else [])


# --------------------------------------------------------------------------------------------- reading


def _selector(ctx: _Ctx, node: PosDict, key: str, where: str) -> Metric:
    text = ctx.string(node, key, where)
    try:
        expr = promql_parser.parse(text)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ctx.err(f"{where}.{key}: invalid PromQL: {msg}", node, key) from None
    if not isinstance(expr, promql_parser.VectorSelector) or expr.offset is not None:
        raise ctx.err(f"{where}.{key}: expected a metric selector like `http_requests_total{{job=\"api\"}}` "
                      "(pyrra wraps it in rate()/increase() itself)", node, key)
    ms: list[Matcher] = [(m.name, m.symbol, m.value) for m in selector_matchers(expr)]
    name = expr.name or ""
    if name:
        ms.append((NAME, "=", name))  # Go's parser appends the name's matcher
    else:
        name = next((m[2] for m in ms if m[0] == NAME and m[1] == "="), "")
    if not name:
        raise ctx.err(f"{where}.{key}: the selector needs a metric name", node, key)
    return Metric(name, ms)


def _string_map(ctx: _Ctx, meta: PosDict, key: str) -> dict[str, str]:
    """metadata.labels / annotations: a mapping of strings (Kubernetes' rule)."""
    node = meta.get(key)
    if node is None:
        return {}
    m = ctx.mapping(node, f"metadata.{key}", meta, key)
    for k, v in m.items():
        if v is None or isinstance(v, (dict, list)):
            raise ctx.err(f"metadata.{key}.{k}: expected a string", m, k)
    return {str(k): str(v) for k, v in m.items()}


def _bool(ctx: _Ctx, node: PosDict, key: str, where: str, default: bool) -> bool:
    v = node.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise ctx.err(f"{where}.{key}: expected true or false", node, key)
    return v


def _grouping(ctx: _Ctx, node: PosDict, where: str) -> list[str]:
    g = node.get("grouping")
    if g is None:
        return []
    if not isinstance(g, list) or not all(isinstance(x, str) for x in g):
        raise ctx.err(f"{where}.grouping: expected a list of label names", node, "grouping")
    return list(g)


def parse_pyrra(ctx: _Ctx, d: PosDict, index: int) -> SLOGroup:
    """A pyrra `ServiceLevelObjective` document -> one SLO (with the pyrra objective attached)."""
    from opsctl.durations import parse_duration
    from opsctl.slo.spec import LABEL_RE

    kind = ctx.string(d, "kind", "document")
    if kind != "ServiceLevelObjective":
        raise ctx.err(f"kind {kind!r}: expected ServiceLevelObjective for apiVersion {SPEC_PYRRA}", d, "kind")
    ctx.keys(d, ("apiVersion", "kind", "metadata", "spec", "status"), "document")
    meta = ctx.mapping(d.get("metadata"), "metadata", d, "metadata")
    name = ctx.string(meta, "name", "metadata")
    namespace = ctx.string(meta, "namespace", "metadata", required=False)
    labels = _string_map(ctx, meta, "labels")
    annotations = _string_map(ctx, meta, "annotations")
    spec = ctx.mapping(d.get("spec"), "spec", d, "spec")
    ctx.keys(spec, ("description", "target", "window", "indicator", "alerting", "performanceOverAccuracy",
                    "ruleOutput"), "spec")
    target_text = ctx.string(spec, "target", "spec")
    try:
        target = float(target_text)
    except ValueError:
        raise ctx.err(f"spec.target {target_text!r}: expected a percentage like \"99.5\"", spec, "target") from None
    if not 0 < target < 100 or math.isnan(target):
        raise ctx.err(f"spec.target: must be in (0, 100), got {target_text}", spec, "target")
    window_text = ctx.string(spec, "window", "spec")
    try:
        window = parse_duration(window_text)
    except ValueError as exc:
        raise ctx.err(f"spec.window: {exc}", spec, "window") from None
    if window <= 0 or window % MINUTE:
        raise ctx.err("spec.window: expected a positive whole number of minutes", spec, "window")
    if _bool(ctx, spec, "performanceOverAccuracy", "spec", False):
        raise ctx.err("spec.performanceOverAccuracy: pyrra's split short/long rule groups are not supported; "
                      "remove it to get pyrra's default rules", spec, "performanceOverAccuracy", value=False)
    description_as_label = False
    if spec.get("ruleOutput") is not None:
        ro = ctx.mapping(spec["ruleOutput"], "spec.ruleOutput", spec, "ruleOutput")
        ctx.keys(ro, ("shortRulesLabels", "longRulesLabels", "enableDescriptionAsLabel"), "spec.ruleOutput")
        for k in ("shortRulesLabels", "longRulesLabels"):
            if ro.get(k) is not None:
                raise ctx.err(f"spec.ruleOutput.{k}: not supported (labels of pyrra's split short/long rule "
                              "groups, which only performanceOverAccuracy writes)", ro, k, value=False)
        description_as_label = _bool(ctx, ro, "enableDescriptionAsLabel", "spec.ruleOutput", False)
    ind = ctx.mapping(spec.get("indicator"), "spec.indicator", spec, "indicator")
    kinds = [k for k in ("ratio", "latency", "latencyNative", "bool_gauge") if ind.get(k) is not None]
    ctx.keys(ind, ("ratio", "latency", "latencyNative", "bool_gauge"), "spec.indicator")
    if len(kinds) != 1:
        raise ctx.err("spec.indicator: exactly one of ratio, latency, latencyNative, bool_gauge is required", ind)
    k = kinds[0]
    where = f"spec.indicator.{k}"
    node = ctx.mapping(ind[k], where, ind, k)
    errors: Metric | None
    latency = 0.0
    if k == "latencyNative":
        ctx.keys(node, ("latency", "total", "grouping"), where)
        t = ctx.mapping(node.get("total"), f"{where}.total", node, "total")
        errors, total, okind = None, _selector(ctx, t, "metric", f"{where}.total"), "latency_native"
        lat_text = ctx.string(node, "latency", where)
        try:
            from opsctl.durations import parse_duration

            latency = parse_duration(lat_text)
        except ValueError:
            raise ctx.err(f"{where}.latency: latencyNative latency objective must be a valid duration, got "
                          f"{lat_text!r}", node, "latency") from None
    elif k == "ratio":
        ctx.keys(node, ("errors", "total", "grouping"), where)
        e = ctx.mapping(node.get("errors"), f"{where}.errors", node, "errors")
        t = ctx.mapping(node.get("total"), f"{where}.total", node, "total")
        errors, total, okind = _selector(ctx, e, "metric", f"{where}.errors"), \
            _selector(ctx, t, "metric", f"{where}.total"), "ratio"
    elif k == "latency":
        ctx.keys(node, ("success", "total", "grouping"), where)
        s = ctx.mapping(node.get("success"), f"{where}.success", node, "success")
        t = ctx.mapping(node.get("total"), f"{where}.total", node, "total")
        errors, total, okind = _selector(ctx, s, "metric", f"{where}.success"), \
            _selector(ctx, t, "metric", f"{where}.total"), "latency"
        if not any(m[0] == "le" and m[1] == "=" for m in errors.matchers):
            raise ctx.err(f"{where}.success.metric: a latency success selector needs le=\"<bucket>\"", s, "metric")
    else:
        ctx.keys(node, ("metric", "grouping"), where)
        errors, total, okind = None, _selector(ctx, node, "metric", where), "bool_gauge"
    grouping = _grouping(ctx, node, where)
    for g in grouping:
        if not LABEL_RE.match(g):
            raise ctx.err(f"{where}.grouping: invalid label name {g!r}", node, "grouping")
    alerting = spec.get("alerting") or PosDict()
    a = ctx.mapping(alerting, "spec.alerting", spec, "alerting")
    ctx.keys(a, ("disabled", "burnrates", "absent", "name", "absentName", "severities"), "spec.alerting")
    sev = Severities()
    if a.get("severities") is not None:
        sn = ctx.mapping(a["severities"], "spec.alerting.severities", a, "severities")
        ctx.keys(sn, ("absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn"), "spec.alerting.severities")
        sev = Severities(*(ctx.string(sn, f, "spec.alerting.severities", required=False)
                           for f in ("absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn")))
    o = PyrraObjective(
        name=name, target=target / 100, window=window, kind=okind, total=total, errors=errors, grouping=grouping,
        labels=labels, annotations=annotations, description=ctx.string(spec, "description", "spec", required=False),
        burnrates=_bool(ctx, a, "burnrates", "spec.alerting", True),
        absent=_bool(ctx, a, "absent", "spec.alerting", True),
        disabled=_bool(ctx, a, "disabled", "spec.alerting", False),
        alert_name=ctx.string(a, "name", "spec.alerting", required=False),
        absent_name=ctx.string(a, "absentName", "spec.alerting", required=False), severities=sev,
        description_as_label=description_as_label, latency=latency,
    )
    slo = SLO(id=f"{namespace}-{name}" if namespace else name, name=name, service=namespace or name,
              objective=target, period=window, sli=_sli(o), description=o.description,
              page=AlertMeta(disable=True), ticket=AlertMeta(disable=True), spec=SPEC_PYRRA, file=ctx.file,
              line=d.loc[0], pyrra=o)
    return SLOGroup([slo], SPEC_PYRRA, ctx.file, index, k8s_name=name, k8s_namespace=namespace or None,
                    k8s_labels=labels)


def _sli(o: PyrraObjective) -> SLI:
    """The SLI as opsctl's report evaluates it (the same queries pyrra's burn-rate rules use)."""
    g = sorted(set(o.grouping))
    tot = selector(o.total.name, o.total.matchers)
    if o.kind == "ratio":
        assert o.errors is not None
        return SLI(error_query=_agg("sum", g, f"rate({selector(o.errors.name, o.errors.matchers)}[{{{{.window}}}}])"),
                   total_query=_agg("sum", g, f"rate({tot}[{{{{.window}}}}])"))
    if o.kind == "latency":
        assert o.errors is not None
        return SLI(good_query=_agg("sum", g, f"rate({selector(o.errors.name, o.errors.matchers)}[{{{{.window}}}}])"),
                   total_query=_agg("sum", g, f"rate({tot}[{{{{.window}}}}])"))
    if o.kind == "latency_native":
        rate = _agg("sum", g, f"rate({tot}[{{{{.window}}}}])")
        return SLI(good_query=f"histogram_fraction(0, {_go_f(o.latency)}, {rate}) * histogram_count({rate})",
                   total_query=f"histogram_count({rate})")
    return SLI(error_query=(f"{_agg('sum', g, f'count_over_time({tot}[{{{{.window}}}}])')} - "
                            f"{_agg('sum', g, f'sum_over_time({tot}[{{{{.window}}}}])')}"),
               total_query=_agg("sum", g, f"count_over_time({tot}[{{{{.window}}}}])"))
