"""Grafana annotations: a firing alert becomes an annotation, its resolution turns it into a region.

Follows Grafana's Annotations HTTP API with a service-account token (`Authorization: Bearer ...`):

- firing: `POST /api/annotations` with `time` (the alert's start, epoch ms), `tags`, `text` (status, detector,
  message, summary, runbook link) and, when mapped, `dashboardUID` and `panelId` (without them the
  annotation is an organisation annotation, shown on dashboards whose annotation query selects its tags).
- resolved: the annotation is found again by its tags (`GET /api/annotations?tags=opsctl-fp:<fingerprint>`,
  the alert's start as `from`/`to`) and `PATCH /api/annotations/:id` sets `timeEnd` (the resolution time)
  and the resolved text: the point becomes a region. A resolution whose annotation is missing (e.g. the
  firing one went to another Grafana) is posted as a whole region.
- a firing annotation already there for the same fingerprint and start is not posted again, so a
  retry after a lost answer, or a spooled re-delivery, never duplicates it.

Dashboard and panel: `dashboard_uid`/`panel_id` by default, overridden by the first entry of `mappings`
whose `detector` (exact name, if given) and `labels` (all equal, if given) match the alert.
Tags: `opsctl`, the detector, `severity:<severity>`, `opsctl-fp:<fingerprint>`, plus `tags`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from opsctl.detect.anomaly.base import Params
from opsctl.detect.tlsconfig import TLSConfig

from .base import DeliveryError, Notifier, http_failure, post_json


class GrafanaMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    dashboard_uid: str | None = None
    panel_id: int | None = None


class GrafanaParams(Params):
    url: str
    token_env: str | None = None
    token_file: str | None = None
    dashboard_uid: str | None = None
    panel_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    mappings: list[GrafanaMapping] = Field(default_factory=list)
    tls_config: TLSConfig | None = None


def _ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def fp_tag(alert: dict[str, Any]) -> str:
    return f"opsctl-fp:{alert['fingerprint']}"


def annotation_text(alert: dict[str, Any]) -> str:
    status = "RESOLVED" if alert["status"] == "resolved" else f"FIRING {alert['severity'].upper()}"
    parts = [f"[{status}] {alert['detector']}: {alert['message']}"]
    if alert.get("summary") and alert["summary"] != alert["message"]:
        parts.append(str(alert["summary"]))
    if alert.get("runbook_url"):
        parts.append(f'<a href="{alert["runbook_url"]}">runbook</a>')
    return "\n".join(parts)


def placement(p: GrafanaParams, alert: dict[str, Any]) -> tuple[str | None, int | None]:
    labels = alert.get("labels") or {}
    for m in p.mappings:
        if m.detector is not None and m.detector != alert["detector"]:
            continue
        if any(labels.get(k) != v for k, v in m.labels.items()):
            continue
        return m.dashboard_uid, m.panel_id
    return p.dashboard_uid, p.panel_id


def annotation_body(p: GrafanaParams, alert: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"time": _ms(alert["starts_at"]),
                            "tags": ["opsctl", str(alert["detector"]), f"severity:{alert['severity']}",
                                     fp_tag(alert), *p.tags],
                            "text": annotation_text(alert)}
    uid, panel = placement(p, alert)
    if uid:
        body["dashboardUID"] = uid
    if panel is not None:
        body["panelId"] = panel
    if alert["status"] == "resolved" and alert.get("ends_at"):
        body["timeEnd"] = _ms(alert["ends_at"])
    return body


class Grafana(Notifier):
    id = "grafana"
    summary = "Grafana annotation when an alert fires, turned into a region when it resolves"
    Params = GrafanaParams

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, GrafanaParams)
        token = self.secret(None, p.token_env, p.token_file, "grafana token")
        headers = {"Authorization": f"Bearer {token}"}
        base = p.url.rstrip("/")
        body = annotation_body(p, alert)
        existing = self._find(client, base, headers, alert, body["time"])
        if alert["status"] != "resolved":
            if not existing:
                post_json(client, base + "/api/annotations", body, headers)
            return
        if not existing:
            post_json(client, base + "/api/annotations", body, headers)
            return
        patch = {"timeEnd": body.get("timeEnd", body["time"]), "text": body["text"], "tags": body["tags"]}
        try:
            resp = client.patch(f"{base}/api/annotations/{int(existing[0]['id'])}", json=patch, headers=headers)
        except httpx.HTTPError as exc:
            raise http_failure(exc, base) from None
        if not 200 <= resp.status_code < 300:
            raise DeliveryError(f"HTTP {resp.status_code}: {resp.text[:200].strip()}")

    @staticmethod
    def _find(client: httpx.Client, base: str, headers: dict[str, str], alert: dict[str, Any],
              start_ms: int) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"tags": fp_tag(alert), "from": start_ms, "to": start_ms,
                                          "limit": 10, "type": "annotation"}
        try:
            resp = client.get(base + "/api/annotations", params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise http_failure(exc, base) from None
        if not 200 <= resp.status_code < 300:
            raise DeliveryError(f"HTTP {resp.status_code}: {resp.text[:200].strip()}")
        try:
            items = resp.json()
        except ValueError:
            raise DeliveryError("GET /api/annotations did not answer JSON (wrong URL?)") from None
        if not isinstance(items, list):
            raise DeliveryError("GET /api/annotations did not answer a list")
        return [a for a in items if isinstance(a, dict) and fp_tag(alert) in (a.get("tags") or [])
                and a.get("time") == start_ms and "id" in a]
