"""Anomaly detectors: causality (no look-ahead), types, flat-series floors, NaN handling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.detect.anomaly.base import ANOMALY_TYPES, hopping_window_stats
from opsctl.detect.registry import ANOMALY_DETECTORS, make_anomaly_detector

SMALL = {
    "ewma": {"min_periods": 3},
    "zscore": {"window": 8, "min_periods": 3},
    "robust_z": {"window": 8, "min_periods": 3, "hop": 3},
    "rolling_percentile": {"window": 10, "min_periods": 3, "hop": 2},
    "level_shift": {"short": 2, "long": 6, "trend_window": 3},
    "seasonal": {"period": 10.0, "window": 5},
    "likelihood": {"period": 10.0, "short": 3, "history": 10, "min_history": 4, "cooldown": 5},
}


def series(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.arange(n, dtype=float) * 60.0
    return ts, 100 + rng.normal(0, 1, n)


@pytest.mark.parametrize("det_id", sorted(ANOMALY_DETECTORS))
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=60),
       cut=st.integers(1, 59))
def test_causal_prefix_scores_do_not_change(det_id: str, values: list[float], cut: int) -> None:
    """Scoring a prefix gives exactly the scores of the full series on that prefix."""
    vs = np.array(values)
    ts = np.arange(len(vs), dtype=float)
    cut = min(cut, len(vs))
    det = make_anomaly_detector(det_id, SMALL[det_id])
    full = det.score(ts, vs)
    part = det.score(ts[:cut], vs[:cut])
    np.testing.assert_allclose(part.score, full.score[:cut], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(part.baseline, full.baseline[:cut], rtol=1e-9, atol=1e-9, equal_nan=True)
    assert np.all((full.score >= 0) & (full.score < 1))
    assert np.all((full.confidence >= 0) & (full.confidence <= 1))


@pytest.mark.parametrize("det_id", ["ewma", "zscore", "robust_z", "rolling_percentile"])
def test_spike_is_found_and_typed(det_id: str) -> None:
    ts, vs = series(600)
    vs[500] = 140
    f = make_anomaly_detector(det_id, {}).score(ts, vs)
    assert f.score[500] > 0.5
    assert int(np.argmax(f.score)) == 500
    pt = f.point(500)
    assert pt["type"] in ("spike", "outlier")
    assert pt["observed"] == 140 and 98 < pt["baseline"] < 104  # p99 for rolling_percentile
    assert np.sum(f.score > 0.5) <= 3


def test_drop_type() -> None:
    ts, vs = series(300)
    vs[250] = 60
    f = make_anomaly_detector("ewma", {}).score(ts, vs)
    assert ANOMALY_TYPES[f.kind[250]] == "drop" and f.score[250] > 0.5


def test_level_shift_and_trend_change() -> None:
    ts, vs = series(600)
    vs[400:] += 10
    f = make_anomaly_detector("level_shift", {}).score(ts, vs)
    assert f.score[:380].max() < 0.5
    hits = np.flatnonzero(f.score > 0.5)
    assert hits.size and 400 <= hits[0] <= 410
    assert ANOMALY_TYPES[f.kind[hits[0] + 5]] == "level_shift"
    ts2, vs2 = series(600, 1)
    vs2[400:] += np.arange(200) * 0.5  # a new slope
    f2 = make_anomaly_detector("level_shift", {"short": 3}).score(ts2, vs2)
    hits2 = np.flatnonzero(f2.score > 0.5)
    assert hits2.size and hits2[0] >= 400
    assert "trend_change" in {ANOMALY_TYPES[k] for k in f2.kind[hits2]}


def test_flat_series_floor() -> None:
    """MAD = 0 on a flat series: tiny wiggles stay quiet, a real jump still fires."""
    ts = np.arange(300, dtype=float)
    vs = np.full(300, 50.0)
    vs[200] = 50.05  # 0.1 %: below the 1 % floor
    vs[250] = 80.0
    f = make_anomaly_detector("robust_z", {}).score(ts, vs)
    assert f.score[200] < 0.5
    assert f.score[250] > 0.9
    zeros = make_anomaly_detector("robust_z", {}).score(ts, np.zeros(300))
    assert np.all(zeros.score == 0)


def test_seasonal_uses_yesterday() -> None:
    ts = np.arange(3 * 288, dtype=float) * 300  # 3 days of 5-minute samples
    rng = np.random.default_rng(3)
    vs = 100 + 50 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 1, ts.size)
    vs[700] += 15  # large against the noise, small against the daily swing
    f = make_anomaly_detector("seasonal", {"period": 86400}).score(ts, vs)
    assert f.score[:288].max() == 0  # no history yet
    assert int(np.argmax(f.score)) == 700 and f.score[700] > 0.5
    assert abs(f.baseline[700] - vs[700 - 288]) < 1e-9
    z = make_anomaly_detector("zscore", {}).score(ts, vs)
    assert z.score[700] < f.score[700]


def test_nan_and_inf_are_ignored() -> None:
    ts, vs = series(200)
    vs[[50, 51, 120]] = [np.nan, np.inf, np.nan]
    for det_id in ANOMALY_DETECTORS:
        f = make_anomaly_detector(det_id, {}).score(ts, vs)
        assert f.score[[50, 51, 120]].tolist() == [0, 0, 0]
        assert np.all(np.isfinite(f.score))


def test_hopping_stats_match_numpy() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=103)
    st_ = hopping_window_stats(x, 20, 7, quantiles=(0.9,), mad=True)
    for i in (0, 1, 6, 7, 8, 20, 21, 27, 28, 102):
        s = i - i % 7
        w = x[max(0, s - 20):s]
        if w.size == 0:
            assert np.isnan(st_["median"][i])
            continue
        assert st_["median"][i] == pytest.approx(np.median(w))
        assert st_["mad"][i] == pytest.approx(np.median(np.abs(w - np.median(w))))
        assert st_["q0.9"][i] == pytest.approx(np.quantile(w, 0.9))
        assert st_["count"][i] == w.size


def test_params_are_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        make_anomaly_detector("ewma", {"alpha": 2})
    with pytest.raises(ValidationError):
        make_anomaly_detector("zscore", {"windw": 5})
