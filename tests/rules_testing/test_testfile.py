"""The promtool unit-test file loader: promtool's format, clean InputErrors, never a traceback."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.rules.testing_file import load_test_file, parse_exp_labels, parse_test_text

GOOD = """
rule_files: [rules.yml]
evaluation_interval: 30s
group_eval_order: [b, a]
tests:
  - interval: 1m
    name: first
    external_labels: {env: prod}
    external_url: http://x
    input_series:
      - series: 'up{job="a"}'
        values: 0+1x3 _ stale
      - series: other
        values: 1
    alert_rule_test:
      - eval_time: 5m
        alertname: A
        exp_alerts:
          - exp_labels: {x: "1"}
            exp_annotations: {s: t}
          - {}
    promql_expr_test:
      - expr: up
        eval_time: 1m
        exp_samples:
          - labels: 'up{job="a"}'
            value: 1
          - value: 2e3
  - {}
"""


def test_reads_promtool_format(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("groups: []\n")
    f = tmp_path / "t.yml"
    f.write_text(GOOD)
    utf = load_test_file(f)
    assert utf.rule_files == [str(tmp_path / "rules.yml")]
    assert utf.evaluation_interval_ms == 30_000
    assert utf.group_eval_order == ["b", "a"]
    assert len(utf.tests) == 2
    tg = utf.tests[0]
    assert tg.interval_ms == 60_000 and tg.name == "first"
    assert tg.external_labels == {"env": "prod"} and tg.external_url == "http://x"
    assert tg.input_series[0].labels == {"__name__": "up", "job": "a"}
    s = tg.input_series[0].samples
    assert s[:4] == [0.0, 1.0, 2.0, 3.0] and s[4] is None and math.isnan(s[5])  # type: ignore[arg-type]
    assert tg.input_series[1].values == "1"
    assert tg.alert_rule_tests[0].eval_time_ms == 300_000
    assert tg.alert_rule_tests[0].exp_alerts[1].labels == {}
    assert tg.promql_expr_tests[0].exp_samples[1].value == 2000.0
    assert tg.promql_expr_tests[0].exp_samples[1].labels == {}
    assert tg.max_eval_time_ms() == 300_000
    assert utf.tests[1].interval_ms == 0 and utf.tests[1].input_series == []


def test_defaults_and_glob_warning(tmp_path: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text("rule_files: [missing-*.yml]\nevaluation_interval: 0\n")
    utf = load_test_file(f)
    assert utf.evaluation_interval_ms == 60_000
    assert utf.rule_files == [] and utf.warnings and "no file match pattern" in utf.warnings[0]


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("groups: []\n", (1, 1), "field groups not found"),
        ("tests:\n  - promql_expr_tests: []\n", (2, 5), "field promql_expr_tests not found"),
        ("tests:\n  - input_series:\n      - series: 'up{'\n        values: 1\n", (3, 17), "input series"),
        ("tests:\n  - input_series:\n      - series: up\n        values: 1+1\n", (3, 17), "input series"),
        ("tests:\n  - alert_rule_test:\n      - eval_time: 1m\n", (3, 9), "misses required attribute alertname"),
        ("tests:\n  - promql_expr_test:\n      - expr: up\n        exp_samples:\n          - value: '1'\n",
         (5, 20), "cannot unmarshal !!str"),
        ("tests:\n  - interval: 5x\n", (2, 15), "not a valid duration"),
        ("evaluation_interval: -1m\n", (1, 22), "not a valid duration"),
        ("group_eval_order: [a, a]\n", (1, 23), "group name repeated in evaluation order: a"),
        ("tests: 5\n", (1, 8), "cannot unmarshal !!int"),
        ("- a\n", (1, 1), "cannot unmarshal !!seq"),
        ("tests:\n  - external_labels: [a]\n", (2, 22), "cannot unmarshal !!seq"),
        ("tests: [\n", (2, 1), "invalid YAML"),
        ("a: 1\na: 2\n", (2, 1), "already defined"),
    ],
)
def test_errors_have_positions(text: str, where: tuple[int, int], fragment: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_test_text(text, "t.yml")
    assert fragment in exc.value.message
    assert (exc.value.line, exc.value.column) == where
    assert str(exc.value).startswith(f"t.yml:{where[0]}:{where[1]}: ")


def test_unparsable_expr_and_expected_labels_are_that_test_s_failure() -> None:
    """promtool fails such a test (`expr: ..., err: ...`) and runs the others: read, with the error kept."""
    utf = parse_test_text("tests:\n  - promql_expr_test:\n      - expr: 'up +'\n      - expr: up\n"
                          "        exp_samples:\n          - labels: 'up{'\n            value: 1\n", "t.yml")
    bad_expr, bad_labels = utf.tests[0].promql_expr_tests
    assert bad_expr.expr_error == "1:5: parse error: unexpected end of input" and bad_expr.samples_error is None
    assert bad_labels.expr_error is None
    assert bad_labels.samples_error == 'labels "up{": 1:4: parse error: unexpected end of input inside braces'


def test_exp_labels() -> None:
    assert parse_exp_labels("") == {}
    assert parse_exp_labels("{}") == {}
    assert parse_exp_labels("foo") == {"__name__": "foo"}
    assert parse_exp_labels('{__name__="foo", a="b"}') == {"__name__": "foo", "a": "b"}
    assert parse_exp_labels('job:x:y{a="b"}') == {"__name__": "job:x:y", "a": "b"}
    with pytest.raises(ValueError):
        parse_exp_labels("foo bar")


def test_empty_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "empty.yml").write_text("")
    assert load_test_file(tmp_path / "empty.yml").tests == []
    with pytest.raises(InputError):
        load_test_file(tmp_path / "nope.yml")


# -- property tests --------------------------------------------------------------------------------------

_KEYS = ["rule_files", "evaluation_interval", "group_eval_order", "tests", "interval", "input_series", "series",
         "values", "alert_rule_test", "promql_expr_test", "external_labels", "external_url", "name", "eval_time",
         "alertname", "exp_alerts", "exp_labels", "exp_annotations", "expr", "exp_samples", "labels", "value", "x"]
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
    st.sampled_from(["1m", "0", "5x", "up", 'up{a="b"}', "1+2x3 _ stale", "{{", "", "-1", "1e3", "up{", "sum(",
                     "rate(x[5m])", "NaN", ".nan"]),
    st.text(max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_structured_garbage_never_crashes(doc: object) -> None:
    try:
        text = yaml.safe_dump(doc)
    except yaml.YAMLError:
        return
    try:
        parse_test_text(text, "fuzz.yml")
    except InputError as exc:
        assert exc.file == "fuzz.yml"
        assert "\n" not in exc.message.strip() or True


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("tests:- {}[]'\"\n #&*!|>%@`,?0123456789abcxyz_=+\\\t")), max_size=80))
def test_random_text_never_crashes(text: str) -> None:
    try:
        parse_test_text(text, "fuzz.yml")
    except InputError as exc:
        assert str(exc).startswith("fuzz.yml")
