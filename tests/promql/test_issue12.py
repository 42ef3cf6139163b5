"""Regressions of issue 12 (PromQL / rules test / backtest parity with Prometheus 2.42), from the
reproducers in ../shared/repro/promql (copied into tests/promql/issue12). Where promtool can run a
reproducer, the oracle tests check that promtool 2.42 and opsctl give the same verdict."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.promql import Engine, Storage
from opsctl.promql import functions as fn
from opsctl.promql.promqltest import run_text
from tests.conftest import find_tool, run_opsctl

DATA = Path(__file__).parent / "issue12"
PROMTOOL_FILES = ["empty_side_match_error.promtool.yml", "nan_prefix_sum.promtool.yml", "time_fn_nan.promtool.yml",
                  "empty_binop_crash_test.yml"]


@pytest.mark.parametrize("name", PROMTOOL_FILES)
def test_rules_test_passes(name: str) -> None:
    proc = run_opsctl("rules", "test", str(DATA / name))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.parametrize("name", PROMTOOL_FILES)
def test_oracle_promtool_passes(name: str) -> None:
    promtool = find_tool("promtool")
    proc = subprocess.run([promtool, "test", "rules", name], cwd=DATA, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- 1. deriv / predict_linear after a NaN --------------------------------------------------------------


def test_nan_prefix_promqltest() -> None:
    res = run_text((DATA / "nan_prefix_sum.test").read_text())
    assert res.total == 3 and res.failed == 0, [c.message for c in res.cases if not c.passed]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(70, 400),
    bad=st.lists(st.tuples(st.integers(0, 399), st.sampled_from([math.nan, math.inf, -math.inf])), max_size=4),
    window=st.sampled_from([5, 30, 100, 180]),
)
def test_long_window_linreg_equals_exact(n: int, bad: list[tuple[int, float]], window: int) -> None:
    """The prefix-sum path for long windows agrees with the exact sample-by-sample path, NaN/Inf or not."""
    rng = np.random.default_rng(n)
    vals = np.cumsum(rng.normal(size=n))
    for i, v in bad:
        if i < n:
            vals[i] = v
    st_ = Storage()
    st_.add({"__name__": "m"}, np.arange(n) * 60_000, vals)
    eng = Engine(st_)
    fast = eng.range(f"deriv(m[{window}m])", 0, (n - 1) * 60, 60)
    fast_p = eng.range(f"predict_linear(m[{window}m], 600)", 0, (n - 1) * 60, 60)
    saved = fn._EXACT_WINDOW
    fn._EXACT_WINDOW = 10**9
    try:
        exact_eng = Engine(st_)
        exact = exact_eng.range(f"deriv(m[{window}m])", 0, (n - 1) * 60, 60)
        exact_p = exact_eng.range(f"predict_linear(m[{window}m], 600)", 0, (n - 1) * 60, 60)
    finally:
        fn._EXACT_WINDOW = saved
    for a, b in ((fast, exact), (fast_p, exact_p)):
        assert len(a.series) == len(b.series)
        for sa, sb in zip(a.series, b.series, strict=True):
            assert np.array_equal(sa.timestamps, sb.timestamps)
            assert np.array_equal(np.isnan(sa.values), np.isnan(sb.values))
            fin = np.isfinite(sb.values)
            assert np.array_equal(np.isfinite(sa.values), fin)
            np.testing.assert_allclose(sa.values[fin], sb.values[fin], rtol=1e-9, atol=1e-9)


# -- 2. and 3. vector/vector operations with an empty side ------------------------------------------------


def test_empty_binop_range_does_not_crash() -> None:
    s = Storage()
    s.add({"__name__": "a"}, [0, 60000], [1.0, 2.0])
    eng = Engine(s)
    assert eng.instant("(nonexistent + nonexistent2) > 1", 30.0).series == []
    assert eng.range("(nonexistent + nonexistent2) > 1", 0.0, 600.0, 20.0).series == []
    assert eng.range("(nonexistent and nonexistent2) > 1", 0.0, 600.0, 20.0).series == []
    assert eng.range("(a + nonexistent) * 2 > bool 1", 0.0, 600.0, 20.0).series == []


def test_one_side_empty_at_a_step_is_no_match_error() -> None:
    """Duplicates on one side are no error at steps where the other side has no sample."""
    s = Storage()
    s.add({"__name__": "a", "x": "1"}, [0], [1.0])
    for y in ("1", "2"):
        s.add({"__name__": "b", "x": "1", "y": y}, np.arange(0, 1_200_001, 60_000), np.ones(21))
    eng = Engine(s)
    assert eng.instant("a + on(x) group_left b", 900).series == []
    r = eng.range("a + on(x) group_left b", 600, 1200, 60)
    assert r.series == []
    with pytest.raises(Exception, match="duplicate series"):
        eng.instant("a + on(x) group_left b", 60)


def test_backtest_with_absent_operands_does_not_abort() -> None:
    proc = run_opsctl("rules", "backtest", str(DATA / "backtest_crash_rules.yml"), "--data",
                      str(DATA / "backtest_crash_data.csv"), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"alertname": "HighErrorRatio"' in proc.stdout


# -- 5. date functions of NaN / Inf / huge values ----------------------------------------------------------

# time.Unix(int64(v), 0).UTC() computed by Go 1.19 (the compiler of Debian's Prometheus 2.42):
# v: year, month, day, day of year, weekday, hour, minute, days in month.
GO_DATES = {
    math.nan: (292277026596, 12, 4, 339, 0, 15, 30, 31),
    math.inf: (292277026596, 12, 4, 339, 0, 15, 30, 31),
    -math.inf: (292277026596, 12, 4, 339, 0, 15, 30, 31),
    1e19: (292277026596, 12, 4, 339, 0, 15, 30, 31),
    9.2e18: (291536396232, 8, 31, 244, 5, 11, 33, 31),
    -9.2e18: (-291536392293, 5, 3, 123, 2, 12, 26, 31),
    1e15: (31690708, 7, 5, 187, 0, 1, 46, 31),
    -1e15: (-31686769, 6, 29, 180, 0, 22, 13, 30),
    1e17: (3168875820, 9, 6, 250, 3, 9, 46, 30),
    -1.5: (1969, 12, 31, 365, 3, 23, 59, 31),
    253402300800: (10000, 1, 1, 1, 6, 0, 0, 31),
    9223372036854774784: (292277026596, 12, 4, 339, 0, 15, 13, 31),
    -62135596801: (0, 12, 31, 366, 0, 23, 59, 31),
}
FUNCS = ("year", "month", "day_of_month", "day_of_year", "day_of_week", "hour", "minute", "days_in_month")


@pytest.mark.parametrize("v", list(GO_DATES), ids=repr)
def test_date_functions_like_go(v: float) -> None:
    s = Storage()
    s.add({"__name__": "x"}, [0], [v])
    eng = Engine(s)
    got = tuple(eng.instant(f"{f}(x)", 0).series[0].values[0] for f in FUNCS)
    assert got == GO_DATES[v]


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e15, 1e15) | st.integers(-(10**14), 10**14).map(float))
def test_date_parts_vector_path_equals_go_path(v: float) -> None:
    arr = np.array([[v]])
    for i, f in enumerate(FUNCS):
        assert fn._date_parts(arr, f)[0, 0] == fn._go_date(v)[i]


# -- 4. and 7. `@ <duration>` and parse errors worded as promtool words them ------------------------------


def test_at_duration_rejected_like_promtool() -> None:
    want = '1:5: parse error: unexpected duration "6m" in @, expected timestamp'
    s = Storage()
    s.add({"__name__": "x"}, [0, 300_000], [1.0, 2.0])
    with pytest.raises(Exception, match=want.replace("(", r"\(")):
        Engine(s).instant("x @ 6m", 600)
    assert Engine(s).instant("x @ 0", 600).series  # a timestamp is fine
    proc = run_opsctl("rules", "test", str(DATA / "at_duration_test.yml"), "--prometheus-version", "2.42")
    # the test fails (exit 1, as promtool), with promtool's words
    assert proc.returncode == 1 and want in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    # the default target, Prometheus 3, reads `@ 6m` as 360 s (as promtool 3.16 does)
    assert run_opsctl("rules", "test", str(DATA / "at_duration_test.yml")).returncode != 2
    assert Engine(s, v3=True).instant("x @ 6m", 600).series  # Prometheus 3 reads 360 s


def test_oracle_at_duration_promtool_same_message() -> None:
    promtool = find_tool("promtool")
    proc = subprocess.run([promtool, "test", "rules", "at_duration_test.yml"], cwd=DATA, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    mine = run_opsctl("rules", "test", str(DATA / "at_duration_test.yml"), "--prometheus-version", "2.42")
    err = (proc.stdout + proc.stderr).split("err: ", 1)[1].strip()
    assert err in mine.stdout + mine.stderr


def test_unparsable_expression_message(tmp_path: Path) -> None:
    p = tmp_path / "t.yml"
    p.write_text("tests:\n  - promql_expr_test:\n      - expr: 'sum by (a b) (x)'\n        exp_samples: []\n")
    proc = run_opsctl("rules", "test", str(p))
    assert proc.returncode == 1  # that test fails, as in promtool
    assert ('expr: "sum by (a b) (x)", time: 0s, err: 1:11: parse error: unexpected identifier "b" in '
            'grouping opts, expected "," or ")"') in proc.stdout + proc.stderr
    s = Storage()
    with pytest.raises(Exception, match="1:4: parse error: unexpected end of input"):
        Engine(s).instant("x +", 0)
