"""PagerDuty Events API v2: trigger on firing, resolve when cleared, dedup_key = the alert fingerprint.

POST {url} (default https://events.pagerduty.com/v2/enqueue) with routing_key (from `routing_key_env`
or `routing_key_file`), event_action trigger|resolve, dedup_key and, for triggers, a payload with
summary, source, severity (critical|error|warning|info) and custom_details. 202 is success.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx

from opsctl.detect.anomaly.base import Params

from .base import Notifier, post_json


class PagerDutyParams(Params):
    url: str = "https://events.pagerduty.com/v2/enqueue"
    routing_key: str | None = None
    routing_key_env: str | None = None
    routing_key_file: str | None = None
    source: str | None = None


def pd_event(alert: dict[str, Any], routing_key: str, source: str) -> dict[str, Any]:
    if alert["status"] == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": alert["fingerprint"]}
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert["fingerprint"],
        "payload": {
            "summary": f"{alert['detector']}: {alert['message']}"[:1024],
            "source": source,
            "severity": alert["severity"],
            "timestamp": alert["starts_at"],
            "custom_details": {"labels": alert["labels"], **alert.get("extras", {})},
        },
    }


class PagerDuty(Notifier):
    id = "pagerduty"
    summary = "PagerDuty Events API v2 (trigger/resolve with dedup_key)"
    Params = PagerDutyParams

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, PagerDutyParams)
        key = self.secret(p.routing_key, p.routing_key_env, p.routing_key_file, "pagerduty routing key")
        post_json(client, p.url, pd_event(alert, key, p.source or socket.gethostname()))
