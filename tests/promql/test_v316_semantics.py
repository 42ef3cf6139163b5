"""Results of existing functions and operators that later Prometheus 3.x releases changed, gated by version
(opsctl.promql.semantics): each case is the promqltest case of the Prometheus 3.16 corpus cited
(promql/promqltest/testdata/FILE:LINE), evaluated at the version that made the change (it must pass) and at
the version before (it must fail there, and the old answer must pass)."""

from __future__ import annotations

import pytest

from opsctl.promql.promqltest import run_text
from opsctl.promql.semantics import Version, engine_options

V316 = Version(3, 16)

# (id, 3.16 corpus reference, first version with the change, the case with 3.16's answer, the same case
# with the answer of the version before)
CASES: list[tuple[str, str, Version, str, str]] = [
    (
        "quantile_exact_rank_inf", "aggregators.test:574", Version(3, 16),
        """
load 10s
	data{test="finite before +Inf",point="a"} 1
	data{test="finite before +Inf",point="b"} 2
	data{test="finite before +Inf",point="c"} Inf
	data{test="positive infinity",point="a"} 1
	data{test="positive infinity",point="b"} Inf
	data{test="mixed infinities",point="a"} -Inf
	data{test="mixed infinities",point="b"} Inf

eval instant at 0m quantile without(point)(0.5, data)
	{test="finite before +Inf"} 2
	{test="positive infinity"} +Inf
	{test="mixed infinities"} NaN

eval instant at 0m quantile without(point)(1, data{test="positive infinity"})
	{test="positive infinity"} +Inf
""",
        """
load 10s
	data{test="finite before +Inf",point="a"} 1
	data{test="finite before +Inf",point="b"} 2
	data{test="finite before +Inf",point="c"} Inf
	data{test="positive infinity",point="a"} 1
	data{test="positive infinity",point="b"} Inf
	data{test="mixed infinities",point="a"} -Inf
	data{test="mixed infinities",point="b"} Inf

eval instant at 0m quantile without(point)(0.5, data)
	{test="finite before +Inf"} NaN
	{test="positive infinity"} +Inf
	{test="mixed infinities"} NaN

eval instant at 0m quantile without(point)(1, data{test="positive infinity"})
	{test="positive infinity"} NaN
""",
    ),
    (
        "quantile_over_time_exact_rank_inf", "functions.test:1724", Version(3, 16),
        """
load 10s
	data{test="finite before +Inf"} 1 2 Inf
	data{test="finite after -Inf"} -Inf 2 3
	data{test="negative infinity"} -Inf

eval instant at 1m quantile_over_time(0.5, data[2m])
	{test="finite before +Inf"} 2
	{test="finite after -Inf"} 2
	{test="negative infinity"} -Inf

eval instant at 1m quantile_over_time(0, data{test="negative infinity"}[2m])
	{test="negative infinity"} -Inf
""",
        """
load 10s
	data{test="finite before +Inf"} 1 2 Inf
	data{test="finite after -Inf"} -Inf 2 3
	data{test="negative infinity"} -Inf

eval instant at 1m quantile_over_time(0.5, data[2m])
	{test="finite before +Inf"} NaN
	{test="finite after -Inf"} 2
	{test="negative infinity"} NaN

eval instant at 1m quantile_over_time(0, data{test="negative infinity"}[2m])
	{test="negative infinity"} NaN
""",
    ),
    (
        "mad_over_time_nan", "functions.test:1574", Version(3, 14),
        """
load 10s
	metric_nan 1 2 NaN 3 4

eval instant at 30s mad_over_time(metric_nan[40s])
	{} NaN
""",
        """
load 10s
	metric_nan 1 2 NaN 3 4

eval instant at 30s mad_over_time(metric_nan[40s])
	{} 0.5
""",
    ),
    (
        "topk_nan_parameter", "aggregators.test:422", Version(3, 6),
        """
load 1m
	m{i="1"} 1
	m{i="2"} 2

eval instant at 0m topk(NaN, non_existent)
	expect fail msg: Parameter value is NaN

eval instant at 0m bottomk(NaN, m)
	expect fail msg: Parameter value is NaN

eval instant at 0m limitk(NaN, non_existent)
	expect fail msg: Parameter value is NaN

eval instant at 0m limit_ratio(NaN, non_existent)
	expect fail msg: Ratio value is NaN

eval instant at 0m limit_ratio(NaN, m)
	expect fail msg: Ratio value is NaN
""",
        """
load 1m
	m{i="1"} 1
	m{i="2"} 2

eval instant at 0m topk(NaN, non_existent)
	expect fail msg: Scalar value NaN overflows int64

eval instant at 0m bottomk(NaN, m)
	expect fail msg: Scalar value NaN overflows int64

eval instant at 0m limitk(NaN, non_existent)
	expect fail msg: Scalar value NaN overflows int64

eval instant at 0m limit_ratio(NaN, non_existent)

eval instant at 0m limit_ratio(NaN, m)
""",
    ),
    (
        "histogram_fraction_nhcb_zero_bound", "histograms.test:147", Version(3, 16),
        """
load_with_nhcb 5m
	testhistogram4_bucket{le="0"}	 0+4x10
	testhistogram4_bucket{le="1"}	 0+7x10
	testhistogram4_bucket{le="2"}	 0+9x10
	testhistogram4_bucket{le="+Inf"} 0+10x10
	testhistogram5_bucket{le="-5"}	 0+1x10
	testhistogram5_bucket{le="1"}	 0+3x10
	testhistogram5_bucket{le="+Inf"} 0+4x10

eval instant at 50m histogram_fraction(-Inf, 0, testhistogram4)
	{} 0.4

eval instant at 50m histogram_fraction(0, Inf, testhistogram4)
	{} 0.6

eval instant at 50m histogram_fraction(-Inf, 0, testhistogram5)
	{} 0.6666666666666666
""",
        """
load_with_nhcb 5m
	testhistogram4_bucket{le="0"}	 0+4x10
	testhistogram4_bucket{le="1"}	 0+7x10
	testhistogram4_bucket{le="2"}	 0+9x10
	testhistogram4_bucket{le="+Inf"} 0+10x10
	testhistogram5_bucket{le="-5"}	 0+1x10
	testhistogram5_bucket{le="1"}	 0+3x10
	testhistogram5_bucket{le="+Inf"} 0+4x10

eval instant at 50m histogram_fraction(-Inf, 0, testhistogram4)
	{} 0

eval instant at 50m histogram_fraction(0, Inf, testhistogram4)
	{} 1

eval instant at 50m histogram_fraction(-Inf, 0, testhistogram5)
	{} 0.25
""",
    ),
    (
        "histogram_fraction_infinite_first_bucket", "histograms.test:230", Version(3, 8),
        """
load_with_nhcb 5m
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="-3"}	 10+0x10
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="-2"}	 12+0x10
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="-1"}	 15+0x10
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="+Inf"} 100+0x10

eval instant at 50m histogram_fraction(-4, -2, negative_buckets_lower_falls_in_the_first_bucket_bucket)
	{} 0.02

eval instant at 50m histogram_fraction(-4, -2, negative_buckets_lower_falls_in_the_first_bucket)
	{} 0.02
""",
        """
load_with_nhcb 5m
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="-3"}	 10+0x10
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="-2"}	 12+0x10
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="-1"}	 15+0x10
	negative_buckets_lower_falls_in_the_first_bucket_bucket{le="+Inf"} 100+0x10

eval instant at 50m histogram_fraction(-4, -2, negative_buckets_lower_falls_in_the_first_bucket_bucket)
	{} NaN

eval instant at 50m histogram_fraction(-4, -2, negative_buckets_lower_falls_in_the_first_bucket)
	{} NaN
""",
    ),
    (
        "many_to_one_filter_checked_before_filtering", "operators.test:329", Version(3, 9),
        """
load 5m
	many_side{label="foo",job="test"} 0
	many_side{label="bar",job="test"} 1
	one_side{job="test"} 1

eval instant at 0m many_side > on(job) one_side
	expect fail msg: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)

eval instant at 0m many_side >= on(job) one_side
	expect fail msg: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)
""",
        """
load 5m
	many_side{label="foo",job="test"} 0
	many_side{label="bar",job="test"} 1
	one_side{job="test"} 1

eval instant at 0m many_side > on(job) one_side

eval instant at 0m many_side >= on(job) one_side
	{job="test"} 1
""",
    ),
    (
        "histogram_quantile_nan_le_ignored", "histograms.test:1260", Version(3, 16),
        """
load 1m
	invalid_only{le="NaN"} 1
	series{le="0.5"} 1
	series{le="+Inf"} 3
	series{le="NaN"} 2

eval instant at 0 histogram_quantile(0.5, invalid_only)

eval instant at 0 histogram_quantile(0.5, series)
	{} 0.5
""",
        """
load 1m
	invalid_only{le="NaN"} 1
	series{le="0.5"} 1
	series{le="+Inf"} 3
	series{le="NaN"} 2

eval instant at 0 histogram_quantile(0.5, invalid_only)
	{} NaN

eval instant at 0 histogram_quantile(0.5, series)
	{} NaN
""",
    ),
    (
        "native_histogram_quantile_nan_sum", "native_histograms.test:1672", Version(3, 16),
        """
load 1m
	histogram_nan_multi{case="NaN"} {{schema:0 count:0 sum:0}} {{schema:0 count:3 sum:NaN offset:1 buckets:[1 1]}}
	histogram_nan_multi{case="3 buckets"} {{schema:0 count:0 sum:0}} NAN_3B
	histogram_inf_obs {{schema:-4 count:0 sum:0}} INF_OBS

eval instant at 1m histogram_quantile(0.2, histogram_nan_multi{case="NaN"})
	{case="NaN"} 1.515716566510398

eval instant at 1m histogram_quantile(0.4, histogram_nan_multi{case="3 buckets"})
	{case="3 buckets"} 2.82842712474619

eval instant at 1m histogram_quantile(0.375, histogram_inf_obs)
	{} 256
""",
        """
load 1m
	histogram_nan_multi{case="NaN"} {{schema:0 count:0 sum:0}} {{schema:0 count:3 sum:NaN offset:1 buckets:[1 1]}}
	histogram_nan_multi{case="3 buckets"} {{schema:0 count:0 sum:0}} NAN_3B
	histogram_inf_obs {{schema:-4 count:0 sum:0}} INF_OBS

eval instant at 1m histogram_quantile(0.2, histogram_nan_multi{case="NaN"})
	{case="NaN"} 3.0314331330207964

eval instant at 1m histogram_quantile(0.4, histogram_nan_multi{case="3 buckets"})
	{case="3 buckets"} 8

eval instant at 1m histogram_quantile(0.375, histogram_inf_obs)
	{} +Inf
""",
    ),
    (
        "rad_deg_no_intermediate_overflow", "trig_functions.test:98", Version(3, 16),
        """
eval instant at 1m rad(vector(1e308))
	{} 1.7453292519943295e+306

eval instant at 1m deg(vector(1e306))
	{} 5.729577951308232e+307
""",
        """
eval instant at 1m rad(vector(1e308))
	{} +Inf

eval instant at 1m deg(vector(1e306))
	{} +Inf
""",
    ),
    (
        "negated_histogram_is_a_gauge", "native_histograms.test:1863", Version(3, 7),
        """
load 5m
	metric{id="1"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}x10

eval instant at 5m -metric
	{id="1"} {{count:-4 sum:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}

eval instant at 5m metric - 0.5 * metric
	{id="1"} {{count:2 sum:2 counter_reset_hint:gauge buckets:[0.5 1 0.5]}}

eval instant at 5m metric * -1
	{id="1"} {{count:-4 sum:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}

eval instant at 5m metric / -1
	{id="1"} {{count:-4 sum:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}
""",
        """
load 5m
	metric{id="1"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}x10

eval instant at 5m -metric
	{id="1"} {{count:-4 sum:-4 counter_reset_hint:not_reset buckets:[-1 -2 -1]}}

eval instant at 5m metric - 0.5 * metric
	{id="1"} {{count:2 sum:2 counter_reset_hint:not_reset buckets:[0.5 1 0.5]}}

eval instant at 5m metric * -1
	{id="1"} {{count:-4 sum:-4 counter_reset_hint:not_reset buckets:[-1 -2 -1]}}

eval instant at 5m metric / -1
	{id="1"} {{count:-4 sum:-4 counter_reset_hint:not_reset buckets:[-1 -2 -1]}}
""",
    ),
    (
        "by_name_drops_name_if_any_series_does", "name_label_dropping.test:119", Version(3, 9),
        """
load 1m
	metric_total{env="1"} 0+1x10
	metric_total{env="2"} 0+3x10

eval instant at 10m sum by (__name__) (metric_total{env="1"} or rate(metric_total{env="2"}[5m]))
	{} 10.05
""",
        """
load 1m
	metric_total{env="1"} 0+1x10
	metric_total{env="2"} 0+3x10

eval instant at 10m sum by (__name__) (metric_total{env="1"} or rate(metric_total{env="2"}[5m]))
	metric_total 10.05
""",
    ),
    (
        "type_and_unit_labels_transparent", "type_and_unit.test:39", Version(3, 16),
        """
load 5m
	http_requests_total{__type__="counter", __unit__="request", job="api-server", instance="0"}	0+10x10
	http_requests_total{__type__="counter", __unit__="request", job="api-server", instance="1"}	0+20x10
	cap_bytes{__type__="gauge", __unit__="bytes", pvc="data-0"} 100
	avail_bytes{__type__="gauge", __unit__="bytes", pvc="data-0"} 40

eval instant at 50m SUM(http_requests_total) WITHOUT (instance)
	{job="api-server"} 300

eval instant at 50m absent(http_requests_total{__type__="counter", __unit__="request", job="nonexistent"})
	{job="nonexistent"} 1

eval instant at 0m (cap_bytes - avail_bytes) / cap_bytes * 100
	{pvc="data-0"} 60
""",
        """
load 5m
	http_requests_total{__type__="counter", __unit__="request", job="api-server", instance="0"}	0+10x10
	http_requests_total{__type__="counter", __unit__="request", job="api-server", instance="1"}	0+20x10
	cap_bytes{__type__="gauge", __unit__="bytes", pvc="data-0"} 100
	avail_bytes{__type__="gauge", __unit__="bytes", pvc="data-0"} 40

eval instant at 50m SUM(http_requests_total) WITHOUT (instance)
	{__type__="counter", __unit__="request", job="api-server"} 300

eval instant at 50m absent(http_requests_total{__type__="counter", __unit__="request", job="nonexistent"})
	{__type__="counter", __unit__="request", job="nonexistent"} 1

eval instant at 0m (cap_bytes - avail_bytes) / cap_bytes * 100
""",
    ),
]


# the long histograms of native_histograms.test:1663-1699
_SUBST = {
    "INF_OBS": "{{schema:-4 count:4 sum:NaN offset:1 buckets:[1 1 " + "0 " * 62 + "1] n_offset:65 n_buckets:[1]}}",
    "NAN_3B": "{{schema:0 count:5 sum:NaN offset:1 buckets:[1 2 1]}}",
}


def _expand(text: str) -> str:
    for k, v in _SUBST.items():
        text = text.replace(k, v)
    return text


def _failures(text: str, version: Version) -> list[str]:
    res = run_text(_expand(text), version=version)
    assert res.total > 0
    return [f"line {c.line}: {c.message}" for c in res.cases if not c.passed]


def _before(version: Version) -> Version:
    return Version(version.major, version.minor - 1)


@pytest.mark.parametrize(("ident", "ref", "since", "new", "old"), CASES, ids=[c[0] for c in CASES])
def test_new_answer_from_its_version_on(ident: str, ref: str, since: Version, new: str, old: str) -> None:
    for version in {V316, since}:
        assert _failures(new, version) == [], (ref, version)


@pytest.mark.parametrize(("ident", "ref", "since", "new", "old"), CASES, ids=[c[0] for c in CASES])
def test_old_answer_before_its_version(ident: str, ref: str, since: Version, new: str, old: str) -> None:
    before = _before(since)
    assert _failures(old, before) == [], (ref, before)
    assert _failures(old, Version(3, 5)) == [], ref
    # every eval of the case changed
    res_new, res_old = run_text(_expand(new), version=before), run_text(_expand(old), version=since)
    assert all(not c.passed for c in res_new.cases), ref
    assert all(not c.passed for c in res_old.cases), ref


def test_every_option_is_off_at_3_5_and_on_at_3_16() -> None:
    """The options of these changes: all off for 3.5 (and 2.42), all on for 3.16, each from its version."""
    since = {"agg_param_checks": (3, 6), "hist_negative_gauge": (3, 7), "hist_fraction_inf_bucket": (3, 8),
             "binop_match_before_filter": (3, 9),
             "agg_any_drop_name": (3, 9), "mad_nan": (3, 14), "quantile_exact_rank": (3, 16),
             "nhcb_fraction_zero": (3, 16), "hist_nan_le_ignored": (3, 16), "hist_quantile_nan_bucket": (3, 16),
             "rad_deg_factor": (3, 16), "type_unit_transparent": (3, 16)}
    for name, (major, minor) in since.items():
        versions = [Version(2, 42), Version(3, 5), Version(major, minor - 1), Version(major, minor), V316]
        got = [dict(engine_options(v))[name] for v in versions]
        assert got == [False, False, False, True, True], name
