"""Which PromQL engine semantics a Prometheus version has: one place mapping a version to the keyword
options of `Engine`, used by every command that evaluates PromQL for a given `--prometheus-version`.

| Engine option | Prometheus behaviour | from |
|---|---|---|
| `v3` | Prometheus 3 (left-open range selectors, `.` matching newlines, UTF-8 names, the 3.x functions) | 3.0 |
| `hist_rate_zero_cap` | rate/increase of a counter histogram stop extrapolating at its count's zero point | 3.6 |
| `nhcb_reconcile` | custom-bucket histograms of different bounds add/subtract on their common bounds | 3.8 |
| `hist_kahan` | sum/avg and sum_over_time/avg_over_time add histograms with Kahan compensation | 3.10 |
| `extended_range` | the `anchored`/`smoothed` modifiers (#19697: always on; 3.7-3.15: feature) | 3.16 |
| `delayed_name_removal` | `--enable-feature=promql-delayed-name-removal` (3.x only) | feature |
| `experimental` | `--enable-feature=promql-experimental-functions` (always on for 2.x) | feature |

`nhcb_reconcile`: "Reconcile mismatched NHCB bounds in `Add` and `Sub`" (prometheus/prometheus #17278,
CHANGELOG 3.8.0; FloatHistogram.Add/Sub/KahanAdd, intersectCustomBucketBounds,
addCustomBucketsWithMismatches, detectResetWithMismatchedCustomBounds), checked against promtool 3.16.
Before it (3.0 to 3.7), such an addition fails (the pair or the group gives nothing, with a warning) and
DetectReset calls any change of bounds a counter reset.

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

__all__ = ["EngineOptions", "Version", "engine_options"]

DELAYED_NAME_REMOVAL = "promql-delayed-name-removal"
EXPERIMENTAL_FUNCTIONS = "promql-experimental-functions"
EXTENDED_RANGE_SELECTORS = "promql-extended-range-selectors"


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
    extended_range: bool
    delayed_name_removal: bool
    experimental: bool


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
        extended_range=extended_range,
        delayed_name_removal=delayed,
        experimental=experimental,
    )
