"""The sort-based hopping-window statistics and the fused score helpers give exactly what the plain
selection / numpy forms give (bitwise, signed zeros included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.detect.anomaly.base import (
    _row_median_inplace,
    _row_quantile_inplace,
    _sorted_row_mad,
    _sorted_row_median,
    expand,
    floor_scale,
    hopping_window_blocks,
    hopping_window_stats,
    nan_to_num,
    z_to_score,
)

# ties, zeros of both signs, denormals, values whose sums and differences overflow
specials = st.sampled_from([-2.0, -0.5, 0.0, -0.0, 0.0, 1.0, 1.0, 3.5, 1e6, 5e-324, 1.79e308, -1.79e308])
values = st.lists(specials | st.floats(-1e3, 1e3), min_size=0, max_size=200)


def _selection_stats(x: np.ndarray, window: int, hop: int, quantiles: tuple[float, ...],
                     mad: bool) -> dict[str, np.ndarray]:
    """The statistics of every full window by the selection-based form (what the sort replaced)."""
    n = x.shape[0]
    starts = np.arange(0, n, hop)
    s = starts[starts >= window]
    out: dict[str, np.ndarray] = {}
    if s.size == 0:
        return out
    w = np.stack([x[b - window : b] for b in s])
    for q in quantiles:
        out[f"q{q}"] = _row_quantile_inplace(w, q)
    m = _row_median_inplace(w)
    out["median"] = m
    if mad:
        np.subtract(w, m[:, None], out=w)
        np.abs(w, out=w)
        out["meanad"] = w.mean(axis=1)
        out["mad"] = _row_median_inplace(w)
    return out


def _check_blocks(x: np.ndarray, window: int, hop: int, quantiles: tuple[float, ...], mad: bool) -> None:
    with np.errstate(all="ignore"):
        got = hopping_window_blocks(x, window, hop, quantiles, mad)
        want = _selection_stats(x, window, hop, quantiles, mad)
    first = int(np.searchsorted(np.arange(0, x.shape[0], hop), window))  # first full window's block
    for key, arr in want.items():
        g = got[key][first:]
        if key == "meanad":  # only where robust_sigma reads it
            sel = ~(want["mad"] > 0)
            g, arr = g[sel], arr[sel]
        assert g.tobytes() == arr.tobytes(), (key, window, hop, quantiles, mad)


@settings(max_examples=300, deadline=None)
@given(vals=values, window=st.integers(1, 80), hop=st.integers(1, 15),
       quantiles=st.lists(st.sampled_from([0.0, 0.01, 0.5, 0.9, 0.99, 1.0]), max_size=2, unique=True),
       mad=st.booleans())
def test_block_stats_are_the_selection_forms(vals: list[float], window: int, hop: int,
                                              quantiles: list[float], mad: bool) -> None:
    _check_blocks(np.array(vals, dtype=np.float64), window, hop, tuple(quantiles), mad)


def test_block_stats_are_the_selection_forms_on_long_tied_windows() -> None:
    """Windows long enough for numpy's sort and selection to differ in how they order equal keys (here
    -0.0 and 0.0, which decide the sign of a zero median), with infinities, overflow and counters."""
    rng = np.random.default_rng(7)
    pools = ([-2.0, -0.5, 0.0, -0.0, 1.0, 3.5, 1e6, 5e-324], [np.inf, -np.inf, 0.0, 1.79e308, -1.79e308, 3.0],
             [0.0, 0.0, 0.0, 1.0, 2.0], [0.0, -0.0, np.nan, 1.0])
    for trial in range(400):
        pool = pools[trial % len(pools)]
        x = rng.choice(pool, size=int(rng.integers(1, 400)))
        quantiles = tuple(float(q) for q in rng.choice([0.0, 0.01, 0.5, 0.9, 0.99, 1.0],
                                                       size=int(rng.integers(0, 3)), replace=False))
        _check_blocks(x, int(rng.integers(1, 140)), int(rng.integers(1, 30)), quantiles, bool(trial % 3))


@settings(max_examples=300, deadline=None)
@given(vals=st.lists(specials | st.floats(-1e3, 1e3), min_size=1, max_size=40), rows=st.integers(1, 4))
def test_sorted_row_mad_is_the_median_of_the_deviations(vals: list[float], rows: int) -> None:
    a = np.tile(np.array(vals), (rows, 1))
    a.sort(axis=1)
    with np.errstate(all="ignore"):
        m = _sorted_row_median(a)
        finite = np.isfinite(m)  # an overflowing median is left to the selection form
        want = np.median(np.abs(a - m[:, None]), axis=1)
        got = _sorted_row_mad(a, m)
    assert got[finite].tobytes() == want[finite].tobytes()


@given(blocks=st.lists(st.floats(allow_nan=False), min_size=1, max_size=20), hop=st.integers(1, 7),
       cut=st.integers(0, 6), shift=st.integers(0, 12))
def test_expand_is_a_shifted_repeat(blocks: list[float], hop: int, cut: int, shift: int) -> None:
    b = np.array(blocks)
    n = max(0, b.size * hop - cut)
    rep = np.repeat(b, hop)[:n]
    want = np.concatenate([np.full(shift, -7.0), rep])[:n]
    assert np.array_equal(expand(b, hop, n, shift, -7.0), want)


@given(scale=st.lists(specials | st.just(np.nan) | st.just(np.inf) | st.just(-np.inf), min_size=1, max_size=20),
       level=st.lists(specials | st.just(np.nan) | st.just(np.inf), min_size=20, max_size=20),
       rel=st.sampled_from([0.0, 0.01, 2.0]), absf=st.sampled_from([0.0, 1e-9]),
       thr=st.sampled_from([1.0, 4.0, 1e300]))
def test_floor_scale_and_score_are_the_nan_to_num_forms(scale: list[float], level: list[float], rel: float,
                                                       absf: float, thr: float) -> None:
    s = np.array(scale)
    lv = np.array(level[: s.size])
    with np.errstate(all="ignore"):
        want = np.maximum(np.nan_to_num(s, nan=0.0), np.maximum(rel * nan_to_num(np.abs(lv), nan=0.0), absf))
        assert floor_scale(s, lv, rel, absf).tobytes() == want.tobytes()
        a = np.abs(np.nan_to_num(s, nan=0.0, posinf=1e300, neginf=1e300))
        assert z_to_score(s, thr).tobytes() == (a / (a + thr)).tobytes()


def test_hopping_stats_per_point_spread_the_blocks() -> None:
    x = np.random.default_rng(3).normal(size=101)
    blocks = hopping_window_blocks(x, 20, 7, (0.9,), mad=True)
    points = hopping_window_stats(x, 20, 7, (0.9,), mad=True)
    for key, b in blocks.items():
        assert points[key].tobytes() == np.repeat(b, 7)[:101].tobytes()
