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

import numpy as np

from opsctl.durations import parse_duration
from opsctl.gosem import regexp as gosem_regexp
from opsctl.promql.engine import Engine
from opsctl.promql.model import Labels, PromQLError, Result, Storage
from opsctl.promql.notation import parse_number, parse_series_desc

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
    series: list[tuple[Labels, list[float | None]]] = field(default_factory=list)
    error: str | None = None


def _parse_expected(ev: _Eval, text: str) -> None:
    text = text.strip()
    if ev.kind == "instant":
        try:
            ev.scalar = parse_number(text)
            return
        except ValueError:
            pass
    labels, vals = parse_series_desc(text)
    ev.series.append((Labels(labels), vals))


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
            return "received range result on instant evaluation"
        if res.type == "string":
            return f"unexpected string result {res.string!r}"
        if ev.scalar is not None:
            return f"expected scalar {ev.scalar}, got vector of {len(res.series)}"
        got = [(s.labels, float(s.values[0])) for s in res.series]
        exp = [(lab, vals[0] if vals else None) for lab, vals in ev.series]
        if len(got) != len(exp):
            return f"expected {len(exp)} samples, got {len(got)}: got {_fmt(got)}, expected {_fmt(exp)}"
        gmap = {lab: v for lab, v in got}
        for i, (lab, v) in enumerate(exp):
            if lab not in gmap:
                return f"expected series {lab} not in result {_fmt(got)}"
            if v is None or not almost_equal(v, gmap[lab]):
                return f"{lab}: expected {v}, got {gmap[lab]}"
            if ev.ordered and got[i][0] != lab:
                return f"order mismatch at {i}: expected {lab}, got {got[i][0]}"
        return None
    # range
    gotm = {s.labels: s for s in res.series}
    if len(gotm) != len(ev.series):
        return f"expected {len(ev.series)} series, got {len(gotm)}: {sorted(str(k) for k in gotm)}"
    times = np.arange(round(ev.start * 1000), round(ev.end * 1000) + 1, round(ev.step * 1000))
    for lab, vals in ev.series:
        s = gotm.get(lab)
        if s is None:
            return f"expected series {lab} not in result {sorted(str(k) for k in gotm)}"
        exp_pts = [(int(times[i]), v) for i, v in enumerate(vals) if v is not None and i < len(times)]
        got_pts = [(round(t * 1000), float(v)) for t, v in zip(s.timestamps, s.values, strict=True)]
        if len(exp_pts) != len(got_pts):
            return f"{lab}: expected {len(exp_pts)} points, got {len(got_pts)}: {got_pts[:10]}"
        for (et, evv), (gt, gv) in zip(exp_pts, got_pts, strict=True):
            if et != gt or not almost_equal(evv, gv):
                return f"{lab}: expected {evv}@{et}, got {gv}@{gt}"
    return None


def _fmt(items: Sequence[tuple[Labels, float | None]]) -> str:
    return "[" + ", ".join(f"{lab} {v}" for lab, v in items[:8]) + (" ..." if len(items) > 8 else "") + "]"


def run_text(text: str, name: str = "<text>", v3: bool = False) -> FileResult:
    result = FileResult(name)
    storage = Storage()
    engine = Engine(storage, v3=v3)
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
            if not stripped:
                flush()
            continue
        if current is not None and raw[:1] in (" ", "\t"):
            try:
                if stripped.startswith("expected_fail_message"):
                    current.fail_msg = stripped[len("expected_fail_message") :].strip()
                elif stripped.startswith("expected_fail_regexp"):
                    current.fail_regex = stripped[len("expected_fail_regexp") :].strip()
                elif stripped.startswith("expect "):
                    _parse_expect(current, stripped[len("expect ") :].strip())
                else:
                    _parse_expected(current, stripped)
            except ValueError as exc:
                current.error = f"line {lineno}: cannot parse expected result: {exc}"
            continue
        flush()
        m = _LOAD_RE.match(stripped)
        if m:
            step = parse_duration(m.group(2))
            while i < len(lines) and lines[i].strip() and lines[i][:1] in (" ", "\t"):
                sl = lines[i].strip()
                i += 1
                if sl.startswith("#"):
                    continue
                if "{{" in sl:
                    # Native histogram series are skipped; a case touching them fails on its own
                    # (its expected output has histogram values or different counts).
                    continue
                try:
                    labels, vals = parse_series_desc(sl)
                except ValueError as exc:
                    load_error = f"line {i}: {exc}"
                    continue
                ts = [round(k * step * 1000) for k, v in enumerate(vals) if v is not None]
                vs = [v for v in vals if v is not None]
                storage.add(labels, ts, vs)
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
    elif text.startswith("string"):
        rest = text[6:].strip()
        ev.expect_string = rest[1:-1] if len(rest) >= 2 and rest[0] in "\"'`" else rest
    elif text.split()[0] in ("warn", "info", "no_warn", "no_info"):
        return
    else:
        raise ValueError(f"unsupported expect line {text!r}")


def run_file(path: str | Path, v3: bool = False) -> FileResult:
    p = Path(path)
    return run_text(p.read_text(encoding="utf-8"), str(p), v3=v3)


def run_path(path: str | Path, v3: bool = False) -> list[FileResult]:
    p = Path(path)
    files = sorted(p.glob("*.test")) if p.is_dir() else [p]
    return [run_file(f, v3=v3) for f in files]
