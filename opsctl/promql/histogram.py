"""Native (sparse) histograms: the float histogram arithmetic of Prometheus 3.5.

A port of Prometheus's `model/histogram/float_histogram.go` and `generic.go` (bucket layout, add, sub,
mul, div, compact, counter-reset detection, equality, the promqltest `{{...}}` text of a histogram) and
of the native-histogram parts of `promql/quantile.go` and `promql/functions.go` (histogram_quantile,
histogram_fraction, histogram_stddev, histogram_stdvar). Pure Python and `math` only; no engine import.

Differences from the Go API, on purpose:
- every method returns a new histogram and leaves `self` and its argument unchanged (Go's `Add`, `Sub`,
  `Mul`, `Div` and `Compact` change the receiver in place);
- an incompatible schema mix or custom bounds mismatch raises `HistogramError` (a subclass per case)
  where Go returns `ErrHistogramsIncompatibleSchema` / `ErrHistogramsIncompatibleBounds`; layouts on
  which Prometheus panics raise `HistogramError` too;
- the version-dependent parts are arguments: `reconcile=True` (add, sub, kahan_add, detect_reset and
  the sum/mean helpers) is Prometheus >= 3.8, which reconciles custom bounds that differ (Go returns the
  `nhcbBoundsReconciled` flag for an info annotation; not here) instead of failing (3.0 to 3.7).

Results are Prometheus 3.5.0's bit for bit (tests/promql/test_histogram_oracle.py runs Prometheus's own
code on random histograms): interpolations use ports of Go's math.Log2 / math.Exp2, and three quirks of
3.5 are kept because results must match: Compact with max_empty_buckets > 0 misplaces the buckets after
two span merges in a row (so TestExpression, which compacts that way, can print buckets one place off
for histograms of three or more spans; PromQL itself compacts with 0, which is exact; fixed upstream by
prometheus/prometheus #19312, as promtool 3.16 prints: `compact(..., exact=True)`,
`test_expression(exact=True)`); DetectReset checks
only the previous bucket in hand once the current histogram's buckets run out; histogram_quantile of a
histogram with a NaN sum interpolates in the last bucket when more buckets follow the one found.

Bucket indices: bucket `i` of an exponential schema `s` holds observations in
(2^((i-1) * 2^-s), 2^(i * 2^-s)] (mirrored for negative buckets); with the custom-buckets schema (-53,
"NHCB") bucket `i` is (custom_values[i-1], custom_values[i]] with -Inf / +Inf at the ends.
"""

from __future__ import annotations

import enum
import math
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

CUSTOM_BUCKETS_SCHEMA = -53
EXPONENTIAL_SCHEMA_MIN = -4
EXPONENTIAL_SCHEMA_MAX = 8
_MAX_FLOAT = sys.float_info.max
_INF = math.inf


class CounterResetHint(enum.IntEnum):
    UNKNOWN = 0
    COUNTER_RESET = 1
    NOT_COUNTER_RESET = 2
    GAUGE = 3


class HistogramError(ValueError):
    """An operation on histograms that Prometheus refuses (it returns an error value there)."""


class IncompatibleSchemaError(HistogramError):
    """Go's ErrHistogramsIncompatibleSchema: exponential and custom-bucket histograms mixed."""

    def __init__(self) -> None:
        super().__init__(
            "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
        )


class IncompatibleBoundsError(HistogramError):
    """Go's ErrHistogramsIncompatibleBounds: custom-bucket histograms with different bounds."""

    def __init__(self) -> None:
        super().__init__("cannot apply this operation on custom buckets histograms with different custom bounds")


@dataclass(slots=True)
class Span:
    """`length` consecutive buckets, starting `offset` buckets after the previous span's end (the first
    span's offset is the index of its first bucket)."""

    offset: int
    length: int


@dataclass(slots=True)
class Bucket:
    """One bucket with its bounds (Go's `Bucket[float64]`); `index` is irrelevant for the zero bucket."""

    lower: float
    upper: float
    count: float
    lower_inclusive: bool
    upper_inclusive: bool
    index: int = 0


def is_custom_buckets_schema(schema: int) -> bool:
    return schema == CUSTOM_BUCKETS_SCHEMA


def is_exponential_schema(schema: int) -> bool:
    return EXPONENTIAL_SCHEMA_MIN <= schema <= EXPONENTIAL_SCHEMA_MAX


@dataclass(slots=True)
class FloatHistogram:
    schema: int = 0
    zero_threshold: float = 0.0
    zero_count: float = 0.0
    count: float = 0.0
    sum: float = 0.0
    positive_spans: list[Span] = field(default_factory=list)
    negative_spans: list[Span] = field(default_factory=list)
    positive_buckets: list[float] = field(default_factory=list)  # absolute counts
    negative_buckets: list[float] = field(default_factory=list)
    custom_values: list[float] = field(default_factory=list)  # bucket upper bounds when schema == -53
    counter_reset_hint: CounterResetHint = CounterResetHint.UNKNOWN

    # -- basics -------------------------------------------------------------------------------------------

    def uses_custom_buckets(self) -> bool:
        return self.schema == CUSTOM_BUCKETS_SCHEMA

    def copy(self) -> FloatHistogram:
        """A deep copy. Like Go's Copy, a custom-bucket histogram's copy drops the zero bucket and the
        negative side (unused there), an exponential one's drops custom_values."""
        custom = self.schema == CUSTOM_BUCKETS_SCHEMA
        return FloatHistogram(
            schema=self.schema,
            zero_threshold=0.0 if custom else self.zero_threshold,
            zero_count=0.0 if custom else self.zero_count,
            count=self.count,
            sum=self.sum,
            positive_spans=[Span(s.offset, s.length) for s in self.positive_spans],
            negative_spans=[] if custom else [Span(s.offset, s.length) for s in self.negative_spans],
            positive_buckets=list(self.positive_buckets),
            negative_buckets=[] if custom else list(self.negative_buckets),
            custom_values=list(self.custom_values) if custom else [],
            counter_reset_hint=self.counter_reset_hint,
        )

    def _shallow(self) -> FloatHistogram:
        """Like copy(), but sharing the span and bucket lists: for methods that replace them, never
        change them in place."""
        custom = self.schema == CUSTOM_BUCKETS_SCHEMA
        return FloatHistogram(
            schema=self.schema,
            zero_threshold=0.0 if custom else self.zero_threshold,
            zero_count=0.0 if custom else self.zero_count,
            count=self.count,
            sum=self.sum,
            positive_spans=self.positive_spans,
            negative_spans=[] if custom else self.negative_spans,
            positive_buckets=self.positive_buckets,
            negative_buckets=[] if custom else self.negative_buckets,
            custom_values=list(self.custom_values) if custom else [],
            counter_reset_hint=self.counter_reset_hint,
        )

    def equals(self, other: object) -> bool:
        """Go's Equals: same schema, thresholds, counts and sum (bit patterns: NaN equals the same NaN,
        0 differs from -0), same custom bounds, the same bucket layout (spans may differ by empty spans)
        and bucket values. The counter reset hint is not compared."""
        if not isinstance(other, FloatHistogram):
            return False
        if self.schema != other.schema or not _same_bits(self.count, other.count):
            return False
        if not _same_bits(self.sum, other.sum):
            return False
        if self.uses_custom_buckets() and not _floats_match(self.custom_values, other.custom_values):
            return False
        if self.zero_threshold != other.zero_threshold or not _same_bits(self.zero_count, other.zero_count):
            return False
        if not _spans_match(self.negative_spans, other.negative_spans):
            return False
        if not _floats_match(self.negative_buckets, other.negative_buckets):
            return False
        if not _spans_match(self.positive_spans, other.positive_spans):
            return False
        return _floats_match(self.positive_buckets, other.positive_buckets)

    def validate(self) -> None:
        """Go's Validate: raises HistogramError with Prometheus's text if the spans and buckets disagree,
        a bucket count is negative, or the custom bounds / unused fields are wrong for the schema."""
        if self.uses_custom_buckets():
            err = _check_custom_bounds(self.custom_values, self.positive_spans, len(self.positive_buckets))
            if err:
                raise HistogramError(f"custom buckets: {err}")
            if self.zero_count != 0:
                raise HistogramError("custom buckets: must have zero count of 0")
            if self.zero_threshold != 0:
                raise HistogramError("custom buckets: must have zero threshold of 0")
            if self.negative_spans:
                raise HistogramError("custom buckets: must not have negative spans")
            if self.negative_buckets:
                raise HistogramError("custom buckets: must not have negative buckets")
        else:
            for side, spans, buckets in (
                ("positive", self.positive_spans, self.positive_buckets),
                ("negative", self.negative_spans, self.negative_buckets),
            ):
                err = _check_spans(spans, len(buckets))
                if err:
                    raise HistogramError(f"{side} side: {err}")
            err = _check_buckets(self.negative_buckets)
            if err:
                raise HistogramError(f"negative side: {err}")
            if self.custom_values:
                raise HistogramError("histogram with exponential schema must not have custom bounds")
        err = _check_buckets(self.positive_buckets)
        if err:
            raise HistogramError(f"positive side: {err}")

    # -- arithmetic -----------------------------------------------------------------------------------------

    def mul(self, factor: float) -> FloatHistogram:
        """All counts (zero bucket, count, buckets) and the sum times factor; same layout."""
        h = self.copy()
        h.zero_count *= factor
        h.count *= factor
        h.sum *= factor
        h.positive_buckets = [b * factor for b in h.positive_buckets]
        h.negative_buckets = [b * factor for b in h.negative_buckets]
        return h

    def div(self, scalar: float) -> FloatHistogram:
        """All counts and the sum divided by scalar (Go float division: x/0 is ±Inf or NaN). Dividing
        by 0 removes all buckets, as Prometheus does."""
        h = self.copy()
        h.zero_count = _fdiv(h.zero_count, scalar)
        h.count = _fdiv(h.count, scalar)
        h.sum = _fdiv(h.sum, scalar)
        if scalar == 0:
            h.positive_buckets, h.negative_buckets = [], []
            h.positive_spans, h.negative_spans = [], []
            return h
        h.positive_buckets = [b / scalar for b in h.positive_buckets]
        h.negative_buckets = [b / scalar for b in h.negative_buckets]
        return h

    def add(self, other: FloatHistogram, reconcile: bool = False) -> FloatHistogram:
        """self + other (Go's Add): the result takes the lower of both schemas and the larger zero bucket;
        the counter reset hint follows Prometheus's rules. The result may hold empty buckets or adjacent
        spans; call compact() to normalise. Raises IncompatibleSchemaError / IncompatibleBoundsError.

        `reconcile` (Prometheus >= 3.8): custom-bucket histograms with different bounds are added on the
        intersection of their bounds (`reconcile_custom_buckets`) instead of raising
        IncompatibleBoundsError."""
        return self._add_sub(other, False, reconcile)

    def sub(self, other: FloatHistogram, reconcile: bool = False) -> FloatHistogram:
        """self - other (Go's Sub); like add, but the counter reset hint of self is kept."""
        return self._add_sub(other, True, reconcile)

    def _add_sub(self, other: FloatHistogram, negate: bool, reconcile: bool) -> FloatHistogram:
        try:
            return self._add_sub_unchecked(other, negate, reconcile)
        except IndexError:  # Prometheus panics on such layouts (a span holding more buckets than given)
            raise HistogramError("histogram spans and buckets do not match") from None

    def _add_sub_unchecked(self, other: FloatHistogram, negate: bool, reconcile: bool) -> FloatHistogram:
        custom = self.uses_custom_buckets()
        if custom != other.uses_custom_buckets():
            raise IncompatibleSchemaError()
        mismatched = custom and not _floats_match(self.custom_values, other.custom_values)
        if mismatched and not reconcile:
            raise IncompatibleBoundsError()
        h = self._shallow()  # every list of h is replaced below, none is changed in place
        if not negate:
            h.counter_reset_hint = _add_hint(h.counter_reset_hint, other.counter_reset_hint)
        if not custom:
            other_zero = h._reconcile_zero_buckets(other)
            h.zero_count = h.zero_count - other_zero if negate else h.zero_count + other_zero
        if negate:
            h.count -= other.count
            h.sum -= other.sum
        else:
            h.count += other.count
            h.sum += other.sum
        o_pos_spans, o_pos_buckets = other.positive_spans, other.positive_buckets
        if mismatched:
            inter = intersect_custom_bounds(h.custom_values, other.custom_values)
            h.positive_spans, h.positive_buckets, _ = _add_custom_mismatched(
                negate, h.positive_spans, h.positive_buckets, h.custom_values, None,
                o_pos_spans, o_pos_buckets, other.custom_values, inter,
            )
            h.custom_values = inter
            return h
        if custom:
            h.positive_spans, h.positive_buckets, _ = _add_buckets(
                h.schema, h.zero_threshold, negate, h.positive_spans, h.positive_buckets, o_pos_spans, o_pos_buckets
            )
            return h
        o_neg_spans, o_neg_buckets = other.negative_spans, other.negative_buckets
        if other.schema < h.schema:
            h.positive_spans, h.positive_buckets = _reduce_resolution(
                h.positive_spans, h.positive_buckets, h.schema, other.schema
            )
            h.negative_spans, h.negative_buckets = _reduce_resolution(
                h.negative_spans, h.negative_buckets, h.schema, other.schema
            )
            h.schema = other.schema
        elif other.schema > h.schema:
            o_pos_spans, o_pos_buckets = _reduce_resolution(o_pos_spans, o_pos_buckets, other.schema, h.schema)
            o_neg_spans, o_neg_buckets = _reduce_resolution(o_neg_spans, o_neg_buckets, other.schema, h.schema)
        h.positive_spans, h.positive_buckets, _ = _add_buckets(
            h.schema, h.zero_threshold, negate, h.positive_spans, h.positive_buckets, o_pos_spans, o_pos_buckets
        )
        h.negative_spans, h.negative_buckets, _ = _add_buckets(
            h.schema, h.zero_threshold, negate, h.negative_spans, h.negative_buckets, o_neg_spans, o_neg_buckets
        )
        return h

    def has_overflow(self) -> bool:
        """Go's HasOverflow: an infinite zero count, count, sum, bucket or custom bound."""
        if math.isinf(self.zero_count) or math.isinf(self.count) or math.isinf(self.sum):
            return True
        return any(math.isinf(v) for v in (*self.positive_buckets, *self.negative_buckets, *self.custom_values))

    def new_compensation(self) -> FloatHistogram:
        """Go's newCompensationHistogram: the layout of self (schema, zero threshold, spans, custom bounds,
        counter reset hint) with every count, the sum and every bucket 0."""
        custom = self.uses_custom_buckets()
        return FloatHistogram(
            schema=self.schema,
            zero_threshold=self.zero_threshold,
            positive_spans=self.positive_spans,
            negative_spans=self.negative_spans,
            positive_buckets=[0.0] * len(self.positive_buckets),
            negative_buckets=[] if custom else [0.0] * len(self.negative_buckets),
            custom_values=list(self.custom_values),
            counter_reset_hint=self.counter_reset_hint,
        )

    def kahan_add(self, other: FloatHistogram, c: FloatHistogram | None,
                  reconcile: bool = False) -> tuple[FloatHistogram, FloatHistogram]:
        """Go's KahanAdd (Prometheus >= 3.10): self + other with Kahan (Neumaier) compensation of every
        count, the sum and every bucket. `c` holds the compensation of self (None: none yet, as Go's nil);
        returns (sum, compensation), both new: self, other and c are left unchanged. The compensation has
        the sum's layout; the caller adds it at the end (`add`). Raises like add(); `reconcile` as there
        (with different custom bounds, self's compensation is folded into the reconciled buckets and the
        new compensation is that of the reconciliation)."""
        try:
            return self._kahan_add(other, c, reconcile)
        except IndexError:  # Prometheus panics on such layouts (a span holding more buckets than given)
            raise HistogramError("histogram spans and buckets do not match") from None

    def _kahan_add(self, other: FloatHistogram, c0: FloatHistogram | None,
                   reconcile: bool) -> tuple[FloatHistogram, FloatHistogram]:
        custom = self.uses_custom_buckets()
        if custom != other.uses_custom_buckets():
            raise IncompatibleSchemaError()
        mismatched = custom and not _floats_match(self.custom_values, other.custom_values)
        if mismatched and not reconcile:
            raise IncompatibleBoundsError()
        h = self._shallow()  # every list of h and c is replaced below, none is changed in place
        h.counter_reset_hint = _add_hint(h.counter_reset_hint, other.counter_reset_hint)
        c = h.new_compensation() if c0 is None else c0._shallow()
        if not custom:
            other_zero, other_czero = h._kahan_reconcile_zero_buckets(other, c)
            h.zero_count, c.zero_count = _kahan_inc(other_zero, h.zero_count, c.zero_count)
            h.zero_count, c.zero_count = _kahan_inc(other_czero, h.zero_count, c.zero_count)
        h.count, c.count = _kahan_inc(other.count, h.count, c.count)
        h.sum, c.sum = _kahan_inc(other.sum, h.sum, c.sum)
        o_pos_spans, o_pos_buckets = other.positive_spans, other.positive_buckets
        if mismatched:
            inter = intersect_custom_bounds(h.custom_values, other.custom_values)
            h.positive_spans, h.positive_buckets, c.positive_buckets = _add_custom_mismatched(
                False, h.positive_spans, h.positive_buckets, h.custom_values, c.positive_buckets,
                o_pos_spans, o_pos_buckets, other.custom_values, inter,
            )
            h.custom_values = inter
            c.custom_values = list(inter)
            c.positive_spans = h.positive_spans
            return h, c
        if custom:
            h.positive_spans, h.positive_buckets, c.positive_buckets = _add_buckets(
                h.schema, h.zero_threshold, False, h.positive_spans, h.positive_buckets,
                o_pos_spans, o_pos_buckets, c.positive_buckets,
            )
            c.positive_spans = h.positive_spans
            return h, c
        o_neg_spans, o_neg_buckets = other.negative_spans, other.negative_buckets
        o_pos_comp: list[float] | None = None
        o_neg_comp: list[float] | None = None
        if other.schema < h.schema:
            h.positive_spans, h.positive_buckets, c.positive_buckets = _kahan_reduce_resolution(
                h.positive_spans, h.positive_buckets, c.positive_buckets, h.schema, other.schema
            )
            h.negative_spans, h.negative_buckets, c.negative_buckets = _kahan_reduce_resolution(
                h.negative_spans, h.negative_buckets, c.negative_buckets, h.schema, other.schema
            )
            h.schema = other.schema
        elif other.schema > h.schema:
            if o_pos_buckets:
                o_pos_spans, o_pos_buckets, o_pos_comp = _kahan_reduce_resolution(
                    o_pos_spans, o_pos_buckets, [0.0] * len(o_pos_buckets), other.schema, h.schema
                )
            if o_neg_buckets:
                o_neg_spans, o_neg_buckets, o_neg_comp = _kahan_reduce_resolution(
                    o_neg_spans, o_neg_buckets, [0.0] * len(o_neg_buckets), other.schema, h.schema
                )
        h.positive_spans, h.positive_buckets, c.positive_buckets = _add_buckets(
            h.schema, h.zero_threshold, False, h.positive_spans, h.positive_buckets,
            o_pos_spans, o_pos_buckets, c.positive_buckets, o_pos_comp,
        )
        h.negative_spans, h.negative_buckets, c.negative_buckets = _add_buckets(
            h.schema, h.zero_threshold, False, h.negative_spans, h.negative_buckets,
            o_neg_spans, o_neg_buckets, c.negative_buckets, o_neg_comp,
        )
        c.schema = h.schema
        c.zero_threshold = h.zero_threshold
        c.positive_spans = h.positive_spans
        c.negative_spans = h.negative_spans
        return h, c

    def copy_to_schema(self, target_schema: int) -> FloatHistogram:
        """Go's CopyToSchema: a copy at the given lower (or equal) resolution."""
        if target_schema == self.schema:
            return self.copy()
        if self.uses_custom_buckets():
            raise HistogramError(f"cannot reduce resolution to {target_schema} when there are custom buckets")
        if is_custom_buckets_schema(target_schema):
            raise HistogramError("cannot reduce resolution to custom buckets schema")
        if target_schema > self.schema:
            raise HistogramError(f"cannot copy from schema {self.schema} to {target_schema}")
        ps, pb = _reduce_resolution(self.positive_spans, self.positive_buckets, self.schema, target_schema)
        ns, nb = _reduce_resolution(self.negative_spans, self.negative_buckets, self.schema, target_schema)
        return FloatHistogram(
            schema=target_schema,
            zero_threshold=self.zero_threshold,
            zero_count=self.zero_count,
            count=self.count,
            sum=self.sum,
            positive_spans=ps,
            negative_spans=ns,
            positive_buckets=pb,
            negative_buckets=nb,
        )

    def reduce_resolution(self, target_schema: int) -> FloatHistogram:
        """Go's ReduceResolution: a copy merged down to the lower target schema (a strictly lower one)."""
        if self.uses_custom_buckets():
            raise HistogramError("cannot reduce resolution when there are custom buckets")
        if is_custom_buckets_schema(target_schema):
            raise HistogramError("cannot reduce resolution to custom buckets schema")
        if target_schema >= self.schema:
            raise HistogramError(f"cannot reduce resolution from schema {self.schema} to {target_schema}")
        h = self.copy()
        h.positive_spans, h.positive_buckets = _reduce_resolution(
            self.positive_spans, self.positive_buckets, self.schema, target_schema
        )
        h.negative_spans, h.negative_buckets = _reduce_resolution(
            self.negative_spans, self.negative_buckets, self.schema, target_schema
        )
        h.schema = target_schema
        return h

    def compact(self, max_empty_buckets: int = 0, exact: bool = False) -> FloatHistogram:
        """Go's Compact: drop empty buckets at the ends of spans, merge spans at most max_empty_buckets
        apart, split spans at runs of more than max_empty_buckets empty buckets. exact: without 3.5's
        misplacing of buckets after two merges in a row (fixed upstream, as in 3.16)."""
        h = self.copy()
        h._compact_in_place(max_empty_buckets, exact)
        return h

    def _compact_in_place(self, max_empty_buckets: int, exact: bool = False) -> None:
        self.positive_buckets, self.positive_spans = _compact_buckets(
            self.positive_buckets, self.positive_spans, max_empty_buckets, exact
        )
        self.negative_buckets, self.negative_spans = _compact_buckets(
            self.negative_buckets, self.negative_spans, max_empty_buckets, exact
        )

    # -- zero bucket reconciliation (exponential schemas only) ---------------------------------------------

    def _zero_count_for_larger_threshold(self, larger: float) -> tuple[float, float]:
        """Go's zeroCountForLargerThreshold: the zero count if the threshold were `larger`, and the
        threshold actually needed (moved up to a bucket boundary if it falls inside a populated bucket)."""
        if larger == self.zero_threshold:
            return self.zero_count, larger
        if larger < self.zero_threshold:
            raise HistogramError(f"new threshold {larger:f} is less than old threshold {self.zero_threshold:f}")
        schema = self.schema
        while True:
            count = self.zero_count
            for idx, c in _iter_indexed(self.positive_spans, self.positive_buckets):
                lower = _get_bound_exponential(idx - 1, schema)
                if lower >= larger:
                    break
                count += c
                upper = _get_bound_exponential(idx, schema)
                if upper > larger:
                    if c != 0:
                        larger = upper
                    break
            redo = False
            for idx, c in _iter_indexed(self.negative_spans, self.negative_buckets):
                upper = -_get_bound_exponential(idx - 1, schema)
                if upper <= -larger:
                    break
                count += c
                lower = -_get_bound_exponential(idx, schema)
                if lower < -larger:
                    if c != 0:
                        larger = -lower
                        redo = True
                    break
            if not redo:
                return count, larger

    def _trim_buckets_in_zero_bucket(self) -> None:
        schema, zt = self.schema, self.zero_threshold
        # New lists: the bucket lists may be shared with another histogram (see _shallow).
        self.positive_buckets = list(self.positive_buckets)
        self.negative_buckets = list(self.negative_buckets)
        for i, (idx, _c) in enumerate(_iter_indexed(self.positive_spans, list(self.positive_buckets))):
            if _get_bound_exponential(idx - 1, schema) >= zt:
                break
            self.positive_buckets[i] = 0.0
        for i, (idx, _c) in enumerate(_iter_indexed(self.negative_spans, list(self.negative_buckets))):
            if -_get_bound_exponential(idx - 1, schema) <= -zt:
                break
            self.negative_buckets[i] = 0.0
        self._compact_in_place(0)

    def _reconcile_zero_buckets(self, other: FloatHistogram) -> float:
        """Widen self's zero bucket (in place) until it covers other's; returns other's zero count for
        that common threshold (other is not changed)."""
        other_count, other_threshold = other.zero_count, other.zero_threshold
        while other_threshold != self.zero_threshold:
            if self.zero_threshold > other_threshold:
                other_count, other_threshold = other._zero_count_for_larger_threshold(self.zero_threshold)
            if other_threshold > self.zero_threshold:
                self.zero_count, self.zero_threshold = self._zero_count_for_larger_threshold(other_threshold)
                self._trim_buckets_in_zero_bucket()
        return other_count

    def _kahan_zero_count_for_larger_threshold(
        self, larger: float, c: FloatHistogram | None
    ) -> tuple[float, float, float]:
        """Go's zeroCountForLargerThreshold with the compensation: (zero count, threshold, compensation of
        the zero count). Like Go, the compensation is not reset when a negative bucket makes it start over."""
        cz = c.zero_count if c is not None else 0.0
        if larger == self.zero_threshold:
            return self.zero_count, larger, cz
        if larger < self.zero_threshold:
            raise HistogramError(f"new threshold {larger:f} is less than old threshold {self.zero_threshold:f}")
        schema = self.schema
        while True:
            count = self.zero_count
            for i, (idx, v) in enumerate(_iter_indexed(self.positive_spans, self.positive_buckets)):
                if _get_bound_exponential(idx - 1, schema) >= larger:
                    break
                count, cz = _kahan_inc(v, count, cz)
                if c is not None:
                    count, cz = _kahan_inc(c.positive_buckets[i], count, cz)
                upper = _get_bound_exponential(idx, schema)
                if upper > larger:
                    if v != 0:
                        larger = upper
                    break
            redo = False
            for i, (idx, v) in enumerate(_iter_indexed(self.negative_spans, self.negative_buckets)):
                if -_get_bound_exponential(idx - 1, schema) <= -larger:
                    break
                count, cz = _kahan_inc(v, count, cz)
                if c is not None:
                    count, cz = _kahan_inc(c.negative_buckets[i], count, cz)
                lower = -_get_bound_exponential(idx, schema)
                if lower < -larger:
                    if v != 0:
                        larger = -lower
                        redo = True
                    break
            if not redo:
                return count, larger, cz

    def _kahan_reconcile_zero_buckets(self, other: FloatHistogram, c: FloatHistogram) -> tuple[float, float]:
        """Go's reconcileZeroBuckets with a compensation histogram: widens self's zero bucket (and c's, in
        place) until it covers other's; returns other's zero count and its compensation."""
        other_count, other_threshold, other_c = other.zero_count, other.zero_threshold, 0.0
        while other_threshold != self.zero_threshold:
            if self.zero_threshold > other_threshold:
                other_count, other_threshold, other_c = other._kahan_zero_count_for_larger_threshold(
                    self.zero_threshold, None
                )
            if other_threshold > self.zero_threshold:
                self.zero_count, self.zero_threshold, c.zero_count = self._kahan_zero_count_for_larger_threshold(
                    other_threshold, c
                )
                schema, zt = self.schema, self.zero_threshold
                pos, neg = list(self.positive_buckets), list(self.negative_buckets)
                cpos, cneg = list(c.positive_buckets), list(c.negative_buckets)
                for i, (idx, _v) in enumerate(_iter_indexed(self.positive_spans, pos)):
                    if _get_bound_exponential(idx - 1, schema) >= zt:
                        break
                    pos[i] = cpos[i] = 0.0
                for i, (idx, _v) in enumerate(_iter_indexed(self.negative_spans, neg)):
                    if -_get_bound_exponential(idx - 1, schema) <= -zt:
                        break
                    neg[i] = cneg[i] = 0.0
                self.positive_buckets, c.positive_buckets, self.positive_spans = _kahan_compact(
                    pos, cpos, self.positive_spans
                )
                self.negative_buckets, c.negative_buckets, self.negative_spans = _kahan_compact(
                    neg, cneg, self.negative_spans
                )
        return other_count, other_c

    # -- counter resets ---------------------------------------------------------------------------------

    def detect_reset(self, previous: FloatHistogram, reconcile: bool = False) -> bool:
        """Go's DetectReset: True if self (the later sample) is a counter reset relative to previous.

        Custom-bucket histograms with different bounds: a reset (Prometheus 3.0 to 3.7), or with
        `reconcile` (>= 3.8) a reset if, on a bound both have, the count of the observations up to that
        bound went down (Go's detectResetWithMismatchedCustomBounds)."""
        if self.counter_reset_hint == CounterResetHint.COUNTER_RESET:
            return True
        if self.counter_reset_hint == CounterResetHint.NOT_COUNTER_RESET:
            return False
        if self.count < previous.count:
            return True
        if self.uses_custom_buckets() != previous.uses_custom_buckets():
            return True
        if self.uses_custom_buckets() and not _floats_match(self.custom_values, previous.custom_values):
            return not reconcile or _reset_with_mismatched_bounds(self, previous)
        if self.schema > previous.schema:
            return True
        if self.zero_threshold < previous.zero_threshold:
            return True
        prev_zero, new_threshold = previous._zero_count_for_larger_threshold(self.zero_threshold)
        if new_threshold != self.zero_threshold:
            return True
        if self.zero_count < prev_zero:
            return True
        for curr_spans, curr_b, prev_spans, prev_b in (
            (self.positive_spans, self.positive_buckets, previous.positive_spans, previous.positive_buckets),
            (self.negative_spans, self.negative_buckets, previous.negative_spans, previous.negative_buckets),
        ):
            curr = _iter_target(curr_spans, curr_b, self.schema, self.schema, self.zero_threshold)
            prev = _iter_target(prev_spans, prev_b, previous.schema, self.schema, self.zero_threshold)
            if _detect_reset(curr, prev):
                return True
        return False

    # -- iteration --------------------------------------------------------------------------------------

    def zero_bucket(self) -> Bucket:
        if self.uses_custom_buckets():
            raise HistogramError("histograms with custom buckets have no zero bucket")
        return Bucket(-self.zero_threshold, self.zero_threshold, self.zero_count, True, True, 0)

    def _positive_bucket(self, idx: int, c: float) -> Bucket:
        schema, cv = self.schema, self.custom_values
        lower, upper = _get_bound(idx - 1, schema, cv), _get_bound(idx, schema, cv)
        if schema == CUSTOM_BUCKETS_SCHEMA:
            return Bucket(lower, upper, c, idx == 0, True, idx)
        return Bucket(lower, upper, c, lower < 0, upper > 0, idx)

    def _negative_bucket(self, idx: int, c: float) -> Bucket:
        lower, upper = -_get_bound(idx, self.schema, []), -_get_bound(idx - 1, self.schema, [])
        return Bucket(lower, upper, c, lower < 0, upper > 0, idx)

    def positive_buckets_iter(self) -> Iterator[Bucket]:
        """Positive buckets, ascending (Go's PositiveBucketIterator)."""
        for idx, c in _iter_indexed(self.positive_spans, self.positive_buckets):
            yield self._positive_bucket(idx, c)

    def negative_buckets_iter(self) -> Iterator[Bucket]:
        """Negative buckets, descending from the zero bucket (Go's NegativeBucketIterator)."""
        for idx, c in _iter_indexed(self.negative_spans, self.negative_buckets):
            yield self._negative_bucket(idx, c)

    def buckets(self) -> Iterator[Bucket]:
        """All buckets ascending: negative, zero (if populated), positive (Go's AllBucketIterator). A
        negative or positive bucket that overlaps the zero bucket has that bound set to the threshold.
        Bounds are computed only for the buckets actually reached."""
        zt = self.zero_threshold
        for idx, c in reversed(list(_iter_indexed(self.negative_spans, self.negative_buckets))):
            b = self._negative_bucket(idx, c)
            if -zt < b.upper < 0:
                b.upper = -zt
            elif 0 < b.lower < zt:
                b.lower = zt
            yield b
        if self.zero_count > 0:
            yield self.zero_bucket()
        for idx, c in _iter_indexed(self.positive_spans, self.positive_buckets):
            b = self._positive_bucket(idx, c)
            if 0 < b.lower < zt:
                b.lower = zt
            elif -zt < b.upper < 0:
                b.upper = -zt
            yield b

    def reverse_buckets(self) -> Iterator[Bucket]:
        """All buckets descending: positive, zero, negative (Go's AllReverseBucketIterator)."""
        zt = self.zero_threshold
        for idx, c in reversed(list(_iter_indexed(self.positive_spans, self.positive_buckets))):
            b = self._positive_bucket(idx, c)
            if -zt < b.upper < 0:
                b.upper = -zt
            elif 0 < b.lower < zt:
                b.lower = zt
            yield b
        if self.zero_count > 0:
            yield self.zero_bucket()
        for idx, c in _iter_indexed(self.negative_spans, self.negative_buckets):
            b = self._negative_bucket(idx, c)
            if 0 < b.lower < zt:
                b.lower = zt
            elif -zt < b.upper < 0:
                b.upper = -zt
            yield b

    # -- text -------------------------------------------------------------------------------------------

    def test_expression(self, exact: bool = False) -> str:
        """Go's TestExpression(): the `{{...}}` notation of promqltest and promtool rule tests. exact:
        place the buckets of three or more spans right, as 3.16 does (3.5 misplaces them, see compact)."""
        m = self.copy()
        m._compact_in_place(sys.maxsize, exact)
        res: list[str] = []
        if m.schema != 0:
            res.append(f"schema:{m.schema}")
        if m.count != 0:
            res.append(f"count:{go_g(m.count)}")
        if m.sum != 0:
            res.append(f"sum:{go_g(m.sum)}")
        if m.zero_count != 0:
            res.append(f"z_bucket:{go_g(m.zero_count)}")
        if m.zero_threshold != 0:
            res.append(f"z_bucket_w:{go_g(m.zero_threshold)}")
        if m.uses_custom_buckets():
            res.append("custom_values:[" + " ".join(go_g(v) for v in m.custom_values) + "]")
        hint = m.counter_reset_hint
        if hint == CounterResetHint.COUNTER_RESET:
            res.append("counter_reset_hint:reset")
        elif hint == CounterResetHint.NOT_COUNTER_RESET:
            res.append("counter_reset_hint:not_reset")
        elif hint == CounterResetHint.GAUGE:
            res.append("counter_reset_hint:gauge")
        for kind, key, off_key, buckets, spans in (
            ("positive", "buckets", "offset", m.positive_buckets, m.positive_spans),
            ("negative", "n_buckets", "n_offset", m.negative_buckets, m.negative_spans),
        ):
            if len(spans) > 1:
                raise HistogramError(f"histogram with multiple {kind} spans not supported")
            for span in spans:
                if span.offset != 0:
                    res.append(f"{off_key}:{span.offset}")
            if buckets:
                res.append(f"{key}:[" + " ".join(go_g(b) for b in buckets) + "]")
        return "{{" + " ".join(res) + "}}"

    def __str__(self) -> str:
        """Go's String(): `{count:N, sum:S, [lo,hi):c, ...}` listing populated buckets only."""
        parts = [f"{{count:{go_g(self.count)}, sum:{go_g(self.sum)}"]
        for b in reversed([b for b in self.negative_buckets_iter() if b.count != 0]):
            parts.append(", " + _bucket_str(b))
        if self.zero_count != 0:
            parts.append(", " + _bucket_str(self.zero_bucket()))
        for b in self.positive_buckets_iter():
            if b.count != 0:
                parts.append(", " + _bucket_str(b))
        return "".join(parts) + "}"


# -- helpers ----------------------------------------------------------------------------------------------


def _bucket_str(b: Bucket) -> str:
    return (
        ("[" if b.lower_inclusive else "(")
        + f"{go_g(b.lower)},{go_g(b.upper)}"
        + ("]" if b.upper_inclusive else ")")
        + f":{go_g(b.count)}"
    )


def _go_f(x: float) -> str:
    """Go's %f."""
    if x != x:
        return "NaN"
    if x in (_INF, -_INF):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x:.6f}"


def _check_spans(spans: list[Span], n_buckets: int) -> str:
    total = 0
    for n, span in enumerate(spans):
        if n > 0 and span.offset < 0:
            return f"span number {n + 1} with offset {span.offset}: histogram has a span whose offset is negative"
        total += span.length
    if total != n_buckets:
        return (
            f"spans need {total} buckets, have {n_buckets} buckets: "
            "histogram spans specify different number of buckets than provided"
        )
    return ""


def _check_buckets(buckets: list[float]) -> str:
    for i, c in enumerate(buckets):
        if c < 0:
            return (
                f"bucket number {i + 1} has observation count of {go_g(c)}: "
                "histogram has a bucket whose observation count is negative"
            )
    return ""


def _check_custom_bounds(bounds: list[float], spans: list[Span], n_buckets: int) -> str:
    prev = -_INF
    for curr in bounds:
        if curr <= prev:  # (a NaN bound passes, as in Prometheus 3.5)
            return (
                f"previous bound is {_go_f(prev)} and current is {_go_f(curr)}: "
                "histogram custom bounds must be in strictly increasing order"
            )
        prev = curr
    if prev == _INF:
        return "last +Inf bound must not be explicitly defined: histogram custom bounds must be finite"
    total = total_length = 0
    for n, span in enumerate(spans):
        if span.offset < 0:
            return f"span number {n + 1} with offset {span.offset}: histogram has a span whose offset is negative"
        total += span.length
        total_length += span.length + span.offset
    if total != n_buckets:
        return (
            f"spans need {total} buckets, have {n_buckets} buckets: "
            "histogram spans specify different number of buckets than provided"
        )
    if len(bounds) + 1 < total_length:
        return (
            f"only {len(bounds)} custom bounds defined which is insufficient to cover total span length of "
            f"{total_length}: histogram custom bounds are too few"
        )
    return ""


def _add_hint(h: CounterResetHint, o: CounterResetHint) -> CounterResetHint:
    """The counter reset hint of a sum (Go's Add)."""
    if o == h or h == CounterResetHint.GAUGE:
        return h
    if o == CounterResetHint.GAUGE:
        return CounterResetHint.GAUGE
    # Unknown with anything, or a direct collision of reset and not-reset: unknown.
    return CounterResetHint.UNKNOWN


_pack = struct.Struct("<d").pack


def _same_bits(a: float, b: float) -> bool:
    """math.Float64bits(a) == math.Float64bits(b)."""
    if a == b:
        return a != 0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    if a != a and b != b:
        return _pack(a) == _pack(b)
    return False


def _floats_match(a: list[float], b: list[float]) -> bool:
    """Go's FloatBucketsMatch (bit patterns)."""
    if len(a) != len(b):
        return False
    return all(_same_bits(x, y) for x, y in zip(a, b, strict=True))


def spans_match(s1: list[Span], s2: list[Span]) -> bool:
    """Go's spansMatch: same bucket layout once zero-length spans are folded into the next span (what
    Equals and promqltest's histogram comparison use)."""
    return _spans_match(s1, s2)


def _spans_match(s1: list[Span], s2: list[Span]) -> bool:
    """Go's spansMatch: same bucket layout once zero-length spans are folded into the next span."""
    if not s1 and not s2:
        return True
    i1 = i2 = 0
    n1, n2 = len(s1), len(s2)
    while True:
        if i1 >= n1:
            return all(s.length == 0 for s in s2[i2:])
        if i2 >= n2:
            return all(s.length == 0 for s in s1[i1:])
        off1, len1 = s1[i1].offset, s1[i1].length
        off2, len2 = s2[i2].offset, s2[i2].length
        i1 += 1
        i2 += 1
        if len1 == 0:
            while i1 < n1 and s1[i1].length == 0:
                off1 += s1[i1].offset
                i1 += 1
            if i1 < n1:
                off1 += s1[i1].offset
                len1 = s1[i1].length
                i1 += 1
        if len2 == 0:
            while i2 < n2 and s2[i2].length == 0:
                off2 += s2[i2].offset
                i2 += 1
            if i2 < n2:
                off2 += s2[i2].offset
                len2 = s2[i2].length
                i2 += 1
        if len1 == 0 and len2 == 0:
            return True
        if off1 != off2 or len1 != len2:
            return False


def _fdiv(a: float, b: float) -> float:
    """Go's float64 division (no exception on division by zero)."""
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(_INF, a) * math.copysign(1.0, b)
    return a / b


def _ldexp(frac: float, exp: int) -> float:
    try:
        return math.ldexp(frac, exp)
    except OverflowError:
        return math.copysign(_INF, frac)


# Bucket bounds within [0.5, 1) of schema 8: Prometheus's precomputed `exponentialBounds` table (its
# values are 2^(i/256)/2 but not always correctly rounded, so they are listed rather than computed);
# schema s < 8 uses every 2^(8-s)-th value.
# fmt: off
_SCHEMA8_BOUNDS = [
    0.5, 0.5013556375251013, 0.5027149505564014, 0.5040779490592088,
    0.5054446430258502, 0.5068150424757447, 0.5081891574554764, 0.509566998038869,
    0.5109485743270583, 0.5123338964485679, 0.5137229745593818, 0.5151158188430205,
    0.5165124395106142, 0.5179128468009786, 0.5193170509806894, 0.520725062344158,
    0.5221368912137069, 0.5235525479396449, 0.5249720429003435, 0.526395386502313,
    0.5278225891802786, 0.5292536613972564, 0.5306886136446309, 0.5321274564422321,
    0.5335702003384117, 0.5350168559101208, 0.5364674337629877, 0.5379219445313954,
    0.5393803988785598, 0.5408428074966075, 0.5423091811066545, 0.5437795304588847,
    0.5452538663326288, 0.5467321995364429, 0.5482145409081883, 0.549700901315111,
    0.5511912916539204, 0.5526857228508706, 0.5541842058618393, 0.5556867516724088,
    0.5571933712979462, 0.5587040757836845, 0.5602188762048033, 0.5617377836665098,
    0.5632608093041209, 0.564787964283144, 0.5663192597993595, 0.5678547070789026,
    0.5693943173783458, 0.5709381019847808, 0.572486072215902, 0.5740382394200894,
    0.5755946149764913, 0.5771552102951081, 0.5787200368168754, 0.5802891060137493,
    0.5818624293887887, 0.5834400184762408, 0.585021884841625, 0.5866080400818185,
    0.5881984958251406, 0.5897932637314379, 0.5913923554921704, 0.5929957828304968,
    0.5946035575013605, 0.5962156912915756, 0.5978321960199137, 0.5994530835371903,
    0.6010783657263515, 0.6027080545025619, 0.6043421618132907, 0.6059806996384005,
    0.6076236799902344, 0.6092711149137041, 0.6109230164863786, 0.6125793968185725,
    0.6142402680534349, 0.6159056423670379, 0.6175755319684665, 0.6192499490999082,
    0.620928906036742, 0.622612415087629, 0.6243004885946023, 0.6259931389331581,
    0.6276903785123455, 0.6293922197748583, 0.6310986751971253, 0.6328097572894031,
    0.6345254785958666, 0.6362458516947014, 0.637970889198196, 0.6397006037528346,
    0.6414350080393891, 0.6431741147730128, 0.6449179367033329, 0.6466664866145447,
    0.6484197773255048, 0.6501778216898253, 0.6519406325959679, 0.6537082229673385,
    0.6554806057623822, 0.6572577939746774, 0.659039800633032, 0.6608266388015788,
    0.6626183215798706, 0.6644148621029772, 0.6662162735415805, 0.6680225691020727,
    0.6698337620266515, 0.6716498655934177, 0.6734708931164728, 0.6752968579460171,
    0.6771277734684463, 0.6789636531064505, 0.6808045103191123, 0.6826503586020058,
    0.6845012114872953, 0.6863570825438342, 0.688217985377265, 0.690083933630119,
    0.6919549409819159, 0.6938310211492645, 0.6957121878859629, 0.6975984549830999,
    0.6994898362691555, 0.7013863456101023, 0.7032879969095076, 0.7051948041086352,
    0.7071067811865475, 0.7090239421602076, 0.7109463010845827, 0.7128738720527471,
    0.7148066691959849, 0.7167447066838943, 0.718687998724491, 0.7206365595643126,
    0.7225904034885232, 0.7245495448210174, 0.7265139979245261, 0.7284837772007218,
    0.7304588970903234, 0.7324393720732029, 0.7344252166684908, 0.7364164454346837,
    0.7384130729697496, 0.7404151139112358, 0.7424225829363761, 0.7444354947621984,
    0.7464538641456323, 0.7484777058836176, 0.7505070348132126, 0.7525418658117031,
    0.7545822137967112, 0.7566280937263048, 0.7586795205991071, 0.7607365094544071,
    0.762799075372269, 0.7648672334736434, 0.7669409989204777, 0.7690203869158282,
    0.7711054127039704, 0.7731960915705107, 0.7752924388424999, 0.7773944698885442,
    0.7795022001189185, 0.7816156449856788, 0.7837348199827764, 0.7858597406461707,
    0.7879904225539431, 0.7901268813264122, 0.7922691326262467, 0.7944171921585818,
    0.7965710756711334, 0.7987307989543135, 0.8008963778413465, 0.8030678282083853,
    0.805245165974627, 0.8074284071024302, 0.8096175675974316, 0.8118126635086642,
    0.8140137109286738, 0.8162207259936375, 0.8184337248834821, 0.820652723822003,
    0.8228777390769823, 0.8251087869603088, 0.8273458838280969, 0.8295890460808079,
    0.8318382901633681, 0.8340936325652911, 0.8363550898207981, 0.8386226785089391,
    0.8408964152537144, 0.8431763167241966, 0.8454623996346523, 0.8477546807446661,
    0.8500531768592616, 0.8523579048290255, 0.8546688815502312, 0.8569861239649629,
    0.8593096490612387, 0.8616394738731368, 0.8639756154809185, 0.8663180910111553,
    0.8686669176368529, 0.871022112577578, 0.8733836930995842, 0.8757516765159389,
    0.8781260801866495, 0.8805069215187917, 0.8828942179666361, 0.8852879870317771,
    0.8876882462632604, 0.890095013257712, 0.8925083056594671, 0.8949281411607002,
    0.8973545375015533, 0.8997875124702672, 0.9022270839033115, 0.9046732696855155,
    0.9071260877501991, 0.909585556079304, 0.9120516927035263, 0.9145245157024483,
    0.9170040432046711, 0.9194902933879467, 0.9219832844793128, 0.9244830347552253,
    0.9269895625416926, 0.92950288621441, 0.9320230241988943, 0.9345499949706191,
    0.9370838170551498, 0.93962450902828, 0.9421720895161669, 0.9447265771954693,
    0.9472879907934827, 0.9498563490882775, 0.9524316709088368, 0.9550139751351947,
    0.9576032806985735, 0.9601996065815236, 0.9628029718180622, 0.9654133954938133,
    0.9680308967461471, 0.9706554947643201, 0.9732872087896164, 0.9759260581154889,
    0.9785720620876999, 0.9812252401044634, 0.9838856116165875, 0.9865531961276168,
    0.9892280131939752, 0.9919100824251095, 0.9945994234836328, 0.9972960560854698,
]
# fmt: on
_EXP_BOUNDS = [_SCHEMA8_BOUNDS[:: 1 << (8 - s)] for s in range(9)]


def _get_bound_exponential(idx: int, schema: int) -> float:
    """Go's getBoundExponential: the upper bound of bucket idx (the last finite bucket ends at MaxFloat64)."""
    if schema < 0:
        exp = idx << -schema
        if exp == 1024:
            return _MAX_FLOAT
        return _ldexp(1.0, exp)
    frac = _EXP_BOUNDS[schema][idx & ((1 << schema) - 1)]
    exp = (idx >> schema) + 1
    if frac == 0.5 and exp == 1025:
        return _MAX_FLOAT
    return _ldexp(frac, exp)


def _get_bound(idx: int, schema: int, custom_values: list[float]) -> float:
    """Go's getBound: the upper bound of bucket idx (custom buckets: -1 is -Inf, len(bounds) is +Inf)."""
    if schema == CUSTOM_BUCKETS_SCHEMA:
        n = len(custom_values)
        if idx > n or idx < -1:
            raise HistogramError(f"index {idx} out of bounds for custom bounds of length {n}")
        if idx == n:
            return _INF
        if idx == -1:
            return -_INF
        return custom_values[idx]
    return _get_bound_exponential(idx, schema)


def _iter_indexed(spans: list[Span], buckets: list[float]) -> Iterator[tuple[int, float]]:
    """(bucket index, count) of every bucket, ascending."""
    idx = 0
    pos = 0
    for s in spans:
        idx += s.offset
        for _ in range(s.length):
            yield idx, buckets[pos]
            idx += 1
            pos += 1


def _iter_target(
    spans: list[Span], buckets: list[float], schema: int, target_schema: int, absolute_start: float
) -> Iterator[tuple[int, float]]:
    """Go's floatBucketIterator (without bounds): buckets merged to target_schema; for exponential schemas
    the leading buckets with an upper bound <= absolute_start are skipped."""
    if target_schema > schema:
        raise HistogramError(f"cannot merge from schema {schema} to {target_schema}")
    skipping = absolute_start != 0 and is_exponential_schema(target_schema)
    if schema == target_schema:
        for idx, c in _iter_indexed(spans, buckets):
            if skipping:
                if _get_bound_exponential(idx, target_schema) <= absolute_start:
                    continue
                skipping = False
            yield idx, c
        return
    shift = schema - target_schema
    cur_idx: int | None = None
    cur = 0.0
    for idx, c in _iter_indexed(spans, buckets):
        t = ((idx - 1) >> shift) + 1
        if t != cur_idx:
            if cur_idx is not None:
                if skipping and _get_bound_exponential(cur_idx, target_schema) <= absolute_start:
                    pass
                else:
                    skipping = False
                    yield cur_idx, cur
            cur_idx, cur = t, 0.0
        cur += c
    if cur_idx is not None:
        if not (skipping and _get_bound_exponential(cur_idx, target_schema) <= absolute_start):
            yield cur_idx, cur


def _detect_reset(curr_it: Iterator[tuple[int, float]], prev_it: Iterator[tuple[int, float]]) -> bool:
    """Go's detectReset over two (index, count) iterators of the same schema.

    Like Prometheus 3.5, once the current buckets run out only the previous bucket in hand is checked
    (its loop advances the iterator without looking at the buckets it passes)."""
    prev = next(prev_it, None)
    if prev is None:
        return False
    curr = next(curr_it, None)
    if curr is None:
        return prev[1] != 0
    while True:
        while curr[0] < prev[0]:
            nxt = next(curr_it, None)
            if nxt is None:
                return prev[1] != 0
            curr = nxt
        if curr[0] > prev[0]:
            if prev[1] != 0:
                return True
        elif curr[1] < prev[1]:
            return True
        nxt_prev = next(prev_it, None)
        if nxt_prev is None:
            return False
        prev = nxt_prev


def _reduce_resolution(
    spans: list[Span], buckets: list[float], origin_schema: int, target_schema: int
) -> tuple[list[Span], list[float]]:
    """Go's reduceResolution for absolute counts: merge buckets into the lower target schema."""
    t_off: list[int] = []
    t_len: list[int] = []
    t_buckets: list[float] = []
    idx = 0
    pos = 0
    last_t = 0
    shift = origin_schema - target_schema
    n = len(buckets)
    for k, s in enumerate(spans):
        if k > 0 and s.offset < 0:
            raise HistogramError(
                f"span number {k + 1} with offset {s.offset}: histogram has a span whose offset is negative"
            )
        idx += s.offset
        for _ in range(s.length):
            if pos >= n:
                raise HistogramError(
                    f"have {n} buckets but spans need more: "
                    "histogram spans specify different number of buckets than provided"
                )
            t = ((idx - 1) >> shift) + 1
            if not t_off:
                t_off.append(t)
                t_len.append(1)
                t_buckets.append(buckets[pos])
                last_t = t
            elif t == last_t:
                t_buckets[-1] += buckets[pos]
            elif t == last_t + 1:
                t_len[-1] += 1
                last_t = t
                t_buckets.append(buckets[pos])
            else:
                t_off.append(t - last_t - 1)
                t_len.append(1)
                last_t = t
                t_buckets.append(buckets[pos])
            idx += 1
            pos += 1
    if pos != n:
        raise HistogramError(
            f"spans need {pos} buckets, have {n} buckets: "
            "histogram spans specify different number of buckets than provided"
        )
    return [Span(o, ln) for o, ln in zip(t_off, t_len, strict=True)], t_buckets


def _add_buckets(
    schema: int,
    threshold: float,
    negative: bool,
    spans_a: list[Span],
    buckets_a: list[float],
    spans_b: list[Span],
    buckets_b: list[float],
    comp_a: list[float] | None = None,
    comp_b: list[float] | None = None,
) -> tuple[list[Span], list[float], list[float]]:
    """Go's addBuckets and kahanAddBuckets, one merge walk: add (or subtract) B's buckets into A,
    inserting missing buckets into A's spans the way Prometheus does (so the span layout is the same as
    Prometheus's). Buckets of B with an absolute upper bound <= threshold are skipped (exponential
    schemas). A's lists are not modified. Returns (spans, buckets, compensation buckets).

    comp_a None (addBuckets): plain additions; the compensation returned is []. comp_a a list
    (kahanAddBuckets, addition only: `negative` False): A's compensation buckets; each bucket of B is
    Kahan-added into A's bucket and compensation, then B's compensation (comp_b, when given and the
    bucket's is non-zero) the same way; a bucket inserted into A brings B's compensation along."""
    a_off = [s.offset for s in spans_a]
    a_len = [s.length for s in spans_a]
    if (
        len(spans_a) == len(spans_b)
        and a_off == [s.offset for s in spans_b]
        and a_len == [s.length for s in spans_b]
        and len(buckets_a) == len(buckets_b)
        and all(n > 0 for n in a_len)
        and (not a_off or not is_exponential_schema(schema) or _get_bound_exponential(a_off[0], schema) > threshold)
    ):
        # Same layout and no bucket of B inside the zero bucket: bucket by bucket (what the general
        # algorithm below does then too; x + -y is x - y exactly).
        spans = [Span(o, n) for o, n in zip(a_off, a_len, strict=True)]
        if comp_a is None:
            if negative:
                return spans, [x - y for x, y in zip(buckets_a, buckets_b, strict=True)], []
            return spans, [x + y for x, y in zip(buckets_a, buckets_b, strict=True)], []
        inc = _kahan_inc
        ba, ca = list(buckets_a), list(comp_a)
        for i, b in enumerate(buckets_b):
            ba[i], ca[i] = inc(b, ba[i], ca[i])
            if comp_b is not None and comp_b[i] != 0:
                ba[i], ca[i] = inc(comp_b[i], ba[i], ca[i])
        return spans, ba, ca
    kahan = comp_a is not None
    inc = _kahan_inc
    ba = list(buckets_a)
    ca = list(comp_a) if comp_a is not None else []
    i_span = -1
    i_bucket = -1
    i_in_span = 0
    index_a = 0
    next_b = 0  # the index of B's bucket after the last span's
    b_idx = 0
    lower_than_threshold = is_exponential_schema(schema)
    # Where B's bucket meets A (added into A's bucket, or inserted), the arithmetic depends on `kahan`:
    # plain `+=` / insert; or Kahan increments of the bucket, then of B's compensation / B's compensation
    # (0 without comp_b) inserted alongside. The walk itself is the same.
    for span_b in spans_b:
        start_b = next_b + span_b.offset
        next_b = start_b + span_b.length
        for index_b in range(start_b, next_b):
            if lower_than_threshold and _get_bound_exponential(index_b, schema) <= threshold:
                index_a = index_b
                b_idx += 1
                continue
            lower_than_threshold = False
            bucket_b = -buckets_b[b_idx] if negative else buckets_b[b_idx]
            if i_span == -1:
                if not a_off or a_off[0] > index_b:
                    # Add the bucket before all others.
                    ba.insert(0, bucket_b)
                    if kahan:
                        ca.insert(0, comp_b[b_idx] if comp_b is not None else 0.0)
                    if a_off and a_off[0] == index_b + 1:
                        a_len[0] += 1
                        a_off[0] -= 1
                    else:
                        a_off.insert(0, index_b)
                        a_len.insert(0, 1)
                        if len(a_off) > 1:
                            a_off[1] -= index_b + 1
                    index_a = index_b
                    b_idx += 1
                    continue
                if a_off[0] == index_b:
                    if kahan:
                        ba[0], ca[0] = inc(bucket_b, ba[0], ca[0])
                        if comp_b is not None and comp_b[b_idx] != 0:
                            ba[0], ca[0] = inc(comp_b[b_idx], ba[0], ca[0])
                    else:
                        ba[0] += bucket_b
                    index_a = index_b
                    b_idx += 1
                    continue
                i_span, i_bucket, i_in_span = 0, 0, 0
                index_a = a_off[0]
            delta = index_b - index_a
            while True:
                remaining = a_len[i_span] - i_in_span
                if delta < remaining:
                    # The bucket is in the current span.
                    i_bucket += delta
                    i_in_span += delta
                    if kahan:
                        ba[i_bucket], ca[i_bucket] = inc(bucket_b, ba[i_bucket], ca[i_bucket])
                        if comp_b is not None and comp_b[b_idx] != 0:
                            ba[i_bucket], ca[i_bucket] = inc(comp_b[b_idx], ba[i_bucket], ca[i_bucket])
                    else:
                        ba[i_bucket] += bucket_b
                    break
                delta -= remaining
                i_bucket += remaining
                i_span += 1
                n_spans = len(a_off)
                if i_span == n_spans or delta < a_off[i_span]:
                    # In the gap behind the previous span (or there are no further spans).
                    ba.insert(i_bucket, bucket_b)
                    if kahan:
                        ca.insert(i_bucket, comp_b[b_idx] if comp_b is not None else 0.0)
                    if delta == 0:
                        # Directly after the previous span: extend it.
                        if i_span < n_spans:
                            a_off[i_span] -= 1
                        i_span -= 1
                        i_in_span = a_len[i_span]
                        a_len[i_span] += 1
                    elif i_span < n_spans and delta == a_off[i_span] - 1:
                        # Directly before the next span: extend it.
                        i_in_span = 0
                        a_off[i_span] -= 1
                        a_len[i_span] += 1
                    else:
                        # A new span.
                        i_in_span = 0
                        if i_span < n_spans:
                            a_off[i_span] -= delta + 1
                        a_off.insert(i_span, delta)
                        a_len.insert(i_span, 1)
                    break
                # Try the start of the next span.
                delta -= a_off[i_span]
                i_in_span = 0
            index_a = index_b
            b_idx += 1
    return [Span(o, ln) for o, ln in zip(a_off, a_len, strict=True)], ba, ca


def intersect_custom_bounds(a: list[float], b: list[float]) -> list[float]:
    """Go's intersectCustomBucketBounds: the bounds both ascending lists have (compared with ==)."""
    out: list[float] = []
    if not a or not b:
        return out
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        x, y = a[i], b[j]
        if x == y:
            out.append(x)
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return out


def _add_custom_mismatched(
    negative: bool,
    spans_a: list[Span],
    buckets_a: list[float],
    bounds_a: list[float],
    comp_a: list[float] | None,
    spans_b: list[Span],
    buckets_b: list[float],
    bounds_b: list[float],
    inter: list[float],
) -> tuple[list[Span], list[float], list[float]]:
    """Go's addCustomBucketsWithMismatches (Prometheus >= 3.8): A + B (or A - B) for custom-bucket
    histograms of different bounds, on the bounds `inter` both have. A source bucket goes, whole, into the
    first target bucket whose upper bound is >= its own (the +Inf bucket when there is none): observations
    of buckets only one side has roll up into the next bucket both have. Every bucket goes in with a Kahan
    increment; `comp_a` (KahanAdd: A's compensation buckets) is added after each bucket of A. Returns the
    spans and buckets (empty target buckets left out, one span per run of consecutive ones) and the
    compensation of the reconciliation, in the same layout."""
    n = len(inter) + 1
    tb = [0.0] * n
    tc = [0.0] * n
    n_inter = len(inter)
    inc = _kahan_inc
    for src_spans, buckets, bounds, neg, comp in (
        (spans_a, buckets_a, bounds_a, False, comp_a),
        (spans_b, buckets_b, bounds_b, negative, None),
    ):
        src = 0
        pos = 0
        ii = 0
        nb = len(buckets)
        nbounds = len(bounds)
        for s in src_spans:
            src += s.offset
            for _ in range(s.length):
                if pos < nb:
                    t = n - 1  # the +Inf bucket
                    if src < nbounds:
                        sb = bounds[src]
                        while ii < n_inter:  # both ascending: go on from where the last bucket stopped
                            if inter[ii] >= sb:
                                t = ii
                                break
                            ii += 1
                    v = buckets[pos]
                    if neg:
                        tb[t], tc[t] = inc(-v, tb[t], tc[t])
                    else:
                        tb[t], tc[t] = inc(v, tb[t], tc[t])
                        if comp is not None:
                            tb[t], tc[t] = inc(comp[pos], tb[t], tc[t])
                src += 1
                pos += 1
    spans: list[Span] = []
    out_b: list[float] = []
    out_c: list[float] = []
    last = -1
    for i in range(n):
        if tb[i] == 0 and tc[i] == 0:
            continue
        out_b.append(tb[i])
        out_c.append(tc[i])
        if spans and i == last + 1:
            spans[-1].length += 1
        else:
            spans.append(Span(i - last - 1 if spans else i, 1))
        last = i
    return spans, out_b, out_c


def _reset_with_mismatched_bounds(curr: FloatHistogram, prev: FloatHistogram) -> bool:
    """Go's detectResetWithMismatchedCustomBounds: walking the bounds both custom-bucket histograms have
    (and +Inf), a reset if the observations of curr's buckets up to the bound (those not counted at an
    earlier common bound) are fewer than prev's."""
    def uppers(h: FloatHistogram) -> list[tuple[float, float]]:
        cv = h.custom_values
        return [(cv[i] if i < len(cv) else _INF, c) for i, c in _iter_indexed(h.positive_spans, h.positive_buckets)]

    cb, pb = uppers(curr), uppers(prev)
    c_bounds, p_bounds = curr.custom_values, prev.custom_values
    ci = pi = 0  # bound positions
    ck = pk = 0  # bucket positions

    def rollup(bk: list[tuple[float, float]], k: int, bound: float) -> tuple[float, int]:
        total = 0.0
        while k < len(bk) and bk[k][0] <= bound:
            total += bk[k][1]
            k += 1
        return total, k

    while ci <= len(c_bounds) and pi <= len(p_bounds):
        c_bound = c_bounds[ci] if ci < len(c_bounds) else _INF
        p_bound = p_bounds[pi] if pi < len(p_bounds) else _INF
        if c_bound == p_bound:
            c_sum, ck = rollup(cb, ck, c_bound)
            p_sum, pk = rollup(pb, pk, c_bound)
            if c_sum < p_sum:
                return True
            ci += 1
            pi += 1
        elif c_bound < p_bound:
            ci += 1
        else:
            pi += 1
    return False


def _kahan_compact(
    buckets: list[float], comp: list[float], spans: list[Span]
) -> tuple[list[float], list[float], list[Span]]:
    """Go's compactBuckets(maxEmptyBuckets=0) with compensation buckets: a bucket is empty when its count
    and its compensation are both 0. (Positions are carried through _compact_buckets as 1, 2, ...)"""
    keys = [float(i + 1) if (b != 0 or k != 0) else 0.0 for i, (b, k) in enumerate(zip(buckets, comp, strict=True))]
    kept, new_spans = _compact_buckets(keys, spans, 0)
    pos = [int(k) - 1 for k in kept]
    return [buckets[p] for p in pos], [comp[p] for p in pos], new_spans


def _kahan_reduce_resolution(
    spans: list[Span], buckets: list[float], comp: list[float], origin_schema: int, target_schema: int
) -> tuple[list[Span], list[float], list[float]]:
    """Go's kahanReduceResolution: _reduce_resolution with Kahan-compensated merges, the compensation
    buckets merged alongside (each merged bucket's compensation is added to the sum, as Go does)."""
    t_off: list[int] = []
    t_len: list[int] = []
    t_b: list[float] = []
    t_c: list[float] = []
    idx = 0
    pos = 0
    last_t = 0
    shift = origin_schema - target_schema
    n = len(buckets)
    for k, s in enumerate(spans):
        if k > 0 and s.offset < 0:
            raise HistogramError(
                f"span number {k + 1} with offset {s.offset}: histogram has a span whose offset is negative"
            )
        idx += s.offset
        for _ in range(s.length):
            if pos >= n:
                raise HistogramError(
                    f"have {n} buckets but spans need more: "
                    "histogram spans specify different number of buckets than provided"
                )
            t = ((idx - 1) >> shift) + 1
            if not t_off:
                t_off.append(t)
                t_len.append(1)
                t_b.append(buckets[pos])
                t_c.append(comp[pos])
                last_t = t
            elif t == last_t:
                t_b[-1], t_c[-1] = _kahan_inc(buckets[pos], t_b[-1], t_c[-1])
                t_b[-1], t_c[-1] = _kahan_inc(comp[pos], t_b[-1], t_c[-1])
            else:
                if t == last_t + 1:
                    t_len[-1] += 1
                else:
                    t_off.append(t - last_t - 1)
                    t_len.append(1)
                last_t = t
                t_b.append(buckets[pos])
                t_c.append(comp[pos])
            idx += 1
            pos += 1
    return [Span(o, ln) for o, ln in zip(t_off, t_len, strict=True)], t_b, t_c


def _compact_buckets(buckets: list[float], spans: list[Span], max_empty: int,
                     exact: bool = False) -> tuple[list[float], list[Span]]:
    """Go's compactBuckets for absolute counts; works on copies, returns the new lists."""
    if all(b != 0 for b in buckets) and all(s.offset > max_empty and s.length != 0 for s in spans):
        return list(buckets), [Span(s.offset, s.length) for s in spans]
    buckets = list(buckets)
    spans = [Span(s.offset, s.length) for s in spans]
    # Merge spans with zero offset.
    i_span = 0
    if len(spans) > 1:
        for i, span in enumerate(spans[1:]):
            if span.offset == 0:
                spans[i_span].length += span.length
                continue
            i_span += 1
            if i + 1 != i_span:
                spans[i_span] = span
        spans = spans[: i_span + 1]
    # Fold zero-length spans into the next one.
    i_span = 0
    for i, span in enumerate(spans):
        if span.length == 0:
            if i + 1 < len(spans):
                spans[i + 1].offset += span.offset
            continue
        if i != i_span:
            spans[i_span] = span
        i_span += 1
    spans = spans[:i_span]
    if not spans:
        return [], []
    i_span = 0
    i_bucket = 0
    pos_in_span = 0
    while i_bucket < len(buckets) and i_span < len(spans):
        # Count the empty buckets here (within the current span).
        n_empty = 0
        length = spans[i_span].length
        value = buckets[i_bucket]
        while n_empty + pos_in_span < length and value == 0:
            n_empty += 1
            if n_empty + i_bucket >= len(buckets):
                break
            value = buckets[n_empty + i_bucket]
        if n_empty > 0:
            if pos_in_span > 0 and n_empty < length - pos_in_span and n_empty <= max_empty:
                # Few enough empty buckets in the middle of a span: keep them.
                i_bucket += n_empty
                pos_in_span += n_empty
                continue
            del buckets[i_bucket : i_bucket + n_empty]
            if pos_in_span == 0:
                if n_empty == length:
                    # The whole span is empty.
                    offset = spans[i_span].offset
                    del spans[i_span]
                    if len(spans) > i_span:
                        spans[i_span].offset += offset + n_empty
                    continue
                spans[i_span].length -= n_empty
                spans[i_span].offset += n_empty
                continue
            # In the middle or at the end of the span: split it.
            new_span = Span(n_empty, length - pos_in_span - n_empty)
            spans[i_span].length = pos_in_span
            i_span += 1
            pos_in_span = 0
            if new_span.length == 0:
                if i_span < len(spans):
                    spans[i_span].offset += n_empty
                continue
            spans.insert(i_span, new_span)
            continue
        i_bucket += 1
        pos_in_span += 1
        if pos_in_span >= length:
            pos_in_span = 0
            i_span += 1
    if max_empty == 0 or not buckets:
        return buckets, spans
    # Merge spans that are at most max_empty buckets apart.
    i_bucket = spans[0].length
    i_span = 1
    while i_span < len(spans):
        if spans[i_span].offset > max_empty:
            i_bucket += spans[i_span].length
            i_span += 1
            continue
        offset = spans[i_span].offset
        length = spans[i_span].length
        spans[i_span - 1].length += offset + length
        del spans[i_span]
        buckets[i_bucket:i_bucket] = [0.0] * offset
        # 3.5 only skips the inserted empty buckets, so a further merge inserts its gap in the wrong
        # place; prometheus/prometheus #19312 also skips the merged span's buckets.
        i_bucket += offset + length if exact else offset
    return buckets, spans


def go_g(x: float) -> str:
    """Go's fmt %g of a float64 (shortest representation; exponent form below 1e-4 and from 1e+06 on)."""
    if x != x:
        return "NaN"
    if x == _INF:
        return "+Inf"
    if x == -_INF:
        return "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(x)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    nd = len(digits)
    dp = nd + exponent  # position of the decimal point relative to the first digit
    neg = "-" if sign else ""
    exp10 = dp - 1
    if exp10 < -4 or exp10 >= 6:
        mant = digits[0] + ("." + digits[1:] if nd > 1 else "")
        return f"{neg}{mant}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{digits}"
    if dp >= nd:
        return f"{neg}{digits}{'0' * (dp - nd)}"
    return f"{neg}{digits[:dp]}.{digits[dp:]}"


# -- Go's math.Log2 and math.Exp2 (as on amd64), so that interpolations match Prometheus bit for bit ------

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_HALF_SQRT2 = 7.07106781186547524401e-01
_LOG2_E = 1.44269504088896340735992468100189213742664595415298593  # Go's constant 1/Ln2, rounded once
_L1 = 6.666666666666735130e-01
_L2 = 3.999999999940941908e-01
_L3 = 2.857142874366239149e-01
_L4 = 2.222219843214978396e-01
_L5 = 1.818357216161805012e-01
_L6 = 1.531383769920937332e-01
_L7 = 1.479819860511658591e-01
_P1 = 1.66666666666666657415e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08


def _go_log(x: float) -> float:
    """Go's math.Log (the FreeBSD algorithm of its amd64 assembly)."""
    if x != x or x == _INF:
        return x
    if x < 0:
        return math.nan
    if x == 0:
        return -_INF
    f1, ki = math.frexp(x)
    if f1 <= _HALF_SQRT2:  # the amd64 assembly compares with <= (the pure Go version with <)
        f1 *= 2
        ki -= 1
    f = f1 - 1
    k = float(ki)
    s = f / (2 + f)
    s2 = s * s
    s4 = s2 * s2
    t1 = s2 * (_L1 + s4 * (_L3 + s4 * (_L5 + s4 * _L7)))
    t2 = s4 * (_L2 + s4 * (_L4 + s4 * _L6))
    r = t1 + t2
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)


def go_log2(x: float) -> float:
    """Go's math.Log2."""
    frac, exp = math.frexp(x)
    if frac == 0.5:
        return float(exp - 1)
    if x != x or x == _INF or x <= 0:
        return _go_log(x)
    return _go_log(frac) * _LOG2_E + float(exp)


def go_exp2(x: float) -> float:
    """Go's math.Exp2 (pure Go on amd64)."""
    if x != x:
        return x
    if x > 1.0239999999999999e03:
        return _INF
    if x < -1.0740e03:
        return 0.0
    k = int(x + 0.5) if x > 0 else int(x - 0.5) if x < 0 else 0
    t = x - float(k)
    hi = t * _LN2_HI
    lo = -t * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1 - ((lo - (r * c) / (2 - c)) - hi)
    return _ldexp(y, k)


# -- PromQL functions on native histograms (promql/quantile.go, promql/functions.go) ------------------------

QUANTILE_NAN_RESULT_INFO = (
    "PromQL info: input to histogram_quantile has NaN observations, result is NaN for metric name"
)
QUANTILE_NAN_SKEW_INFO = (
    "PromQL info: input to histogram_quantile has NaN observations, result is skewed higher for metric name"
)
FRACTION_NAN_INFO = (
    "PromQL info: input to histogram_fraction has NaN observations, which are excluded from all fractions "
    "for metric name"
)


def histogram_quantile(q: float, h: FloatHistogram, keep_bucket: bool = False) -> float:
    """histogram_quantile(q, h) of a native histogram (Prometheus's HistogramQuantile)."""
    return histogram_quantile_info(q, h, keep_bucket)[0]


def histogram_quantile_info(q: float, h: FloatHistogram, keep_bucket: bool = False) -> tuple[float, str | None]:
    """HistogramQuantile with its annotation: the quantile and None, or QUANTILE_NAN_RESULT_INFO /
    QUANTILE_NAN_SKEW_INFO (Prometheus appends the quoted metric name).

    keep_bucket (Prometheus >= 3.16, #19973): with a NaN sum, interpolate in the bucket where the rank is
    reached; before, in the histogram's last bucket (see below).

    q < 0 gives -Inf, q > 1 +Inf, q NaN or an empty histogram NaN. Exponential buckets interpolate
    exponentially, custom buckets and the zero bucket linearly; a zero bucket with only positive (negative)
    buckets beside it starts (ends) at 0; the custom buckets' -Inf / +Inf ends return the finite bound."""
    if q < 0:
        return -_INF, None
    if q > 1:
        return _INF, None
    if h.count == 0 or q != q:
        return math.nan, None
    info: str | None = None
    nan_sum = h.sum != h.sum
    forward = nan_sum or q < 0.5
    it = h.buckets() if forward else h.reverse_buckets()
    rank = q * h.count if forward else (1 - q) * h.count
    count = 0.0
    bucket: Bucket | None = None
    for b in it:
        bucket = b
        if b.count == 0:
            continue
        count += b.count
        if count >= rank:
            break
    if bucket is None:  # no buckets at all: Go's zero-value Bucket
        bucket = Bucket(0.0, 0.0, 0.0, False, False, 0)
    lower, upper, b_count = bucket.lower, bucket.upper, bucket.count
    custom = h.uses_custom_buckets()
    if not custom and lower < 0 and upper > 0:
        if not h.negative_buckets and h.positive_buckets:
            lower = 0.0
        elif not h.positive_buckets and h.negative_buckets:
            upper = 0.0
    elif custom:
        if lower == -_INF:
            if upper <= 0:
                return upper, None
            lower = 0.0
        elif upper == _INF:
            return lower, None
    if count > h.count:
        count = h.count
    if count < rank:
        if nan_sum:
            return math.nan, QUANTILE_NAN_RESULT_INFO
        return upper, None
    if forward:
        rank -= count - b_count
    else:
        rank = count - rank
    if nan_sum:
        # Prometheus 3.5 reuses its `bucket` variable here, so the interpolation below then happens in the
        # last bucket of the histogram (if any follows the one found); kept for identical results.
        for b in it:
            if not keep_bucket:
                lower, upper, b_count = b.lower, b.upper, b.count
            count += b.count
        if count < h.count:
            info = QUANTILE_NAN_SKEW_INFO
    fraction = _fdiv(rank, b_count)
    if custom or (lower <= 0 and upper >= 0):
        return lower + (upper - lower) * fraction, info
    log_lower = go_log2(abs(lower))
    log_upper = go_log2(abs(upper))
    if lower > 0:
        return go_exp2(log_lower + (log_upper - log_lower) * fraction), info
    return -go_exp2(log_upper + (log_lower - log_upper) * (1 - fraction)), info


def histogram_fraction(lower: float, upper: float, h: FloatHistogram, inf_bucket: bool = False,
                       nhcb_zero: bool = False) -> float:
    """histogram_fraction(lower, upper, h) of a native histogram (Prometheus's HistogramFraction)."""
    return histogram_fraction_info(lower, upper, h, inf_bucket, nhcb_zero)[0]


def histogram_fraction_info(lower: float, upper: float, h: FloatHistogram, inf_bucket: bool = False,
                            nhcb_zero: bool = False) -> tuple[float, str | None]:
    """HistogramFraction with its annotation (None or FRACTION_NAN_INFO). An empty histogram or a NaN bound
    gives NaN; lower >= upper gives 0; NaN observations count in no bucket.

    inf_bucket (Prometheus >= 3.8, #17424): a bound inside a bucket whose lower bound is -Inf takes that
    bucket's whole count, not NaN (no interpolation in an infinite bucket).
    nhcb_zero (Prometheus >= 3.16, #19657): custom buckets have no zero bucket; only a first bucket whose
    upper bound is positive starts at 0 (before: any bucket spanning 0 was the zero bucket, starting at 0)."""
    if h.count == 0 or lower != lower or upper != upper:
        return math.nan, None
    if lower >= upper:
        return 0.0, None
    custom = h.uses_custom_buckets()
    only_pos = not h.negative_buckets and bool(h.positive_buckets)
    only_neg = not h.positive_buckets and bool(h.negative_buckets)
    count = rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    it = h.buckets()
    for b in it:
        count += b.count
        b_lower, b_upper, b_count = b.lower, b.upper, b.count
        zero_bucket = False
        if custom and nhcb_zero:
            if b_lower == -_INF and b_upper > 0:
                b_lower = 0.0
        elif b_lower <= 0 and b_upper >= 0:
            zero_bucket = True
            if only_pos:
                b_lower = 0.0
            elif only_neg:
                b_upper = 0.0
        if not lower_set and b_lower >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and b_lower >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        linear = custom or zero_bucket
        if not lower_set and b_lower < lower < b_upper:
            lower_rank = (b_count if inf_bucket and linear and b_lower == -_INF
                          else _interpolate(linear, lower, rank, b_lower, b_upper, b_count))
            lower_set = True
        if not upper_set and b_lower < upper < b_upper:
            upper_rank = (b_count if inf_bucket and linear and b_lower == -_INF
                          else _interpolate(linear, upper, rank, b_lower, b_upper, b_count))
            upper_set = True
        if lower_set and upper_set:
            break
        rank += b_count
    info: str | None = None
    if h.sum != h.sum:
        for b in it:
            count += b.count
        if count < h.count:
            info = FRACTION_NAN_INFO
    else:
        count = h.count
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / h.count, info


def _interpolate(linear: bool, v: float, rank: float, lower: float, upper: float, count: float) -> float:
    if linear:
        return rank + _fdiv(count * (v - lower), upper - lower)
    log_lower = go_log2(abs(lower))
    log_upper = go_log2(abs(upper))
    log_v = go_log2(abs(v))
    if v > 0:
        fraction = _fdiv(log_v - log_lower, log_upper - log_lower)
    else:
        fraction = 1 - _fdiv(log_v - log_upper, log_lower - log_upper)
    return rank + count * fraction


def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    """Go's kahanSumInc (Neumaier)."""
    t = total + inc
    if t in (_INF, -_INF):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def histogram_stdvar(h: FloatHistogram) -> float:
    """histogram_stdvar(): the variance of the observations, each bucket's observations taken at one value
    (custom buckets: the arithmetic mean of the bounds; the zero bucket: 0; exponential buckets: the
    geometric mean of the bounds), Kahan-summed as Prometheus does."""
    mean = _fdiv(h.sum, h.count)
    variance = c = 0.0
    custom = h.uses_custom_buckets()
    for b in h.buckets():
        if b.count == 0:
            continue
        if custom:
            val = (b.upper + b.lower) / 2.0
        elif b.lower <= 0 and b.upper >= 0:
            val = 0.0
        else:
            prod = b.upper * b.lower
            val = math.sqrt(prod) if prod >= 0 else math.nan
            if b.upper < 0:
                val = -val
        delta = val - mean
        variance, c = _kahan_inc(b.count * delta * delta, variance, c)
    variance += c
    return _fdiv(variance, h.count)


def histogram_stddev(h: FloatHistogram) -> float:
    """histogram_stddev(): the square root of histogram_stdvar()."""
    v = histogram_stdvar(h)
    return math.sqrt(v) if v >= 0 or v != v else math.nan


def kahan_sum(hists: list[FloatHistogram], reconcile: bool = False) -> FloatHistogram:
    """Prometheus >= 3.10's sum of histograms (the `sum` aggregation, sum_over_time): Kahan-added in
    order, the compensation added at the end. Not compacted. Raises like add(); `reconcile` as there."""
    acc = hists[0].copy()
    comp: FloatHistogram | None = None
    for h in hists[1:]:
        acc, comp = acc.kahan_add(h, comp, reconcile)
    return acc if comp is None else acc.add(comp, reconcile)


def kahan_mean(hists: list[FloatHistogram], reconcile: bool = False) -> FloatHistogram:
    """Prometheus >= 3.10's mean of histograms (the `avg` aggregation, avg_over_time): the Kahan sum
    divided by the count, switching to an incremental mean (Kahan-compensated too) from the sample on
    which the running sum would overflow. Not compacted. Raises like add(); `reconcile` as there."""
    total = hists[0].copy()
    comp: FloatHistogram | None = None
    mean: FloatHistogram | None = None
    count = 1.0
    for h in hists[1:]:
        count += 1.0
        if mean is None:
            t, c = total.kahan_add(h, comp, reconcile)
            if not t.has_overflow():
                total, comp = t, c
                continue
            mean = total.div(count - 1)
            if comp is not None:
                comp = comp.div(count - 1)
        q = (count - 1) / count
        if comp is not None:
            comp = comp.mul(q)
        mean, comp = mean.mul(q).kahan_add(h.div(count), comp, reconcile)
    if mean is not None:
        return mean if comp is None else mean.add(comp, reconcile)
    total = total.div(count)
    return total if comp is None else total.add(comp.div(count), reconcile)


def incremental_mean(hists: list[FloatHistogram], reconcile: bool = False) -> FloatHistogram:
    """Prometheus 3.5 to 3.9's mean of histograms (the `avg` aggregation, avg_over_time): an incremental
    mean, mean += h/n - mean/n, without compensation. Not compacted. Raises like add(); `reconcile` as
    there."""
    mean = hists[0].copy()
    for i, h in enumerate(hists[1:]):
        n = float(i + 2)
        mean = mean.add(h.div(n).sub(mean.div(n), reconcile), reconcile)
    return mean
