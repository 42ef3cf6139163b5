"""opsctl.promql.histogram: the float histogram arithmetic ported from Prometheus 3.5.

Table-driven cases are ported from Prometheus's own tests (the upstream file is named above each table).
"""

from __future__ import annotations

import math

import pytest

from opsctl.promql.histogram import (
    CounterResetHint,
    FloatHistogram,
    Span,
    go_g,
)


def fh(**kw: object) -> FloatHistogram:
    """A FloatHistogram from keyword arguments; spans given as [(offset, length), ...]."""
    for key in ("positive_spans", "negative_spans"):
        if key in kw:
            kw[key] = [Span(o, n) for o, n in kw[key]]  # type: ignore[attr-defined]
    return FloatHistogram(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "want"),
    [
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.25e-7, "-2.25e-07"),
        (100.0, "100"),
        (-0.0, "-0"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (1e21, "1e+21"),
        (0.1, "0.1"),
    ],
)
def test_go_g(x: float, want: str) -> None:
    assert go_g(x) == want


def test_copy_is_deep_and_drops_unused_fields() -> None:
    h = fh(schema=0, count=3, sum=2, positive_spans=[(0, 1)], positive_buckets=[3.0], custom_values=[1.0])
    c = h.copy()
    assert c.equals(h)
    c.positive_buckets[0] = 7
    c.positive_spans[0].length = 2
    assert h.positive_buckets == [3.0] and h.positive_spans[0].length == 1
    assert c.custom_values == []  # exponential schema: custom values dropped, like Go's Copy
    nhcb = fh(schema=-53, count=1, custom_values=[1.0, 2.0], zero_count=5, negative_buckets=[1.0])
    assert nhcb.uses_custom_buckets() and not h.uses_custom_buckets()
    c2 = nhcb.copy()
    assert c2.custom_values == [1.0, 2.0] and c2.zero_count == 0 and c2.negative_buckets == []


def test_equals_compares_bit_patterns_and_layout() -> None:
    a = fh(count=1, sum=math.nan, positive_spans=[(0, 2)], positive_buckets=[1.0, 0.0])
    b = fh(count=1, sum=math.nan, positive_spans=[(0, 0), (0, 2)], positive_buckets=[1.0, 0.0])
    assert a.equals(b)  # zero-length spans are folded
    assert not a.equals(fh(count=1, sum=math.nan, positive_spans=[(0, 1)], positive_buckets=[1.0]))
    assert not a.equals(fh(count=1, sum=1, positive_spans=[(0, 2)], positive_buckets=[1.0, 0.0]))
    z = fh(sum=0.0)
    assert not z.equals(fh(sum=-0.0))
    hint = fh(count=1, counter_reset_hint=CounterResetHint.GAUGE)
    assert hint.equals(fh(count=1))  # the counter reset hint is not compared
    assert not a.equals(None)


def test_test_expression_basic() -> None:
    h = fh(
        schema=0,
        count=10,
        sum=12,
        zero_threshold=0.001,
        zero_count=2,
        positive_spans=[(0, 2), (1, 2)],
        positive_buckets=[1, 2, 0, 3],
        negative_spans=[(0, 1)],
        negative_buckets=[2],
    )
    assert h.test_expression() == "{{count:10 sum:12 z_bucket:2 z_bucket_w:0.001 buckets:[1 2 0 0 3] n_buckets:[2]}}"
    nhcb = fh(schema=-53, count=3, sum=5, custom_values=[5, 10], positive_spans=[(1, 1)], positive_buckets=[3])
    assert nhcb.test_expression() == "{{schema:-53 count:3 sum:5 custom_values:[5 10] offset:1 buckets:[3]}}"
    assert fh().test_expression() == "{{}}"
