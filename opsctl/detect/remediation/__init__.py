"""Remediation actions (one module each)."""

from __future__ import annotations

from .base import Action, ActionError
from .command import Command
from .http_call import HttpCall
from .sql import SqlStatement

ACTIONS: dict[str, type[Action]] = {c.id: c for c in (HttpCall, Command, SqlStatement)}

__all__ = ["ACTIONS", "Action", "ActionError"]
