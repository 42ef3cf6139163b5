"""The result every detector and check returns: {ok, severity, message, fingerprint, extras}."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SEVERITIES: tuple[str, ...] = ("info", "warning", "error", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def make_fingerprint(detector: str, labels: dict[str, str] | None = None) -> str:
    """Stable across runs: sha256 of the detector name and the sorted labels, 16 hex digits."""
    doc = json.dumps([detector, sorted((labels or {}).items())], separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


@dataclass
class CheckResult:
    ok: bool
    severity: str
    message: str
    fingerprint: str
    extras: dict[str, Any] = field(default_factory=dict)
    detector: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    error: bool = False  # the detector itself could not run (source down, bad query)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "severity": self.severity,
            "message": self.message,
            "fingerprint": self.fingerprint,
            "extras": self.extras,
            "detector": self.detector,
            "labels": self.labels,
            "error": self.error,
        }
