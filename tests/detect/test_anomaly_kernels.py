"""The fast kernels behind the detectors give exactly what the plain numpy/pandas forms give."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from opsctl.detect.anomaly.base import _row_median_inplace, _row_quantile_inplace, nan_to_num
from opsctl.detect.anomaly.level_shift import rolling_median, rolling_slope
from opsctl.detect.anomaly.likelihood import rolling_max
from opsctl.detect.anomaly.seasonal import _left_insertion

# few distinct values: ties everywhere
values = st.lists(st.sampled_from([-2.0, -0.5, 0.0, 0.0, 1.0, 1.0, 3.5, 1e6]) | st.floats(-1e3, 1e3),
                  min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(vals=values, k=st.integers(1, 12),
       q=st.sampled_from([0.0, 0.01, 0.25, 0.5, 0.7, 0.9, 0.99, 0.999, 1.0]))
def test_row_median_and_quantile_are_numpys(vals: list[float], k: int, q: float) -> None:
    v = np.array(vals)
    rows = len(v) // k
    if rows == 0:
        return
    a = v[: rows * k].reshape(rows, k)
    assert np.array_equal(_row_median_inplace(a.copy()), np.median(a, axis=1))
    assert np.array_equal(_row_quantile_inplace(a.copy(), q), np.quantile(a, q, axis=1))


@settings(max_examples=150, deadline=None)
@given(vals=values, k=st.integers(1, 11))
def test_rolling_median_is_numpys(vals: list[float], k: int) -> None:
    v = np.array(vals)
    if k > len(v):
        return
    assert np.array_equal(rolling_median(v, k), np.median(sliding_window_view(v, k), axis=1))


@settings(max_examples=150, deadline=None)
@given(vals=st.lists(st.floats(0, 1), min_size=0, max_size=90), w=st.integers(1, 40))
def test_rolling_max_is_pandas(vals: list[float], w: int) -> None:
    u = np.array(vals, dtype=np.float64)
    want = pd.Series(u, dtype=np.float64).rolling(w, min_periods=1).max().to_numpy()
    assert np.array_equal(rolling_max(u, w), want)


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.sampled_from([60.0, 60.0, 60.0, 0.0, 30.0, 90.0, 61.5]), min_size=1, max_size=60),
       period=st.sampled_from([45.0, 60.0, 120.0, 300.0, 3600.0]))
def test_left_insertion_is_searchsorted(steps: list[float], period: float) -> None:
    ts = np.cumsum(np.array(steps))
    n = len(ts)
    step = float(np.median(np.diff(ts))) if n > 1 else 0.0
    want = np.clip(np.searchsorted(ts, ts - period), 0, n - 1)
    assert np.array_equal(_left_insertion(ts, ts - period, period / step if step > 0 else 0.0), want)


def test_rolling_slope_is_exact_far_from_the_origin() -> None:
    """The slope is a correlation with a centred kernel: at a million points it matches exact rational
    arithmetic to ~1e-15 (the mean(t*x) - mean(t)*mean(x) form it replaced was off by ~1e-10)."""
    rng = np.random.default_rng(0)
    vs = 100 + rng.normal(0, 2, 1_000_000)
    got = rolling_slope(vs, 30)
    assert np.all(np.isnan(got[:29]))
    for i in rng.integers(29, len(vs), 40):
        win = [Fraction(float(x)) for x in vs[i - 29 : i + 1]]
        exact = sum((Fraction(k) - Fraction(29, 2)) * x for k, x in enumerate(win)) / Fraction(30 * 899, 12)
        assert abs(got[i] - float(exact)) < 1e-13


def test_nan_to_num_is_numpys() -> None:
    a = np.array([1.0, np.nan, np.inf, -np.inf, -0.0, 1e308])
    np.testing.assert_array_equal(nan_to_num(a), np.nan_to_num(a))
    np.testing.assert_array_equal(nan_to_num(a, nan=2.0), np.nan_to_num(a, nan=2.0))
    np.testing.assert_array_equal(nan_to_num(a, nan=0.0, posinf=1e300, neginf=-1e300),
                                  np.nan_to_num(a, nan=0.0, posinf=1e300, neginf=-1e300))
    b = np.array([1.0, np.nan])
    np.testing.assert_array_equal(nan_to_num(b), np.nan_to_num(b))
