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

__all__ = ["GAP_FACTOR", "mark_stale"]

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
        n = len(s)
        if n == 0:
            continue
        values = np.asarray(s.values, dtype=np.float64)
        if (values.view(np.uint64) == _STALE_BITS).any():
            continue  # the source carries its own markers
        if n < 3:
            unknown += 1
            continue
        ts = np.asarray(s.timestamps, dtype=np.float64)
        got = _markers(ts, data_end)
        if got is None or len(got[0]) == 0:
            continue
        marks = got[0]
        all_ts = np.concatenate([ts, marks])
        all_vs = np.concatenate([values, np.full(len(marks), STALE_NAN)])
        order = np.argsort(all_ts, kind="stable")
        series[i] = Series(s.labels, all_ts[order], all_vs[order], s.extra)
        added += len(marks)
    warnings = []
    if unknown:
        warnings.append(f"{unknown} series have fewer than 3 samples: their sample spacing, so when they went "
                        "stale, cannot be told from the data; they are read for up to 5m after each sample")
    return added, warnings
