"""Slack incoming webhook: POST {"text": ...}. The webhook URL is a secret: `url_env` or `url_file`."""

from __future__ import annotations

from typing import Any

import httpx

from opsctl.detect.anomaly.base import Params

from .base import Notifier, post_json, text_of


class SlackParams(Params):
    url: str | None = None
    url_env: str | None = None
    url_file: str | None = None
    channel: str | None = None


class Slack(Notifier):
    id = "slack"
    summary = "Slack incoming webhook"
    Params = SlackParams

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, SlackParams)
        url = self.secret(p.url, p.url_env, p.url_file, "slack webhook url")
        body: dict[str, Any] = {"text": text_of(alert)}
        if p.channel:
            body["channel"] = p.channel
        post_json(client, url, body)
