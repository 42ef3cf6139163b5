"""opsctl.promql.histogram: the float histogram arithmetic ported from Prometheus 3.5.

Table-driven cases are ported from Prometheus's own tests (the upstream file is named above each table).
"""

from __future__ import annotations

import math

import pytest

from opsctl.promql.histogram import (
    CounterResetHint,
    FloatHistogram,
    HistogramError,
    IncompatibleBoundsError,
    IncompatibleSchemaError,
    Span,
    go_g,
)
from tests.promql import histogram_upstream_cases as up


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


def fields(h: FloatHistogram) -> tuple[object, ...]:
    """Every field, spans as tuples: the comparison Go's require.Equal (reflect.DeepEqual) makes."""
    return (
        h.schema,
        h.zero_threshold,
        h.zero_count,
        h.count,
        h.sum,
        [(s.offset, s.length) for s in h.positive_spans],
        [(s.offset, s.length) for s in h.negative_spans],
        h.positive_buckets,
        h.negative_buckets,
        h.custom_values,
        h.counter_reset_hint,
    )


def ids(table: list[tuple[object, ...]]) -> list[str]:
    return [str(case[0]) for case in table]


# -- Prometheus v3.5.0's own test vectors (see histogram_upstream_cases.py for the upstream files) ---------


@pytest.mark.parametrize(("name", "h", "factor", "expected"), up.MUL, ids=ids(up.MUL))
def test_mul_upstream(name: str, h: FloatHistogram, factor: float, expected: FloatHistogram) -> None:
    before = fields(h)
    assert fields(h.mul(factor)) == fields(expected)
    assert fields(h) == before  # our methods never change their receiver


@pytest.mark.parametrize(("name", "h", "divisor", "expected"), up.DIV, ids=ids(up.DIV))
def test_div_upstream(name: str, h: FloatHistogram, divisor: float, expected: FloatHistogram) -> None:
    assert fields(h.div(divisor)) == fields(expected)


@pytest.mark.parametrize(("name", "previous", "current", "reset"), up.DETECT_RESET, ids=ids(up.DETECT_RESET))
def test_detect_reset_upstream(name: str, previous: FloatHistogram, current: FloatHistogram, reset: bool) -> None:
    assert current.detect_reset(previous) is reset


@pytest.mark.parametrize(("name", "h", "max_empty", "expected"), up.COMPACT, ids=ids(up.COMPACT))
def test_compact_upstream(name: str, h: FloatHistogram, max_empty: int, expected: FloatHistogram) -> None:
    before = fields(h)
    assert fields(h.compact(max_empty)) == fields(expected)
    assert fields(h) == before


def _check_add_sub(a: FloatHistogram, b: FloatHistogram, expected: FloatHistogram | None, err: str, sub: bool) -> None:
    a_before, b_before = fields(a), fields(b)
    if err:
        with pytest.raises(HistogramError) as exc:
            a.sub(b) if sub else a.add(b)
        assert str(exc.value) == err
        return
    res = a.sub(b) if sub else a.add(b)
    assert expected is not None
    assert fields(res.compact(0)) == fields(expected.compact(0))
    assert (fields(a), fields(b)) == (a_before, b_before)


@pytest.mark.parametrize(("name", "a", "b", "expected", "err"), up.ADD, ids=ids(up.ADD))
def test_add_upstream(
    name: str, a: FloatHistogram, b: FloatHistogram, expected: FloatHistogram | None, err: str
) -> None:
    # Like Go's testHistogramAdd: both orders give the same sum.
    _check_add_sub(a, b, expected, err, sub=False)
    _check_add_sub(b, a, expected, err, sub=False)


@pytest.mark.parametrize(("name", "a", "b", "expected", "err"), up.SUB, ids=ids(up.SUB))
def test_sub_upstream(
    name: str, a: FloatHistogram, b: FloatHistogram, expected: FloatHistogram | None, err: str
) -> None:
    _check_add_sub(a, b, expected, err, sub=True)
    _check_add_sub(b, a, expected.mul(-1) if expected is not None else None, err, sub=True)


@pytest.mark.parametrize(("name", "schema", "h", "expected"), up.COPY_TO_SCHEMA, ids=ids(up.COPY_TO_SCHEMA))
def test_copy_to_schema_upstream(name: str, schema: int, h: FloatHistogram, expected: FloatHistogram) -> None:
    assert fields(h.copy_to_schema(schema)) == fields(expected)


@pytest.mark.parametrize(("name", "h", "expected"), up.STRING, ids=ids(up.STRING))
def test_string_upstream(name: str, h: FloatHistogram, expected: str) -> None:
    assert str(h) == expected


@pytest.mark.parametrize(("name", "h", "expected"), up.TEST_EXPRESSION, ids=ids(up.TEST_EXPRESSION))
def test_test_expression_upstream(name: str, h: FloatHistogram, expected: str) -> None:
    assert h.test_expression() == expected


def test_errors_are_typed() -> None:
    exp = fh(count=1)
    nhcb = fh(schema=-53, count=1, custom_values=[1.0])
    with pytest.raises(IncompatibleSchemaError):
        exp.add(nhcb)
    with pytest.raises(IncompatibleBoundsError):
        nhcb.sub(fh(schema=-53, count=1, custom_values=[2.0]))
