"""Prometheus versions that change what a rule file may contain.

The target version (config `prometheus_version`, CLI `--prometheus-version`) decides which fields and
PromQL functions are accepted: `query_offset` needs 2.53, group `labels` 3.0, `keep_firing_for` 2.42;
functions added later than the target, or removed before it (`holt_winters` in 3.0), are errors, as
the Prometheus of that version would reject the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opsctl.gosem import regexp as gosem_regexp
from opsctl.promql_since import NEW_FUNCTIONS
from opsctl.rules.promql_ast import Matcher, matcher_groups

# function -> first version that knows it (only functions newer than 2.37 are listed)
FUNCTION_SINCE: dict[str, tuple[int, int]] = {
    "histogram_count": (2, 40),
    "histogram_sum": (2, 40),
    "histogram_fraction": (2, 40),
    "histogram_stddev": (2, 46),
    "histogram_stdvar": (2, 46),
    "histogram_avg": (2, 51),
    "sort_by_label": (2, 51),
    "sort_by_label_desc": (2, 51),
    "mad_over_time": (2, 52),
    "double_exponential_smoothing": (3, 0),
    "info": (3, 0),
    "ts_of_max_over_time": (3, 5),
    "ts_of_min_over_time": (3, 5),
    "ts_of_last_over_time": (3, 5),
    "first_over_time": (3, 7),
    "ts_of_first_over_time": (3, 7),
    # the functions added after 3.5, as the engine gates them (opsctl.promql.semantics.NEW_FUNCTIONS):
    # histogram_quantiles 3.11, start/end/range/step 3.12, min_of/max_of 3.13, start_timestamp 3.14,
    # integral 3.16
    **{name: since for name, (since, _) in NEW_FUNCTIONS.items()},
}
FUNCTION_REMOVED: dict[str, tuple[int, int]] = {"holt_winters": (3, 0)}
AGGREGATION_SINCE: dict[str, tuple[int, int]] = {"limitk": (3, 0), "limit_ratio": (3, 0)}
# Prometheus 3 refuses these unless started with --enable-feature=promql-experimental-functions (the list
# of Prometheus 3.16's promql/parser/functions.go, applied to every 3.x target)
EXPERIMENTAL_FUNCTIONS = {
    "double_exponential_smoothing", "info", "mad_over_time", "sort_by_label", "sort_by_label_desc",
    "ts_of_first_over_time", "ts_of_max_over_time", "ts_of_min_over_time", "ts_of_last_over_time",
    "histogram_quantiles", "integral", "max_of", "min_of", "range", "start", "start_timestamp", "step", "end",
}
EXPERIMENTAL_AGGREGATIONS = {"limitk", "limit_ratio"}


def register_legacy_functions() -> None:
    """Teach promql_parser (which follows Prometheus 3) the functions 2.x still has.

    Registration is process-wide and idempotent; version gating happens in `function_problem`.
    """
    import promql_parser as pp

    try:
        pp.parse("holt_winters(x[5m], 0.5, 0.5)")
        return
    except ValueError:
        pass
    vt = pp.ValueType
    pp.register_extra_functions([pp.Function("holt_winters", [vt.Matrix, vt.Scalar, vt.Scalar], vt.Vector)])


register_legacy_functions()


@dataclass(frozen=True, order=True)
class PromVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> PromVersion:
        m = re.match(r"^v?(\d+)(?:\.(\d+))?", str(text).strip())
        if not m:
            raise ValueError(f"not a Prometheus version: {text!r} (expected e.g. 2.42 or 3.0)")
        return cls(int(m.group(1)), int(m.group(2) or 0))

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


# The newest Prometheus opsctl models (its functions, rule-file fields, template functions and PromQL engine
# semantics, checked against that version's promtool): the default target of every command.
NEWEST_VERSION = PromVersion(3, 16)


_GATED = {*FUNCTION_SINCE, *FUNCTION_REMOVED, *AGGREGATION_SINCE, *EXPERIMENTAL_FUNCTIONS}
_VERSIONED_NAMES = re.compile(
    r"(?<![A-Za-z0-9_:])(?:" + "|".join(sorted(_GATED, key=lambda n: (-len(n), n))) + r")(?![A-Za-z0-9_:])",
    re.IGNORECASE,  # aggregation keywords are case-insensitive in PromQL (LIMITK)
)


def function_problem(nodes: list[tuple[Any, tuple[Any, ...]]], version: PromVersion,
                     expr: str | None = None, experimental: bool = False) -> Iterator[str]:
    """Messages for functions/aggregations the target Prometheus version does not know.

    `nodes` is the expression's `walk()` output (computed once per rule and shared by the checks); with
    the expression's text, nodes are only looked at when it names a function or aggregation that some
    version lacks (a name has to be written to be called).
    """
    import promql_parser as pp

    if expr is not None and not _VERSIONED_NAMES.search(expr):
        return
    for node, _ in nodes:
        if isinstance(node, pp.Call):
            name = node.func.name
            since = FUNCTION_SINCE.get(name)
            if since and not version.at_least(*since):
                yield f'unknown function with name "{name}" (added in Prometheus {since[0]}.{since[1]}, ' \
                      f"target is {version})"
            removed = FUNCTION_REMOVED.get(name)
            if removed and version.at_least(*removed):
                yield f'unknown function with name "{name}" (removed in Prometheus {removed[0]}.{removed[1]})'
            elif (name in EXPERIMENTAL_FUNCTIONS and not experimental and version.at_least(3, 0)
                  and not (since and not version.at_least(*since))):
                yield (f'1:1: parse error: function "{name}" is not enabled (Prometheus needs '
                       "--enable-feature=promql-experimental-functions; say so with `enable_features` in the "
                       "configuration or --enable-feature)")
        elif isinstance(node, pp.AggregateExpr):
            op = str(node.op).split(".")[-1]
            since = AGGREGATION_SINCE.get(op)
            if since and not version.at_least(*since):
                yield f"unknown aggregation {op} (added in Prometheus {since[0]}.{since[1]}, target is {version})"
            elif op in EXPERIMENTAL_AGGREGATIONS and not experimental:
                yield (f"1:1: parse error: {op}() is experimental and must be enabled with "
                       "--enable-feature=promql-experimental-functions")


def selector_problems(nodes: list[tuple[Any, tuple[Any, ...]]]) -> Iterator[str]:
    """Checks Prometheus's parser makes that promql-parser does not (empty-matching selectors, @ bounds)."""
    import promql_parser as pp

    for node, _ in nodes:
        if isinstance(node, (pp.VectorSelector, pp.SubqueryExpr)) and node.at is not None:
            try:
                if str(node.at.type).endswith(".At"):
                    node.at.at  # noqa: B018 - raises when the timestamp does not fit Prometheus' int64 ms
            except (ValueError, OverflowError):
                yield "timestamp out of bounds for @ modifier"
        if isinstance(node, pp.VectorSelector) and not node.name:
            if not all(any(_matcher_rejects_empty(m) for m in group) for group in matcher_groups(node)):
                yield "vector selector must contain at least one non-empty matcher"


def _matcher_rejects_empty(m: Matcher) -> bool:
    op = m.op
    if op == "Equal":
        return m.value != ""
    if op == "NotEqual":
        return m.value == ""
    try:
        matched = gosem_regexp.compile_prometheus(m.value).matches("")
    except gosem_regexp.RegexpError:
        return True
    return not matched if op == "Re" else matched
