"""The rule unit-test file format of `promtool test rules` (Prometheus 2.42), read unchanged.

Every problem in the file is an `InputError` naming file:line:column. The reading follows promtool's
`yaml.UnmarshalStrict` into its Go structs: unknown fields and duplicate keys are errors, any scalar is
accepted where a string is expected (`values: 1` is the string "1"), `value:` must be a YAML number,
durations use Prometheus' syntax (`5m`, `1h30m`, `0`), `null` is the zero value. Only the first YAML
document is read, as yaml.v2 does.

A `promql_expr_test` whose `expr` does not parse, or whose `exp_samples` hold a label set or histogram
that does not parse, is read anyway: promtool reports these as that test's failure (`expr: "...", time:
..., err: ...`) and runs the other tests, and so does `opsctl rules test` (`PromqlTestCase.expr_error` /
`samples_error`, promtool's text where the port of Prometheus' parser words it).

We are stricter than promtool in a few places, where promtool reports the same problem for one test group
only: a missing `alertname` and a bad input series are input errors of the whole file here (a repeated
`group_eval_order` name is a file-level error in promtool too).
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl import promql_goparse, promql_syntax
from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.promql.notation import parse_labels, parse_series_desc
from opsctl.promql.semantics import engine_options
from opsctl.yamlutil import Limits, PosDict, PosList, go_yaml_tag, load_documents

if TYPE_CHECKING:
    from opsctl.rules.versions import PromVersion

__all__ = [
    "AlertTestCase",
    "ExpAlert",
    "ExpSample",
    "InputSeries",
    "PromqlTestCase",
    "TestGroup",
    "UnitTestFile",
    "load_test_file",
    "parse_exp_labels",
    "parse_test_text",
]

DEFAULT_EVALUATION_INTERVAL_MS = 60_000


@dataclass
class InputSeries:
    series: str
    values: str
    labels: dict[str, str]
    samples: list[Any]  # float, None (missing) or a native histogram (FloatHistogram)
    line: int = 0
    column: int = 0


@dataclass
class ExpAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass
class AlertTestCase:
    eval_time_ms: int
    alertname: str
    exp_alerts: list[ExpAlert]
    line: int = 0
    column: int = 0


@dataclass
class ExpSample:
    labels_text: str
    labels: dict[str, str]
    value: float
    histogram: Any = None  # the expected native histogram (`histogram:` in series notation), or None


@dataclass
class PromqlTestCase:
    expr: str
    eval_time_ms: int
    exp_samples: list[ExpSample]
    line: int = 0
    column: int = 0
    # promtool's `err:` text when `expr` does not parse (the test fails without being queried), or when an
    # expected sample's labels/histogram do not (the test fails unless the query itself fails first)
    expr_error: str | None = None
    samples_error: str | None = None


@dataclass
class TestGroup:
    interval_ms: int = 0
    input_series: list[InputSeries] = field(default_factory=list)
    alert_rule_tests: list[AlertTestCase] = field(default_factory=list)
    promql_expr_tests: list[PromqlTestCase] = field(default_factory=list)
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    name: str = ""
    start_ms: int = 0  # `start_timestamp` (promtool 3.9+): where time 0 of the group is, Unix ms
    index: int = 0  # 0-based position in `tests:`
    line: int = 0
    column: int = 0

    def max_eval_time_ms(self) -> int:
        times = [t.eval_time_ms for t in self.alert_rule_tests] + [t.eval_time_ms for t in self.promql_expr_tests]
        return max(times, default=0)


@dataclass
class UnitTestFile:
    path: str
    rule_files: list[str] = field(default_factory=list)  # resolved and globbed, as promtool does
    rule_patterns: list[str] = field(default_factory=list)  # as written
    evaluation_interval_ms: int = DEFAULT_EVALUATION_INTERVAL_MS
    group_eval_order: list[str] = field(default_factory=list)
    tests: list[TestGroup] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- typed field readers (Go yaml.v2 semantics) ---------------------------------------------------------


class _Reader:
    def __init__(self, path: str, v3: bool = False, version: PromVersion | None = None) -> None:
        self.path = path
        self.v3 = v3  # Prometheus 3 syntax: duration expressions, `x @ 6m`
        self.version = version  # the target's functions (None: any)
        # `{{..}}+{{..}}xN` across custom buckets of different bounds expands where the arithmetic reconciles
        # them (3.8+, prometheus#17278)
        self.reconcile = version is None or engine_options(version)["nhcb_reconcile"]

    def err(self, message: str, loc: tuple[int, int]) -> InputError:
        return InputError(message, self.path, loc[0], loc[1])

    def mapping(self, value: Any, loc: tuple[int, int], gotype: str, allowed: set[str]) -> PosDict:
        if value is None:
            d = PosDict()
            d.loc = loc
            return d
        if not isinstance(value, PosDict):
            raise self.err(f"cannot unmarshal {go_yaml_tag(value)} into {gotype}", loc)
        for key in value:
            if key not in allowed:
                raise self.err(f"field {key} not found in type {gotype}", value.key_loc(key))
        return value

    def string(self, d: PosDict, key: str) -> str:
        if key not in d or d[key] is None:
            return ""
        value = d[key]
        if isinstance(value, (dict, list)):
            raise self.err(f"{key}: cannot unmarshal {go_yaml_tag(value)} into string", d.value_loc(key))
        text = d.text(key)
        return text if text is not None else str(value)

    def seq(self, d: PosDict, key: str, gotype: str) -> PosList:
        value = d.get(key)
        if value is None:
            out = PosList()
            out.loc = d.key_loc(key)
            return out
        if not isinstance(value, PosList):
            raise self.err(f"{key}: cannot unmarshal {go_yaml_tag(value)} into []{gotype}", d.value_loc(key))
        return value

    def string_list(self, d: PosDict, key: str) -> list[tuple[str, tuple[int, int]]]:
        out = []
        items = self.seq(d, key, "string")
        for i, item in enumerate(items):
            if isinstance(item, (dict, list)):
                raise self.err(f"{key}: cannot unmarshal {go_yaml_tag(item)} into string", items.item_loc(i))
            out.append(("" if item is None else _scalar_text(item), items.item_loc(i)))
        return out

    def string_map(self, d: PosDict, key: str) -> dict[str, str]:
        value = d.get(key)
        if value is None:
            return {}
        if not isinstance(value, PosDict):
            raise self.err(f"{key}: cannot unmarshal {go_yaml_tag(value)} into map[string]string", d.value_loc(key))
        out: dict[str, str] = {}
        for k in value:
            if isinstance(value[k], (dict, list)):
                raise self.err(f"{key}.{k}: cannot unmarshal {go_yaml_tag(value[k])} into string", value.value_loc(k))
            out[k] = self.string(value, k)
        return out

    def duration_ms(self, d: PosDict, key: str) -> int:
        text = self.string(d, key)
        if text == "":
            return 0
        try:
            return round(parse_duration(text) * 1000)
        except ValueError as exc:
            raise self.err(f"{key}: {exc}", d.value_loc(key)) from None

    def number(self, d: PosDict, key: str) -> float:
        if key not in d or d[key] is None:
            return 0.0
        value = d[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.err(f"{key}: cannot unmarshal {go_yaml_tag(value)} into float64", d.value_loc(key))
        if isinstance(value, str):
            # yaml.v2 resolves plain scalars such as 1e3 as floats where PyYAML (YAML 1.1) keeps a string.
            if _GO_FLOAT_RE.match(value):
                return float(value.replace("_", ""))
            raise self.err(f"{key}: cannot unmarshal !!str `{value}` into float64", d.value_loc(key))
        if isinstance(value, int):
            return float(value) if abs(value) < 2**1024 else math.copysign(math.inf, value)
        return float(value)


_GO_FLOAT_RE = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+$")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- the format -----------------------------------------------------------------------------------------

_FILE_FIELDS = {"rule_files", "evaluation_interval", "group_eval_order", "tests"}
_GROUP_FIELDS = {"interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels",
                 "external_url", "name"}
_SERIES_FIELDS = {"series", "values"}
_ALERT_CASE_FIELDS = {"eval_time", "alertname", "exp_alerts"}
_ALERT_FIELDS = {"exp_labels", "exp_annotations"}
_PROMQL_CASE_FIELDS = {"expr", "eval_time", "exp_samples"}
_SAMPLE_FIELDS = {"labels", "value", "histogram"}


def parse_exp_labels(text: str) -> dict[str, str]:
    """Labels of an expected sample as promtool's parser.ParseMetric reads them ('' is the empty set)."""
    stripped = text.strip()
    if stripped == "":
        return {}
    try:
        labels, pos = parse_labels(stripped)
    except ValueError as exc:
        if stripped.startswith("{") and str(exc) == "expected a metric name or a label set":
            return {}  # `{}` or only empty label values
        raise
    if stripped[pos:].strip():
        raise ValueError(f"unexpected {stripped[pos:].strip()!r} after the label set")
    return labels


def _expr_error(reader: _Reader, expr: str) -> str | None:
    """Why promtool's query of a test expression fails to parse (its `err:` text), or None."""
    if reader.v3:
        from opsctl.promql import PromQLError, durexpr
        from opsctl.promql.semantics import unknown_duration_functions

        # a test expression is an instant query: step() and range() are 0 in its duration expressions
        unknown = frozenset() if reader.version is None else unknown_duration_functions(reader.version)
        try:
            expr = durexpr.rewrite(expr, durexpr.Context(0.0, 0.0, unknown))  # `x[5m * 2]`, `offset (1h + 5m)`
        except PromQLError:
            pass
    if reader.version is not None and reader.version.at_least(3, 16):
        from opsctl.rules.newsyntax import SyntaxProblem, readable

        try:
            expr = readable(expr, reader.version)  # `anchored`/`smoothed` (the engine evaluates them)
        except SyntaxProblem as exc:
            return str(exc)
    try:
        promql_syntax.parse(expr)  # Go's regexes (opsctl.gosem), Prometheus's regex errors
    except (ValueError, RuntimeError, OverflowError) as exc:
        # promtool's text (`1:4: parse error: unexpected end of input`) where the port of Prometheus'
        # parser finds the error, else promql-parser's.
        return promql_goparse.syntax_error(expr) or _go_type_error(expr, _first_line(exc)) or _first_line(exc)
    at_err = None if reader.v3 else promql_goparse.at_duration_error(expr)  # accepted by 3.x, not by 2.42
    return at_err or (None if reader.version is None else _unknown_function(expr, reader.version))


def _unknown_function(expr: str, version: PromVersion) -> str | None:
    """Prometheus' parse error for the first call (as its parser reduces them) of a function or aggregation
    the target version does not have (`sort_by_label` before 2.51, `holt_winters` from 3.0, ...)."""
    from opsctl.rules.versions import AGGREGATION_SINCE, FUNCTION_REMOVED, FUNCTION_SINCE

    since = {**FUNCTION_SINCE, **AGGREGATION_SINCE}
    unknown = {n for n, v in since.items() if not version.at_least(*v)}
    unknown |= {n for n, v in FUNCTION_REMOVED.items() if version.at_least(*v)}
    if not any(n in expr for n in unknown):
        return None
    for name, where, _ in promql_goparse.function_calls(expr):
        if name in unknown:
            return f'{where} parse error: unknown function with name "{name}"'
    return None


_CALL_TYPE_ERROR = re.compile(r"expected type (\w+) in call to function '(\w+)', got (\w+)")
_CALL_ARITY_ERROR = re.compile(r"expected ((?:at least |at most )?\d+ argument\(s\)) in call to '(\w+)', got (\d+)")
_GO_TYPE = {"matrix": "range vector", "vector": "instant vector", "scalar": "scalar", "string": "string"}


def _value_type(node: Any) -> str:
    """The value type (promql-parser's name) of a parsed expression, as Prometheus' checkAST types it."""
    import promql_parser as pp

    if isinstance(node, pp.MatrixSelector | pp.SubqueryExpr):
        return "matrix"
    if isinstance(node, pp.StringLiteral):
        return "string"
    if isinstance(node, pp.NumberLiteral):
        return "scalar"
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return _value_type(node.expr)
    if isinstance(node, pp.BinaryExpr):
        both = _value_type(node.lhs) == _value_type(node.rhs) == "scalar"
        return "scalar" if both else "vector"
    if isinstance(node, pp.Call):
        return str(node.func.return_type).rsplit(".", 1)[-1].lower()
    return "vector"


_PLACEHOLDER = {"matrix": "x[1m]", "vector": "x", "scalar": "1", "string": '"s"'}


def _go_type_error(expr: str, message: str) -> str | None:
    """Prometheus' text (`1:6: parse error: expected type range vector in call to function "rate", got instant
    vector`) for promql-parser's type error of a function argument, at that argument: the first argument of a
    call to that function whose type is the one reported and whose replacement by a value of the expected type
    makes the error go away. None for other errors, or when no argument is found."""
    n = _CALL_ARITY_ERROR.fullmatch(message.strip())
    if n is not None:
        what, name, count = n.groups()
        # both in the parser's reduction order
        for (call, where, _), (_, args) in zip(promql_goparse.function_calls(expr),
                                               promql_goparse.call_arguments(expr), strict=False):
            if call == name and len(args) == int(count):
                return f'{where} parse error: expected {what} in call to "{name}", got {count}'
        return None
    m = _CALL_TYPE_ERROR.fullmatch(message.strip())
    if m is None or m.group(1) not in _PLACEHOLDER or m.group(3) not in _PLACEHOLDER:
        return None
    want, name, got = m.groups()
    import promql_parser as pp

    data = expr.encode("utf-8")
    for call, args in promql_goparse.call_arguments(expr):
        if call != name:
            continue
        for start, end in args:
            try:
                if _value_type(pp.parse(data[start:end].decode("utf-8"))) != got:
                    continue
            except (ValueError, RuntimeError, UnicodeDecodeError):
                continue
            fixed = (data[:start] + _PLACEHOLDER[want].encode() + data[end:]).decode("utf-8")
            try:
                pp.parse(fixed)
            except (ValueError, RuntimeError) as exc:
                again = _CALL_TYPE_ERROR.fullmatch(_first_line(exc))
                if again is not None and again.group(3) == want:
                    continue  # the stand-in is now the first wrong argument: this one was right
            return (f"{promql_goparse.position(expr, start)} parse error: expected type {_GO_TYPE[want]} in "
                    f'call to function "{name}", got {_GO_TYPE[got]}')
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _go_quote(s: str) -> str:
    from opsctl.rules.testing_format import go_quote

    return go_quote(s)


def _labels_error(text: str, exc: Exception) -> str:
    """promtool's text for expected-sample labels (parser.ParseMetric) or histogram that do not parse. The
    port parses an expression, whose grammar names the braces "label matching"; ParseMetric's "label set"."""
    go = promql_goparse.syntax_error(text.strip())
    return f"labels {_go_quote(text)}: {go.replace(' in label matching', ' in label set') if go else _first_line(exc)}"


def _start_timestamp_ms(r: _Reader, d: PosDict) -> int:
    """A test group's `start_timestamp` as promtool's parseTime reads it: Unix seconds (a float) or an
    RFC 3339 time; 0 when absent."""
    text = r.string(d, "start_timestamp")
    if text == "":
        return 0
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None and math.isfinite(seconds):
        whole = math.trunc(seconds)
        return whole * 1000 + math.trunc((seconds - whole) * 1e9) // 1_000_000
    m = _RFC3339.match(text)
    if m is not None:
        date, frac, zone = m.groups()
        try:
            when = datetime.fromisoformat(date.upper() + ("+00:00" if zone in "Zz" else zone))
        except ValueError:
            when = None
        if when is not None:  # Go truncates to milliseconds (timestamp.FromTime)
            ms = (frac[1:] + "000")[:3] if frac else "000"
            return int((when - _EPOCH).total_seconds()) * 1000 + int(ms)
    raise r.err(f"cannot parse {_go_quote(text)} to a valid timestamp", d.value_loc("start_timestamp"))


# time.RFC3339Nano: a date, T, a time with optional fraction, and Z or a numeric zone
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _read_group(r: _Reader, raw: Any, loc: tuple[int, int], index: int) -> TestGroup:
    # `start_timestamp`: promtool 3.9+ (prometheus#17636)
    start_field = r.version is None or r.version.at_least(3, 9)
    d = r.mapping(raw, loc, "main.testGroup", _GROUP_FIELDS | {"start_timestamp"} if start_field else _GROUP_FIELDS)
    tg = TestGroup(index=index, line=loc[0], column=loc[1])
    tg.interval_ms = r.duration_ms(d, "interval")
    if start_field:
        tg.start_ms = _start_timestamp_ms(r, d)
    tg.name = r.string(d, "name")
    tg.external_url = r.string(d, "external_url")
    tg.external_labels = r.string_map(d, "external_labels")

    series_items = r.seq(d, "input_series", "main.series")
    for i, item in enumerate(series_items):
        iloc = series_items.item_loc(i)
        sd = r.mapping(item, iloc, "main.series", _SERIES_FIELDS)
        series = r.string(sd, "series")
        values = r.string(sd, "values")
        sloc = sd.value_loc("series") if "series" in sd else iloc
        if not r.v3 and "{" in values:
            # promtool 2.42's series lexer has no native-histogram notation.
            raise r.err(f"input series {series!r}: unexpected character in series sequence: '{{'", sloc)
        try:
            labels, samples = parse_series_desc(f"{series} {values}", reconcile=r.reconcile)
        except ValueError as exc:
            raise r.err(f"input series {series!r}: {exc}", sloc) from None
        tg.input_series.append(InputSeries(series, values, labels, samples, sloc[0], sloc[1]))

    alert_items = r.seq(d, "alert_rule_test", "main.alertTestCase")
    for i, item in enumerate(alert_items):
        iloc = alert_items.item_loc(i)
        ad = r.mapping(item, iloc, "main.alertTestCase", _ALERT_CASE_FIELDS)
        eval_time = r.duration_ms(ad, "eval_time")
        alertname = r.string(ad, "alertname")
        if alertname == "":
            in_group = f" (in TestGroup {tg.name})" if tg.name else ""
            raise r.err("an item under alert_rule_test misses required attribute alertname at eval_time "
                        f"{_model_duration(eval_time)}{in_group}", iloc)
        exp_alerts: list[ExpAlert] = []
        exp_items = r.seq(ad, "exp_alerts", "main.alert")
        for j, exp in enumerate(exp_items):
            ed = r.mapping(exp, exp_items.item_loc(j), "main.alert", _ALERT_FIELDS)
            exp_alerts.append(ExpAlert(r.string_map(ed, "exp_labels"), r.string_map(ed, "exp_annotations")))
        tg.alert_rule_tests.append(AlertTestCase(eval_time, alertname, exp_alerts, iloc[0], iloc[1]))

    expr_items = r.seq(d, "promql_expr_test", "main.promqlTestCase")
    for i, item in enumerate(expr_items):
        iloc = expr_items.item_loc(i)
        pd_ = r.mapping(item, iloc, "main.promqlTestCase", _PROMQL_CASE_FIELDS)
        expr = r.string(pd_, "expr")
        expr_error = _expr_error(r, expr)
        eval_time = r.duration_ms(pd_, "eval_time")
        exp_samples: list[ExpSample] = []
        samples_error: str | None = None
        sample_items = r.seq(pd_, "exp_samples", "main.sample")
        for j, s in enumerate(sample_items):
            # `histogram:` exists in promtool 3.x's sample type, not in 2.42's.
            sd = r.mapping(s, sample_items.item_loc(j), "main.sample",
                           _SAMPLE_FIELDS if r.v3 else _SAMPLE_FIELDS - {"histogram"})
            text = r.string(sd, "labels")
            htext = r.string(sd, "histogram")
            value = r.number(sd, "value")
            if samples_error is not None:
                continue  # promtool stops at the first bad expected sample
            hist = None
            try:
                exp_labels = parse_exp_labels(text)
            except ValueError as exc:
                samples_error = _labels_error(text, exc)
                continue
            if htext != "":
                # promtool: ParseSeriesDesc("{} " + histogram), exactly one histogram value.
                try:
                    _, hvals = parse_series_desc("{} " + htext)
                except ValueError as exc:
                    samples_error = _labels_error(text, exc)
                    continue
                if len(hvals) != 1:
                    samples_error = f"labels {_go_quote(text)}: expected 1 value, got {len(hvals)}"
                    continue
                if isinstance(hvals[0], float | int) or hvals[0] is None:
                    samples_error = f"labels {_go_quote(text)}: expected histogram, got {hvals[0]}"
                    continue
                hist = hvals[0]
            exp_samples.append(ExpSample(text, exp_labels, value, hist))
        tg.promql_expr_tests.append(PromqlTestCase(expr, eval_time, exp_samples, iloc[0], iloc[1],
                                                   expr_error, samples_error))
    return tg


def _model_duration(ms: int) -> str:
    from opsctl.rules.testing_format import model_duration

    return model_duration(ms)


def _go_glob(pattern: str) -> list[str]:
    """filepath.Glob: sorted matches, `*` matches dot files too, no `**`; a plain path matches if it exists."""
    if not glob.has_magic(pattern):
        return [pattern] if os.path.lexists(pattern) else []
    return sorted(glob.glob(pattern, include_hidden=True))


def parse_test_document(doc: Any, path: str, v3: bool = False, version: PromVersion | None = None) -> UnitTestFile:
    """Build a UnitTestFile from the first YAML document of a test file (as read by opsctl.yamlutil).
    `version`: test expressions calling a function that version lacks fail as promtool's parse error."""
    r = _Reader(path, v3, version)
    d = r.mapping(doc, getattr(doc, "loc", (1, 1)), "main.unitTestFile", _FILE_FIELDS)
    utf = UnitTestFile(path=path)
    base = os.path.dirname(path)
    for pattern, _loc in r.string_list(d, "rule_files"):
        utf.rule_patterns.append(pattern)
        full = pattern if pattern == "" or os.path.isabs(pattern) else os.path.join(base, pattern)
        try:
            matches = _go_glob(full)
        except (OSError, ValueError) as exc:
            raise r.err(f"rule_files: {exc}", _loc) from None
        if not matches:
            utf.warnings.append(f"no file match pattern {full}")
        utf.rule_files.extend(matches)
    interval = r.duration_ms(d, "evaluation_interval")
    utf.evaluation_interval_ms = interval if interval > 0 else DEFAULT_EVALUATION_INTERVAL_MS
    seen: set[str] = set()
    for name, loc in r.string_list(d, "group_eval_order"):
        if name in seen:
            raise r.err(f"group name repeated in evaluation order: {name}", loc)
        seen.add(name)
        utf.group_eval_order.append(name)
    tests = r.seq(d, "tests", "main.testGroup")
    for i, item in enumerate(tests):
        tg = _read_group(r, item, tests.item_loc(i), i)
        if tg.interval_ms == 0 and r.version is not None and r.version.at_least(2, 48):
            # promtool 2.48+ (prometheus#13011): a group without `interval` gets `evaluation_interval`
            tg.interval_ms = utf.evaluation_interval_ms
        utf.tests.append(tg)
    return utf


def parse_test_text(text: str, path: str = "<input>", limits: Limits = Limits()) -> UnitTestFile:
    from opsctl.yamlutil import loads_documents

    docs = loads_documents(text, path, limits)
    return parse_test_document(docs[0] if docs else None, path)


def load_test_file(path: str | Path, limits: Limits = Limits(), v3: bool = False,
                   version: PromVersion | None = None) -> UnitTestFile:
    """Read a promtool rule unit-test file; raises InputError (file:line:col) on any problem.
    v3: expressions are read with Prometheus 3's syntax (duration expressions, `x @ 6m`); `version`: the
    target, whose unknown functions make a test expression fail (None: every function is known)."""
    docs = load_documents(path, limits)
    return parse_test_document(docs[0] if docs else None, str(path), v3, version)
