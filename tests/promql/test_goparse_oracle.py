"""Parse errors as Prometheus 2.42 words them (issue 12 points 4 and 7), against promtool.

Every expression below goes into one promtool unit-test file as a promql_expr_test; promtool prints
`expr: "...", time: 0s, err: <error>` for each. opsctl.promql.goparse.syntax_error must give the same
text (position and message) whenever promtool's error is a parse error our port covers, and None when
promtool accepts the expression's syntax.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.promql_goparse import syntax_error
from tests.conftest import find_tool

BAD = [
    "x +", "foo bar", "sum by (a b) (x)", "1 +* 2", "sum(rate(x[5m])", 'x{a="1}', "x)", "x @ 6m", "x $", "x[5m",
    "foo{", "x offset", "sum(x) by", "x and", "(x", "x[5m:1m", "nofunc(x)", "x @ -6m", "x @ start", "x offset 300",
    "x[300]", "x[5m 1m]", "x[5m:1m 2]", "x[5m:x]", "x[]", "x[", "sum x", "sum(x) by (a,,b)", "sum by (a:b) (x)",
    "sum by (1) (x)", "x{a}", "x{a=}", 'x{a="1" b="2"}', 'x{="1"}', "x{a!b}", 'x{a="1",,}', "x{{}", "x{a=~1}",
    "x == on", "x == on(a) group_left(", "x + on(a,) y", "x{\u00e9}", "rate(x[5m],)", "rate(", "rate(x[5m]",
    "((x)", "x))", "]", "x]", "[5m]", "{}", "-", "x + - ", "x offset 5m offset", "x @ 1 @", "'abc", "`abc",
    "'a\\qb'", "x !y", "x =~ y", "x ! y", "1e", "0x", "5mx", "x[5mm]", "x[5m5]", "x[1.5m]", "sum(x) without",
    "topk(2)", "x bool", "x + bool y", "x @ end(", "x @ end()(", "on(a) x", "by", "x by", "time() :",
    "x # comment\n+", "x\n+\n", "x\n  foo", "label_replace(x, \"a\", \"b\", \"c\", )", "sum(x) by (a) (y)",
    "absent(nonexistent{job=\"myjob\"}) ,", "1 2", "\"a\" \"b\"", "x{a=\"b\"} {c=\"d\"}", "1e400", "x @ 1e",
    "x offset 5h3", "x[5d3h]", "x[3h5d]", "x[0x10m]",
    # inside an aggregation's arguments at any depth, and right after a comma in a call (grammar error rules)
    "sum(x y)", "sum(abs(x > ,))", "topk(, x)", "round(x, =)", "count_values(x, )", "sum by (a) (x, =)",
    "abs(x > ,)", "sum(x, 1h)", "x > 1h", "topk(5m, x)", "sum(abs(x > 5m))", "abs(sum(x) > 5m)",
    "predict_linear(x[5m], 1h)", "topk(1, round(x, 1h))",
]
GOOD = ["x", "x @ 100", "x @ -1.5", "x @ start()", "x offset -5m", "x[5m:]", "x[5m:1m] offset 1h @ end()",
        "sum by (a, b,) (x)", "sum(x) without ()", 'x{a="1",}', "x and on() y", "x == bool y",
        "x + on(a) group_left y", "x + ignoring(a) group_right(b, c) y", "-x ^ 2", "+1", "1e3 + 0x1f + .5 + Inf + nan",
        "topk(3, x) by (a)", "count_values(\"v\", x)", "sum", "x # trailing comment", "rate(x[1h30m])",
        "min(sum)", "on", "x{on=\"1\"}", "and", "x offset 1y"]


_NOT_PORTED = ("expected type", "must contain", "no expression", "wrong number of arguments", "bool modifier")


def test_syntax_errors_equal_promtool(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    lines = ["tests:", "  - promql_expr_test:"]
    for expr in BAD + GOOD:
        lines.append(f"      - expr: {json.dumps(expr)}")
        lines.append("        exp_samples: []")
    (tmp_path / "t.yml").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([promtool, "test", "rules", "t.yml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    out = proc.stdout + proc.stderr
    errors: dict[str, str] = {}
    for m in re.finditer(r'expr: ("(?:[^"\\\n]|\\.)*"), time: 0s, err: (.*)', out):
        errors[json.loads(m.group(1))] = m.group(2)
    problems = []
    covered = 0
    for expr in BAD + GOOD:
        want = errors.get(expr)
        got = syntax_error(expr)
        if want is None or "parse error" not in want:
            if got is not None:
                problems.append(f"{expr!r}: promtool has no parse error ({want!r}), opsctl: {got!r}")
            continue
        if got is None and any(m in want for m in _NOT_PORTED):
            continue  # type and arity errors: left to promql-parser
        covered += 1
        if got != want:
            problems.append(f"{expr!r}:\n  promtool: {want}\n  opsctl:   {got}")
    assert covered >= 80, covered
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems)


_PIECES = [*"xyz(){}[]@,:=!~<>+-*/^%\"'` 0123456789.msh\n#_", "sum", " by ", " on", "offset ", "rate", "bool",
           "group_left"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20).map("".join))
def test_syntax_error_never_crashes(text: str) -> None:
    res = syntax_error(text)
    assert res is None or re.match(r"^(\d+:\d+:|invalid position:) parse error: .+", res)
