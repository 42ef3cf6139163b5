"""The `likelihood` detector (the default): tail function, calibration across scales, types, cool-down."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.detect.anomaly.likelihood import log_normal_tail
from opsctl.detect.registry import make_anomaly_detector


@settings(max_examples=200, deadline=None)
@given(z=st.floats(-8.0, 37.0))
def test_log_tail_matches_erfc(z: float) -> None:
    exact = math.log(0.5 * math.erfc(z / math.sqrt(2.0)))
    got = float(log_normal_tail(np.array([z]))[0])
    assert got == pytest.approx(exact, rel=1e-6, abs=1e-6)


def test_log_tail_far_out_does_not_underflow() -> None:
    got = log_normal_tail(np.array([60.0, 200.0]))
    assert np.all(np.isfinite(got)) and got[1] < got[0] < -1000


def noise(n: int, seed: int, scale: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.arange(n, dtype=float) * 300.0, level + scale * rng.normal(0, 1, n)


@pytest.mark.parametrize(("scale", "level"), [(1e-3, 0.0), (1.0, 50.0), (1e4, 1e6), (0.2, -3.0)])
def test_one_threshold_fits_every_scale(scale: float, level: float) -> None:
    """Pure noise of any scale and level: almost nothing reaches the default alert score 0.5, while a
    jump of 8 sigmas does."""
    ts, vs = noise(3000, 1, scale, level)
    det = make_anomaly_detector("likelihood", {"log": False, "period": 0})
    quiet = det.score(ts, vs).score
    assert np.mean(quiet >= 0.5) < 0.002
    vs[2500] += 8 * scale
    loud = det.score(ts, vs)
    assert loud.score[2500] >= 0.5
    assert loud.point(2500)["type"] in ("spike", "outlier")


def test_scores_do_not_depend_on_units() -> None:
    ts, vs = noise(2000, 2, 3.0, 10.0)
    vs[1500:1510] += 30
    det = make_anomaly_detector("likelihood", {"log": False})
    a = det.score(ts, vs).score
    b = det.score(ts, vs * 1000.0 + 7.0).score
    np.testing.assert_allclose(a, b, atol=1e-6)


def first_alert(f: object, start: int, within: int) -> int:
    score = f.score[start : start + within]  # type: ignore[attr-defined]
    assert score.max() >= 0.5, "no alert"
    return start + int(np.argmax(score >= 0.5))


def test_kinds() -> None:
    ts, vs = noise(3000, 3, 1.0, 100.0)
    det = make_anomaly_detector("likelihood", {"log": False, "period": 0})
    drop = vs.copy()
    drop[500] = 80.0  # an early excursion widens the range seen: later drops are not outliers
    drop[2000:2003] -= 9
    f = det.score(ts, drop)
    assert f.point(2000)["type"] in ("drop", "none")  # `none` below score 0.25
    pt = f.point(first_alert(f, 2000, 3))
    assert pt["type"] in ("drop", "level_shift") and pt["observed"] < pt["baseline"]
    inside = make_anomaly_detector("likelihood", {"log": False, "period": 0, "spatial_tolerance": 0})
    shift = vs.copy()
    shift[2000:] += 4  # 4 sigma, held: noticed within a few points, typed a level shift
    f = inside.score(ts, shift)
    assert f.point(first_alert(f, 2000, 10))["type"] == "level_shift"
    ramp = vs.copy()
    ramp[2000:] += np.arange(1000) * 0.4
    f = inside.score(ts, ramp)
    first_alert(f, 2000, 20)
    assert "trend_change" in {f.point(i)["type"] for i in range(2000, 2040)}
    far = vs.copy()
    far[2000] = 1000.0
    f = make_anomaly_detector("likelihood", {"log": False, "period": 0, "cooldown": 0}).score(ts, far)
    assert f.point(2000)["type"] == "outlier" and f.score[2000] > 0.99
    for i in range(2000, 2010):
        assert 0 <= f.point(i)["confidence"] <= 1


def test_cooldown_reports_a_burst_once() -> None:
    ts, vs = noise(3000, 4, 1.0, 100.0)
    vs[2000:2030] += 15  # a burst of 30 anomalous points
    f = make_anomaly_detector("likelihood", {"log": False, "period": 0}).score(ts, vs)
    assert np.sum(f.score[2000:2100] >= 0.5) == 1
    nocool = make_anomaly_detector("likelihood", {"log": False, "period": 0, "cooldown": 0}).score(ts, vs)
    assert np.sum(nocool.score[2000:2100] >= 0.5) > 1


def test_seasonal_base_sees_a_missing_daily_peak() -> None:
    """A daily peak that does not come: the EWMA alone barely notices, the same-time-yesterday base does."""
    n = 288 * 14
    ts = np.arange(n, dtype=float) * 300.0
    rng = np.random.default_rng(5)
    day = (ts % 86400) / 86400
    vs = 10 + 50 * np.exp(-((day - 0.5) ** 2) / 0.002) + rng.normal(0, 1, n)
    gone = vs.copy()
    d12 = 288 * 12
    gone[d12 + 120 : d12 + 170] = 10 + rng.normal(0, 1, 50)
    with_season = make_anomaly_detector("likelihood", {}).score(ts, gone).score
    assert with_season[d12 + 120 : d12 + 180].max() >= 0.5
    assert with_season[288 * 3 : d12].max() < 0.5  # the regular peaks are not anomalies


def test_jittered_clock_does_not_make_seasonal_noise() -> None:
    """Irregular sampling: the same time one period ago is often not there; that is no evidence, so a
    noisy series with a jittered clock stays quiet."""
    rng = np.random.default_rng(6)
    n = 288 * 10
    ts = np.cumsum(rng.uniform(200.0, 400.0, n))
    vs = 50 + 10 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 1, n)
    f = make_anomaly_detector("likelihood", {}).score(ts, vs)
    assert np.mean(f.score >= 0.5) < 0.002


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(st.sampled_from([60.0, 60.0, 60.0, 30.0, 90.0, 600.0, 61.5]), min_size=2, max_size=80),
       period=st.sampled_from([120.0, 300.0, 600.0, 3600.0]))
def test_period_ago_is_the_nearest_sample(steps: list[float], period: float) -> None:
    """The regular-clock fast path gives the same match as a search for the nearest sample."""
    from opsctl.detect.anomaly.likelihood import _period_ago

    ts = np.cumsum(np.array(steps))
    j, ok = _period_ago(ts, period)
    for i in range(1, len(ts)):
        target = ts[i] - period
        dist = np.abs(ts - target)
        near = int(np.flatnonzero(dist == dist.min())[-1])  # of two equally near samples, the later
        half = (ts[i] - ts[i - 1]) / 2
        want = abs(ts[near] - target) <= half and near < i
        assert bool(ok[i]) == want
        if want:
            assert abs(ts[j[i]] - target) == abs(ts[near] - target)


def test_a_detector_without_kind_is_the_nab_default(tmp_path: Path) -> None:
    """`kind` defaults to the configuration benchmarks/nab.py scores under `default`."""
    from benchmarks import nab
    from opsctl.detect.config import DetectorConfig, load_config

    p = tmp_path / "d.yaml"
    p.write_text("version: 1\nsources:\n  m: {type: file, path: m.csv}\ndetectors:\n  - {name: a, source: m}\n"
                 "alerting:\n  receivers:\n    hook: {type: webhook, url: \"http://127.0.0.1:1/x\"}\n"
                 "  routes:\n    - {min_severity: warning, receivers: [hook]}\n")
    d = load_config(p).config.detectors[0]
    assert d.kind == nab.DEFAULT_KIND == "likelihood"
    assert d.params == {} and d.alert_score == nab.DEFAULT_ALERT_SCORE
    assert DetectorConfig.model_fields["alert_score"].default == nab.DEFAULT_ALERT_SCORE


@pytest.mark.parametrize("values", [
    [], [1.0], [1.0, 2.0], [3.0] * 500, [0.0] * 400,
    [1.0] * 300 + [1e308, -1e308] + [1.0] * 100,
    [1.0] * 300 + [float("nan"), float("inf")] + [1.0] * 100,
])
def test_edge_series_score_in_range_without_warnings(values: list[float]) -> None:
    import warnings

    vs = np.array(values, dtype=float)
    ts = np.arange(len(vs)) * 60.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = make_anomaly_detector("likelihood", {}).score(ts, vs)
    assert f.score.shape == vs.shape
    assert np.all((f.score >= 0) & (f.score < 1)) and not np.any(np.signbit(f.score))


def test_a_far_outlier_is_not_hidden_by_the_cooldown() -> None:
    """A slight new record starts a cool-down; a value far beyond everything seen still alerts in it,
    while the slight records of a burst stay damped."""
    ts, vs = noise(1000, 7, 1.0, 100.0)
    vs[600] = vs[:600].max() + 1.0  # a slight new high: an outlier, starts the cool-down
    vs[650] = 1e6  # far beyond the range: news, cool-down or not
    f = make_anomaly_detector("likelihood", {"log": False, "period": 0}).score(ts, vs)
    assert f.score[600] > 0.99 and f.score[650] > 0.99 and f.point(650)["type"] == "outlier"
    calm = make_anomaly_detector("likelihood", {"log": False, "period": 0}).score(ts, np.where(
        np.arange(1000) == 650, vs[600] + 0.5, vs))
    assert calm.score[650] < 0.5  # a slight record inside the cool-down stays damped


def daily(days: int, seed: int, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """5-minute samples: a daily peak of `amplitude` on noise of standard deviation 1."""
    n = 288 * days
    ts = np.arange(n, dtype=float) * 300.0
    phase = (ts % 86400) / 86400
    vs = 10 + amplitude * np.exp(-((phase - 0.5) ** 2) / 0.002) + np.random.default_rng(seed).normal(0, 1, n)
    return ts, vs


def test_seasonal_choice_follows_the_better_predictor() -> None:
    """The gate: the seasonal predictor is chosen once its squared errors have been the smaller, and
    not while they are the larger; nothing before both have predicted."""
    from opsctl.detect.anomaly.likelihood import seasonal_predicts_better

    rng = np.random.default_rng(8)
    small, large = rng.normal(0, 1, 3000), rng.normal(0, 2, 3000)
    none = np.zeros(3000, dtype=bool)
    assert not seasonal_predicts_better(large, small, none, 0.005)[0]
    assert seasonal_predicts_better(large, small, none, 0.005)[1000:].all()
    assert not seasonal_predicts_better(small, large, none, 0.005)[1000:].any()
    missing = small.copy()
    missing[:500] = np.nan  # the first period: no seasonal prediction yet
    assert not seasonal_predicts_better(large, missing, none, 0.005)[:501].any()


def test_seasonal_base_is_chosen_on_a_daily_series_and_not_on_noise() -> None:
    """Per series, from its own past: on white noise the seasonal base never counts (the scores are
    those without it, exactly); on a series with a daily peak it does (the scores differ after the
    first day), and it finds a missing peak that the EWMA alone does not."""
    rng = np.random.default_rng(9)
    n = 288 * 10
    ts = np.arange(n, dtype=float) * 300.0
    vs = 50 + rng.normal(0, 1, n)
    on = make_anomaly_detector("likelihood", {}).score(ts, vs).score
    off = make_anomaly_detector("likelihood", {"period": 0}).score(ts, vs).score
    np.testing.assert_array_equal(on, off)

    ts, vs = daily(14, 10, 50.0)
    d12 = 288 * 12
    vs[d12 + 120 : d12 + 170] = 10 + rng.normal(0, 1, 50)  # the peak of day 12 does not come
    on = make_anomaly_detector("likelihood", {}).score(ts, vs).score
    off = make_anomaly_detector("likelihood", {"period": 0}).score(ts, vs).score
    assert np.array_equal(on[:288], off[:288])  # no seasonal prediction during the first day
    assert not np.array_equal(on[288:], off[288:])
    assert on[d12 + 120 : d12 + 180].max() >= 0.5 > off[d12 + 120 : d12 + 180].max()
    assert on[288 * 3 : d12].max() < 0.5  # the regular peaks are not anomalies


@pytest.mark.parametrize("cut", [300, 288 * 4 + 140, 288 * 9 + 17])
def test_score_at_t_does_not_depend_on_later_data(cut: int) -> None:
    """Strict causality with the default parameters (seasonal choice included): changing every value
    after t leaves the scores, types and baselines up to t unchanged."""
    ts, vs = daily(10, 11, 30.0)
    vs[288 * 4 + 130] += 40  # an anomaly, so that cut-offs fall inside a cool-down
    det = make_anomaly_detector("likelihood", {})
    full = det.score(ts, vs)
    other = vs.copy()
    other[cut + 1 :] = np.random.default_rng(12).normal(1e3, 1e2, vs.shape[0] - cut - 1)
    changed = det.score(ts, other)
    np.testing.assert_array_equal(changed.score[: cut + 1], full.score[: cut + 1])
    np.testing.assert_array_equal(changed.kind[: cut + 1], full.kind[: cut + 1])
    np.testing.assert_array_equal(changed.baseline[: cut + 1], full.baseline[: cut + 1])
