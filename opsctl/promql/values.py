"""Internal value representations: every node is evaluated at all steps at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsctl.promql.model import Labels


def is_hist(arr: np.ndarray) -> np.ndarray:
    """Boolean mask of the histogram entries of an object array of FloatHistogram-or-None."""
    out: np.ndarray = arr != None  # noqa: E711 (element-wise comparison)
    return out


def hists_where(mask: np.ndarray, hists: np.ndarray) -> np.ndarray:
    """np.where(mask, hists, None) for object arrays of histograms."""
    out = np.full(mask.shape, None, dtype=object)
    m = np.broadcast_to(mask, out.shape)
    out[m] = np.broadcast_to(hists, out.shape)[m]
    return out


def has_hist(arr: np.ndarray | None) -> bool:
    return arr is not None and bool(is_hist(arr).any())


@dataclass
class Vec:
    """An instant vector at T steps: N series, values and presence (N, T)."""

    labels: list[Labels]
    vals: np.ndarray
    mask: np.ndarray
    sample_ts: np.ndarray | None = None  # (N, T) int64 ms of the selected samples (for timestamp())
    # Native histograms: (N, T) object array, a FloatHistogram where the sample is a histogram (mask
    # True, vals NaN there), else None. None when the vector holds floats only (the common case).
    hists: np.ndarray | None = None

    def floats(self) -> Vec:
        """This vector without its histogram samples (what float-only functions see)."""
        if self.hists is None:
            return self
        isf = ~is_hist(self.hists)
        return Vec(self.labels, self.vals, self.mask & isf, self.sample_ts)

    @property
    def n(self) -> int:
        return len(self.labels)


@dataclass
class Scalar:
    vals: np.ndarray  # (T,)


@dataclass
class Str:
    val: str


class _GridIndex:
    """searchsorted(ts_series, phase + step*a [- 1], 'right') for absolute grid columns a, per series row."""

    def __init__(self, nrows: int, a0: int, a1: int) -> None:
        self.a0, self.a1 = a0, a1
        self.local = np.zeros((nrows, a1 - a0), dtype=np.int32)
        self.done = np.zeros(nrows, dtype=bool)


class Flat:
    """Samples of N series stored in shared global arrays ts (int64 ms) / vs (float64);
    series i occupies ts[starts[i]:ends[i]]."""

    def __init__(
        self,
        labels: list[Labels],
        ts: np.ndarray,
        vs: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        rows: np.ndarray | None = None,
        shared: dict[object, object] | None = None,
    ) -> None:
        self.labels = labels
        self.ts = ts
        self.vs = vs
        self.starts = starts
        self.ends = ends
        # Row numbers of these series in the base Flat whose caches we share.
        self.rows = rows if rows is not None else np.arange(len(labels))
        self.shared: dict[object, object] = shared if shared is not None else {}
        self._cache: dict[str, np.ndarray] = self.shared.setdefault("_arrays", {})  # type: ignore[assignment]

    @property
    def hs(self) -> np.ndarray | None:
        """Native histograms aligned with ts/vs (object array), None when all samples are floats."""
        got = self.shared.get("hs")
        return got if isinstance(got, np.ndarray) else None

    def subset(self, rows: list[int]) -> Flat:
        r = np.asarray(rows, dtype=np.int64)
        labels = [self.labels[i] for i in rows]
        return Flat(labels, self.ts, self.vs, self.starts[r], self.ends[r], self.rows[r], self.shared)

    @property
    def n(self) -> int:
        return len(self.labels)

    def _direct(self, refs: np.ndarray) -> np.ndarray:
        keys = self._row_keys() if self.n > 1 else None
        if keys is not None:
            # One searchsorted over keys row * m + (t - t0), which are globally sorted.
            t0, m = int(self.shared["key_t0"]), int(self.shared["key_m"])  # type: ignore[call-overload]
            rel = np.clip(refs - t0, -1, m - 2)
            q = self.rows[:, None] * m + rel[None, :]
            return np.searchsorted(keys, q.ravel(), "right").reshape(self.n, len(refs))
        out = np.empty((self.n, len(refs)), dtype=np.int64)
        for i in range(self.n):
            s, e = int(self.starts[i]), int(self.ends[i])
            out[i] = np.searchsorted(self.ts[s:e], refs, "right") + s
        return out

    def _row_keys(self) -> np.ndarray | None:
        """Per base sample: base row * m + (t - t0), sorted over the whole base (None if too wide)."""
        got = self.shared.get("row_keys")
        if got is None:
            nbase = int(self.shared.get("nbase", len(self.rows)))  # type: ignore[call-overload]
            ts = self.ts
            got = False
            if len(ts) and nbase:
                t0, t1 = int(ts.min()), int(ts.max())
                m = t1 - t0 + 2
                if m * (nbase + 1) < 2**62:
                    base_starts = self.shared["base_starts"]
                    base_ends = self.shared["base_ends"]
                    seg = np.repeat(np.arange(nbase, dtype=np.int64), base_ends - base_starts)  # type: ignore[operator]
                    if len(seg) == len(ts):
                        got = seg * m + (ts - t0)
                        self.shared["key_t0"], self.shared["key_m"] = t0, m
            self.shared["row_keys"] = got
        return got if isinstance(got, np.ndarray) else None

    def index_right(
        self, refs: np.ndarray, grid: tuple[int, int] | None = None, span: tuple[int, int] | None = None
    ) -> np.ndarray:
        """Global index one past the last sample with t <= ref, per series and ref: (N, T).

        grid=(phase, step): refs are phase + step * a for consecutive integers a; results are then
        cached per series over the whole grid, so later queries over the same grid are slices.
        """
        if grid is None or self.n == 0 or len(refs) == 0:
            return self._direct(refs)
        phase, step = grid
        a_lo = (int(refs[0]) - phase) // step
        a_hi = a_lo + len(refs)
        key = ("grid", phase % step, step)
        phase = phase % step
        a_lo = (int(refs[0]) - phase) // step
        a_hi = a_lo + len(refs)
        gi = self.shared.get(key)
        if not isinstance(gi, _GridIndex) or a_lo < gi.a0 or a_hi > gi.a1:
            if isinstance(gi, _GridIndex):
                a0, a1 = min(a_lo, gi.a0), max(a_hi, gi.a1)
            else:
                a0, a1 = a_lo, a_hi
                if span is not None:
                    a0 = min(a0, (span[0] - phase) // step - 1)
                    a1 = max(a1, (span[1] - phase) // step + 2)
            nbase = int(self.shared.get("nbase", len(self.rows)))  # type: ignore[call-overload]
            gi = _GridIndex(nbase, a0, a1)
            self.shared[key] = gi
        todo = self.rows[~gi.done[self.rows]]
        if len(todo):
            grid_t = phase + step * np.arange(gi.a0, gi.a1, dtype=np.int64)
            base_starts = self.shared["base_starts"]
            base_ends = self.shared["base_ends"]
            for r in todo:
                s, e = int(base_starts[r]), int(base_ends[r])  # type: ignore[index]
                gi.local[r] = np.searchsorted(self.ts[s:e], grid_t, "right")
            gi.done[todo] = True
        return gi.local[self.rows, a_lo - gi.a0 : a_hi - gi.a0].astype(np.int64) + self.starts[:, None]

    def cached(self, name: str) -> np.ndarray | None:
        return self._cache.get(name)

    def store(self, name: str, arr: np.ndarray) -> np.ndarray:
        self._cache[name] = arr
        return arr


def make_base(
    labels: list[Labels], ts: np.ndarray, vs: np.ndarray, offs: np.ndarray, hs: np.ndarray | None = None
) -> Flat:
    """A base Flat whose subsets share grid-index and per-sample caches."""
    shared: dict[object, object] = {
        "nbase": len(labels),
        "base_starts": offs[:-1].copy(),
        "base_ends": offs[1:].copy(),
    }
    if hs is not None:
        shared["hs"] = hs
    return Flat(labels, ts, vs, offs[:-1].copy(), offs[1:].copy(), None, shared)


@dataclass
class Mat:
    """A range vector at T steps: windows lo..hi-1 into flat samples, per series and step."""

    flat: Flat
    labels: list[Labels]
    lo: np.ndarray
    hi: np.ndarray
    ends: np.ndarray  # (T,) window ends (ms), after offset / @
    range_ms: int

    @property
    def n(self) -> int:
        return len(self.labels)


Value = Vec | Scalar | Str | Mat
