"""SMTP email: one message per notification (smtplib; optional STARTTLS/SSL and login from env/file)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import httpx
from pydantic import Field

from opsctl.detect.anomaly.base import Params

from .base import DeliveryError, Notifier, text_of


class EmailParams(Params):
    host: str
    port: int = 25
    sender: str = Field(alias="from")
    to: list[str]
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    timeout: float = 10.0
    ca_file: str | None = Field(None, description="CA bundle (PEM) to verify the server with")


class Email(Notifier):
    id = "email"
    summary = "SMTP email"
    Params = EmailParams

    def send(self, alert: dict[str, Any], client: httpx.Client) -> None:
        p = self.params
        assert isinstance(p, EmailParams)
        msg = EmailMessage()
        status = "RESOLVED" if alert["status"] == "resolved" else alert["severity"].upper()
        msg["Subject"] = f"[{status}] {alert['detector']}: {alert['message']}"[:200]
        msg["From"] = p.sender
        msg["To"] = ", ".join(p.to)
        msg["X-Opsctl-Fingerprint"] = alert["fingerprint"]
        msg.set_content(text_of(alert) + "\n\nlabels: " + ", ".join(f"{k}={v}" for k, v in alert["labels"].items()))
        ca_file = None
        if p.ca_file:
            ca_file = p.ca_file if p.ca_file.startswith("/") else str(self.base / p.ca_file)
        try:
            tls = ssl.create_default_context(cafile=ca_file)
            if p.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(p.host, p.port, timeout=p.timeout, context=tls)
            else:
                smtp = smtplib.SMTP(p.host, p.port, timeout=p.timeout)
            with smtp:
                if p.starttls:
                    smtp.starttls(context=tls)
                if p.username:
                    smtp.login(p.username, self.secret(None, p.password_env, p.password_file, "smtp password"))
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
