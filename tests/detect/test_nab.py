"""The NAB scorer in benchmarks/nab.py follows NAB's sweeper: checks against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import nab

COST = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0}


def test_scaled_sigmoid_matches_nab_values() -> None:
    assert float(nab.scaled_sigmoid(np.array(-1.0))) == pytest.approx(0.98661, abs=1e-5)
    assert float(nab.scaled_sigmoid(np.array(-0.5))) == pytest.approx(0.84828, abs=1e-5)
    assert float(nab.scaled_sigmoid(np.array(0.0))) == 0.0
    assert float(nab.scaled_sigmoid(np.array(3.0))) == -1.0


def test_probationary_length() -> None:
    assert nab.probationary_length(1000) == 150
    assert nab.probationary_length(10000) == 750


def test_sweep_scores_by_hand() -> None:
    score, win = nab.sweep_scores(20, [(10, 13)], COST)
    assert score[0] == pytest.approx(-0.11)  # no window before: -A_FP in full
    width = 4.0
    # first record of the window scores A_TP (scaled by maxTP), later ones less
    assert score[10] == pytest.approx(nab.scaled_sigmoid(np.array(-(13 - 10 + 1) / width)) / nab.MAX_TP)
    assert score[10] == pytest.approx(1.0)
    assert score[13] < score[10]
    assert list(win[10:14]) == [0, 0, 0, 0] and win[9] == -1 and win[14] == -1
    # after the window: sigmoid of the distance past its right edge over (width - 1)
    assert score[15] == pytest.approx(0.11 * nab.scaled_sigmoid(np.array(2 / 3.0)))


def _file(n: int, windows: list[tuple[int, int]]) -> nab.NabFile:
    import pandas as pd

    ts = pd.DatetimeIndex(pd.date_range("2020-01-01", periods=n, freq="5min"))
    return nab.NabFile("x.csv", ts, np.zeros(n), windows)


def test_perfect_null_and_normalisation() -> None:
    files = [_file(200, [(100, 119)]), _file(300, [(150, 179), (240, 269)])]
    prof = {"standard": COST}
    null = nab.nab_scores(files, [np.zeros(200), np.zeros(300)], prof)["standard"]
    assert null["normalized"] == 0.0 and null["null"] == -3.0 and null["perfect"] == 3.0
    perfect = [np.zeros(200), np.zeros(300)]
    perfect[0][100] = 1
    perfect[1][150] = 1
    perfect[1][240] = 1
    res = nab.nab_scores(files, perfect, prof)["standard"]
    assert res["normalized"] == pytest.approx(100.0)
    # one window missed and one false positive far from any window
    some = [np.zeros(200), np.zeros(300)]
    some[0][100] = 1
    some[1][150] = 1
    some[1][60] = 1  # before any window: costs A_FP in full
    res = nab.nab_scores(files, some, prof)["standard"]
    raw = 1 + 1 - 1 - 0.11
    assert res["raw"] == pytest.approx(raw)
    assert res["normalized"] == pytest.approx(100 * (raw + 3) / 6)


def test_threshold_is_swept_over_all_files() -> None:
    files = [_file(200, [(100, 119)])]
    sc = np.zeros(200)
    sc[105] = 0.9  # inside, late-ish
    sc[50] = 0.95  # FP with a higher score than the TP
    res = nab.nab_scores(files, [sc], {"standard": COST})["standard"]
    tp = float(nab.scaled_sigmoid(np.array(-(119 - 105 + 1) / 20.0)) / nab.MAX_TP)
    assert res["threshold"] == 0.9
    assert res["raw"] == pytest.approx(tp - 0.11)
    assert not math.isnan(res["normalized"])


def test_real_nab_subset_scores() -> None:
    """The shared NAB subset loads with the right clock, and the ensemble keeps its published score."""
    from tests.conftest import shared_data_dir

    data = shared_data_dir() / "nab"
    files = nab.load_corpus(data)
    assert len(files) == 38 and sum(len(f.windows) for f in files) == 69
    assert all(np.all(np.diff(f.seconds) >= 0) for f in files)  # two AWS files repeat some times
    assert np.median(np.diff(files[0].seconds)) == 300.0
    res = nab.evaluate(data, only=["ensemble"])["detectors"]["ensemble"]
    assert res["standard"] > 50 and res["reward_low_FP_rate"] > 35 and res["reward_low_FN_rate"] > 55
