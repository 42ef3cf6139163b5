"""When PromQL functions added after Prometheus 3.5 arrived: read by the engine's version gating
(opsctl.promql.semantics) and by the linter (opsctl.rules.versions). A module of its own, outside
opsctl.promql, so that the linter reads it without importing the engine (and numpy).
"""

from __future__ import annotations

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
