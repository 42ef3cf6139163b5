"""A runner for Prometheus' promqltest file format (promql/testdata/*.test).

Supported commands: `load <step>` (+ indented series lines in expanding notation), `clear`,
`eval[_fail|_ordered|_warn|_info] instant at <time> <expr>`, v3's
`eval range from <t> to <t> step <d> <expr>`, `expect fail|ordered|string ...`,
`expected_fail_message` / `expected_fail_regexp`. Expected lines: `{labels} value` (instant),
`{labels} 1+1x3` (range), a bare number (scalar). Annotation expectations (`eval_warn`,
`eval_info`, `expect warn|info|no_warn|no_info`) are not checked: this evaluator emits no annotations.
Values compare like promqltest: relative epsilon 1e-6, NaN equals NaN.

    opsctl rules promqltest [--v3] [-v] FILE_OR_DIR...   (the CLI; run_path() here)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opsctl.durations import parse_duration
from opsctl.gosem import regexp as gosem_regexp
from opsctl.promql.engine import Engine
from opsctl.promql.headchunks import assign_hints
from opsctl.promql.histogram import CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span
from opsctl.promql.model import Labels, PromQLError, Result, Storage
from opsctl.promql.notation import parse_number, parse_series_desc, parse_st_sequence
from opsctl.promql.semantics import Version, _HasVersion, engine_options

__all__ = ["CaseResult", "FileResult", "run_file", "run_path", "run_text"]

_EVAL_RE = re.compile(r"^eval(?:_(fail|ordered|warn|info))?\s+instant\s+at\s+(\S+)\s+(.+)$")
_RANGE_RE = re.compile(
    r"^eval(?:_(fail|ordered|warn|info))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$"
)
_LOAD_RE = re.compile(r"^load(_with_nhcb)?\s+(\S+)$")
_EPSILON = 1e-6
_MIN_NORMAL = 2.2250738585072014e-308


@dataclass
class CaseResult:
    line: int
    expr: str
    passed: bool
    message: str = ""


@dataclass
class FileResult:
    path: str
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if not c.passed)

    @property
    def total(self) -> int:
        return len(self.cases)


def _fail_regex_matches(pattern: str, msg: str) -> bool:
    """expected_fail_regexp: a Go regexp (opsctl.gosem) that must match somewhere in the error message."""
    try:
        return gosem_regexp.match_string(pattern, msg)
    except gosem_regexp.RegexpError:
        return False


def _time(text: str) -> float:
    neg = text.startswith("-")
    body = text[1:] if neg else text
    try:
        val = float(body)
    except ValueError:
        val = parse_duration(body)
    return -val if neg else val


def almost_equal(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or diff < _MIN_NORMAL:
        return diff < _EPSILON * _MIN_NORMAL
    return diff / (abs(a) + abs(b)) < _EPSILON


@dataclass
class _Eval:
    line: int
    expr: str
    kind: str  # instant | range
    start: float
    end: float = 0.0
    step: float = 0.0
    fail: bool = False
    ordered: bool = False
    fail_msg: str | None = None
    fail_regex: str | None = None
    expect_string: str | None = None
    scalar: float | None = None
    series: list[tuple[Labels, list[Any]]] = field(default_factory=list)
    hints: list[list[bool]] = field(default_factory=list)  # per expected series: counter_reset_hint given
    error: str | None = None
    # `expect range vector from <start> to <end> step <step>` (3.x): an instant query's range-vector result
    range_vector: tuple[float, float, float] | None = None


def _parse_expected(ev: _Eval, text: str, reconcile: bool = False) -> None:
    text = text.strip()
    if ev.kind == "instant" and ev.range_vector is None:
        try:
            ev.scalar = parse_number(text)
            return
        except ValueError:
            pass
    hints: list[bool] = []
    labels, vals = parse_series_desc(text, hints, reconcile)
    ev.series.append((Labels(labels), vals))
    ev.hints.append(hints)


def _finish_case(ev: _Eval, engine: Engine) -> CaseResult:
    if ev.error:
        return CaseResult(ev.line, ev.expr, False, ev.error)
    try:
        if ev.kind == "instant":
            res = engine.instant(ev.expr, ev.start)
        else:
            res = engine.range(ev.expr, ev.start, ev.end, ev.step)
    except PromQLError as exc:
        if not ev.fail:
            return CaseResult(ev.line, ev.expr, False, f"unexpected error: {exc}")
        msg = str(exc)
        if ev.fail_msg is not None and ev.fail_msg != msg:
            return CaseResult(ev.line, ev.expr, False, f"expected error {ev.fail_msg!r}, got {msg!r}")
        if ev.fail_regex is not None and not _fail_regex_matches(ev.fail_regex, msg):
            return CaseResult(ev.line, ev.expr, False, f"expected error matching {ev.fail_regex!r}, got {msg!r}")
        return CaseResult(ev.line, ev.expr, True)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        return CaseResult(ev.line, ev.expr, False, f"internal error: {type(exc).__name__}: {exc}")
    if ev.fail:
        return CaseResult(ev.line, ev.expr, False, "expected an error, got a result")
    diff = _compare(ev, res)
    return CaseResult(ev.line, ev.expr, diff is None, diff or "")


def _compare(ev: _Eval, res: Result) -> str | None:
    if ev.expect_string is not None:
        if res.type != "string" or res.string != ev.expect_string:
            return f"expected string {ev.expect_string!r}, got {res.type} {res.string!r}"
        return None
    if ev.kind == "instant":
        if res.type == "scalar":
            if ev.scalar is None:
                return f"expected vector, got scalar {res.scalar}"
            assert res.scalar is not None
            if not almost_equal(ev.scalar, res.scalar):
                return f"expected scalar {ev.scalar}, got {res.scalar}"
            return None
        if res.type == "matrix":
            if ev.range_vector is None:
                return "received range result on instant evaluation"
            return _compare_matrix(ev, res, *ev.range_vector)
        if res.type == "string":
            return f"unexpected string result {res.string!r}"
        if ev.scalar is not None:
            return f"expected scalar {ev.scalar}, got vector of {len(res.series)}"
        got: list[tuple[Labels, Any]] = [
            (s.labels, s.histograms[0] if s.histograms else float(s.values[0])) for s in res.series
        ]
        exp = [(lab, vals[0] if vals else None) for lab, vals in ev.series]
        if len(got) != len(exp):
            return f"expected {len(exp)} samples, got {len(got)}: got {_fmt(got)}, expected {_fmt(exp)}"
        gmap = {lab: v for lab, v in got}
        for i, (lab, v) in enumerate(exp):
            if lab not in gmap:
                return f"expected series {lab} not in result {_fmt(got)}"
            diff = _value_diff(v, gmap[lab], bool(ev.hints[i][0]) if ev.hints[i] else False)
            if diff is not None:
                return f"{lab}: {diff}"
            if ev.ordered and got[i][0] != lab:
                return f"order mismatch at {i}: expected {lab}, got {got[i][0]}"
        return None
    if ev.range_vector is not None:
        return "expected a range vector, got a range query's result"
    return _compare_matrix(ev, res, ev.start, ev.end, ev.step)


def _compare_matrix(ev: _Eval, res: Result, start: float, end: float, step: float) -> str | None:
    """A range query's result, or an instant query's range vector (`expect range vector`), against the
    expected series: point i of a series is expected at start + i * step."""
    gotm = {s.labels: s for s in res.series}
    if len(gotm) != len(ev.series):
        return f"expected {len(ev.series)} series, got {len(gotm)}: {sorted(str(k) for k in gotm)}"
    times = np.arange(round(start * 1000), round(end * 1000) + 1, round(step * 1000))
    for (lab, vals), hints in zip(ev.series, ev.hints, strict=True):
        s = gotm.get(lab)
        if s is None:
            return f"expected series {lab} not in result {sorted(str(k) for k in gotm)}"
        if len(vals) > len(times):
            return f"expected {len(vals)} points for {lab}, but query time range cannot return this many points"
        exp_pts = [(int(times[i]), v, hints[i]) for i, v in enumerate(vals) if v is not None]
        hl = s.histograms or [None] * len(s.timestamps)
        got_pts = [(round(t * 1000), h if h is not None else float(v))
                   for t, v, h in zip(s.timestamps, s.values, hl, strict=True)]
        # Prometheus compares the float points and the histogram points of a series separately.
        for want_h in (False, True):
            ep = [(t, v, hs) for t, v, hs in exp_pts if isinstance(v, float) != want_h]
            gp = [(t, v) for t, v in got_pts if isinstance(v, float) != want_h]
            if len(ep) != len(gp):
                return (f"{lab}: expected {len(ep)} {'histogram' if want_h else 'float'} points, got {len(gp)}: "
                        f"{_fmt_pts(gp)}")
            for (et, evv, hs), (gt, gv) in zip(ep, gp, strict=True):
                diff = _value_diff(evv, gv, hs)
                if et != gt or diff is not None:
                    return f"{lab}: expected {_fmt_val(evv)}@{et}, got {_fmt_val(gv)}@{gt}"
    return None


def _fmt_val(v: Any) -> str:
    return v.test_expression() if isinstance(v, FloatHistogram) else str(v)


def _fmt_pts(pts: list[tuple[int, Any]]) -> str:
    return "[" + ", ".join(f"{_fmt_val(v)}@{t}" for t, v in pts[:6]) + (" ...]" if len(pts) > 6 else "]")


def _value_diff(exp: Any, got: Any, hint_set: bool) -> str | None:
    """None when an expected value (float or FloatHistogram) matches a result value as promqltest
    compares them, else a description of the difference."""
    if exp is None:
        return f"expected no value, got {_fmt_val(got)}"
    if isinstance(exp, FloatHistogram) or isinstance(got, FloatHistogram):
        if not isinstance(got, FloatHistogram):
            return f"expected histogram {_fmt_val(exp)}, got float {got}"
        if not isinstance(exp, FloatHistogram):
            return f"expected float {exp}, got histogram {got.test_expression()}"
        if not histograms_match(exp.compact(0), got.compact(0), hint_set):
            return f"expected {exp.test_expression()}, got {got.test_expression()}"
        return None
    if not almost_equal(exp, got):
        return f"expected {exp}, got {got}"
    return None


def _spans_match(s1: list[Any], s2: list[Any]) -> bool:
    """promqltest's spansMatch: the same layout once zero-length spans are folded into the next one."""

    def fold(spans: list[Any]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        carry = 0
        for sp in spans:
            if sp.length == 0:
                carry += sp.offset
                continue
            out.append((sp.offset + carry, sp.length))
            carry = 0
        return out

    return fold(s1) == fold(s2)


def histograms_match(exp: FloatHistogram, cur: FloatHistogram, hint_set: bool) -> bool:
    """promqltest's compareNativeHistogram (both already compacted)."""
    if (exp.schema != cur.schema or not almost_equal(exp.count, cur.count)
            or not almost_equal(exp.sum, cur.sum)):
        return False
    if exp.uses_custom_buckets() and list(exp.custom_values) != list(cur.custom_values):
        return False
    if exp.zero_threshold != cur.zero_threshold or not almost_equal(exp.zero_count, cur.zero_count):
        return False
    for es, cs, eb, cb in ((exp.negative_spans, cur.negative_spans, exp.negative_buckets, cur.negative_buckets),
                           (exp.positive_spans, cur.positive_spans, exp.positive_buckets, cur.positive_buckets)):
        if not _spans_match(es, cs) or len(eb) != len(cb):
            return False
        if not all(almost_equal(a, b) for a, b in zip(eb, cb, strict=True)):
            return False
    return not (hint_set and exp.counter_reset_hint != cur.counter_reset_hint)


def _fmt(items: Sequence[tuple[Labels, Any]]) -> str:
    return "[" + ", ".join(f"{lab} {_fmt_val(v)}" for lab, v in items[:8]) + (" ..." if len(items) > 8 else "") + "]"


_PROMQLTEST_FEATURES = frozenset({"promql-delayed-name-removal", "promql-experimental-functions",
                                  "promql-extended-range-selectors"})


def run_text(text: str, name: str = "<text>", v3: bool = False, version: _HasVersion | None = None) -> FileResult:
    """`version`: the Prometheus whose semantics to evaluate with; None: 3.5 with `v3`, else 2.42 (the
    versions of the two corpora in ../shared/data/prometheus)."""
    result = FileResult(name)
    storage = Storage()
    if version is None:
        version = Version(3, 5) if v3 else Version(2, 42)
    # 3.x's promqltest runs with delayed `__name__` removal and the experimental functions on.
    options = engine_options(version, _PROMQLTEST_FEATURES)
    engine = Engine(storage, **options)
    # `{{..}}+{{..}}xN` across custom buckets of different bounds expands from 3.8, as the arithmetic
    reconcile = options["nhcb_reconcile"]
    # 3.16's promqltest engine keeps start timestamps (UseStartTimestamps: true); 0 for samples without one
    storage.start_timestamps = {}
    lines = text.splitlines()
    i = 0
    current: _Eval | None = None
    load_error: str | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            if load_error and not current.error:
                current.error = f"data not loaded: {load_error}"
            result.cases.append(_finish_case(current, engine))
            current = None

    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            # Prometheus reads a comment line as a blank line: it ends an eval or load block.
            flush()
            continue
        # Like Prometheus's parser: every non-blank line after an eval command belongs to it
        # (indentation is customary but not required).
        if current is not None:
            try:
                if stripped.startswith("expected_fail_message"):
                    current.fail_msg = stripped[len("expected_fail_message") :].strip()
                elif stripped.startswith("expected_fail_regexp"):
                    current.fail_regex = stripped[len("expected_fail_regexp") :].strip()
                elif stripped.startswith("expect "):
                    _parse_expect(current, stripped[len("expect ") :].strip())
                else:
                    _parse_expected(current, stripped, reconcile)
            except ValueError as exc:
                current.error = f"line {lineno}: cannot parse expected result: {exc}"
            continue
        flush()
        m = _LOAD_RE.match(stripped)
        if m:
            step = parse_duration(m.group(2))
            loaded: list[tuple[dict[str, str], list[int], list[Any]]] = []
            pending_st: tuple[dict[str, str], list[int | None]] | None = None
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("#"):
                sl = lines[i].strip()
                i += 1
                head_tail = sl.split(None, 1)
                if head_tail[0].endswith("@st") and len(head_tail) == 2:
                    # `metric{labels}@st <offsets>`: start timestamps of the next line's samples
                    try:
                        st_labels, _ = parse_series_desc(head_tail[0][:-3] + " _")
                        pending_st = (st_labels, parse_st_sequence(head_tail[1]))
                    except ValueError as exc:
                        load_error = f"line {i}: invalid @st line: {exc}"
                    continue
                try:
                    labels, vals = parse_series_desc(sl, reconcile=reconcile)
                except ValueError as exc:
                    load_error = f"line {i}: {exc}"
                    continue
                ts = [round(k * step * 1000) for k, v in enumerate(vals) if v is not None]
                vs = [v for v in vals if v is not None]
                loaded.append((labels, ts, vs))
                add_samples(storage, labels, ts, vs)
                if pending_st is not None:
                    st_labels, offsets = pending_st
                    pending_st = None
                    if st_labels != labels or len(offsets) != len(vals):
                        load_error = f"line {i}: the @st line does not match the sample line"
                        continue
                    storage.set_start_timestamps(labels, ts, [
                        round(k * step * 1000) + off if off is not None else 0
                        for k, (v, off) in enumerate(zip(vals, offsets, strict=True)) if v is not None])
            if m.group(1):
                for labels, ts, hs in classic_to_nhcb(loaded):
                    add_samples(storage, labels, ts, hs)
            continue
        if stripped == "clear":
            storage.clear()
            load_error = None
            continue
        m = _EVAL_RE.match(stripped)
        if m:
            mod, at, expr = m.groups()
            try:
                current = _Eval(lineno, expr, "instant", _time(at), fail=mod == "fail", ordered=mod == "ordered")
            except ValueError as exc:
                result.cases.append(CaseResult(lineno, expr, False, f"bad eval line: {exc}"))
            continue
        m = _RANGE_RE.match(stripped)
        if m:
            mod, start, end, step_s, expr = m.groups()
            try:
                current = _Eval(
                    lineno, expr, "range", _time(start), _time(end), _time(step_s), fail=mod == "fail",
                    ordered=mod == "ordered",
                )
            except ValueError as exc:
                result.cases.append(CaseResult(lineno, expr, False, f"bad eval line: {exc}"))
            continue
        result.cases.append(CaseResult(lineno, stripped, False, f"unsupported command: {stripped[:60]}"))
    flush()
    return result


def add_samples(storage: Storage, labels: dict[str, str], ts: list[int], vals: list[Any]) -> None:
    """Add expanded samples (floats and FloatHistograms) to a Storage. The histograms get the
    counter-reset hints they read back with from promqltest's TSDB head (opsctl.promql.headchunks)."""
    if any(isinstance(v, FloatHistogram) for v in vals):
        vals = [v for _, v in assign_hints(list(zip(ts, vals, strict=True)))]
        hs = [v if isinstance(v, FloatHistogram) else None for v in vals]
        storage.add(labels, ts, [0.0 if h is not None else v for v, h in zip(vals, hs, strict=True)], hs)
    else:
        storage.add(labels, ts, vals)


def classic_to_nhcb(
    series: list[tuple[dict[str, str], list[int], list[Any]]],
) -> list[tuple[dict[str, str], list[int], list[Any]]]:
    """promqltest's `load_with_nhcb`: classic histogram series (`_bucket` with `le`, `_count`, `_sum`)
    become native histograms with custom buckets (schema -53) named after the base metric, one per
    timestamp (Prometheus's util/convertnhcb); samples that do not convert are skipped."""
    groups: dict[Labels, dict[int, dict[str, Any]]] = {}
    for labels, ts, vals in series:
        name = labels.get("__name__", "")
        kind = next((k for k in ("_bucket", "_sum", "_count") if name.endswith(k)), None)
        if kind is None:
            continue
        base = {k: v for k, v in labels.items() if k != "le"}
        base["__name__"] = name[: -len(kind)]
        le = None
        if kind == "_bucket":
            if "le" not in labels:
                continue
            try:
                le = float(labels["le"].strip().replace("+Inf", "inf"))
            except ValueError:
                continue
            if math.isnan(le):
                continue
        per_ts = groups.setdefault(Labels(base), {})
        for t, v in zip(ts, vals, strict=True):
            if isinstance(v, FloatHistogram):
                continue
            temp = per_ts.setdefault(t, {"buckets": {}, "count": None, "sum": 0.0, "err": False})
            if kind == "_bucket":
                assert le is not None
                if v < 0:
                    temp["err"] = True
                temp["buckets"].setdefault(le, v)
            elif kind == "_count":
                if v < 0:
                    temp["err"] = True
                temp["count"] = v
            else:
                temp["sum"] = v
    out: list[tuple[dict[str, str], list[int], list[Any]]] = []
    for base_labels, per_ts in groups.items():
        ts_out: list[int] = []
        hs_out: list[Any] = []
        for t in sorted(per_ts):
            h = _convert_temp(per_ts[t])
            if h is not None:
                ts_out.append(t)
                hs_out.append(h)
        if ts_out:
            out.append((dict(base_labels), ts_out, hs_out))
    return out


def _convert_temp(temp: dict[str, Any]) -> FloatHistogram | None:
    if temp["err"]:
        return None
    buckets = sorted(temp["buckets"].items())
    count = temp["count"]
    if count is None:
        if not buckets:
            return None
        count = buckets[-1][1]
    if not buckets or buckets[-1][0] != math.inf:
        buckets.append((math.inf, count))
    prev = 0.0
    deltas: list[float] = []
    for _, c in buckets:
        if c < prev:
            return None
        deltas.append(c - prev)
        prev = c
    if count != buckets[-1][1]:
        return None
    h = FloatHistogram(
        schema=CUSTOM_BUCKETS_SCHEMA,
        count=float(count),
        sum=float(temp["sum"]),
        positive_spans=[Span(0, len(buckets))],
        positive_buckets=deltas,
        custom_values=[le for le, _ in buckets[:-1]],
    )
    integer = all(c == round(c) for _, c in buckets) and count == round(count)
    return h.compact(2 if integer else 0)


_EXPECT_RANGE_RE = re.compile(r"^range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")


def _parse_expect(ev: _Eval, text: str) -> None:
    if text.startswith("fail"):
        ev.fail = True
        rest = text[4:].strip()
        if rest.startswith("msg:"):
            ev.fail_msg = rest[4:].strip()
        elif rest.startswith("regex:"):
            ev.fail_regex = rest[6:].strip()
    elif text == "ordered":
        ev.ordered = True
    elif text.startswith("range vector"):
        m = _EXPECT_RANGE_RE.match(text)
        if m is None:
            raise ValueError(f"invalid range vector definition {text!r}")
        start, end, step = (parse_duration(g.strip()) for g in m.groups())
        if end < start:
            raise ValueError(f"invalid range vector definition {text!r}: end before start")
        ev.range_vector = (start, end, step)
    elif text.startswith("string"):
        rest = text[6:].strip()
        ev.expect_string = rest[1:-1] if len(rest) >= 2 and rest[0] in "\"'`" else rest
    elif text.split()[0] in ("warn", "info", "no_warn", "no_info"):
        return
    else:
        raise ValueError(f"unsupported expect line {text!r}")


def run_file(path: str | Path, v3: bool = False, version: _HasVersion | None = None) -> FileResult:
    p = Path(path)
    return run_text(p.read_text(encoding="utf-8"), str(p), v3=v3, version=version)


def run_path(path: str | Path, v3: bool = False, version: _HasVersion | None = None) -> list[FileResult]:
    p = Path(path)
    files = sorted(p.glob("*.test")) if p.is_dir() else [p]
    return [run_file(f, v3=v3, version=version) for f in files]
