"""Base class for notifiers. A notifier turns one alert notification into one delivery.

The alert handed to `send` is a dict: fingerprint, detector, status (firing|resolved), severity, message,
labels, extras, starts_at, ends_at (ISO-8601), summary, runbook_url. `send` raises DeliveryError
when the receiving side did not accept it (the engine retries with backoff and spools it otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import httpx

from opsctl import secrets
from opsctl.detect.anomaly.base import Params


class DeliveryError(Exception):
    """The receiver did not take the notification; the message never holds a secret (redacted)."""

    def __init__(self, message: str) -> None:
        super().__init__(secrets.redact(message))


class Notifier:
    id: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[Params]]
    refresh_firing: ClassVar[bool] = False  # re-send firing alerts every run (Alertmanager)

    def __init__(self, name: str, params: dict[str, Any], base: Path) -> None:
        self.name = name
        self.params = self.Params.model_validate(params)
        self.base = base

    def secret(self, value: str | None, env: str | None, file: str | None, what: str) -> str:
        if env:
            got = secrets.from_env(env)
            if not got:
                raise DeliveryError(f"{what}: environment variable {env} is not set")
            return got
        if file:
            p = Path(file)
            p = p if p.is_absolute() else self.base / p
            try:
                return secrets.from_file(p)
            except OSError as exc:
                raise DeliveryError(f"{what}: cannot read {p}: {exc.strerror}") from None
        if value:
            return secrets.register(value) or value
        raise DeliveryError(f"{what} is not configured")

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def post_json(client: httpx.Client, url: str, payload: Any, headers: dict[str, str] | None = None,
              ok_status: tuple[int, ...] = ()) -> httpx.Response:
    try:
        resp = client.post(url, json=payload, headers=headers or {})
    except httpx.HTTPError as exc:
        # webhook URLs and bot tokens are secrets: never let them into the history or the output
        raise DeliveryError(f"{type(exc).__name__}: {str(exc).replace(url, '<url>')}") from None
    if not (200 <= resp.status_code < 300 or resp.status_code in ok_status):
        # redacted before it is cut, so that a cut cannot leave half a secret behind
        raise DeliveryError(f"HTTP {resp.status_code}: {secrets.redact(resp.text)[:200].strip()}")
    return resp


def text_of(alert: dict[str, Any]) -> str:
    status = "RESOLVED" if alert["status"] == "resolved" else alert["severity"].upper()
    line = f"[{status}] {alert['detector']}: {alert['message']}"
    if alert.get("runbook_url"):
        line += f"\nrunbook: {alert['runbook_url']}"
    return line
