"""pyrra ServiceLevelObjective: generated rules equal to pyrra's own generator tests, rule for rule.

Oracle: `../shared/data/pyrra/slo/rules_test.go` (TestObjective_Burnrates, TestObjective_IncreaseRules): each
case holds an objective (a Go value defined in promql_test.go, mirrored below field by field) and the exact
rule group pyrra generates. The expected groups are read from the Go source by a small literal reader.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsctl.errors import InputError
from opsctl.slo.generate import Options, documents_to_yaml, generate, generate_documents
from opsctl.slo.pyrra import Metric, PyrraObjective, _sli, burnrate_rules, generic_rules, increase_rules, windows
from opsctl.slo.spec import load_spec, loads_spec
from tests.conftest import find_tool, run_opsctl, shared_data_dir

DAY = 86400.0

# ----------------------------------------------------------------------------- the Go test objectives


def _m(*ms: tuple[str, str, str]) -> list[tuple[str, str, str]]:
    return list(ms)


def http_ratio() -> PyrraObjective:
    return PyrraObjective(
        name="monitoring-http-errors", target=0.99, window=28 * DAY, kind="ratio",
        errors=Metric("http_requests_total", _m(("job", "=", "thanos-receive-default"), ("code", "=~", "5.."),
                                                ("__name__", "=", "http_requests_total"))),
        total=Metric("http_requests_total", _m(("job", "=", "thanos-receive-default"),
                                               ("__name__", "=", "http_requests_total"))))


def http_ratio_description_as_label() -> PyrraObjective:
    o = http_ratio()
    o.description_as_label, o.description = True, "Test"
    return o


def http_ratio_grouping() -> PyrraObjective:
    o = http_ratio()
    o.grouping = ["job", "handler"]
    return o


def http_ratio_grouping_regex() -> PyrraObjective:
    o = http_ratio_grouping()
    assert o.errors is not None
    o.total.matchers.append(("handler", "=~", "/api.*"))
    o.errors.matchers.append(("handler", "=~", "/api.*"))
    return o


def grpc_ratio() -> PyrraObjective:
    base = [("job", "=", "api"), ("grpc_service", "=", "conprof.WritableProfileStore"), ("grpc_method", "=", "Write")]
    return PyrraObjective(
        name="monitoring-grpc-errors", target=0.999, window=28 * DAY, kind="ratio",
        errors=Metric("grpc_server_handled_total", [*base, ("grpc_code", "=~",
                      "Aborted|Unavailable|Internal|Unknown|Unimplemented|DataLoss"),
                      ("__name__", "=", "grpc_server_handled_total")]),
        total=Metric("grpc_server_handled_total", [*base, ("__name__", "=", "grpc_server_handled_total")]))


def grpc_ratio_grouping() -> PyrraObjective:
    o = grpc_ratio()
    o.grouping = ["job", "handler"]
    return o


def http_latency() -> PyrraObjective:
    job = ("job", "=", "metrics-service-thanos-receive-default")
    return PyrraObjective(
        name="monitoring-http-latency", target=0.995, window=28 * DAY, kind="latency",
        errors=Metric("http_request_duration_seconds_bucket", [job, ("code", "=~", "2.."), ("le", "=", "1"),
                      ("__name__", "=", "http_request_duration_seconds_bucket")]),
        total=Metric("http_request_duration_seconds_count", [job, ("code", "=~", "2.."),
                     ("__name__", "=", "http_request_duration_seconds_count")]))


def http_native_latency() -> PyrraObjective:
    """pyrra's objectiveHTTPNativeLatency: latencyNative, 1s, on http_request_duration_seconds."""
    return PyrraObjective(
        name="monitoring-http-latency", target=0.995, window=28 * DAY, kind="latency_native", latency=1.0,
        total=Metric("http_request_duration_seconds", [("job", "=", "metrics-service-thanos-receive-default"),
                     ("code", "=~", "2.."), ("__name__", "=", "http_request_duration_seconds")]))


def http_native_latency_grouping() -> PyrraObjective:
    o = http_native_latency()
    o.grouping = ["job", "handler"]
    return o


def http_latency_grouping() -> PyrraObjective:
    o = http_latency()
    o.grouping = ["job", "handler"]
    return o


def http_latency_grouping_regex() -> PyrraObjective:
    o = http_latency_grouping()
    assert o.errors is not None
    o.errors.matchers.append(("handler", "=~", "/api.*"))
    o.total.matchers.append(("handler", "=~", "/api.*"))
    return o


def grpc_latency() -> PyrraObjective:
    base = [("job", "=", "api"), ("grpc_service", "=", "conprof.WritableProfileStore"), ("grpc_method", "=", "Write")]
    return PyrraObjective(
        name="monitoring-grpc-latency", target=0.995, window=7 * DAY, kind="latency",
        errors=Metric("grpc_server_handling_seconds_bucket", [*base, ("le", "=", "0.6"),
                      ("__name__", "=", "grpc_server_handling_seconds_bucket")]),
        total=Metric("grpc_server_handling_seconds_count", [*base,
                     ("__name__", "=", "grpc_server_handling_seconds_count")]))


def grpc_latency_grouping() -> PyrraObjective:
    o = grpc_latency()
    o.grouping = ["job", "handler"]
    return o


def operator() -> PyrraObjective:
    return PyrraObjective(
        name="monitoring-prometheus-operator-errors", target=0.99, window=14 * DAY, kind="ratio",
        errors=Metric("prometheus_operator_reconcile_errors_total",
                      [("__name__", "=", "prometheus_operator_reconcile_errors_total")]),
        total=Metric("prometheus_operator_reconcile_operations_total",
                     [("__name__", "=", "prometheus_operator_reconcile_operations_total")]))


def operator_grouping() -> PyrraObjective:
    o = operator()
    o.grouping = ["namespace"]
    return o


def apiserver_ratio() -> PyrraObjective:
    base = [("job", "=", "apiserver"), ("verb", "=~", "POST|PUT|PATCH|DELETE")]
    return PyrraObjective(
        name="apiserver-write-response-errors", target=0.99, window=14 * DAY, kind="ratio",
        alert_name="APIServerErrorBudgetBurn", absent_name="APIServerMetricAbsent",
        errors=Metric("apiserver_request_total", [*base, ("code", "=~", "5..")]),
        total=Metric("apiserver_request_total", list(base)))


def apiserver_ratio_grouping() -> PyrraObjective:
    o = apiserver_ratio()
    o.grouping = ["verb"]
    return o


def apiserver_ratio_alerting_disabled() -> PyrraObjective:
    o = apiserver_ratio()
    o.disabled, o.burnrates, o.absent = True, False, False
    return o


def apiserver_latency() -> PyrraObjective:
    base = [("job", "=", "apiserver"), ("verb", "=~", "LIST|GET"), ("resource", "=~", "resource|")]
    return PyrraObjective(
        name="apiserver-read-resource-latency", target=0.99, window=14 * DAY, kind="latency",
        grouping=["resource", "verb"],
        errors=Metric("apiserver_request_duration_seconds_bucket", [*base, ("le", "=", "0.1")]),
        total=Metric("apiserver_request_duration_seconds_count", list(base)))


def apiserver_latency_alerting_disabled() -> PyrraObjective:
    o = apiserver_latency()
    o.disabled, o.burnrates, o.absent = True, False, False
    return o


def apiserver_latency_custom_alertname() -> PyrraObjective:
    o = apiserver_latency()
    o.alert_name = "APIServerLatencyErrorBudgetBurn"
    return o


def up_targets() -> PyrraObjective:
    return PyrraObjective(name="up-targets", target=0.99, window=28 * DAY, kind="bool_gauge", total=Metric("up"))


def up_targets_grouping_regex() -> PyrraObjective:
    o = up_targets()
    o.grouping = ["job", "instance"]
    o.total.matchers.append(("instance", "!~", "(127.0.0.1|localhost).*"))
    return o


OBJECTIVES = {
    "objectiveHTTPRatio": http_ratio, "objectiveHTTPRatioGrouping": http_ratio_grouping,
    "objectiveHTTPRatioDescriptionAsLabel": http_ratio_description_as_label,
    "objectiveHTTPRatioGroupingRegex": http_ratio_grouping_regex, "objectiveGRPCRatio": grpc_ratio,
    "objectiveGRPCRatioGrouping": grpc_ratio_grouping, "objectiveHTTPLatency": http_latency,
    "objectiveHTTPLatencyGrouping": http_latency_grouping,
    "objectiveHTTPLatencyGroupingRegex": http_latency_grouping_regex, "objectiveGRPCLatency": grpc_latency,
    "objectiveGRPCLatencyGrouping": grpc_latency_grouping, "objectiveOperator": operator,
    "objectiveOperatorGrouping": operator_grouping, "objectiveAPIServerRatio": apiserver_ratio,
    "objectiveAPIServerRatioGrouping": apiserver_ratio_grouping,
    "objectiveAPIServerRatioAlertingDisabled": apiserver_ratio_alerting_disabled,
    "objectiveAPIServerLatency": apiserver_latency,
    "objectiveAPIServerLatencyAlertingDisabled": apiserver_latency_alerting_disabled,
    "objectiveAPIServerLatencyCustomAlertname": apiserver_latency_custom_alertname,
    "objectiveUpTargets": up_targets, "objectiveUpTargetsGroupingRegex": up_targets_grouping_regex,
    "objectiveHTTPNativeLatency": http_native_latency,
    "objectiveHTTPNativeLatencyGrouping": http_native_latency_grouping,
}
# Cases opsctl refuses on purpose (pyrra's split rule groups) or does not offer (Prometheus 3 `le` migration).
NOT_SUPPORTED = ("LessAccura", "EnablePrometheus3Migration")

# ----------------------------------------------------------------------------- reading the Go test source


def _go_string(text: str, i: int) -> tuple[str, int]:
    """A Go string literal at text[i] (raw `...` or interpreted "..."): (value, index after it)."""
    if text[i] == "`":
        j = text.index("`", i + 1)
        return text[i + 1:j], j + 1
    assert text[i] == '"', text[i:i + 20]
    j = i + 1
    while text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return yaml.safe_load(text[i:j + 1]), j + 1  # YAML double-quoted escapes cover the ones used here


def _go_map(text: str, i: int) -> tuple[dict[str, str], int]:
    """`map[string]string{"k": "v", ...}` starting at text[i] == "{"."""
    out: dict[str, str] = {}
    i += 1
    while True:
        while text[i] in " \t\n,":
            i += 1
        if text[i] == "}":
            return out, i + 1
        k, i = _go_string(text, i)
        i = text.index(":", i) + 1
        while text[i] in " \t\n":
            i += 1
        v, i = _go_string(text, i)
        out[k] = v


FIELD = re.compile(r"\b(Record|Alert|For|Expr|Labels|Annotations|Name|Interval):\s*")


def _rules(block: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    group: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    pos = 0
    while True:
        m = FIELD.search(block, pos)
        if not m:
            return group, rules
        key, i = m.group(1), m.end()
        if key in ("Labels", "Annotations"):
            value, pos = _go_map(block, block.index("{", i))
        elif key in ("For", "Interval"):
            value, pos = _go_string(block, block.index("(", i) + 1)
        elif key == "Expr" and block.startswith("intstr.FromString(strconv.FormatInt(", i):
            # strconv.FormatInt(int64((28 * 24 * time.Hour).Seconds()), 10): the window in seconds
            hours = re.match(r"intstr\.FromString\(strconv\.FormatInt\(int64\(\(([\d\s*]+)\*\s*time\.Hour\)"
                             r"\.Seconds\(\)\), 10\)\)", block[i:])
            assert hours, block[i:i + 80]
            value, pos = str(math.prod(int(x) for x in hours.group(1).split("*") if x.strip()) * 3600), i + hours.end()
        elif key == "Expr":
            value, pos = _go_string(block, block.index("(", i) + 1)
        else:
            value, pos = _go_string(block, i)
        if key in ("Name", "Interval"):
            group[key.lower()] = value
            continue
        if key in ("Record", "Alert"):
            rules.append({})
        rules[-1][{"For": "for"}.get(key, key.lower())] = value


def go_cases(test: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(case name, objective func, options text, expected group) of one table test in rules_test.go."""
    src = (shared_data_dir() / "pyrra" / "slo" / "rules_test.go").read_text()
    start = src.index(f"func {test}(")
    body = src[start:src.index("\nfunc ", start + 10)]
    parts = re.split(r'\n\t\}, \{\n|\n\t\}\{\{\n', body)
    out = []
    for part in parts:
        m = re.search(r'name:\s+"([^"]+)",\s*\n\s*slo:\s+(\w+)\(\),', part)
        if not m:
            continue
        opts = re.search(r"opts:\s+(GenerationOptions\{[^}]*\})", part)
        if "rules:" not in part and re.search(r"\berr:\s+ErrGroupingUnsupported", part):
            out.append((m.group(1), m.group(2), opts.group(1) if opts else "", {}))  # pyrra refuses it
            continue
        rules_at = part.index("rules:")
        group, rules = _rules(part[rules_at:])
        group["rules"] = rules
        out.append((m.group(1), m.group(2), opts.group(1) if opts else "", group))
    return out


def _norm_rule(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if v not in ({}, None)}


def _check(cases: list[tuple[str, str, str, dict[str, Any]]], make: Any) -> int:
    compared = 0
    for name, func, opts, expected in cases:
        if any(x in func + opts + name for x in NOT_SUPPORTED) or func not in OBJECTIVES:
            assert any(x in func + opts + name for x in NOT_SUPPORTED), (name, func)
            continue
        url = "http://localhost:9090" if "ExternalURL" in opts else ""
        got = make(OBJECTIVES[func](), url)
        assert {k: got[k] for k in ("name", "interval")} == {k: expected[k] for k in ("name", "interval")}, name
        assert [_norm_rule(r) for r in got["rules"]] == [_norm_rule(r) for r in expected["rules"]], name
        compared += len(expected["rules"])
    return compared


@pytest.mark.oracle
def test_burnrate_rules_equal_pyrra_rule_for_rule() -> None:
    cases = go_cases("TestObjective_Burnrates")
    assert len(cases) == 22  # every case of the table
    assert _check(cases, burnrate_rules) >= 19 * 7


@pytest.mark.oracle
def test_increase_rules_equal_pyrra_rule_for_rule() -> None:
    cases = go_cases("TestObjective_IncreaseRules")
    assert len(cases) == 21
    assert _check(cases, lambda o, _url: increase_rules(o)) >= 30


@pytest.mark.oracle
def test_generic_rules_equal_pyrra_rule_for_rule() -> None:
    """pyrra's TestObjective_GrafanaRules: the `--generic-rules` group, and no group where pyrra refuses
    (ErrGroupingUnsupported for objectives with grouping)."""
    cases = go_cases("TestObjective_GrafanaRules")
    assert len(cases) == 18  # every case of the table
    refused = [c for c in cases if not c[3]]
    for name, func, _opts, _ in refused:
        assert generic_rules(OBJECTIVES[func]()) is None, name
    assert len(refused) == 9
    compared = _check([c for c in cases if c[3]], lambda o, _url: generic_rules(o))
    # 8 groups of 5 rules, and the native-histogram case's 3 (objective, window, availability)
    assert compared == 8 * 5 + 3


def test_generic_rules_through_the_cli(tmp_path: Path) -> None:
    spec = tmp_path / "slo.yml"
    spec.write_text(PYRRA_RATIO.replace("  window: 30d\n", "  window: 30d\n  description: Checkout\n"
                                        "  ruleOutput:\n    enableDescriptionAsLabel: true\n"))
    proc = run_opsctl("slo", "generate", str(spec), "--generic-rules", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)["documents"]
    groups = doc["spec"]["groups"]
    assert [g["name"] for g in groups] == ["svc-avail-increase", "svc-avail", "svc-avail-generic"]
    labels = {"slo": "svc-avail", "description": "Checkout"}
    assert groups[2]["rules"][:3] == [
        {"record": "pyrra_objective", "expr": "0.99", "labels": labels},
        {"record": "pyrra_window", "expr": "2592000", "labels": labels},
        {"record": "pyrra_availability", "expr": '1 - sum(http_requests:increase30d{code=~"5..",slo="svc-avail"} '
         'or vector(0)) / sum(http_requests:increase30d{slo="svc-avail"})', "labels": labels}]
    # without the option, or for a grouped objective (pyrra warns and writes none), no generic group
    proc = run_opsctl("slo", "generate", str(spec), "--format", "json")
    assert "pyrra_objective" not in proc.stdout
    spec.write_text(PYRRA_RATIO.replace("        metric: http_requests_total\n",
                                        "        metric: http_requests_total\n      grouping: [job]\n"))
    proc = run_opsctl("slo", "generate", str(spec), "--generic-rules")
    assert proc.returncode == 0 and "pyrra_objective" not in proc.stdout
    assert "no generic rules for an objective with grouping" in proc.stderr
    spec.write_text(PYRRA_RATIO.replace("  window: 30d\n", "  window: 30d\n  ruleOutput:\n"
                                        "    shortRulesLabels: {prometheus: k8s}\n"))
    proc = run_opsctl("slo", "generate", str(spec), "--generic-rules")
    assert proc.returncode == 2 and "slo.yml:9:5" in proc.stderr and "performanceOverAccuracy" in proc.stderr


SEVERITIES = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: test-slo
spec:
  target: "99"
  window: 4w
  indicator:
    INDICATOR
  alerting:
    severities: SEVERITIES
"""


@pytest.mark.parametrize("indicator", [
    'ratio:\n      errors:\n        metric: http_requests_total{job="test",code=~"5.."}\n'
    '      total:\n        metric: http_requests_total{job="test"}',
    'latency:\n      success:\n        metric: http_request_duration_seconds_bucket{job="test",le="0.5"}\n'
    '      total:\n        metric: http_request_duration_seconds_count{job="test"}',
    'bool_gauge:\n      metric: up{job="test"}',
])
def test_severity_tiers_and_absent_severity_as_pyrra(indicator: str) -> None:
    """pyrra's rules_severities_test.go: the four burn-rate tiers take fastBurn/mediumBurn/slowBurn/longTermBurn
    (unset ones fall back to critical, critical, warning, warning), absent alerts take `absent` (default
    critical); every burn alert keeps its `for` (2m, 15m, 1h, 3h for 4w)."""
    def alerts(severities: str) -> list[dict[str, Any]]:
        text = SEVERITIES.replace("INDICATOR", indicator).replace("SEVERITIES", severities)
        return [r for g in generate(loads_spec(text, "s.yml"))["groups"] for r in g["rules"] if "alert" in r]

    def tiers(rules: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(r["labels"]["severity"], r["for"]) for r in rules if r["alert"] == "ErrorBudgetBurn"]

    def absent(rules: list[dict[str, Any]]) -> set[str]:
        return {r["labels"]["severity"] for r in rules if r["alert"] == "SLOMetricAbsent"}

    rules = alerts("{fastBurn: page, mediumBurn: high, slowBurn: medium, longTermBurn: low, absent: info}")
    fors = ["2m0s", "15m0s", "1h0m0s", "3h0m0s"] if indicator.startswith("ratio") else ["2m", "15m", "1h", "3h"]
    assert tiers(rules) == list(zip(["page", "high", "medium", "low"], fors, strict=True))
    assert absent(rules) == {"info"}
    rules = alerts("{fastBurn: page, slowBurn: info}")
    assert tiers(rules) == list(zip(["page", "critical", "info", "warning"], fors, strict=True))
    assert absent(rules) == {"critical"}


def test_windows_for_28_days() -> None:
    got = [(w.severity, w.for_, w.short, w.long, w.factor) for w in windows(28 * DAY)]
    assert got == [("critical", 120, 300, 3600, 14), ("critical", 900, 1800, 21600, 7),
                   ("warning", 3600, 7200, DAY, 2), ("warning", 10800, 21600, 4 * DAY, 1)]


# ----------------------------------------------------------------------------- the CRD, end to end

EXAMPLES = shared_data_dir() / "pyrra" / "examples" if shared_data_dir().exists() else Path("/nonexistent")


def test_crd_reads_like_the_go_objective() -> None:
    """pyrra's example CRD for the apiserver latency SLO gives the objective of pyrra's own test (same rules)."""
    spec = EXAMPLES / "kubernetes_manifests_slos_slo-apiserver-read-resource-latency.yaml"
    [group] = load_spec(spec)
    [slo] = group.slos
    o = slo.pyrra
    assert isinstance(o, PyrraObjective)
    assert (o.name, o.target, o.window, o.kind) == ("apiserver-read-resource-latency", 0.99, 14 * DAY, "latency")
    assert o.total.matchers[-1] == ("__name__", "=", "apiserver_request_sli_duration_seconds_count")
    docs = generate_documents([group])
    assert docs[0]["kind"] == "PrometheusRule" and docs[0]["metadata"]["name"] == "apiserver-read-resource-latency"
    names = [g["name"] for g in docs[0]["spec"]["groups"]]
    assert names == ["apiserver-read-resource-latency-increase", "apiserver-read-resource-latency"]
    yaml.safe_load(documents_to_yaml(docs))


@pytest.mark.oracle
def test_every_pyrra_example_generates_rules_promtool_accepts(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    import subprocess
    n = 0
    for spec in sorted(EXAMPLES.glob("*.yaml")):
        rules = generate(load_spec(spec), Options(pyrra_generic_rules=True))  # with pyrra's generic rules
        out = tmp_path / f"{spec.stem}.rules.yml"
        out.write_text(yaml.safe_dump(rules))
        proc = subprocess.run([promtool, "check", "rules", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        n += 1
    assert n >= 10


BOOL_GAUGE = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: up-targets
  namespace: monitoring
spec:
  target: "99"
  window: 4w
  indicator:
    bool_gauge:
      metric: up{job="api"}
"""


def test_bool_gauge_and_errors_with_positions() -> None:
    rules = generate(loads_spec(BOOL_GAUGE, "bg.yml"))["groups"]
    assert rules[0]["rules"][0] == {"record": "up:count4w",
                                    "expr": 'sum by (__name__, job) (count_over_time(up{job="api"}[4w]))',
                                    "labels": {"slo": "up-targets"}}
    for old, new, where, fragment in (
        ("    bool_gauge:\n      metric: up{job=\"api\"}\n",
         "    latencyNative:\n      latency: fast\n      total:\n        metric: x_seconds\n", "bg.yml:11:16",
         "must be a valid duration"),
        ('metric: up{job="api"}', "metric: rate(up[5m])", "bg.yml:11:15", "expected a metric selector"),
        ('target: "99"', 'target: "high"', "bg.yml:7:11", "expected a percentage"),
        ("  window: 4w\n", "  window: 4w\n  performanceOverAccuracy: true\n", "bg.yml:9:3", "split short/long"),
    ):
        with pytest.raises(InputError) as exc:
            loads_spec(BOOL_GAUGE.replace(old, new), "bg.yml")
        assert str(exc.value).startswith(where) and fragment in str(exc.value), str(exc.value)


def test_cli_generate_pyrra(tmp_path: Path) -> None:
    spec = tmp_path / "slo.yml"
    spec.write_text(BOOL_GAUGE)
    proc = run_opsctl("slo", "generate", str(spec))
    assert proc.returncode == 0, proc.stderr
    [doc] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert doc["kind"] == "PrometheusRule" and len(doc["spec"]["groups"]) == 2
    proc = run_opsctl("slo", "generate", str(spec), "--disable-alerts", "--format", "json")
    assert proc.returncode == 0 and '"alert"' not in proc.stdout
    assert Options().pyrra_external_url == ""
    proc = run_opsctl("slo", "generate", str(spec), "--external-url", "https://pyrra.example.com")
    assert "pyrra_url: https://pyrra.example.com/objectives?expr=%7B__name__%3D%22up-targets%22%7D" in proc.stdout


PYRRA_RATIO = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: svc-avail
spec:
  target: "99"
  window: 30d
  indicator:
    ratio:
      errors:
        metric: http_requests_total{code=~"5.."}
      total:
        metric: http_requests_total
"""


def test_report_of_a_pyrra_slo_equals_the_same_sloth_slo(tmp_path: Path) -> None:
    from opsctl.slo.report import Options, report_from_export, summary
    from tests.slo.test_report import SLOTH, counters, write_csv

    data = write_csv(tmp_path / "d.csv", counters())
    pyrra = summary(report_from_export([s for g in loads_spec(PYRRA_RATIO, "p.yml") for s in g.slos], data,
                                       Options()))["slos"][0]
    sloth = summary(report_from_export([s for g in loads_spec(SLOTH, "s.yml") for s in g.slos], data,
                                       Options()))["slos"][0]
    for key in ("sli", "status", "events", "error_budget", "daily"):
        assert pyrra[key] == sloth[key], key
    # pyrra's windows and factors in the alert state: 5m/1h at 14x ... 6h/4d at 1x (30d scaled from 28d)
    conds = [c for a in pyrra["alerts"] for c in a["conditions"]]
    assert [c["factor"] for c in conds] == [14, 7, 2, 1]
    assert [c["long"] for c in conds] == ["1h4m", "6h26m", "1d1h43m", "4d6h51m"]


def test_native_latency_rules_evaluate_on_native_histograms() -> None:
    """The burn-rate rule of a latencyNative objective, evaluated by opsctl's engine on native histograms:
    a quarter of the requests is under the 1s objective (bucket (0.5, 1] of schema 0)."""
    from opsctl.promql import Engine, Storage
    from opsctl.promql.notation import parse_series_desc

    st = Storage()
    labels, vals = parse_series_desc(
        'http_request_duration_seconds{job="metrics-service-thanos-receive-default", code="200"} '
        "{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x20")
    st.add(labels, [k * 60_000 for k in range(len(vals))], [0.0] * len(vals), vals)
    o = http_native_latency()
    group = burnrate_rules(o)
    rule = next(r for r in group["rules"] if r.get("record", "").endswith(":burnrate5m"))
    (s,) = Engine(st, v3=True).instant(rule["expr"], 1200).series
    assert s.values[0] == pytest.approx(0.75)
    good, total = _sli(o).good_query, _sli(o).total_query
    assert good is not None and total is not None
    eng = Engine(st, v3=True)
    ratio = (eng.instant(good.replace("{{.window}}", "10m"), 1200).series[0].values[0]
             / eng.instant(total.replace("{{.window}}", "10m"), 1200).series[0].values[0])
    assert ratio == pytest.approx(0.25)
