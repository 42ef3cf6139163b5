"""Native histograms in the embedded evaluator: notation, storage, selectors, functions, operators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.promql import Engine, Storage
from opsctl.promql.histogram import CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Span
from opsctl.promql.notation import expand_values, parse_series_desc
from opsctl.promql.promqltest import add_samples, classic_to_nhcb, histograms_match, run_text


def _load(storage: Storage, line: str, step_ms: int = 60_000) -> None:
    labels, vals = parse_series_desc(line)
    ts = [k * step_ms for k, v in enumerate(vals) if v is not None]
    add_samples(storage, labels, ts, [v for v in vals if v is not None])


# -- notation --------------------------------------------------------------------------------------


def test_notation_fields() -> None:
    hints: list[bool] = []
    (h,) = expand_values(
        "{{schema:1 sum:-5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1 n_buckets:[3] "
        "n_offset:-2 counter_reset_hint:gauge}}", hints)
    assert isinstance(h, FloatHistogram)
    assert (h.schema, h.sum, h.count, h.zero_count, h.zero_threshold) == (1, -5.0, 4.0, 1.0, 0.001)
    assert h.positive_spans == [Span(1, 2)] and h.positive_buckets == [1.0, 2.0]
    assert h.negative_spans == [Span(-2, 1)] and h.negative_buckets == [3.0]
    assert h.counter_reset_hint == CounterResetHint.GAUGE and hints == [True]
    (c,) = expand_values("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}")
    assert c.schema == CUSTOM_BUCKETS_SCHEMA and c.custom_values == [5.0, 10.0]


def test_notation_expansion_and_mixing() -> None:
    hints: list[bool] = []
    labels, vals = parse_series_desc(
        'm{a="b"} 1 _ {{sum:1 count:2 buckets:[2]}}+{{sum:1 count:1 buckets:[1]}}x2 stale {{count:1}}x1', hints)
    assert labels == {"__name__": "m", "a": "b"}
    assert vals[0] == 1.0 and vals[1] is None
    assert [v.count for v in vals[2:5]] == [2.0, 3.0, 4.0]
    assert [v.positive_buckets for v in vals[2:5]] == [[2.0], [3.0], [4.0]]
    assert math.isnan(vals[5])
    assert [v.count for v in vals[6:]] == [1.0, 1.0]
    assert len(hints) == len(vals) and not any(hints)
    down = expand_values("{{count:10 sum:10 buckets:[10]}}-{{count:2 sum:2 buckets:[2]}}x2")
    assert [v.count for v in down] == [10.0, 8.0, 6.0]


@pytest.mark.parametrize("bad", [
    "{{schema:0 sum:1", "{{foo:1}}", "{{sum:1 sum:2}}", "{{buckets:[1 2}}", "{{schema:x}}",
    "{{counter_reset_hint:maybe}}", "{{sum:1}}+{{sum:1}}", "{{sum:1}}y",
])
def test_notation_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        expand_values(bad)


_num = st.integers(min_value=0, max_value=1000).map(float)


@st.composite
def _histograms(draw: st.DrawFn) -> FloatHistogram:
    custom = draw(st.booleans())
    pos = draw(st.lists(_num, min_size=0, max_size=5))
    h = FloatHistogram(
        schema=CUSTOM_BUCKETS_SCHEMA if custom else draw(st.integers(min_value=-4, max_value=8)),
        # + 0.0: no -0 (TestExpression() leaves a zero sum out, so -0 cannot round-trip)
        count=draw(_num), sum=draw(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)) + 0.0,
        positive_spans=[Span(draw(st.integers(min_value=-3, max_value=3)) if not custom else 0, len(pos))]
        if pos else [],
        positive_buckets=pos,
        counter_reset_hint=CounterResetHint(draw(st.integers(min_value=0, max_value=3))),
    )
    if custom:
        # At least one bound: `custom_values:[]` (which TestExpression() prints) is a parse error in
        # Prometheus's grammar as well.
        bounds = st.lists(st.integers(1, 100).map(float), min_size=max(1, len(pos)), max_size=len(pos) + 2,
                          unique=True)
        h.custom_values = sorted(set(draw(bounds)))
    else:
        h.zero_count = draw(_num)
        h.zero_threshold = draw(st.sampled_from([0.0, 0.001, 1e-128]))
        neg = draw(st.lists(_num, min_size=0, max_size=3))
        h.negative_buckets = neg
        h.negative_spans = [Span(draw(st.integers(min_value=-3, max_value=3)), len(neg))] if neg else []
    return h


@given(_histograms())
@settings(max_examples=200, deadline=None)
def test_notation_round_trips_test_expression(h: FloatHistogram) -> None:
    """Prometheus's TestExpression() output parses back to the same histogram (as promqltest compares)."""
    (back,) = expand_values(h.test_expression())
    assert histograms_match(back.compact(0), h.compact(0), hint_set=True)


# -- storage and evaluation --------------------------------------------------------------------------


@pytest.fixture
def engine() -> Engine:
    s = Storage()
    _load(s, 'reqs{job="a"} 0+10x10')
    _load(s, 'lat{job="a"} {{schema:0 sum:0 count:0}}+{{schema:0 sum:2 count:4 buckets:[1 2 1]}}x10')
    _load(s, 'lat{job="b"} {{schema:0 sum:0 count:0}}+{{schema:0 sum:4 count:8 buckets:[2 4 2]}}x10')
    _load(s, 'mixed 1 2 {{count:3 sum:3 buckets:[3]}} 4')
    return Engine(s, v3=True)


def test_float_series_untouched(engine: Engine) -> None:
    r = engine.instant('reqs{job="a"}', 600)
    assert r.series[0].values[0] == 100.0 and r.series[0].histograms is None
    st_ = engine.storage.series_named("reqs")[0]
    assert st_.hs is None and st_.vs.dtype == np.float64


def test_selector_returns_histograms(engine: Engine) -> None:
    r = engine.instant('lat{job="a"}', 600)
    (s,) = r.series
    h = s.histograms[0]
    assert isinstance(h, FloatHistogram) and h.count == 40.0 and h.sum == 20.0
    assert math.isnan(s.values[0])
    # Lookback: the sample 10 minutes ago is still visible at 10m + 4m.
    assert engine.instant('lat{job="a"}', 840).series[0].histograms[0].count == 40.0
    assert engine.instant('lat{job="a"}', 1000).series == []


def test_histogram_functions(engine: Engine) -> None:
    def one(q: str, t: float = 600) -> float:
        r = engine.instant(q, t)
        assert len(r.series) == 1, q
        return float(r.series[0].values[0])

    assert one('histogram_count(lat{job="a"})') == 40.0
    assert one('histogram_sum(lat{job="a"})') == 20.0
    assert one('histogram_avg(lat{job="a"})') == 0.5
    assert one('histogram_count(rate(lat{job="a"}[5m]))') == pytest.approx(4 / 60)
    assert one('histogram_fraction(0, 1, lat{job="a"})') == pytest.approx(0.25)  # bucket (0.5, 1] holds 1/4
    # Exponential interpolation in the bucket (1, 2]:
    assert one('histogram_quantile(0.5, lat{job="a"})') == pytest.approx(math.sqrt(2))
    assert one('histogram_count(sum(lat))') == 120.0
    assert one('histogram_count(avg(lat))') == 60.0
    assert one("count(lat)") == 2.0
    # Float-only functions and aggregations ignore histograms.
    assert engine.instant("abs(lat)", 600).series == []
    assert engine.instant("max(lat)", 600).series == []
    assert one('histogram_count(lat{job="a"} * 2)') == 80.0
    assert one('histogram_count(lat{job="a"} / 4)') == 10.0
    assert engine.instant('lat{job="b"} - lat{job="a"}', 600).series == []  # labels differ
    assert one('histogram_count(lat{job="b"} - ignoring(job) lat{job="a"})') == 40.0
    assert engine.instant('lat{job="a"} + 1', 600).series == []  # histogram + float: dropped
    assert one('resets(lat{job="a"}[10m])') == 0.0
    assert one("changes(mixed[10m])", 180) == 3.0


def test_range_query_mixes_floats_and_histograms(engine: Engine) -> None:
    r = engine.range("mixed", 0, 180, 60)
    (s,) = r.series
    assert s.histograms is not None
    assert [h is not None for h in s.histograms] == [False, False, True, False]
    assert list(s.values[[0, 1, 3]]) == [1.0, 2.0, 4.0]
    assert s.histograms[2].count == 3.0


def test_rate_detects_counter_reset() -> None:
    s = Storage()
    _load(s, "h {{count:10 sum:10 buckets:[10]}} {{count:20 sum:20 buckets:[20]}} {{count:5 sum:5 buckets:[5]}}")
    e = Engine(s, v3=True)
    h = e.instant("increase(h[3m])", 120).series[0].histograms[0]
    # 10 up to the reset, then 5 from zero: 15 over 2 minutes, extrapolated to 3 minutes at most.
    assert h.count > 15.0 and h.counter_reset_hint == CounterResetHint.GAUGE
    assert e.instant("resets(h[3m])", 120).series[0].values[0] == 1.0


def test_load_with_nhcb() -> None:
    got = classic_to_nhcb([
        ({"__name__": "m_bucket", "le": "1"}, [0], [2.0]),
        ({"__name__": "m_bucket", "le": "+Inf"}, [0], [5.0]),
        ({"__name__": "m_count"}, [0], [5.0]),
        ({"__name__": "m_sum"}, [0], [7.0]),
    ])
    ((labels, ts, (h,)),) = got
    assert labels == {"__name__": "m"} and ts == [0]
    assert h.schema == CUSTOM_BUCKETS_SCHEMA and h.custom_values == [1.0]
    assert h.positive_buckets == [2.0, 3.0] and (h.count, h.sum) == (5.0, 7.0)


def test_promqltest_histogram_expectations_can_fail() -> None:
    text = """
load 1m
  h {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2

eval instant at 1m h
  h {{schema:0 sum:5 count:4 buckets:[1 2 1]}}

eval instant at 1m h
  h {{schema:0 sum:5 count:4 buckets:[1 3 0]}}

eval instant at 1m h
  h 4

eval instant at 1m h
  h {{schema:0 sum:5 count:4 buckets:[1 2 1] counter_reset_hint:gauge}}

eval range from 0 to 2m step 1m histogram_count(h)
  {} 4 4 4
"""
    fr = run_text(text, v3=True)
    assert [c.passed for c in fr.cases] == [True, False, False, False, True]
