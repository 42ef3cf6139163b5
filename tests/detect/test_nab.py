"""The NAB scorer in benchmarks/nab.py follows NAB's sweeper: checks against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_score_at_the_best_threshold_is_the_best_score(data: st.DataObject) -> None:
    """score_at (a fixed threshold) agrees with NAB's sweep at the threshold the sweep picks, and no
    other threshold scores more."""
    n = data.draw(st.integers(40, 120))
    a = data.draw(st.integers(5, n - 12))
    b = data.draw(st.integers(a + 1, min(a + 10, n - 1)))
    sc = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 0.9]), min_size=n, max_size=n)))
    sweep, win = nab.sweep_scores(n, [(a, b)], COST)
    entries = [(sc, sweep, win)]
    thr, best = nab.best_threshold(entries, 1.0)
    assert nab.score_at(entries, thr, 1.0) == pytest.approx(best)
    for t in (0.1, 0.3, 0.6, 0.8, 1.0):
        assert nab.score_at(entries, t, 1.0) <= best + 1e-9


class _FakeCache(nab.ScoreCache):
    """Candidate 'a' is perfect on category X and floods category Y with false positives; 'b' the opposite."""

    def get(self, params: dict[str, object]) -> list[np.ndarray]:
        good = "X/" if params["log"] else "Y/"
        out = []
        for f in self.files:
            s = np.zeros(len(f.values))
            if f.name.startswith(good):
                s[f.windows[0][0]] = 0.9
            else:
                s[::3] = 0.9
            out.append(s)
        return out


def test_cross_validation_never_scores_a_category_with_parameters_chosen_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    monkeypatch.setattr(nab, "GRID", {"log": [True, False]})
    ts = pd.DatetimeIndex(pd.date_range("2020-01-01", periods=300, freq="5min"))
    files = [nab.NabFile("X/a.csv", ts, np.zeros(300), [(150, 179)]),
             nab.NabFile("X/b.csv", ts, np.zeros(300), [(200, 229)]),
             nab.NabFile("Y/a.csv", ts, np.zeros(300), [(150, 179)])]
    prof = {"standard": COST}
    cv = nab.cross_validate(files, prof, _FakeCache(files))
    # X held out: chosen on Y alone -> log False, which is bad on X; and the other way round
    assert cv["folds"]["X"]["chosen"] == {"log": False}
    assert cv["folds"]["Y"]["chosen"] == {"log": True}
    assert cv["folds"]["X"]["held_out"]["standard"]["normalized"] < 0
    assert cv["folds"]["Y"]["held_out"]["standard"]["normalized"] < 0
    # in-sample the procedure would look perfect on X+X
    params, score = nab.choose([0, 1], _FakeCache(files), prof)
    assert params == {"log": True} and score == pytest.approx(100.0)


def test_shipped_default_is_what_the_procedure_chooses() -> None:
    """`likelihood`'s defaults are the procedure's choice on every NAB file we have; change the defaults
    only by re-running the procedure (python -m benchmarks.nab)."""
    from tests.conftest import shared_data_dir

    data = shared_data_dir() / "nab"
    files = nab.load_corpus(data)
    profiles = nab.load_profiles(data)
    params, _ = nab.choose(list(range(len(files))), nab.ScoreCache(files), profiles)
    assert nab._is_default(params)
    assert nab.default_config()["kind"] == "likelihood"


def test_the_procedure_weighs_standard_and_low_fp_equally(monkeypatch: pytest.MonkeyPatch) -> None:
    """The criterion is the mean of the standard and low-FP normalised scores: a candidate that wins
    the standard profile by flooding false positives loses to a quieter one."""
    import pandas as pd

    class Cache(nab.ScoreCache):
        def get(self, params: dict[str, object]) -> list[np.ndarray]:
            out = []
            for f in self.files:
                s = np.zeros(len(f.values))
                if params["log"]:  # first record of the window, and one false positive
                    s[f.windows[0][0]] = 0.9
                    s[60] = 0.9
                else:  # half-way into the window, no false positive
                    s[f.windows[0][0] + 15] = 0.9
                out.append(s)
            return out

    monkeypatch.setattr(nab, "GRID", {"log": [True, False]})
    ts = pd.DatetimeIndex(pd.date_range("2020-01-01", periods=300, freq="5min"))
    files = [nab.NabFile("X/a.csv", ts, np.zeros(300), [(150, 179)])]
    std = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0}
    low_fp = {"tpWeight": 1.0, "fpWeight": 0.22, "fnWeight": 1.0}
    cache = Cache(files)
    loud_std = nab.normalise(nab.score_at(nab._entries(files, cache.get({"log": True}), std), 0.5, 1.0), 1, std)
    quiet_std = nab.normalise(nab.score_at(nab._entries(files, cache.get({"log": False}), std), 0.5, 1.0), 1, std)
    assert loud_std is not None and quiet_std is not None and loud_std > quiet_std
    assert nab.choose([0], cache, {"standard": std})[0] == {"log": True}
    params, val = nab.choose([0], cache, {"standard": std, "reward_low_FP_rate": low_fp})
    assert params == {"log": False}
    quiet_fp = nab.normalise(nab.score_at(nab._entries(files, cache.get({"log": False}), low_fp), 0.5, 1.0), 1,
                             low_fp)
    assert quiet_fp is not None and val == pytest.approx((quiet_std + quiet_fp) / 2)
