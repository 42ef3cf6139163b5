"""Compaction merging bucket spans that are few empty buckets apart (Go's compactBuckets), as used by
TestExpression() (every gap) and promqltest's integer-histogram comparison (gaps of up to 2): 3.5
misplaces the buckets after two merges in a row (kept by default, see test_histogram_math), 3.16 has the
fix (prometheus/prometheus #19312): `exact=True`."""

from __future__ import annotations

from opsctl.promql.histogram import FloatHistogram, Span


def test_three_spans_with_gaps_print_in_place() -> None:
    # promtool 3.16 prints the sum of {{offset:-2 buckets:[10.5 0 21 0 21]}} and a histogram without
    # buckets (spans -2:1, 0:1, 2:1 after the addition) as offset:-2 buckets:[10.5 0 21 0 21]
    h = FloatHistogram(schema=0, count=3, sum=1, positive_spans=[Span(-2, 1), Span(1, 1), Span(1, 1)],
                       positive_buckets=[1.0, 2.0, 3.0])
    assert h.test_expression(exact=True) == "{{count:3 sum:1 offset:-2 buckets:[1 0 2 0 3]}}"
    assert h.test_expression() == "{{count:3 sum:1 offset:-2 buckets:[1 0 0 2 3]}}"  # Prometheus 3.5


def test_exact_compact_merges_only_small_gaps() -> None:
    h = FloatHistogram(schema=0, count=21, sum=1,
                       positive_spans=[Span(-2, 2), Span(1, 1), Span(2, 2), Span(5, 1)],
                       positive_buckets=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    c = h.compact(2, exact=True)
    assert c.positive_spans == [Span(-2, 8), Span(5, 1)]
    assert c.positive_buckets == [1.0, 2.0, 0.0, 3.0, 0.0, 0.0, 4.0, 5.0, 6.0]
