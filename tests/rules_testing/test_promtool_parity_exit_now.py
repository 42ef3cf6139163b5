"""`opsctl rules test` against real `promtool test rules` (2.42 and 3.16): broken tests and the template `now`.

1. Broken test files. promtool exits 1 for every one of them (it has no separate code for bad input), so the
   verdict to match is "not passed"; opsctl gives promtool's verdict and, where promtool reports the problem
   as one test's failure and runs the others (a `promql_expr_test` whose `expr`, expected labels or expected
   histogram do not parse), the same failure text and exit 1. What stops a file or a test group from running
   (YAML, unknown fields, a bad `eval_time`, a bad series description, a rule file that does not load, a
   missing `alertname`) stays exit 2 in opsctl (docs/rules-test.md, "Exit codes"); promtool exits 1.
2. `now` in alert templates is the evaluation time (Prometheus passes the rule's evaluation timestamp to its
   template expander; promtool evaluates at 0, interval, ...), not the wall clock: checked with promtool 3.16
   (2.42 has no `now`: both refuse the rule file), and for `rules backtest`, where a replayed step's `now`
   is that step's time, as on the real server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opsctl.data.exports import read_export
from opsctl.rules.backtest import backtest
from opsctl.rules.backtest_stream import ExportStore, backtest_store
from opsctl.rules.unittest import run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool, run_opsctl

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "backtest"
T0 = 1704067200.0  # the first sample of examples/backtest/errors.csv
MIN = 60.0
V316 = PromVersion(3, 16)  # `now` came with Prometheus 3.6

PROMTOOLS = {"promtool": PromVersion(2, 42), "promtool-3.16": PromVersion(3, 16)}

GOOD_RULES = """groups:
- name: g
  rules:
  - alert: HighUp
    expr: up > 0
    annotations:
      summary: "x"
"""
BAD_EXPR_RULES = """groups:
- name: g
  rules:
  - alert: HighUp
    expr: up >
"""
BAD_TEMPLATE_RULES = """groups:
- name: g
  rules:
  - alert: HighUp
    expr: up
    labels:
      x: "{{ .Foo "
"""

SERIES = """  input_series:
  - series: up{job="a"}
    values: 1 1 1
"""
ALERT_OK = """  alert_rule_test:
  - alertname: HighUp
    eval_time: 1m
    exp_alerts:
    - exp_labels: {job: a}
      exp_annotations: {summary: x}
"""


def _file(group: str, rules: str = "rules.yml", series: str = SERIES) -> str:
    return f"rule_files: [{rules}]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n{series}{group}"


def _expr_case(expr: str, samples: str = "    exp_samples: []\n") -> str:
    return f"  promql_expr_test:\n  - expr: '{expr}'\n    eval_time: 1m\n{samples}"


# (test file, rule file text) -> opsctl's exit code; promtool's is 1 for all
PER_TEST_CASES = {
    "expr_unclosed_paren": _expr_case("sum(up"),
    "expr_trailing_operator": _expr_case("up +"),
    "expr_unknown_function": _expr_case("foo(up)"),
    "expr_grouping_without_labels": _expr_case("sum(up) by"),
    "expr_type_error": _expr_case("rate(up)"),
    "expr_type_error_second_argument": _expr_case("round(up, up)"),
    "expr_type_error_third_argument": _expr_case("clamp(up, up, up)"),
    "expr_type_error_string": _expr_case('label_replace(up, 1, "a", "b", "c")'),
    "expr_type_error_nested": _expr_case("sum(rate(up)) + rate(up[5m])"),
    "expr_arity": _expr_case("time(1)"),
    "expr_arity_at_least": _expr_case("label_join(up)"),
    "expr_type_error_binary": _expr_case("up[5m] + 1"),
    "expr_type_error_unary": _expr_case("abs(-(up[5m]))"),
    "exp_samples_bad_labels": _expr_case("up", '    exp_samples:\n    - labels: up{job="a"\n      value: 1\n'),
    "exp_samples_second_bad": _expr_case(
        "up", '    exp_samples:\n    - labels: up{job="a"}\n      value: 1\n    - labels: "{a=}"\n      value: 1\n'),
}
FILE_LEVEL_CASES = {
    "rule_file_bad_expr": (_file(ALERT_OK), BAD_EXPR_RULES),
    "rule_file_bad_template": (_file(ALERT_OK), BAD_TEMPLATE_RULES),
    "bad_eval_time": (_file(ALERT_OK.replace("eval_time: 1m", "eval_time: 5x")), GOOD_RULES),
    "bad_series_values": (_file(ALERT_OK, series=SERIES.replace("1 1 1", "1+1x3 foo")), GOOD_RULES),
    "bad_series_labels": (_file(ALERT_OK, series=SERIES.replace('up{job="a"}', 'up{job="a"')), GOOD_RULES),
    "missing_alertname": (_file(ALERT_OK.replace("alertname: HighUp", "alertname: ''")), GOOD_RULES),
    "unknown_field": ("rule_files: [rules.yml]\nfoo: 1\ntests: []\n", GOOD_RULES),
    "bad_yaml": ("rule_files: [rules.yml\ntests: [", GOOD_RULES),
}


def _write(tmp: Path, test_text: str, rules_text: str = GOOD_RULES) -> Path:
    (tmp / "rules.yml").write_text(rules_text)
    p = tmp / "t.yml"
    p.write_text(test_text)
    return p


def _promtool(tool: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_tool(tool), "test", "rules", path.name], capture_output=True, text=True,
                          timeout=120, cwd=path.parent, env={**os.environ, "NO_COLOR": "1"})


def _opsctl(version: PromVersion, path: Path) -> subprocess.CompletedProcess[str]:
    return run_opsctl("rules", "test", "--prometheus-version", f"{version.major}.{version.minor}", path.name,
                      cwd=path.parent)


def _failure_lines(stdout: str) -> list[str]:
    """opsctl's report without its first line (`Unit Testing:  FILE` / `Processing test file: FILE`) and
    blank lines: `  FAILED:` and the failures, which promtool prints on stderr (its stdout holds the file
    name line)."""
    return [line for line in stdout.splitlines()[1:] if line.strip()]


def _their_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


# -- 1. broken tests ------------------------------------------------------------------------------------


@pytest.mark.oracle
@pytest.mark.parametrize("tool", sorted(PROMTOOLS))
@pytest.mark.parametrize("case", sorted(PER_TEST_CASES))
def test_unparsable_test_expression_fails_that_test_as_promtool(tool: str, case: str, tmp_path: Path) -> None:
    """promtool fails the test with `expr: "...", time: ..., err: ...` and exits 1: so does opsctl, and the
    other tests of the file still run (the alert test below passes in both)."""
    path = _write(tmp_path, _file(ALERT_OK + PER_TEST_CASES[case]))
    theirs = _promtool(tool, path)
    ours = _opsctl(PROMTOOLS[tool], path)
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    assert ours.returncode == 1, ours.stdout + ours.stderr
    res = run_test_file(path, PROMTOOLS[tool])
    assert res.error is None and res.status == "failed"
    [failure] = [f for g in res.groups for f in g.failures]
    assert failure.kind == "expr_error"
    their_lines = _their_lines(theirs)
    assert their_lines[0] == "  FAILED:" and len(their_lines) == 2, theirs.stdout + theirs.stderr
    if case in ("expr_type_error_binary", "expr_type_error_unary"):
        # promql-parser's wording of these type errors, not Prometheus's (no position): same verdict and test
        prefix = their_lines[1].split(", err: ")[0]
        assert _failure_lines(ours.stdout)[1].startswith(prefix + ", err: "), ours.stdout
    else:
        assert _failure_lines(ours.stdout) == their_lines


ONE_SAMPLE = '    exp_samples:\n    - labels: up{job="a"}\n      value: 1\n'


@pytest.mark.oracle
@pytest.mark.parametrize(("tool", "expr", "samples"), [
    # expectations the function would meet: without the version check opsctl passed these
    ("promtool", 'sort_by_label(up, "job")', ONE_SAMPLE),
    ("promtool", 'sum(sort_by_label(up, "job")) + abs(up)', "    exp_samples: []\n"),
    ("promtool", "limitk(2, up)", ONE_SAMPLE),
    ("promtool", "double_exponential_smoothing(up[5m], 0.5, 0.5)", "    exp_samples: []\n"),
    ("promtool-3.16", "holt_winters(up[5m], 0.5, 0.5)", "    exp_samples: []\n"),
    ("promtool-3.16", "sum(holt_winters(up[5m], 0.5, 0.5))", "    exp_samples: []\n"),
])
def test_function_the_version_lacks_fails_the_test_as_promtool(tool: str, expr: str, samples: str,
                                                               tmp_path: Path) -> None:
    """A function newer (sort_by_label: 2.51) or older (holt_winters: gone in 3.0) than the target is
    promtool's parse error `unknown function with name "..."`, at the name (the first call to close)."""
    path = _write(tmp_path, _file(ALERT_OK + _expr_case(expr, samples)))
    theirs = _promtool(tool, path)
    ours = _opsctl(PROMTOOLS[tool], path)
    assert (theirs.returncode, ours.returncode) == (1, 1), ours.stdout + ours.stderr
    assert _failure_lines(ours.stdout) == _their_lines(theirs)
    assert "unknown function with name" in ours.stdout


@pytest.mark.oracle
@pytest.mark.parametrize("tool", sorted(PROMTOOLS))
def test_bad_expression_among_other_failures_same_report(tool: str, tmp_path: Path) -> None:
    """Two groups: a bad expression between two checks, a failing alert test in the other group; promtool
    reports both and checks the expression after the bad one: the same report, line for line."""
    group1 = ALERT_OK + _expr_case("sum(up", "    exp_samples: []\n") + (
        "  - expr: up\n    eval_time: 2m\n    exp_samples:\n    - labels: up{job=\"a\"}\n      value: 2\n")
    group2 = ALERT_OK.replace("exp_annotations: {summary: x}", "exp_annotations: {summary: y}")
    text = _file(group1) + "- interval: 1m\n" + SERIES + group2
    path = _write(tmp_path, text)
    theirs = _promtool(tool, path)
    ours = _opsctl(PROMTOOLS[tool], path)
    assert (theirs.returncode, ours.returncode) == (1, 1), ours.stdout + ours.stderr
    lines = _failure_lines(ours.stdout)
    assert lines == _their_lines(theirs)
    assert sum(line.startswith("    expr: ") for line in lines) == 2
    assert any(line.startswith("    alertname: HighUp") for line in lines)


@pytest.mark.oracle
@pytest.mark.parametrize("tool", sorted(PROMTOOLS))
@pytest.mark.parametrize("case", sorted(FILE_LEVEL_CASES))
def test_file_that_cannot_run_fails_in_both_opsctl_exit_2(tool: str, case: str, tmp_path: Path) -> None:
    """promtool exits 1; opsctl reports the file as bad input (status error, exit 2, one `file:line:col:` line
    on stderr): the same verdict (not passed), a CI build fails either way."""
    text, rules = FILE_LEVEL_CASES[case]
    path = _write(tmp_path, text, rules)
    theirs = _promtool(tool, path)
    ours = _opsctl(PROMTOOLS[tool], path)
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    assert "  FAILED:" in theirs.stderr
    assert ours.returncode == 2, ours.stdout + ours.stderr
    assert "  FAILED:" in ours.stdout and "Traceback" not in ours.stderr
    err_lines = [line for line in ours.stderr.splitlines() if line.strip()]
    assert len(err_lines) == 1 and err_lines[0].startswith("error: ") and ":" in err_lines[0][7:]


@pytest.mark.oracle
@pytest.mark.parametrize("tool", sorted(PROMTOOLS))
def test_missing_test_file(tool: str, tmp_path: Path) -> None:
    theirs = subprocess.run([find_tool(tool), "test", "rules", "nope.yml"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    ours = _opsctl(PROMTOOLS[tool], tmp_path / "nope.yml")
    assert theirs.returncode == 1 and "does not exist" in theirs.stderr
    assert ours.returncode == 2 and "no such file" in ours.stderr


@pytest.mark.oracle
@pytest.mark.parametrize("tool", sorted(PROMTOOLS))
def test_group_without_interval_as_promtool(tool: str, tmp_path: Path) -> None:
    """promtool 2.48+ gives a test group without `interval` the file's `evaluation_interval` (prometheus#13011);
    2.42 loads every input sample at 0 (the first one counts). Found while checking the variants above."""
    text = ("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n"
            "- input_series: [{series: 'up{job=\"a\"}', values: '1 2 3'}]\n"
            "  promql_expr_test:\n  - expr: up\n    eval_time: 2m\n"
            "    exp_samples: [{labels: 'up{job=\"a\"}', value: 3}]\n")
    path = _write(tmp_path, text)
    theirs = _promtool(tool, path)
    ours = run_test_file(path, PROMTOOLS[tool])
    assert theirs.returncode == (1 if tool == "promtool" else 0), theirs.stderr
    assert ours.status == ("failed" if tool == "promtool" else "passed")
    assert run_test_file(path, PromVersion(2, 48)).status == "passed"


# -- 2. `now` is the evaluation time --------------------------------------------------------------------

NOW_RULES = """groups:
- name: g
  interval: {interval}
  rules:
  - alert: NowAlert
    expr: up > 0
    labels:
      at: '{{{{ now }}}}'
    annotations:
      human: '{{{{ now | humanizeTimestamp }}}}'
      unix: '{{{{ (now | toTime).Unix }}}}'
      both: '{{{{ $value }}}} at {{{{ now | printf "%.3f" }}}}'
"""


def _now_alert(t: float, unix: int, human: str) -> str:
    at = f"{t:g}"
    return (f"    exp_alerts:\n    - exp_labels: {{job: a, at: '{at}'}}\n"
            f"      exp_annotations: {{human: '{human}', unix: '{unix}', both: '1 at {t:.3f}'}}\n")


NOW_CASES = [  # (eval_time, time of the evaluation it sees, humanizeTimestamp of it)
    ("0m", 0.0, "1970-01-01 00:00:00 +0000 UTC"),
    ("5m", 300.0, "1970-01-01 00:05:00 +0000 UTC"),
    ("7m30s", 420.0, "1970-01-01 00:07:00 +0000 UTC"),  # the last evaluation at or before 7m30s
    ("1h", 3600.0, "1970-01-01 01:00:00 +0000 UTC"),
]


def _now_test(interval: str, cases: list[tuple[str, float, str]]) -> str:
    body = "".join(f"  - alertname: NowAlert\n    eval_time: {et}\n" + _now_alert(t, int(t), h)
                   for et, t, h in cases)
    return (f"rule_files: [rules.yml]\nevaluation_interval: {interval}\ntests:\n- interval: {interval}\n"
            "  input_series:\n  - series: up{job=\"a\"}\n    values: 1x100\n  alert_rule_test:\n" + body)


@pytest.mark.oracle
@pytest.mark.parametrize(("interval", "cases"), [
    ("1m", NOW_CASES),
    ("250ms", [("750ms", 0.75, "1970-01-01 00:00:00.75 +0000 UTC"), ("1s", 1.0, "1970-01-01 00:00:01 +0000 UTC"),
               ("1100ms", 1.0, "1970-01-01 00:00:01 +0000 UTC")]),
])
def test_now_is_the_evaluation_time_as_promtool_316(interval: str, cases: list[tuple[str, float, str]],
                                                    tmp_path: Path) -> None:
    path = _write(tmp_path, _now_test(interval, cases), NOW_RULES.format(interval=interval))
    theirs = _promtool("promtool-3.16", path)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    res = run_test_file(path, PromVersion(3, 16))
    assert res.status == "passed", [f.message for g in res.groups for f in g.failures] or res.error
    # and a wrong time fails in both (the expectations above are not vacuous)
    shifted = [(et, t + 60, h) for et, t, h in cases[:1]]
    path.write_text(_now_test(interval, shifted))
    assert _promtool("promtool-3.16", path).returncode == 1
    assert run_test_file(path, PromVersion(3, 16)).status == "failed"


@pytest.mark.oracle
def test_now_is_not_a_function_in_242(tmp_path: Path) -> None:
    path = _write(tmp_path, _now_test("1m", NOW_CASES[:1]), NOW_RULES.format(interval="1m"))
    theirs = _promtool("promtool", path)
    assert theirs.returncode == 1 and 'function "now" not defined' in theirs.stderr
    res = run_test_file(path, PromVersion(2, 42))
    assert res.status == "error" and res.error is not None and 'function "now" not defined' in res.error.message


def test_now_in_the_memo_is_per_evaluation_time() -> None:
    """The renderer remembers pure templates; one using `now` must not be served from another time."""
    from opsctl.rules.testing_templates import CachedRenderer

    r = CachedRenderer({}, "")
    args = ("{{ now }} {{ $value }}", "A", {"job": "a"}, 1.0, lambda q: [])
    assert [r(*args, t) for t in (0, 60_000, 0, 1_500)] == ["0 1", "60 1", "0 1", "1.5 1"]
    # a word containing "now" is not `now`
    assert r("{{ $labels.job }} unknown", "A", {"job": "a"}, 1.0, lambda q: [], 5_000) == "a unknown"


# -- `rules backtest`: a replayed step's `now` is its evaluation time ----------------------------------

HALF = T0 + 30 * MIN
BACKTEST_RULES = f"""groups:
  - name: errors
    interval: 1m
    rules:
      - alert: HighErrorRatio
        expr: http_errors_ratio > 0.05
        labels:
          half: '{{{{ if lt now {HALF:.1f} }}}}first{{{{ else }}}}second{{{{ end }}}}'
"""


def _halves(res: object) -> list[tuple[str, str, float]]:
    a = res.alert("HighErrorRatio")  # type: ignore[attr-defined]
    assert a is not None
    return sorted((e.labels["service"], e.labels["half"], (e.fired_at - T0) / MIN) for e in a.episodes)


# examples/backtest: api fires at minutes 10-11, 20-24, 40, 50-55, web at 30-33; the label splits at 30
EXPECTED_HALVES = [("api", "first", 10.0), ("api", "first", 20.0), ("api", "second", 40.0),
                   ("api", "second", 50.0), ("web", "second", 30.0)]


def test_backtest_now_is_the_replayed_step(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(BACKTEST_RULES)
    res = backtest([str(rules)], read_export(EX / "errors.csv"), prometheus_version=V316)
    assert _halves(res) == EXPECTED_HALVES


def test_backtest_stream_now_is_the_replayed_step(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(BACKTEST_RULES)
    with ExportStore.from_file(EX / "errors.csv") as store:
        res = backtest_store([str(rules)], store, window_seconds=7 * MIN, prometheus_version=V316)
    assert _halves(res) == EXPECTED_HALVES


def test_backtest_live_pushdown_now_is_the_replayed_step() -> None:
    """`rules backtest --prometheus` (pushdown): label templates are expanded by opsctl with the step's time;
    their `query` goes to the server at that time."""
    from opsctl.rules.backtest_live import _server_renderer

    asked: list[float] = []

    class Server:
        def query(self, q: str, t: float, **_: object) -> list[object]:
            asked.append(t)
            return []

    render = _server_renderer(Server())  # type: ignore[arg-type]
    assert render("{{ now }}", "A", {"job": "a"}, 1.0, HALF) == "1.704069e+09"  # Go prints a float64 so
    assert render('{{ now | humanizeTimestamp }} {{ query "up" | len }}', "A", {}, 1.0, T0 + 90) == (
        "2024-01-01 00:01:30 +0000 UTC 0")
    assert asked == [T0 + 90]
