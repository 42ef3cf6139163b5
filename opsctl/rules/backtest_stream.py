"""`opsctl rules backtest --data`: the replay streamed by time windows, memory bounded whatever the period.

`opsctl.rules.backtest.backtest()` puts the whole export in memory and evaluates it; this module gives the
same result (episodes, counts, durations, warnings) while holding only one window of samples at a time:

1. Reading (`ExportStore`): the export is read once, in batches (Parquet row batches, CSV blocks; a JSON
   document is parsed whole, as JSON has no way to read part of a document), and each batch's samples are
   appended to a temporary file. Then each series is read back alone, put in time order, given its stale
   markers (opsctl.rules.staleness, with the end of the whole data), and written to a columnar temporary
   file (int64 milliseconds, float64 values; series one after the other, in the order the storage of the
   whole-input replay would hold them). Memory: one batch, then one series. Native histograms (JSON
   exports only, so already in memory) stay in memory per series; the values file holds HIST_NAN at
   their samples, and a window's storage gets the histogram objects with them.
2. Evaluation (`backtest_store`): the evaluation period is cut into windows of time. For each window, the
   samples from (window start - lookback) to the window end are read from the columnar file into a fresh
   in-memory storage, where `lookback` is what the rules can read before an evaluation time: the largest
   `range + offset` (or lookback delta 5m + offset) of any selector, nested through subqueries
   (`rule_lookback`), plus the group's `query_offset`. Recording rules are evaluated in order at the
   window's steps and their output is added to the window's storage (with the part of their earlier output
   within the lookback, carried from window to window); then the alerting rules.
3. What crosses a window boundary: the alert state machine (a run of present steps, pending / firing /
   kept-firing state, `for` and `keep_firing_for` counted in steps from the start of the period), each
   recorded series' presence at the last step (for its stale marker), the recorded samples within the
   lookback, and the failed-evaluation carry-over. Episodes are collected as they end.

Fallback: an expression whose reach is not bounded by a duration before the evaluation time (an `@`
modifier, a negative `offset`, or a label template that runs a query, whose text is only known when it
runs) makes the whole period one window, which is the whole-input evaluation.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from opsctl.data.exports import Series
from opsctl.errors import InputError
from opsctl.promql import STALE_NAN, Engine, Labels, Storage
from opsctl.promql.model import HIST_NAN, hist_mask
from opsctl.promql.semantics import engine_options
from opsctl.rules.backtest import (
    CHUNK_ELEMENTS,
    DEFAULT_STEP,
    LOOKBACK_DELTA_S,
    AlertStats,
    BacktestResult,
    Episode,
    Piece,
    Renderer,
    _alert_labels,
    _failure_warning,
    _grid_start,
    _range_steps,
    _steps_for,
    alert_rules,
    load_rule_groups,
    on_grid,
    sort_episodes,
)
from opsctl.rules.loader import DEFAULT_VERSION
from opsctl.rules.model import Rule, RuleGroup
from opsctl.rules.testing_eval import recorded_labels
from opsctl.rules.versions import PromVersion

__all__ = ["BUFFER_SAMPLES", "WINDOW_SAMPLES", "ExportStore", "backtest_export", "backtest_store", "keep_freed_memory",
           "rule_lookback"]

# Samples of raw data held per window (about 16 bytes each in the window's storage, and as much again in
# the engine's working copies): the window's length is chosen from the data's sample rate to hold this many.
WINDOW_SAMPLES = 250_000
# Samples read ahead before they are written to the temporary files (then in pieces of this size at least
# per series on average); an export smaller than this stays in memory.
BUFFER_SAMPLES = 250_000
_INDEX_EVERY = 1024  # one timestamp in this many is kept in memory to find a window's first sample
_BATCH_ROWS = 1 << 14  # Parquet rows read at a time (16k: 64k-row batches put the peak 40 MB higher)
_CSV_BLOCK = 1 << 21  # CSV bytes read at a time


def keep_freed_memory(limit: int = 64 << 20) -> None:
    """Ask glibc's malloc to keep up to `limit` bytes of freed memory, and to serve blocks below that size
    from its heap rather than from fresh mappings. The replay allocates and frees arrays of the same sizes
    at every window; handed back to the system each time, they cost a page fault per page at the next
    window (system CPU time as large as the evaluation's own). Peak memory stays the same. Process-wide,
    so the CLI calls it, not the library; nothing happens where there is no glibc mallopt."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(ctypes.c_int(m_trim_threshold), ctypes.c_int(limit))
    mallopt(ctypes.c_int(m_mmap_threshold), ctypes.c_int(limit))


# -- how far back the rules read -----------------------------------------------------------------------


def rule_lookback(expr: Any, lookback_delta_ms: int) -> int | None:
    """Milliseconds before an evaluation time that an expression (a parsed promql-parser AST) can read
    samples from, or None when that is not bounded that way (`@`, or a negative offset reading later data)."""
    import promql_parser as pp

    from opsctl.promql import ast as past

    def reach(node: Any) -> int | None:
        if isinstance(node, pp.VectorSelector):
            if node.at is not None:
                return None
            off = past.td_ms(node.offset)
            return None if off < 0 else off + lookback_delta_ms
        if isinstance(node, pp.MatrixSelector):
            vs = node.vector_selector
            if vs.at is not None:
                return None
            off = past.td_ms(vs.offset)
            return None if off < 0 else off + past.td_ms(node.range)
        if isinstance(node, pp.SubqueryExpr):
            if node.at is not None:
                return None
            off = past.td_ms(node.offset)
            inner = reach(node.expr)
            if off < 0 or inner is None:
                return None
            return off + past.td_ms(node.range) + inner
        from opsctl.promql_syntax import children

        most = 0
        for kid in children(node):
            got = reach(kid)
            if got is None:
                return None
            most = max(most, got)
        return most

    return reach(expr)


# -- the export, on disk --------------------------------------------------------------------------------


@dataclass
class _Piece:
    """Consecutive samples of one series, in time order: in memory, or in the spill files at `offset`."""

    count: int
    first: float  # Unix seconds
    last: float
    sparse: np.ndarray  # every _INDEX_EVERY-th timestamp
    offset: int = -1
    ts: np.ndarray | None = None
    vs: np.ndarray | None = None


@dataclass
class _Stored:
    labels: Labels
    pieces: list[_Piece]
    marks: np.ndarray | None = None  # stale marker times (opsctl.rules.staleness), sorted
    # Native histograms (JSON exports, held in memory): their times in ms (sorted, unique) and objects;
    # the values file holds HIST_NAN at their samples.
    hist_ms: np.ndarray | None = None
    hist_objs: np.ndarray | None = None


@dataclass
class _Meta:
    labels: dict[str, str]
    pieces: list[_Piece] = field(default_factory=list)
    buf_ts: list[np.ndarray] = field(default_factory=list)
    buf_vs: list[np.ndarray] = field(default_factory=list)
    ordered: bool = True  # pieces and samples come in time order (non-decreasing)
    last: float = -math.inf
    markers: bool = False  # the values hold stale markers of their own
    count: int = 0
    hist_ms: list[np.ndarray] = field(default_factory=list)
    hist_objs: list[np.ndarray] = field(default_factory=list)


class ExportStore:
    """An export's series (see the module docstring), in the whole-input storage's order. Samples stay in
    memory while they fit in `buffer_samples`; beyond, they go to temporary files."""

    def __init__(self, buffer_samples: int = BUFFER_SAMPLES) -> None:
        self.buffer_samples = buffer_samples
        self.series: list[_Stored] = []
        self.names: set[str] = set()  # metric names of all series read (also empty ones)
        self.n_series = 0  # series as read (before joining series whose label sets are equal)
        self.samples = 0  # samples read (stale markers not counted)
        self.lo = math.inf  # first and last sample time (Unix seconds)
        self.hi = -math.inf
        self.warnings: list[str] = []
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._fts: BinaryIO | None = None
        self._fvs: BinaryIO | None = None
        self._at = 0
        self._buffered = 0

    # -- life cycle

    def close(self) -> None:
        for f in (self._fts, self._fvs):
            if f is not None:
                f.close()
        self._fts = self._fvs = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self.series = []

    def __enter__(self) -> ExportStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building

    @classmethod
    def from_series(cls, series: list[Series], infer_staleness: bool = True,
                    buffer_samples: int = BUFFER_SAMPLES) -> ExportStore:
        """A store from series already in memory (a JSON export, tests)."""
        return cls.build(((i, s) for i, s in enumerate(series)), infer_staleness, keep_order=True,
                         buffer_samples=buffer_samples)

    @classmethod
    def from_file(cls, path: str | Path, fmt: str | None = None, default_name: str | None = None,
                  infer_staleness: bool = True, buffer_samples: int = BUFFER_SAMPLES) -> ExportStore:
        """Read an export (json, csv or parquet; opsctl.data.exports' formats and errors) into a store."""
        from opsctl.data import exports as ex

        p = Path(path)
        kind = (fmt or ex._guess_format(p)).lower()
        name = default_name if default_name is not None else p.stem.split(".")[0]
        if kind == "parquet" and p.is_file():
            got = _parquet_pieces(p, name)
            if got is not None:
                return cls.build(got, infer_staleness, keep_order=False, buffer_samples=buffer_samples)
        if kind == "csv" and p.is_file():
            try:
                return cls.build(_csv_pieces(p, name), infer_staleness, keep_order=False,
                                 buffer_samples=buffer_samples)
            except _NotPlain:
                pass  # read whole, as read_export does
        return cls.from_series(ex.read_export(p, fmt, default_name, histograms=True), infer_staleness,
                               buffer_samples)

    @classmethod
    def build(cls, pieces: Iterator[tuple[Any, Series]], infer_staleness: bool = True, keep_order: bool = False,
              buffer_samples: int = BUFFER_SAMPLES) -> ExportStore:
        """A store from (key, piece) pairs: the pieces of one series (same key) are joined in the order
        given, then put in time order (stable), as opsctl.data.exports does. Series come in key order, or in
        order of first appearance with keep_order (the order read_export gives for each format)."""
        store = cls(buffer_samples)
        try:
            store._build(pieces, infer_staleness, keep_order)
        except BaseException:
            store.close()
            raise
        return store

    def _write(self, ts: np.ndarray, vs: np.ndarray) -> _Piece:
        """A piece of samples, kept in memory until the buffer was once full, written out after that."""
        sparse = np.ascontiguousarray(ts[::_INDEX_EVERY])
        if self._dir is None:
            return _Piece(len(ts), float(ts[0]), float(ts[-1]), sparse, ts=ts, vs=vs)
        if self._fts is None or self._fvs is None:
            self._fts = open(os.path.join(self._dir.name, "ts.bin"), "w+b")
            self._fvs = open(os.path.join(self._dir.name, "vs.bin"), "w+b")
        self._fts.seek(self._at * 8)
        np.ascontiguousarray(ts, dtype=np.float64).tofile(self._fts)
        self._fvs.seek(self._at * 8)
        np.ascontiguousarray(vs, dtype=np.float64).tofile(self._fvs)
        piece = _Piece(len(ts), float(ts[0]), float(ts[-1]), sparse, offset=self._at)
        self._at += len(ts)
        return piece

    def _flush(self, metas: dict[Any, _Meta]) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="opsctl-backtest-")
        for meta in metas.values():
            if meta.buf_ts:
                ts = np.concatenate(meta.buf_ts) if len(meta.buf_ts) > 1 else meta.buf_ts[0]
                vs = np.concatenate(meta.buf_vs) if len(meta.buf_vs) > 1 else meta.buf_vs[0]
                meta.buf_ts, meta.buf_vs = [], []
                meta.pieces.append(self._write(ts, vs))
        self._buffered = 0

    def _read(self, piece: _Piece, i0: int, i1: int, values: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        if piece.ts is not None and piece.vs is not None:
            return piece.ts[i0:i1], piece.vs[i0:i1] if values else None
        assert self._fts is not None and self._fvs is not None
        self._fts.seek((piece.offset + i0) * 8)
        ts = np.fromfile(self._fts, dtype=np.float64, count=i1 - i0)
        vs = None
        if values:
            self._fvs.seek((piece.offset + i0) * 8)
            vs = np.fromfile(self._fvs, dtype=np.float64, count=i1 - i0)
        return ts, vs

    def _whole(self, pieces: list[_Piece], values: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        got = [self._read(p, 0, p.count, values) for p in pieces]
        ts = np.concatenate([g[0] for g in got]) if len(got) != 1 else got[0][0]
        if not values:
            return ts, None
        vs_parts = [g[1] for g in got if g[1] is not None]
        return ts, (np.concatenate(vs_parts) if len(vs_parts) != 1 else vs_parts[0])

    def _build(self, pieces: Iterator[tuple[Any, Series]], infer_staleness: bool, keep_order: bool) -> None:
        from opsctl.data.exports import _make
        from opsctl.rules.staleness import has_markers, stale_marks, stale_warnings

        metas: dict[Any, _Meta] = {}
        for key, s in pieces:
            meta = metas.get(key)
            if meta is None:
                meta = metas[key] = _Meta(s.labels)
            n = len(s)
            if n == 0:
                continue
            ts = np.array(s.timestamps, dtype=np.float64)  # own copies: the batch is freed now
            vs = np.array(s.values, dtype=np.float64)
            if s.histograms is not None:
                is_hist = np.asarray([h is not None for h in s.histograms], dtype=bool)
                vs[is_hist] = HIST_NAN
                meta.hist_ms.append(np.round(ts[is_hist] * 1000).astype(np.int64))
                meta.hist_objs.append(np.asarray(s.histograms, dtype=object)[is_hist])
            if meta.ordered and (ts[0] < meta.last or (n > 1 and not bool(np.all(ts[1:] >= ts[:-1])))):
                meta.ordered = False
            meta.last = max(meta.last, float(ts[-1]) if meta.ordered else float(ts.max()))
            meta.markers = meta.markers or has_markers(vs)
            meta.count += n
            self.lo = min(self.lo, float(ts[0]) if meta.ordered else float(ts.min()))
            self.hi = max(self.hi, meta.last)
            meta.buf_ts.append(ts)
            meta.buf_vs.append(vs)
            self._buffered += n
            if self._buffered >= self.buffer_samples:
                self._flush(metas)
        if self._dir is not None:
            self._flush(metas)
        else:  # everything fits in memory: each series as one piece
            for meta in metas.values():
                if meta.buf_ts:
                    ts = np.concatenate(meta.buf_ts) if len(meta.buf_ts) > 1 else meta.buf_ts[0]
                    vs = np.concatenate(meta.buf_vs) if len(meta.buf_vs) > 1 else meta.buf_vs[0]
                    meta.buf_ts, meta.buf_vs = [], []
                    meta.pieces.append(self._write(ts, vs))
        keys = list(metas) if keep_order else sorted(metas)
        self.n_series = len(keys)
        self.names = {metas[k].labels.get("__name__", "") for k in keys}
        # The storage's order (backtest._fill_storage): metric names in order of first appearance, series
        # in read order within a name; series with the same label set are joined (the later sample wins).
        by_name: dict[str, list[Any]] = {}
        for k in keys:
            if metas[k].count:
                by_name.setdefault(metas[k].labels.get("__name__", ""), []).append(k)
        data_end = self.hi
        unknown = 0
        position: dict[Labels, int] = {}
        for k in (k for group in by_name.values() for k in group):
            meta = metas.pop(k)
            self.samples += meta.count
            if not meta.ordered:  # put in time order (stable), as one piece
                all_ts, all_vs = self._whole(meta.pieces)
                assert all_vs is not None
                one = _make(meta.labels, all_ts, all_vs)
                meta.pieces = [self._write(one.timestamps, one.values)]
                del one, all_ts, all_vs
            marks = None
            if infer_staleness:
                ts, _ = self._whole(meta.pieces, values=False)
                marks, unsure = stale_marks(ts, meta.markers, data_end)
                unknown += unsure
                del ts
            stored = _Stored(Labels(meta.labels), meta.pieces, marks)
            if meta.hist_ms:
                stored.hist_ms, stored.hist_objs = _last_at_each_time(meta.hist_ms, meta.hist_objs)
            j = position.get(stored.labels)
            if j is None:
                position[stored.labels] = len(self.series)
                self.series.append(stored)
                continue
            # The same label set again: Storage.add joins them (the later value wins at an equal time).
            first = self.series[j]
            parts = [self._materialize(first), self._materialize(stored)]
            ms = np.concatenate([p[0] for p in parts])
            vs = np.concatenate([p[1] for p in parts])
            ms, vs = _dedupe(ms, vs)
            self.series[j] = _Stored(first.labels, [self._write(ms / 1000.0, vs)])
            if first.hist_ms is not None or stored.hist_ms is not None:
                both = [(x.hist_ms, x.hist_objs) for x in (first, stored)
                        if x.hist_ms is not None and x.hist_objs is not None]
                self.series[j].hist_ms, self.series[j].hist_objs = _last_at_each_time(
                    [b[0] for b in both], [b[1] for b in both])
        if unknown:
            self.warnings = stale_warnings(unknown)

    def _materialize(self, s: _Stored, lo_ms: int = -(2**62), hi_ms: int = 2**62) -> tuple[np.ndarray, np.ndarray]:
        """(ms, values) of a series' samples with lo_ms <= t <= hi_ms, stale markers included."""
        lo_s, hi_s = lo_ms / 1000.0 - 0.001, hi_ms / 1000.0 + 0.001
        tss: list[np.ndarray] = []
        vss: list[np.ndarray] = []
        for p in s.pieces:
            if p.last < lo_s or p.first > hi_s:
                continue
            b0 = max(0, int(np.searchsorted(p.sparse, lo_s, side="left")) - 1)
            b1 = int(np.searchsorted(p.sparse, hi_s, side="right"))
            i0 = b0 * _INDEX_EVERY
            i1 = min(p.count, b1 * _INDEX_EVERY)
            ts, _ = self._read(p, i0, i1, values=False)
            a = int(np.searchsorted(ts, lo_s, side="left"))
            b = int(np.searchsorted(ts, hi_s, side="right"))
            if b <= a:
                continue
            _, vs = self._read(p, i0 + a, i0 + b)
            assert vs is not None
            tss.append(ts[a:b])
            vss.append(vs)
        if s.marks is not None:
            m0 = int(np.searchsorted(s.marks, lo_s, side="left"))
            m1 = int(np.searchsorted(s.marks, hi_s, side="right"))
            if m1 > m0:
                ts = np.concatenate([*tss, s.marks[m0:m1]])
                vs = np.concatenate([*vss, np.full(m1 - m0, STALE_NAN)])
                order = np.argsort(ts, kind="stable")
                tss, vss = [ts[order]], [vs[order]]
        if not tss:
            return np.empty(0, dtype=np.int64), np.empty(0)
        ts = np.concatenate(tss) if len(tss) > 1 else tss[0]
        vs = np.concatenate(vss) if len(vss) > 1 else vss[0]
        ms = np.round(ts * 1000).astype(np.int64)
        if len(ms) and (ms[0] < lo_ms or ms[-1] > hi_ms):
            keep = (ms >= lo_ms) & (ms <= hi_ms)
            ms, vs = ms[keep], vs[keep]
        return ms, vs

    def window(self, lo_ms: int, hi_ms: int) -> Iterator[tuple[Labels, np.ndarray, np.ndarray, np.ndarray | None]]:
        """(labels, ms, values, histograms) of each series' samples with lo_ms <= t <= hi_ms, in storage
        order; histograms is None, or an object array aligned with ms for Storage.add (None at floats)."""
        for s in self.series:
            ms, vs = self._materialize(s, lo_ms, hi_ms)
            if len(ms):
                yield s.labels, ms, vs, _histograms_at(s, ms, vs)


def _last_at_each_time(ms_parts: list[np.ndarray], obj_parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Histogram times (ms) and objects joined in the order given, sorted, the later one kept at an equal
    time (as Storage.add keeps the later sample)."""
    ms = np.concatenate(ms_parts)
    objs = np.concatenate(obj_parts)
    order = np.argsort(ms, kind="stable")
    ms, objs = ms[order], objs[order]
    keep = np.ones(len(ms), dtype=bool)
    keep[:-1] = ms[1:] != ms[:-1]
    return ms[keep], objs[keep]


def _histograms_at(s: _Stored, ms: np.ndarray, vs: np.ndarray) -> np.ndarray | None:
    """The histogram objects of a series' samples (ms, vs as read back), None where a sample is a float."""
    if s.hist_ms is None or s.hist_objs is None:
        return None
    at = hist_mask(vs)
    if not at.any():
        return None
    hs = np.full(len(ms), None, dtype=object)
    hs[at] = s.hist_objs[np.searchsorted(s.hist_ms, ms[at])]
    return hs


def _dedupe(ts: np.ndarray, vs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time order with the later-added value at an equal time (as opsctl.promql.Storage.add keeps)."""
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return ts, vs
    order = np.argsort(ts, kind="stable")
    ts, vs = ts[order], vs[order]
    keep = np.ones(len(ts), dtype=bool)
    keep[:-1] = ts[1:] != ts[:-1]
    return ts[keep], vs[keep]


def _parquet_pieces(p: Path, name: str) -> Iterator[tuple[Any, Series]] | None:
    """(key, piece) pairs of a Parquet export batch by batch, with the series order of
    opsctl.data.exports.read_export (sorted keys when read in batches); None to read it whole."""
    import pyarrow.parquet as pq

    from opsctl.data import exports as ex

    try:
        label_cols = ex._parquet_label_columns(p)
        pf = pq.ParquetFile(p, read_dictionary=label_cols, pre_buffer=False, buffer_size=1 << 20)
        rows = pf.metadata.num_rows
    except Exception:  # read_export reports a broken file
        return None
    if rows <= ex._PARQUET_BATCH:
        return None

    def gen() -> Iterator[tuple[Any, Series]]:
        offset = 0
        batches = pf.iter_batches(batch_size=_BATCH_ROWS, use_threads=False)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    break
                fast = _arrow_pieces(batch, name)
                if fast is not None:
                    offset += batch.num_rows
                    del batch
                    yield from fast
                    del fast
                    continue
                frame = batch.to_pandas()
            except Exception as exc:
                raise InputError(f"invalid Parquet: {ex._first_line(exc)}", str(p)) from None
            del batch
            try:
                got = ex._keyed_series(frame, str(p), name)
            except InputError as exc:  # rows are numbered over the whole file
                line = exc.position.line
                raise InputError(exc.message, exc.file, line + offset if line > 1 else line,
                                 exc.position.column) from None
            offset += len(frame)
            del frame
            yield from got
            del got
            ex._release_arrow_memory()  # pyarrow's pool keeps what a batch used otherwise

    return gen()


class _NotPlain(Exception):
    """A CSV export that the streamed reading cannot read as read_export would: read it whole."""


def _csv_pieces(p: Path, name: str) -> Iterator[tuple[Any, Series]]:
    """(key, piece) pairs of a long-format CSV export block by block, with pyarrow's CSV reader (the one
    read_export uses) and the same conversions: label columns as text, time and value columns as numbers.
    Raises _NotPlain (possibly after some pieces) for anything else: a time or value cell that is not a
    number, an empty one, seconds and milliseconds mixed, a wide or unreadable file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    from opsctl.data import exports as ex

    try:
        header = pacsv.open_csv(p, read_options=pacsv.ReadOptions(block_size=1 << 16)).schema.names
    except Exception:
        raise _NotPlain from None
    lower = [str(c).strip().lower() for c in header]
    if ("value" not in lower or len(set(header)) != len(header)
            or sum(low in ex.TIME_COLUMNS for low in lower) != 1):
        raise _NotPlain
    numeric = {c for c, low in zip(header, lower, strict=True) if low in (*ex.TIME_COLUMNS, "value")}
    types = {c: (pa.float64() if c in numeric else pa.string()) for c in header}
    try:
        reader = pacsv.open_csv(p, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
                                convert_options=pacsv.ConvertOptions(column_types=types, null_values=[],
                                                                     strings_can_be_null=False,
                                                                     quoted_strings_can_be_null=False))
    except Exception:
        raise _NotPlain from None
    unit: bool | None = None  # milliseconds, as decided by the first block
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except Exception:
            raise _NotPlain from None
        if batch.num_rows == 0:
            continue
        arrays = [pc.dictionary_encode(col) if col.type == pa.string() else col for col in batch.columns]
        batch = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
        times = batch.column(next(i for i, low in enumerate(lower) if low in ex.TIME_COLUMNS))
        t = times.to_numpy(zero_copy_only=False)
        if np.isnan(t).any():  # read_export names the row
            raise _NotPlain
        ms = bool(np.abs(t).max() > 1e11)
        if unit is None:
            unit = ms
        elif unit != ms:  # read whole, these are divided (or not) all together
            raise _NotPlain
        got = _arrow_pieces(batch, name)
        del batch, arrays, times
        if got is None:
            raise _NotPlain
        yield from got
        del got
        ex._release_arrow_memory()  # pyarrow's pool keeps what a block used otherwise


def _arrow_pieces(batch: Any, default_name: str) -> list[tuple[Any, Series]] | None:
    """opsctl.data.exports._keyed_series of a long-format batch straight from its Arrow columns, when they
    are plain: a numeric time and value column without nulls, and label columns of dictionary-encoded
    strings without nulls (what exports write). None otherwise (the batch then goes through pandas)."""
    import pyarrow as pa

    from opsctl.data import exports as ex

    names = [str(c) for c in batch.schema.names]
    columns = {c.strip().lower(): i for i, c in enumerate(names)}
    time_i = next((columns[c] for c in ex.TIME_COLUMNS if c in columns), None)
    value_i = columns.get("value")
    if time_i is None or value_i is None or time_i == value_i or batch.num_rows == 0:
        return None
    label_is = [i for i in range(len(names)) if i not in (time_i, value_i)]
    name_i = next((columns[c] for c in ex.NAME_COLUMNS if c in columns and columns[c] in label_is), None)
    if not label_is:
        return None

    def numeric(col: Any) -> bool:
        return bool(col.null_count == 0 and (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)))

    t_col, v_col = batch.column(time_i), batch.column(value_i)
    if not (numeric(t_col) and numeric(v_col)):
        return None
    codes: list[np.ndarray] = []
    texts: list[list[str]] = []
    for i in label_is:
        col = batch.column(i)
        if (col.null_count or not pa.types.is_dictionary(col.type)
                or not (pa.types.is_string(col.type.value_type) or pa.types.is_large_string(col.type.value_type))):
            return None
        codes.append(col.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        texts.append([str(x) for x in col.dictionary.to_pylist()])
    ts = t_col.to_numpy(zero_copy_only=False).astype(np.float64)
    if ts.size and np.nanmax(np.abs(ts)) > 1e11:  # milliseconds since the epoch (exports.parse_timestamps)
        ts = ts / 1000.0
    values = v_col.to_numpy(zero_copy_only=False).astype(np.float64)
    key = np.zeros(batch.num_rows, dtype=np.int64)
    span = 1
    for c, text in zip(codes, texts, strict=True):
        n = max(1, len(text))
        if span * n >= 2**62:
            _, key = np.unique(key, return_inverse=True)
            span = int(key.max(initial=0)) + 1
        key *= n
        key += c
        span *= n
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    parts: list[tuple[int, np.ndarray | slice]]
    if len(np.unique(key[starts])) == len(starts):  # each series' rows are contiguous: slices, no copy
        ends = np.r_[starts[1:], len(key)]
        parts = [(a, slice(a, b)) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    else:
        order = np.argsort(key, kind="stable")
        sk = key[order]
        bounds = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1], True])
        parts = [(int(order[a]), order[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    out: list[tuple[Any, Series]] = []
    for first, idx in parts:
        key_t = tuple(texts[j][int(codes[j][first])] for j in range(len(label_is)))
        labels: dict[str, str] = {}
        for i, val in zip(label_is, key_t, strict=True):
            if val == "":
                continue  # an empty label value is the same as no label in Prometheus
            labels["__name__" if i == name_i else names[i]] = val
        if "__name__" not in labels and default_name:
            labels["__name__"] = default_name
        out.append((key_t, ex._make(labels, ts[idx], values[idx])))
    return out


# -- the alert state machine, step by step ------------------------------------------------------------


@dataclass
class _AlertState:
    """Prometheus' alert state machine over one instance's presence (backtest.episodes_from_presence),
    fed window by window: the same runs, in the same order, give the same episodes."""

    open_start: int | None = None  # start of a run of present steps reaching the last step seen
    firing: bool = False
    active: int = -1
    fired: int = -1
    last_end: int = -1
    last_present: bool = False  # presence at the last step seen (after failed-step carry-over)

    def run(self, s: int, e: int, for_steps: int, keep_steps: int,
            out: list[tuple[int, int, int | None]]) -> int:
        """One complete run [s, e]; returns 1 for an activation that stayed pending."""
        if self.firing:
            if s - self.last_end - 1 <= keep_steps:
                self.last_end = e
                return 0
            out.append((self.active, self.fired, self.last_end + 1 + keep_steps))
            self.firing = False
        f = s + for_steps
        if f <= e:
            self.firing, self.active, self.fired, self.last_end = True, s, f, e
            return 0
        return 1


@dataclass
class _AlertReplay:
    rule: Rule
    stats: AlertStats
    start: float  # the group's grid
    step: float
    offset: float
    n: int
    rule_labels: dict[str, str]
    templated: bool
    for_steps: int
    keep_steps: int
    states: dict[tuple[tuple[str, str], ...], _AlertState] = field(default_factory=dict)
    episodes: dict[tuple[tuple[str, str], ...], list[tuple[int, int, int | None]]] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)
    clash: bool = False

    def feed(self, i0: int, i1: int, presence: dict[tuple[tuple[str, str], ...], np.ndarray],
             failed: list[int]) -> None:
        m = i1 - i0
        keys = set(presence) | {k for k, st in self.states.items() if st.open_start is not None}
        if failed:
            keys |= {k for k, st in self.states.items() if st.last_present}
        for key in keys:
            st = self.states.get(key)
            if st is None:
                st = self.states[key] = _AlertState()
                self.episodes[key] = []
            arr = presence.get(key)
            p = arr if arr is not None else np.zeros(m, dtype=bool)
            if failed:  # a failed step keeps the state of the step before (backtest._carry_over_failures)
                p = p.copy()
                for i in failed:
                    j = i - i0
                    if i > 0:
                        p[j] = p[j - 1] if j > 0 else st.last_present
            st.last_present = bool(p[-1])
            padded = np.concatenate(([False], p, [False])).astype(np.int8)
            d = np.diff(padded)
            starts = (np.flatnonzero(d == 1) + i0).tolist()
            ends = (np.flatnonzero(d == -1) - 1 + i0).tolist()
            out = self.episodes[key]
            if st.open_start is not None:
                if starts and starts[0] == i0:
                    starts[0] = st.open_start
                else:
                    self.stats.pending_only += st.run(st.open_start, i0 - 1, self.for_steps, self.keep_steps, out)
                st.open_start = None
            for s, e in zip(starts, ends, strict=True):
                if e == i1 - 1 and i1 < self.n:
                    st.open_start = s
                    break
                self.stats.pending_only += st.run(s, e, self.for_steps, self.keep_steps, out)

    def finish(self) -> None:
        for key, st in self.states.items():
            out = self.episodes[key]
            if st.open_start is not None:
                self.stats.pending_only += st.run(st.open_start, self.n - 1, self.for_steps, self.keep_steps, out)
                st.open_start = None
            if st.firing:
                resolved = st.last_end + 1 + self.keep_steps
                out.append((st.active, st.fired, resolved if resolved < self.n else None))
                st.firing = False
            for a, f, r in out:
                resolved_at = self.start + r * self.step if r is not None else None
                e = Episode(dict(key), self.start + a * self.step, self.start + f * self.step, resolved_at)
                if (e.resolved_at is not None and e.resolved_at < self.stats.start) or e.fired_at > self.stats.end:
                    continue
                self.stats.episodes.append(e)


@dataclass
class _Recording:
    rule: Rule
    group: RuleGroup
    start: float
    step: float
    offset: float
    n: int
    extra: dict[str, str]
    # per label set of the expression's output: alive at the last step seen (after failed-step carry-over),
    # the recorded samples within the lookback, and the recorded series' labels (in storage order)
    alive: dict[Labels, bool] = field(default_factory=dict)
    carried: dict[Labels, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    carried_hs: dict[Labels, np.ndarray] = field(default_factory=dict)  # native histograms of `carried`, if any
    out_labels: dict[Labels, Labels] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)


def _steps_in(start: float, step: float, n: int, t0: float, t1: float, last: bool) -> tuple[int, int]:
    """Grid steps i (start + i*step) with t0 <= time < t1 (<= t1 for the last window), within [0, n)."""
    i0 = 0 if t0 <= start else min(n, math.ceil((t0 - start) / step - 1e-9))
    if last:
        return i0, n
    i1 = 0 if t1 <= start else min(n, math.ceil((t1 - start) / step - 1e-9))
    return i0, max(i0, i1)


def backtest_export(rule_files: list[str], path: str | Path, start: float | None = None, end: float | None = None,
                    step: float | None = None, progress: Callable[..., None] | None = None,
                    prometheus_version: PromVersion | None = None, infer_staleness: bool = True,
                    window_samples: int = WINDOW_SAMPLES) -> BacktestResult:
    """backtest() over an export file, streamed (see the module docstring)."""
    with ExportStore.from_file(path, infer_staleness=infer_staleness) as store:
        return backtest_store(rule_files, store, start, end, step, progress, prometheus_version,
                              window_samples=window_samples)


def backtest_store(rule_files: list[str], store: ExportStore, start: float | None = None, end: float | None = None,
                   step: float | None = None, progress: Callable[..., None] | None = None,
                   prometheus_version: PromVersion | None = None, window_samples: int = WINDOW_SAMPLES,
                   window_seconds: float | None = None) -> BacktestResult:
    """The replay of backtest.backtest() over a store, window by window. `window_seconds` (tests) fixes
    the windows' length instead of deriving it from `window_samples` and the data's sample rate.
    `progress(1, total=windows)` is called after each window."""
    groups = load_rule_groups(rule_files, prometheus_version)
    if store.samples == 0:
        raise InputError("the export holds no samples", "<data>")
    w_start = store.lo if start is None else float(start)
    w_end = store.hi if end is None else float(end)
    if w_end < w_start:
        raise InputError(f"--to ({w_end}) is before --from ({w_start})", "<arguments>")
    if step is not None and step <= 0:
        raise InputError("--step must be positive", "<arguments>")
    result = BacktestResult([str(p) for p in rule_files], w_start, w_end, series=store.n_series,
                            samples=store.samples)
    result.warnings += store.warnings
    engine_opts = engine_options(prometheus_version or DEFAULT_VERSION)  # the version's PromQL semantics
    lookback_ms = round(LOOKBACK_DELTA_S * 1000)

    # What each rule reads before its evaluation time; None: one window for the whole period.
    parser = Engine(Storage(), lookback_delta=LOOKBACK_DELTA_S, **engine_opts)
    reach: int | None = 0
    for g in groups:
        off_ms = round((g.query_offset or 0.0) * 1000)
        for rule in g.rules:
            if rule.kind == "alert" and any("{{" in v and "query" in v for v in {**g.labels, **rule.labels}.values()):
                reach = None
            if reach is None:
                break
            try:
                got = rule_lookback(parser._parse(rule.expr), lookback_ms)
            except Exception:  # (the evaluation reports a bad expression) not known: one window
                got = None
            reach = None if got is None else max(reach, got + off_ms)
    del parser

    recordings: list[_Recording] = []
    for g in groups:
        g_step = step or g.interval or DEFAULT_STEP
        offset = g.query_offset or 0.0
        for rule in g.rules:
            if rule.kind != "record":
                continue
            if rule.name in store.names:
                result.recorded_from_data.append(rule.name)
                continue
            r_start = _grid_start(store.lo, w_start, g_step)
            n = math.floor((w_end - r_start) / g_step + 1e-9) + 1
            recordings.append(_Recording(rule, g, r_start, g_step, offset, n, {**g.labels, **rule.labels}))
            result.recorded.append(rule.name)
    alerts: list[_AlertReplay] = []
    for g, rule, stats, g_step, offset in alert_rules(groups, step, result, w_start, w_end):
        a_start = _grid_start(store.lo, w_start, g_step)
        n = math.floor((w_end - a_start) / g_step + 1e-9) + 1
        rule_labels = {**g.labels, **rule.labels}
        alerts.append(_AlertReplay(rule, stats, a_start, g_step, offset, n, rule_labels,
                                   any("{{" in v for v in rule_labels.values()),
                                   _steps_for(rule.for_, g_step), _steps_for(rule.keep_firing_for, g_step)))

    first = min([r.start for r in recordings] + [a.start for a in alerts], default=w_start)
    span = max(0.0, w_end - first)
    if reach is None or span == 0:
        length = span + 1.0
    elif window_seconds is not None:
        length = float(window_seconds)
    else:
        rate = store.samples / max(1.0, store.hi - store.lo)  # samples per second, all series
        # The window plus the lookback hold about window_samples; a lookback longer than that (a rule over
        # days of data) makes windows at least half as long as the lookback, at least 16 steps.
        length = max(window_samples / max(rate, 1e-9) - reach / 1000.0, reach / 2000.0, 16 * max(
            [r.step for r in recordings] + [a.step for a in alerts], default=DEFAULT_STEP))
    n_windows = max(1, math.ceil(span / length - 1e-9)) if span > 0 else 1
    if reach is None:
        n_windows = 1
    back_ms = reach if reach is not None else None
    render_engine: list[Engine] = []

    def render(text: str, name: str, labels: Any, value: Any, t: float) -> str:
        from opsctl.rules.testing_eval import query_vector

        t_ms = round(t * 1000)  # `now` in the template is the evaluation time, as in Prometheus
        return cached(text, name, labels, value, lambda q: query_vector(render_engine[0], q, t_ms), t_ms)

    from opsctl.rules.testing_templates import CachedRenderer

    cached = CachedRenderer({}, "")
    for k in range(n_windows):
        t0 = first + k * length
        last = k == n_windows - 1
        t1 = w_end if last else first + (k + 1) * length
        storage = Storage()
        if back_ms is None:
            lo_ms, hi_ms = -(2**62), 2**62
        else:
            lo_ms = math.floor(t0 * 1000) - back_ms - 1
            hi_ms = math.ceil(t1 * 1000) + 1
        for labels, ts, vs, hs in store.window(lo_ms, hi_ms):
            storage.add(labels, ts, vs, None if hs is None else list(hs))
        engine = Engine(storage, lookback_delta=LOOKBACK_DELTA_S, max_chunk_elements=CHUNK_ELEMENTS, **engine_opts)
        render_engine[:] = [engine]
        for rec in recordings:
            i0, i1 = _steps_in(rec.start, rec.step, rec.n, t0, t1, last)
            _record_window(engine, storage, rec, i0, i1, lo_ms)
        for al in alerts:
            i0, i1 = _steps_in(al.start, al.step, al.n, t0, t1, last)
            _alert_window(engine, al, i0, i1, render)
        del engine, storage
        if progress is not None:
            progress(1, total=n_windows)
    for rec in recordings:
        if rec.failures:
            result.warnings.append(_failure_warning("recording rule", rec.rule.name, rec.failures, rec.n))
    for al in alerts:
        al.finish()
        if al.failures:
            result.warnings.append(_failure_warning("alert", al.rule.name, al.failures, al.n))
        if al.clash:
            result.warnings.append(
                f"alert {al.rule.name}: several series give the same alert labels at one time "
                "(Prometheus fails such an evaluation: 'vector contains metrics with the same labelset "
                "after applying alert labels'); they were merged")
    for stats in result.alerts:
        sort_episodes(stats)
    return result


def _range_window(engine: Engine, expr: str, base: float, step: float, i0: int, i1: int,
                  failures: list[tuple[int, str]]) -> Iterator[Piece]:
    """backtest._range over steps [i0, i1) of the grid base + i*step, in the same sub-chunks."""
    from opsctl.rules.backtest import _QUERY_BOUNDS, _chunk_steps, _instant_steps

    if _QUERY_BOUNDS.search(expr):  # as backtest._range: instant queries, as Prometheus evaluates rules
        yield from _instant_steps(engine, expr, base, step, i0, i1, failures)
        return
    size = _chunk_steps(engine)
    for a in range(i0, i1, size):
        yield from _range_steps(engine, expr, base, step, a, min(i1, a + size), failures)


def _record_window(engine: Engine, storage: Storage, rec: _Recording, i0: int, i1: int, lo_ms: int) -> None:
    m = i1 - i0
    grid_ms = np.round((rec.start + np.arange(i0, i1) * rec.step) * 1000).astype(np.int64)
    failures: list[tuple[int, str]] = []
    pieces = (_range_window(engine, rec.rule.expr, rec.start - rec.offset, rec.step, i0, i1, failures)
              if m > 0 else ())
    got, got_hs = on_grid(pieces, rec.start, rec.step, rec.offset, m, i0)
    rec.failures += failures
    failed = sorted(i for i, _ in failures)
    # New series in the order backtest._record adds them: first step present, then label order.
    new = sorted((lab for lab in got if lab not in rec.alive),
                 key=lambda lab: (int(np.argmax(got[lab][0])), lab.items_tuple))
    for labels in new:
        rec.alive[labels] = False
        rec.out_labels[labels] = Labels(recorded_labels(labels, rec.rule.name, rec.extra))
    for labels in rec.out_labels:
        present, values = got.get(labels) or (np.zeros(m, dtype=bool), np.full(m, np.nan))
        prev = rec.alive[labels]
        if m > 0:
            alive = present
            if failed:
                alive = present.copy()
                for i in failed:
                    j = i - i0
                    if i > 0:
                        alive[j] = alive[j - 1] if j > 0 else prev
            stale = np.zeros(m, dtype=bool)
            stale[1:] = alive[:-1] & ~alive[1:]
            if i0 > 0:
                stale[0] = prev and not alive[0]
            rec.alive[labels] = bool(alive[-1])
            keep = present | stale
            values[stale] = STALE_NAN
            new_ts, new_vs = grid_ms[keep], values[keep]
            new_hs = got_hs[labels][keep] if labels in got_hs else None
        else:
            new_ts, new_vs, new_hs = grid_ms[:0], np.empty(0), None
        old = rec.carried.get(labels)
        old_hs = rec.carried_hs.get(labels)
        all_hs: np.ndarray | None = new_hs
        if old is not None:
            cut = int(np.searchsorted(old[0], lo_ms, side="left"))
            ts = np.concatenate([old[0][cut:], new_ts])
            vs = np.concatenate([old[1][cut:], new_vs])
            if old_hs is not None or new_hs is not None:
                all_hs = np.concatenate([old_hs[cut:] if old_hs is not None else np.full(len(old[0]) - cut, None),
                                         new_hs if new_hs is not None else np.full(len(new_ts), None)])
        else:
            ts, vs = new_ts, new_vs
        rec.carried_hs.pop(labels, None)
        if len(ts):
            rec.carried[labels] = (ts, vs)
            if all_hs is not None:
                rec.carried_hs[labels] = all_hs
            storage.add(rec.out_labels[labels], ts, vs, None if all_hs is None else list(all_hs))
        else:
            rec.carried.pop(labels, None)


def _alert_window(engine: Engine, al: _AlertReplay, i0: int, i1: int, render: Renderer) -> None:
    m = i1 - i0
    if m <= 0:
        return
    presence: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    failures: list[tuple[int, str]] = []
    rule = al.rule
    for labels, ts, vs, hs in _range_window(engine, rule.expr, al.start - al.offset, al.step, i0, i1, failures):
        idx = np.round((ts + al.offset - al.start) / al.step).astype(np.int64)
        ok = (idx >= i0) & (idx < i1)
        idx, vals = idx[ok], vs[ok]
        if not al.templated:
            key = _alert_labels(al.rule_labels, rule.name, labels, 0.0, 0.0, None)
            arr = presence.setdefault(key, np.zeros(m, dtype=bool))
            al.clash = al.clash or bool(arr[idx - i0].any())
            arr[idx - i0] = True
            continue
        tvals: list[Any] = vals.tolist()
        if hs is not None:  # a histogram sample: `$value` is the histogram (template.AlertTemplateData)
            tvals = [v if h is None else h for v, h in zip(tvals, hs[ok].tolist(), strict=True)]
        for i, v in zip(idx.tolist(), tvals, strict=True):
            key = _alert_labels(al.rule_labels, rule.name, labels, v, al.start + i * al.step, render)
            arr = presence.setdefault(key, np.zeros(m, dtype=bool))
            al.clash = al.clash or bool(arr[i - i0])
            arr[i - i0] = True
    al.failures += failures
    al.feed(i0, i1, presence, sorted(i for i, _ in failures))
