"""Prometheus 2.42 template functions (template/template.go) and the alerting-rule template behaviour of
promtool check rules (model/rulefmt testTemplateParsing) and rule evaluation (rules/alerting.go).

Templates run with missingkey=zero, as Prometheus does; ``$labels``/``$externalLabels`` are
map[string]string (:class:`StrMap`), so a missing label renders as "".
"""

from __future__ import annotations

import functools
import math
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsctl.durations import parse_duration as _parse_duration
from opsctl.gotemplate.builtins import BUILTINS, GoFunc, gofunc
from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.gofmt import StrMap, go_type, sprintf
from opsctl.gotemplate.goregexp import RegexpError, go_match_string, go_replace_all_string
from opsctl.gotemplate.gotime import GoDuration, GoTime
from opsctl.gotemplate.lexer import KEYWORDS
from opsctl.gotemplate.parser import parse_trees, register_prefix
from opsctl.gotemplate.quick import plainly_valid_pattern
from opsctl.gotemplate.template import Template

DEFS = ("{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}"
        "{{$value := .Value}}")
register_prefix(DEFS)  # every alert template starts with DEFS: parse it once, not 16,000 times per rule file


class HTML(str):
    """html/template.HTML (what safeHtml returns)."""

    gotype = "template.HTML"


@dataclass
class Sample:
    """Prometheus template ``*sample``: an element of a query result."""

    Labels: StrMap = field(default_factory=StrMap)
    Value: Any = 0.0  # a float, or a native histogram (Go: the sample's H, printed by its String())
    gotype = "*template.sample"
    goptr = True

    def __post_init__(self) -> None:
        if not isinstance(self.Labels, StrMap):
            self.Labels = StrMap(self.Labels)


class QueryResult(list[Sample]):
    gotype = "template.queryResult"


@dataclass
class AlertTemplateData:
    """The dot of an alert label/annotation template (template.AlertTemplateData)."""

    Labels: StrMap
    ExternalLabels: StrMap
    ExternalURL: str
    Value: float
    gotype = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; " \
             "Value float64 }"


class QueryUnavailable(Exception):
    pass


def _parse_float(s: str) -> float:
    """strconv.ParseFloat(s, 64) with Go's error text."""
    t = s.strip("_") if False else s
    low = t.lower().lstrip("+-")
    try:
        if low in ("inf", "infinity"):
            return float("-inf") if t.startswith("-") else float("inf")
        if low == "nan":
            return float("nan")
        if low.startswith("0x"):
            neg = t.startswith("-")
            v = float.fromhex(t.lstrip("+-").replace("_", ""))
            return -v if neg else v
        if "_" in t or not t or t != t.strip() or low.startswith(("in", "na")):
            raise ValueError
        return float(t)
    except (ValueError, OverflowError):
        raise ValueError(f"strconv.ParseFloat: parsing {_q(s)}: invalid syntax") from None


def _backquote(s: str) -> str:
    """strconv.Quote-or-backquote as regexp.quote does."""
    if "`" not in s and all(c == "\t" or (c.isprintable()) for c in s):
        return "`" + s + "`"
    return _q(s)


def _q(s: str) -> str:
    from opsctl.gotemplate.lexer import go_quote
    return go_quote(s)


def convert_to_float(i: Any) -> float:
    if isinstance(i, float):
        return i
    if isinstance(i, str) and go_type(i) == "string":
        return _parse_float(i)
    if isinstance(i, int) and not isinstance(i, bool):
        return float(i)
    raise ValueError(f"can't convert {go_type(i)} to float")


def _g4(v: float) -> str:
    return sprintf("%.4g", v)


def humanize(i: Any) -> str:
    v = convert_to_float(i)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v) + prefix


def humanize1024(i: Any) -> str:
    v = convert_to_float(i)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _g4(v) + prefix


def humanize_duration(i: Any) -> str:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = ""
        if v < 0:
            sign = "-"
            v = -v
        duration = int(v) if v < 2 ** 63 else -(2 ** 63)
        seconds = _gomod(duration, 60)
        minutes = _gomod(_godiv(duration, 60), 60)
        hours = _gomod(_godiv(_godiv(duration, 60), 60), 24)
        days = _godiv(_godiv(_godiv(duration, 60), 60), 24)
        if days != 0:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours != 0:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes != 0:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{_g4(v)}{prefix}s"


def _godiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _gomod(a: int, b: int) -> int:
    return a - _godiv(a, b) * b


def humanize_percentage(i: Any) -> str:
    v = convert_to_float(i)
    return sprintf("%.4g%%", v * 100)


def _float_to_time(v: float) -> GoTime:
    if math.isnan(v) or math.isinf(v):
        raise ValueError("value is NaN or Inf")
    ts = v * 1e9
    if ts > 9.223372036854775807e18 or ts < -9.223372036854775808e18:
        raise ValueError(f"{sprintf('%v', v)} cannot be represented as a nanoseconds timestamp since it "
                         "overflows int64")
    ns = int(ts)
    ms = _godiv(ns, 1_000_000)  # model.TimeFromUnixNano keeps milliseconds
    return GoTime.from_unix_nanos(ms * 1_000_000)


def humanize_timestamp(i: Any) -> str:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    return str(_float_to_time(v))


def to_time(i: Any) -> GoTime:
    return _float_to_time(convert_to_float(i))


def go_title(s: str) -> str:
    """strings.Title."""
    def is_sep(r: str) -> bool:
        if ord(r) <= 0x7F:
            return not (r.isascii() and (r.isalnum() or r == "_"))
        if r.isalpha() or r.isdigit():
            return False
        return r.isspace()
    out = []
    prev = " "
    for r in s:
        if is_sep(prev):
            u = r.upper() if len(r.upper()) == 1 else r
            out.append(u)
        else:
            out.append(r)
        prev = r
    return "".join(out)


def go_upper(s: str) -> str:
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in s)


def go_lower(s: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


def query_escape(s: str) -> str:
    return urllib.parse.quote_plus(s.encode("utf-8", "surrogateescape"), safe="-_.~")


def _split_host_port(s: str) -> tuple[str, str] | None:
    """net.SplitHostPort: (host, port), or None where Go returns an error."""
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            return None
        if end + 1 == len(s) or s[end + 1] != ":":
            return None
        host = s[1:end]
        if "[" in host or "]" in s[end + 2:] or "[" in s[end + 2:]:
            return None
        return host, s[end + 2:]
    i = s.rfind(":")
    if i < 0:
        return None
    host = s[:i]
    if ":" in host or "[" in host or "]" in host or "[" in s[i + 1:] or "]" in s[i + 1:]:
        return None
    return host, s[i + 1:]


def strip_port(host_port: str) -> str:
    """net.SplitHostPort; on error the input is returned unchanged."""
    split = _split_host_port(host_port)
    return host_port if split is None else split[0]


def _is_ip(host: str) -> bool:
    """netip.ParseAddr accepts it (IPv4 dotted quad, IPv6 with an optional zone)."""
    import ipaddress

    try:
        ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        return False
    return not (":" not in host and any(len(p) > 1 and p.startswith("0") for p in host.split(".")))


def strip_domain(host_port: str) -> str:
    """Prometheus's stripDomain: the first label of a host name, keeping a port; IP addresses unchanged."""
    split = _split_host_port(host_port)
    host, port = (host_port, "") if split is None else split
    if _is_ip(host):
        return host_port
    host = host.split(".")[0]
    if port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return host


# Template functions newer than Prometheus 2.36, with the version that added them (checked against the
# function map of Prometheus 3.16's template/template.go and promtool 2.42's verdicts).
TEMPLATE_FUNC_SINCE: dict[str, tuple[int, int]] = {
    "stripDomain": (2, 36),
    "toDuration": (3, 6),
    "now": (3, 6),
    "urlQueryEscape": (3, 8),
}


def _sample_value(v: Any) -> Any:
    """A query result's value: a float, or a native histogram kept as it is (Prometheus's template query
    gives a histogram sample's H)."""
    return float(v) if isinstance(v, int | float | str) else v


def _to_query_result(rows: Iterable[Any]) -> QueryResult:
    out = QueryResult()
    for r in rows:
        if isinstance(r, Sample):
            out.append(r)
        elif isinstance(r, Mapping):
            labels = r.get("labels", r.get("metric", {}))
            value = r.get("value", 0.0)
            if isinstance(value, (list, tuple)):  # Prometheus API [ts, "value"]
                value = value[1]
            out.append(Sample(StrMap({str(k): str(v) for k, v in labels.items()}), _sample_value(value)))
        elif isinstance(r, (tuple, list)) and len(r) == 2:
            out.append(Sample(StrMap({str(k): str(v) for k, v in dict(r[0]).items()}), _sample_value(r[1])))
        else:
            raise ValueError(f"query function returned an unsupported row: {r!r}")
    return out


# what Go reports when Prometheus's label/value/strvalue get a nil sample (they dereference it unchecked)
_NIL_DEREF = "runtime error: invalid memory address or nil pointer dereference"


def make_funcs(query: Callable[[str], list[Any]] | None = None, external_url: str = "",
               timestamp: float | None = None, clock: Callable[[], float] | None = None) -> dict[str, Any]:
    """PROMETHEUS_FUNCS bound to a query callback, an external URL and the evaluation time in Unix seconds
    (`now`, which Prometheus's template expander answers with the timestamp it was given: a rule's evaluation
    time). `timestamp` fixes it, `clock` is asked at each call (a renderer that reuses one parsed template for
    many evaluations); neither given: the wall clock."""

    @gofunc("any")
    def to_duration(i: Any) -> GoDuration:
        return GoDuration(int(convert_to_float(i) * 1e9))

    @gofunc()
    def now() -> float:
        if clock is not None:
            return clock()
        return time.time() if timestamp is None else timestamp

    @gofunc("string")
    def query_fn(q: str) -> QueryResult:
        if query is None:
            raise QueryUnavailable("no query function available: opsctl renders templates without a "
                                   "Prometheus server, pass one to use query")
        return _to_query_result(query(q))

    @gofunc("template.queryResult")
    def first(v: QueryResult | None) -> Sample:
        if v:
            return v[0]
        raise ValueError("first() called on vector with no elements")

    @gofunc("string", "*template.sample")
    def label(name: str, s: Sample | None) -> str:
        if s is None:
            raise RuntimeError(_NIL_DEREF)
        return s.Labels.get(name, "")

    @gofunc("*template.sample")
    def value(s: Sample | None) -> Any:
        if s is None:
            raise RuntimeError(_NIL_DEREF)
        return s.Value

    @gofunc("*template.sample")
    def strvalue(s: Sample | None) -> str:
        if s is None:
            raise RuntimeError(_NIL_DEREF)
        return s.Labels.get("__value__", "")

    @gofunc("any", variadic=True)
    def args(*a: Any) -> dict[str, Any]:
        return {f"arg{i}": x for i, x in enumerate(a)}

    @gofunc("string", "string", "string")
    def re_replace_all(pattern: str, repl: str, text: str) -> str:
        try:
            return go_replace_all_string(pattern, repl, text)
        except RegexpError as exc:  # regexp.MustCompile panics; the template reports the panic
            raise RegexpError(f"regexp: Compile({_backquote(pattern)}): {exc}") from None

    @gofunc("string")
    def safe_html(text: str) -> HTML:
        return HTML(text)

    @gofunc("string", "string")
    def match(pattern: str, s: str) -> bool:
        return go_match_string(pattern, s)

    @gofunc("string", "template.queryResult")
    def sort_by_label(name: str, v: QueryResult | None) -> QueryResult:
        if v is None:
            return QueryResult()
        v.sort(key=lambda s: s.Labels.get(name, "").encode("utf-8", "surrogateescape"))
        return v

    @gofunc("string")
    def graph_link(expr: str) -> str:
        return f"/graph?g0.expr={query_escape(expr)}&g0.tab=0"

    @gofunc("string")
    def table_link(expr: str) -> str:
        return f"/graph?g0.expr={query_escape(expr)}&g0.tab=1"

    @gofunc()
    def path_prefix() -> str:
        return urllib.parse.urlsplit(external_url).path

    @gofunc()
    def external_url_fn() -> str:
        return external_url

    @gofunc("string")
    def parse_duration(d: str) -> float:
        try:
            return float(_parse_duration(d))
        except Exception as exc:
            raise ValueError(str(exc)) from None

    def g1(fn: Callable[..., Any], *params: str) -> GoFunc:
        return GoFunc(fn, params, False, fn.__name__)

    return {
        "query": query_fn,
        "first": first,
        "label": label,
        "value": value,
        "strvalue": strvalue,
        "args": args,
        "reReplaceAll": re_replace_all,
        "safeHtml": safe_html,
        "match": match,
        "title": g1(go_title, "string"),
        "toUpper": g1(go_upper, "string"),
        "toLower": g1(go_lower, "string"),
        "graphLink": graph_link,
        "tableLink": table_link,
        "sortByLabel": sort_by_label,
        "humanize": g1(humanize, "any"),
        "humanize1024": g1(humanize1024, "any"),
        "humanizeDuration": g1(humanize_duration, "any"),
        "humanizePercentage": g1(humanize_percentage, "any"),
        "humanizeTimestamp": g1(humanize_timestamp, "any"),
        "toTime": g1(to_time, "any"),
        "pathPrefix": path_prefix,
        "externalURL": external_url_fn,
        "parseDuration": parse_duration,
        "stripPort": g1(strip_port, "string"),
        "stripDomain": g1(strip_domain, "string"),
        "toDuration": to_duration,
        "now": now,
        "urlQueryEscape": g1(query_escape, "string"),
    }


PROMETHEUS_FUNCS: dict[str, Callable[..., Any]] = make_funcs()


@functools.lru_cache(maxsize=256)
def _funcs_without_query(external_url: str) -> dict[str, Any]:
    """make_funcs(None, external_url), built once per URL (the functions keep no state; Template copies the
    map). Do not mutate the result."""
    return make_funcs(None, external_url)


def _alert_template_name(name: str) -> str:
    """Prometheus names the template of alert X "__alert_X"; a name already so prefixed is kept."""
    return name if name.startswith("__alert_") else "__alert_" + name


def _plain_funcs() -> tuple[str, ...]:
    """The functions a plainly valid action may call (quick.PLAIN_FUNCS, which a test checks against this)."""
    known = (set(PROMETHEUS_FUNCS) | set(BUILTINS)) - set(KEYWORDS)
    return tuple(sorted(known & {"humanize", "humanize1024", "humanizeDuration", "humanizePercentage",
                                 "humanizeTimestamp", "toUpper", "toLower", "title", "printf", "print", "index",
                                 "len", "reReplaceAll", "stripPort", "first", "value", "label"},
                        key=lambda f: (-len(f), f)))


def funcs_for_version(version: tuple[int, int] | None) -> dict[str, Any]:
    """PROMETHEUS_FUNCS less the functions the Prometheus `version` (major, minor) does not have."""
    if version is None:
        return PROMETHEUS_FUNCS
    return _funcs_for_version(tuple(version))


@functools.lru_cache(maxsize=32)
def _funcs_for_version(version: tuple[int, ...]) -> dict[str, Any]:
    return {k: v for k, v in PROMETHEUS_FUNCS.items() if TEMPLATE_FUNC_SINCE.get(k, (0, 0)) <= version}


def check_rule_template(text: str, name: str, version: tuple[int, int] | None = None) -> TemplateError | None:
    """What ``promtool check rules`` does for one label/annotation value of alerting rule ``name`` (the alert
    name; the template is called ``__alert_<name>``, a name already starting with ``__alert_`` is used as is):
    prepend Prometheus's variable definitions and parse (no execution). Returns the error (its str() is
    Go's text, e.g. ``template: __alert_X:1: function "foo" not defined``; ``column`` is relative to
    ``text``) or None. Verdicts are memoised (a fresh TemplateError is returned on every call)."""
    if _PLAINLY_VALID.fullmatch(text):
        return None
    key = None if version is None else tuple(version)
    # A template that defines none (`define`, `block`) parses alike under any name, which only its error
    # messages show: an alert file repeats its texts under many alert names, and each is parsed once
    if "define" not in text and "block" not in text and _check_rule_template_cached(text, "", key) is None:
        return None
    found = _check_rule_template_cached(text, name, key)
    if found is None:
        return None
    msg, tname, line, column, message = found
    return TemplateError(msg, name=tname, line=line, column=column, message=message)


@functools.lru_cache(maxsize=16384)
def _check_rule_template_cached(text: str, name: str,
                                version: tuple[int, ...] | None) -> tuple[str, str, int, int, str] | None:
    tname = _alert_template_name(name)
    funcs = PROMETHEUS_FUNCS if version is None else _funcs_for_version(version)
    try:
        # what Template(tname, PROMETHEUS_FUNCS).add(DEFS + text, tname) does, minus building the template
        # (only the verdict is wanted, so the parse may share the DEFS nodes it would otherwise copy)
        parse_trees(tname, DEFS + text, [funcs], share_prefix_nodes=True)
    except RecursionError:
        msg = "template nesting too deep"
        return f"template: {tname}: {msg}", tname, 0, 0, msg
    except TemplateError as err:
        if err.line == 1 and err.column > len(DEFS):
            err.column -= len(DEFS)
        return err.text, err.name, err.line, err.column, err.message
    return None


_PLAINLY_VALID = plainly_valid_pattern()


def render_rule_template(text: str, labels: Mapping[str, str], value: Any, external_labels: Mapping[str, str],
                         external_url: str, query: Callable[[str], list[Any]] | None = None, *,
                         alert_name: str = "", strict: bool = False) -> str:
    """Expand an alert label/annotation template as Prometheus's rule evaluation does. On failure the
    result is Prometheus's substitute text ``<error expanding template: ...>`` (or TemplateError when
    ``strict``)."""
    tname = _alert_template_name(alert_name)
    # a native histogram sample's value is the histogram itself (Go: smpl.H), printed by its String()
    data = AlertTemplateData(StrMap(labels), StrMap(external_labels), external_url,
                             float(value) if isinstance(value, int | float) else value)
    try:
        try:
            funcs = make_funcs(query, external_url) if query is not None else _funcs_without_query(external_url)
            t = Template(tname, funcs, missingkey="zero")
            t.add(DEFS + text, tname)
        except TemplateError as err:
            raise TemplateError(f"error parsing template {tname}: {err}", name=err.name, line=err.line,
                                column=err.column, message=err.message) from None
        try:
            return t.execute(data)
        except TemplateError as err:
            raise TemplateError(f"error executing template {tname}: {err}", name=err.name, line=err.line,
                                column=err.column, message=err.message) from None
    except TemplateError as err:
        if strict:
            raise
        return f"<error expanding template: {err}>"


__all__ = [
    "DEFS", "HTML", "PROMETHEUS_FUNCS", "AlertTemplateData", "QueryResult", "Sample", "check_rule_template",
    "convert_to_float", "humanize", "humanize1024", "humanize_duration", "humanize_percentage",
    "humanize_timestamp", "make_funcs", "render_rule_template", "time",
]
