"""Anomaly likelihood: how improbable are the recent raw scores against their own recent distribution.

The default detector of `opsctl detect`, and the one tuned honestly on NAB (docs/detect.md, "Quality:
NAB"). After Numenta's anomaly likelihood (Ahmad et al. 2017, "Unsupervised real-time anomaly detection
for streaming data"), on classical causal base scores instead of HTM predictions:

1. Values go through a signed log, sign(x)*log(1+|x|), when `log` is on (counts and byte rates are
   heavy-tailed; identical shape for small values).
2. Base residuals, each as a raw score 1 - exp(-|z|/`raw_scale`) in [0, 1):
   z of the value against the EWMA mean/standard deviation of the points before it (`alpha`), and, when
   `period` > 0, z of the change from the same time one period earlier (the nearest sample, within half
   the latest sampling step; none: no evidence) against the EWMA of past changes. The seasonal base
   counts at a point only when, on the series' own past, the same-time-last-period predictor (the value
   one period ago plus the usual change) has had the smaller squared error than the EWMA baseline
   (exponentially weighted, `season_alpha` per point, over the points where both predicted; updated
   every 16 points from the blocks before): decided per series, causally, instead of `period` being on
   or off for every series.
3. Likelihood, per base: the mean of the last `short` raw scores is compared with the mean and standard
   deviation (floored at `sigma_floor`) of that same short-term mean over the `history` points before
   it; its normal upper-tail probability p is the chance of seeing recent raw scores this high. One
   threshold then fits series of any scale and noise: p is relative to the series' own behaviour.
4. The smaller p of the bases in use is kept as Numenta's log-likelihood u = log10(1/p) / 10, in [0, 1].
5. A value outside every value seen so far by more than `spatial_tolerance` times the range seen so
   far gets u = 1 and is typed `outlier` (Numenta's "spatial anomaly"); one beyond it by the whole
   range again is reported from point `short` on, before the likelihood has its history. A glitch (a
   single value beyond the range by ten times the range, the next value back) is reported and then
   left out of the range, the scale floor and the EWMA, so one bad sample does not blind the detector.
6. Cool-down: u is multiplied by (1 - the largest u of the previous `cooldown` points), so a burst of
   anomalous points stands out at its start and is damped afterwards (smoothly: no threshold inside).
   Outliers beyond the range seen so far by at least that range again are exempt: news however recent
   the last alert.
7. Score = u * 5 / log10(1/`alert_tail`), clipped to [0, 1): p = `alert_tail` scores exactly 0.5 (the
   default `alert_score`), and the score is proportional to the number of decades of improbability.

Types: `outlier` (beyond the range of all past values), `level_shift` (the last m = max(2, `short`//3)
residuals all beyond 1.5 sigmas on one side of the baseline), `trend_change` (ditto, and the m before
them were all beyond 1 sigma on the same side, but 1.25 times less on average: still moving away),
else `spike` or `drop` by direction; points scoring under 0.25 are `none`. Confidence is the history
behind the likelihood (points scored so far / `history`). Everything is a causal recursion or a
rolling window, so the score of a point never changes when later points arrive; cost is O(n) time and
memory (0.33-0.39 s of CPU per million points in benchmarks/bench_detect.py, depending on the load).

A single point inside the range seen so far moves the short-term mean by 1/`short` of its raw score
only: isolated blips score low unless they leave the range (outlier), and a plain-noise series that
sets a new record by `spatial_tolerance` of its range early in its life can alert once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from opsctl.detect.anomaly.base import (
    DROP,
    LEVEL_SHIFT,
    NONE,
    OUTLIER,
    SPIKE,
    TREND_CHANGE,
    AnomalyDetector,
    AnomalyFrame,
    Params,
    nan_to_num,
)

_MAX_SCORE = 1.0 - 1e-9  # scores stay in [0, 1)
_TYPED = 0.25  # points scoring less (p > 10^-1.5, 3%) are typed `none`
_LN10 = float(np.log(10.0))


class LikelihoodParams(Params):
    alpha: float = Field(0.02, gt=0, le=1, description="EWMA smoothing factor of the baseline")
    period: float = Field(86400.0, ge=0, description="season in seconds for the same-time-last-period base "
                          "(0: off)")
    log: bool = Field(True, description="score sign(x)*log(1+abs(x)) instead of x (heavy-tailed metrics)")
    raw_scale: float = Field(4.0, gt=0, description="z at which a raw score is 1 - 1/e")
    short: int = Field(10, ge=1, description="points averaged into the short-term raw score")
    history: int = Field(1000, ge=10, description="points of short-term scores that define 'usual'")
    min_history: int = Field(150, ge=2, description="points of history before scoring")
    sigma_floor: float = Field(0.01, gt=0, description="floor of the standard deviation of raw scores")
    alert_tail: float = Field(10**-3.25, gt=0, lt=0.5, description="tail probability that scores 0.5")
    spatial_tolerance: float = Field(0.05, ge=0, description="beyond all past values by this fraction "
                                     "of their range: outlier (0: off)")
    cooldown: int = Field(100, ge=0, description="points after a high score whose scores are damped")
    season_alpha: float = Field(0.005, gt=0, le=1, description="EWMA smoothing of the squared prediction "
                                "errors that decide, per point, whether the seasonal base is used")


_ERFC_COEFFS = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
                0.37409196, 1.00002368)


def log_normal_tail(z: np.ndarray) -> np.ndarray:
    """Natural log of the normal upper tail Q(z) = P(N(0,1) > z), accurate for large z (no underflow).

    erfc by the Chebyshev fit of Numerical Recipes (relative error < 1.2e-7 everywhere), in log form,
    computed in place (this runs on every point twice).
    """
    z = np.asarray(z, dtype=np.float64)
    x = np.abs(z)
    x *= 1.0 / np.sqrt(2.0)
    t = x * 0.5
    t += 1.0
    np.reciprocal(t, out=t)
    acc = t * _ERFC_COEFFS[0]
    acc += _ERFC_COEFFS[1]
    for c in _ERFC_COEFFS[2:]:
        acc *= t
        acc += c
    acc *= t
    acc -= 1.26551223
    x *= x
    acc -= x
    np.log(t, out=t)
    acc += t
    acc += np.log(0.5)  # acc = log Q(|z|)
    neg = z < 0
    if neg.any():  # log Q(-|z|) = log(1 - Q(|z|))
        acc[neg] = np.log1p(-np.exp(acc[neg]))
    return acc


def _window_sums(a: np.ndarray, w: int, squares: bool = True) -> list[np.ndarray]:
    """Count, sum and (if asked) sum of squares of the finite values among a[i-w+1 .. i], by running
    sums (O(n); a running sum only ever adds the next point, so a prefix gives the same numbers)."""
    finite = np.isfinite(a)
    if finite.all():
        count = np.arange(1.0, a.shape[0] + 1.0)
        np.minimum(count, float(w), out=count)
        v = a
    else:
        v = np.where(finite, a, 0.0)
        count = _lagged_difference(np.cumsum(finite, dtype=np.float64), w)
    out = [count]
    for col in (v, v * v) if squares else (v,):
        out.append(_lagged_difference(np.cumsum(col), w))
    return out


def _lagged_difference(c: np.ndarray, w: int) -> np.ndarray:
    """c[i] - c[i-w] (c[i] for i < w), in place."""
    if w < c.shape[0]:
        c[w:] -= c[:-w]  # numpy buffers overlapping operands: the result is that of a copy
    return c


def _shift1(a: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    out[0] = np.nan
    out[1:] = a[:-1]
    return out


def _ewm_z(x: np.ndarray, alpha: float, floor: np.ndarray,
           skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(z, baseline) of each point against the EWMA mean/std of the finite points before it, leaving
    the points in `skip` (glitches) out of the mean and deviation (they still get their own z)."""
    fit = x if skip is None or not skip.any() else np.where(skip, np.nan, x)
    ew = pd.Series(fit).ewm(alpha=alpha, adjust=True, ignore_na=True)
    mean = _shift1(ew.mean().to_numpy())
    scale = _shift1(ew.std(bias=True).to_numpy())
    np.fmax(scale, floor, out=scale)  # no deviation yet (NaN): the floor
    with np.errstate(invalid="ignore"):
        z = x - mean
        z /= scale
    z[np.isnan(z)] = 0.0
    if np.isinf(z).any():
        np.nan_to_num(z, copy=False, posinf=1e300, neginf=-1e300)
    return z, mean


def _recent_z(raw: np.ndarray, p: LikelihoodParams) -> np.ndarray:
    """z of the short-term mean of raw against its past distribution, clipped at 0 (recent raw scores
    below their usual level are no evidence of anything: p = 1/2 at most); -1 where there is none."""
    cnt, tot = _window_sums(raw, p.short, squares=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = tot
        avg /= cnt  # NaN where the window holds no finite raw score (0 / 0: the sum is exactly 0)
        cnt, tot, sq = _window_sums(avg, p.history)
        mean = tot / cnt
        var = sq / cnt
        var -= mean * mean
        np.maximum(var, 0.0, out=var)
        np.sqrt(var, out=var)
    mean = _shift1(mean)
    mean[_shift1(cnt) < p.min_history] = np.nan
    sd = _shift1(var)
    sd[0] = 0.0
    np.fmax(sd, p.sigma_floor, out=sd)  # NaN (no history yet) becomes the floor
    avg -= mean
    avg /= sd
    z = avg
    z[~np.isfinite(z)] = -1.0
    np.maximum(z, 0.0, out=z, where=z != -1.0)
    return z


def _period_ago(ts: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
    """Index of the sample nearest to ts - period and whether it is within half the latest sampling step
    (causal). Regular clocks take the fast path: period/step points back."""
    n = ts.shape[0]
    pos = np.arange(n)
    gap = np.empty(n)
    gap[0] = 0.0
    np.subtract(ts[1:], ts[:-1], out=gap[1:])
    if n > 2 and gap[1] > 0 and np.all(gap[2:] == gap[1]):
        b = period / gap[1]
        if b == round(b) and 1 <= b < n and np.all(ts[int(b):] - ts[: n - int(b)] == period):
            # a regular clock and exactly b points back everywhere: the match is exact and its
            # neighbours are a whole step away; the first b points have none
            b = int(b)
            return np.maximum(pos - b, 0), pos >= b
    with np.errstate(divide="ignore", invalid="ignore"):
        back = np.rint(period / gap)
    back[~np.isfinite(back)] = 0
    gap *= 0.5
    target = ts - period
    j = np.clip(pos - back.astype(np.int64), 0, n - 1)
    d = np.abs(ts[j] - target)
    # the guess must be within half the step and nearer than both its neighbours
    bad = d > gap
    bad |= np.abs(ts[np.maximum(j - 1, 0)] - target) < d
    bad |= np.abs(ts[np.minimum(j + 1, n - 1)] - target) < d
    miss = np.flatnonzero(bad)
    if miss.size:  # irregular clock: search for the nearest sample
        t = target[miss]
        right = np.clip(np.searchsorted(ts, t), 0, n - 1)
        left = np.maximum(right - 1, 0)
        j[miss] = np.where(np.abs(ts[left] - t) < np.abs(ts[right] - t), left, right)
    ok = (np.abs(ts[j] - target) <= gap) & (j < pos)
    return j, ok


GLITCH = 10.0  # a glitch lies beyond the range seen so far by at least this many times that range


def glitch_free_range(vs: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hi, lo, glitch): the largest and smallest value before each point, leaving out glitches.

    A glitch is a single value beyond the range seen so far by at least that range again (from point
    `start` on), whose next value is back within that distance: it is reported (an outlier) but then
    forgotten, so one bad sample (1e20 from a broken exporter) neither widens the range later values
    are judged against nor inflates the scale floor. Whether point i was a glitch is known at point
    i+1, so the range at any point uses only earlier values (causal). Two or more such values in a
    row are a real move and widen the range as before. Excluding a glitch can shrink the range and
    make another value far: repeated until nothing changes (one pass when there is no glitch)."""
    n = vs.shape[0]
    glitch = np.zeros(n, dtype=bool)
    hi, lo = _running_range(vs, glitch)
    if n < 2:
        return hi, lo, glitch
    for _ in range(50):  # each pass settles at least the earliest glitch still wrong
        r = hi - lo
        with np.errstate(invalid="ignore"):
            g = GLITCH * r
            cand = vs - hi >= g
            cand |= lo - vs >= g
        cand[:start] = False
        cand[-1] = False  # whether the last point is a glitch is for the next point to say
        idx = np.flatnonzero(cand)
        new = np.zeros(n, dtype=bool)
        if idx.size:
            idx = idx[hi[idx] > lo[idx]]
            nxt = vs[idx + 1]
            back = np.where(vs[idx] > hi[idx], nxt - hi[idx] < r[idx], lo[idx] - nxt < r[idx])
            new[idx[back]] = True
        if np.array_equal(new, glitch):
            break
        glitch = new
        hi, lo = _running_range(vs, glitch)
    return hi, lo, glitch


def _running_range(a: np.ndarray, skip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest and smallest of the finite a[:i] not in skip, for each i (NaN before any)."""
    if skip.any():
        w = np.where(skip, np.nan, a)
        return _shift1(np.fmax.accumulate(w)), _shift1(np.fmin.accumulate(w))
    return _shift1(np.maximum.accumulate(a)), _shift1(np.minimum.accumulate(a))


def rolling_max(u: np.ndarray, w: int) -> np.ndarray:
    """max(u[max(0, i-w+1) .. i]) for every i, for NaN-free u (van Herk / Gil-Werman: the window is
    the suffix of one block of w points and the prefix of the next, so two running maxima per block
    answer every window: O(n) whatever w)."""
    n = u.shape[0]
    if w <= 1 or n == 0:
        return u.copy()
    nb = -(-n // w)
    pad = np.full(nb * w, -np.inf)
    pad[:n] = u
    blocks = pad.reshape(nb, w)
    prefix = np.maximum.accumulate(blocks, axis=1).ravel()
    suffix = np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    out = prefix[:n].copy()  # i < w: the window starts at 0, the prefix of the first block
    if n > w:
        np.maximum(suffix[1 : n - w + 1], prefix[w:n], out=out[w:])
    return out


GATE_BLOCK = 16  # points per step of the seasonal choice


def seasonal_predicts_better(err: np.ndarray, err_seasonal: np.ndarray, skip: np.ndarray,
                             alpha: float) -> np.ndarray:
    """Whether, before each point, the seasonal predictor (the value one period ago plus the usual change)
    has had a smaller squared error than the EWMA baseline, on the points where both predicted, weighted
    exponentially (a weight 1 - `alpha` per point back).

    Both errors are those of causal predictions (each point against the baselines of the points before
    it). The choice is made per block of GATE_BLOCK points from the errors of the blocks before (so it
    never looks ahead, and one smoothing pass runs over n/GATE_BLOCK block sums instead of n points).
    Glitches and points where either predictor has none (no match one period ago) add nothing. False
    until a paired error says otherwise."""
    n = err.shape[0]
    nb = -(-n // GATE_BLOCK)
    d = np.zeros(nb * GATE_BLOCK)
    np.multiply(err_seasonal, err_seasonal, out=d[:n])
    d[:n] -= err * err
    bad = ~np.isfinite(d)
    if skip.any():
        bad[:n] |= skip
    d[bad] = 0.0
    sums = d.reshape(nb, GATE_BLOCK).sum(axis=1)
    # sign of sum_j w^j sums[k-j], w = (1 - alpha)^GATE_BLOCK: that of their weighted mean
    weighted = pd.Series(sums).ewm(alpha=1.0 - (1.0 - alpha) ** GATE_BLOCK, adjust=True).mean().to_numpy()
    better = np.empty(nb, dtype=bool)
    better[0] = False
    np.less(weighted[:-1], 0.0, out=better[1:])
    return np.repeat(better, GATE_BLOCK)[:n]


def cool_down(u: np.ndarray, cooldown: int) -> np.ndarray:
    """u damped by (1 - the largest u of the previous `cooldown` points)."""
    prev = _shift1(rolling_max(u, cooldown))
    prev[0] = 0.0
    prev -= 1.0
    prev *= -u
    return prev


_SMALL = 1e-4  # from here on log(1 + a) and exp(b) - 1 are log1p(a) and expm1(b) to 1e-12 (relative)


def signed_log(v: np.ndarray) -> np.ndarray:
    """sign(v) * log(1 + |v|) (numpy's log1p is several times slower than its log: it is used for the
    small values only, where 1 + a would lose digits)."""
    a = np.abs(v)
    x = a + 1.0
    np.log(x, out=x)
    small = a < _SMALL
    if small.any():
        x[small] = np.log1p(a[small])
    np.copysign(x, v, out=x)
    return x


def signed_exp(x: np.ndarray) -> np.ndarray:
    """The inverse of signed_log: sign(x) * (exp(|x|) - 1)."""
    a = np.abs(x)
    v = np.exp(a)
    v -= 1.0
    small = a < _SMALL
    if small.any():
        v[small] = np.expm1(a[small])
    np.copysign(v, x, out=v)
    return v


def _raw(z: np.ndarray, raw_scale: float) -> np.ndarray:
    """Raw score 1 - exp(-|z| / raw_scale), in [0, 1)."""
    r = np.abs(z)
    r *= -1.0 / raw_scale
    np.exp(r, out=r)
    np.subtract(1.0, r, out=r)
    return r


class Likelihood(AnomalyDetector):
    id = "likelihood"
    summary = "tail probability of recent EWMA/seasonal residuals against their own history (default)"
    Params = LikelihoodParams

    def _score(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        n = vs.shape[0]
        if n == 0:
            e = np.zeros(0)
            return AnomalyFrame(e, np.zeros(0, dtype=np.int8), e.copy(), vs, e.copy())
        # values near +-1e308 overflow differences: they score as far out as anything can, silently
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._score_finite(ts, vs)

    def _score_finite(self, ts: np.ndarray, vs: np.ndarray) -> AnomalyFrame:
        p = self.params
        assert isinstance(p, LikelihoodParams)
        n = vs.shape[0]
        x = signed_log(vs) if p.log else vs
        # the range seen so far, without glitches (single far values, reported and then forgotten)
        hi, lo, glitch = glitch_free_range(vs, p.short)
        # scale floor: a thousandth of that range, so flat stretches don't divide by ~0
        if p.log:  # the log is increasing: the range of x is that of the same values
            x_hi, x_lo = _running_range(x, glitch)
            span = x_hi - x_lo
        else:
            span = hi - lo
        floor = nan_to_num(span, nan=0.0) * 1e-3 + 1e-12
        z, base = _ewm_z(x, p.alpha, floor, glitch)
        zr = _recent_z(_raw(z, p.raw_scale), p)
        if p.period > 0 and n > 1:
            j, ok = _period_ago(ts, p.period)
            if glitch.any():  # no evidence against a glitch one period ago
                ok &= ~glitch[j]
            change = np.where(ok, x - x[j], np.nan)
            z2, base2 = _ewm_z(change, p.alpha, floor, glitch)
            # no match one period ago (the first period, gaps, jittered clocks): no evidence either way
            raw2 = _raw(z2, p.raw_scale)
            raw2[~ok] = np.nan
            # the seasonal base counts only where it has predicted this series better than the EWMA so
            # far (decided per point from the past: no seasonal evidence on a series without a season)
            base2 -= change  # (its own error, no longer needed as a baseline)
            use = seasonal_predicts_better(base - x, base2, glitch, p.season_alpha)
            use &= ok
            np.maximum(zr, _recent_z(raw2, p), out=zr, where=use)  # the smaller tail probability of the two
        # Numenta's log-likelihood: log10(1/p) / 10 in [0, 1] (1 from p = 1e-10 on); p = 1 without evidence
        none = zr < 0
        np.maximum(zr, 0.0, out=zr)
        u = log_normal_tail(zr)
        u *= -0.1 / _LN10
        u[none] = 0.0
        np.clip(u, 0.0, 1.0, out=u)
        # spatial anomaly: beyond every earlier value by a fraction of the range seen so far
        outlier = np.zeros(n, dtype=bool)
        far = outlier
        if p.spatial_tolerance > 0 and n > 1:
            r = hi - lo
            tol = r * p.spatial_tolerance
            with np.errstate(invalid="ignore"):
                known = hi > lo
                outlier = vs > hi + tol
                outlier |= vs < lo - tol
                outlier &= known
                # beyond the range seen so far by at least that range again: news, reported from
                # point `short` on (even while the likelihood is still learning), exempt from the
                # cool-down
                far = vs - hi >= r
                far |= lo - vs >= r
            far &= known
            far[: p.short] = False
            outlier[: p.min_history] = False
            outlier |= far
            u[outlier] = 1.0
        if p.cooldown > 0 and n > 1:
            u = cool_down(u, p.cooldown)
            u[far] = 1.0
        # p = alert_tail scores 0.5
        score = u
        score *= 5.0 / -np.log10(p.alert_tail)
        np.clip(score, 0.0, _MAX_SCORE, out=score)
        score += 0.0  # no -0.0
        kind = self._kinds(x, base, z, score, outlier, p)
        baseline = signed_exp(base) if p.log else base  # back to the units of the values
        conf = np.arange(-p.short, n - p.short, dtype=np.float64)
        conf /= p.history
        np.clip(conf, 0.0, 1.0, out=conf)
        return AnomalyFrame(score, kind, baseline, vs, conf)

    @staticmethod
    def _kinds(x: np.ndarray, base: np.ndarray, z: np.ndarray, score: np.ndarray, outlier: np.ndarray,
               p: LikelihoodParams) -> np.ndarray:
        n = x.shape[0]
        kind = np.zeros(n, dtype=np.int8)
        m = max(2, p.short // 3)
        # only points that score something get a type (the others are `none`)
        idx = np.flatnonzero((score >= _TYPED) & np.isfinite(base))
        kind[idx] = np.where(x[idx] >= base[idx], SPIKE, DROP)
        idx = idx[idx >= 2 * m - 1]
        if idx.size:
            # residuals of the last 2m points up to each typed point: columns 0..m-1 earlier, m..2m-1 later
            win = z[idx[:, None] + np.arange(-2 * m + 1, 1)[None, :]]
            early, late = win[:, :m], win[:, m:]
            # the last m residuals all beyond 1.5 sigma on one side: the level moved
            sustained = (late.min(axis=1) > 1.5) | (late.max(axis=1) < -1.5)
            # ... and the m before them were all beyond 1 sigma on the same side, but 1.25 times less
            # on average: still moving away
            em, lm = early.mean(axis=1), late.mean(axis=1)
            before = (early.min(axis=1) > 1.0) | (early.max(axis=1) < -1.0)
            growing = before & (em * lm > 0) & (np.abs(lm) >= 1.25 * np.abs(em))
            kind[idx[sustained]] = LEVEL_SHIFT
            kind[idx[sustained & growing]] = TREND_CHANGE
        kind[outlier] = OUTLIER
        kind[(score <= 0) | ~np.isfinite(base)] = NONE
        return kind
