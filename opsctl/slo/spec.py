"""Load and validate SLO specs: sloth `prometheus/v1`, OpenSLO `v1alpha` (as sloth reads it) and OpenSLO `v1`.

Every problem raises `InputError` naming `file:line:column`. A file may hold several YAML documents; each
sloth / OpenSLO v1alpha document is one `SLOGroup` (sloth generates one rule set per document). OpenSLO v1
documents (`SLO`, `SLI`, `Service`, `AlertPolicy`, ...) are read together: `indicatorRef` is resolved
against the `SLI` documents of the same file, and every `SLO` document becomes one group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import promql_parser

from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.slo.model import (
    SLI,
    SLO,
    SPEC_OPENSLO_V1,
    SPEC_OPENSLO_V1ALPHA,
    SPEC_SLOTH,
    SPEC_SLOTH_K8S,
    AlertMeta,
    CalendarWindow,
    Intervals,
    SLOGroup,
)
from opsctl.yamlutil import PosDict, PosList, load_documents, loads_documents

NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")  # sloth
OPENSLO_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
WINDOW_TPL_RE = re.compile(r"{{ *\.window *}}")
ANY_TPL_RE = re.compile(r"{{.*?}}", re.S)
OPENSLO_DURATION_RE = re.compile(r"^([1-9][0-9]*)([smhdwMQY])$")
OPENSLO_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
                        "M": 30 * 86400, "Q": 91 * 86400, "Y": 365 * 86400}
V1ALPHA_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
                 "month": 30 * 86400, "quarter": 91 * 86400, "year": 365 * 86400}
THRESHOLD_OPS = ("lt", "lte", "gt", "gte")


DAY = 86400.0
# sloth SLO plugins opsctl knows. The core rule plugins are what opsctl always generates; the validators only
# check queries (validate_victoria_metrics: MetricsQL, so the PromQL check is skipped). Any other plugin is Go
# code that changes the rules, which opsctl cannot run: it is refused by id.
SLOTH_CORE_RULE_PLUGINS = ("sloth.dev/core/sli_rules/v1", "sloth.dev/core/metadata_rules/v1",
                           "sloth.dev/core/alert_rules/v1")
SLOTH_NOOP_PLUGINS = ("sloth.dev/core/validate/v1", "sloth.dev/core/noop/v1", "sloth.dev/core/debug/v1")
SLOTH_METRICSQL_PLUGIN = "sloth.dev/contrib/validate_victoria_metrics/v1"
# sloth's Kubernetes CRD spells fields in camelCase; its prometheus/v1 file format in snake_case.
K8S_KEYS = {"errorQuery": "error_query", "totalQuery": "total_query", "errorRatioQuery": "error_ratio_query",
            "pageAlert": "page_alert", "ticketAlert": "ticket_alert", "sloPlugins": "slo_plugins"}
K8S_KEYS_BACK = {v: k for k, v in K8S_KEYS.items()}


class _Ctx:
    def __init__(self, file: str, default_period: float = 30 * DAY) -> None:
        self.file = file
        self.default_period = default_period
        self.k8s = False  # reading a sloth CRD: messages name the camelCase fields
        self.metricsql = False  # validate_victoria_metrics plugin: queries are MetricsQL, not PromQL

    def err(self, message: str, node: Any = None, key: str | None = None, value: bool = True,
            index: int | None = None) -> InputError:
        line, col = 0, 0
        if isinstance(node, PosDict):
            if key is not None:
                line, col = node.value_loc(key) if value and key in node else node.key_loc(key)
            else:
                line, col = node.loc
        elif isinstance(node, PosList):
            line, col = node.item_loc(index) if index is not None else node.loc
        if self.k8s:
            for snake, camel in K8S_KEYS_BACK.items():
                message = message.replace(snake, camel)
            message = re.sub(r"^(slos\[)", r"spec.\1", message)
        return InputError(message, self.file, line, col)

    def mapping(self, node: Any, where: str, parent: Any = None, key: str | None = None) -> PosDict:
        if not isinstance(node, PosDict):
            raise self.err(f"{where}: expected a mapping", parent if parent is not None else node, key)
        return node

    def keys(self, node: PosDict, allowed: Sequence[str], where: str) -> None:
        for k in node:
            if k not in allowed:
                raise self.err(f"{where}: unknown field {k!r} (allowed: {', '.join(allowed)})", node, k, value=False)

    def string(self, node: PosDict, key: str, where: str, required: bool = True, default: str = "") -> str:
        if key not in node or node[key] is None:
            if required:
                raise self.err(f"{where}: {key!r} is required", node)
            return default
        val = node[key]
        if isinstance(val, bool) or isinstance(val, (dict, list)):
            raise self.err(f"{where}.{key}: expected a string", node, key)
        return str(val)

    def number(self, node: PosDict, key: str, where: str) -> float:
        if key not in node:
            raise self.err(f"{where}: {key!r} is required", node)
        val = node[key]
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            try:
                return float(str(val))
            except ValueError:
                raise self.err(f"{where}.{key}: expected a number, got {val!r}", node, key) from None
        return float(val)

    def labels(self, node: PosDict, key: str, where: str, annotations: bool = False) -> dict[str, str]:
        if key not in node or node[key] is None:
            return {}
        m = self.mapping(node[key], f"{where}.{key}", node, key)
        out: dict[str, str] = {}
        for k, v in m.items():
            kk = str(k)
            if not LABEL_RE.match(kk) or (not annotations and kk == "__name__"):
                kind = "annotation" if annotations else "label"
                raise self.err(f"{where}.{key}: invalid {kind} name {kk!r}", m, kk, value=False)
            if v is None or isinstance(v, (dict, list)):
                raise self.err(f"{where}.{key}.{kk}: expected a string value", m, kk)
            sv = _scalar_text(v)
            if sv == "":
                raise self.err(f"{where}.{key}.{kk}: empty value", m, kk)
            out[kk] = sv
        return out


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render_window(query: str, window: str) -> str:
    """Render a sloth query template: `{{.window}}` -> window (the only variable sloth defines)."""
    return WINDOW_TPL_RE.sub(window, query)


def check_query(ctx: _Ctx, node: PosDict, key: str, where: str, templated: bool = True) -> str:
    q = ctx.string(node, key, where)
    if not q.strip():
        raise ctx.err(f"{where}.{key}: empty query", node, key)
    if templated and not WINDOW_TPL_RE.search(q):
        raise ctx.err(f"{where}.{key}: the query must use the {{{{.window}}}} template variable", node, key)
    rendered = render_window(q, "1m")
    other = ANY_TPL_RE.search(rendered)
    if other:
        raise ctx.err(f"{where}.{key}: unknown template action {other.group(0)!r} (only {{{{.window}}}} exists)",
                      node, key)
    if ctx.metricsql:
        return q  # MetricsQL (sloth's validate_victoria_metrics plugin): not PromQL, not checked here
    try:
        promql_parser.parse(rendered)
    except Exception as exc:  # the parser raises ValueError-like errors with the position in the text
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ctx.err(f"{where}.{key}: invalid PromQL: {msg}", node, key) from None
    return q


def wrap_counters(query: str, where: str) -> str:
    """`sum(x{a="b"})` -> `sum(rate(x{a="b"}[{{.window}}]))` for OpenSLO `counter: true` ratio metrics."""
    try:
        node = promql_parser.parse(query)
    except Exception as exc:
        raise InputError(f"{where}: invalid PromQL: {exc}") from None
    return _wrap(node, where)


def _wrap(node: Any, where: str) -> str:
    if isinstance(node, promql_parser.VectorSelector):
        return f"rate({node}[{{{{.window}}}}])"
    if isinstance(node, promql_parser.AggregateExpr):
        mod = ""
        if node.modifier is not None:
            kind = "by" if node.modifier.type == promql_parser.AggModifierType.By else "without"
            mod = f" {kind} ({', '.join(node.modifier.labels)})"
        param = f"{node.param}, " if node.param is not None else ""
        return f"{node.op}{mod} ({param}{_wrap(node.expr, where)})"
    if isinstance(node, promql_parser.ParenExpr):
        return f"({_wrap(node.expr, where)})"
    if isinstance(node, promql_parser.NumberLiteral):
        return str(node)
    if isinstance(node, promql_parser.BinaryExpr):
        mod = f" {node.modifier}" if node.modifier is not None and str(node.modifier) else ""
        return f"{_wrap(node.lhs, where)} {node.op}{mod} {_wrap(node.rhs, where)}"
    raise InputError(f"{where}: with counter: true the query must select counters (selectors, aggregations of "
                     f"selectors and arithmetic on them); cannot wrap {str(node)!r} in rate()")


# --------------------------------------------------------------------------------------------- loading


def load_spec(path: str | Path, *, default_period: float = 30 * DAY) -> list[SLOGroup]:
    """Every SLO group in a spec file (see the module docstring).

    `default_period` is the period of specs that carry none (sloth prometheus/v1 and its CRD), as sloth's
    `--default-slo-period`."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", str(p))
    if p.is_dir():
        raise InputError("is a directory (give a spec file, or use load_spec_dir)", str(p))
    return parse_documents(load_documents(p), str(p), default_period=default_period)


def spec_files(directory: str | Path, include: str | None = None, exclude: str | None = None) -> list[Path]:
    """The spec files of a directory, recursively, as sloth's `generate -i DIR` picks them: `*.yaml`/`*.yml`,
    then `include` / `exclude` Go regexes (RE2) matched against the path. Sorted for a stable output."""
    from opsctl.gosem import regexp as gosem_regexp

    d = Path(directory)
    try:
        inc = gosem_regexp.compile(include) if include else None
        exc = gosem_regexp.compile(exclude) if exclude else None
    except gosem_regexp.RegexpError as e:
        raise InputError(f"--fs-include/--fs-exclude: invalid regex: {e}", "<command line>") from None
    out = []
    for f in sorted(d.rglob("*")):
        if not f.is_file() or f.suffix not in (".yaml", ".yml"):
            continue
        text = str(f)
        if inc is not None and not inc.search(text):
            continue
        if exc is not None and exc.search(text):
            continue
        out.append(f)
    return out


def loads_spec(text: str, filename: str = "<spec>", *, default_period: float = 30 * DAY) -> list[SLOGroup]:
    return parse_documents(loads_documents(text, filename), filename, default_period=default_period)


def parse_documents(docs: list[Any], filename: str, *, default_period: float = 30 * DAY) -> list[SLOGroup]:
    ctx = _Ctx(filename, default_period)
    groups: list[SLOGroup] = []
    v1_docs: list[tuple[int, PosDict]] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        d = ctx.mapping(doc, f"document {i + 1}")
        if "version" in d and "apiVersion" not in d:
            version = ctx.string(d, "version", "spec")
            if version != SPEC_SLOTH:
                raise ctx.err(f"unsupported spec version {version!r} (expected {SPEC_SLOTH!r})", d, "version")
            groups.append(SLOGroup(_sloth(ctx, d), SPEC_SLOTH, filename, i))
        elif "apiVersion" in d:
            api = ctx.string(d, "apiVersion", "spec")
            if api == SPEC_SLOTH_K8S:
                groups.append(_sloth_k8s(ctx, d, i))
            elif api == "pyrra.dev/v1alpha1":
                from opsctl.slo.pyrra import parse_pyrra
                groups.append(parse_pyrra(ctx, d, i))
            elif api == SPEC_OPENSLO_V1ALPHA:
                groups.append(SLOGroup(_openslo_v1alpha(ctx, d), SPEC_OPENSLO_V1ALPHA, filename, i))
            elif api == SPEC_OPENSLO_V1:
                v1_docs.append((i, d))
            else:
                raise ctx.err(f"unsupported apiVersion {api!r} (expected {SPEC_OPENSLO_V1!r}, "
                              f"{SPEC_OPENSLO_V1ALPHA!r}, {SPEC_SLOTH_K8S!r} or 'pyrra.dev/v1alpha1')", d,
                              "apiVersion")
        else:
            raise ctx.err(f"not an SLO spec: expected 'version: {SPEC_SLOTH}' or 'apiVersion: openslo/v1'", d)
    if v1_docs:
        groups.extend(_openslo_v1(ctx, v1_docs))
    if not groups:
        raise InputError("no SLO spec found", filename, 1, 1)
    ids: dict[str, SLO] = {}
    for g in groups:
        for s in g.slos:
            if s.id in ids:
                raise InputError(f"SLO id {s.id!r} is repeated (first at line {ids[s.id].line})", filename, s.line)
            ids[s.id] = s
    return groups


# ------------------------------------------------------------------------------------ sloth prometheus/v1


def _k8s_rename(node: Any) -> Any:
    """A copy of a sloth CRD subtree with camelCase field names in sloth's prometheus/v1 spelling (positions
    kept; label, annotation and plugin-config maps copied as they are)."""
    if isinstance(node, PosDict):
        out = PosDict()
        out.loc, out.end = node.loc, node.end
        for k, v in node.items():
            nk = K8S_KEYS.get(k, k)
            out[nk] = v if k in ("labels", "annotations", "infoLabels", "config") else _k8s_rename(v)
            if k in node.info:
                out.info[nk] = node.info[k]
        return out
    if isinstance(node, PosList):
        lst = PosList(_k8s_rename(v) for v in node)
        lst.loc, lst.item_locs = node.loc, node.item_locs
        return lst
    return node


def _sloth_k8s(ctx: _Ctx, d: PosDict, index: int) -> SLOGroup:
    """sloth's Kubernetes `PrometheusServiceLevel` (apiVersion sloth.slok.dev/v1)."""
    kind = ctx.string(d, "kind", "document")
    if kind == "AlertWindows":
        raise ctx.err("an AlertWindows catalog is not an SLO spec: give it with --slo-period-windows-path", d,
                      "kind")
    if kind != "PrometheusServiceLevel":
        raise ctx.err(f"kind {kind!r}: expected PrometheusServiceLevel for apiVersion {SPEC_SLOTH_K8S}", d, "kind")
    ctx.keys(d, ("apiVersion", "kind", "metadata", "spec", "status"), "document")
    meta = ctx.mapping(d.get("metadata"), "metadata", d, "metadata")
    name = ctx.string(meta, "name", "metadata")
    namespace = ctx.string(meta, "namespace", "metadata", required=False) or None
    klabels: dict[str, str] = {}
    if meta.get("labels") is not None:
        lm = ctx.mapping(meta["labels"], "metadata.labels", meta, "labels")
        for k, v in lm.items():
            if v is None or isinstance(v, (dict, list)):
                raise ctx.err(f"metadata.labels.{k}: expected a string", lm, k)
            klabels[str(k)] = _scalar_text(v)
    spec = ctx.mapping(d.get("spec"), "spec", d, "spec")
    ctx.k8s = True
    try:
        slos = _sloth(ctx, _k8s_rename(spec), SPEC_SLOTH_K8S)
    finally:
        ctx.k8s = False
    return SLOGroup(slos, SPEC_SLOTH_K8S, ctx.file, index, k8s_name=name, k8s_namespace=namespace,
                    k8s_labels=klabels)


def _sloth_plugins(ctx: _Ctx, node: Any, where: str, parent: PosDict, key: str) -> dict[str, Any]:
    """sloth `slo_plugins` / `plugins`: {overridePrevious, chain: [{id, priority, config}]}. Returns the
    options opsctl follows ({"metricsql": bool, "disable_optimized": bool, "override": bool, "ids": [...]})."""
    m = ctx.mapping(node, where, parent, key)
    ctx.keys(m, ("overridePrevious", "chain"), where)
    override = m.get("overridePrevious", False)
    if not isinstance(override, bool):
        raise ctx.err(f"{where}.overridePrevious: expected true or false", m, "overridePrevious")
    chain = m.get("chain") or PosList()
    if not isinstance(chain, PosList):
        raise ctx.err(f"{where}.chain: expected a list", m, "chain")
    out: dict[str, Any] = {"metricsql": False, "disable_optimized": False, "override": override, "ids": []}
    for i, raw in enumerate(chain):
        w = f"{where}.chain[{i}]"
        p = ctx.mapping(raw, w, chain)
        ctx.keys(p, ("id", "priority", "config"), w)
        pid = ctx.string(p, "id", w)
        out["ids"].append(pid)
        if pid == SLOTH_METRICSQL_PLUGIN:
            out["metricsql"] = True
        elif pid == "sloth.dev/core/sli_rules/v1":
            cfg = p.get("config")
            if isinstance(cfg, dict) and cfg.get("disableOptimized") is True:
                out["disable_optimized"] = True
        elif pid not in SLOTH_CORE_RULE_PLUGINS and pid not in SLOTH_NOOP_PLUGINS:
            raise ctx.err(f"{w}.id: sloth SLO plugin {pid!r} is Go code that opsctl cannot run; remove it from "
                          "the chain and add what it does to the generated rules in a separate rule file (or "
                          "generate this spec with sloth)", p, "id")
    if override:
        missing = [x for x in SLOTH_CORE_RULE_PLUGINS if x not in out["ids"]]
        if missing:
            raise ctx.err(f"{where}: overridePrevious without {', '.join(missing)}: opsctl always generates SLI, "
                          "metadata and alert rules (use --disable-recordings / --disable-alerts instead)", m,
                          "chain" if "chain" in m else None)
    return out


def _sloth(ctx: _Ctx, d: PosDict, spec_id: str = SPEC_SLOTH) -> list[SLO]:
    ctx.keys(d, ("version", "service", "labels", "slo_plugins", "slos"), "spec")
    doc_plugins: dict[str, Any] = {"metricsql": False, "disable_optimized": False}
    if d.get("slo_plugins") is not None:
        doc_plugins = _sloth_plugins(ctx, d["slo_plugins"], "slo_plugins", d, "slo_plugins")
    service = ctx.string(d, "service", "spec")
    if not NAME_RE.match(service):
        raise ctx.err(f"service {service!r}: names start and end with a letter or digit and contain only "
                      "letters, digits, '.', '_' and '-'", d, "service")
    labels = ctx.labels(d, "labels", "spec")
    slos_node = d.get("slos")
    if not isinstance(slos_node, PosList) or not slos_node:
        raise ctx.err("spec: 'slos' must be a non-empty list", d, "slos" if "slos" in d else None)
    out: list[SLO] = []
    for i, raw in enumerate(slos_node):
        where = f"slos[{i}]"
        s = ctx.mapping(raw, where, slos_node)
        ctx.keys(s, ("name", "description", "objective", "labels", "infoLabels", "sli", "alerting", "interval",
                     "plugins"), where)
        plugins = dict(doc_plugins)
        if s.get("plugins") is not None:
            own = _sloth_plugins(ctx, s["plugins"], f"{where}.plugins", s, "plugins")
            if own["override"]:
                plugins = own
            else:
                plugins = {k: bool(plugins.get(k)) or bool(own[k]) for k in ("metricsql", "disable_optimized")}
        ctx.metricsql = bool(plugins["metricsql"])
        name = ctx.string(s, "name", where)
        if len(name) < 2:
            raise ctx.err(f"{where}.name {name!r}: names have at least 2 characters (sloth's rule: they start and "
                          "end with a letter or digit)", s, "name")
        if not NAME_RE.match(name):
            raise ctx.err(f"{where}.name {name!r}: names start and end with a letter or digit and contain only "
                          "letters, digits, '.', '_' and '-'", s, "name")
        objective = ctx.number(s, "objective", where)
        if not 0 < objective <= 100:
            raise ctx.err(f"{where}.objective: must be in (0, 100], got {objective:g}", s, "objective")
        sli_node = ctx.mapping(s.get("sli"), f"{where}.sli", s, "sli")
        try:
            sli = _sloth_sli(ctx, sli_node, f"{where}.sli")
        finally:
            ctx.metricsql = False
        alerting = s.get("alerting")
        page, ticket = AlertMeta(), AlertMeta()
        if alerting is not None:
            a = ctx.mapping(alerting, f"{where}.alerting", s, "alerting")
            ctx.keys(a, ("name", "labels", "annotations", "page_alert", "ticket_alert"), f"{where}.alerting")
            aname = ctx.string(a, "name", f"{where}.alerting", required=False)
            alabels = ctx.labels(a, "labels", f"{where}.alerting")
            aannots = ctx.labels(a, "annotations", f"{where}.alerting", annotations=True)
            page = _sloth_alert(ctx, a, "page_alert", f"{where}.alerting", aname, alabels, aannots)
            ticket = _sloth_alert(ctx, a, "ticket_alert", f"{where}.alerting", aname, alabels, aannots)
        else:
            a = s
        for meta, key in ((page, "page_alert"), (ticket, "ticket_alert")):
            if not meta.disable and not meta.name:
                raise ctx.err(f"{where}.alerting.name is required unless {key} is disabled", a,
                              "name" if "name" in a else None)
        merged = {**labels, **ctx.labels(s, "labels", where)}
        slo = SLO(
            id=f"{service}-{name}", name=name, service=service, objective=objective, period=ctx.default_period,
            sli=sli, description=ctx.string(s, "description", where, required=False), labels=merged,
            info_labels=ctx.labels(s, "infoLabels", where), page=page, ticket=ticket,
            intervals=_sloth_intervals(ctx, s, where), spec=spec_id, file=ctx.file, line=s.loc[0],
            disable_optimized=bool(plugins["disable_optimized"]),
        )
        out.append(slo)
    return out


def _sloth_sli(ctx: _Ctx, n: PosDict, where: str) -> SLI:
    ctx.keys(n, ("events", "raw", "plugin"), where)
    kinds = [k for k in ("events", "raw", "plugin") if n.get(k) is not None]
    if not kinds:
        raise ctx.err(f"{where}: one SLI type is required (events or raw)", n)
    if len(kinds) > 1:
        raise ctx.err(f"{where}: only one SLI type may be set, found {', '.join(kinds)}", n, kinds[1], value=False)
    if kinds[0] == "plugin":
        pid = n["plugin"].get("id") if isinstance(n["plugin"], dict) else None
        raise ctx.err(f"{where}.plugin: sloth SLI plugins are Go code that opsctl cannot run ({pid or 'no id'}); "
                      "write its query as an events SLI (error_query/total_query with {{.window}}) or a raw SLI "
                      "(error_ratio_query) - `sloth generate` with the plugin shows the query it builds",
                      n, "plugin", value=False)
    if kinds[0] == "raw":
        r = ctx.mapping(n["raw"], f"{where}.raw", n, "raw")
        ctx.keys(r, ("error_ratio_query",), f"{where}.raw")
        return SLI(error_ratio_query=check_query(ctx, r, "error_ratio_query", f"{where}.raw"))
    e = ctx.mapping(n["events"], f"{where}.events", n, "events")
    ctx.keys(e, ("error_query", "total_query"), f"{where}.events")
    err_q = check_query(ctx, e, "error_query", f"{where}.events")
    tot_q = check_query(ctx, e, "total_query", f"{where}.events")
    if err_q == tot_q:
        raise ctx.err(f"{where}.events: error_query and total_query must differ", e, "total_query")
    return SLI(error_query=err_q, total_query=tot_q)


def _sloth_alert(ctx: _Ctx, a: PosDict, key: str, where: str, name: str, labels: dict[str, str],
                 annotations: dict[str, str]) -> AlertMeta:
    n = a.get(key)
    if n is None:
        return AlertMeta(False, name, dict(labels), dict(annotations))
    m = ctx.mapping(n, f"{where}.{key}", a, key)
    ctx.keys(m, ("disable", "labels", "annotations"), f"{where}.{key}")
    disable = m.get("disable", False)
    if not isinstance(disable, bool):
        raise ctx.err(f"{where}.{key}.disable: expected true or false", m, "disable")
    return AlertMeta(disable, name, {**labels, **ctx.labels(m, "labels", f"{where}.{key}")},
                     {**annotations, **ctx.labels(m, "annotations", f"{where}.{key}", annotations=True)})


def _sloth_intervals(ctx: _Ctx, s: PosDict, where: str) -> Intervals:
    n = s.get("interval")
    if n is None:
        return Intervals()
    m = ctx.mapping(n, f"{where}.interval", s, "interval")
    ctx.keys(m, ("all", "slierror", "metadata", "alert"), f"{where}.interval")
    vals: dict[str, float] = {}
    for k in ("all", "slierror", "metadata", "alert"):
        if k in m:
            vals[k] = _duration(ctx, m, k, f"{where}.interval")
    return Intervals(vals.get("all", 0.0), vals.get("slierror", 0.0), vals.get("metadata", 0.0),
                     vals.get("alert", 0.0))


def _duration(ctx: _Ctx, node: PosDict, key: str, where: str) -> float:
    text = ctx.string(node, key, where)
    try:
        secs = parse_duration(text)
    except ValueError as exc:
        raise ctx.err(f"{where}.{key}: {exc}", node, key) from None
    if secs <= 0:
        raise ctx.err(f"{where}.{key}: must be positive", node, key)
    return secs


# --------------------------------------------------------------------------- OpenSLO v1alpha (sloth's reading)


def _openslo_v1alpha(ctx: _Ctx, d: PosDict) -> list[SLO]:
    kind = ctx.string(d, "kind", "spec")
    if kind != "SLO":
        raise ctx.err(f"kind {kind!r}: only SLO documents are supported for openslo/v1alpha", d, "kind")
    meta = ctx.mapping(d.get("metadata"), "metadata", d, "metadata")
    name = ctx.string(meta, "name", "metadata")
    spec = ctx.mapping(d.get("spec"), "spec", d, "spec")
    service = ctx.string(spec, "service", "spec")
    tws = spec.get("timeWindows")
    if not isinstance(tws, PosList) or len(tws) != 1:
        raise ctx.err("spec.timeWindows: exactly one time window is supported", spec,
                      "timeWindows" if "timeWindows" in spec else None)
    tw = ctx.mapping(tws[0], "spec.timeWindows[0]", tws)
    unit = ctx.string(tw, "unit", "spec.timeWindows[0]")
    count = ctx.number(tw, "count", "spec.timeWindows[0]")
    if unit.lower() not in V1ALPHA_UNITS or count <= 0 or count != int(count):
        raise ctx.err(f"spec.timeWindows[0]: unsupported window {count:g} {unit}", tw)
    period = int(count) * V1ALPHA_UNITS[unit.lower()]
    budgeting = ctx.string(spec, "budgetingMethod", "spec", required=False, default="Occurrences")
    if budgeting != "Occurrences":
        raise ctx.err(f"spec.budgetingMethod {budgeting!r}: only Occurrences is supported for openslo/v1alpha "
                      "(use openslo/v1 for Timeslices)", spec, "budgetingMethod")
    objectives = spec.get("objectives")
    if not isinstance(objectives, PosList) or not objectives:
        raise ctx.err("spec.objectives: at least one objective is required", spec,
                      "objectives" if "objectives" in spec else None)
    out: list[SLO] = []
    for idx, o in enumerate(objectives):
        where = f"spec.objectives[{idx}]"
        om = ctx.mapping(o, where, objectives)
        rm = om.get("ratioMetrics")
        if rm is None:
            raise ctx.err(f"{where}: ratioMetrics is required", om)
        rmm = ctx.mapping(rm, f"{where}.ratioMetrics", om, "ratioMetrics")
        queries: dict[str, str] = {}
        for part in ("good", "total"):
            q = ctx.mapping(rmm.get(part), f"{where}.ratioMetrics.{part}", rmm, part)
            source = ctx.string(q, "source", f"{where}.ratioMetrics.{part}")
            if source not in ("prometheus", "sloth"):
                raise ctx.err(f"{where}.ratioMetrics.{part}.source: prometheus or sloth is required", q, "source")
            qtype = ctx.string(q, "queryType", f"{where}.ratioMetrics.{part}")
            if qtype != "promql":
                raise ctx.err(f"{where}.ratioMetrics.{part}.queryType: unsupported {qtype!r} (promql)", q,
                              "queryType")
            queries[part] = check_query(ctx, q, "query", f"{where}.ratioMetrics.{part}")
        target = ctx.number(om, "target", where)
        if not 0 < target <= 1:
            raise ctx.err(f"{where}.target: must be in (0, 1], got {target:g}", om, "target")
        raw = f"\n  1 - (\n    (\n      {queries['good']}\n    )\n    /\n    (\n      {queries['total']}\n    )\n  )\n"
        out.append(SLO(
            id=f"{service}-{name}-{idx}", name=f"{name}-{idx}", service=service, objective=target * 100,
            period=float(period), sli=SLI(error_ratio_query=raw, good_query=queries["good"],
                                          total_query=queries["total"]),
            description=ctx.string(spec, "description", "spec", required=False),
            spec=SPEC_OPENSLO_V1ALPHA, file=ctx.file, line=om.loc[0],
        ))
    return out


# ------------------------------------------------------------------------------------------- OpenSLO v1


def parse_openslo_duration(ctx: _Ctx, node: PosDict, key: str, where: str) -> tuple[int, str]:
    text = ctx.string(node, key, where)
    m = OPENSLO_DURATION_RE.match(text)
    if not m:
        raise ctx.err(f"{where}.{key}: invalid duration {text!r} (a number and one of s m h d w M Q Y)", node, key)
    return int(m.group(1)), m.group(2)


def _openslo_v1(ctx: _Ctx, docs: list[tuple[int, PosDict]]) -> list[SLOGroup]:
    slis: dict[str, PosDict] = {}
    slo_docs: list[tuple[int, PosDict]] = []
    for i, d in docs:
        kind = ctx.string(d, "kind", "document")
        if kind == "SLI":
            meta = ctx.mapping(d.get("metadata"), "metadata", d, "metadata")
            slis[ctx.string(meta, "name", "metadata")] = d
        elif kind == "SLO":
            slo_docs.append((i, d))
        elif kind in ("Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource"):
            continue  # valid OpenSLO kinds that carry nothing the rules or the report need
        else:
            raise ctx.err(f"unknown OpenSLO kind {kind!r}", d, "kind")
    groups: list[SLOGroup] = []
    for i, d in slo_docs:
        groups.append(SLOGroup(_openslo_v1_slo(ctx, d, slis), SPEC_OPENSLO_V1, ctx.file, i))
    return groups


def _metric_query(ctx: _Ctx, n: Any, where: str, parent: PosDict, key: str, templated: bool) -> str:
    m = ctx.mapping(n, where, parent, key)
    src = ctx.mapping(m.get("metricSource"), f"{where}.metricSource", m, "metricSource")
    stype = ctx.string(src, "type", f"{where}.metricSource", required=False, default="Prometheus")
    if stype.lower() not in ("prometheus", "thanos", "mimir", "cortex", "victoriametrics"):
        raise ctx.err(f"{where}.metricSource.type {stype!r}: only Prometheus-compatible sources are supported",
                      src, "type")
    spec = ctx.mapping(src.get("spec"), f"{where}.metricSource.spec", src, "spec")
    key_q = "query" if "query" in spec else "promql"
    if key_q not in spec:
        raise ctx.err(f"{where}.metricSource.spec: 'query' is required", spec)
    return check_query(ctx, spec, key_q, f"{where}.metricSource.spec", templated=templated)


def _openslo_v1_sli(ctx: _Ctx, sli_doc: PosDict, where: str) -> tuple[SLI, bool]:
    spec = ctx.mapping(sli_doc.get("spec"), f"{where}.spec", sli_doc, "spec")
    if "ratioMetric" in spec and "thresholdMetric" in spec:
        raise ctx.err(f"{where}.spec: only one of ratioMetric and thresholdMetric may be set", spec, "thresholdMetric",
                      value=False)
    if "thresholdMetric" in spec:
        tm = ctx.mapping(spec["thresholdMetric"], f"{where}.spec.thresholdMetric", spec, "thresholdMetric")
        q = _metric_query(ctx, tm, f"{where}.spec.thresholdMetric", spec, "thresholdMetric", templated=False)
        return SLI(threshold_query=q), False
    if "ratioMetric" not in spec:
        raise ctx.err(f"{where}.spec: ratioMetric or thresholdMetric is required", spec)
    rm = ctx.mapping(spec["ratioMetric"], f"{where}.spec.ratioMetric", spec, "ratioMetric")
    counter = rm.get("counter", False)
    if not isinstance(counter, bool):
        raise ctx.err(f"{where}.spec.ratioMetric.counter: expected true or false", rm, "counter")
    w = f"{where}.spec.ratioMetric"
    if "raw" in rm:
        raw_type = ctx.string(rm, "rawType", w)
        if raw_type not in ("success", "failure"):
            raise ctx.err(f"{w}.rawType: expected success or failure", rm, "rawType")
        q = _metric_query(ctx, rm["raw"], f"{w}.raw", rm, "raw", templated=False)
        if raw_type == "success":
            q = f"1 - ({q})"
        return SLI(error_ratio_query=q), True
    has_good, has_bad = "good" in rm, "bad" in rm
    if has_good == has_bad:
        raise ctx.err(f"{w}: exactly one of good and bad is required", rm)
    if "total" not in rm:
        raise ctx.err(f"{w}: total is required", rm)
    templated = not counter
    total = _metric_query(ctx, rm["total"], f"{w}.total", rm, "total", templated=False)
    part = "good" if has_good else "bad"
    q = _metric_query(ctx, rm[part], f"{w}.{part}", rm, part, templated=False)
    for text, k in ((total, "total"), (q, part)):
        if counter:
            try:
                wrap_counters(text, f"{w}.{k}")
            except InputError as exc:
                raise ctx.err(exc.message, rm, k) from None
        if templated and not WINDOW_TPL_RE.search(text):
            raise ctx.err(f"{w}.{k}: a ratioMetric with counter: false must use {{{{.window}}}} in its queries "
                          "(or set counter: true and select the counters)", rm, k)
    if has_good:
        return SLI(good_query=q, total_query=total, counter=counter), counter
    return SLI(error_query=q, total_query=total, counter=counter), counter


def _openslo_v1_slo(ctx: _Ctx, d: PosDict, slis: dict[str, PosDict]) -> list[SLO]:
    meta = ctx.mapping(d.get("metadata"), "metadata", d, "metadata")
    name = ctx.string(meta, "name", "metadata")
    if not OPENSLO_NAME_RE.match(name):
        raise ctx.err(f"metadata.name {name!r}: invalid name", meta, "name")
    spec = ctx.mapping(d.get("spec"), "spec", d, "spec")
    ctx.keys(spec, ("description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod",
                    "objectives", "alertPolicies"), "spec")
    service = ctx.string(spec, "service", "spec")
    if not OPENSLO_NAME_RE.match(service):
        raise ctx.err(f"spec.service {service!r}: invalid name", spec, "service")
    if "indicator" in spec:
        sli_doc = ctx.mapping(spec["indicator"], "spec.indicator", spec, "indicator")
        sli, _ = _openslo_v1_sli(ctx, sli_doc, "spec.indicator")
    elif "indicatorRef" in spec:
        ref = ctx.string(spec, "indicatorRef", "spec")
        if ref not in slis:
            raise ctx.err(f"spec.indicatorRef: no SLI document named {ref!r} in this file", spec, "indicatorRef")
        sli, _ = _openslo_v1_sli(ctx, slis[ref], f"SLI {ref}")
    else:
        raise ctx.err("spec: indicator or indicatorRef is required", spec)
    tws = spec.get("timeWindow")
    if not isinstance(tws, PosList) or len(tws) != 1:
        raise ctx.err("spec.timeWindow: exactly one time window is required", spec,
                      "timeWindow" if "timeWindow" in spec else None)
    tw = ctx.mapping(tws[0], "spec.timeWindow[0]", tws)
    count, unit = parse_openslo_duration(ctx, tw, "duration", "spec.timeWindow[0]")
    period = float(count * OPENSLO_UNIT_SECONDS[unit])
    rolling = tw.get("isRolling", True)
    if not isinstance(rolling, bool):
        raise ctx.err("spec.timeWindow[0].isRolling: expected true or false", tw, "isRolling")
    calendar = None
    if not rolling:
        cal = ctx.mapping(tw.get("calendar"), "spec.timeWindow[0].calendar", tw, "calendar")
        start_text = ctx.string(cal, "startTime", "spec.timeWindow[0].calendar")
        tzname = ctx.string(cal, "timeZone", "spec.timeWindow[0].calendar", required=False, default="UTC")
        try:
            tz = ZoneInfo(tzname)
        except (ZoneInfoNotFoundError, ValueError):
            raise ctx.err(f"unknown time zone {tzname!r}", cal, "timeZone") from None
        try:
            start_dt = datetime.fromisoformat(start_text)
        except ValueError:
            raise ctx.err(f"startTime {start_text!r}: expected 'YYYY-MM-DD HH:MM:SS'", cal, "startTime") from None
        if start_dt.tzinfo is None:
            start_dt = start_dt.replace(tzinfo=tz)
        calendar = CalendarWindow(count, unit, start_dt.timestamp(), tzname)
    budgeting = ctx.string(spec, "budgetingMethod", "spec")
    if budgeting not in ("Occurrences", "Timeslices", "RatioTimeslices"):
        raise ctx.err(f"spec.budgetingMethod {budgeting!r}: expected Occurrences, Timeslices or RatioTimeslices",
                      spec, "budgetingMethod")
    objectives = spec.get("objectives")
    if not isinstance(objectives, PosList) or not objectives:
        raise ctx.err("spec.objectives: at least one objective is required", spec,
                      "objectives" if "objectives" in spec else None)
    out: list[SLO] = []
    for idx, o in enumerate(objectives):
        where = f"spec.objectives[{idx}]"
        om = ctx.mapping(o, where, objectives)
        ctx.keys(om, ("displayName", "op", "value", "target", "targetPercent", "timeSliceTarget",
                      "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight"), where)
        if "target" in om:
            target = ctx.number(om, "target", where)
            if not 0 < target < 1:
                raise ctx.err(f"{where}.target: must be in (0, 1), got {target:g}", om, "target")
            objective = target * 100
        elif "targetPercent" in om:
            objective = ctx.number(om, "targetPercent", where)
            if not 0 < objective < 100:
                raise ctx.err(f"{where}.targetPercent: must be in (0, 100), got {objective:g}", om, "targetPercent")
        else:
            raise ctx.err(f"{where}: target or targetPercent is required", om)
        osli = SLI(**vars(sli))
        if osli.threshold_query is not None:
            op = ctx.string(om, "op", where)
            if op not in THRESHOLD_OPS:
                raise ctx.err(f"{where}.op {op!r}: expected one of {', '.join(THRESHOLD_OPS)}", om, "op")
            osli.threshold_op = op
            osli.threshold_value = ctx.number(om, "value", where)
        elif "op" in om or "value" in om:
            raise ctx.err(f"{where}: op/value only apply to a thresholdMetric SLI", om, "op" if "op" in om else "value",
                          value=False)
        ts_target = ts_window = None
        if budgeting in ("Timeslices", "RatioTimeslices"):
            if budgeting == "Timeslices" or "timeSliceTarget" in om:
                ts_target = ctx.number(om, "timeSliceTarget", where)
                if not 0 < ts_target <= 1:
                    raise ctx.err(f"{where}.timeSliceTarget: must be in (0, 1]", om, "timeSliceTarget")
            c, u = parse_openslo_duration(ctx, om, "timeSliceWindow", where)
            ts_window = float(c * OPENSLO_UNIT_SECONDS[u])
        elif "timeSliceTarget" in om or "timeSliceWindow" in om:
            raise ctx.err(f"{where}: timeSliceTarget/timeSliceWindow need budgetingMethod Timeslices", om,
                          "timeSliceTarget" if "timeSliceTarget" in om else "timeSliceWindow", value=False)
        if osli.threshold_query is not None and budgeting == "Occurrences":
            pass  # every sample of the threshold metric is one event
        out.append(SLO(
            id=f"{service}-{name}-{idx}", name=f"{name}-{idx}", service=service, objective=objective,
            period=period, sli=osli, description=ctx.string(spec, "description", "spec", required=False),
            labels=_openslo_labels(ctx, meta), budgeting=budgeting,  # type: ignore[arg-type]
            timeslice_target=ts_target, timeslice_window=ts_window, calendar=calendar,
            spec=SPEC_OPENSLO_V1, file=ctx.file, line=om.loc[0],
        ))
    return out


def _openslo_labels(ctx: _Ctx, meta: PosDict) -> dict[str, str]:
    """OpenSLO labels are `name: value` or `name: [values]`; lists are joined with ','."""
    node = meta.get("labels")
    if node is None:
        return {}
    m = ctx.mapping(node, "metadata.labels", meta, "labels")
    out: dict[str, str] = {}
    for k, v in m.items():
        if not LABEL_RE.match(str(k)) or k == "__name__":
            raise ctx.err(f"metadata.labels: invalid label name {k!r}", m, k, value=False)
        if isinstance(v, list):
            out[str(k)] = ",".join(_scalar_text(x) for x in v)
        elif v is None or isinstance(v, dict):
            raise ctx.err(f"metadata.labels.{k}: expected a string or a list of strings", m, k)
        else:
            out[str(k)] = _scalar_text(v)
    return out
