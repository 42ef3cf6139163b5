"""Generic webhook: POST the alert as JSON ({"version": 1, "alert": {...}}) to a URL with optional headers."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field

from opsctl.detect.anomaly.base import Params
from opsctl.detect.tlsconfig import TLSConfig

from .base import Notifier, post_json


class WebhookParams(Params):
    url: str | None = None
    url_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token_env: str | None = None
    tls_config: TLSConfig | None = None


class Webhook(Notifier):
    id = "webhook"
    summary = "generic JSON webhook"
    Params = WebhookParams

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, WebhookParams)
        url = self.secret(p.url, p.url_env, None, "webhook url")
        headers = dict(p.headers)
        if p.bearer_token_env:
            headers["Authorization"] = "Bearer " + self.secret(None, p.bearer_token_env, None, "webhook token")
        post_json(client, url, {"version": 1, "alert": alert}, headers)
