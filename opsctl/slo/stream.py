"""Stream a (possibly huge) Parquet or CSV export into `SampleStore`s in bounded memory with pyarrow.

Same layouts as `opsctl.data.exports`: long format (`timestamp`, `value`, label columns, the metric name in
`__name__` / `metric` / `name`) or wide format (`timestamp` plus one column per metric). Rows are read in
record batches; only the series the SLI queries select are kept. Memory is O(batch + series x intervals),
independent of the number of rows. Samples of one series must be in time order across the file (as
exports are written: sorted by time, or by series then time).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opsctl.errors import InputError
from opsctl.slo.evaluate import SampleError, SampleStore

BATCH_ROWS = 1 << 18
# The column names of opsctl.data.exports (equal, tested), not imported from it: that module loads pandas,
# which the streamed path does not need (about 0.6 s of start-up).
NAME_COLUMNS = ("__name__", "metric", "name")
TIME_COLUMNS = ("timestamp", "time", "ts")


def final_error(message: str, file: str, line: int = 0) -> InputError:
    """An error about the export's content that another reader would not fix (no in-memory fallback)."""
    exc = InputError(message, file, line)
    exc.final = True  # type: ignore[attr-defined]
    return exc


class _BadRows:
    """pyarrow `invalid_row_handler`: remembers rows with a wrong number of fields (a short row would
    otherwise be read with its missing fields as empty)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int | None, str]] = []

    def __call__(self, row: object) -> str:
        self.rows.append((row.expected_columns, row.actual_columns, row.number, row.text))  # type: ignore[attr-defined]
        return "skip"

    def check(self, path: Path) -> None:
        if not self.rows:
            return
        expected, actual, number, text = self.rows[0]
        line = number or _line_of(path, text)
        raise final_error(f"row with {actual} field(s), the header has {expected}: {text[:200]!r}", str(path), line)


def _line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line equal to `text` (0 when not found)."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh, 1):
            if line.rstrip("\r\n") == text:
                return i
    return 0


@dataclass
class Layout:
    time_col: str
    value_col: str | None
    label_cols: list[str]
    name_col: str | None
    ms: bool  # numeric timestamps in milliseconds


def is_csv(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".txt")


def _csv_names(path: Path) -> list[str]:
    try:
        with path.open("rb") as fh:
            reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(block_size=1 << 16),
                                    parse_options=pacsv.ParseOptions(invalid_row_handler=_BadRows()))
            return list(reader.schema.names)  # bad rows are reported by the reads that follow
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"invalid CSV: {str(exc).strip().splitlines()[0]}", str(path)) from None


def _csv_types(names: list[str]) -> dict[str, pa.DataType]:
    """Numeric times (ISO times fail here and send the file to the in-memory reader), float values,
    dictionary-encoded labels (long format) or float columns (wide format)."""
    lower = {n.strip().lower(): n for n in names}
    time_col = next((lower[c] for c in TIME_COLUMNS if c in lower), None)
    value_col = lower.get("value")
    label = pa.dictionary(pa.int32(), pa.string()) if value_col is not None else pa.float64()
    types: dict[str, pa.DataType] = {n: label for n in names}
    if time_col is not None:
        types[time_col] = pa.float64()
    if value_col is not None:
        types[value_col] = pa.float64()
    return types


def _csv_batches(path: Path, batch_rows: int, columns: list[str] | None, names: list[str]) -> Iterator[pa.RecordBatch]:
    """CSV record batches typed by `_csv_types` ('' = no sample / no label)."""
    opts = pacsv.ConvertOptions(column_types=_csv_types(names), null_values=[""], strings_can_be_null=True,
                                include_columns=columns)
    block = max(1 << 16, min(1 << 26, batch_rows * 64))
    bad = _BadRows()
    try:
        with path.open("rb") as fh:
            reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(block_size=block), convert_options=opts,
                                    parse_options=pacsv.ParseOptions(invalid_row_handler=bad))
            for batch in reader:
                bad.check(path)
                yield batch
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"invalid CSV: {str(exc).strip().splitlines()[0]}", str(path)) from None
    bad.check(path)


CSV_IN_MEMORY_BYTES = 256 << 20  # smaller CSV files are parsed once, multi-threaded, and sliced into batches


@functools.lru_cache(maxsize=1)
def _csv_table(path: str, mtime_ns: int, size: int) -> pa.Table:
    p = Path(path)
    names = _csv_names(p)
    opts = pacsv.ConvertOptions(column_types=_csv_types(names), null_values=[""], strings_can_be_null=True)
    bad = _BadRows()
    try:
        table = pacsv.read_csv(p, convert_options=opts, parse_options=pacsv.ParseOptions(invalid_row_handler=bad))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"invalid CSV: {str(exc).strip().splitlines()[0]}", path) from None
    bad.check(p)
    return table


def release() -> None:
    """Drop the parsed CSV kept between the passes of one report."""
    _csv_table.cache_clear()


def _batches(path: Path, batch_rows: int, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    if is_csv(path):
        st = path.stat()
        if st.st_size <= CSV_IN_MEMORY_BYTES:
            table = _csv_table(str(path), st.st_mtime_ns, st.st_size)
            if columns is not None:
                table = table.select(columns)
            yield from table.to_batches(max_chunksize=batch_rows)
            return
        yield from _csv_batches(path, batch_rows, columns, _csv_names(path))
    else:
        yield from _open(path).iter_batches(batch_size=batch_rows, columns=columns)


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"invalid Parquet: {text}", str(path)) from None


def layout(path: Path) -> Layout:
    f = None if is_csv(path) else _open(path)
    names = _csv_names(path) if f is None else list(f.schema_arrow.names)
    lower = {n.strip().lower(): n for n in names}
    time_col = next((lower[c] for c in TIME_COLUMNS if c in lower), None)
    if time_col is None:
        raise InputError(f"no 'timestamp' column (columns: {', '.join(names)})", str(path))
    value_col = lower.get("value")
    labels = [n for n in names if n not in (time_col, value_col)] if value_col else []
    name_col = next((lower[c] for c in NAME_COLUMNS if c in lower and lower[c] in labels), None)
    ms = False
    ttype = pa.string() if f is None else f.schema_arrow.field(time_col).type
    if not pa.types.is_timestamp(ttype):
        hi = None if f is None else _stats_range(f, time_col)[1]
        if hi is not None and abs(hi) > 1e11:
            ms = True
        elif hi is None:
            for batch in _batches(path, 1024, [time_col]):
                arr = _num(batch.column(0), str(path), time_col)
                ms = bool(arr.size and np.nanmax(np.abs(arr)) > 1e11)
                break
    return Layout(time_col, value_col, labels, name_col, ms)


def _stats_range(f: pq.ParquetFile, col: str) -> tuple[float | None, float | None]:
    md = f.metadata
    idx = f.schema_arrow.names.index(col)
    lo, hi = math.inf, -math.inf
    for rg in range(md.num_row_groups):
        c = md.row_group(rg).column(idx)
        st = c.statistics
        if st is None or not st.has_min_max:
            return None, None
        mn, mx = st.min, st.max
        if hasattr(mn, "timestamp"):
            mn, mx = mn.timestamp(), mx.timestamp()
        try:
            lo, hi = min(lo, float(mn)), max(hi, float(mx))
        except (TypeError, ValueError):
            return None, None
    if lo == math.inf:
        return None, None
    return lo, hi


def _np(col: pa.Array | pa.ChunkedArray, null: float) -> np.ndarray:
    """A primitive pyarrow array as numpy, nulls as `null`. Arrow's own conversion with copies allowed
    (`to_numpy(zero_copy_only=False)`) imports pandas (0.6 s) even for plain numbers; this never does."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.null_count:
        col = col.fill_null(pa.scalar(null, col.type) if not pa.types.is_floating(col.type) else null)
    t = col.type
    if pa.types.is_floating(t) or pa.types.is_integer(t):
        kind = "f" if pa.types.is_floating(t) else "i" if pa.types.is_signed_integer(t) else "u"
        dtype = np.dtype(f"{kind}{t.bit_width // 8}")
        return np.frombuffer(col.buffers()[1], dtype=dtype, count=len(col), offset=col.offset * dtype.itemsize)
    out: np.ndarray = col.to_numpy(zero_copy_only=False)
    return out


def _num(col: pa.Array | pa.ChunkedArray, filename: str, name: str) -> np.ndarray:
    if pa.types.is_timestamp(col.type):
        unit = col.type.unit
        div = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
        return _np(col.cast(pa.int64()), -1).astype(np.float64) / div
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        try:
            col = pc.cast(col, pa.float64())
        except pa.ArrowInvalid as exc:
            raise InputError(f"column {name!r}: not a number ({str(exc).splitlines()[0]})", filename) from None
    try:
        out: np.ndarray = _np(col.cast(pa.float64()), math.nan)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"column {name!r}: not numeric ({str(exc).splitlines()[0]})", filename) from None
    return out


def time_range(path: Path) -> tuple[float, float, int]:
    """(first, last) sample time in Unix seconds and the row count (Parquet: from statistics when present;
    CSV: one pass over the timestamp column)."""
    lay = layout(path)
    f = None if is_csv(path) else _open(path)
    rows = 0 if f is None else f.metadata.num_rows
    ttype = pa.string() if f is None else f.schema_arrow.field(lay.time_col).type
    lo, hi = (None, None) if f is None else _stats_range(f, lay.time_col)
    if lo is None or hi is None:
        lo, hi = math.inf, -math.inf
        for batch in _batches(path, BATCH_ROWS, [lay.time_col]):
            arr = _num(batch.column(0), str(path), lay.time_col)
            if f is None:
                rows += arr.size
            if arr.size:
                lo, hi = min(lo, float(np.nanmin(arr))), max(hi, float(np.nanmax(arr)))
        if lay.ms and not pa.types.is_timestamp(ttype):
            lo, hi = lo / 1000, hi / 1000
    elif lay.ms and not pa.types.is_timestamp(ttype):
        lo, hi = lo / 1000, hi / 1000
    if lo == math.inf:
        raise InputError("no samples in the export", str(path))
    return lo, hi, rows


def constant_columns(path: Path, columns: list[str]) -> dict[str, str]:
    """The text columns of a Parquet file that hold one value in every row, by its statistics (every row
    group: min == max, the same value, no nulls): they tell no series apart, so they are not decoded."""
    if is_csv(path):
        return {}
    f = _open(path)
    md = f.metadata
    out: dict[str, str] = {}
    for col in columns:
        t = f.schema_arrow.field(col).type
        base = t.value_type if pa.types.is_dictionary(t) else t
        if not (pa.types.is_string(base) or pa.types.is_large_string(base)) or md.num_row_groups == 0:
            continue
        value: object = None
        for rg in range(md.num_row_groups):
            group = md.row_group(rg)
            chunk = next((group.column(j) for j in range(group.num_columns)
                          if group.column(j).path_in_schema == col), None)
            st = None if chunk is None else chunk.statistics
            if (st is None or not st.has_min_max or not st.has_null_count or st.null_count != 0
                    or st.min != st.max or not isinstance(st.min, str) or (value is not None and st.min != value)):
                value = None
                break
            value = st.min
        if isinstance(value, str):
            out[col] = value
    return out


def iter_batches(path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[tuple[list[dict[str, str]], np.ndarray,
                                                                               np.ndarray, np.ndarray]]:
    """Yield (labels of the batch's series, series index per row, times, values) per record batch."""
    lay = layout(path)
    fname = str(path)
    if lay.value_col is None:  # wide format: one series per column
        for batch in _batches(path, batch_rows):
            cols = [n for n in batch.schema.names if n != lay.time_col]
            ts = _num(batch.column(lay.time_col), fname, lay.time_col)
            if lay.ms:
                ts = ts / 1000
            for name in cols:
                vs = _num(batch.column(name), fname, name)
                yield [{"__name__": name}], np.zeros(ts.size, dtype=np.int64), ts, vs
        return
    global_codes: list[dict[str, int]] = [{} for _ in lay.label_cols]
    global_values: list[list[str]] = [[] for _ in lay.label_cols]
    constant = constant_columns(path, lay.label_cols)
    for c, name in enumerate(lay.label_cols):
        if name in constant:
            global_codes[c][constant[name]] = 0
            global_values[c].append(constant[name])
    read = [lay.time_col, lay.value_col, *(n for n in lay.label_cols if n not in constant)]
    for batch in _batches(path, batch_rows, read if constant else None):
        n = batch.num_rows
        ts = _num(batch.column(lay.time_col), fname, lay.time_col)
        if lay.ms:
            ts = ts / 1000
        vs = _num(batch.column(lay.value_col), fname, lay.value_col)
        codes_per_col: list[np.ndarray | int] = []
        for c, name in enumerate(lay.label_cols):
            if name in constant:
                codes_per_col.append(0)
                continue
            col = batch.column(name)
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
                    or pa.types.is_dictionary(col.type)):
                col = pc.cast(col, pa.string())
            enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
            dict_vals = enc.dictionary.to_pylist()
            mapping = np.empty(len(dict_vals) + 1, dtype=np.int64)
            for i, val in enumerate(dict_vals):
                text = "" if val is None else str(val)
                code = global_codes[c].get(text)
                if code is None:
                    code = len(global_values[c])
                    global_codes[c][text] = code
                    global_values[c].append(text)
                mapping[i] = code
            null_code = global_codes[c].setdefault("", len(global_values[c]))
            if null_code == len(global_values[c]):
                global_values[c].append("")
            mapping[-1] = null_code
            if len(dict_vals) == 1 and enc.null_count == 0:  # one value in the whole batch (__name__, job...)
                codes_per_col.append(int(mapping[0]))
                continue
            idx = _np(enc.indices, len(dict_vals)).astype(np.int64)
            codes_per_col.append(mapping[idx])
        var = [c for c, x in enumerate(codes_per_col) if not isinstance(x, int)]
        var_codes = [x for x in codes_per_col if isinstance(x, np.ndarray)]
        uniq_var, inverse = _group(var_codes, [len(global_values[c]) for c in var], n)
        uniq = np.array([x if isinstance(x, int) else 0 for x in codes_per_col] * len(uniq_var),
                        dtype=np.int64).reshape(len(uniq_var), len(codes_per_col))
        uniq[:, var] = uniq_var
        labels = []
        for row in uniq:
            lab: dict[str, str] = {}
            for c, code in enumerate(row):
                val = global_values[c][int(code)]
                if val != "":
                    lab["__name__" if lay.label_cols[c] == lay.name_col else lay.label_cols[c]] = val
            labels.append(lab)
        yield labels, inverse, ts, vs


def _group(codes: list[np.ndarray], radices: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct label-code rows of a batch and each row's index among them, without sorting rows when
    the combined code space is small (the usual case: a few label columns of modest cardinality)."""
    if not codes:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(n, dtype=np.int64)
    space = 1
    for r in radices:
        space *= max(1, r)
    if space <= 1 << 24:
        key = np.zeros(n, dtype=np.int64)
        for col, radix in zip(codes, radices, strict=True):
            key = key * max(1, radix) + col
        seen = np.bincount(key, minlength=space) > 0
        uniq_keys = np.flatnonzero(seen)
        lookup = np.zeros(space, dtype=np.int64)
        lookup[uniq_keys] = np.arange(uniq_keys.size)
        inverse = lookup[key]
        rows = np.empty((uniq_keys.size, len(codes)), dtype=np.int64)
        rest = uniq_keys.copy()
        for c in range(len(codes) - 1, -1, -1):
            r = max(1, radices[c])
            rows[:, c] = rest % r
            rest = rest // r
        return rows, inverse
    stacked = np.stack(codes, axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


_DONE = object()


class _Prefetch:
    """Iterate `it` in a worker thread, up to `depth` items ahead: pyarrow's decoding and the label coding of
    the next record batch (native code that releases the GIL) overlap the folding of the current one. The
    worker is always joined: on normal end, on an error in it (raised here) and when the consumer stops early
    (`close()`), so no thread outlives the read."""

    def __init__(self, it: Iterator[Any], depth: int = 2) -> None:
        import queue
        import threading

        self._q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._it = it
        self._thread = threading.Thread(target=self._run, name="opsctl-slo-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._it:
                if not self._put((True, item)):
                    return
            self._put((True, _DONE))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((False, exc))

    def _put(self, item: Any) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        try:
            while True:
                ok, item = self._q.get()
                if not ok:
                    raise item
                if item is _DONE:
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def fill_stores(path: Path, stores: list[tuple[SampleStore, Callable[[dict[str, str]], bool]]],
                batch_rows: int = BATCH_ROWS, progress: Callable[..., None] | None = None) -> int:
    """Stream the file once into every (store, wanted) pair; returns the number of rows read.
    `progress(rows)` is called after each batch."""
    sid_cache: list[dict[tuple[tuple[str, str], ...], int]] = [{} for _ in stores]
    csv = is_csv(path)
    batches = _Prefetch(iter_batches(path, batch_rows))
    try:
        return _fill(path, stores, batches, sid_cache, csv, progress)
    finally:
        batches.close()  # the worker ends before this returns or raises, even when folding failed


def _fill(path: Path, stores: list[tuple[SampleStore, Callable[[dict[str, str]], bool]]], batches: _Prefetch,
          sid_cache: list[dict[tuple[tuple[str, str], ...], int]], csv: bool,
          progress: Callable[..., None] | None) -> int:
    rows = 0
    for labels, inverse, ts, vs in batches:
        offset = rows
        rows += int(ts.size)
        if progress is not None:
            progress(int(ts.size))
        small = inverse.astype(np.int16) if len(labels) < 32768 else inverse  # radix sort for small ints
        order = np.argsort(small, kind="stable")
        inv_sorted = inverse[order]
        bounds = np.flatnonzero(np.diff(inv_sorted)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [inv_sorted.size]))
        local = inv_sorted[starts].tolist()  # the batch's series of each segment
        ts_s, vs_s = ts[order], vs[order]  # one gather per batch; each series is then a slice of them
        done: set[int] = set()  # stores that folded the whole batch at once
        if ts.size < SHORT_SEGMENTS * len(local):
            done = _fill_batch(stores, sid_cache, labels, local, starts, ends, ts_s, vs_s, order, offset)
            if len(done) == len(stores):
                continue
        for lab_i, a, b in zip(local, starts.tolist(), ends.tolist(), strict=True):
            if a == b:
                continue
            lab = labels[lab_i]
            key = tuple(sorted(lab.items()))
            for i, ((store, wanted), cache) in enumerate(zip(stores, sid_cache, strict=True)):
                if i in done:
                    continue
                sid = cache.get(key)
                if sid is None:
                    sid = store.series_id(lab) if wanted(lab) else -1
                    cache[key] = sid
                if sid < 0:
                    continue
                try:
                    store.add(sid, ts_s[a:b], vs_s[a:b], order[a:b], offset)
                except SampleError as exc:
                    raise _sample_error(exc, str(path), csv) from None
                except ValueError as exc:
                    raise InputError(f"{exc}; sort the export by series then time, or by time", str(path)) from None
    return rows


SHORT_SEGMENTS = 1024  # mean rows per series and batch under which the batch is folded at once (measured:
# faster at 450 rows, slightly slower at 1500)


def _fill_batch(stores: list[tuple[SampleStore, Callable[[dict[str, str]], bool]]],
                sid_cache: list[dict[tuple[tuple[str, str], ...], int]], labels: list[dict[str, str]],
                local: list[int], starts: np.ndarray, ends: np.ndarray, ts_s: np.ndarray, vs_s: np.ndarray,
                order: np.ndarray, offset: int) -> set[int]:
    """Fold a batch of many short series with `SampleStore.add_segments`; returns the stores (indices) that
    took it. The others get the batch series by series (`add` drops, keeps or names bad rows)."""
    lengths = ends - starts
    plans = []
    for (store, wanted), cache in zip(stores, sid_cache, strict=True):
        sids = []
        for lab_i in local:
            lab = labels[lab_i]
            key = tuple(sorted(lab.items()))
            sid = cache.get(key)
            if sid is None:
                sid = store.series_id(lab) if wanted(lab) else -1
                cache[key] = sid
            sids.append(sid)
        plans.append(np.asarray(sids, dtype=np.int64))
    done: set[int] = set()
    for i, ((store, _wanted), seg_sid) in enumerate(zip(stores, plans, strict=True)):
        take = (seg_sid >= 0) & (lengths > 0)
        if not take.any():
            done.add(i)
            continue
        if take.all():
            ok = store.add_segments(seg_sid, lengths, ts_s, vs_s, order, offset)
        else:
            mask = np.repeat(take, lengths)
            ok = store.add_segments(seg_sid[take], lengths[take], ts_s[mask], vs_s[mask], order[mask], offset)
        if ok:
            done.add(i)
    return done


def _sample_error(exc: SampleError, file: str, csv: bool) -> InputError:
    """Name the rows of a SampleError: CSV lines (header = line 1) or Parquet rows (1-based)."""
    rows = [r for r in exc.rows if r is not None]
    if not rows:
        return final_error(exc.message, file)
    if csv:  # the position names the last row; the message names the other one
        if len(rows) == 1:
            return final_error(exc.message, file, rows[0] + 2)
        return final_error(f"lines {rows[0] + 2} and {rows[1] + 2}: {exc.message}", file, rows[-1] + 2)
    where = " and ".join(f"row {r + 1}" for r in rows)
    return final_error(f"Parquet {where}: {exc.message}", file)
