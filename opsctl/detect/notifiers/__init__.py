"""Notifiers (one module each)."""

from __future__ import annotations

from .alertmanager import Alertmanager
from .base import DeliveryError, Notifier
from .email import Email
from .grafana import Grafana
from .pagerduty import PagerDuty
from .slack import Slack
from .telegram import Telegram
from .webhook import Webhook

NOTIFIERS: dict[str, type[Notifier]] = {
    c.id: c for c in (Alertmanager, Slack, PagerDuty, Telegram, Webhook, Email, Grafana)
}

__all__ = ["NOTIFIERS", "DeliveryError", "Notifier"]
