"""Connectivity checks for the live endpoints opsctl talks to (`opsctl doctor`).

For each configured Prometheus (or Thanos/Mimir/VictoriaMetrics), Alertmanager and Grafana: reachable,
version, ready, authenticated; for Alertmanager also whether its loaded configuration matches a given file.
Every check is a `Check(component, url, name, ok, detail)`; nothing is printed here.

What is compared for the configuration: the routing tree (every node's matchers, receiver, grouping, timers,
continue, time intervals), the receiver names and their integration kinds, the inhibit rules and the named
time intervals. Alertmanager serves its loaded configuration with secrets masked and defaults filled in,
so text comparison would always differ; both sides are decoded by opsctl's Alertmanager config reader first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl.live.http import Endpoint, LiveError

__all__ = ["Check", "check_alertmanager", "check_grafana", "check_prometheus", "config_fingerprint"]


@dataclass(frozen=True)
class Check:
    component: str  # prometheus, alertmanager, grafana
    url: str
    name: str  # reachable, version, ready, auth, config
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "url": self.url, "check": self.name, "ok": self.ok,
                "detail": self.detail}


def _try(ep: Endpoint, path: str, expect_json: bool = True) -> tuple[Any, LiveError | None]:
    try:
        return ep.request("GET", path, expect_json=expect_json), None
    except LiveError as exc:
        return None, exc


def _reach(component: str, ep: Endpoint, path: str) -> list[Check]:
    _, err = _try(ep, path, expect_json=False)
    if err is not None and (err.down or err.status_code is None):
        return [Check(component, ep.url, "reachable", False, str(err))]
    return [Check(component, ep.url, "reachable", True, "")]


def check_prometheus(ep: Endpoint) -> list[Check]:
    c = "prometheus"
    out = _reach(c, ep, "/-/healthy")
    if not out[0].ok:
        return out
    build, err = _try(ep, "/api/v1/status/buildinfo")
    if err is None and isinstance(build, dict):
        out.append(Check(c, ep.url, "version", True, str((build.get("data") or {}).get("version", "unknown"))))
    else:  # Thanos, Mimir and VictoriaMetrics do not all serve buildinfo
        out.append(Check(c, ep.url, "version", True, "unknown (no /api/v1/status/buildinfo)"))
    _, err = _try(ep, "/-/ready", expect_json=False)
    out.append(Check(c, ep.url, "ready", err is None, str(err) if err else ""))
    doc, err = _try(ep, "/api/v1/query?query=1")
    ok = err is None and isinstance(doc, dict) and doc.get("status") == "success"
    out.append(Check(c, ep.url, "auth", ok, str(err) if err else ("" if ok else "query API did not answer success")))
    return out


def config_fingerprint(cfg: Any) -> dict[str, Any]:
    """What `doctor` compares of two Alertmanager configs (see the module docstring)."""
    from opsctl.alertmanager import routing

    def node(n: routing.RouteNode) -> dict[str, Any]:
        d = n.to_dict()
        d.pop("line", None)
        d.pop("column", None)
        d["matchers"] = sorted(d["matchers"])
        return {**d, "routes": [node(ch) for ch in n.routes]}

    return {
        "route": node(routing.build_tree(cfg.route)),
        "receivers": {r.name: sorted(i.kind for i in r.integrations) for r in cfg.receivers},
        "inhibit_rules": [(sorted(map(str, r.source_matchers)), sorted(map(str, r.target_matchers)), sorted(r.equal))
                          for r in cfg.inhibit_rules],
        "time_intervals": sorted(t.name for t in cfg.time_intervals),
    }


def _diff(a: Any, b: Any, path: str = "") -> str:
    """The first place where two fingerprints differ, as a short path."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                return _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(b)} in the file, {len(a)} loaded"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _diff(x, y, f"{path}[{i}]")
    return f"{path}: loaded {a!r}, file {b!r}"


def check_alertmanager(ep: Endpoint, config_file: Path | None = None) -> list[Check]:
    c = "alertmanager"
    out = _reach(c, ep, "/-/healthy")
    if not out[0].ok:
        return out
    status, err = _try(ep, "/api/v2/status")
    if err is not None or not isinstance(status, dict):
        out.append(Check(c, ep.url, "auth", False, str(err) if err else "/api/v2/status is not an object"))
        return out
    out.append(Check(c, ep.url, "auth", True, ""))
    out.append(Check(c, ep.url, "version", True, str((status.get("versionInfo") or {}).get("version", "unknown"))))
    _, err = _try(ep, "/-/ready", expect_json=False)
    out.append(Check(c, ep.url, "ready", err is None, str(err) if err else ""))
    if config_file is not None:
        from opsctl.alertmanager.check import load_valid
        from opsctl.alertmanager.config import ConfigErrors, loads_config
        from opsctl.errors import InputError

        want = config_fingerprint(load_valid(config_file))
        original = str((status.get("config") or {}).get("original") or "")
        try:
            have = config_fingerprint(loads_config(original, "loaded config", check_templates=False))
        except (ConfigErrors, InputError) as exc:
            out.append(Check(c, ep.url, "config", False, f"cannot read the loaded config: {exc}"))
            return out
        same = want == have
        out.append(Check(c, ep.url, "config", same, f"matches {config_file}" if same
                         else f"differs from {config_file}: {_diff(have, want)}"))
    return out


def check_grafana(ep: Endpoint) -> list[Check]:
    c = "grafana"
    health, err = _try(ep, "/api/health")
    if err is not None and (err.down or err.status_code is None):
        return [Check(c, ep.url, "reachable", False, str(err))]
    out = [Check(c, ep.url, "reachable", True, "")]
    if isinstance(health, dict):
        out.append(Check(c, ep.url, "version", True, str(health.get("version", "unknown"))))
        db = str(health.get("database", ""))
        out.append(Check(c, ep.url, "ready", db == "ok", f"database: {db or 'unknown'}"))
    else:
        out.append(Check(c, ep.url, "ready", False, str(err) if err else "/api/health is not an object"))
    _, err = _try(ep, "/api/org")  # answers for a service-account token as for a user
    out.append(Check(c, ep.url, "auth", err is None, str(err) if err else ""))
    return out
