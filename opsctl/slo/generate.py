"""Prometheus rules for SLOs: SLI recording rules, error-budget metadata rules and MWMB alerts.

For sloth `prometheus/v1` and OpenSLO `v1alpha` input the output is rule-for-rule what sloth generates
(same groups, record names, expressions, labels, annotations, windows and factors). OpenSLO `v1` input uses
the same conventions (`slo:sli_error:ratio_rate<window>`, `sloth_*` labels) so dashboards built for sloth
work unchanged, with these additions: `counter: true` ratio metrics are wrapped in `rate(...[window])`,
threshold metrics and `Timeslices` budgeting become error ratios of bad points / bad slices per window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from opsctl import __version__
from opsctl.errors import InputError
from opsctl.slo.model import (
    SLI,
    SLO,
    SPEC_OPENSLO_V1,
    SPEC_OPENSLO_V1ALPHA,
    SPEC_SLOTH,
    SPEC_SLOTH_K8S,
    AlertMeta,
    SLOGroup,
)
from opsctl.slo.spec import render_window, wrap_counters
from opsctl.slo.windows import AlertWindow, WindowCatalog, WindowSet, go_g, prom_duration, windows_for

SLI_ERROR_METRIC = "slo:sli_error:ratio_rate{}"
L_ID, L_SLO, L_SERVICE, L_WINDOW = "sloth_id", "sloth_slo", "sloth_service", "sloth_window"
L_SEVERITY, L_VERSION, L_MODE, L_SPEC, L_OBJECTIVE = (
    "sloth_severity", "sloth_version", "sloth_mode", "sloth_spec", "sloth_objective")
BAD_OP = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}


@dataclass
class Options:
    extra_labels: dict[str, str] = field(default_factory=dict)  # sloth --extra-labels
    version: str = f"opsctl-{__version__}"  # value of the sloth_version info label
    windows: WindowCatalog | None = None  # sloth --slo-period-windows-path (None: built-in 28d/30d)
    disable_recordings: bool = False  # sloth --disable-recordings: no SLI and metadata recording rules
    disable_alerts: bool = False  # sloth --disable-alerts: no alert rules
    disable_optimizations: bool = False  # sloth --disable-optimizations: period SLI from the raw query
    pyrra_external_url: str = ""  # pyrra's --external-url: the pyrra_url annotation of burn-rate alerts
    pyrra_generic_rules: bool = False  # pyrra's --generic-rules: the <name>-generic group (Grafana)


def sli_error_metric(window: float) -> str:
    return SLI_ERROR_METRIC.format(prom_duration(window))


def go_f(x: float) -> str:
    """Go's `strconv.FormatFloat(x, 'f', -1, 64)`: shortest digits, never an exponent."""
    text = format(Decimal(repr(float(x))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def id_labels(slo: SLO) -> dict[str, str]:
    return {L_ID: slo.id, L_SLO: slo.name, L_SERVICE: slo.service}


def prom_filter(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# --------------------------------------------------------------------------------------------- SLI exprs


def error_ratio_template(slo: SLO) -> tuple[str, str]:
    """The SLI error-ratio expression template for one window and its kind ("events" or "raw").

    "events" templates are sloth's `(error)\\n/\\n(total)\\n`; "raw" ones are wrapped as `(query)` by the
    caller exactly as sloth does.
    """
    sli = slo.sli
    where = f"SLO {slo.id}"
    if sli.threshold_query is not None:
        assert sli.threshold_op is not None and sli.threshold_value is not None
        q = (f"avg_over_time((({sli.threshold_query}) {BAD_OP[sli.threshold_op]} bool "
             f"{go_g(sli.threshold_value)})[{{{{.window}}}}:])")
        return q, "raw"
    if sli.error_ratio_query is not None:
        return sli.error_ratio_query, "raw"
    total = sli.total_query or ""
    if sli.counter:
        total = wrap_counters(total, where)
    if sli.error_query is not None:
        err = wrap_counters(sli.error_query, where) if sli.counter else sli.error_query
        return f"({err})\n/\n({total})\n", "events"
    good = wrap_counters(sli.good_query or "", where) if sli.counter else (sli.good_query or "")
    return f"\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n", "raw"


def _sli_expr(slo: SLO, window: float) -> str:
    tpl, kind = error_ratio_template(slo)
    w = prom_duration(window)
    if slo.budgeting in ("Timeslices", "RatioTimeslices") and slo.timeslice_window:
        # Bad slices over the window: a slice is bad when its good ratio is under the slice target.
        slice_w = prom_duration(slo.timeslice_window)
        inner = render_window(tpl if kind == "events" else f"({tpl})", slice_w)
        target = slo.timeslice_target if slo.timeslice_target is not None else slo.objective_ratio
        return f"avg_over_time((({inner.strip()}) > bool {go_g(1 - target)})[{w}:{slice_w}])"
    if kind == "events":
        return render_window(tpl, w)
    return render_window(f"({tpl})", w)


# ------------------------------------------------------------------------------------------------ rules


def _merge(*ms: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in ms:
        out.update(m)
    return dict(sorted(out.items()))


def sli_recording_rules(slo: SLO, ws: WindowSet, opts: Options) -> list[dict[str, Any]]:
    labels = {**opts.extra_labels, **slo.labels}
    rules: list[dict[str, Any]] = []
    for window in ws.distinct():
        rules.append({"record": sli_error_metric(window), "expr": _sli_expr(slo, window),
                      "labels": _merge(id_labels(slo), {L_WINDOW: prom_duration(window)}, labels)})
    pw = prom_duration(slo.period)
    if opts.disable_optimizations or slo.disable_optimized:
        # sloth --disable-optimizations: the period SLI is the SLI query over the whole period.
        rules.append({"record": sli_error_metric(slo.period), "expr": _sli_expr(slo, slo.period),
                      "labels": _merge(id_labels(slo), {L_WINDOW: pw}, labels)})
        return rules
    # The whole period, averaged from the shortest window (sloth's "optimized" rule).
    short = ws.page_quick.short
    metric = sli_error_metric(short)
    flt = prom_filter(id_labels(slo))
    expr = (f"sum_over_time({metric}{flt}[{pw}])\n/ ignoring ({L_WINDOW})\n"
            f"count_over_time({metric}{flt}[{pw}])\n")
    rules.append({"record": sli_error_metric(slo.period), "expr": expr,
                  "labels": _merge(id_labels(slo), {L_WINDOW: pw}, labels)})
    return rules


def _mode(slo: SLO) -> str:
    if slo.spec == SPEC_SLOTH_K8S:
        return "cli-gen-k8s"
    return "cli-gen-prom" if slo.spec == SPEC_SLOTH else "cli-gen-openslo"


def metadata_rules(slo: SLO, ws: WindowSet, opts: Options) -> list[dict[str, Any]]:
    labels = _merge(id_labels(slo), opts.extra_labels, slo.labels)
    flt = prom_filter(id_labels(slo))
    ratio = slo.objective / 100

    def burn(metric: str) -> str:
        return (f"{metric}{flt}\n/ on({L_ID}, {L_SLO}, {L_SERVICE}) group_left\n"
                f"slo:error_budget:ratio{flt}\n")

    info = _merge(labels, {L_VERSION: opts.version, L_MODE: _mode(slo), L_SPEC: slo.spec,
                           L_OBJECTIVE: go_f(slo.objective)}, slo.info_labels)
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({go_g(ratio)})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{go_g(ratio)})", "labels": labels},
        {"record": "slo:time_period:days", "expr": f"vector({go_g(slo.period / 86400)})", "labels": labels},
        {"record": "slo:current_burn_rate:ratio", "expr": burn(sli_error_metric(ws.page_quick.short)),
         "labels": labels},
        {"record": "slo:period_burn_rate:ratio", "expr": burn(sli_error_metric(slo.period)), "labels": labels},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - slo:period_burn_rate:ratio{flt}", "labels": labels},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": info},
    ]


def _alert(slo: SLO, meta: AlertMeta, quick: AlertWindow, slow: AlertWindow) -> dict[str, Any]:
    flt = prom_filter(id_labels(slo))
    budget = go_g((100 - slo.objective) / 100)

    def cond(window: float, factor: float) -> str:
        return f"max({sli_error_metric(window)}{flt} > ({go_g(factor)} * {budget})) without ({L_WINDOW})"

    expr = (f"(\n    {cond(quick.short, quick.factor)}\n    and\n    {cond(quick.long, quick.factor)}\n)\n"
            f"or\n(\n    {cond(slow.short, slow.factor)}\n    and\n    {cond(slow.long, slow.factor)}\n)\n")
    sev = quick.severity
    annotations = {
        "title": f"({sev}) {{{{$labels.{L_SERVICE}}}}} {{{{$labels.{L_SLO}}}}} SLO error budget burn rate is too fast.",
        "summary": f"{{{{$labels.{L_SERVICE}}}}} {{{{$labels.{L_SLO}}}}} SLO error budget burn rate is over expected.",
    }
    return {"alert": meta.name, "expr": expr, "labels": _merge({L_SEVERITY: sev}, meta.labels),
            "annotations": _merge(annotations, meta.annotations)}


def alert_rules(slo: SLO, ws: WindowSet) -> list[dict[str, Any]]:
    rules = []
    if not slo.page.disable:
        rules.append(_alert(slo, slo.page, ws.page_quick, ws.page_slow))
    if not slo.ticket.disable:
        rules.append(_alert(slo, slo.ticket, ws.ticket_quick, ws.ticket_slow))
    return rules


def _group(name: str, rules: list[dict[str, Any]], interval: float) -> dict[str, Any]:
    g: dict[str, Any] = {"name": name}
    if interval:
        g["interval"] = prom_duration(interval)
    g["rules"] = rules
    return g


def slo_groups(slo: SLO, opts: Options) -> list[dict[str, Any]]:
    if slo.pyrra is not None:  # a pyrra ServiceLevelObjective: pyrra's own rules
        from opsctl.slo.pyrra import PyrraObjective, burnrate_rules, generic_rules, increase_rules
        assert isinstance(slo.pyrra, PyrraObjective)
        out = []
        if not opts.disable_recordings:
            out.append(increase_rules(slo.pyrra))
        burn = burnrate_rules(slo.pyrra, opts.pyrra_external_url)
        if opts.disable_alerts:
            burn["rules"] = [r for r in burn["rules"] if "record" in r]
            out[0]["rules"] = [r for r in out[0]["rules"] if "record" in r] if out else []
        if opts.disable_recordings:
            burn["rules"] = [r for r in burn["rules"] if "alert" in r]
        out += [burn] if burn["rules"] else []
        generic = generic_rules(slo.pyrra) if opts.pyrra_generic_rules and not opts.disable_recordings else None
        return out + ([generic] if generic is not None else [])
    ws = windows_for(slo.period, opts.windows)
    iv = slo.intervals
    groups = []
    if not opts.disable_recordings:
        groups.append(_group(f"sloth-slo-sli-recordings-{slo.id}", sli_recording_rules(slo, ws, opts),
                             iv.sli_error or iv.all))
        groups.append(_group(f"sloth-slo-meta-recordings-{slo.id}", metadata_rules(slo, ws, opts),
                             iv.metadata or iv.all))
    alerts = [] if opts.disable_alerts else alert_rules(slo, ws)
    if alerts:
        groups.append(_group(f"sloth-slo-alerts-{slo.id}", alerts, iv.alert or iv.all))
    return groups


def generic_rules_skipped(groups: list[SLOGroup]) -> list[SLO]:
    """pyrra SLOs that get no generic rules (`--generic-rules`) because they have grouping, as in pyrra."""
    return [s for g in groups for s in g.slos if s.pyrra is not None and getattr(s.pyrra, "grouping", None)]


def generate(groups: list[SLOGroup], opts: Options | None = None) -> dict[str, Any]:
    """One Prometheus rule file (`{"groups": [...]}`) for every SLO of every spec document."""
    o = opts or Options()
    out: list[dict[str, Any]] = []
    for g in groups:
        for slo in g.slos:
            try:
                out.extend(slo_groups(slo, o))
            except InputError as exc:
                raise InputError(exc.message, slo.file, slo.line) from None
    return {"groups": out}


def prometheus_rule(group: SLOGroup, rule_file: dict[str, Any]) -> dict[str, Any]:
    """A prometheus-operator `PrometheusRule` manifest holding `rule_file`'s groups, named after the sloth
    CRD it comes from (what sloth writes for a `PrometheusServiceLevel`)."""
    own = {} if group.spec == "pyrra.dev/v1alpha1" else {"app.kubernetes.io/component": "SLO",
                                                          "app.kubernetes.io/managed-by": "sloth"}
    meta: dict[str, Any] = {"labels": dict(sorted({**group.k8s_labels, **own}.items())), "name": group.k8s_name}
    if group.k8s_namespace:
        meta["namespace"] = group.k8s_namespace
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta,
            "spec": {"groups": rule_file["groups"]}}


def generate_documents(groups: list[SLOGroup], opts: Options | None = None) -> list[dict[str, Any]]:
    """The output documents for `groups`: one rule file for every plain spec document together, and one
    `PrometheusRule` manifest per Kubernetes CRD (sloth `PrometheusServiceLevel`), in input order."""
    docs: list[dict[str, Any]] = []
    plain: list[SLOGroup] = []
    for g in groups:
        if g.k8s_name is not None:
            docs.append(prometheus_rule(g, generate([g], opts)))
        else:
            plain.append(g)
    if plain:
        docs.insert(0, generate(plain, opts))
    return docs


def documents_to_yaml(docs: list[dict[str, Any]]) -> str:
    parts = [to_yaml(d, header=(i == 0)) for i, d in enumerate(docs)]
    return "---\n".join(parts)


# ----------------------------------------------------------------------------------------------- output


class _Dumper(yaml.SafeDumper):
    """Plain block YAML: no anchors/aliases for label maps that several rules share."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def to_yaml(rule_file: dict[str, Any], header: bool = True) -> str:
    text = yaml.dump(rule_file, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096,
                     default_flow_style=False)
    text = _lint_annotations(text)
    if header:
        text = ("# Code generated by opsctl slo generate (sloth-compatible rules).\n# DO NOT EDIT.\n\n" + text)
    return text


# What `opsctl rules validate` would flag in generated rules by design, with the reason, as inline
# disables on the rule they concern (comments only: the rules stay equal to sloth's).
_DISABLES = (
    ("- record: sloth_slo_info", "record-name-format", "sloth's metadata series keeps sloth's name"),
    ("- alert: ", "alert-for-missing",
     "multi-window burn-rate alerts need no `for`: the short window ends them quickly"),
)


def _lint_annotations(text: str) -> str:
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        for prefix, check, why in _DISABLES:
            if stripped.startswith(prefix):
                indent = line[: len(line) - len(stripped)]
                out.append(f"{indent}# opsctl: disable={check}  ({why})\n")
        out.append(line)
    return "".join(out)


SPECS = (SPEC_SLOTH, SPEC_OPENSLO_V1ALPHA, SPEC_OPENSLO_V1)
__all__ = ["SLI", "SPECS", "Options", "generate", "slo_groups", "to_yaml"]
