"""opsctl.promql.histogram: the float histogram arithmetic ported from Prometheus 3.5.

Table-driven cases are ported from Prometheus's own tests (the upstream file is named above each table).
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from opsctl.promql.histogram import (
    FRACTION_NAN_INFO,
    QUANTILE_NAN_RESULT_INFO,
    CounterResetHint,
    FloatHistogram,
    HistogramError,
    IncompatibleBoundsError,
    IncompatibleSchemaError,
    Span,
    go_g,
    histogram_fraction,
    histogram_fraction_info,
    histogram_quantile,
    histogram_quantile_info,
    histogram_stddev,
    histogram_stdvar,
)
from tests.conftest import shared_data_dir
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


# -- properties ---------------------------------------------------------------------------------------------

_counts = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def histograms(draw: st.DrawFn, schema: int | None = None, zero_threshold: float | None = None) -> FloatHistogram:
    """Valid histograms: non-negative counts, count = the sum of all buckets."""
    if draw(st.booleans()) and schema is None:
        bounds = sorted(set(draw(st.lists(st.floats(-100, 100, allow_nan=False), max_size=6))))
        n = len(bounds) + 1
        offset = draw(st.integers(0, n - 1))
        length = draw(st.integers(0, n - offset))
        pb = [draw(_counts) for _ in range(length)]
        return FloatHistogram(
            schema=-53,
            count=math.fsum(pb),
            sum=draw(st.floats(-1e6, 1e6)),
            positive_spans=[Span(offset, length)] if length else [],
            positive_buckets=pb,
            custom_values=bounds,
        )

    def side() -> tuple[list[Span], list[float]]:
        # Spans of at least one bucket: Prometheus panics on some layouts with empty spans (the oracle
        # test covers those).
        raw = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 4)), max_size=4))
        spans = [Span(o, n) for o, n in raw]
        if spans:
            spans[0].offset = draw(st.integers(-20, 20))
        return spans, [draw(_counts) for _ in range(sum(s.length for s in spans))]

    ps, pb = side()
    ns, nb = side()
    zc = draw(_counts)
    return FloatHistogram(
        schema=draw(st.integers(-4, 8)) if schema is None else schema,
        zero_threshold=draw(st.sampled_from([0.0, 0.001, 0.5])) if zero_threshold is None else zero_threshold,
        zero_count=zc,
        count=math.fsum([*pb, *nb, zc]),
        sum=draw(st.floats(-1e6, 1e6)),
        positive_spans=ps,
        negative_spans=ns,
        positive_buckets=pb,
        negative_buckets=nb,
    )


def by_index(h: FloatHistogram) -> dict[tuple[bool, int], float]:
    """Bucket counts by (positive?, index), empty buckets left out."""
    out: dict[tuple[bool, int], float] = {}
    for positive, spans, buckets in (
        (True, h.positive_spans, h.positive_buckets),
        (False, h.negative_spans, h.negative_buckets),
    ):
        idx = pos = 0
        for s in spans:
            idx += s.offset
            for _ in range(s.length):
                if buckets[pos] != 0:
                    out[(positive, idx)] = buckets[pos]
                idx += 1
                pos += 1
    return out


def close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, scale)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), schema=st.integers(-4, 8), zt=st.sampled_from([0.0, 0.001, 0.5]))
def test_add_then_sub_gives_back_the_counts(data: st.DataObject, schema: int, zt: float) -> None:
    a = data.draw(histograms(schema=schema, zero_threshold=zt))
    b = data.draw(histograms(schema=schema, zero_threshold=zt))
    back = a.add(b).sub(b)
    scale = a.count + b.count
    assert back.schema == a.schema and back.zero_threshold == a.zero_threshold
    assert close(back.count, a.count, scale) and close(back.zero_count, a.zero_count, scale)
    want, got = by_index(a), by_index(back)
    for key in set(want) | set(got):
        assert close(got.get(key, 0.0), want.get(key, 0.0), scale), key


@settings(max_examples=150, deadline=None)
@given(h=histograms(), max_empty=st.integers(0, 5))
def test_compact_keeps_count_sum_and_buckets(h: FloatHistogram, max_empty: int) -> None:
    c = h.compact(max_empty)
    assert (c.count, c.sum, c.zero_count) == (h.count, h.sum, h.zero_count)
    assert all(s.length > 0 for s in c.positive_spans + c.negative_spans)
    if max_empty == 0:
        assert by_index(c) == by_index(h)
        assert c.compact(0).equals(c)  # compacting is idempotent
    else:
        # Prometheus 3.5's compactBuckets misplaces the buckets of the third and later spans when it merges
        # two gaps in a row (it inserts the second gap at the start of the span merged before); we keep
        # that (see test_compact_chained_merges_like_prometheus): only the counts themselves are kept.
        assert sorted(by_index(c).values()) == sorted(by_index(h).values())


def test_compact_chained_merges_like_prometheus() -> None:
    # Answer of Prometheus 3.5.0's FloatHistogram.Compact(1) and TestExpression() for this histogram
    # (checked with tests/promql/histogram_oracle): buckets at 0, 2, 4 come out at 0, 3, 4.
    h = fh(count=6, sum=1, positive_spans=[(0, 1), (1, 1), (1, 1)], positive_buckets=[1, 2, 3])
    c = h.compact(1)
    assert [(s.offset, s.length) for s in c.positive_spans] == [(0, 5)]
    assert c.positive_buckets == [1, 0, 0, 2, 3]
    assert h.test_expression() == "{{count:6 sum:1 buckets:[1 0 0 2 3]}}"
    assert by_index(h.compact(0)) == by_index(h)  # max_empty_buckets=0 (what PromQL uses) is exact


@settings(max_examples=150, deadline=None)
@given(h=histograms(), qs=st.lists(st.floats(0, 1), min_size=2, max_size=6))
def test_quantile_is_monotone_in_q(h: FloatHistogram, qs: list[float]) -> None:
    # No bucket inside the zero bucket (there Prometheus's bucket iteration makes lower > upper).
    zt = h.zero_threshold
    assume(all(b.lower >= zt for b in h.positive_buckets_iter()))
    assume(all(b.upper <= -zt for b in h.negative_buckets_iter()))
    values = [histogram_quantile(q, h) for q in sorted(qs)]
    if h.count == 0:
        assert all(math.isnan(v) for v in values)
        return
    for lo, hi in itertools.pairwise(values):
        assert lo <= hi + 1e-9 * max(1.0, abs(hi)), (sorted(qs), values)


@settings(max_examples=150, deadline=None)
@given(h=histograms())
def test_fraction_of_everything_is_one(h: FloatHistogram) -> None:
    f = histogram_fraction(-math.inf, math.inf, h)
    if h.count == 0:
        assert math.isnan(f)
    else:
        assert f == 1.0


def test_quantile_and_fraction_edge_cases() -> None:
    h = fh(schema=0, count=4, sum=10, positive_spans=[(0, 2)], positive_buckets=[1, 3])  # (0.5,1]:1 (1,2]:3
    assert histogram_quantile(-0.1, h) == -math.inf
    assert histogram_quantile(1.1, h) == math.inf
    assert math.isnan(histogram_quantile(math.nan, h))
    assert math.isnan(histogram_quantile(0.5, fh()))  # empty histogram
    assert histogram_quantile(0.25, h) == 1.0  # rank 1 ends exactly at the first bucket's upper bound
    assert histogram_quantile(1.0, h) == 2.0
    assert math.isnan(histogram_fraction(0, 1, fh()))
    assert math.isnan(histogram_fraction(math.nan, 1, h))
    assert histogram_fraction(2, 1, h) == 0.0
    assert histogram_fraction(-math.inf, 1, h) == 0.25
    # NaN observations: count above the buckets' total and sum NaN.
    nan_h = fh(schema=0, count=5, sum=math.nan, positive_spans=[(0, 2)], positive_buckets=[1, 3])
    assert histogram_quantile_info(0.99, nan_h) == (pytest.approx(math.nan, nan_ok=True), QUANTILE_NAN_RESULT_INFO)
    assert histogram_fraction_info(-math.inf, math.inf, nan_h) == (0.8, FRACTION_NAN_INFO)
    # Custom buckets: the +Inf bucket returns its lower bound, the first one starts at 0 when its upper
    # bound is positive.
    nhcb = fh(schema=-53, count=4, sum=1, custom_values=[5, 10], positive_spans=[(0, 3)], positive_buckets=[2, 0, 2])
    assert histogram_quantile(0.9, nhcb) == 10.0
    assert histogram_quantile(0.25, nhcb) == 2.5
    # Zero bucket with only positive buckets beside it: interpolated from 0, linearly.
    z = fh(schema=0, count=4, zero_threshold=0.5, zero_count=2, positive_spans=[(1, 1)], positive_buckets=[2])
    assert histogram_quantile(0.25, z) == 0.25


def test_stddev_stdvar() -> None:
    # Observations 1.5 (2x in (1,2], at its geometric mean sqrt(2)) and 0 (zero bucket): mean 0.75.
    h = fh(schema=0, count=4, sum=3, zero_threshold=0.001, zero_count=2, positive_spans=[(1, 1)], positive_buckets=[2])
    mean = 0.75
    want = (2 * (math.sqrt(2) - mean) ** 2 + 2 * mean**2) / 4
    assert histogram_stdvar(h) == pytest.approx(want, rel=1e-15)
    assert histogram_stddev(h) == pytest.approx(math.sqrt(want), rel=1e-15)
    nhcb = fh(schema=-53, count=2, sum=15, custom_values=[5, 10], positive_spans=[(1, 1)], positive_buckets=[2])
    assert histogram_stdvar(nhcb) == 0.0  # both at the bucket's midpoint 7.5 = the mean
    assert math.isnan(histogram_stddev(fh()))


# -- histogram function cases of Prometheus's promqltest corpus (v3.5.0 native_histograms.test) -------------

_FUNCS = {
    "histogram_quantile": 1,
    "histogram_fraction": 2,
    "histogram_stddev": 0,
    "histogram_stdvar": 0,
}
_CALL = re.compile(r"^(histogram_\w+)\(\s*((?:[^,()]+,\s*){0,2})([a-zA-Z_:][\w:]*)\s*\)$")


def parse_notation(text: str) -> FloatHistogram:
    """A `{{...}}` sample of a load line (the few keys the cases below use; one span per side)."""
    body = text.strip()[2:-2]
    items = dict(re.findall(r"(\w+):(\[[^\]]*\]|\S+)", body))

    def floats(key: str) -> list[float]:
        return [float(v) for v in items.get(key, "[]").strip("[]").split()]

    pb, nb = floats("buckets"), floats("n_buckets")
    return FloatHistogram(
        schema=int(items.get("schema", "0")),
        zero_threshold=float(items.get("z_bucket_w", "0")),
        zero_count=float(items.get("z_bucket", "0")),
        count=float(items.get("count", "0")),
        sum=float(items.get("sum", "0")),
        positive_spans=[Span(int(items.get("offset", "0")), len(pb))] if pb else [],
        negative_spans=[Span(int(items.get("n_offset", "0")), len(nb))] if nb else [],
        positive_buckets=pb,
        negative_buckets=nb,
        custom_values=floats("custom_values"),
    )


def corpus_cases() -> list[tuple[int, str, list[float], str, float, str]]:
    """(line, function, scalar arguments, histogram text, expected value, info expectation) of every
    `eval instant` of a histogram function on a series loaded as one constant histogram (`{{...}}` or
    `{{...}}xN`, the only series of its name in its load block). Info expectation: "info" (eval_info),
    "no_info" (`expect no_info`) or "" (not checked)."""
    path = shared_data_dir() / "prometheus" / "promqltest-v3.5" / "native_histograms.test"
    lines = path.read_text().splitlines()
    series: dict[str, str | None] = {}
    out = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line.startswith("load "):
            series = {}
            while i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith("#"):
                m = re.match(r"^\s*([a-zA-Z_:][\w:]*)\s+(\{\{[^}]*\}\})(?:x\d+)?\s*$", lines[i])
                name = lines[i].split()[0].split("{")[0]
                series[name] = None if name in series or not m else m.group(2)
                i += 1
            continue
        m = re.match(r"^(eval|eval_info|eval_warn) instant at \S+ (.*)$", line)
        if not m or m.group(1) == "eval_warn":
            continue
        call = _CALL.match(m.group(2).strip())
        if not call or call.group(1) not in _FUNCS or series.get(call.group(3)) is None:
            continue
        args = [a.strip() for a in call.group(2).split(",") if a.strip()]
        if len(args) != _FUNCS[call.group(1)]:
            continue
        info = "info" if m.group(1) == "eval_info" else ""
        eval_line = i  # 1-based line number of the eval
        expected = None
        while i < len(lines) and lines[i].strip():
            body = lines[i].strip()
            if body == "expect no_info":
                info = "no_info"
            elif body.startswith("{}"):
                expected = float(body.split()[1])
            i += 1
        if expected is not None:
            hist = series[call.group(3)]
            assert hist is not None
            out.append((eval_line, call.group(1), [float(a) for a in args], hist, expected, info))
    return out


def test_corpus_histogram_function_cases() -> None:
    cases = corpus_cases()
    assert len(cases) >= 40, len(cases)  # the extraction must keep finding the cases
    failures = []
    for line, func, args, text, expected, info_want in cases:
        h = parse_notation(text)
        info = None
        if func == "histogram_quantile":
            got, info = histogram_quantile_info(args[0], h)
        elif func == "histogram_fraction":
            got, info = histogram_fraction_info(args[0], args[1], h)
        else:
            got = histogram_stddev(h) if func == "histogram_stddev" else histogram_stdvar(h)
        # promqltest's comparison: relative difference below 1e-6, NaN equals NaN.
        ok = got == pytest.approx(expected, rel=1e-6, nan_ok=True)
        if info_want == "info":
            ok = ok and info is not None
        elif info_want == "no_info":
            ok = ok and info is None
        if not ok:
            failures.append(f"line {line}: {func}{tuple(args)} of {text}: got {got} (info {info}), want {expected}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("h", "message"),
    [
        (fh(positive_spans=[(0, 2)], positive_buckets=[1.0]), "positive side: spans need 2 buckets, have 1 buckets"),
        (
            fh(negative_spans=[(0, 1), (-1, 1)], negative_buckets=[1.0, 1.0]),
            "negative side: span number 2 with offset -1",
        ),
        (
            fh(positive_spans=[(0, 1)], positive_buckets=[-2.5]),
            "positive side: bucket number 1 has observation count of -2.5",
        ),
        (fh(custom_values=[1.0]), "histogram with exponential schema must not have custom bounds"),
        (
            fh(schema=-53, custom_values=[2.0, 1.0]),
            "custom buckets: previous bound is 2.000000 and current is 1.000000",
        ),
        (
            fh(schema=-53, custom_values=[1.0, math.inf]),
            "custom buckets: last +Inf bound must not be explicitly defined",
        ),
        (
            fh(schema=-53, custom_values=[1.0], positive_spans=[(1, 2)], positive_buckets=[1.0, 1.0]),
            "custom buckets: only 1 custom bounds defined which is insufficient to cover total span length of 3",
        ),
        (fh(schema=-53, custom_values=[1.0], zero_count=1.0), "custom buckets: must have zero count of 0"),
        (fh(schema=-53, custom_values=[1.0], negative_spans=[(0, 1)]), "custom buckets: must not have negative spans"),
    ],
)
def test_validate_messages(h: FloatHistogram, message: str) -> None:
    # Texts of Prometheus 3.5's FloatHistogram.Validate (the oracle test compares them in full).
    with pytest.raises(HistogramError) as exc:
        h.validate()
    assert str(exc.value).startswith(message)


def test_validate_accepts_valid_histograms() -> None:
    fh(schema=3, count=3, positive_spans=[(-2, 1), (3, 2)], positive_buckets=[1.0, 0.0, 2.0]).validate()
    fh(
        schema=-53, count=2, custom_values=[1.0, 5.0], positive_spans=[(0, 3)], positive_buckets=[1.0, 0.0, 1.0]
    ).validate()


U, R, N, G = (
    CounterResetHint.UNKNOWN,
    CounterResetHint.COUNTER_RESET,
    CounterResetHint.NOT_COUNTER_RESET,
    CounterResetHint.GAUGE,
)


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        (R, R, R),
        (N, N, N),
        (G, R, G),
        (N, G, G),
        (U, N, U),
        (R, U, U),
        (R, N, U),  # a collision of reset and not-reset: unknown
        (N, R, U),
    ],
)
def test_add_counter_reset_hint(a: CounterResetHint, b: CounterResetHint, want: CounterResetHint) -> None:
    # The switch at the top of Prometheus 3.5's FloatHistogram.Add; Sub keeps the receiver's hint.
    assert fh(count=1, counter_reset_hint=a).add(fh(count=1, counter_reset_hint=b)).counter_reset_hint == want
    assert fh(count=1, counter_reset_hint=a).sub(fh(count=1, counter_reset_hint=b)).counter_reset_hint == a


def test_spans_match() -> None:
    from opsctl.promql.histogram import spans_match

    assert spans_match([Span(1, 2)], [Span(0, 0), Span(1, 2)])
    assert spans_match([Span(1, 2), Span(0, 0)], [Span(1, 2)])
    assert not spans_match([Span(1, 2), Span(0, 1)], [Span(1, 3)])  # adjacent spans are not merged
    assert not spans_match([Span(1, 2)], [Span(2, 2)])


def test_reduce_resolution_upstream() -> None:
    # TestFloatHistogramReduceResolution of Prometheus v3.5.0 (model/histogram/float_histogram_test.go).
    spans = [(0, 4), (0, 0), (3, 2)]
    h = fh(
        positive_spans=spans,
        positive_buckets=[1, 3, 1, 2, 1, 1],
        negative_spans=spans,
        negative_buckets=[1, 3, 1, 2, 1, 1],
    )
    want = fh(
        schema=-1,
        positive_spans=[(0, 3), (1, 1)],
        positive_buckets=[1, 4, 2, 2],
        negative_spans=[(0, 3), (1, 1)],
        negative_buckets=[1, 4, 2, 2],
    )
    assert fields(h.reduce_resolution(-1)) == fields(want)
    with pytest.raises(HistogramError):
        h.reduce_resolution(0)
