"""Native histograms in Prometheus's API JSON: histogram_to_json / histogram_from_json / result items."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings

from opsctl.promql.histogram import CUSTOM_BUCKETS_SCHEMA, FloatHistogram
from opsctl.promql.notation import expand_values
from opsctl.promql.promjson import histogram_from_json, histogram_to_json, samples_from_result_item
from tests.promql.test_native_histograms import _histograms


def _nonempty(h: FloatHistogram) -> list[tuple[float, float, float]]:
    return [(b.lower, b.upper, b.count) for b in h.buckets() if b.count != 0]


@pytest.mark.parametrize("text", [
    "{{schema:0 sum:5 count:4 buckets:[1 2 1] offset:1}}",
    "{{schema:3 sum:5 count:9 z_bucket:2 z_bucket_w:0.001 buckets:[1 2 1] n_buckets:[3] n_offset:-2}}",
    "{{schema:-53 sum:5 count:4 custom_values:[0.1 0.5 1] buckets:[1 2 0 1]}}",
    "{{schema:-2 count:2 sum:1 buckets:[1 0 0 0 1]}}",
])
def test_round_trip_examples(text: str) -> None:
    (h,) = expand_values(text)
    back = histogram_from_json(histogram_to_json(h))
    assert back.compact(0).equals(h.compact(0))


def test_prometheus_json_shape() -> None:
    (h,) = expand_values("{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.5 buckets:[3]}}")
    assert histogram_to_json(h) == {"count": "4", "sum": "5",
                                    "buckets": [[3, "-0.5", "0.5", "1"], [0, "0.5", "1", "3"]]}


@given(_histograms())
@settings(max_examples=200, deadline=None)
def test_round_trip_keeps_buckets(h: FloatHistogram) -> None:
    """Empty buckets are not in the JSON; every non-empty bucket, the count and the sum come back.
    Not covered (the JSON cannot tell): the threshold of an empty zero bucket, buckets reaching into
    the zero bucket."""
    zt = h.zero_threshold
    assume(zt == 0 or (h.zero_count > 0 and all(b.lower >= zt or b.upper <= -zt for b in h.buckets()
                                                 if b.count and (b.lower, b.upper) != (-zt, zt))))
    back = histogram_from_json(histogram_to_json(h))
    assert (back.count, back.sum) == (h.count, h.sum)
    assert _nonempty(back) == _nonempty(h)
    assert back.uses_custom_buckets() == (h.uses_custom_buckets() and bool(_nonempty(h)))


def test_result_item_merges_floats_and_histograms() -> None:
    item = {"metric": {"__name__": "x"}, "values": [[1, "1"], [3, "NaN"]],
            "histograms": [[2, {"count": "2", "sum": "1", "buckets": [[0, "-Inf", "1", "2"]]}]]}
    ts, vs, hs = samples_from_result_item(item)
    assert ts == [1.0, 2.0, 3.0]
    assert vs[0] == 1.0 and math.isnan(vs[1]) and math.isnan(vs[2])
    assert hs[0] is None and hs[2] is None
    assert hs[1] is not None and hs[1].schema == CUSTOM_BUCKETS_SCHEMA and hs[1].count == 2.0
    ts, vs, hs = samples_from_result_item({"metric": {}, "histogram": [5, {"count": "0", "sum": "0"}]})
    assert ts == [5.0] and hs[0] is not None and hs[0].count == 0.0


@pytest.mark.parametrize("item", [
    {"histograms": [[1]]}, {"histograms": [[1, {"buckets": [[0, "a", "1", "1"]]}]]}, {"values": [["x", "1"]]},
])
def test_result_item_errors(item: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        samples_from_result_item(item)
