"""pint's promql/impossible, group/interval and the arithmetic-between-aggregations part of promql/fragile:
cases that trigger each, close variants that do not, and pint's own test cases where pint has them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.rules.checks.promql_fragile import partial_data
from opsctl.rules.checks.promql_impossible import analyse
from opsctl.rules.config import RulesConfig
from opsctl.rules.loader import parse_rule_file, parse_rule_text
from opsctl.rules.model import Finding
from opsctl.rules.promql_ast import parse
from opsctl.rules.validate import check_files


def _findings(text: str, check: str) -> list[Finding]:
    rf = parse_rule_text(text, "t.yml")
    return [f for f in check_files([rf], RulesConfig(runbooks_dir=None)).findings if f.check == check]


def _alert(expr: str, extra: str = "") -> str:
    return f"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '{expr}'\n{extra}"


IMPOSSIBLE = [
    # (expression, a word of the message) - pint's docs examples first
    ('foo{job="bar"} unless sum(foo)', "never removes"),
    ("group by (cluster) (sum(errors))", "by (cluster)"),
    ("sum(foo) / on(cluster) count(bar)", "on (cluster)"),
    ("vector(1) > 2", "always false"),
    ("vector(1) > bool 2", "always returns 0"),
    ("x unless on() vector(1)", "never returns anything"),
    ("vector(0) or sum(x)", "never used"),
    ("x * on(instance) group_left(team) sum(y)", "group_left(team)"),
    ('sum(a) and b{job="x"}', "never returns anything"),
    ('absent(up{job="a"}) * on(instance) up', "on (instance)"),
    ("sum without (a) (x) / on(a) y", "on (a)"),
    ('x{a=""} / on(a) y', "on (a)"),
    ("histogram_quantile(0.9, rate(x_bucket[5m])) * on(le) y", "`le`"),
    # the awesome-prometheus-alerts Mimir rule: ignoring(limit) drops `limit` from the result (promtool
    # confirms the alert never fires), so `and x{limit="max_series"}` never matches
    ('(a / ignoring(limit) b{limit="max_series"} * 100 > 80) and b{limit="max_series"} > 0', "`limit`"),
]

POSSIBLE = [
    "vector(1)",
    "sum(x) or vector(0)",
    "vector(0) or x",  # x's series have labels: `or` adds them
    "foo > 1",
    "count(x) == 0",
    "sum by (job) (a) / sum by (job) (b) > 1",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m]))) > 1",
    'up{job="a"} == 0 and on(instance) sum by (instance) (y) > 0',
    'foo{job="a"} / ignoring(job) sum(bar)',
    "sum(x) / sum(y) > 0",
    "x / on() group_left sum(y)",
    'foo{job="bar"} or sum(foo)',  # pint reports the right side of `or` as dead; its series are all added
    'label_replace(sum(x), "instance", "$1", "host", "(.*)") * on(instance) y',
    "time() - x > 3600",
    "x * on(instance) group_left(team) y",
    'x{team="a"} * on(instance) group_left(team) y',  # only an info note (replaces team)
    "sum(rate(x[5m])) by (instance) * on(instance) group_left(nodename) node_uname_info",
    # group_right without labels: the result carries the right side's labels (pint's "false positive
    # aggregation" case of promql/fragile)
    'count by (dc) (max(0 < (token_expiration - time()) < (6*60*60)) by (instance) * on (instance) group_right '
    'label_replace(configured_minions, "instance", "$1", "minion", "(.+)")) > 5',
    "sum by (job) (x / ignoring(instance) group_left y)",
    "sum by (team) (foo * on(instance) group_left(team) bar)",
    "(service_ready and on (instance) (service_errors == 0)) * on (cluster) group_left(env, location) cluster_info",
]

# pint's unused and orphaned joined labels: notes (info) only
JOINED_NOTES = [
    ("sum by (job) (foo * on(instance) group_left(team) bar)", "removed again by `sum`"),
    ("service_ready and on (instance) (service_errors == 0) * on (cluster) group_left(env, location) cluster_info",
     "does not reach the result"),
]


@pytest.mark.parametrize(("expr", "words"), JOINED_NOTES)
def test_promql_impossible_joined_labels_are_notes(expr: str, words: str) -> None:
    found = analyse(parse(expr))
    assert found and all(sev is not None and sev.name == "info" for _, sev in found), found
    assert any(words in m for m, _ in found), found


@pytest.mark.parametrize(("expr", "word"), IMPOSSIBLE)
def test_promql_impossible_reports(expr: str, word: str) -> None:
    found = [m for m, sev in analyse(parse(expr)) if sev is None]
    assert found and any(word in m for m in found), (expr, found)


@pytest.mark.parametrize("expr", POSSIBLE)
def test_promql_impossible_quiet(expr: str) -> None:
    assert [m for m, sev in analyse(parse(expr)) if sev is None] == [], expr


def test_promql_impossible_in_a_rule_file_and_redundant_join_is_info() -> None:
    found = _findings(_alert('sum(foo) / on(cluster) count(bar) > 1'), "promql-impossible")
    assert [(f.severity.name, f.line) for f in found] == [("warning", 5)]
    found = _findings(_alert('x{team="a"} * on(instance) group_left(team) y > 1'), "promql-impossible")
    assert [f.severity.name for f in found] == ["info"]
    rec = "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: vector(1) > 2\n"
    assert len(_findings(rec, "promql-impossible")) == 1  # recording rules too, as pint


# pint's promql/fragile test cases (internal/checks/promql_fragile_test.go): expression -> reported
FRAGILE = [
    ('sum(selector{job="foo"}) / sum(selector{job="foo"} offset 30m) > 5', True),
    ('sum(selector{job="foo"}) * sum(selector{job="foo"} offset 30m) > 5', True),
    ('sum(selector{job="foo"}) + sum(selector{job="foo"} offset 30m) > 5', True),
    ('sum(selector{job="foo"}) - sum(selector{job="foo"} offset 30m) > 5', True),
    ('sum(selector{job="foo"}) ^ sum(selector{job="foo"} offset 30m) > 5', True),
    ('sum(selector{job="foo"}) % sum(selector{job="foo"} offset 30m) > 5', True),
    ('(sum(selector{job="foo"}) and sum(selector{job="foo"} offset 30m)) > 5', False),
    ('sum(selector{job="foo"}) / sum(selector{job="foo"} offset 30m)', False),
    ('sum(selector{job="foo"}) / selector{job="foo"} offset 30m > 5', False),
    ('sum(selector{job="foo"}) / sum(selector{job="bob"} offset 30m) > 5', True),
    ("sum(rate(metric_a[30m])) / sum(max_over_time(metric_b[30m])) >= 0.02", True),
    ('count by (dc) (max(0 < (token_expiration - time()) < (6*60*60)) by (instance) * on (instance) group_right '
     'label_replace(configured_minions, "instance", "$1", "minion", "(.+)")) > 5', False),
    ('sum(rate(kubelet_evictions{job="kubelet"}[15m])) by(cluster, eviction_signal, instance) * on (cluster, '
     'instance) group_left(node) max by (cluster, instance, node) (kubelet_node_name{job="kubelet"}) > 0', False),
    ("min(topk(10, foo)) > 5000", False),
    # more
    ("1 - sum(a) / sum(b) > 0.5", True),
    ("abs(sum(a) - sum(b)) > 5", False),
]


@pytest.mark.parametrize(("expr", "reported"), FRAGILE)
def test_fragile_partial_data_as_pint(expr: str, reported: bool) -> None:
    assert (partial_data(parse(expr)) is not None) == reported, expr


def test_fragile_partial_data_severity_and_for() -> None:
    apart = _alert('sum(foo{job="a"}) / sum(bar{job="b"}) > 0.1')
    assert [f.severity.name for f in _findings(apart, "promql-fragile")] == ["warning"]
    assert _findings(apart.replace("'\n", "'\n        for: 2m\n"), "promql-fragile") == []
    assert _findings(apart.replace("'\n", "'\n        for: 0s\n"), "promql-fragile") != []
    same = _alert("sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.1")
    assert [f.severity.name for f in _findings(same, "promql-fragile")] == ["info"]
    rec = "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(a{job=\"x\"}) / sum(b) > 1\n"
    assert _findings(rec, "promql-fragile") == []


def _group(interval: str, rules: str) -> str:
    return f"groups:\n  - name: g\n    interval: {interval}\n    rules:\n{rules}"


REC = "      - record: r\n        expr: sum(up)\n"
ALERT = "      - alert: A\n        expr: up == 0\n"


def test_group_interval(tmp_path: Path) -> None:
    path = tmp_path / "r.yml"
    path.write_text(_group("10m", REC + REC.replace("r\n", "r2\n")))
    found = [f for f in check_files([parse_rule_file(path)], RulesConfig(runbooks_dir=None)).findings
             if f.check == "group-interval"]
    assert [(f.line, f.column, f.severity.name) for f in found] == [(3, 5, "warning")]  # once, at `interval:`
    # without the file on disk: at the group
    assert [f.line for f in _findings(_group("10m", REC), "group-interval")] == [2]
    assert _findings(_group("5m", REC), "group-interval") == []
    assert _findings(_group("6m", ALERT), "group-interval") != []
    assert _findings(_group("10m", ALERT + "        keep_firing_for: 10m\n"), "group-interval") == []
    assert _findings(_group("10m", ALERT + "        keep_firing_for: 5m\n"), "group-interval") != []
    assert _findings("groups:\n  - name: g\n    rules:\n" + REC, "group-interval") == []  # no explicit interval


def test_dead_code_claims_hold_in_promtool(tmp_path: Path) -> None:
    """Oracle: every expression of IMPOSSIBLE that promql-impossible says never returns anything returns
    nothing in `promtool test rules`, on data where each of its two sides returns something."""
    import subprocess

    import promql_parser as pp

    from opsctl.promql_syntax import metric_names
    from tests.conftest import find_tool

    promtool = find_tool("promtool")
    dead = [expr for expr, _ in IMPOSSIBLE
            if any("never returns anything" in m for m, _ in analyse(parse(expr)))]
    assert len(dead) >= 4
    names = sorted({n for expr in dead for n in metric_names(parse(expr))})
    labels = 'cluster="c", team="t", limit="max_series"'
    series = "".join(
        f"      - series: '{n}{{job=\"{job}\", instance=\"{inst}\", {labels}}}'\n        values: '5+1x10'\n"
        for n in names for job, inst in (("x", "i1"), ("bar", "i2")))
    tests = ""
    for expr in dead:
        top = parse(expr)
        while isinstance(top, pp.ParenExpr):
            top = top.expr
        assert isinstance(top, pp.BinaryExpr)
        for side in (top.lhs, top.rhs):  # each (vector) side alone returns something
            if isinstance(side, pp.NumberLiteral):
                continue
            tests += f"      - expr: 'group({side})'\n        eval_time: 5m\n        exp_samples:\n" \
                     "          - labels: '{}'\n            value: 1\n"
        tests += f"      - expr: '{expr}'\n        eval_time: 5m\n        exp_samples: []\n"
    (tmp_path / "t.yml").write_text("tests:\n  - interval: 1m\n    input_series:\n" + series +
                                    "    promql_expr_test:\n" + tests)
    proc = subprocess.run([promtool, "test", "rules", str(tmp_path / "t.yml")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


GRID_SIDES = ['sum(a)', 'a{job="x"}', 'vector(1)', 'count by (job) (b)', 'absent(c{job="x"})',
              'sum without (job) (a)', 'a{job=""}', '1', 'time()', 'sum by (instance) (b)', 'b',
              'max by (team) (a{team="t"})', '(b > 3)', 'histogram_quantile(0.9, a)', 'vector(2) > 1',
              '(b * on(instance) group_left a)', '(a * on(job) group_right(team) count by (job) (b))']
GRID_OPS = ['and', 'unless', 'or', '+', '/', '>', '==', '> bool']
GRID_MODS = ['', 'on()', 'on(job)', 'ignoring(job)', 'on(instance) group_left(team)', 'on(job) group_right(team)',
             'on(team)']


def test_dead_code_claims_on_a_grid_of_expressions_hold_in_promtool(tmp_path: Path) -> None:
    """Oracle, soundness: every `side op modifier side` of a grid (about 7,700 valid expressions) that
    promql-impossible says never returns anything returns nothing in promtool, and every `unless` it says
    never removes anything / `or` whose right side it says is never used returns just its left side - on
    data where each side alone returns something. A query promtool rejects while evaluating (many-to-many
    matching: `ignoring (job)` leaves several right series alike) returns nothing too. And every label it
    says a side cannot have (`on (x)`, `group_left (x)`, matching on all labels) is on none of that side's
    series (`group by (x) (side)` is `{} 1`)."""
    import itertools
    import re
    import subprocess

    from tests.conftest import find_tool

    promtool = find_tool("promtool")
    one = "\n          - labels: '{}'\n            value: 1"
    tests: dict[str, str] = {}
    empty: set[str] = set()
    for lhs, op, mod, rhs in itertools.product(GRID_SIDES, GRID_OPS, GRID_MODS, GRID_SIDES):
        expr = f"{lhs} {op} {mod} {rhs}"
        try:
            ast = parse(expr)
        except ValueError:
            continue
        messages = [m for m, sev in analyse(ast) if sev is None]
        for m in messages:  # a label a side cannot have: its series all lack it
            found = re.search(r"`on \((\w+)\)` but the (left|right) side cannot have", m) or \
                re.search(r"group_(?:left|right)\((\w+)\) copies `\w+` from the (left|right) side, which cannot", m)
            if found:
                tests[f"group by ({found.group(1)}) ({lhs if found.group(2) == 'left' else rhs})"] = one
            found = re.search(r"every (?:left|right) series has `(\w+)` but no (left|right) series can have it", m)
            if found:
                tests[f"group by ({found.group(1)}) ({lhs if found.group(2) == 'left' else rhs})"] = one
        if any("never returns anything" in m for m in messages):
            tests[expr] = "[]"
            empty.add(expr)
        elif any("never removes" in m or "never used" in m for m in messages):
            tests[f"count({expr}) == bool count({lhs})"] = one
        else:
            continue
        for side in (lhs, rhs):
            if side not in ("1", "time()"):
                tests[f"group({side})"] = one
    assert len(empty) > 300 and len(tests) > 450
    series = [('a', 'job="x", instance="i1", team="t", le="1"'), ('a', 'job="y", instance="i2", team="t", le="1"'),
              ('a', 'instance="i3", team="t", le="1"'), ('b', 'job="x", instance="i1", team="t"'),
              ('b', 'job="y", instance="i2", team="u"')]  # no `c`: absent(c{job="x"}) returns {job="x"}
    body = "tests:\n  - interval: 1m\n    input_series:\n" + "".join(
        f"      - series: '{n}{{{labels}}}'\n        values: '5x10'\n" for n, labels in series)
    body += "    promql_expr_test:\n" + "".join(
        f"      - expr: '{e}'\n        eval_time: 5m\n        exp_samples: {exp}\n" for e, exp in tests.items())
    (tmp_path / "grid.yml").write_text(body)
    proc = subprocess.run([promtool, "test", "rules", str(tmp_path / "grid.yml")], capture_output=True, text=True,
                          timeout=120)
    failed = re.findall(r'expr: "(.*)", time: 5m,\s*(.*)', proc.stdout + proc.stderr)
    wrong = [(e.replace('\\"', '"'), why) for e, why in failed
             if not (e.replace('\\"', '"') in empty and "many-to-many matching not allowed" in why)]
    assert wrong == [], wrong[:5]
    assert proc.returncode == 0 or failed, proc.stdout + proc.stderr


# pint's promql/fragile sampling cases, and more: expression -> the sampling function reported (None: quiet)
SAMPLING_CASES = [
    ("topk(10, foo)", "topk"),
    ("bar or topk(10, foo)", "topk"),
    ("bar or topk(10, foo) or bottomk(10, foo)", "topk"),
    ("min(topk(10, foo)) > 5000", None),  # pint: "ignores aggregated topk()"
    ("topk(3, sum(x)) > 1", None),  # one series without labels: nothing to flap
    ("topk(3, sum by (job) (x)) > 1", "topk"),
    ("count(topk(3, x)) > 1", None),
    ("topk(1, x) * on(job) group_left y > 0", "topk"),
    ("limitk(2, x) > 1", "limitk"),
]


@pytest.mark.parametrize(("expr", "op"), SAMPLING_CASES)
def test_fragile_sampling_as_pint(expr: str, op: str | None) -> None:
    found = _findings(_alert(expr), "promql-fragile")
    assert [f.message.split("uses ")[1].split("()")[0] for f in found] == ([op] if op else []), expr


# the screen of promql-impossible (may_find): expressions it must send to the walk, one per reason
SCREEN_MUST_WALK = [
    'sum by (job) (x{job=""})',  # a `{label=""}` matcher inside an aggregation `by`
    "sum by (le) (histogram_quantile(0.9, rate(x[5m])))",
    "sum by (job) (absent(x))",
    "sum by (job) (hour())",
    "sum by (job) (vector(1))",
    "sum by (job) (rate(x[5m]) / sum(y))",
    'x{job="a"} and x{job=""}',  # a label one side always has and the other cannot
    'sum by (job) (x{job="a"}) and sum(y)',
    'sum without (instance) (x{job="a"}) unless sum(y)',
    'topk(1, x{job="a"}) and sum(y)',
    'count_values("job", x) and sum(y)',
    'absent(x{job="a"}) and sum(y)',
    'rate(x{job="a"}[5m]) / histogram_quantile(0.9, rate(y[5m]))',
    "vector(1) or sum(x)",  # a left side of `or` always there
    "hour() or sum(x)",
    "1 > bool 2",  # constants compared
    "vector(1) > vector(2)",
    "(1 + 1) > bool 3",
    "pi() > bool 4",
    "-(1) > bool 2",
    "x > 1 and vector(1) > 2",
    "x / on(job) sum(y)",  # on (job) but the right side cannot have it
    "sum by (team) (x and on(job) y)",  # on () keeps only its labels: limiting, like an aggregation
    "x * on(instance) group_left(team) y",  # group_x copying a label
    "sum(x) / ignoring(job) group_right(team) y",
    "x / on(job) group_left sum(y)",  # group_x without labels: as `on (job)` alone
    'x{job="a"} / ignoring(team) group_left sum(y)',
    "sum by (team) (x) / on(job) group_left y",
    "sum by (job) (x / ignoring(job) y)",  # ignoring() removes labels: limiting, like an aggregation
    'a{job="x"} and (b / ignoring(job) c)',
]

# rules the screen spares the walk (so that it is worth having)
SCREEN_SKIPS = [
    'foo{job="a"} > 5',
    "rate(x[5m]) > 0",
    "sum by (job) (rate(x[5m])) > 1",
    'sum by (job) (rate(x{code="5xx"}[5m])) / sum by (job) (rate(x[5m])) > 0.1',
    'a{job="x"} / b > 0.5 and c > 1',
    "time() - x > 60 * 60 * 48",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m]))) > 1",
    'sum(x{job=~"a.*"}) / sum(y) > 1',  # a regex matcher is no equality (the loader's stand-in is `=`)
    "x / ignoring(job) y",  # sloth's SLO rules: `ignoring (sloth_window)` over label-keeping sides
    "x > 0.01 and on (job, service) y > 0.5",
    "x / on(job) y",
    "x / ignoring(job) group_left y",  # group_x copying no label
    "x / on(job) group_left () sum by (job) (y)",
    # sides that keep the labels named by `on`/`by`, or that the other side has (sloth, kube-prometheus)
    "sum by (job, instance) (x) / on (job, instance) max by (instance, job) (y)",
    'max(x{slo="a"} > 1) without (window) and max(y{slo="a"} > 1) without (window)',
    'x{slo="a"} / on(slo) group_left y{slo="a"}',
    'sum by (job) (x{job="a"}) / sum by (job) (y)',
    "sum_over_time(r{slo=\"a\"}[30d]) / ignoring (window) count_over_time(r{slo=\"a\"}[30d])",
]


@pytest.mark.parametrize("expr", SCREEN_MUST_WALK)
def test_promql_impossible_screen_walks(expr: str) -> None:
    from opsctl.rules.checks.promql_impossible import may_find
    from opsctl.rules.promql_ast import node_list

    assert may_find(node_list(parse(expr))), expr


@pytest.mark.parametrize("expr", SCREEN_SKIPS)
def test_promql_impossible_screen_skips(expr: str) -> None:
    from opsctl.rules.checks.promql_impossible import may_find
    from opsctl.rules.promql_ast import node_list

    ast = parse(expr)
    assert analyse(ast) == [] and not may_find(node_list(ast)), expr


SCREEN_SIDES = [*GRID_SIDES, 'rate(a{job="x"}[5m])', 'a{job=~"x.*"}', "hour()", "pi()", 'count_values("job", b)',
                'topk(1, a{job="x"})', 'label_replace(a, "job", "$1", "b", "(.*)")', '-a{job="x"}',
                'absent_over_time(c{job="x"}[5m])', 'sum by (job) (a{job="x"})', 'a{job="x" or job="y"}',
                "sum by (job, le) (b)", 'a{job="x", team=""}', "days_in_month(a)"]
SCREEN_WRAPS = ["@", "sum by (job) (@)", "sum by (le) (@)", "group by (job, team) (@)", "sum(@)",
                "sum without (job) (@)", "topk by (job) (1, @)", "-(@)", "abs(@)", "(@) > 1", "(@) and b",
                "max_over_time((@)[5m:])", "histogram_quantile(0.5, @)", 'a{job="x"} unless (@)',
                "sum by (team) (@) or vector(0)", "vector(1) > bool (@)"]


def test_promql_impossible_screen_loses_nothing_on_a_grid() -> None:
    """Whatever analyse() finds in an expression of a grid (sides, binary operations between them with and
    without on/ignoring/group_x, each wrapped in aggregations, functions and more operations), the screen
    sends to the walk."""
    import itertools

    from opsctl.rules.checks.promql_impossible import may_find
    from opsctl.rules.promql_ast import node_list

    pairs = [f"{lhs} {op} {mod} {rhs}".replace("  ", " ")
             for lhs, rhs in itertools.product(SCREEN_SIDES, repeat=2) for op in GRID_OPS
             for mod in ("", "ignoring(team)", "on(job)", "on(job) group_left", "ignoring(team) group_right")]
    exprs = [wrap.replace("@", x) for wrap in SCREEN_WRAPS for x in SCREEN_SIDES]
    exprs += [SCREEN_WRAPS[i % len(SCREEN_WRAPS)].replace("@", x) for i, x in enumerate(pairs)]
    counts = {"found": 0, "skipped": 0}
    for expr in exprs:
        try:
            ast = parse(expr)
        except (ValueError, RuntimeError, OverflowError):
            continue
        walks = may_find(node_list(ast))
        found = analyse(ast)
        assert walks or not found, (expr, found)
        counts["found"] += bool(found)
        counts["skipped"] += not walks
    assert counts["found"] > 1000 and counts["skipped"] > 500, counts


def _parsed(rnd: random.Random, make: Any, count: int, depth: int) -> Iterator[tuple[str, Any]]:
    """(expression, syntax tree) for those of `count` random expressions `make(rnd, depth)` makes that parse."""
    for _ in range(count):
        expr = make(rnd, rnd.randint(1, depth))
        try:
            yield expr, parse(expr)
        except (ValueError, RuntimeError, OverflowError):
            continue


def _random_expr(rnd: random.Random, depth: int) -> str:
    """A random PromQL expression of the constructs the screen of promql-impossible reasons about."""
    labels = ["job", "team", "le"]

    def names() -> str:
        return ", ".join(rnd.sample(labels, rnd.randint(0, 2)))

    def selector() -> str:
        ms = [rnd.choice(labels) + rnd.choice(["=", "=", "!=", "=~"]) + rnd.choice(['"x"', '""'])
              for _ in range(rnd.randint(0, 2))]
        joiner = " or " if ms and rnd.random() < 0.05 else ","
        return rnd.choice(["a", "b"]) + ("{" + joiner.join(ms) + "}" if ms else "")

    if depth <= 0 or rnd.random() < 0.25:
        return rnd.choice([selector(), selector(), "vector(1)", "hour()", f"absent({selector()})"])
    inner = _random_expr(rnd, depth - 1)
    kind = rnd.randint(0, 8)
    if kind <= 2:
        mod = rnd.choice(["", f" by ({names()})", f" without ({names()})"])
        op = rnd.choice(["sum", "max", "count", "topk", "count_values"])
        arg = {"topk": "1, ", "count_values": f'"{rnd.choice(labels)}", '}.get(op, "")
        return f"{op}{mod} ({arg}{inner})"
    if kind <= 5:
        op = rnd.choice(["and", "or", "unless", "/", ">", "+", "> bool"])
        mod = rnd.choice(["", "", f" on ({names()})", f" ignoring ({names()})",
                          f" on ({names()}) group_left ({names()})", f" ignoring ({names()}) group_right"])
        if op in ("and", "or", "unless"):
            mod = mod.split(" group_")[0]
        return f"({inner}) {op}{mod} ({_random_expr(rnd, depth - 1)})"
    if kind == 6:
        return f"({inner}) {rnd.choice(['>', '*', '> bool'])} {rnd.choice(['1', 'time()'])}"
    if kind == 7:
        return rnd.choice([f"histogram_quantile(0.9, {inner})", f'label_replace({inner}, "team", "$1", "job", "(.*)")',
                           f"abs({inner})", f"-({inner})"])
    return f"max_over_time(({inner})[5m:])"


def test_promql_impossible_screen_loses_nothing_on_random_expressions() -> None:
    """The grid's property on random nestings: whatever analyse() finds, the screen sends to the walk."""
    from opsctl.rules.checks.promql_impossible import may_find
    from opsctl.rules.promql_ast import node_list

    found = skipped = 0
    for expr, ast in _parsed(random.Random(14), _random_expr, 20_000, 5):
        walks = may_find(node_list(ast), expr)  # (with the text, as the check calls it)
        problems = analyse(ast)
        assert walks or not problems, (expr, problems)
        found += bool(problems)
        skipped += not walks
    assert found > 2000 and skipped > 8000, (found, skipped)


def _random_ratio_expr(rnd: random.Random, depth: int) -> str:
    """A random expression of aggregations, arithmetic, comparisons and joins (what promql-fragile reads)."""
    if depth <= 0 or rnd.random() < 0.2:
        return rnd.choice(["a", 'b{job="x"}', "rate(c[5m])", "sum(a)", "sum by (job) (b)", "max(c offset 1h)", "1",
                           "time()", "count(a > 1)", "topk(1, a)", "abs(sum(a))", "vector(1)"])
    lhs, rhs = _random_ratio_expr(rnd, depth - 1), _random_ratio_expr(rnd, depth - 1)
    kind = rnd.randint(0, 6)
    if kind <= 2:
        mod = rnd.choice(["", " on (job)", " ignoring (job)", " on (job) group_left (x)", " on (job) group_right"])
        return f"({lhs}) {rnd.choice(['/', '*', '+', '-', '^', '%'])}{mod} ({rhs})"
    if kind == 3:
        return f"({lhs}) {rnd.choice(['>', '<', '==', '> bool'])} ({rhs})"
    if kind == 4:
        return f"({lhs}) {rnd.choice(['and', 'or', 'unless'])} ({rhs})"
    if kind == 5:
        return f"{rnd.choice(['sum', 'max', 'count'])}{rnd.choice(['', ' by (job)'])} ({lhs})"
    return f"{rnd.choice(['abs', 'clamp_min', '-'])}({lhs})".replace("clamp_min(", "clamp_min(0 + ")


def test_promql_fragile_screen_loses_nothing_on_random_expressions() -> None:
    """The screen in front of partial_data() (an arithmetic operation with an aggregation on each side) says
    yes whenever partial_data() finds something."""
    from opsctl.rules.checks.promql_fragile import _candidate
    from opsctl.rules.promql_ast import node_list, node_positions

    found = screened_out = 0
    for expr, ast in _parsed(random.Random(7), _random_ratio_expr, 12_000, 4):
        nodes = node_list(ast)
        candidate = _candidate(nodes, node_positions(nodes))
        problem = partial_data(ast)
        assert candidate or not problem, (expr, problem)
        found += bool(problem)
        screened_out += not candidate
    assert found > 100 and screened_out > 3000, (found, screened_out)


def test_may_drop_screen_loses_nothing_on_random_expressions() -> None:
    """promql_ast.may_drop() (the screen aggregation-drops-label puts before output_labels()) says a label may be
    lost whenever output_labels() says the result cannot have it."""
    from opsctl.rules.promql_ast import may_drop, node_list, node_positions, output_labels

    rnd = random.Random(21)
    fixed = ["1 + 2", "time()", "(1)", '"s"', "-(time() * 2)", "scalar(a)", "quantile_over_time(scalar(a), b[5m])",
             "quantile_over_time(0.5, b[5m])", "round(a, 2)", "hour()", "days_in_month()",
             'label_join(a, "x", ",", "y")']
    lost_somewhere = screened = 0
    for expr, ast in [(x, parse(x)) for x in fixed] + list(_parsed(rnd, _random_expr, 12_000, 5)):
        nodes = node_list(ast)
        labels = frozenset(rnd.sample(["job", "team", "le", "x"], rnd.randint(1, 3)))
        drops = may_drop(nodes, node_positions(nodes), labels)
        result = output_labels(ast)
        lost = [label for label in labels if not result.may_have(label)]
        assert drops or not lost, (expr, labels, result)
        lost_somewhere += bool(lost)
        screened += not drops
    assert lost_somewhere > 2000 and screened > 1500, (lost_somewhere, screened)
