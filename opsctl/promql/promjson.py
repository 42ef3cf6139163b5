"""Native histograms in Prometheus's HTTP API JSON (`query` / `query_range` responses).

Prometheus writes a histogram sample as `"histogram": [t, H]` (instant vector) or `"histograms": [[t, H],
...]` (matrix) next to the float `"value"` / `"values"`, with

    H = {"count": "12", "sum": "3.4", "buckets": [[boundary_rule, "lower", "upper", "count"], ...]}

where boundary_rule is 0 for (lower, upper], 1 for [lower, upper), 2 for (lower, upper), 3 for
[lower, upper], and buckets with a zero count are left out (web/api/v1 via util/jsonutil
MarshalHistogram). The JSON has no schema: histogram_from_json() infers it from the bucket bounds
(exponential bounds are powers of 2^(2^-schema); anything else is read as custom buckets, schema -53,
whose bounds are the finite bounds seen). What the JSON cannot carry is lost: empty buckets, the
threshold of an empty zero bucket, the exact layout (spans) and the counter-reset hint.

`samples_from_result_item(item)` reads one element of `data.result` into time-sorted floats and
histograms, for export readers (backtests) to call; it lives here so that the readers only need one
call per result item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from opsctl.promql.histogram import CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span

__all__ = ["histogram_from_json", "histogram_to_json", "samples_from_result_item"]

_MIN_SCHEMA, _MAX_SCHEMA = -4, 8


def _num(v: Any) -> float:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("+inf", "inf"):
            return math.inf
        if low == "-inf":
            return -math.inf
        if low == "nan":
            return math.nan
    return float(v)


def _fmt(v: float) -> str:
    """Prometheus's float formatting in JSON (strconv 'f', -1; +Inf/-Inf/NaN)."""
    from opsctl.promql.engine import go_float

    return go_float(v)


def histogram_to_json(h: FloatHistogram) -> dict[str, Any]:
    """Prometheus's JSON object for a histogram (empty buckets left out)."""
    buckets = []
    for b in h.buckets():
        if b.count == 0:
            continue
        if b.lower_inclusive:
            rule = 3 if b.upper_inclusive else 1
        else:
            rule = 0 if b.upper_inclusive else 2
        buckets.append([rule, _fmt(b.lower), _fmt(b.upper), _fmt(b.count)])
    out: dict[str, Any] = {"count": _fmt(h.count), "sum": _fmt(h.sum)}
    if buckets:
        out["buckets"] = buckets
    return out


def _infer_schema(bounds: list[tuple[float, float]], zt: float = 0.0) -> int | None:
    """The exponential schema whose bucket bounds these (positive, finite, lower < upper) are, or None.
    A lower bound equal to the zero threshold `zt` was cut there (the bucket reaches into the zero
    bucket): only its upper bound tells the schema."""
    trimmed = [up for lo, up in bounds if zt > 0 and lo == zt]
    bounds = [(lo, up) for lo, up in bounds if not (zt > 0 and lo == zt)]
    if not bounds and trimmed:
        # Only cut buckets: the finest schema whose bucket ending at `up` starts at or below zt.
        for s in range(_MAX_SCHEMA, _MIN_SCHEMA - 1, -1):
            ok = True
            for up in trimmed:
                idx = math.log2(up) * 2.0**s
                if up <= 0 or abs(idx - round(idx)) > 1e-9 or up / 2.0 ** (2.0**-s) > zt:
                    ok = False
                    break
            if ok:
                return s
        return None
    schema: int | None = None
    for lo, up in bounds:
        if not (0 < lo < up) or math.isinf(up):
            return None
        r = math.log2(math.log2(up / lo))
        s = -round(r)
        if abs(r + s) > 1e-6 or not _MIN_SCHEMA <= s <= _MAX_SCHEMA:
            return None
        if schema is not None and s != schema:
            return None
        schema = s
        idx = math.log2(up) * 2.0**s
        if abs(idx - round(idx)) > 1e-6:
            return None
    return schema


def _spans(indexed: list[tuple[int, float]]) -> tuple[list[Span], list[float]]:
    """Spans and counts for (index, count) pairs sorted by index (gaps become new spans)."""
    spans: list[Span] = []
    counts: list[float] = []
    prev: int | None = None
    for idx, c in indexed:
        if prev is not None and idx == prev + 1:
            spans[-1].length += 1
        elif prev is None:
            spans.append(Span(idx, 1))
        elif idx - prev - 1 <= 2:  # small gaps are filled with empty buckets, like Prometheus's Compact(2)
            counts.extend([0.0] * (idx - prev - 1))
            spans[-1].length += idx - prev
        else:
            spans.append(Span(idx - prev - 1, 1))
        counts.append(c)
        prev = idx
    return spans, counts


def histogram_from_json(obj: Mapping[str, Any]) -> FloatHistogram:
    """A FloatHistogram from Prometheus's JSON histogram object. Raises ValueError on malformed input."""
    if not isinstance(obj, Mapping):
        raise ValueError("expected a histogram object with count, sum and buckets")
    try:
        count, total = _num(obj.get("count", 0)), _num(obj.get("sum", 0))
        raw = [(int(b[0]), _num(b[1]), _num(b[2]), _num(b[3])) for b in obj.get("buckets") or []]
    except (TypeError, ValueError, IndexError):
        raise ValueError("malformed histogram object (buckets are [rule, \"lower\", \"upper\", \"count\"])") from None
    h = FloatHistogram(count=count, sum=total)
    zero = [b for b in raw if b[1] <= 0 <= b[2] and not (b[1] == 0 and b[0] in (0, 2))
            and not (b[2] == 0 and b[0] in (1, 2))]
    pos = [b for b in raw if b[1] >= 0 and b not in zero]
    neg = [b for b in raw if b[2] <= 0 and b not in zero]
    zt = max((max(abs(b[1]), abs(b[2])) for b in zero), default=0.0)
    schema = _infer_schema([(lo, up) for _, lo, up, _ in pos] + [(-up, -lo) for _, lo, up, _ in neg], zt)
    custom = (schema is None and bool(pos or neg)) or any(math.isinf(b[1]) or math.isinf(b[2]) for b in raw)
    if custom:
        bounds = sorted({v for _, lo, up, _ in raw for v in (lo, up) if math.isfinite(v)})
        h.schema = CUSTOM_BUCKETS_SCHEMA
        h.custom_values = bounds
        where = {v: i for i, v in enumerate(bounds)}
        indexed = sorted((where[up] if math.isfinite(up) else len(bounds), c) for _, _, up, c in raw)
        h.positive_spans, h.positive_buckets = _spans(indexed)
        return h
    h.schema = schema if schema is not None else 0
    scale = 2.0**h.schema
    if zero:
        (_, lo, up, c), = zero[:1]
        h.zero_threshold, h.zero_count = max(abs(lo), abs(up)), c
    h.positive_spans, h.positive_buckets = _spans(sorted((round(math.log2(up) * scale), c) for _, _, up, c in pos))
    h.negative_spans, h.negative_buckets = _spans(sorted((round(math.log2(-lo) * scale), c) for _, lo, _, c in neg))
    return h


def samples_from_result_item(item: Mapping[str, Any]) -> tuple[list[float], list[float], list[FloatHistogram | None]]:
    """(times in seconds, float values, histograms) of one `data.result` element, merged and sorted by
    time: `values`/`value` give floats (histogram None), `histograms`/`histogram` give histograms (value
    NaN). Raises ValueError on malformed pairs."""
    pairs: list[tuple[float, float, FloatHistogram | None]] = []
    floats = item.get("values")
    if floats is None and "value" in item:
        floats = [item["value"]]
    hists = item.get("histograms")
    if hists is None and "histogram" in item:
        hists = [item["histogram"]]
    for j, pair in enumerate(floats or []):
        try:
            t, v = pair
            pairs.append((float(t), _num(v), None))
        except (TypeError, ValueError):
            raise ValueError(f"values[{j}]: expected [time, \"value\"]") from None
    for j, pair in enumerate(hists or []):
        try:
            t, hobj = pair
            pairs.append((float(t), math.nan, histogram_from_json(hobj)))
        except (TypeError, ValueError):
            raise ValueError(f"histograms[{j}]: expected [time, {{count, sum, buckets}}]") from None
    pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]
