"""Score opsctl's anomaly detectors on the NAB series with NAB's own scoring (sweeper + threshold sweep).

Usage: python -m benchmarks.nab [--data DIR] [--json]

Follows NAB (github.com/numenta/NAB, nab/sweeper.py, optimize_threshold.py, runner.normalize):
- probationary period: the first min(floor(0.15 * n), 750) records of a file are not scored;
- each record gets a sweep score: inside a window scaledSigmoid(-(right - i + 1) / width) * A_TP / maxTP;
  outside, scaledSigmoid(|prevRight - i| / (prevWidth - 1)) * A_FP, or -A_FP when no window precedes;
- for a threshold, flagged in-window records give their window the best (earliest) sweep score, a window
  with no flagged record costs -A_FN, every flagged record outside windows adds its (negative) score;
- one threshold per profile is chosen to maximise the summed score over all files (NAB's optimiser);
- normalised = 100 * (S - S_null) / (S_perfect - S_null), with S_perfect = windows * A_TP and S_null
  the same procedure applied to the null detector (constant score).
Every detector sees each file once, front to back, with one parameter set for all files (strictly causal).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsctl.detect.anomaly.base import AnomalyDetector
from opsctl.detect.registry import ANOMALY_DETECTORS, make_anomaly_detector

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nab"


def scaled_sigmoid(pos: np.ndarray) -> np.ndarray:
    """NAB's scaledSigmoid (sweeper version): 2*sigmoid(-5x) - 1, and -1 from x >= 3."""
    pos = np.asarray(pos, dtype=np.float64)
    with np.errstate(over="ignore"):
        val = 2.0 / (1.0 + np.exp(5.0 * pos)) - 1.0
    return np.where(pos >= 3.0, -1.0, val)


MAX_TP = float(scaled_sigmoid(np.array(-1.0)))


@dataclass
class NabFile:
    name: str
    timestamps: pd.DatetimeIndex
    values: np.ndarray
    windows: list[tuple[int, int]]  # inclusive index ranges

    @property
    def seconds(self) -> np.ndarray:
        return self.timestamps.as_unit("s").asi8.astype(np.float64)


def load_corpus(data_dir: Path) -> list[NabFile]:
    labels = json.loads((data_dir / "combined_windows.json").read_text())
    files = []
    for rel in sorted(labels):
        path = data_dir / rel
        if not path.exists():
            continue
        frame = pd.read_csv(path)
        ts = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"]))
        pos = {t: i for i, t in enumerate(ts)}
        wins = []
        for start, end in labels[rel]:
            wins.append((pos[pd.Timestamp(start)], pos[pd.Timestamp(end)]))
        files.append(NabFile(rel, ts, frame["value"].to_numpy(dtype=np.float64), sorted(wins)))
    return files


def load_profiles(data_dir: Path) -> dict[str, dict[str, float]]:
    doc = json.loads((data_dir / "profiles.json").read_text())
    return {name: body["CostMatrix"] for name, body in doc.items()}


def probationary_length(n: int, percent: float = 0.15) -> int:
    return int(min(math.floor(percent * n), percent * 5000))


def sweep_scores(n: int, windows: list[tuple[int, int]], cost: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-record sweep score and window id (-1 outside windows) as in NAB's calcSweepScore."""
    idx = np.arange(n)
    score = np.empty(n)
    win = np.full(n, -1, dtype=np.int64)
    # outside windows: distance past the previous window, or -A_FP with no previous window
    score[:] = -1.0 * cost["fpWeight"]
    prev_right = -1
    prev_width = 0.0
    bounds = [*windows, (n, n)]
    for k, (a, b) in enumerate(bounds):
        seg = slice(prev_right + 1, a)
        if prev_right >= 0 and a > prev_right + 1:
            pos = np.abs(prev_right - idx[seg]) / (prev_width - 1.0)
            score[seg] = scaled_sigmoid(pos) * cost["fpWeight"]
        if a >= n:
            break
        width = float(b - a + 1)
        pos = -(b - idx[a : b + 1] + 1) / width
        score[a : b + 1] = scaled_sigmoid(pos) * cost["tpWeight"] / MAX_TP
        win[a : b + 1] = k
        prev_right, prev_width = b, width
    return score, win


def best_threshold(entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]], fn_weight: float) -> tuple[float, float]:
    """NAB's threshold sweep over all files at once: returns (threshold, best summed score).

    entries: per file (anomaly scores, sweep scores, window ids), probationary records already removed,
    window ids made globally unique.
    """
    scores = np.concatenate([e[0] for e in entries])
    sweep = np.concatenate([e[1] for e in entries])
    wins = np.concatenate([e[2] for e in entries])
    n_windows = len({int(w) for w in np.unique(wins) if w >= 0})
    order = np.argsort(-scores, kind="stable")
    s_sorted = scores[order]
    fp_contrib = np.where(wins[order] < 0, sweep[order], 0.0)
    fp_cum = np.cumsum(fp_contrib)
    # window part: running sum over windows of max(flagged sweep score) or -A_FN
    win_total = np.empty(order.shape[0])
    best: dict[int, float] = {}
    total = -fn_weight * n_windows
    w_sorted = wins[order]
    sw_sorted = sweep[order]
    for k in range(order.shape[0]):
        w = int(w_sorted[k])
        if w >= 0:
            old = best.get(w)
            new = float(sw_sorted[k])
            if old is None:
                total += new + fn_weight
                best[w] = new
            elif new > old:
                total += new - old
                best[w] = new
        win_total[k] = total
    # evaluate at the end of each run of equal scores (all records >= threshold flagged)
    ends = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    candidates = fp_cum[ends] + win_total[ends]
    none_flagged = -fn_weight * n_windows
    if candidates.size == 0 or none_flagged >= candidates.max():
        return 1.1, none_flagged
    j = int(np.argmax(candidates))
    return float(s_sorted[ends[j]]), float(candidates[j])


def score_at(entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]], threshold: float,
             fn_weight: float) -> float:
    """Summed raw score when every record scoring >= threshold is flagged (no threshold optimisation).

    entries as for best_threshold; window ids need only be unique within each file.
    """
    total = 0.0
    for sc, sw, wi in entries:
        flag = sc >= threshold
        total += float(sw[flag & (wi < 0)].sum())
        for w in np.unique(wi[wi >= 0]):
            hit = flag & (wi == w)
            total += float(sw[hit].max()) if hit.any() else -fn_weight
    return total


def _entries(files: list[NabFile], anomaly_scores: list[np.ndarray],
             cost: dict[str, float]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    offset = 0
    for f, sc in zip(files, anomaly_scores, strict=True):
        n = len(f.values)
        sweep, win = sweep_scores(n, f.windows, cost)
        win = np.where(win >= 0, win + offset, -1)
        offset += len(f.windows)
        keep = slice(probationary_length(n), n)
        out.append((np.asarray(sc, dtype=np.float64)[keep], sweep[keep], win[keep]))
    return out


def normalise(raw: float, windows: int, cost: dict[str, float]) -> float | None:
    """NAB's normalisation; S_null = -windows*A_FN (flagging nothing), S_perfect = windows*A_TP.
    None for files without windows (only false positives can be counted there)."""
    null = -windows * cost["fnWeight"]
    perfect = windows * cost["tpWeight"]
    return None if windows == 0 else 100.0 * (raw - null) / (perfect - null)


def scores_at(files: list[NabFile], anomaly_scores: list[np.ndarray], profiles: dict[str, dict[str, float]],
              threshold: float) -> dict[str, dict[str, float | None]]:
    """Raw and normalised score per profile with one fixed threshold (what a shipped alert_score does)."""
    windows = sum(len(f.windows) for f in files)
    out: dict[str, dict[str, float | None]] = {}
    for name, cost in profiles.items():
        raw = score_at(_entries(files, anomaly_scores, cost), threshold, cost["fnWeight"])
        out[name] = {"raw": raw, "normalized": normalise(raw, windows, cost)}
    return out


def nab_scores(files: list[NabFile], anomaly_scores: list[np.ndarray],
               profiles: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Raw, null, perfect and normalised score per profile."""
    out: dict[str, dict[str, float]] = {}
    total_windows = sum(len(f.windows) for f in files)
    for name, cost in profiles.items():
        entries = _entries(files, anomaly_scores, cost)
        null_entries = [(np.zeros(len(sc)), sweep, win) for sc, sweep, win in entries]  # flags nothing
        thr, raw = best_threshold(entries, cost["fnWeight"])
        _, null = best_threshold(null_entries, cost["fnWeight"])
        perfect = total_windows * cost["tpWeight"]
        out[name] = {
            "threshold": thr,
            "raw": raw,
            "null": null,
            "perfect": perfect,
            "normalized": 100.0 * (raw - null) / (perfect - null),
        }
    return out


# ---- the detectors scored -------------------------------------------------------------------------


def suppress_repeats(score: np.ndarray, level: float, hold: int) -> np.ndarray:
    """Causal alert post-processing: after a record scoring >= level, the next `hold` records score
    at most just below `level` (what the alerting layer's deduplication does to notifications)."""
    out = score.copy()
    until = -1
    cap = np.nextafter(level, 0.0)
    hot = np.flatnonzero(score >= level)
    for i in hot:
        if i <= until:
            out[i] = min(out[i], cap)
            continue
        until = int(i) + hold
    return out


def ensemble_factory() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The NAB entry: the largest of rolling_percentile (window 600, p99), ewma (alpha 0.01) and seasonal
    (median of the same time on the last 3 days, threshold 6) scores, then one alert per 400 records
    (suppress_repeats at score 0.65), the way cron + dedup would alert. These few settings were chosen
    by a small grid search on this same NAB subset (see docs/detect.md for what that means)."""
    pct = make_anomaly_detector("rolling_percentile", {"window": 600})
    ewma = make_anomaly_detector("ewma", {"alpha": 0.01})
    seasonal = make_anomaly_detector("seasonal", {"period": 86400, "seasons": 3, "threshold": 6})

    def run(ts: np.ndarray, vs: np.ndarray) -> np.ndarray:
        s = np.maximum(pct.score(ts, vs).score, ewma.score(ts, vs).score)
        s = np.maximum(s, seasonal.score(ts, vs).score)
        return suppress_repeats(s, 0.65, 400)

    return run


def detector_runner(det: AnomalyDetector, dedup: bool = False) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def run(ts: np.ndarray, vs: np.ndarray) -> np.ndarray:
        s = det.score(ts, vs).score
        return suppress_repeats(s, 0.65, 400) if dedup else s

    return run


def candidates() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Every registered detector with its default parameters, raw and with the alert dedup
    post-processing, and the ensemble."""
    out: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {}
    for det_id in ANOMALY_DETECTORS:
        out[det_id] = detector_runner(make_anomaly_detector(det_id, {}))
        out[det_id + "+dedup"] = detector_runner(make_anomaly_detector(det_id, {}), dedup=True)
    out["ensemble"] = ensemble_factory()
    return out


# ---- the default configuration and the procedure that chooses it ------------------------------------

DEFAULT_KIND = "likelihood"  # what docs/detect.md recommends and `opsctl detect` ships tuned
DEFAULT_ALERT_SCORE = 0.5  # DetectorConfig.alert_score's default
# The candidates the procedure chooses among (every combination; earlier values win ties). alert_tail is
# the threshold itself (the tail probability that scores 0.5). The seasonal base is not a candidate: the
# detector decides per series and per point, from the series' own past, whether it helps (`period` stays
# at its default 86400; the gate is `season_alpha`).
GRID: dict[str, list[Any]] = {
    "log": [True, False],
    "cooldown": [100, 150],
    # quarter decades near 10^-3 (10^-2.75, 10^-3.25) added after the held-out score against threshold
    # peaked between the half-decade steps (docs/detect.md)
    "alert_tail": [1e-3, 10**-2.5, 1e-2, 10**-3.5, 1e-4, 10**-2.75, 10**-3.25],
}
# For comparison only (docs/detect.md): the previous procedure's grid, where the seasonal base was on or
# off for all series (`period` 86400/0), scored with the same detector. A held-out estimate too.
GRID_WITH_PERIOD: dict[str, list[Any]] = {"log": GRID["log"], "period": [86400.0, 0.0],
                                          "cooldown": GRID["cooldown"], "alert_tail": GRID["alert_tail"]}
# ... and the seasonal choice's memory, for sensitivity only (fixed at its default 0.005 in GRID)
SEASON_ALPHA_SENSITIVITY = (0.002, 0.01, 0.02)
SELECT_PROFILE = "standard"  # the profile of the per-category threshold curves
# The procedure's criterion: the mean of the normalised scores under these profiles (those of them
# present), at alert_score 0.5. Both: a candidate that buys standard score with many false positives
# loses (the realTweets fold chose `log` off on the standard profile alone: low FP 25 there).
SELECT_PROFILES = ("standard", "reward_low_FP_rate")
CURVE = [round(0.3 + 0.025 * k, 3) for k in range(17)]  # 0.30 .. 0.70


def grid_params(grid: dict[str, list[Any]] | None = None) -> list[dict[str, Any]]:
    grid = GRID if grid is None else grid
    keys = list(grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*grid.values())]


def category(f: NabFile) -> str:
    return f.name.split("/", 1)[0]


class ScoreCache:
    """Scores of each file under each candidate parameter set, computed once."""

    def __init__(self, files: list[NabFile], progress: Callable[..., None] | None = None) -> None:
        self.files = files
        self.progress = progress
        self._cache: dict[tuple[tuple[str, Any], ...], list[np.ndarray]] = {}

    def get(self, params: dict[str, Any]) -> list[np.ndarray]:
        key = tuple(sorted(params.items()))
        if key not in self._cache:
            det = make_anomaly_detector(DEFAULT_KIND, params)
            self._cache[key] = [det.score(f.seconds, f.values).score for f in self.files]
            if self.progress is not None:
                self.progress(1)
        return self._cache[key]


def choose(idx: list[int], cache: ScoreCache, profiles: dict[str, dict[str, float]],
           grid: dict[str, list[Any]] | None = None) -> tuple[dict[str, Any], float]:
    """The procedure: the candidate with the best mean of the SELECT_PROFILES normalised scores at
    alert_score 0.5 on files idx."""
    names = [p for p in SELECT_PROFILES if p in profiles] or [SELECT_PROFILE]
    files = [cache.files[i] for i in idx]
    windows = sum(len(f.windows) for f in files)
    best: tuple[dict[str, Any], float] | None = None
    for params in grid_params(grid):
        sc = cache.get(params)
        vals = []
        for name in names:
            cost = profiles[name]
            raw = score_at(_entries(files, [sc[i] for i in idx], cost), DEFAULT_ALERT_SCORE, cost["fnWeight"])
            v = normalise(raw, windows, cost)
            assert v is not None
            vals.append(v)
        val = sum(vals) / len(vals)
        if best is None or val > best[1] + 1e-9:
            best = (params, val)
    assert best is not None
    return best


def cross_validate(files: list[NabFile], profiles: dict[str, dict[str, float]],
                   cache: ScoreCache | None = None, grid: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """Leave one category out: choose on the other categories, score the held-out one, never a file with
    parameters chosen on it. Pooled = every file's held-out raw score summed, normalised over all
    windows. Two ways to set the threshold, both chosen on the training categories only: the shipped
    alert_score 0.5 with the chosen alert_tail (the default configuration's way), and NAB's way (one
    threshold per profile, optimised on the training files' scores)."""
    cache = cache or ScoreCache(files)
    cats = sorted({category(f) for f in files})
    folds: dict[str, Any] = {}
    pooled = {p: 0.0 for p in profiles}
    pooled_nab = {p: 0.0 for p in profiles}
    # held-out score against the alert_score threshold: each fold's chosen candidate, at thresholds
    # around 0.5 (calibration on unseen series, not only on the files the default was chosen on)
    pooled_curve = {p: [0.0] * len(CURVE) for p in profiles}
    for cat in cats:
        train = [i for i, f in enumerate(files) if category(f) != cat]
        test = [i for i, f in enumerate(files) if category(f) == cat]
        if not any(files[i].windows for i in train):
            continue
        params, train_score = choose(train, cache, profiles, grid)
        sc = cache.get(params)
        tf = [files[i] for i in test]
        ts = [sc[i] for i in test]
        windows = sum(len(f.windows) for f in tf)
        held: dict[str, Any] = {}
        for p, cost in profiles.items():
            raw = score_at(_entries(tf, ts, cost), DEFAULT_ALERT_SCORE, cost["fnWeight"])
            thr, _ = best_threshold(_entries([files[i] for i in train], [sc[i] for i in train], cost),
                                    cost["fnWeight"])
            raw_nab = score_at(_entries(tf, ts, cost), thr, cost["fnWeight"])
            pooled[p] += raw
            pooled_nab[p] += raw_nab
            test_entries = _entries(tf, ts, cost)
            for k, thr_k in enumerate(CURVE):
                pooled_curve[p][k] += score_at(test_entries, thr_k, cost["fnWeight"])
            held[p] = {"raw": round(raw, 4), "normalized": _r(normalise(raw, windows, cost)),
                       "nab_threshold": round(thr, 4), "raw_nab_threshold": round(raw_nab, 4),
                       "normalized_nab_threshold": _r(normalise(raw_nab, windows, cost))}
        folds[cat] = {"files": len(tf), "windows": windows, "chosen": params,
                      "train_criterion": round(train_score, 2), "held_out": held}
    windows = sum(len(f.windows) for f in files)
    return {
        "protocol": "leave one category out; parameters and threshold chosen on the other categories",
        "grid": GRID if grid is None else grid, "select_profiles": list(SELECT_PROFILES), "folds": folds,
        "pooled_at_alert_score": {p: _r(normalise(v, windows, profiles[p])) for p, v in pooled.items()},
        "pooled_nab_thresholds": {p: _r(normalise(v, windows, profiles[p])) for p, v in pooled_nab.items()},
        "pooled_threshold_curve": [
            {"threshold": thr_k, **{p: _r(normalise(v[k], windows, profiles[p])) for p, v in pooled_curve.items()}}
            for k, thr_k in enumerate(CURVE)],
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def default_config() -> dict[str, Any]:
    det = make_anomaly_detector(DEFAULT_KIND, {})
    return {"kind": DEFAULT_KIND, "alert_score": DEFAULT_ALERT_SCORE, "params": det.params.model_dump()}


def default_entry(files: list[NabFile], profiles: dict[str, dict[str, float]],
                  cache: ScoreCache | None = None) -> dict[str, Any]:
    """The shipped default on these files: at its own alert_score 0.5 (no threshold chosen on them), NAB's
    way (threshold optimised per profile on them, as NAB's scoreboard does), and the score as a function
    of the threshold around 0.5 (calibration)."""
    cache = cache or ScoreCache(files)
    t0 = time.perf_counter()
    scores = cache.get({})
    elapsed = time.perf_counter() - t0
    res = nab_scores(files, scores, profiles)
    fixed = scores_at(files, scores, profiles, DEFAULT_ALERT_SCORE)
    curve = []
    for thr in CURVE:
        at = scores_at(files, scores, profiles, thr)
        curve.append({"threshold": thr, **{p: _r(v["normalized"]) for p, v in at.items()}})
    by_cat: dict[str, list[float | None]] = {}
    for cat in sorted({category(f) for f in files if f.windows}):
        idx = [i for i, f in enumerate(files) if category(f) == cat]
        sub = [files[i] for i in idx]
        by_cat[cat] = [_r(scores_at(sub, [scores[i] for i in idx], {SELECT_PROFILE: profiles[SELECT_PROFILE]},
                                    thr)[SELECT_PROFILE]["normalized"]) for thr in CURVE]
    return {"config": default_config(), "seconds": round(elapsed, 3),
            **{p: round(v["normalized"], 2) for p, v in res.items()},
            "thresholds": {p: v["threshold"] for p, v in res.items()},
            "at_alert_score": {p: _r(v["normalized"]) for p, v in fixed.items()},
            "threshold_curve": curve,
            "threshold_curve_by_category": {"profile": SELECT_PROFILE, "thresholds": CURVE, **by_cat}}


def evaluate(data_dir: Path = DEFAULT_DATA, only: list[str] | None = None, cv: bool = True,
             progress: Callable[..., None] | None = None, sensitivity: bool = False) -> dict[str, object]:
    """NAB scores; `progress(1)` after each detector configuration is run over the corpus."""
    files = load_corpus(data_dir)
    profiles = load_profiles(data_dir)
    results: dict[str, object] = {"files": len(files), "windows": sum(len(f.windows) for f in files),
                                  "records": int(sum(len(f.values) for f in files)), "detectors": {}}
    dets = results["detectors"]
    assert isinstance(dets, dict)
    cache = ScoreCache(files, progress)
    if not only or "default" in only:
        dets["default"] = default_entry(files, profiles, cache)
    if cv and not only and len({category(f) for f in files if f.windows}) >= 2:
        results["cross_validation"] = cross_validate(files, profiles, cache)
        params, _ = choose(list(range(len(files))), cache, profiles)
        results["procedure_on_all_files"] = {"chosen": params,
                                             "is_shipped_default": _is_default(params)}
        if sensitivity:
            alt = cross_validate(files, profiles, cache, GRID_WITH_PERIOD)
            results["cross_validation_period_in_grid"] = {
                "note": "the previous procedure's grid: seasonal base on or off for all series, chosen per fold",
                "chosen": {c: f["chosen"] for c, f in alt["folds"].items()},
                **{k: alt[k] for k in ("grid", "pooled_at_alert_score", "pooled_nab_thresholds")}}
            results["cross_validation_season_alpha"] = {
                str(sa): cross_validate(files, profiles, cache, {**GRID, "season_alpha": [sa]})[
                    "pooled_at_alert_score"] for sa in SEASON_ALPHA_SENSITIVITY}
    for name, run in candidates().items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        scores = [run(f.seconds, f.values) for f in files]
        elapsed = time.perf_counter() - t0
        if progress is not None:
            progress(1)
        res = nab_scores(files, scores, profiles)
        dets[name] = {"seconds": round(elapsed, 3),
                      **{p: round(v["normalized"], 2) for p, v in res.items()},
                      "thresholds": {p: v["threshold"] for p, v in res.items()}}
    return results


def _is_default(params: dict[str, Any]) -> bool:
    shipped = make_anomaly_detector(DEFAULT_KIND, {}).params.model_dump()
    return all(shipped[k] == v for k, v in params.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--no-cv", action="store_true", help="skip the leave-one-category-out cross-validation")
    ap.add_argument("--sensitivity", action="store_true",
                    help="also cross-validate the previous grid (seasonal base on/off for all series) "
                    "and other season_alpha values")
    args = ap.parse_args(argv)
    if not (args.data / "combined_windows.json").exists():
        print(f"NAB data not found in {args.data}", file=sys.stderr)
        return 2
    from opsctl.cli.progress import progress_bar, wanted

    # a bar on a terminal only: `--json` output and pipes stay clean (never shown when stderr is redirected)
    with progress_bar("NAB detector runs", None, enabled=wanted(machine_output=args.json)) as step:
        res = evaluate(args.data, args.only, cv=not args.no_cv, progress=step, sensitivity=args.sensitivity)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"NAB subset: {res['files']} files, {res['windows']} windows, {res['records']} records")
    print(f"{'detector':<26} {'standard':>9} {'low_FP':>9} {'low_FN':>9} {'seconds':>8}")
    dets = res["detectors"]
    assert isinstance(dets, dict)
    for name, r in dets.items():
        print(f"{name:<26} {r['standard']:>9.2f} {r['reward_low_FP_rate']:>9.2f} "
              f"{r['reward_low_FN_rate']:>9.2f} {r['seconds']:>8.3f}")
    if "default" in dets:
        d = dets["default"]
        print(f"\ndefault = {d['config']}")
        fx = d["at_alert_score"]
        print(f"  at alert_score 0.5 (no threshold chosen on these files): standard {fx['standard']}, "
              f"low_FP {fx['reward_low_FP_rate']}, low_FN {fx['reward_low_FN_rate']}")
        cats = [c for c in d["threshold_curve_by_category"] if c not in ("profile", "thresholds")]
        print("  threshold  standard  low_FP  low_FN  | standard by category: " + ", ".join(cats))
        for k, row in enumerate(d["threshold_curve"]):
            print(f"  {row['threshold']:>9.3f} {row['standard']:>9.2f} {row['reward_low_FP_rate']:>7.2f} "
                  f"{row['reward_low_FN_rate']:>7.2f}  | "
                  + " ".join(f"{d['threshold_curve_by_category'][c][k]:>8.2f}" for c in cats))
    cvr = res.get("cross_validation")
    if isinstance(cvr, dict):
        print(f"\nleave-one-category-out (held-out scores): {cvr['protocol']}")
        for cat, fold in cvr["folds"].items():
            h = fold["held_out"]
            print(f"  {cat:<24} chosen {fold['chosen']}: " + ", ".join(
                f"{p} {h[p]['normalized']} (raw {h[p]['raw']})" for p in h))
        print(f"  pooled at alert_score 0.5: {cvr['pooled_at_alert_score']}")
        print(f"  pooled, NAB per-profile thresholds chosen on training folds: {cvr['pooled_nab_thresholds']}")
        print(f"  procedure on all files: {res['procedure_on_all_files']}")
        print("  held-out score against threshold (each fold's choice): threshold  standard  low_FP  low_FN")
        for row in cvr["pooled_threshold_curve"]:
            print(f"  {row['threshold']:>9.3f} {row['standard']:>9.2f} {row['reward_low_FP_rate']:>7.2f} "
                  f"{row['reward_low_FN_rate']:>7.2f}")
    alt = res.get("cross_validation_period_in_grid")
    if isinstance(alt, dict):
        print(f"  for comparison, seasonal base on/off chosen per fold: at alert_score 0.5 "
              f"{alt['pooled_at_alert_score']}, NAB thresholds {alt['pooled_nab_thresholds']}")
        for cat, ch in alt["chosen"].items():
            print(f"    {cat:<24} chosen {ch}")
    by_sa = res.get("cross_validation_season_alpha")
    if isinstance(by_sa, dict):
        for sa, pooled in by_sa.items():
            print(f"  season_alpha {sa} instead of the default: held out at alert_score 0.5 {pooled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
