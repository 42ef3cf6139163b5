"""Staleness read from exported samples, for replays (`rules backtest`).

Prometheus writes a stale marker when a series stops (a scrape no longer has it, the scrape fails, a
recording rule no longer outputs it): from then on the series is absent at once, `absent()` fires and
`time() - x > N` stops matching. An export (query_range JSON, CSV, Parquet, raw samples read through the
API) carries no markers, only a gap; replayed as is, the last value would be used for the 5-minute
lookback. `mark_stale` puts the markers back where the data says a series stopped:

- a gap longer than 1.5 times the series' usual sample spacing (its median spacing: the scrape interval
  in raw samples, the step in a query_range export): a marker one spacing after the last sample before
  the gap, where the next scrape (or step) found nothing;
- a series that ends more than 1.5 spacings before the last sample of the whole data: a marker one spacing
  after its last sample.

A series that already holds stale markers (a source that carries them) is left as it is. A series of fewer
than 3 samples has no usual spacing: nothing is inferred and `mark_stale` says how many such series there were.
"""

from __future__ import annotations

import numpy as np

from opsctl.data.exports import Series
from opsctl.promql import STALE_NAN

__all__ = ["GAP_FACTOR", "has_markers", "mark_stale", "mark_stale_one", "stale_marks", "stale_warnings"]

GAP_FACTOR = 1.5
_STALE_BITS = np.uint64(0x7FF0000000000002)


def _markers(ts: np.ndarray, data_end: float) -> tuple[np.ndarray, float] | None:
    d = np.diff(ts)
    spacing = float(np.median(d))
    if not spacing > 0:
        return None
    gaps = np.flatnonzero(d > GAP_FACTOR * spacing)
    marks = ts[gaps] + spacing
    if ts[-1] + GAP_FACTOR * spacing < data_end:
        marks = np.append(marks, ts[-1] + spacing)
    return marks, spacing


def stale_marks(ts: np.ndarray, values_have_markers: bool, data_end: float) -> tuple[np.ndarray | None, int]:
    """The stale markers' times for one series (sorted `ts`, Unix seconds), given whether its values already
    hold stale markers and the time of the last sample of the whole data. Returns (times or None when none
    are inferred, 1 if its staleness cannot be told else 0)."""
    n = len(ts)
    if n == 0 or values_have_markers:
        return None, 0  # a source that carries its own markers is left as it is
    if n < 3:
        return None, 1
    got = _markers(np.asarray(ts, dtype=np.float64), data_end)
    if got is None or len(got[0]) == 0:
        return None, 0
    return got[0], 0


def has_markers(values: np.ndarray) -> bool:
    """Whether values hold Prometheus stale markers."""
    return bool((np.asarray(values, dtype=np.float64).view(np.uint64) == _STALE_BITS).any())


def mark_stale_one(s: Series, data_end: float) -> tuple[Series, int, int]:
    """One series with its stale markers (the series itself when none are inferred), given the time of the
    last sample of the whole data. Returns (series, markers added, 1 if its staleness cannot be told else 0)."""
    if len(s) == 0:
        return s, 0, 0
    values = np.asarray(s.values, dtype=np.float64)
    marks, unknown = stale_marks(np.asarray(s.timestamps, dtype=np.float64), has_markers(values), data_end)
    if marks is None:
        return s, 0, unknown
    all_ts = np.concatenate([np.asarray(s.timestamps, dtype=np.float64), marks])
    all_vs = np.concatenate([values, np.full(len(marks), STALE_NAN)])
    order = np.argsort(all_ts, kind="stable")
    hs = None
    if s.histograms is not None:  # native histograms: none at the markers
        hs = np.concatenate([s.histograms, np.full(len(marks), None, dtype=object)])[order]
    return Series(s.labels, all_ts[order], all_vs[order], s.extra, hs), len(marks), 0


def stale_warnings(unknown: int) -> list[str]:
    """The warning for `unknown` series too short to tell their staleness (none when 0)."""
    if not unknown:
        return []
    return [f"{unknown} series have fewer than 3 samples: their sample spacing, so when they went "
            "stale, cannot be told from the data; they are read for up to 5m after each sample"]


def mark_stale(series: list[Series]) -> tuple[int, list[str]]:
    """Add stale markers in place (each changed series is replaced by a new one in `series`).

    Returns the number of markers added and warnings for series whose staleness cannot be told."""
    ends = [float(s.timestamps[-1]) for s in series if len(s)]
    if not ends:
        return 0, []
    data_end = max(ends)
    added = 0
    unknown = 0
    for i, s in enumerate(series):
        one, n_added, unsure = mark_stale_one(s, data_end)
        if one is not s:
            series[i] = one
        added += n_added
        unknown += unsure
    return added, stale_warnings(unknown)
