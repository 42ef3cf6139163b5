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
from opsctl.live.tls import TLSOptions, tls_failure


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

    def tls(self) -> TLSOptions | None:
        """The receiver's own `tls_config` (alertmanager, grafana, webhook), or None for the default trust."""
        tc = getattr(self.params, "tls_config", None)
        return None if tc is None else tc.options(self.base)

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


# what the TLS message of opsctl.live.tls calls a command-line option is a tls_config key here
_TLS_KEYS = (("--ca-file", "tls_config.ca_file"), ("--cert-file", "tls_config.cert_file"),
             ("--key-file", "tls_config.key_file"), ("--insecure-skip-verify", "tls_config.insecure_skip_verify"))


def http_failure(exc: httpx.HTTPError, url: str) -> DeliveryError:
    """A failed request as a DeliveryError: a TLS failure named with its cause, else the error's own text
    with the URL (which may hold a secret, e.g. a webhook or bot token) taken out."""
    cause = tls_failure(exc)
    if cause is not None:
        for flag, key in _TLS_KEYS:
            cause = cause.replace(flag, key)
        return DeliveryError(cause)
    return DeliveryError(f"{type(exc).__name__}: {str(exc).replace(url, '<url>')}")


def post_json(client: httpx.Client, url: str, payload: Any, headers: dict[str, str] | None = None,
              ok_status: tuple[int, ...] = ()) -> httpx.Response:
    try:
        resp = client.post(url, json=payload, headers=headers or {})
    except httpx.HTTPError as exc:
        # webhook URLs and bot tokens are secrets: never let them into the history or the output
        raise http_failure(exc, url) from None
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
