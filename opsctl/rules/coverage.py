"""`opsctl rules coverage`: alerts per service, by severity, metrics referenced, policy violations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import promql_parser as pp

from opsctl.rules.checks.base import selector_name
from opsctl.rules.config import RulesConfig
from opsctl.rules.model import RuleFile
from opsctl.rules.promql_ast import walk

NO_SERVICE = "(no service label)"


@dataclass
class ServiceCoverage:
    service: str
    alerts: list[str] = field(default_factory=list)
    by_severity: dict[str, int] = field(default_factory=dict)
    metrics: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "alerts": len(self.alerts),
            "alert_names": sorted(set(self.alerts)),
            "by_severity": dict(sorted(self.by_severity.items())),
            "metrics": sorted(self.metrics),
            "violations": self.violations,
        }


@dataclass
class CoverageReport:
    service_label: str
    services: list[ServiceCoverage]
    violations: list[str]
    recording_rules: int
    alerts: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "service_label": self.service_label,
            "alerts": self.alerts,
            "recording_rules": self.recording_rules,
            "services": [s.to_dict() for s in self.services],
            "violations": self.violations,
            "ok": self.ok,
        }


def _metrics(ast: Any) -> set[str]:
    out = set()
    for node, _ in walk(ast):
        if isinstance(node, pp.VectorSelector):
            name = selector_name(node)
            if name:
                out.add(name)
    return out


def coverage(files: list[RuleFile], config: RulesConfig) -> CoverageReport:
    policy = config.coverage
    label = policy.service_label
    recorded: dict[str, set[str]] = {}
    for rf in files:
        for rule in rf.rules:
            if rule.kind == "record" and rule.ast is not None:
                recorded.setdefault(rule.name, set()).update(_metrics(rule.ast))

    def resolve(names: set[str], depth: int = 0) -> set[str]:
        out: set[str] = set()
        for n in names:
            if n in recorded and depth < 10:
                out |= resolve(recorded[n] - {n}, depth + 1)
            else:
                out.add(n)
        return out

    services: dict[str, ServiceCoverage] = {}
    alerts = records = 0
    for rf in files:
        for rule in rf.rules:
            if rule.kind == "record":
                records += 1
                continue
            alerts += 1
            svc = rule.labels.get(label) or NO_SERVICE
            cov = services.setdefault(svc, ServiceCoverage(svc))
            cov.alerts.append(rule.name)
            sev = rule.labels.get(config.severity_label, "(none)")
            cov.by_severity[sev] = cov.by_severity.get(sev, 0) + 1
            if rule.ast is not None:
                cov.metrics |= resolve(_metrics(rule.ast))
    violations: list[str] = []
    for name in policy.services:
        if name not in services:
            services[name] = ServiceCoverage(name)
    for cov in services.values():
        if cov.service == NO_SERVICE:
            cov.violations.append(f"{len(cov.alerts)} alert(s) have no {label} label")
        else:
            if len(cov.alerts) < policy.min_alerts_per_service:
                cov.violations.append(f"{len(cov.alerts)} alert(s), policy requires at least "
                                      f"{policy.min_alerts_per_service}")
            for sev in policy.required_severities:
                if not cov.by_severity.get(sev):
                    cov.violations.append(f"no {sev} alert")
        violations += [f"{cov.service}: {v}" for v in cov.violations]
    ordered = sorted(services.values(), key=lambda c: (c.service == NO_SERVICE, c.service))
    return CoverageReport(label, ordered, violations, records, alerts)
