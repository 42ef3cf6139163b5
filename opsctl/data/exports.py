"""Exported time series: Prometheus `query_range` JSON, CSV and Parquet.

Every reader returns `list[Series]`, one per distinct label set, samples sorted by time.

Formats
- Prometheus JSON: the body of `/api/v1/query_range` (`{"status": "success", "data": {"resultType":
  "matrix", "result": [{"metric": {...}, "values": [[ts, "v"], ...]}]}}`), its `data` object, or the
  bare `result` list; instant-vector results (`"value": [ts, "v"]`) are accepted too. Native histograms
  (`"histograms": [[ts, {...}], ...]` / `"histogram": [ts, {...}]`, alone or next to float samples) are
  read by opsctl.promql.promjson.samples_from_result_item into `Series.histograms` when the caller
  asks for them (`histograms=True`: `rules backtest`); other readers get an error naming the series, as
  their float-only consumers (detectors, SLO reports) cannot use them.
- CSV / Parquet, long format: a `timestamp` column (Unix seconds, milliseconds are detected, or
  ISO-8601 / "YYYY-MM-DD HH:MM:SS" taken as UTC), a `value` column, and any other columns as labels;
  a column named `__name__`, `metric` or `name` gives the metric name.
- CSV / Parquet, wide format (no `value` column): every column besides `timestamp` is one series whose
  metric name is the column name.
A series without a metric name gets `default_name` (the file's stem unless given).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opsctl.errors import InputError

NAME_COLUMNS = ("__name__", "metric", "name")
TIME_COLUMNS = ("timestamp", "time", "ts")


@dataclass
class Series:
    """One time series: labels (including `__name__`), sample times in Unix seconds, float values.

    `histograms` (JSON exports only): None for a float-only series, else an object array aligned with
    `timestamps` holding a native histogram (opsctl.promql.histogram.FloatHistogram) at each histogram
    sample, whose `values` entry is then NaN, and None at each float sample."""

    labels: dict[str, str]
    timestamps: np.ndarray
    values: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)
    histograms: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.labels.get("__name__", "")

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


def read_export(path: str | Path, fmt: str | None = None, default_name: str | None = None,
                histograms: bool = False) -> list[Series]:
    """Read an export file; `fmt` is json, csv or parquet (guessed from the suffix when None).
    histograms=True: native histograms of a JSON export are read (else they are an InputError)."""
    p = Path(path)
    kind = (fmt or _guess_format(p)).lower()
    name = default_name if default_name is not None else p.stem.split(".")[0]
    if not p.exists():
        raise InputError("no such file", str(p))
    if p.is_dir():
        raise InputError("is a directory", str(p))
    if kind == "json":
        return _read_json(p, name, histograms)
    if kind == "csv":
        try:
            frame = _read_csv(p)
            return series_from_frame(frame, str(p), name)
        except UnicodeDecodeError:  # from the parser or from string columns built later
            raise _not_utf8(p) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"invalid CSV: {_first_line(exc)}", str(p)) from None
    if kind == "parquet":
        return _read_parquet(p, name)
    raise InputError(f"unknown export format {kind!r} (expected json, csv or parquet)", str(p))


def _read_csv(p: Path) -> pd.DataFrame:
    """Read a CSV with pyarrow's parser where it can (much faster), pandas' otherwise.

    Label columns stay strings (an empty cell is the empty label value, as in Prometheus); the time
    and value columns are parsed by the frame reader below.
    """
    header = pd.read_csv(p, nrows=0).columns
    lower = {str(c).strip().lower() for c in header}
    label_cols = [c for c in header if str(c).strip().lower() not in (*TIME_COLUMNS, "value")]
    # Label columns as text, as written ("00" stays "00"; pyarrow's category reading would infer numbers).
    dtypes: dict[str, Any] = {c: str for c in label_cols} if "value" in lower else {}
    try:
        return pd.read_csv(p, dtype=dtypes, keep_default_na=False, na_values=[], engine="pyarrow")
    except (ValueError, TypeError, ImportError):
        return pd.read_csv(p, dtype=str, keep_default_na=False)


def _label_groups(frame: pd.DataFrame, label_cols: list[Any]) -> list[tuple[tuple[str, ...], np.ndarray | slice]]:
    """Rows grouped by their label values (each value as str(), as `astype(str)` gives), groups sorted by
    those values. Works on integer codes per column (categorical columns cost nothing more), so that a
    long export needs no Python string per row; rows of one series that are contiguous (the usual
    export) are taken as slices without sorting."""
    key = np.zeros(len(frame), dtype=np.int64)
    col_codes: list[np.ndarray] = []
    names: list[list[str]] = []
    span = 1
    for col in label_cols:
        series = frame[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            c = series.cat.codes.to_numpy()
            text = [str(u) for u in series.cat.categories]
            if (c < 0).any():  # missing values: astype(str) makes them "nan"
                c = np.where(c < 0, len(text), c)
                text.append("nan")
        else:
            c, uniques = pd.factorize(series, use_na_sentinel=False)
            text = [str(u) for u in uniques]
        n = max(1, len(text))
        names.append(text)
        col_codes.append(c)
        if span * n >= 2**62:  # too many combinations for one int64: renumber the key so far
            _, key = np.unique(key, return_inverse=True)
            span = int(key.max(initial=0)) + 1
        key *= n
        key += c
        span *= n
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    run_keys = key[starts]
    if len(np.unique(run_keys)) == len(run_keys):  # each series' rows are contiguous
        ends = np.r_[starts[1:], len(key)]
        parts: list[tuple[int, np.ndarray | slice]] = [
            (a, slice(a, b)) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    else:
        order = np.argsort(key, kind="stable")
        sk = key[order]
        bounds = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1], True])
        parts = [(int(order[a]), order[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    del key
    out = [(tuple(names[j][int(col_codes[j][first])] for j in range(len(label_cols))), idx) for first, idx in parts]
    out.sort(key=lambda item: item[0])
    return out


def _read_parquet(p: Path, name: str) -> list[Series]:
    """A Parquet export, read in batches of rows (memory: the series plus one batch), label columns
    dictionary-encoded; series split over batches are joined in time order."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p, read_dictionary=_parquet_label_columns(p), pre_buffer=False, buffer_size=1 << 20)
        rows = pf.metadata.num_rows
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise InputError(f"invalid Parquet: {_first_line(exc)}", str(p)) from None
    if rows <= _PARQUET_BATCH:
        try:
            frame = pf.read().to_pandas()
        except Exception as exc:
            raise InputError(f"invalid Parquet: {_first_line(exc)}", str(p)) from None
        return series_from_frame(frame, str(p), name)
    parts: dict[tuple[str, ...], list[Series]] = {}
    offset = 0
    batches = pf.iter_batches(batch_size=_PARQUET_BATCH, use_threads=False)
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                break
            frame = batch.to_pandas()
        except Exception as exc:
            raise InputError(f"invalid Parquet: {_first_line(exc)}", str(p)) from None
        del batch
        try:
            got = _keyed_series(frame, str(p), name)
        except InputError as exc:  # rows are numbered over the whole file
            line = exc.position.line
            raise InputError(exc.message, exc.file, line + offset if line > 1 else line, exc.position.column) from None
        offset += len(frame)
        del frame
        for key, s in got:
            # Own copies, so that the batch's arrays are freed now rather than after the merge.
            parts.setdefault(key, []).append(Series(s.labels, s.timestamps.copy(), s.values.copy()))
        del got
    _release_arrow_memory()
    out = []
    for key in sorted(parts):
        got_parts = parts.pop(key)
        if len(got_parts) == 1:
            out.append(got_parts[0])
            continue
        ts = np.concatenate([s.timestamps for s in got_parts])
        vs = np.concatenate([s.values for s in got_parts])
        out.append(_make(got_parts[0].labels, ts, vs))
    return out


_PARQUET_BATCH = 1 << 17


def _release_arrow_memory() -> None:
    """Give the memory pyarrow's pool keeps after a read back to the system (long exports)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _parquet_label_columns(p: Path) -> list[str] | None:
    """String columns of a long-format Parquet file besides time and value, read dictionary-encoded (as
    categories: one code per row instead of one Python string)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(p)
    except Exception:  # the read below reports a broken file
        return None
    names = {n.strip().lower() for n in schema.names}
    if "value" not in names:
        return None
    return [f.name for f in schema if f.name.strip().lower() not in (*TIME_COLUMNS, "value")
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))] or None


def _guess_format(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in (".json",):
        return "json"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise InputError("cannot tell the export format from the file name; use .json, .csv or .parquet", str(p))


def _not_utf8(p: Path) -> InputError:
    """The error for a text file that is not UTF-8, at the line and column of its first bad byte."""
    data = p.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8", str(p), line,
                          column)
    return InputError("not UTF-8 text", str(p))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_json(p: Path, default_name: str, histograms: bool = False) -> list[Series]:
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", str(p), exc.lineno, exc.colno) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", str(p)) from None
    return series_from_prometheus_json(doc, str(p), default_name, histograms)


def series_from_prometheus_json(doc: Any, filename: str = "<json>", default_name: str = "",
                                histograms: bool = False) -> list[Series]:
    """Series from a Prometheus API response body (or its `data`, or its `result` list). Native histogram
    samples (`histograms` / `histogram`) are read with histograms=True, else an InputError."""
    if isinstance(doc, dict) and "status" in doc:
        if doc.get("status") != "success":
            raise InputError(f"Prometheus response status {doc.get('status')!r}: {doc.get('error', '')}", filename)
        doc = doc.get("data")
    elif isinstance(doc, dict) and "data" in doc and "result" not in doc:
        doc = doc["data"]
    if isinstance(doc, dict):
        if doc.get("resultType") not in ("matrix", "vector", None):
            raise InputError(f"unsupported resultType {doc.get('resultType')!r}", filename)
        doc = doc.get("result")
    if not isinstance(doc, list):
        raise InputError("expected a Prometheus query_range response (data.result list)", filename)
    from opsctl.promql.promjson import samples_from_result_item

    merged: dict[tuple[tuple[str, str], ...], tuple[list[float], list[float], list[Any]]] = {}
    for i, item in enumerate(doc):
        if not isinstance(item, dict) or not isinstance(item.get("metric", {}), dict):
            raise InputError(f"result[{i}]: expected an object with 'metric' and 'values'", filename)
        labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
        if "__name__" not in labels and default_name:
            labels["__name__"] = default_name
        for field_name, single in (("values", "value"), ("histograms", "histogram")):
            if item.get(field_name) is not None and not isinstance(item[field_name], list):
                raise InputError(f"result[{i}]: '{field_name}' must be a list of [time, value] pairs", filename)
            if single in item and not isinstance(item[single], list):
                raise InputError(f"result[{i}]: '{single}' must be a [time, value] pair", filename)
        if not any(k in item for k in ("values", "value", "histograms", "histogram")):
            raise InputError(f"result[{i}]: no 'values', 'value', 'histograms' or 'histogram'", filename)
        if not histograms and (item.get("histograms") or "histogram" in item):
            raise InputError(f"result[{i}]: native histogram samples ('histograms'), which this command does not "
                             "read (only float series; query e.g. histogram_quantile(...) or histogram_count(...))",
                             filename)
        try:
            t_got, v_got, h_got = samples_from_result_item(item)
        except ValueError as exc:
            raise InputError(f"result[{i}].{exc}", filename) from None
        key = tuple(sorted(labels.items()))
        ts, vs, hs = merged.setdefault(key, ([], [], []))
        ts.extend(t_got)
        vs.extend(v_got)
        hs.extend(h_got)
    out = []
    for key, (ts, vs, hs) in merged.items():
        harr: np.ndarray | None = None
        if any(h is not None for h in hs):
            harr = np.empty(len(hs), dtype=object)
            harr[:] = hs
        out.append(_make(dict(key), np.asarray(ts, dtype=np.float64), np.asarray(vs, dtype=np.float64), harr))
    return out


def _float(v: Any) -> float:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("+inf", "inf"):
            return float("inf")
        if low == "-inf":
            return float("-inf")
        if low == "nan":
            return float("nan")
    return float(v)


def _make(labels: dict[str, str], ts: np.ndarray, vs: np.ndarray, hs: np.ndarray | None = None) -> Series:
    if len(ts) < 2 or bool(np.all(ts[1:] >= ts[:-1])):
        return Series(labels, ts, vs, histograms=hs)
    order = np.argsort(ts, kind="stable")
    return Series(labels, ts[order], vs[order], histograms=hs[order] if hs is not None else None)


def parse_timestamps(col: pd.Series, filename: str) -> np.ndarray:
    """Unix seconds from a column of numbers (s or ms) or date-time strings (UTC unless zoned)."""
    numeric = pd.to_numeric(col, errors="coerce")
    if numeric.isna().any() and numeric.notna().any():  # numbers with something else among them
        row = int(np.flatnonzero(numeric.isna().to_numpy())[0])
        raise InputError(f"column 'timestamp': not a time: {str(col.iloc[row])!r}", filename, row + 2)
    if not numeric.isna().any():
        arr = numeric.to_numpy(dtype=np.float64)
        if arr.size and np.nanmax(np.abs(arr)) > 1e11:  # milliseconds since the epoch
            arr = arr / 1000.0
        return arr
    try:
        parsed = pd.to_datetime(col, utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:
        for row, text in enumerate(col.tolist()):  # name the first row that does not parse
            try:
                pd.to_datetime(text, utc=True)
            except (ValueError, TypeError, OverflowError):
                raise InputError(f"column 'timestamp': not a time: {str(text)!r}", filename, row + 2) from None
        raise InputError(f"column 'timestamp': cannot parse times ({_first_line(exc)})", filename) from None
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"column 'timestamp': empty or invalid time in data row {row + 1}", filename, row + 2)
    epoch = pd.Timestamp(0, tz="UTC")
    return (parsed - epoch).dt.total_seconds().to_numpy(dtype=np.float64)


def series_from_frame(frame: pd.DataFrame, filename: str = "<frame>", default_name: str = "") -> list[Series]:
    """Series from a long or wide DataFrame (see the module docstring)."""
    return [s for _, s in _keyed_series(frame, filename, default_name)]


def _keyed_series(frame: pd.DataFrame, filename: str, default_name: str) -> list[tuple[tuple[str, ...], Series]]:
    """series_from_frame with each series' sort key (its label columns' values, or its column name)."""
    columns = {str(c).strip().lower(): c for c in frame.columns}
    time_col = next((columns[c] for c in TIME_COLUMNS if c in columns), None)
    if time_col is None:
        raise InputError(f"no 'timestamp' column (columns: {', '.join(map(str, frame.columns))})", filename, 1)
    if frame.empty:
        return []
    ts = parse_timestamps(frame[time_col], filename)
    if "value" in columns:
        value_col = columns["value"]
        values = _values(frame[value_col], filename, str(value_col))
        label_cols = [c for c in frame.columns if c not in (time_col, value_col)]
        name_col = next((columns[c] for c in NAME_COLUMNS if c in columns and columns[c] in label_cols), None)
        if not label_cols:
            labels = {"__name__": default_name} if default_name else {}
            return [((), _make(labels, ts, values))]
        out: list[tuple[tuple[str, ...], Series]] = []
        for key_t, idx in _label_groups(frame, label_cols):
            labels = {}
            for col, val in zip(label_cols, key_t, strict=True):
                if val == "":
                    continue  # an empty label value is the same as no label in Prometheus
                labels["__name__" if col == name_col else str(col)] = str(val)
            if "__name__" not in labels and default_name:
                labels["__name__"] = default_name
            out.append((key_t, _make(labels, ts[idx], values[idx])))
        return out
    if len(frame.columns) < 2:
        raise InputError(f"no 'value' column and no other column to read values from (columns: "
                         f"{', '.join(map(str, frame.columns))})", filename, 1)
    result: list[tuple[tuple[str, ...], Series]] = []
    for col in frame.columns:
        if col == time_col:
            continue
        vals = _values(frame[col], filename, str(col))
        keep = ~np.isnan(vals)
        result.append(((str(col),), _make({"__name__": str(col)}, ts[keep], vals[keep])))
    return result


def _values(col: pd.Series, filename: str, name: str) -> np.ndarray:
    if col.dtype.kind in "fiu":
        return col.to_numpy(dtype=np.float64)
    text = col.astype(str).str.strip()
    mapped = text.str.lower().map({"+inf": "inf", "-inf": "-inf", "inf": "inf", "nan": "nan", "": "nan"})
    text = mapped.fillna(text)
    numeric = pd.to_numeric(text, errors="coerce")
    bad = numeric.isna() & (text.str.lower() != "nan")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"column {name!r}: not a number: {text.iloc[row]!r}", filename, row + 2)
    return numeric.to_numpy(dtype=np.float64)
