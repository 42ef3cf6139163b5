"""Telegram bot: POST {api_url}/bot<token>/sendMessage with chat_id and text (token from env or file)."""

from __future__ import annotations

from typing import Any

import httpx

from opsctl.detect.anomaly.base import Params

from .base import Notifier, post_json, text_of


class TelegramParams(Params):
    chat_id: str
    token: str | None = None
    token_env: str | None = None
    token_file: str | None = None
    api_url: str = "https://api.telegram.org"


class Telegram(Notifier):
    id = "telegram"
    summary = "Telegram bot sendMessage"
    Params = TelegramParams

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, TelegramParams)
        token = self.secret(p.token, p.token_env, p.token_file, "telegram token")
        post_json(client, f"{p.api_url.rstrip('/')}/bot{token}/sendMessage",
                  {"chat_id": p.chat_id, "text": text_of(alert)})
