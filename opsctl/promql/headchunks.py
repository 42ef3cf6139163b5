"""Counter-reset hints of native-histogram samples as Prometheus 3 reads them back from its TSDB head.

promtool `test rules` (and promqltest) append the input series into a TSDB head and query them back.
A raw histogram sample read back from a chunk carries its hint from the chunk, not the hint it was
appended with (tsdb/chunkenc counterResetHint): every sample of a gauge-histogram chunk is a gauge, the
first sample of a counter-histogram chunk is `unknown` (3.16 gives `unknown` even for a chunk started by
a counter reset), every later one `not_reset`. So the hints follow from where the head cuts chunks, which
this module reproduces (tsdb/head_append.go: memSeries.appendFloatHistogram and
histogramsAppendPreprocessor; tsdb/chunkenc/float_histogram.go: AppendFloatHistogram, appendable,
appendableGauge). promqltest loads float histograms, so the chunks are float-histogram chunks. A new
chunk is cut

- for the first histogram after a float sample (another chunk encoding) or the first of the series;
- when the sample is not appendable: a counter reset (count, zero count or a bucket going down, a bucket
  disappearing, other custom bounds, an explicit `counter_reset_hint:reset`), another schema or zero
  threshold, the previous sample a stale marker, a gauge after counters or a counter after gauges;
- by size and time: once the chunk has 256 bytes an end time is predicted so that the chunks of the
  head's chunk range (24h in promtool's test storage) come out about 1024 bytes, and the chunk is cut at
  that time, or at 2048 bytes, but not before it holds 10 samples (unless the chunk range ends); the chunk
  range boundary itself always cuts. The sizes are the encoded bit lengths (varbit timestamps,
  Gorilla XOR values, the layout in the first sample; a recode when new buckets appear).

A float stale marker appended to a histogram series is stored as a stale histogram (headAppender.Append).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

from opsctl.promql.histogram import CounterResetHint, FloatHistogram, Span, is_custom_buckets_schema
from opsctl.promql.notation import is_stale

__all__ = ["HeadSeries", "assign_hints"]

CHUNK_RANGE_MS = 24 * 3600 * 1000  # teststorage.New: MinBlockDuration 24h -> head chunk range
TARGET_BYTES = 1024  # chunkenc.TargetBytesPerHistogramChunk
MIN_SAMPLES = 10  # chunkenc.MinSamplesPerHistogramChunk
HEADER_BYTES = 3  # histogramHeaderSize


_PACK_D = struct.Struct("<d").pack


def _bits_of(x: float) -> int:
    return int.from_bytes(_PACK_D(x), "little")


def _bit_range(x: int, n: int) -> bool:
    return -((1 << (n - 1)) - 1) <= x <= (1 << (n - 1))


_VARBIT = ((3, 5), (6, 9), (9, 13), (12, 17), (18, 24), (25, 32), (56, 64))


def _varbit_int(x: int) -> int:
    if x == 0:
        return 1
    for n, size in _VARBIT:
        if _bit_range(x, n):
            return size
    return 72


def _varbit_uint(x: int) -> int:
    if x == 0:
        return 1
    for n, size in _VARBIT:
        if x < (1 << n):
            return size
    return 72


def _zero_threshold_bits(zt: float) -> int:
    if zt == 0:
        return 8
    frac, exp = math.frexp(zt)
    return 8 if frac == 0.5 and -242 <= exp <= 11 else 72


def _custom_bound_bits(f: float) -> int:
    tf = f * 1000
    if tf < 0 or tf > 33554430 or not math.isfinite(tf) or float(round(tf)) / 1000 != f:
        return 65
    return _varbit_uint(round(tf) + 1)


def _spans_bits(spans: list[Span]) -> int:
    return _varbit_uint(len(spans)) + sum(_varbit_uint(s.length) + _varbit_int(s.offset) for s in spans)


def _indices(spans: list[Span]) -> list[int]:
    out: list[int] = []
    idx = 0
    for s in spans:
        idx += s.offset
        out.extend(range(idx, idx + s.length))
        idx += s.length
    return out


def _spans_of(indices: list[int]) -> list[Span]:
    spans: list[Span] = []
    last = 0
    for i in indices:
        if spans and i == last + 1:
            spans[-1].length += 1
        else:
            spans.append(Span(i - last - 1 if spans else i, 1))
        last = i
    return spans


class _Xor:
    """Gorilla XOR state of one field (xorValue: value, leading, trailing)."""

    __slots__ = ("leading", "trailing", "value")

    def __init__(self, value: float) -> None:
        self.value = _bits_of(value)
        self.leading = 0xFF
        self.trailing = 0

    def write(self, v: float) -> int:
        """Bits xorWrite emits for v, updating the state."""
        new = int.from_bytes(_PACK_D(v), "little")
        delta = new ^ self.value
        self.value = new
        if delta == 0:
            return 1
        lead = min(64 - delta.bit_length(), 31)
        trail = (delta & -delta).bit_length() - 1
        if self.leading != 0xFF and lead >= self.leading and trail >= self.trailing:
            return 2 + 64 - self.leading - self.trailing
        self.leading, self.trailing = lead, trail
        return 13 + 64 - lead - trail


@dataclass
class _Sample:
    t: int
    count: float
    zero_count: float
    sum: float
    pos: list[float]  # aligned with the chunk layout (empty for a stale marker)
    neg: list[float]
    stale: bool


@dataclass
class _Chunk:
    min_time: int
    gauge: bool = False
    schema: int = 0
    zt: float = 0.0
    custom: list[float] = field(default_factory=list)
    pidx: list[int] = field(default_factory=list)
    nidx: list[int] = field(default_factory=list)
    pspans: list[Span] = field(default_factory=list)  # as written in the layout
    nspans: list[Span] = field(default_factory=list)
    samples: list[_Sample] = field(default_factory=list)
    bits: int = 0
    t: int = 0
    t_delta: int = 0
    cnt: _Xor | None = None
    zcnt: _Xor | None = None
    sm: _Xor | None = None
    pb: list[_Xor] = field(default_factory=list)
    nb: list[_Xor] = field(default_factory=list)

    def nbytes(self) -> int:
        return HEADER_BYTES + (self.bits + 7) // 8

    @property
    def last(self) -> _Sample:
        return self.samples[-1]

    def append(self, s: _Sample) -> None:
        """appendFloatHistogram: the sample's buckets are already aligned with the layout."""
        if not self.samples:
            bits = _zero_threshold_bits(self.zt) + _varbit_int(self.schema)
            bits += _spans_bits(self.pspans) + _spans_bits(self.nspans)
            if is_custom_buckets_schema(self.schema):
                bits += _varbit_uint(len(self.custom)) + sum(_custom_bound_bits(c) for c in self.custom)
            bits += _varbit_int(s.t) + 64 * (3 + len(s.pos) + len(s.neg))
            self.cnt, self.zcnt, self.sm = _Xor(s.count), _Xor(s.zero_count), _Xor(s.sum)
            self.pb = [_Xor(v) for v in s.pos]
            self.nb = [_Xor(v) for v in s.neg]
            self.t_delta = 0
        else:
            assert self.cnt is not None and self.zcnt is not None and self.sm is not None
            t_delta = s.t - self.t
            bits = _varbit_int(t_delta - self.t_delta)
            self.t_delta = t_delta
            bits += self.cnt.write(s.count) + self.zcnt.write(s.zero_count) + self.sm.write(s.sum)
            for x, v in zip(self.pb, s.pos, strict=False):
                bits += x.write(v)
            for x, v in zip(self.nb, s.neg, strict=False):
                bits += x.write(v)
        self.t = s.t
        self.bits += bits
        self.samples.append(s)

    def recode(self, pidx: list[int], nidx: list[int]) -> None:
        """Re-encode every sample with the wider layout (new buckets 0)."""
        old = self.samples
        op, on = self.pidx, self.nidx
        self.pidx, self.nidx = pidx, nidx
        self.pspans, self.nspans = _spans_of(pidx), _spans_of(nidx)
        self.samples, self.bits = [], 0
        for s in old:
            if not s.stale:
                s = _Sample(s.t, s.count, s.zero_count, s.sum, _widen(op, s.pos, pidx), _widen(on, s.neg, nidx), False)
            self.append(s)


def _widen(idx: list[int], vals: list[float], target: list[int]) -> list[float]:
    m = dict(zip(idx, vals, strict=True))
    return [m.get(i, 0.0) for i in target]


def _range_end(t: int) -> int:
    """rangeForTimestamp: the end of t's chunk range."""
    return (t // CHUNK_RANGE_MS) * CHUNK_RANGE_MS + CHUNK_RANGE_MS


def _chunk_end_time(start: int, cur: int, mx: int, ratio: float) -> int:
    n = (mx - start) / ((cur - start + 1) * ratio)
    if n <= 1:
        return mx
    return int(start + (mx - start) / math.floor(n))


class HeadSeries:
    """One series' head state; `append` returns the value as it reads back (a histogram with the hint
    of its place in the chunks)."""

    def __init__(self) -> None:
        self.chunk: _Chunk | None = None  # the open float-histogram chunk (None: none, or a float chunk)
        self.float_chunk = False  # the head chunk holds floats
        self.last_hist = False  # s.lastFloatHistogramValue != nil
        self.next_at = 0
        self.computed_end = False  # histogramChunkHasComputedEndTime
        self.max_time: int | None = None

    def append(self, t: int, v: Any) -> Any:
        if self.max_time is not None and t <= self.max_time:
            return v  # out of order or duplicate: the caller rejects or drops it
        if isinstance(v, FloatHistogram):
            hint = self._append_hist(t, v)
            if v.counter_reset_hint == hint:
                return v
            out = v.copy()
            out.counter_reset_hint = hint
            return out
        if is_stale(v) and self.last_hist:
            self._append_hist(t, None)
            return v
        # A float: the head chunk becomes (or stays) a float chunk.
        self.max_time = t
        self.float_chunk = True
        self.chunk = None
        self.last_hist = False
        return v

    def _cut(self, t: int) -> _Chunk:
        self.chunk = _Chunk(min_time=t)
        self.float_chunk = False
        self.next_at = _range_end(t)
        return self.chunk

    def _append_hist(self, t: int, h: FloatHistogram | None) -> CounterResetHint:
        """memSeries.appendFloatHistogram; h None: a stale marker."""
        self.max_time = t
        self.last_hist = True
        # histogramsAppendPreprocessor
        created = False
        c = self.chunk
        if c is None:
            c = self._cut(t)
            created = True
        num = len(c.samples)
        nbytes = c.nbytes()
        if num == 0:
            c.min_time = t
            self.next_at = _range_end(t)
        next_range_start = _range_end(c.min_time) if self.computed_end else self.next_at
        if not self.computed_end and nbytes >= TARGET_BYTES // 4:
            self.next_at = _chunk_end_time(c.min_time, c.t, self.next_at, TARGET_BYTES / nbytes)
            self.computed_end = True
        if (t >= self.next_at or nbytes >= 2 * TARGET_BYTES) and (num >= MIN_SAMPLES or t >= next_range_start):
            c = self._cut(t)
            created = True
        if created:
            self.computed_end = False
        # FloatHistogramAppender.AppendFloatHistogram
        gauge = h is not None and h.counter_reset_hint == CounterResetHint.GAUGE
        if not c.samples:
            self._first(c, t, h, gauge)
        elif not gauge:
            if not self._append_counter(c, t, h):
                c = _Chunk(min_time=t)
                self.chunk = c
                self.next_at = _range_end(t)
                self._first(c, t, h, False)
        elif not self._append_gauge(c, t, h):
            c = _Chunk(min_time=t)
            self.chunk = c
            self.next_at = _range_end(t)
            self._first(c, t, h, True)
        if c.gauge:
            return CounterResetHint.GAUGE
        return CounterResetHint.UNKNOWN if len(c.samples) == 1 else CounterResetHint.NOT_COUNTER_RESET

    @staticmethod
    def _first(c: _Chunk, t: int, h: FloatHistogram | None, gauge: bool) -> None:
        c.gauge = gauge
        if h is None:
            c.append(_Sample(t, 0.0, 0.0, math.nan, [], [], True))
            return
        c.schema, c.zt, c.custom = h.schema, h.zero_threshold, list(h.custom_values)
        c.pspans = [Span(s.offset, s.length) for s in h.positive_spans]
        c.nspans = [Span(s.offset, s.length) for s in h.negative_spans]
        c.pidx, c.nidx = _indices(h.positive_spans), _indices(h.negative_spans)
        c.append(_Sample(t, h.count, h.zero_count, h.sum, list(h.positive_buckets), list(h.negative_buckets), False))

    def _append_counter(self, c: _Chunk, t: int, h: FloatHistogram | None) -> bool:
        """appendable + append; False: a new chunk is needed."""
        if c.gauge:
            return False
        if h is None:
            c.append(_Sample(t, 0.0, 0.0, math.nan, [], [], True))
            return True
        if h.counter_reset_hint == CounterResetHint.COUNTER_RESET:
            return False
        last = c.last
        if last.stale:
            return False
        if h.count < last.count:
            return False
        if h.schema != c.schema or h.zero_threshold != c.zt:
            return False
        if is_custom_buckets_schema(h.schema) and not _bounds_match(h.custom_values, c.custom):
            return False
        if h.zero_count < last.zero_count:
            return False
        hp, hn = _indices(h.positive_spans), _indices(h.negative_spans)
        pidx = _merge_counter(c.pidx, last.pos, hp, h.positive_buckets)
        nidx = _merge_counter(c.nidx, last.neg, hn, h.negative_buckets)
        if pidx is None or nidx is None:
            return False
        if pidx != c.pidx or nidx != c.nidx:
            c.recode(pidx, nidx)
        pos = list(h.positive_buckets) if hp == c.pidx else _widen(hp, list(h.positive_buckets), c.pidx)
        neg = list(h.negative_buckets) if hn == c.nidx else _widen(hn, list(h.negative_buckets), c.nidx)
        c.append(_Sample(t, h.count, h.zero_count, h.sum, pos, neg, False))
        return True

    def _append_gauge(self, c: _Chunk, t: int, h: FloatHistogram | None) -> bool:
        if not c.gauge:
            return False
        assert h is not None
        last = c.last
        if last.stale:
            return False
        if h.schema != c.schema or h.zero_threshold != c.zt:
            return False
        if is_custom_buckets_schema(h.schema) and not _bounds_match(h.custom_values, c.custom):
            return False
        hp, hn = _indices(h.positive_spans), _indices(h.negative_spans)
        pidx = sorted(set(c.pidx) | set(hp))
        nidx = sorted(set(c.nidx) | set(hn))
        if pidx != c.pidx or nidx != c.nidx:
            c.recode(pidx, nidx)
        c.append(_Sample(t, h.count, h.zero_count, h.sum, _widen(hp, list(h.positive_buckets), c.pidx),
                         _widen(hn, list(h.negative_buckets), c.nidx), False))
        return True


def _bounds_match(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


def _merge_counter(aidx: list[int], avals: list[float], bidx: list[int], bvals: list[float]) -> list[int] | None:
    """expandFloatSpansAndBuckets: the chunk layout widened by b's new buckets, or None for a reset (a
    bucket went down, or one in use is missing in b)."""
    if aidx == bidx:  # the same layout: a reset if a bucket went down
        return None if any(a > b for a, b in zip(avals, bvals, strict=True)) else aidx
    b = dict(zip(bidx, bvals, strict=True))
    for i, av in zip(aidx, avals, strict=True):
        bv = b.get(i)
        if bv is None:
            if av != 0:
                return None
        elif av > bv:
            return None
    aset = set(aidx)
    if all(i in aset for i in bidx):
        return aidx
    return sorted(set(aidx) | set(bidx))


def assign_hints(samples: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """One series' samples (time ms ascending, floats or FloatHistograms) with the histograms' hints as
    Prometheus 3's TSDB head gives them back."""
    if not any(isinstance(v, FloatHistogram) for _, v in samples):
        return samples
    head = HeadSeries()
    return [(t, head.append(t, v)) for t, v in samples]
