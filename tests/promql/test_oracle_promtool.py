"""Oracle: opsctl's PromQL results must satisfy real `promtool test rules` (Prometheus 2.42).

We evaluate 146 expressions at 5 times with opsctl, write the results as
`promql_expr_test` expectations and let promtool check them. promtool compares values exactly
(bit for bit), so this also pins down summation order and formula details.

One caveat: promtool loads the input series in Go map order (random per run), and Prometheus
aggregates series in storage order, so `avg`/`stddev`/`sum` over inexact values can differ in the
last bit from run to run of promtool itself. For those order-sensitive aggregations we read the
values promtool reports and accept a difference of a few ulps (relative 1e-12); every other case
must match exactly.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from opsctl.durations import parse_duration
from opsctl.promql import Engine, PromQLError, Storage
from opsctl.promql.notation import parse_series_desc
from tests.conftest import find_tool
from tests.promql.oracle_cases import EVAL_TIMES, EXPRESSIONS, INTERVAL, series_lines


def _value(v: float) -> str:
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    return repr(float(v))


def build_cases() -> tuple[str, int, int]:
    """(promtool test YAML, compared cases, skipped cases)."""
    storage = Storage()
    step = parse_duration(INTERVAL)
    lines = series_lines()
    for sel, vals in lines:
        labels, values = parse_series_desc(f"{sel} {vals}")
        ts = [round(i * step * 1000) for i, v in enumerate(values) if v is not None]
        storage.add(labels, ts, [v for v in values if v is not None])
    engine = Engine(storage, default_subquery_step=60.0)
    out = ["evaluation_interval: 1m", "tests:", f"  - interval: {INTERVAL}", "    input_series:"]
    for sel, vals in lines:
        out.append(f"      - series: {json.dumps(sel)}")
        out.append(f"        values: {json.dumps(vals)}")
    out.append("    promql_expr_test:")
    compared = skipped = 0
    for expr in EXPRESSIONS:
        for at in EVAL_TIMES:
            try:
                res = engine.instant(expr, parse_duration(at))
            except PromQLError:
                skipped += 1
                continue
            if res.type == "scalar":
                assert res.scalar is not None
                samples = [("{}", res.scalar)]
            else:
                assert res.type == "vector", (expr, res.type)
                samples = [(str(s.labels) if len(s.labels) else "{}", float(s.values[0])) for s in res.series]
            if any(math.isnan(v) for _, v in samples):
                skipped += 1  # promtool compares with reflect.DeepEqual: NaN never equals NaN
                continue
            compared += 1
            out.append(f"      - expr: {json.dumps(expr)}")
            out.append(f"        eval_time: {at}")
            if not samples:
                out.append("        exp_samples: []")
                continue
            out.append("        exp_samples:")
            for lab, v in samples:
                out.append(f"          - labels: {json.dumps(lab)}")
                out.append(f"            value: {_value(v)}")
    return "\n".join(out) + "\n", compared, skipped


_ORDER_SENSITIVE = re.compile(r"^(avg|stddev|stdvar|sum)\b")
_FAIL_RE = re.compile(r'expr: "(.*?)", time: (\S+?),\n\s+exp: (.*)\n\s+got: (.*)\n')
_SAMPLE_RE = re.compile(r'(\S*\{.*?\}) (\S+?)(?:, |$)')


def _samples(text: str) -> dict[str, float]:
    return {lab: float(v) for lab, v in _SAMPLE_RE.findall(text.strip())}


def _close(a: dict[str, float], b: dict[str, float]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(math.isclose(a[k], b[k], rel_tol=1e-12, abs_tol=0.0) for k in a)


def test_promtool_agrees(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    text, compared, skipped = build_cases()
    assert compared >= 600, (compared, skipped)
    path = tmp_path / "oracle_test.yml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    hard = []
    for expr, at, exp, got in _FAIL_RE.findall(output):
        if _ORDER_SENSITIVE.match(expr) and _close(_samples(exp), _samples(got)):
            continue
        hard.append(f"{expr} @ {at}\n  opsctl:   {exp}\n  promtool: {got}")
    if proc.returncode != 0 and not _FAIL_RE.search(output):
        pytest.fail(f"promtool failed without case diagnostics:\n{output[:4000]}")
    assert not hard, f"promtool disagrees on {len(hard)} of {compared} cases:\n" + "\n".join(hard[:20])
