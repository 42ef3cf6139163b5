"""Alertmanager: POST /api/v2/alerts (the preferred path; Alertmanager then groups, routes, silences).

Firing alerts are re-sent on every run with endsAt = now + `ttl` so Alertmanager keeps them active
between cron runs; a cleared problem is sent once with endsAt = now, which resolves it. Labels are the
detector's labels plus alertname (the detector name), severity and fingerprint; the message goes to
annotations.summary/description. Optional bearer token or basic auth.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import field_validator

from opsctl.detect.anomaly.base import Params
from opsctl.detect.tlsconfig import TLSConfig
from opsctl.durations import parse_duration

from .base import Notifier, post_json


class AlertmanagerParams(Params):
    url: str
    ttl: float = 3600.0
    bearer_token_env: str | None = None
    bearer_token_file: str | None = None
    generator_url: str | None = None
    tls_config: TLSConfig | None = None

    @field_validator("ttl", mode="before")
    @classmethod
    def _dur(cls, v: object) -> object:
        return parse_duration(v) if isinstance(v, str) else v


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def am_alert(alert: dict[str, Any], ttl: float, now: datetime, generator_url: str | None = None) -> dict[str, Any]:
    labels = {k: v for k, v in alert["labels"].items() if k != "__name__"}
    labels.update(alertname=alert["detector"], severity=alert["severity"], fingerprint=alert["fingerprint"])
    ann = {"summary": alert.get("summary") or alert["message"], "description": alert["message"]}
    if alert.get("runbook_url"):
        ann["runbook_url"] = alert["runbook_url"]
    ends = now if alert["status"] == "resolved" else now + timedelta(seconds=ttl)
    out: dict[str, Any] = {"labels": labels, "annotations": ann, "startsAt": alert["starts_at"], "endsAt": _iso(ends)}
    if generator_url:
        out["generatorURL"] = generator_url
    return out


class Alertmanager(Notifier):
    id = "alertmanager"
    summary = "Alertmanager API v2 (POST /api/v2/alerts); firing alerts refreshed every run"
    Params = AlertmanagerParams
    refresh_firing = True

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, AlertmanagerParams)
        headers = {}
        if p.bearer_token_env or p.bearer_token_file:
            headers["Authorization"] = "Bearer " + self.secret(None, p.bearer_token_env, p.bearer_token_file,
                                                               "alertmanager token")
        body = [am_alert(alert, p.ttl, datetime.now(UTC), p.generator_url)]
        post_json(client, p.url.rstrip("/") + "/api/v2/alerts", body, headers)
