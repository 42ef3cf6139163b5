"""Alert history of an SLO: when each burn-rate alert of the spec would have fired and resolved over the report
period, from the generated rules replayed on the report's data with the embedded PromQL engine
(`opsctl.rules.backtest`: recording rules evaluated on the grid, then Prometheus' alert state machine).

Only the rules the alerts need are replayed: the SLI recording rules of the alert windows and the alert rules
(sloth/OpenSLO: `slo:sli_error:ratio_rate<window>` and the page/ticket alerts; pyrra: the burn-rate group with
its `for`). Deviations from a live Prometheus are backtest's: evaluations on the report grid, recording rules
evaluated before alerts.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from opsctl.data.exports import Series
from opsctl.errors import InputError
from opsctl.slo.generate import Options as GenOptions
from opsctl.slo.generate import sli_error_metric, slo_groups, to_yaml
from opsctl.slo.model import SLO
from opsctl.slo.windows import WindowCatalog

SCHEMA = ("alert", "severity", "labels", "active_at", "fired_at", "resolved_at", "firing_seconds")


def replay_rules(slo: SLO, windows: WindowCatalog | None = None) -> dict[str, Any]:
    """The rule file replayed for `slo`'s alerts (empty `groups` when the SLO has no alerts)."""
    groups = slo_groups(slo, GenOptions(windows=windows))
    period_metric = sli_error_metric(slo.period)
    out = []
    for g in groups:
        rules = [r for r in g["rules"] if "alert" in r or (
            r["record"].startswith("slo:sli_error:") and r["record"] != period_metric)
            or ":burnrate" in r["record"]]
        if rules:
            out.append({**g, "rules": rules})
    if not any("alert" in r for g in out for r in g["rules"]):
        return {"groups": []}
    return {"groups": out}


def alert_history(slo: SLO, series: list[Series], start: float, end: float, step: float,
                  windows: WindowCatalog | None = None, prometheus_version: str | None = None) -> dict[str, Any]:
    """{"alerts": [episode...], "warnings": [...]} for `slo` over [start, end] (Unix seconds).

    `prometheus_version` ("2.42", "3.5"; default: backtest's, 3.16) chooses the engine's semantics
    (range selectors left-closed in 2.x, left-open in 3.x: an alert can fire one evaluation apart)."""
    from opsctl.rules.backtest import backtest
    from opsctl.rules.versions import PromVersion
    from opsctl.slo.report import iso

    rules = replay_rules(slo, windows)
    if not rules["groups"]:
        return {"alerts": [], "warnings": [], "replayed": False}
    fd, tmp = tempfile.mkstemp(prefix="opsctl-slo-", suffix=".rules.yml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(to_yaml(rules, header=False))
        try:
            version = PromVersion.parse(prometheus_version) if prometheus_version else None
        except ValueError as exc:
            raise InputError(f"--prometheus-version: {exc}", "<command line>") from None
        result = backtest([tmp], series, start=start, end=end, step=step, prometheus_version=version)
    finally:
        os.unlink(tmp)
    episodes = []
    for stats in result.alerts:
        for e in stats.episodes:
            if e.resolved_at is not None and e.resolved_at < start:
                continue
            sev = e.labels.get("sloth_severity") or e.labels.get("severity") or ""
            episodes.append({
                "alert": stats.name, "severity": sev,
                "labels": {k: v for k, v in e.labels.items() if k != "alertname"},
                "active_at": iso(e.active_at), "fired_at": iso(e.fired_at),
                "resolved_at": None if e.resolved_at is None or e.resolved_at > end else iso(e.resolved_at),
                "firing_seconds": e.firing_seconds(start, end),
            })
    episodes.sort(key=lambda x: (x["fired_at"], x["severity"]))
    return {"alerts": episodes, "warnings": list(result.warnings), "replayed": True}
