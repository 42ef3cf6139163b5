"""The SLO model every spec format is mapped to (sloth `prometheus/v1`, OpenSLO `v1alpha` and `v1`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BudgetingMethod = Literal["Occurrences", "Timeslices", "RatioTimeslices"]

SPEC_SLOTH = "prometheus/v1"
SPEC_SLOTH_K8S = "sloth.slok.dev/v1"  # sloth's Kubernetes PrometheusServiceLevel
SPEC_OPENSLO_V1ALPHA = "openslo/v1alpha"
SPEC_OPENSLO_V1 = "openslo/v1"


@dataclass
class SLI:
    """How good and bad are measured. Exactly one family is set.

    - events (sloth): `error_query` / `total_query`, templated with `{{.window}}`.
    - ratio (OpenSLO): `good_query` or `error_query` with `total_query`; `counter` means the queries
      select raw counters (no `{{.window}}`), which opsctl wraps in `rate(...[window])`.
    - raw (sloth): `error_ratio_query`, an error ratio in [0, 1] over `{{.window}}`.
    - threshold (OpenSLO thresholdMetric): `threshold_query` compared with `op`/`value` of the objective;
      a point is good when `query op value` holds.
    """

    error_query: str | None = None
    total_query: str | None = None
    good_query: str | None = None
    error_ratio_query: str | None = None
    threshold_query: str | None = None
    threshold_op: str | None = None  # lt, lte, gt, gte
    threshold_value: float | None = None
    counter: bool = False

    @property
    def kind(self) -> str:
        if self.threshold_query is not None:
            return "threshold"
        if self.error_ratio_query is not None:
            return "raw"
        return "events"


@dataclass
class AlertMeta:
    disable: bool = False
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class CalendarWindow:
    """A calendar-aligned SLO window (OpenSLO `isRolling: false`): `count` `unit`s from `start`."""

    count: int
    unit: str  # m h d w M Q Y
    start: float  # Unix seconds of the first window's start
    timezone: str = "UTC"


@dataclass
class Intervals:
    """sloth `interval`: rule group evaluation intervals (seconds, 0 = Prometheus default)."""

    all: float = 0.0
    sli_error: float = 0.0
    metadata: float = 0.0
    alert: float = 0.0


@dataclass
class SLO:
    id: str
    name: str
    service: str
    objective: float  # percent, (0, 100]
    period: float  # seconds
    sli: SLI
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    info_labels: dict[str, str] = field(default_factory=dict)
    page: AlertMeta = field(default_factory=lambda: AlertMeta(disable=True))
    ticket: AlertMeta = field(default_factory=lambda: AlertMeta(disable=True))
    budgeting: BudgetingMethod = "Occurrences"
    timeslice_target: float | None = None  # ratio in (0, 1]
    timeslice_window: float | None = None  # seconds
    calendar: CalendarWindow | None = None
    intervals: Intervals = field(default_factory=Intervals)
    spec: str = SPEC_SLOTH
    file: str = "<spec>"
    line: int = 0
    disable_optimized: bool = False  # sloth sli_rules plugin config disableOptimized
    pyrra: object | None = None  # the pyrra objective (opsctl.slo.pyrra.PyrraObjective) for pyrra input

    @property
    def objective_ratio(self) -> float:
        return self.objective / 100

    @property
    def error_budget_ratio(self) -> float:
        return (100 - self.objective) / 100


@dataclass
class SLOGroup:
    """The SLOs of one spec document (sloth generates one rule file per document)."""

    slos: list[SLO]
    spec: str
    file: str
    document: int = 0
    # Kubernetes metadata of a CRD input (sloth PrometheusServiceLevel): name, namespace, labels. Rules for
    # a CRD are written as a prometheus-operator PrometheusRule manifest, as sloth does.
    k8s_name: str | None = None
    k8s_namespace: str | None = None
    k8s_labels: dict[str, str] = field(default_factory=dict)
