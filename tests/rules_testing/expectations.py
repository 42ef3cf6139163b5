"""Rule unit-test files whose expectations opsctl computes: run once with none, read what it got from the
failures, write them in. The promtool 3.16 oracle tests (Kahan sums, custom buckets of different bounds, the
functions added after 3.5) then give promtool the file with opsctl's answers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opsctl.rules.unittest import run_test_file
from opsctl.rules.versions import PromVersion

# (expression, eval_time) -> expected samples ({"labels": {...}, "value": x} or {..., "histogram": "{{...}}"})
Cases = dict[tuple[str, str], list[dict[str, Any]]]


def yaml_float(v: Any) -> str:
    v = float(v)
    return ".nan" if math.isnan(v) else (".inf" if v > 0 else "-.inf") if math.isinf(v) else repr(v)


def unit_test_text(series: Sequence[tuple[str, str]], exprs: Sequence[str], eval_times: Sequence[str],
                   exp: Cases, rule_files: Sequence[str] = ()) -> str:
    """One test group (interval 1m) with `series` as input and a promql_expr_test per expression and time."""
    out = [f"rule_files: {json.dumps(list(rule_files))}", "evaluation_interval: 1m", "tests:", "  - interval: 1m",
           "    input_series:"]
    for sel, vals in series:
        out += [f"      - series: {json.dumps(sel)}", f"        values: {json.dumps(vals)}"]
    out.append("    promql_expr_test:")
    for expr in exprs:
        for at in eval_times:
            out += expr_test_lines(expr, at, exp.get((expr, at), []))
    return "\n".join(out) + "\n"


def expr_test_lines(expr: str, at: str, samples: list[dict[str, Any]],
                    value_text: Callable[[Any], str] = yaml_float) -> list[str]:
    """One promql_expr_test item (indented for a test group) expecting `samples`."""
    out = [f"      - expr: {json.dumps(expr)}", f"        eval_time: {at}"]
    if not samples:
        return [*out, "        exp_samples: []"]
    out.append("        exp_samples:")
    for s in samples:
        lab = "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in s["labels"].items()) + "}"
        out.append(f"          - labels: {json.dumps(lab)}")
        if "histogram" in s:
            out.append(f"            histogram: {json.dumps(s['histogram'])}")
        else:
            out.append(f"            value: {value_text(s['value'])}")
    return out


def probe(tmp: Path, version: PromVersion, series: Sequence[tuple[str, str]], exprs: Sequence[str],
          eval_times: Sequence[str], rule_files: Sequence[str] = (), features: frozenset[str] = frozenset(),
          ) -> Cases:
    """What opsctl gets at `version` for every case: run with empty expectations, read the failures."""
    p = tmp / f"probe_{version.major}_{version.minor}_test.yml"
    p.write_text(unit_test_text(series, exprs, eval_times, {}, rule_files))
    res = run_test_file(p, version, features)
    assert res.error is None, res.error
    exp: Cases = {}
    for g in res.groups:
        for f in g.failures:
            assert f.kind == "expr", f.message
            assert f.expr is not None and f.eval_time is not None and f.got is not None
            exp[(f.expr, f.eval_time)] = f.got
    return exp
