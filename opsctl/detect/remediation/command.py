"""Command: an argument list (no shell) whose program must be in `remediation.allowed_commands`.

Runs with a timeout; exit status 0 is success. Output (first 2000 characters) goes to the history.
"""

from __future__ import annotations

import subprocess
from typing import Any

from pydantic import Field

from opsctl.detect.anomaly.base import Params

from .base import Action, ActionError


class CommandParams(Params):
    argv: list[str] = Field(min_length=1)
    timeout: float = 60.0
    retries: int = Field(0, ge=0, le=10)


class Command(Action):
    id = "command"
    summary = "allow-listed command with an argument list (never a shell)"
    Params = CommandParams

    def describe(self) -> str:
        p = self.params
        assert isinstance(p, CommandParams)
        return " ".join(p.argv)

    def run(self, config: Any, sources: Any) -> str:
        p = self.params
        assert isinstance(p, CommandParams)
        if p.argv[0] not in config.config.remediation.allowed_commands:  # checked at load too
            raise ActionError(f"{p.argv[0]} is not allowed")
        try:
            proc = subprocess.run(p.argv, capture_output=True, text=True, timeout=p.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ActionError(str(exc)) from None
        out = (proc.stdout + proc.stderr)[:2000]
        if proc.returncode != 0:
            raise ActionError(f"exit {proc.returncode}: {out.strip()[:500]}")
        return out
