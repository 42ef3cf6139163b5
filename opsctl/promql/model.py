"""Core value types of the PromQL evaluator: labels, storage, results, errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from opsctl.promql.notation import STALE_NAN, is_stale

__all__ = [
    "HIST_NAN", "STALE_NAN", "Labels", "PromQLError", "Result", "SeriesResult", "Storage", "StoredSeries", "is_stale",
]

_STALE_BITS = np.uint64(0x7FF0000000000002)
# The float value stored at the position of a native-histogram sample (a NaN that is not the stale
# marker); the histogram itself lives in the series' object array `hs`.
_HIST_BITS = np.uint64(0x7FF0000000000003)
HIST_NAN: float = float(np.array([_HIST_BITS], dtype=np.uint64).view(np.float64)[0])


class PromQLError(Exception):
    """An evaluation (or parse) error; the message follows Prometheus' wording where one exists."""


class Labels(Mapping[str, str]):
    """An immutable, hashable label set (sorted by name, empty values dropped)."""

    __slots__ = ("_dict", "_hash", "_items", "_noname")

    # True on a label set whose `__name__` is to be dropped at the end of the evaluation (delayed name
    # removal, Prometheus's `DropName`); not part of equality or hash.
    pending_drop = False

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        d = {k: v for k, v in pairs if v != ""}
        self._items: tuple[tuple[str, str], ...] = tuple(sorted(d.items()))
        self._dict = dict(self._items)
        self._hash = hash(self._items)
        self._noname: Labels | None = None

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._dict == {k: v for k, v in other.items() if v != ""}
        return NotImplemented

    def __lt__(self, other: Labels) -> bool:
        return self._items < other._items

    def __repr__(self) -> str:
        return "Labels(" + str(self) + ")"

    def __str__(self) -> str:
        name = self._dict.get("__name__", "")
        inner = ", ".join(f"{k}={_quote(v)}" for k, v in self._items if k != "__name__")
        return f"{name}{{{inner}}}" if inner or not name else name

    def go_string(self) -> str:
        """Go's labels.Labels.String(): `{__name__="x", a="b"}` (used in Prometheus error messages)."""
        return "{" + ", ".join(f"{k}={_quote(v)}" for k, v in self._items) + "}"

    @property
    def items_tuple(self) -> tuple[tuple[str, str], ...]:
        return self._items

    @property
    def name(self) -> str:
        """The metric name (`__name__`), or '' if none."""
        return self._dict.get("__name__", "")

    def without_name(self) -> Labels:
        """The label set without `__name__` (memoised: operators drop the name at every step)."""
        got = self._noname
        if got is None:
            got = self.without(("__name__",)) if "__name__" in self._dict else self
            self._noname = got
        return got

    def with_pending_drop(self) -> Labels:
        """This label set marked for `__name__` removal at the end of the evaluation (itself when it
        has no name: nothing to drop)."""
        if self.pending_drop or "__name__" not in self._dict:
            return self
        p = _PendingName.__new__(_PendingName)
        p._dict, p._items, p._hash, p._noname = self._dict, self._items, self._hash, None
        return p

    def final(self) -> Labels:
        """The label set a query returns: without `__name__` (and the metadata labels `__type__`,
        `__unit__`, as Prometheus's DropReserved(IsMetadataLabel)) when its removal is pending."""
        return self.without(_METADATA) if self.pending_drop else self

    def without(self, names: Iterable[str]) -> Labels:
        drop = set(names)
        return Labels((k, v) for k, v in self._items if k not in drop)

    def only(self, names: Iterable[str]) -> Labels:
        keep = set(names)
        return Labels((k, v) for k, v in self._items if k in keep)

    def with_(self, **updates: str) -> Labels:
        d = dict(self._dict)
        d.update(updates)
        return Labels(d)

    def set(self, name: str, value: str) -> Labels:
        d = dict(self._dict)
        d[name] = value
        return Labels(d)


_METADATA = ("__name__", "__type__", "__unit__")


class _PendingName(Labels):
    __slots__ = ()
    pending_drop = True


def _quote(v: str) -> str:
    out = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


@dataclass
class StoredSeries:
    labels: Labels
    ts: np.ndarray  # int64 milliseconds, sorted, unique
    vs: np.ndarray  # float64, may contain STALE_NAN
    # Growable buffers (ts/vs are their prefixes) so appends at the end are O(1) amortised; None when
    # ts/vs are views into arrays owned elsewhere (e.g. an engine's consolidated arrays).
    buf_ts: np.ndarray | None = field(default=None, repr=False, compare=False)
    buf_vs: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Native histograms: an object array aligned with ts (a FloatHistogram, or None at float samples,
    # whose vs hold the value; vs holds HIST_NAN at histogram samples). None for float-only series.
    hs: np.ndarray | None = field(default=None, repr=False, compare=False)

    def share(self, ts: np.ndarray, vs: np.ndarray, hs: np.ndarray | None = None) -> None:
        """Point at equal arrays owned elsewhere (drops the private buffers)."""
        self.ts, self.vs = ts, vs
        self.buf_ts = self.buf_vs = None
        if self.hs is not None:
            self.hs = hs

    def append(self, ts: np.ndarray, vs: np.ndarray) -> None:
        """Append samples all newer than the last stored one (strictly increasing)."""
        n, k = len(self.ts), len(ts)
        if self.buf_ts is None or self.buf_vs is None or n + k > len(self.buf_ts):
            cap = max(16, 2 * (n + k))
            bt = np.empty(cap, dtype=np.int64)
            bv = np.empty(cap, dtype=np.float64)
            bt[:n] = self.ts
            bv[:n] = self.vs
            self.buf_ts, self.buf_vs = bt, bv
        self.buf_ts[n : n + k] = ts
        self.buf_vs[n : n + k] = vs
        self.ts = self.buf_ts[: n + k]
        self.vs = self.buf_vs[: n + k]


class Storage:
    """In-memory series store. Adding the same label set twice merges the samples (later wins).

    Versions: `version` changes on every change; `name_version(name)` changes whenever a series with
    that metric name is added or changed (so caches can be invalidated per metric name).
    """

    def __init__(self) -> None:
        self._series: dict[Labels, StoredSeries] = {}
        self._by_name: dict[str, dict[Labels, StoredSeries]] = {}
        self._name_versions: dict[str, int] = {}
        self._clear_version = 0
        self.version = 0
        # Start timestamps (Prometheus's `use-start-timestamps` feature, 3.14+): None when not kept (then
        # start_timestamp() gives nothing); else label set -> (sample times, their start times, ms) of the
        # series that have them; a sample without one has 0.
        self.start_timestamps: dict[Labels, tuple[np.ndarray, np.ndarray]] | None = None

    def add(
        self,
        labels: Mapping[str, str],
        timestamps_ms: Sequence[int] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        histograms: Sequence[Any] | None = None,
    ) -> None:
        """Add samples. `histograms`, when given, is aligned with `values`: a FloatHistogram makes that
        sample a native-histogram sample (its float value is ignored), None keeps the float."""
        lab = labels if isinstance(labels, Labels) else Labels(labels)
        ts = np.asarray(timestamps_ms, dtype=np.int64).ravel()
        vs = np.asarray(values, dtype=np.float64).ravel()
        if ts.shape != vs.shape:
            raise ValueError(f"{len(ts)} timestamps but {len(vs)} values for {lab}")
        old = self._series.get(lab)
        if histograms is not None or (old is not None and old.hs is not None):
            self._add_with_histograms(lab, ts, vs, histograms, old)
            return
        increasing = len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1]))
        if old is not None and increasing and (len(old.ts) == 0 or len(ts) == 0 or ts[0] > old.ts[-1]):
            # The common case (rule evaluation appending newer samples): no re-sort.
            old.append(ts, vs)
        else:
            if old is not None:
                ts = np.concatenate([old.ts, ts])
                vs = np.concatenate([old.vs, vs])
                increasing = len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1]))
            if not increasing:
                order = np.argsort(ts, kind="stable")
                ts, vs = ts[order], vs[order]
                # Keep the last-added value for duplicate timestamps.
                keep = np.ones(len(ts), dtype=bool)
                keep[:-1] = ts[1:] != ts[:-1]
                ts, vs = ts[keep], vs[keep]
            ts, vs = np.ascontiguousarray(ts), np.ascontiguousarray(vs)
            if old is not None:
                old.share(ts, vs)
            else:
                s = StoredSeries(lab, ts, vs)
                self._series[lab] = s
                self._by_name.setdefault(lab.name, {})[lab] = s
        self.version += 1
        self._name_versions[lab.name] = self.version

    def _add_with_histograms(
        self, lab: Labels, ts: np.ndarray, vs: np.ndarray, histograms: Sequence[Any] | None, old: StoredSeries | None
    ) -> None:
        hs = np.empty(len(ts), dtype=object)
        if histograms is not None:
            if len(histograms) != len(ts):
                raise ValueError(f"{len(ts)} timestamps but {len(histograms)} histograms for {lab}")
            hs[:] = list(histograms)
            vs = vs.copy()
            vs[np.asarray([h is not None for h in histograms], dtype=bool)] = HIST_NAN
        if old is not None:
            ohs = old.hs if old.hs is not None else np.empty(len(old.ts), dtype=object)
            ts = np.concatenate([old.ts, ts])
            vs = np.concatenate([old.vs, vs])
            hs = np.concatenate([ohs, hs])
        if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
            order = np.argsort(ts, kind="stable")
            ts, vs, hs = ts[order], vs[order], hs[order]
            keep = np.ones(len(ts), dtype=bool)
            keep[:-1] = ts[1:] != ts[:-1]
            ts, vs, hs = ts[keep], vs[keep], hs[keep]
        ts, vs = np.ascontiguousarray(ts), np.ascontiguousarray(vs)
        any_hist = any(h is not None for h in hs)
        if old is not None:
            old.hs = hs if any_hist else None
            old.share(ts, vs, hs if any_hist else None)
        else:
            s = StoredSeries(lab, ts, vs, hs=hs if any_hist else None)
            self._series[lab] = s
            self._by_name.setdefault(lab.name, {})[lab] = s
        self.version += 1
        self._name_versions[lab.name] = self.version

    def set_start_timestamps(self, labels: Mapping[str, str], timestamps_ms: Sequence[int],
                             start_ms: Sequence[int]) -> None:
        """Record the start timestamps of samples of a series (enables them, see `start_timestamps`)."""
        lab = labels if isinstance(labels, Labels) else Labels(labels)
        if self.start_timestamps is None:
            self.start_timestamps = {}
        ts = np.asarray(timestamps_ms, dtype=np.int64)
        st = np.asarray(start_ms, dtype=np.int64)
        old = self.start_timestamps.get(lab)
        if old is not None:
            ts, st = np.concatenate([old[0], ts]), np.concatenate([old[1], st])
            order = np.argsort(ts, kind="stable")
            ts, st = ts[order], st[order]
        self.start_timestamps[lab] = (ts, st)
        self.version += 1

    def start_timestamps_at(self, labels: Labels, sample_ts: np.ndarray) -> np.ndarray:
        """The start timestamps (ms) of a series' samples at `sample_ts` (0 where none is recorded)."""
        got = self.start_timestamps.get(labels) if self.start_timestamps is not None else None
        if got is None or len(got[0]) == 0:
            return np.zeros(sample_ts.shape, dtype=np.int64)
        ts, st = got
        i = np.clip(np.searchsorted(ts, sample_ts, side="right") - 1, 0, len(ts) - 1)
        return np.where(ts[i] == sample_ts, st[i], 0)

    def clear(self) -> None:
        if self.start_timestamps is not None:
            self.start_timestamps = {}
        self._series.clear()
        self._by_name.clear()
        self._name_versions.clear()
        self.version += 1
        self._clear_version = self.version

    def series(self) -> list[StoredSeries]:
        return list(self._series.values())

    def series_named(self, name: str) -> list[StoredSeries]:
        """Series with this metric name, in insertion order."""
        return list(self._by_name.get(name, {}).values())

    def name_version(self, name: str) -> int:
        return self._name_versions.get(name, self._clear_version)

    def __len__(self) -> int:
        return len(self._series)

    def time_bounds(self) -> tuple[int, int]:
        """(min, max) sample timestamp in ms over all series; (0, 0) if empty."""
        lo, hi = None, None
        for s in self._series.values():
            if len(s.ts):
                a, b = int(s.ts[0]), int(s.ts[-1])
                lo = a if lo is None else min(lo, a)
                hi = b if hi is None else max(hi, b)
        return (lo or 0, hi or 0)


def stale_mask(vs: np.ndarray) -> np.ndarray:
    return vs.view(np.uint64) == _STALE_BITS


def hist_mask(vs: np.ndarray) -> np.ndarray:
    """True at the positions of native-histogram samples (their float slot holds HIST_NAN)."""
    return vs.view(np.uint64) == _HIST_BITS


@dataclass
class SeriesResult:
    labels: Labels
    timestamps: np.ndarray  # float seconds
    values: np.ndarray
    # Native histograms: per point a FloatHistogram (its value is then NaN) or None (a float point);
    # None when every point is a float.
    histograms: list[Any] | None = None


@dataclass
class Result:
    type: Literal["vector", "matrix", "scalar", "string"]
    series: list[SeriesResult] = field(default_factory=list)
    scalar: float | None = None
    string: str | None = None
    # For range queries of scalar expressions: timestamps (s) and values of each step.
    scalar_timestamps: np.ndarray | None = None
    scalar_values: np.ndarray | None = None
