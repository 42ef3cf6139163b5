"""`opsctl rules test`: promtool's rule unit tests (`promtool test rules`, Prometheus 2.42), re-implemented.

The test file format is promtool's, read unchanged (see opsctl.rules.testing_file and docs/rules-test.md).
Each test group gets a fresh in-memory storage holding its `input_series`; then, as promtool does:

1. rules are evaluated at 0, evaluation_interval, 2*evaluation_interval, ... up to the largest
   `eval_time` of the group; before each evaluation the input samples up to that time are loaded;
   groups run in `group_eval_order` (groups not listed run as if listed first), rules in file order;
   recording rule output and ALERTS / ALERTS_FOR_STATE are written back, vanished series marked stale;
2. an `alert_rule_test` at `eval_time` t is checked against the evaluation at the last step <= t:
   the firing alerts of every alerting rule with that name, labels and expanded annotations;
3. after the last step, each `promql_expr_test` is an instant query at its `eval_time` (seeing input
   samples only up to the last evaluation step, like promtool), compared with `exp_samples`;
4. a rule evaluation error ends the test group (promtool reports it and stops there).

Comparison is promtool's: order does not matter, labels and values must be equal (NaN never equals),
expected alerts get `alertname` added, empty expected annotations mean "no annotations".
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opsctl.errors import InputError
from opsctl.promql import Engine, Labels, Storage
from opsctl.promql.semantics import EngineOptions, engine_options
from opsctl.rules.loader import DEFAULT_VERSION, LoadOptions, load_rule_file
from opsctl.rules.model import RuleGroup
from opsctl.rules.testing_eval import (
    AppendStore,
    Renderer,
    RuleEvalError,
    RuleEvaluator,
    query_vector,
)
from opsctl.rules.testing_file import TestGroup, UnitTestFile, load_test_file
from opsctl.rules.testing_format import float_e, go_duration, indent_lines, labels_string, model_duration
from opsctl.rules.versions import PromVersion

__all__ = [
    "SCHEMA_VERSION",
    "Failure",
    "FileResult",
    "GroupResult",
    "render_junit",
    "render_text",
    "results_to_json",
    "run_test_file",
    "run_test_files",
]

SCHEMA_VERSION = 1
LOOKBACK_DELTA_S = 300.0

FailureKind = Literal["alert", "expr", "expr_error", "rule_error"]
FileStatus = Literal["passed", "failed", "error"]


@dataclass
class Failure:
    """One failed check, with promtool's message text."""

    kind: FailureKind
    message: str
    eval_time: str = ""  # model.Duration text (rule_error: Go time.Duration text of the evaluation step)
    eval_time_ms: int = 0
    alertname: str | None = None
    expr: str | None = None
    rule: str | None = None
    error: str | None = None
    expected: list[dict[str, Any]] | None = None
    got: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "eval_time": self.eval_time, "eval_time_ms": self.eval_time_ms}
        for k in ("alertname", "expr", "rule", "error", "expected", "got"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        d["message"] = self.message
        return d


@dataclass
class GroupResult:
    index: int
    name: str
    alert_cases: int
    expr_cases: int
    failures: list[Failure] = field(default_factory=list)
    evaluations: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "status": "passed" if self.passed else "failed",
            "alert_cases": self.alert_cases,
            "expr_cases": self.expr_cases,
            "evaluations": self.evaluations,
            "failures": [f.to_dict() for f in self.failures],
        }


@dataclass
class FileResult:
    path: str
    groups: list[GroupResult] = field(default_factory=list)
    error: InputError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> FileStatus:
        if self.error is not None:
            return "error"
        return "passed" if all(g.passed for g in self.groups) else "failed"

    def to_dict(self) -> dict[str, Any]:
        err = None
        if self.error is not None:
            err = {"message": self.error.message, "file": self.error.file, "line": self.error.line,
                   "column": self.error.column}
        return {
            "file": self.path,
            "status": self.status,
            "error": err,
            "warnings": list(self.warnings),
            "groups": [g.to_dict() for g in self.groups],
        }


def _json_value(v: float) -> float | str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


# -- rendering of alert label templates ---------------------------------------------------------------


def _default_renderer(external_labels: dict[str, str], external_url: str) -> Renderer:
    # Template errors come back as Prometheus' "<error expanding template: ...>" text.
    from opsctl.rules.testing_templates import CachedRenderer

    return CachedRenderer(external_labels, external_url)


# -- running ------------------------------------------------------------------------------------------------


def _ordered_groups(rule_files: list[str], order: list[str], options: LoadOptions | None = None) -> list[RuleGroup]:
    """Load the rule files and order their groups as promtool's orderedGroups (a stable variant)."""
    groups: list[RuleGroup] = []
    seen: set[tuple[str, str]] = set()
    for path in rule_files:
        rf = load_rule_file(path, options)
        for g in rf.groups:
            key = (str(Path(path).resolve()), g.name)
            if key in seen:
                continue
            seen.add(key)
            groups.append(g)
    index = {name: i for i, name in enumerate(order)}
    return sorted(groups, key=lambda g: index.get(g.name, 0))


def _load_inputs(tg: TestGroup) -> dict[Labels, list[tuple[int, Any]]]:
    """Input samples per series; like promtool's `load`, a later definition of a series replaces an
    earlier one, and of several samples at the same time only the first is kept."""
    out: dict[Labels, list[tuple[int, float]]] = {}
    for s in tg.input_series:
        samples: list[tuple[int, Any]] = []
        last_t = None
        for i, v in enumerate(s.samples):
            if v is None:
                continue
            t = tg.start_ms + i * tg.interval_ms
            if t == last_t:
                continue
            samples.append((t, v))
            last_t = t
        out[Labels(s.labels)] = samples
    return out


def _alerts_string(items: list[tuple[dict[str, str], dict[str, str]]]) -> str:
    if not items:
        return "[]"
    parts = []
    for i, (labels, annots) in enumerate(items):
        body = "\nLabels:" + labels_string(labels) + "\nAnnotations:" + labels_string(annots)
        parts.append(f"{i}:" + indent_lines(body, "  "))
    return "[\n" + ",\n".join(parts) + "\n]"


def _samples_string(items: list[tuple[dict[str, str], float, str]]) -> str:
    """promtool's parsedSamplesString: `{labels} value` (%E), or `{labels} {{histogram}}`."""
    if not items:
        return "nil"
    return ", ".join(f"{labels_string(lab)} {h if h else float_e(v)}" for lab, v, h in items)


def _hist_text(v: Any, exact: bool = True) -> str:
    """promqltest.HistogramTestExpression: the histogram's `{{...}}` notation, '' for a float. exact:
    buckets of three or more spans in place (promtool 3.16; 3.5 misplaces them, see FloatHistogram.compact)."""
    return "" if isinstance(v, float | int) or v is None else str(v.test_expression(exact))


def _sample_json(lab: dict[str, str], v: float, h: str) -> dict[str, Any]:
    out: dict[str, Any] = {"labels": lab, "value": _json_value(v)}
    if h:
        out["histogram"] = h
    return out


def _sort_key_labels(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def run_test_group(utf: UnitTestFile, tg: TestGroup, groups: list[RuleGroup],
                   options: EngineOptions | None = None, exact_buckets: bool = True) -> GroupResult:
    """options: the engine semantics (engine_options(version, features)); default: the newest version.
    exact_buckets: histograms print their buckets as promtool 3.16 does (False: 3.5's misplacing)."""
    options = options or engine_options(DEFAULT_VERSION)
    result = GroupResult(tg.index, tg.name, len(tg.alert_rule_tests), len(tg.promql_expr_tests))
    storage = Storage()
    # promtool sets the default subquery resolution to the evaluation interval.
    engine = Engine(storage, lookback_delta=LOOKBACK_DELTA_S,
                    default_subquery_step=utf.evaluation_interval_ms / 1000.0, **options)
    store = AppendStore(storage)
    evaluator = RuleEvaluator(groups, store, engine, _default_renderer(tg.external_labels, tg.external_url))
    inputs = _load_inputs(tg)
    cursors = dict.fromkeys(inputs, 0)
    interval = utf.evaluation_interval_ms
    # `start_timestamp` (promtool 3.9+) moves the group's time 0: inputs, evaluations and queries start
    # there; eval_time and the times printed for tests stay relative to it
    mint = tg.start_ms
    maxt = mint + tg.max_eval_time_ms()
    name_prefix = f"    name: {tg.name},\n" if tg.name else ""

    if interval > 0 and maxt >= mint:
        _precompute(evaluator, inputs, interval, mint, maxt, utf.evaluation_interval_ms / 1000.0, options)
    alert_times = sorted({t.eval_time_ms for t in tg.alert_rule_tests})
    curr = 0
    ts = mint
    while ts <= maxt:
        for labels, samples in inputs.items():
            i = cursors[labels]
            while i < len(samples) and samples[i][0] <= ts:
                store.append(labels, samples[i][0], samples[i][1])
                i += 1
            cursors[labels] = i
        errors = evaluator.eval(ts)
        result.evaluations += 1
        if errors:
            for rule, err in errors:
                result.failures.append(Failure(
                    "rule_error", f"    rule: {rule.name}, time: {go_duration(ts)}, err: {err}",
                    eval_time=go_duration(ts), eval_time_ms=ts, rule=rule.name, error=err))
            return result
        while curr < len(alert_times) and ts - mint <= alert_times[curr] < ts - mint + interval:
            t = alert_times[curr]
            for case in (c for c in tg.alert_rule_tests if c.eval_time_ms == t):
                got = sorted(
                    ((dict(a.labels), dict(a.annotations)) for a in evaluator.alerts_named(case.alertname)
                     if a.state == "firing"),
                    key=lambda x: (_sort_key_labels(x[0]), _sort_key_labels(x[1])))
                exp = sorted(
                    (({**e.labels, "alertname": case.alertname}, dict(e.annotations)) for e in case.exp_alerts),
                    key=lambda x: (_sort_key_labels(x[0]), _sort_key_labels(x[1])))
                if exp != got:
                    msg = (f"{name_prefix}    alertname: {case.alertname}, time: {model_duration(t)}, \n"
                           f"        exp:{indent_lines(_alerts_string(exp), ' ' * 12)}, \n"
                           f"        got:{indent_lines(_alerts_string(got), ' ' * 12)}")
                    result.failures.append(Failure(
                        "alert", msg, eval_time=model_duration(t), eval_time_ms=t, alertname=case.alertname,
                        expected=[{"labels": lab, "annotations": ann} for lab, ann in exp],
                        got=[{"labels": lab, "annotations": ann} for lab, ann in got]))
            curr += 1
        ts += interval

    store.flush()
    for pcase in tg.promql_expr_tests:
        when = model_duration(pcase.eval_time_ms)
        # promtool: an expression that does not parse, then a failed query, then expected labels that do not
        # parse fail this test (exit 1) and the others still run
        why: str | None = pcase.expr_error
        if why is None:
            try:
                vec = query_vector(engine, pcase.expr, mint + pcase.eval_time_ms)
            except RuleEvalError as exc:
                why = str(exc)
        if why is None:
            why = pcase.samples_error
        if why is not None:
            result.failures.append(Failure(
                "expr_error", f"    expr: {_go_q(pcase.expr)}, time: {when}, err: {why}",
                eval_time=when, eval_time_ms=pcase.eval_time_ms, expr=pcase.expr, error=why))
            continue
        # A histogram sample's value is 0 (its F), compared as promtool compares it; the histograms are
        # compared by their TestExpression() text.
        got_s = sorted(((dict(lab), float(v) if isinstance(v, float | int) else 0.0, _hist_text(v, exact_buckets))
                        for lab, v in vec), key=lambda x: _sort_key_labels(x[0]))
        exp_s = sorted(((dict(s.labels), s.value, _hist_text(s.histogram, exact_buckets)) for s in pcase.exp_samples),
                       key=lambda x: _sort_key_labels(x[0]))
        same = len(got_s) == len(exp_s) and all(
            a[0] == b[0] and a[1] == b[1] and a[2] == b[2] for a, b in zip(exp_s, got_s, strict=True))
        if not same:
            msg = (f"    expr: {_go_q(pcase.expr)}, time: {when},\n"
                   f"        exp: {_samples_string(exp_s)}\n"
                   f"        got: {_samples_string(got_s)}")
            result.failures.append(Failure(
                "expr", msg, eval_time=when, eval_time_ms=pcase.eval_time_ms, expr=pcase.expr,
                expected=[_sample_json(lab, v, h) for lab, v, h in exp_s],
                got=[_sample_json(lab, v, h) for lab, v, h in got_s]))
    return result


def _precompute(evaluator: RuleEvaluator, inputs: dict[Labels, list[tuple[int, Any]]], interval: int, mint: int,
                maxt: int, subquery_step_s: float, options: EngineOptions) -> None:
    """Vectorised evaluation of the rules that read only input series (RuleEvaluator.precompute), over
    a storage holding the input samples the loop below loads, with the same series creation order."""
    times = list(range(mint, maxt + 1, interval))
    last = times[-1]
    storage = Storage()
    store = AppendStore(storage)

    def first_step(item: tuple[int, Labels]) -> tuple[int, int]:
        samples = inputs[item[1]]
        return (-(-(samples[0][0] - mint) // interval) if samples else 0, item[0])

    for _, labels in sorted(enumerate(inputs), key=first_step):
        for t, v in inputs[labels]:
            if t > last:
                break
            store.append(labels, t, v)
    store.flush()
    engine = Engine(storage, lookback_delta=LOOKBACK_DELTA_S, default_subquery_step=subquery_step_s, **options)
    evaluator.precompute(engine, times)


def _go_q(s: str) -> str:
    from opsctl.rules.testing_format import go_quote

    return go_quote(s)


def run_test_file(path: str | Path, prometheus_version: PromVersion | None = None,
                  features: frozenset[str] = frozenset()) -> FileResult:
    """Run one unit-test file. Bad input (test file or rule files) is reported in `FileResult.error`.

    `prometheus_version` decides which rule-file fields and functions are accepted (default: the
    newest, as `opsctl rules validate`) and the engine's semantics (3.x: left-open range selectors,
    `.` matching newlines, the v3 functions); pass the version of the promtool you compare with.
    `features`: promtool's --enable-feature names; with 3.x, experimental functions (sort_by_label,
    limitk, ...) need `promql-experimental-functions`, in rule files and test expressions alike;
    `promql-delayed-name-removal` evaluates with delayed `__name__` removal."""
    res = FileResult(str(path))
    version = prometheus_version or DEFAULT_VERSION
    v3 = version.at_least(3, 0)
    options = LoadOptions(prometheus_version=version, features=features if v3 else None)
    try:
        utf = load_test_file(path, v3=v3, version=version)
        res.warnings = list(utf.warnings)
        if not utf.tests:
            return res
        groups = _ordered_groups(utf.rule_files, utf.group_eval_order, options)
    except InputError as exc:
        res.error = exc
        return res
    for tg in utf.tests:
        # prometheus/prometheus #19312 (compactBuckets) is in 3.16; 3.5 has the bug; between: not verified
        res.groups.append(run_test_group(utf, tg, groups, engine_options(version, features),
                                         exact_buckets=version.at_least(3, 16)))
    return res


def run_test_files(paths: list[str]) -> list[FileResult]:
    return [run_test_file(p) for p in paths]


# -- reports ------------------------------------------------------------------------------------------------


def results_to_json(results: list[FileResult]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "files": [r.to_dict() for r in results],
        "summary": {
            "files": len(results),
            "passed": sum(r.status == "passed" for r in results),
            "failed": sum(r.status == "failed" for r in results),
            "errors": sum(r.status == "error" for r in results),
        },
    }


def render_text(results: list[FileResult], version: PromVersion | None = None) -> str:
    """promtool's report: `Unit Testing:  FILE` (promtool 2.x; 3.16: `Processing test file: FILE`, #18271;
    3.0-3.15 print no such line, opsctl keeps 2.x's), then `  SUCCESS` or `  FAILED:` and each difference."""
    header = "Processing test file: " if (version or DEFAULT_VERSION).at_least(3, 16) else "Unit Testing:  "
    out: list[str] = []
    for r in results:
        out.append(f"{header}{r.path}")
        for w in r.warnings:
            out.append(f"  WARNING: {w}")
        if r.status == "passed":
            out.append("  SUCCESS")
        else:
            out.append("  FAILED:")
            if r.error is not None:
                out.append(str(r.error))
                out.append("")
            for g in r.groups:
                for f in g.failures:
                    out.append(f.message)
                    out.append("")
        out.append("")
    return "\n".join(out)


def render_junit(results: list[FileResult]) -> str:
    """JUnit XML: one testsuite per file, one testcase per test group (or one errored `load` case)."""
    root = ET.Element("testsuites", name="opsctl rules test")
    total = fails = errs = 0
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=r.path)
        n_fail = n_err = 0
        if r.error is not None:
            case = ET.SubElement(suite, "testcase", name="load", classname=r.path)
            e = ET.SubElement(case, "error", message=str(r.error))
            e.text = str(r.error)
            n_err = 1
            cases = 1
        else:
            cases = len(r.groups)
            for g in r.groups:
                name = g.name or f"tests[{g.index}]"
                case = ET.SubElement(suite, "testcase", name=name, classname=r.path)
                if not g.passed:
                    n_fail += 1
                    f = ET.SubElement(case, "failure", message=f"{len(g.failures)} check(s) failed")
                    f.text = "\n\n".join(x.message for x in g.failures)
        suite.set("tests", str(cases))
        suite.set("failures", str(n_fail))
        suite.set("errors", str(n_err))
        total += cases
        fails += n_fail
        errs += n_err
    root.set("tests", str(total))
    root.set("failures", str(fails))
    root.set("errors", str(errs))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
