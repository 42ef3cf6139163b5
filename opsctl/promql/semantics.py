"""Which PromQL engine semantics a Prometheus version has: one place mapping a version to the keyword
options of `Engine`, used by every command that evaluates PromQL for a given `--prometheus-version`.

| Engine option | Prometheus behaviour | from |
|---|---|---|
| `v3` | Prometheus 3 (left-open range selectors, `.` matching newlines, UTF-8 names, the 3.x functions) | 3.0 |
| `hist_rate_zero_cap` | rate/increase of a counter histogram stop extrapolating at its count's zero point | 3.6 |
| `nhcb_reconcile` | custom-bucket histograms of different bounds add/subtract on their common bounds | 3.8 |
| `hist_kahan` | sum/avg and sum_over_time/avg_over_time add histograms with Kahan compensation | 3.10 |
| `unknown_functions` | the functions added after 3.5 that the version lacks (`NEW_FUNCTIONS` below) | 3.11-3.16 |
| `delayed_name_removal` | `--enable-feature=promql-delayed-name-removal` (3.x only) | feature |
| `experimental` | `--enable-feature=promql-experimental-functions` (always on for 2.x) | feature |

`nhcb_reconcile`: "Reconcile mismatched NHCB bounds in `Add` and `Sub`" (prometheus/prometheus #17278,
CHANGELOG 3.8.0; FloatHistogram.Add/Sub/KahanAdd, intersectCustomBucketBounds,
addCustomBucketsWithMismatches, detectResetWithMismatchedCustomBounds), checked against promtool 3.16.
Before it (3.0 to 3.7), such an addition fails (the pair or the group gives nothing, with a warning) and
DetectReset calls any change of bounds a counter reset.

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

`hist_kahan`: FloatHistogram.KahanAdd (prometheus/prometheus #15687), absent from v3.9.0's
model/histogram/float_histogram.go and promql/engine.go, present in v3.10.0's.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, TypedDict

__all__ = ["DURATION_FUNCTIONS", "NEW_FUNCTIONS", "EngineOptions", "Version", "engine_options",
           "unknown_duration_functions", "unknown_functions"]

DELAYED_NAME_REMOVAL = "promql-delayed-name-removal"
EXPERIMENTAL_FUNCTIONS = "promql-experimental-functions"


# function -> (first Prometheus version that has it, upstream PR)
NEW_FUNCTIONS: dict[str, tuple[tuple[int, int], str]] = {
    "histogram_quantiles": ((3, 11), "#17285"),
    "start": ((3, 12), "#17877"),
    "end": ((3, 12), "#17877"),
    "range": ((3, 12), "#17877"),
    "step": ((3, 12), "#17877"),
    "min_of": ((3, 13), "#18687"),
    "max_of": ((3, 13), "#18687"),
    "start_timestamp": ((3, 14), "#19089"),
    "integral": ((3, 16), "#14440"),
}
# duration-expression function -> (first version whose parser reads it inside `[...]` and `offset`, upstream)
DURATION_FUNCTIONS: dict[str, tuple[tuple[int, int], str]] = {
    "step": ((3, 6), "#16777"),
    "range": ((3, 10), "v3.10.0 generated_parser.y"),
    "min_of": ((3, 13), "#18687"),
    "max_of": ((3, 13), "#18687"),
}


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
    else:
        experimental = not v3 or EXPERIMENTAL_FUNCTIONS in features
        delayed = v3 and DELAYED_NAME_REMOVAL in features
    return EngineOptions(
        v3=v3,
        hist_rate_zero_cap=at_least((3, 6)),
        hist_kahan=at_least((3, 10)),
        nhcb_reconcile=at_least((3, 8)),
        delayed_name_removal=delayed,
        experimental=experimental,
        unknown_functions=unknown_functions(version),
    )
