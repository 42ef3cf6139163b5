"""Which PromQL engine semantics a Prometheus version has: one place mapping a version to the keyword
options of `Engine`, used by every command that evaluates PromQL for a given `--prometheus-version`.

| Engine option | Prometheus behaviour | from |
|---|---|---|
| `v3` | Prometheus 3 (left-open range selectors, `.` matching newlines, UTF-8 names, the 3.x functions) | 3.0 |
| `hist_rate_zero_cap` | rate/increase of a counter histogram stop extrapolating at its count's zero point | 3.6 |
| `nhcb_reconcile` | custom-bucket histograms of different bounds add/subtract on their common bounds | 3.8 |
| `hist_kahan` | sum/avg and sum_over_time/avg_over_time add histograms with Kahan compensation | 3.10 |
| `agg_param_checks` | topk/bottomk/limitk/limit_ratio(NaN, ...) are errors, checked up front | 3.6 |
| `quantile_exact_rank` | quantile/quantile_over_time at an exact rank give that sample (±Inf kept, not NaN) | 3.16 |
| `mad_nan` | mad_over_time of a range holding a NaN sample is NaN (was the MAD of the rest) | 3.14 |
| `hist_fraction_inf_bucket` | histogram_fraction: a bound in a bucket from -Inf takes its whole count (not NaN) | 3.8 |
| `nhcb_fraction_zero` | histogram_fraction of custom buckets: no zero bucket | 3.16 |
| `binop_match_before_filter` | vector matching errors count the pairs a filter comparison drops | 3.9 |
| `hist_nan_le_ignored` | histogram_quantile leaves out classic buckets of `le="NaN"` | 3.16 |
| `hist_quantile_nan_bucket` | histogram_quantile, NaN sum: interpolation in the rank's bucket | 3.16 |
| `rad_deg_factor` | rad/deg multiply by one factor (no intermediate overflow) | 3.16 |
| `hist_negative_gauge` | h1 - h2, -h, h * (negative), h / (negative) are gauge histograms | 3.7 |
| `agg_any_drop_name` | delayed name removal: `by (__name__)` drops it if any series of the group does | 3.9 |
| `type_unit_transparent` | `__type__`/`__unit__` left out of `without` groups, vector matching and absent() | 3.16 |
| `unknown_functions` | the functions added after 3.5 that the version lacks (`NEW_FUNCTIONS` below) | 3.11-3.16 |
| `extended_range` | the `anchored`/`smoothed` modifiers (#19697: always on; 3.7-3.15: feature) | 3.16 |
| `delayed_name_removal` | `--enable-feature=promql-delayed-name-removal` (3.x only) | feature |
| `experimental` | `--enable-feature=promql-experimental-functions` (always on for 2.x) | feature |

`nhcb_reconcile`: "Reconcile mismatched NHCB bounds in `Add` and `Sub`" (prometheus/prometheus #17278,
CHANGELOG 3.8.0; FloatHistogram.Add/Sub/KahanAdd, intersectCustomBucketBounds,
addCustomBucketsWithMismatches, detectResetWithMismatchedCustomBounds), checked against promtool 3.16.
Before it (3.0 to 3.7), such an addition fails (the pair or the group gives nothing, with a warning) and
DetectReset calls any change of bounds a counter reset.

`agg_param_checks`: "Fail when `NaN` is passed as parameter to `topk()`, `bottomk()`, `limitk()` and
`limit_ratio()`" (prometheus/prometheus #16725, CHANGELOG 3.6.0; fParams.HasAnyNaN in promql/value.go, the
checks before rangeEvalAgg's loop in promql/engine.go, absent from v3.5.0's, present in v3.9.0's). 3.5 checks k
per step only while a sample is there ("Scalar value NaN overflows int64").

`quantile_exact_rank`: "Preserve infinite values at exact quantile ranks" (prometheus/prometheus #19899,
CHANGELOG 3.16.0; `if weight == 0 { return values[lowerIndex].F }` in promql/quantile.go's quantile).

`mad_nan`: "Fix `mad_over_time` returning 0 instead of `NaN` when the range contains a `NaN` sample"
(prometheus/prometheus #19040, CHANGELOG 3.14.0; funcMadOverTime).

`hist_fraction_inf_bucket`: "Fix `histogram_fraction` for classic histograms and NHCB if lower bound is in the
first bucket" (prometheus/prometheus #17424, CHANGELOG 3.8.0; BucketFraction and HistogramFraction in
promql/quantile.go, v3.5.0 against v3.9.0).

`nhcb_fraction_zero`: "Fix histogram_fraction returning wrong results for native histograms with custom
buckets when a bucket boundary is exactly 0" (prometheus/prometheus #19657, CHANGELOG 3.16.0; the
`h.UsesCustomBuckets()` branch of HistogramFraction).

`binop_match_before_filter`: "Check more consistently for many-to-one matching in filter binary operators"
(prometheus/prometheus #17668, CHANGELOG 3.9.0; VectorBinop in promql/engine.go checks matchedSigs before
`if !keep && !returnBool { continue }`, after it in v3.5.0).

`hist_nan_le_ignored`: "Ignore NaN classic histogram bucket boundaries in `histogram_quantile`,
`histogram_quantiles` and `histogram_fraction`" (prometheus/prometheus #20057, CHANGELOG 3.16.0;
resetHistograms in promql/engine.go). opsctl's histogram_fraction left them out for every version already.

`hist_quantile_nan_bucket`: "Fix histogram_quantile and histogram_quantiles interpolating within the wrong
bucket for native histograms whose sum is NaN" (prometheus/prometheus #19973, CHANGELOG 3.16.0;
HistogramQuantile in promql/quantile.go no longer reassigns `bucket` while counting the remaining buckets).

`rad_deg_factor`: "Avoid intermediate overflow in `rad()` and `deg()` conversions" (prometheus/prometheus
#19901, CHANGELOG 3.16.0; funcRad/funcDeg compute `v * (math.Pi / 180)`, `v * (180 / math.Pi)`; the
constants equal Python's `math.pi / 180` and `180 / math.pi` to the bit).

`hist_negative_gauge`: "Set native histogram to gauge type when subtracting or multiplying/dividing with
negative factors" (prometheus/prometheus #17004, CHANGELOG 3.7.0; FloatHistogram.Mul/Div and the SUB case
of vectorElemBinop, absent from v3.5.0). Before, the result kept the (left) histogram's hint.

`agg_any_drop_name`: "Fix bug with inconsistent results for queries with OR expression when experimental
delayed name removal is enabled" (prometheus/prometheus #17161, CHANGELOG 3.9.0; groupedAggregation.dropName
in promql/engine.go; 3.5 took `inputMatrix[ri].DropName`).

`type_unit_transparent`: "Drop __type__ and __unit__ in binary operations so they are transparent to users,
similar to how __name__ is handled" (prometheus/prometheus #18680) and "Consistently ignore and drop
`__type__` and `__unit__` labels in `without` aggregations, `absent()`, `info()`, and binary operator fill
matching" (#19986), CHANGELOG 3.16.0; matchLabels, the binary-operation signature and sortedGrouping in
promql/engine.go, createLabelsForAbsentFunction in promql/functions.go (absent from v3.10.0).

`unknown_functions`: Prometheus's parser knows a function from the release that added it (CHANGELOG,
promql/parser/functions.go); before, a call is the parse error `unknown function with name "..."`:

| function | from | upstream |
|---|---|---|
| `histogram_quantiles(v, "label", q1, q2, ...)` | 3.11 | #17285 |
| `start()`, `end()`, `range()`, `step()` | 3.12 | #17877 |
| `min_of(a, b)`, `max_of(a, b)` | 3.13 | #18687 |
| `start_timestamp(v)` | 3.14 | #19089 |
| `integral(range-vector[, strategy])` | 3.16 | #14440 |

All are experimental (promql-experimental-functions). Inside duration expressions (`x[step()+1ms]`,
`offset min_of(step(), 1s)`), `step()` counts from 3.6 (#16777), `range()` from 3.10 (v3.10.0's
generated_parser.y) and `min_of`/`max_of` from 3.13 (#18687, `min`/`max` before: not modelled), see
`DURATION_FUNCTIONS`.

`extended_range`: opsctl.promql.extended. 3.7 to 3.15 read the modifiers only with
`--enable-feature=promql-extended-range-selectors` (#19697 made them stable in 3.16); they get 3.16's
evaluation, including the later fixes (#17479, #17988, #18523, #18531, #18906, #19431);
native histograms with the modifiers (#18564) as in 3.16.
Without a feature list (rules backtest, slo report) the modifiers are read from 3.7 on, as experimental
functions are.

`hist_kahan`: FloatHistogram.KahanAdd (prometheus/prometheus #15687), absent from v3.9.0's
model/histogram/float_histogram.go and promql/engine.go, present in v3.10.0's.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, TypedDict

__all__ = ["DURATION_FUNCTIONS", "NEW_FUNCTIONS", "EngineOptions", "Version", "engine_options",
           "unknown_duration_functions", "unknown_functions"]

DELAYED_NAME_REMOVAL = "promql-delayed-name-removal"
EXPERIMENTAL_FUNCTIONS = "promql-experimental-functions"
EXTENDED_RANGE_SELECTORS = "promql-extended-range-selectors"


# the tables live outside this package: opsctl.rules.versions reads them, and importing opsctl.promql would
# bring numpy into every `rules validate`
from opsctl.promql_since import DURATION_FUNCTIONS, NEW_FUNCTIONS  # noqa: E402


def unknown_functions(version: _HasVersion) -> frozenset[str]:
    """The NEW_FUNCTIONS `version` lacks, and (prefixed "duration:") the DURATION_FUNCTIONS it lacks."""
    at = (version.major, version.minor)
    return frozenset(
        [n for n, (since, _) in NEW_FUNCTIONS.items() if at < since]
        + ["duration:" + n for n, (since, _) in DURATION_FUNCTIONS.items() if at < since]
    )


def unknown_duration_functions(version: _HasVersion) -> frozenset[str]:
    """The DURATION_FUNCTIONS `version` does not read inside duration expressions (durexpr.Context.unknown)."""
    at = (version.major, version.minor)
    return frozenset(n for n, (since, _) in DURATION_FUNCTIONS.items() if at < since)


class _HasVersion(Protocol):
    @property
    def major(self) -> int: ...

    @property
    def minor(self) -> int: ...


class Version(NamedTuple):
    """A Prometheus version for callers without opsctl.rules.versions.PromVersion (which fits too)."""

    major: int
    minor: int


class EngineOptions(TypedDict):
    v3: bool
    hist_rate_zero_cap: bool
    hist_kahan: bool
    nhcb_reconcile: bool
    agg_param_checks: bool
    quantile_exact_rank: bool
    mad_nan: bool
    hist_fraction_inf_bucket: bool
    nhcb_fraction_zero: bool
    binop_match_before_filter: bool
    hist_nan_le_ignored: bool
    hist_quantile_nan_bucket: bool
    rad_deg_factor: bool
    hist_negative_gauge: bool
    agg_any_drop_name: bool
    type_unit_transparent: bool
    extended_range: bool
    delayed_name_removal: bool
    experimental: bool
    unknown_functions: frozenset[str]


def engine_options(version: _HasVersion, features: frozenset[str] | None = None) -> EngineOptions:
    """The Engine keyword options that reproduce Prometheus `version`.

    `features`: the --enable-feature names of the run being reproduced (promtool test rules, a promqltest
    corpus). None: not such a run (rules backtest, slo report): experimental functions are allowed and
    `__name__` is removed at once, as those commands always did."""
    at_least = (version.major, version.minor).__ge__
    v3 = at_least((3, 0))
    if features is None:
        experimental, delayed = True, False
        extended_range = at_least((3, 7))
    else:
        extended_range = at_least((3, 16)) or (at_least((3, 7)) and EXTENDED_RANGE_SELECTORS in features)
        experimental = not v3 or EXPERIMENTAL_FUNCTIONS in features
        delayed = v3 and DELAYED_NAME_REMOVAL in features
    return EngineOptions(
        v3=v3,
        hist_rate_zero_cap=at_least((3, 6)),
        hist_kahan=at_least((3, 10)),
        nhcb_reconcile=at_least((3, 8)),
        agg_param_checks=at_least((3, 6)),
        quantile_exact_rank=at_least((3, 16)),
        mad_nan=at_least((3, 14)),
        hist_fraction_inf_bucket=at_least((3, 8)),
        nhcb_fraction_zero=at_least((3, 16)),
        binop_match_before_filter=at_least((3, 9)),
        hist_nan_le_ignored=at_least((3, 16)),
        hist_quantile_nan_bucket=at_least((3, 16)),
        rad_deg_factor=at_least((3, 16)),
        hist_negative_gauge=at_least((3, 7)),
        agg_any_drop_name=at_least((3, 9)),
        type_unit_transparent=at_least((3, 16)),
        extended_range=extended_range,
        delayed_name_removal=delayed,
        experimental=experimental,
        unknown_functions=unknown_functions(version),
    )
