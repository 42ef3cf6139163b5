# ruff: noqa: E501  (the corpus blocks are Prometheus 3.16's text, kept as written)
"""The PromQL functions Prometheus added after 3.5, each gated by version (opsctl.promql.semantics
NEW_FUNCTIONS / DURATION_FUNCTIONS): integral (3.16, #14440), histogram_quantiles (3.11, #17285),
start/end/range/step (3.12, #17877), min_of/max_of (3.13, #18687), and step() (3.6, #16777), range() (3.10)
and min_of/max_of (3.13) inside duration expressions.

The cases are Prometheus 3.16's own promqltest cases (file:line of its promql/promqltest/testdata given
with each block), run by opsctl's promqltest runner: all pass at 3.16; at an older version exactly the
cases using a function that version lacks fail, with Prometheus's parse error.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from opsctl.promql import durexpr
from opsctl.promql.engine import Engine
from opsctl.promql.functions import openmetrics_float
from opsctl.promql.model import Labels, PromQLError, Storage
from opsctl.promql.promqltest import FileResult, run_text
from opsctl.promql.semantics import NEW_FUNCTIONS, Version, engine_options
from opsctl.rules.versions import EXPERIMENTAL_FUNCTIONS, FUNCTION_SINCE

V316 = Version(3, 16)

# Prometheus 3.16 promql/promqltest/testdata/functions.test:969-1027
INTEGRAL_BASIC = r"""
load 10s
  metric 1 2 3 4 5
  metric2 1 2 3 4 Inf
  metric3 1 2 3 4 -Inf
  metric4 1 2 3 Inf -Inf
  metric5 Inf 0 Inf
  metric5b Inf 0 Inf
  metric5c Inf Inf Inf -Inf
  metric6 1 2 3 -Inf -Inf
  metric6b -Inf 0 -Inf
  metric6c -Inf -Inf -Inf Inf
  metric7 1 2 -Inf -Inf Inf
  metric8 9.988465674311579e+307 9.988465674311579e+307
  metric9 -9.988465674311579e+307 -9.988465674311579e+307 -9.988465674311579e+307
  metric10 -9.988465674311579e+307 9.988465674311579e+307
  metric11 1 2 3 NaN NaN
  metric12 1 2 3 {{schema:0 sum:1 count:1}} {{schema:0 sum:3 count:3}}
  metric13 {{schema:0 sum:1 count:1}}x5

# No samples in the range.
eval instant at 55s avg_over_time(metric[10s])

# One sample in the range.
eval instant at 55s avg_over_time(metric[20s])
  {} 5

# All samples in the range.
eval instant at 55s avg_over_time(metric[1m])
  {} 3

eval instant at 55s sum_over_time(metric[1m])/count_over_time(metric[1m])
  {} 3

# Default integral: mid-point rule (prev+curr)/2 * delta-time
eval instant at 55s integral(metric[1m])
  {} 120

eval instant at 55s integral(metric[1m], 2)
  {} 120

# Left-point integral: prev * delta-time
eval instant at 55s integral(metric[1m], 0)
  {} 100

# Right-point integral: curr * delta-time
eval instant at 55s integral(metric[1m], 1)
  {} 140

eval instant at 55s integral(metric5b[1m])
  {} Inf

eval instant at 55s avg_over_time(metric2[1m])
  {} Inf

eval instant at 55s sum_over_time(metric2[1m])/count_over_time(metric2[1m])
  {} Inf

eval instant at 55s integral(metric2[1m])/count_over_time(metric2[1m])
  {} Inf
"""


# Prometheus 3.16 promql/promqltest/testdata/functions.test:1290-1498
INTEGRAL_MORE = r"""
clear
load 1s
  integral_large{sign="positive"} 1e308 1e308
  integral_large{sign="negative"} -1e308 -1e308

# Averaging finite samples must not overflow before dividing by two.
eval instant at 1s integral(integral_large[2s])
  {sign="positive"} 1e308
  {sign="negative"} -1e308

clear
load 5m
  integral_presence _ 1 1 1 1 stale

# Fill healthy periods with zero so integration does not bridge separate absences.
eval instant at 30m integral((absent(integral_presence) or vector(0))[31m:5m])
  {} 600

clear
load 10s
  metricbignum 0 1 1e100 1 -1e100 1 0
  metricinf 1 Inf 1 -Inf 1
  http_requests_total{app="ok", status="200"} 0+100x10000
  http_requests_total{app="ok", status="500"}   0+0x10000
  http_requests_total{app="justok", status="200"} 0+99.01x100 9901+100x9900
  http_requests_total{app="justok", status="500"}  0+0.99x100     99+0x9900
  http_requests_total{app="ko", status="200"} 0+99x100 9900+100x9900
  http_requests_total{app="ko", status="500"}  0+1x100    100+0x9900
  metricoscillator 0 1 2 1 0 -1 -2 -1 0
  metricnan1 NaN NaN 1 NaN NaN NaN
  metricnan2 NaN NaN 1 NaN NaN 2 NaN NaN NaN NaN NaN NaN NaN

# mid-point
eval instant at 1m integral(metricbignum[2m])
  {} 30

# mid-point fallback after warning
eval_warn instant at 1m integral(metricbignum[2m], 3)
  {} 30

# left-point
eval instant at 1m integral(metricbignum[2m], 0)
  {} 30

# right-point
eval instant at 1m integral(metricbignum[2m], 1)
  {} 30

eval instant at 1m integral(metricinf[2m])
  {} NaN

## SLA and integral()
## Note that we evaluate at 10010s (i.e. one step beyond the 10000s range) to ensure rate() has stabilized for the interval
#
# app="ok" has no 500s at all
eval instant at 10010s integral(((sum by (app) (rate(http_requests_total{app="ok", status="500"}[11s])) / sum by (app) (rate(http_requests_total{app="ok"}[11s]))) < bool 0.01)[10010s:10s], 1) / 10000 * 100
  {app="ok"} 100.00

# app="justok" has 1/10th period of 500s just there below 1%
eval instant at 10010s integral(((sum by (app) (rate(http_requests_total{app="justok", status="500"}[11s])) / sum by (app) (rate(http_requests_total{app="justok"}[11s]))) < bool 0.01)[10010s:10s], 1) / 10000 * 100
  {app="justok"} 100.00

# app="ko" has 1/10th period of 500s above 1%
eval instant at 10010s integral(((sum by (app) (rate(http_requests_total{app="ko", status="500"}[11s])) / sum by (app) (rate(http_requests_total{app="ko"}[11s]))) < bool 0.01)[10010s:10s], 1) / 10000 * 100
  {app="ko"} 90.00

## Simple discrete zero-up-zero-down-zero oscillator
# mid-point
eval instant at 2m integral(metricoscillator[2m1s])
  {} 0

# left-point
eval instant at 2m integral(metricoscillator[2m1s], 0)
  {} 0

# right-point
eval instant at 2m integral(metricoscillator[2m1s], 1)
  {} 0

## Simple integral test for single non-NaN point
# mid-point
eval instant at 10s integral(metricnan1[10s])
  {} 0

eval instant at 20s integral(metricnan1[20s])
  {} 5

eval instant at 30s integral(metricnan1[30s])
  {} 10

# left-point
eval instant at 10s integral(metricnan1[10s], 0)
  {} 0

eval instant at 20s integral(metricnan1[20s], 0)
  {} 0

eval instant at 30s integral(metricnan1[30s], 0)
  {} 10

# right-point
eval instant at 10s integral(metricnan1[10s], 1)
  {} 0

eval instant at 20s integral(metricnan1[20s], 1)
  {} 10

eval instant at 30s integral(metricnan1[30s], 1)
  {} 10

## Integral test for couple non-NaN points
# mid-point
eval instant at 50s integral(metricnan2[50s])
  {} 20

eval instant at 60s integral(metricnan2[60s])
  {} 30

eval instant at 60s integral(metricnan2[60s])
  {} 30

# left-point
eval instant at 50s integral(metricnan2[50s], 0)
  {} 10

eval instant at 60s integral(metricnan2[60s], 0)
  {} 30

eval instant at 60s integral(metricnan2[60s], 0)
  {} 30

# right-point
eval instant at 50s integral(metricnan2[50s], 1)
  {} 30

eval instant at 60s integral(metricnan2[60s], 1)
  {} 30

eval instant at 60s integral(metricnan2[60s], 1)
  {} 30

## Below two integral tests must give same result for mid-point, left-point, and right-point
# - integral over 2m range
# - same integral over 2m (whole) range, slotted with sum_over_time() each 10s
#
# 1) mid-point
eval instant at 2m integral(metricnan2[2m])
  {} 30

eval instant at 2m sum_over_time(integral(metricnan2[11s])[2m:10s])
  {} 30

# 2) left-point
eval instant at 2m integral(metricnan2[2m], 0)
  {} 30

eval instant at 2m sum_over_time(integral(metricnan2[11s], 0)[2m:10s])
  {} 30

# 3) right-point
eval instant at 2m integral(metricnan2[2m], 1)
  {} 30

eval instant at 2m sum_over_time(integral(metricnan2[11s], 1)[2m:10s])
  {} 30

# Verify: \int_{0}^{1} (3x^2 - 30x + 14) \, dx = 0
# 0~ish with 0.005 tolerance, can't further increase resolution as you'd get too many samples error
eval instant at 1s round(integral(vector(3 * time()^2 - 30 * time() + 14)[1050ms:50ms]), 0.005)
  {} 0

# integral of sin(x), should be 0 (with a 1e-13 tolerance)
# mid-point
eval instant at 1m round(integral(sin(vector(time()/60*2*pi()))[60200ms:200ms]), 1e-14)
  {} 0

# left-point
eval instant at 1m round(integral(sin(vector(time()/60*2*pi()))[60200ms:200ms], 0), 1e-14)
  {} 0

# right-point
eval instant at 1m round(integral(sin(vector(time()/60*2*pi()))[60200ms:200ms], 1), 1e-14)
  {} 0

# "running" integral eval range of sin(x), period at 1m
# mid-point
eval range from 1m to 2m step 10s round(integral(sin(vector(time()/60*2*pi()))[60200ms:200ms]), 1e-14)
  {} 0+0x6

# left-point
eval range from 1m to 2m step 10s round(integral(sin(vector(time()/60*2*pi()))[60200ms:200ms], 0), 1e-14)
  {} 0+0x6

# right-point
eval range from 1m to 2m step 10s round(integral(sin(vector(time()/60*2*pi()))[60200ms:200ms], 1), 1e-14)
  {} 0+0x6

# "running" integral eval range of cos(x), period at 1m
# mid-point
eval range from 1m to 2m step 10s round(integral(cos(vector(time()/60*2*pi()))[60200ms:200ms]), 1e-14)
  {} 0+0x6

# left-point
eval range from 1m to 2m step 10s round(integral(cos(vector(time()/60*2*pi()))[60200ms:200ms], 0), 1e-14)
  {} 0+0x6

# right-point
eval range from 1m to 2m step 10s round(integral(cos(vector(time()/60*2*pi()))[60200ms:200ms], 1), 1e-14)
  {} 0+0x6
"""


# Prometheus 3.16 promql/promqltest/testdata/functions.test:2373-2562
QUERY_FUNCS = r"""
# Tests for step() and range() functions.
clear

# Test step() function in range queries.
eval range from 0 to 10s step 5s step()
  {} 5 5 5

eval range from 0 to 20s step 10s step()
  {} 10 10 10

eval range from 0 to 30s step 15s step()
  {} 15 15 15

# Test range() function in range queries.
eval range from 0 to 30s step 10s range()
  {} 30 30 30 30

eval range from 0s to 60s step 20s range()
  {} 60 60 60 60

eval range from 10s to 50s step 10s range()
  {} 40 40 40 40 40

# Test step() function in instant queries.
eval instant at 0s step()
  0

# Test range() function in instant queries.
eval instant at 0s range()
  0

eval instant at 100s range()
  0

# Test step() and range() in expressions.
eval range from 0 to 10s step 5s vector(step())
  {} 5 5 5

eval range from 0 to 20s step 10s vector(range())
  {} 20 20 20

# Test step() and range() with arithmetic.
load 1s
  metric 1 2 3 4 5

eval range from 0s to 4s step 1s metric * step()
  {} 1 2 3 4 5

eval range from 0s to 2s step 1s metric + range()
  {} 3 4 5

# Test that step() returns the step value, not evaluation timestamp.
eval range from 100s to 110s step 5s step()
  {} 5 5 5

# Test that range() returns the query range, not evaluation timestamp.
eval range from 100s to 130s step 10s range()
  {} 30 30 30 30


# Tests for start() and end() functions.

# Test start() function in range queries.
eval range from 0 to 30s step 10s start()
  {} 0 0 0 0

eval range from 100s to 130s step 10s start()
  {} 100 100 100 100

eval range from 50s to 60s step 5s start()
  {} 50 50 50

# Test end() function in range queries.
eval range from 0 to 30s step 10s end()
  {} 30 30 30 30

eval range from 100s to 140s step 10s end()
  {} 140 140 140 140 140

eval range from 20s to 50s step 10s end()
  {} 50 50 50 50

# Test start() function in instant queries (start == end).
eval instant at 0s start()
  0

eval instant at 100s start()
  100

# Test end() function in instant queries (start == end).
eval instant at 0s end()
  0

eval instant at 50s end()
  50

# Test start() and end() in expressions.
eval range from 0 to 20s step 10s vector(start())
  {} 0 0 0

eval range from 10s to 30s step 10s vector(end())
  {} 30 30 30

# Test that start() and end() return query boundaries, not evaluation timestamps.
eval range from 100s to 130s step 10s start()
  {} 100 100 100 100

eval range from 100s to 130s step 10s end()
  {} 130 130 130 130

# Test start() and end() with arithmetic.
eval range from 10s to 20s step 5s end() - start()
  {} 10 10 10

eval range from 0s to 30s step 10s (end() + start()) / 2
  {} 15 15 15 15

# Test combination with step() and range().
eval range from 0s to 20s step 10s start() + range()
  {} 20 20 20

eval range from 10s to 50s step 10s end() - range()
  {} 10 10 10 10 10


# Test start() and end() with @ modifier in selector context.
# Range queries with @ start() and @ end() work correctly.
load 1s
  metric_for_at 1 2 3 4 5 6 7 8 9 10

# For range query from 0s to 9s: start()=0, end()=9
# metric_for_at @ 0 = 1, metric_for_at @ 9 = 10
eval range from 0s to 9s step 3s metric_for_at @ start()
  {__name__="metric_for_at"} 1 1 1 1

eval range from 1s to 9s step 2s metric_for_at @ end()
  {__name__="metric_for_at"} 10 10 10 10 10

# Tests for min_of() and max_of() scalar functions.

# min_of(a, b) returns math.Min(a, b).
# max_of(a, b) returns math.Max(a, b).

# Basic literal comparisons.
eval instant at 0s min_of(3, 5)
  3

eval instant at 0s min_of(5, 3)
  3

eval instant at 0s max_of(3, 5)
  5

eval instant at 0s max_of(5, 3)
  5

# Equal values.
eval instant at 0s min_of(4, 4)
  4

eval instant at 0s max_of(4, 4)
  4

# Negative values.
eval instant at 0s min_of(-2, -5)
  -5

eval instant at 0s max_of(-2, -5)
  -2

# Zero and positive.
eval instant at 0s min_of(0, 1)
  0

eval instant at 0s max_of(0, 1)
  1

# NaN propagation: any NaN input yields NaN.
eval instant at 0s min_of(NaN, 3)
  NaN

eval instant at 0s min_of(3, NaN)
  NaN

eval instant at 0s max_of(NaN, 3)
  NaN

eval instant at 0s max_of(3, NaN)
  NaN

"""


# Prometheus 3.16 promql/promqltest/testdata/histograms.test:28-44
HIST_LOAD = r"""
# Another test histogram, this time without any observations in the +Inf bucket.
# This enables a meaningful calculation of standard deviation and variance.
load_with_nhcb 5m
	testhistogram3_bucket{le="0", start="positive"}	0+0x10
	testhistogram3_bucket{le="0.1", start="positive"}	0+5x10
	testhistogram3_bucket{le=".2", start="positive"}		0+7x10
	testhistogram3_bucket{le="1e0", start="positive"}	0+11x10
	testhistogram3_bucket{le="+Inf", start="positive"}	0+11x10
	testhistogram3_sum{start="positive"}	0+33x10
	testhistogram3_count{start="positive"}	0+11x10
	testhistogram3_bucket{le="-.25", start="negative"}	0+0x10
	testhistogram3_bucket{le="-.2", start="negative"}	0+1x10
	testhistogram3_bucket{le="-0.1", start="negative"}	0+2x10
	testhistogram3_bucket{le="0.3", start="negative"}	0+2x10
	testhistogram3_bucket{le="+Inf", start="negative"}	0+2x10
	testhistogram3_sum{start="negative"}	0+8x10
	testhistogram3_count{start="negative"}	0+2x10
"""


# Prometheus 3.16 promql/promqltest/testdata/histograms.test:640-673
HIST_QUANTILES = r"""
eval instant at 50m histogram_quantiles(testhistogram3, "q", 0, 0.25, 0.5, 0.75, 1)
	expect no_warn
	{q="0.0", start="positive"} 0
	{q="0.0", start="negative"} -0.25
	{q="0.25", start="positive"} 0.055
	{q="0.25", start="negative"} -0.225
	{q="0.5", start="positive"} 0.125
	{q="0.5", start="negative"} -0.2
	{q="0.75", start="positive"} 0.45
	{q="0.75", start="negative"} -0.15
	{q="1.0", start="positive"} 1
	{q="1.0", start="negative"} -0.1

eval instant at 50m histogram_quantiles(testhistogram3_bucket, "q", 0, 0.25, 0.5, 0.75, 1)
	expect no_warn
	{q="0.0", start="positive"} 0
	{q="0.0", start="negative"} -0.25
	{q="0.25", start="positive"} 0.055
	{q="0.25", start="negative"} -0.225
	{q="0.5", start="positive"} 0.125
	{q="0.5", start="negative"} -0.2
	{q="0.75", start="positive"} 0.45
	{q="0.75", start="negative"} -0.15
	{q="1.0", start="positive"} 1
	{q="1.0", start="negative"} -0.1

# Break label set uniqueness.

eval instant at 50m histogram_quantiles(testhistogram3, "start", 0, 0.25, 0.5, 0.75, 1)
    expect fail

eval instant at 50m histogram_quantiles(testhistogram3_bucket, "start", 0, 0.25, 0.5, 0.75, 1)
    expect fail

"""


# Prometheus 3.16 promql/promqltest/testdata/duration_expression.test:152-251
DURATIONS = r"""
load 1s
  metric1_total 0+1x100

eval range from 50s to 60s step 10s count_over_time(metric1_total[step()])
	{} 10 10

eval range from 50s to 60s step 10s count_over_time(metric1_total[step()+1ms])
	{} 11 11

eval range from 50s to 60s step 10s count_over_time(metric1_total[(step())+1])
	{} 11 11

eval range from 50s to 60s step 10s count_over_time(metric1_total[1+(STep()-5)*2])
	{} 11 11

eval range from 50s to 60s step 5s count_over_time(metric1_total[step()+1])
	{} 6 6 6

eval range from 50s to 60s step 5s count_over_time(metric1_total[min_of(step()+1,1h)])
	{} 6 6 6

eval range from 50s to 60s step 5s count_over_time(metric1_total[max_of(min_of(step()+1,1h),1ms)])
	{} 6 6 6

eval range from 50s to 60s step 5s count_over_time(metric1_total[((max_of(min_of((step()+1),((1h))),1ms)))])
	{} 6 6 6

eval range from 50s to 60s step 5s metric1_total offset STEP()
	metric1_total{} 45 50 55

eval range from 50s to 60s step 5s metric1_total offset step()
	metric1_total{} 45 50 55

eval range from 50s to 60s step 5s metric1_total offset step()*0
	{} 0 0 0

eval range from 50s to 60s step 5s metric1_total offset (-step()*2)
	metric1_total{} 60 65 70

eval range from 50s to 60s step 5s metric1_total offset -step()*2
	{} 110 120 130

eval range from 50s to 60s step 5s metric1_total offset step()^0
	{} 1 1 1

eval range from 50s to 60s step 5s metric1_total offset (STEP()/10)
	metric1_total{} 49 54 59

eval range from 50s to 60s step 5s metric1_total offset (step())
	metric1_total{} 45 50 55

eval range from 50s to 60s step 5s metric1_total offset min_of(step(), 1s)
	metric1_total{} 49 54 59

eval range from 50s to 60s step 5s metric1_total offset min_of(step(), 1s)+8000
	{} 8049 8054 8059

eval range from 50s to 60s step 5s metric1_total offset -min_of(step(), 1s)+8000
	{} 8051 8056 8061

eval range from 50s to 60s step 5s metric1_total offset -(min_of(step(), 1s))+8000
	{} 8051 8056 8061

eval range from 50s to 60s step 5s metric1_total offset -min_of(step(), 1s)^0
	{} 1 1 1

eval range from 50s to 60s step 5s metric1_total offset +min_of(step(), 1s)^0
	{} 1 1 1

eval range from 50s to 60s step 5s metric1_total offset min_of(step(), 1s)^0
	{} 1 1 1

eval range from 50s to 60s step 5s metric1_total offset max_of(3s,min_of(step(), 1s))+8000
	{} 8047 8052 8057

eval range from 50s to 60s step 5s metric1_total offset -(min_of(step(), 2s)-5)+8000
	{} 8047 8052 8057

# Test range() function - resolves to query range (end - start).
# For a range query from 50s to 60s, range() = 10s.
eval range from 50s to 60s step 10s count_over_time(metric1_total[range()])
	{} 10 10

eval range from 50s to 60s step 5s count_over_time(metric1_total[range()])
	{} 10 10 10

eval range from 50s to 60s step 5s metric1_total offset range()
	metric1_total{} 40 45 50

eval range from 50s to 60s step 5s metric1_total offset min_of(range(), 8s)
	metric1_total{} 42 47 52

clear

load 1s
  metric1_total 0+1x100

# For an instant query (start == end), range() = 0s, offset 0s.
eval instant at 50s metric1_total offset range()
	metric1_total{} 50
"""


# Prometheus 3.16 promql/promqltest/testdata/start_timestamps.test:529-542
START_TIMESTAMPS = r"""
# Tests for start_timestamp().
load 10s
    series{case="a"}@st  _  1ms   _   0  -1ms       -10ms       -100ms  -999ms  -1s       -10s        -20s  -30s
    series{case="a"}     _   10  20  30    40  {{sum:50}}   {{sum:60}}      70   80 {{sum:90}} {{sum:100}}   110
    series{case="b"}@st  _    _   _   _   -3s           _            _    -40s
    series{case="b"}     _    _   _   _    40           _            _      70

eval range from 0s to 110s step 5s start_timestamp(series)
    {case="a"}  _  _  10.001  10.001  0  0  30  30  39.999  39.999  49.99  49.99  59.9  59.9  69.001 69.001 79  79  80  80  80  80  80
    {case="b"}  _  _   _       _      _  _   _   _  37      37      37     37     37    37    30     30     30  30  30  30  30  30  30

# The start timestamp data is lost if the input is an expression.
eval range from 10s to 50s step 10s start_timestamp(series * 1)
    # no results
"""


def _run(text: str, version: Version) -> FileResult:
    return run_text(text, "<3.16 corpus>", v3=version >= (3, 0), version=version)


def _fails(res: FileResult) -> dict[int, tuple[str, str]]:
    return {c.line: (c.expr, c.message) for c in res.cases if not c.passed}


def _expect_fail(text: str, line: int) -> bool:
    lines = text.splitlines()
    return lines[line - 1].startswith("eval_fail") or (line < len(lines) and lines[line].strip() == "expect fail")


def _uses(expr: str, names: set[str]) -> bool:
    expr = re.sub(r"@\s*(?:start|end)\s*\(\s*\)", "", expr)  # the @ modifier's start()/end(), known since 2.x
    return any(re.search(r"(?<![A-Za-z0-9_:])" + n + r"\s*\(", expr, re.IGNORECASE) for n in names)


@pytest.mark.parametrize(("text", "names", "older", "count"), [
    (INTEGRAL_BASIC, {"integral"}, Version(3, 15), 6),
    (INTEGRAL_MORE, {"integral"}, Version(3, 15), 47),
    (HIST_LOAD + HIST_QUANTILES, {"histogram_quantiles"}, Version(3, 10), 4),
    (QUERY_FUNCS, {"start", "end", "range", "step", "min_of", "max_of"}, Version(3, 11), 0),
])
def test_corpus_cases_pass_at_316_and_are_unknown_before(text: str, names: set[str], older: Version,
                                                         count: int) -> None:
    res = _run(text, V316)
    assert res.failed == 0, _fails(res)
    used = [c for c in res.cases if _uses(c.expr, names)]
    assert len(used) == (count or len(used)) and used
    old = _fails(_run(text, older))
    # (an `expect fail` case passes on any error, the unknown function's too)
    assert set(old) == {c.line for c in used if not _expect_fail(text, c.line)}
    for expr, msg in old.values():
        assert "parse error: unknown function with name" in msg, (expr, msg)
        assert re.search(r'"(' + "|".join(names) + r')"', msg)
    # and at 3.5 and 2.42 alike (the 2.42 engine has every other function of these blocks but histogram
    # functions on native histograms, so only the unknown-function cases are compared there)
    for v in (Version(3, 5), Version(2, 42)):
        got = _fails(_run(text, v))
        want = {c.line for c in used if not _expect_fail(text, c.line)}
        assert want <= set(got)
        assert all("unknown function with name" in got[line][1] for line in want)


def test_min_of_max_of_from_313() -> None:
    res = _run(QUERY_FUNCS, Version(3, 13))
    assert res.failed == 0, _fails(res)
    old = _fails(_run(QUERY_FUNCS, Version(3, 12)))
    minmax = {c.line for c in res.cases if _uses(c.expr, {"min_of", "max_of"})}
    assert len(minmax) == 14 and set(old) == minmax


def test_duration_expression_functions_by_version() -> None:
    # duration_expression.test:152-251: step(), range(), min_of/max_of inside `[...]` and after `offset`
    res = _run(DURATIONS, V316)
    assert res.failed == 0, _fails(res)
    assert len(res.cases) == 30
    minmax = {c.line for c in res.cases if _uses(c.expr, {"min_of", "max_of"})}
    ranges = {c.line for c in res.cases if _uses(c.expr, {"range"})}
    assert len(minmax) == 13 and len(ranges) == 5
    # 3.12: step() and range() but not min_of/max_of
    assert set(_fails(_run(DURATIONS, Version(3, 12)))) == minmax
    # 3.9: step() only (range() in durations from 3.10)
    assert set(_fails(_run(DURATIONS, Version(3, 9)))) == minmax | ranges
    # 3.5: none of them
    assert len(_fails(_run(DURATIONS, Version(3, 5)))) == 30


def test_query_funcs_values_and_instant_many() -> None:
    st = Storage()
    st.add(Labels({"__name__": "m"}), np.array([0, 10_000, 20_000], dtype=np.int64), np.array([1.0, 2.0, 3.0]))
    eng = Engine(st, **engine_options(V316))
    # instant query: start() == end() == t, range() == step() == 0 (foldQueryContextFunctions)
    for q, want in [("start()", 20.0), ("end()", 20.0), ("range()", 0.0), ("step()", 0.0),
                    ("min_of(-0, 0)", -0.0), ("max_of(-0, 0)", 0.0)]:
        r = eng.instant(q, 20.0)
        assert r.scalar == want and np.signbit(r.scalar) == np.signbit(want), q
    # range query from 10s to 30s step 5s: constants of the query, also inside a subquery
    r = eng.range("max_over_time((vector(start()) + end() * 100 + step() * 10000)[1m:1s])", 10, 30, 5)
    assert list(r.series[0].values) == [3000 + 10 + 50000] * 5
    # a range query with start == end: step() is 0, but step() in a duration expression is the step
    st.add(Labels({"__name__": "n"}), np.arange(0, 30_000, 1000, dtype=np.int64), np.ones(30))
    r = eng.range("count_over_time(n[step()]) + step()", 20, 20, 5)
    assert list(r.series[0].values) == [5.0]
    # instant_many (rules test) evaluates several instant queries together: not with these functions
    assert eng.instant_many("m * step()", [10_000, 20_000]) is None
    assert eng.instant_many("m", [10_000, 20_000]) is not None


def test_integral_strategy_argument_per_step() -> None:
    st = Storage()
    st.add(Labels({"__name__": "m"}), np.array([0, 10_000, 20_000], dtype=np.int64), np.array([1.0, 3.0, 5.0]))
    eng = Engine(st, **engine_options(V316))
    # the strategy is a scalar per step: 0 left point, 1 right point, 2 (and anything invalid) trapezoid
    r = eng.range("integral(m[30s], time() - 20)", 20, 23, 1)
    assert list(r.series[0].values) == [10 * 1 + 10 * 3, 10 * 3 + 10 * 5, 20 + 40, 20 + 40]
    assert eng.instant("integral(m[30s], 7.5)", 20).series[0].values[0] == 60.0
    assert eng.instant("integral(m[30s], 0/0)", 20).series[0].values[0] == 60.0
    # one sample: 0; no float sample: nothing
    assert eng.instant("integral(m[5s])", 20).series[0].values[0] == 0.0
    assert eng.instant("integral(m[5s])", 25).series == []


def test_gating_tables_agree() -> None:
    for name, (since, pr) in NEW_FUNCTIONS.items():
        assert FUNCTION_SINCE[name] == since and pr.startswith("#")
        assert name in EXPERIMENTAL_FUNCTIONS  # Experimental: true in 3.16's promql/parser/functions.go
    assert engine_options(Version(3, 15))["unknown_functions"] == {"integral"}
    assert engine_options(V316)["unknown_functions"] == frozenset()


def test_openmetrics_float() -> None:
    # labels.FormatOpenMetricsFloat, the quantile label of histogram_quantiles
    for f, s in [(0.0, "0.0"), (1.0, "1.0"), (-1.0, "-1.0"), (0.25, "0.25"), (1e-05, "1e-05"), (1e6, "1e+06"),
                 (100000.0, "100000.0"), (1234567.0, "1.234567e+06"), (0.0001, "0.0001"), (-0.1, "-0.1"),
                 (float("nan"), "NaN"), (float("inf"), "+Inf"), (2.5e-5, "2.5e-05"), (123.0, "123.0")]:
        assert openmetrics_float(f) == s


def test_durexpr_offset_terms() -> None:
    ctx = durexpr.Context(5.0, 10.0)
    assert durexpr.rewrite("x offset step()*2", ctx) == "x offset 5000ms*2"
    assert durexpr.rewrite("x offset -min_of(step(), 1s)^0", ctx) == "x offset -1000ms^0"
    assert durexpr.rewrite("x offset (step()*2)", ctx) == "x offset 10000ms"
    assert durexpr.rewrite("x[max_of(STEP(), range())]", ctx) == "x[10000ms]"
    assert durexpr.rewrite("x offset range()", durexpr.Context(0.0, 0.0)) == "x "
    # unknown to the target, or no query context: left for the parser to reject
    assert durexpr.rewrite("x[step()]") == "x[step()]"
    assert durexpr.rewrite("x[step()]", durexpr.Context(5.0, 0.0, frozenset({"step"}))) == "x[step()]"


def test_unknown_duration_function_is_a_parse_error() -> None:
    eng = Engine(Storage(), **engine_options(Version(3, 5)))
    with pytest.raises(PromQLError, match="parse error"):
        eng.range("count_over_time(m[step()])", 0, 10, 5)


@pytest.mark.parametrize("query", [
    "a + fill(0) b", "a / on(x) fill_left(1) fill_right(2) b",  # fill-modifier.test
    "h </ 5", "h >/ 5",  # native_histograms.test's trim operators
    "sum(métrique)",  # unquoted_utf8_names.test
])
def test_syntax_out_of_scope_is_a_parse_error(query: str) -> None:
    eng = Engine(Storage(), **engine_options(V316))
    with pytest.raises(PromQLError, match="parse error"):
        eng.instant(query, 100)


def test_start_timestamp_from_314() -> None:
    # the `@st` offsets of the samples; start_timestamp() of a selector's samples (0 where none is given),
    # nothing for an expression (`series * 1`)
    res = _run(START_TIMESTAMPS, V316)
    assert res.failed == 0 and len(res.cases) == 2, _fails(res)
    assert _run(START_TIMESTAMPS, Version(3, 14)).failed == 0
    old = _fails(_run(START_TIMESTAMPS, Version(3, 13)))
    assert len(old) == 2 and all('unknown function with name "start_timestamp"' in m for _, m in old.values())


def test_st_sequence_notation() -> None:
    from opsctl.promql.notation import parse_st_sequence

    assert parse_st_sequence("_ _ -30s-1mx2 -1m") == [None, None, -30_000, -90_000, -150_000, -60_000]
    assert parse_st_sequence("_x2 1ms -0msx1 +5s+1sx1") == [None, None, 1, 0, 0, 5000, 6000]
    with pytest.raises(ValueError):
        parse_st_sequence("1m*2")


def test_start_timestamp_without_kept_start_timestamps_is_empty() -> None:
    # outside promqltest (rules test, backtests) no start timestamps are kept: nothing, as Prometheus
    # without the use-start-timestamps feature
    st = Storage()
    st.add(Labels({"__name__": "m"}), np.array([0], dtype=np.int64), np.array([1.0]))
    assert Engine(st, **engine_options(V316)).instant("start_timestamp(m)", 0).series == []
