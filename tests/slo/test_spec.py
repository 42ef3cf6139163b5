"""Spec loading and validation: sloth prometheus/v1, OpenSLO v1alpha and v1; errors name file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.slo.spec import load_spec, loads_spec
from tests.conftest import run_opsctl, shared_data_dir

GOOD = """\
version: "prometheus/v1"
service: "svc"
labels:
  team: "a"
slos:
  - name: "avail"
    objective: 99.9
    labels:
      tier: "1"
    sli:
      events:
        error_query: sum(rate(x{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(x[{{.window}}]))
    alerting:
      name: Avail
      labels: {category: availability}
      page_alert:
        labels: {severity: critical}
      ticket_alert:
        disable: true
"""


def err(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        loads_spec(text, "spec.yml")
    return info.value


def test_good_sloth_spec() -> None:
    [group] = loads_spec(GOOD, "spec.yml")
    [slo] = group.slos
    assert slo.id == "svc-avail" and slo.objective == 99.9 and slo.period == 30 * 86400
    assert slo.labels == {"team": "a", "tier": "1"}
    assert slo.page.labels == {"category": "availability", "severity": "critical"}
    assert slo.ticket.disable and not slo.page.disable
    assert slo.line == 6


@pytest.mark.parametrize(("old", "new", "line", "fragment"), [
    ("objective: 99.9", "objective: 100.5", 7, "objective: must be in (0, 100]"),
    ("objective: 99.9", "objective: high", 7, "expected a number"),
    ('sum(rate(x[{{.window}}]))\n', 'sum(rate(x[5m]))\n', 13, "{{.window}}"),
    ('sum(rate(x[{{.window}}]))\n', 'sum(rate(x[{{.window}}])\n', 13, "invalid PromQL"),
    ('name: "avail"', 'name: "-avail"', 6, "names start and end"),
    ("      name: Avail\n", "", 15, "alerting.name is required"),
    ("    labels:\n      tier", "    lables:\n      tier", 8, "unknown field 'lables'"),
    ('tier: "1"', 'tier-x: "1"', 9, "invalid label name"),
    ("events:", "plugin:", 11, "plugins"),
    ('version: "prometheus/v1"', 'version: "prometheus/v2"', 1, "unsupported spec version"),
])
def test_sloth_errors_have_positions(old: str, new: str, line: int, fragment: str) -> None:
    assert old in GOOD
    e = err(GOOD.replace(old, new, 1))
    assert e.file == "spec.yml"
    assert e.line == line, str(e)
    assert fragment in e.message, str(e)


def test_duplicate_slo_ids() -> None:
    text = GOOD + GOOD.split("slos:\n", 1)[1]
    e = err(text)
    assert "repeated" in e.message


def test_every_shared_sloth_example_loads() -> None:
    specs = sorted((shared_data_dir() / "sloth").glob("*.yml"))
    assert specs
    for p in specs:
        groups = load_spec(p)
        assert groups and all(g.slos for g in groups)


V1 = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: lat
spec:
  service: svc
  indicator:
    metadata: {name: p99}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: up}
  timeWindow:
    - duration: 1w
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - op: gte
      value: 1
      target: 0.99
      timeSliceTarget: 0.9
      timeSliceWindow: 1m
"""


def test_openslo_v1_threshold_timeslices() -> None:
    [g] = loads_spec(V1, "v1.yml")
    [s] = g.slos
    assert s.period == 7 * 86400 and s.budgeting == "Timeslices"
    assert s.timeslice_target == 0.9 and s.timeslice_window == 60
    assert s.sli.kind == "threshold" and s.sli.threshold_op == "gte" and s.sli.threshold_value == 1


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ("duration: 1w", "duration: 1 week", "invalid duration"),
    ("budgetingMethod: Timeslices", "budgetingMethod: Sometimes", "budgetingMethod"),
    ("      timeSliceWindow: 1m\n", "", "'timeSliceWindow' is required"),
    ("op: gte", "op: approx", "op 'approx'"),
    ("target: 0.99", "target: 99", "target: must be in (0, 1)"),
    ("isRolling: true", "isRolling: false", "calendar: expected a mapping"),
    ("kind: SLO", "kind: Thing", "unknown OpenSLO kind"),
])
def test_openslo_v1_errors(old: str, new: str, fragment: str) -> None:
    assert old in V1
    e = err(V1.replace(old, new, 1))
    assert fragment in e.message, str(e)
    assert e.line > 0


def test_openslo_indicator_ref_must_exist() -> None:
    inline = V1[V1.index("  indicator:"):V1.index("  timeWindow:")]
    text = V1.replace(inline, "  indicatorRef: nope\n")
    e = err(text)
    assert "no SLI document named 'nope'" in e.message and e.line == 7


def test_cli_validate_reports_position(tmp_path: Path) -> None:
    p = tmp_path / "bad.yml"
    p.write_text(GOOD.replace("objective: 99.9", "objective: 0"))
    proc = run_opsctl("slo", "validate", str(p))
    assert proc.returncode == 2
    assert f"{p}:7:16:" in proc.stderr and "Traceback" not in proc.stderr
    p.write_text(GOOD)
    proc = run_opsctl("slo", "validate", str(p), "--format", "json")
    assert proc.returncode == 0 and '"schema_version": 1' in proc.stdout


_yaml_atoms = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
_yaml_values = st.recursive(_yaml_atoms, lambda c: st.one_of(st.lists(c, max_size=4),
                                                             st.dictionaries(st.text(max_size=12), c, max_size=5)),
                            max_leaves=20)
_keys = st.sampled_from(["version", "service", "slos", "labels", "apiVersion", "kind", "spec", "metadata", "sli",
                         "objective", "name", "events", "raw", "alerting", "timeWindow", "objectives"])


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _yaml_values, max_size=6), st.sampled_from(["prometheus/v1", "openslo/v1",
                                                                           "openslo/v1alpha", None]))
def test_random_documents_raise_only_input_errors(doc: dict, version: str | None) -> None:
    import yaml
    if version == "prometheus/v1":
        doc["version"] = version
    elif version:
        doc["apiVersion"] = version
        doc.setdefault("kind", "SLO")
    text = yaml.safe_dump(doc)
    try:
        loads_spec(text, "fuzz.yml")
    except InputError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_random_text_raises_only_input_errors(text: str) -> None:
    try:
        loads_spec(text, "fuzz.yml")
    except InputError:
        pass


def test_openslo_counter_queries_must_be_wrappable() -> None:
    text = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: svc
  indicator:
    metadata: {name: r}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            spec: {query: 'sum(rate(x[5m]))'}
        total:
          metricSource:
            spec: {query: 'sum(x)'}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""
    e = err(text)
    assert "counter: true" in e.message and e.line == 12
    ok = loads_spec(text.replace("sum(rate(x[5m]))", 'sum(x{code!~"5.."})'), "ok.yml")
    assert ok[0].slos[0].sli.counter is True
