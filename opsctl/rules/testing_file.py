"""The rule unit-test file format of `promtool test rules` (Prometheus 2.42), read unchanged.

Every problem in the file is an `InputError` naming file:line:column. The reading follows promtool's
`yaml.UnmarshalStrict` into its Go structs: unknown fields and duplicate keys are errors, any scalar is
accepted where a string is expected (`values: 1` is the string "1"), `value:` must be a YAML number,
durations use Prometheus' syntax (`5m`, `1h30m`, `0`), `null` is the zero value. Only the first YAML
document is read, as yaml.v2 does.

We are stricter than promtool in a few places, where promtool would report the same problem later as
a failed test: a missing `alertname`, a bad `exp_samples` label set, an unparsable `expr`, a bad input
series and a repeated `group_eval_order` name are input errors here.
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl import promql_goparse, promql_syntax
from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.promql.notation import parse_labels, parse_series_desc
from opsctl.yamlutil import Limits, PosDict, PosList, go_yaml_tag, load_documents

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


@dataclass
class TestGroup:
    interval_ms: int = 0
    input_series: list[InputSeries] = field(default_factory=list)
    alert_rule_tests: list[AlertTestCase] = field(default_factory=list)
    promql_expr_tests: list[PromqlTestCase] = field(default_factory=list)
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    name: str = ""
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
    def __init__(self, path: str, v3: bool = False) -> None:
        self.path = path
        self.v3 = v3  # Prometheus 3 syntax: duration expressions, `x @ 6m`

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


def _check_expr(reader: _Reader, expr: str, loc: tuple[int, int]) -> None:
    if reader.v3:
        from opsctl.promql import PromQLError, durexpr

        try:
            expr = durexpr.rewrite(expr)  # `x[5m * 2]`, `offset (1h + 5m)`
        except PromQLError:
            pass
    try:
        promql_syntax.parse(expr)  # Go's regexes (opsctl.gosem), Prometheus's regex errors
    except (ValueError, RuntimeError, OverflowError) as exc:
        # promtool's text (`1:4: parse error: unexpected end of input`) where the port of Prometheus'
        # parser finds the error, else promql-parser's.
        msg = promql_goparse.syntax_error(expr) or (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise reader.err(f"could not parse expression {expr!r}: {msg}", loc) from None
    at_err = None if reader.v3 else promql_goparse.at_duration_error(expr)  # accepted by 3.x, not by 2.42
    if at_err is not None:
        raise reader.err(f"could not parse expression {expr!r}: {at_err}", loc)


def _read_group(r: _Reader, raw: Any, loc: tuple[int, int], index: int) -> TestGroup:
    d = r.mapping(raw, loc, "main.testGroup", _GROUP_FIELDS)
    tg = TestGroup(index=index, line=loc[0], column=loc[1])
    tg.interval_ms = r.duration_ms(d, "interval")
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
            labels, samples = parse_series_desc(f"{series} {values}")
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
        _check_expr(r, expr, pd_.value_loc("expr") if "expr" in pd_ else iloc)
        eval_time = r.duration_ms(pd_, "eval_time")
        exp_samples: list[ExpSample] = []
        sample_items = r.seq(pd_, "exp_samples", "main.sample")
        for j, s in enumerate(sample_items):
            # `histogram:` exists in promtool 3.x's sample type, not in 2.42's.
            sd = r.mapping(s, sample_items.item_loc(j), "main.sample",
                           _SAMPLE_FIELDS if r.v3 else _SAMPLE_FIELDS - {"histogram"})
            text = r.string(sd, "labels")
            try:
                labels = parse_exp_labels(text)
            except ValueError as exc:
                raise r.err(f"labels {text!r}: {exc}", sd.value_loc("labels")) from None
            hist = None
            htext = r.string(sd, "histogram")
            if htext != "":
                # promtool: ParseSeriesDesc("{} " + histogram), exactly one histogram value.
                try:
                    _, hvals = parse_series_desc("{} " + htext)
                except ValueError as exc:
                    raise r.err(f"labels {text!r}: {exc}", sd.value_loc("histogram")) from None
                if len(hvals) != 1:
                    raise r.err(f"labels {text!r}: expected 1 value, got {len(hvals)}", sd.value_loc("histogram"))
                if isinstance(hvals[0], float | int) or hvals[0] is None:
                    raise r.err(f"labels {text!r}: expected histogram, got {hvals[0]}", sd.value_loc("histogram"))
                hist = hvals[0]
            exp_samples.append(ExpSample(text, labels, r.number(sd, "value"), hist))
        tg.promql_expr_tests.append(PromqlTestCase(expr, eval_time, exp_samples, iloc[0], iloc[1]))
    return tg


def _model_duration(ms: int) -> str:
    from opsctl.rules.testing_format import model_duration

    return model_duration(ms)


def _go_glob(pattern: str) -> list[str]:
    """filepath.Glob: sorted matches, `*` matches dot files too, no `**`; a plain path matches if it exists."""
    if not glob.has_magic(pattern):
        return [pattern] if os.path.lexists(pattern) else []
    return sorted(glob.glob(pattern, include_hidden=True))


def parse_test_document(doc: Any, path: str, v3: bool = False) -> UnitTestFile:
    """Build a UnitTestFile from the first YAML document of a test file (as read by opsctl.yamlutil)."""
    r = _Reader(path, v3)
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
        utf.tests.append(_read_group(r, item, tests.item_loc(i), i))
    return utf


def parse_test_text(text: str, path: str = "<input>", limits: Limits = Limits()) -> UnitTestFile:
    from opsctl.yamlutil import loads_documents

    docs = loads_documents(text, path, limits)
    return parse_test_document(docs[0] if docs else None, path)


def load_test_file(path: str | Path, limits: Limits = Limits(), v3: bool = False) -> UnitTestFile:
    """Read a promtool rule unit-test file; raises InputError (file:line:col) on any problem.
    v3: expressions are read with Prometheus 3's syntax (duration expressions, `x @ 6m`)."""
    docs = load_documents(path, limits)
    return parse_test_document(docs[0] if docs else None, str(path), v3)
