"""json: the stable machine-readable report (schema_version 1, documented in docs/rules.md)."""

from __future__ import annotations

import json
from typing import Any

from opsctl.rules.validate import ValidationResult

ID = "json"
SUMMARY = "JSON document with every finding and a summary (stable schema, schema_version 1)"
SCHEMA_VERSION = 1


def as_dict(result: ValidationResult, fail_on: str) -> dict[str, Any]:
    failing = [f for f in result.findings if f.severity.name in _at_or_above(fail_on)]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "opsctl rules validate",
        "summary": {
            "files": len(result.files),
            "rules": result.rule_count,
            "findings": len(result.findings),
            "by_severity": result.counts(),
            "fail_on": fail_on,
            "failed": bool(failing),
            "unreadable_files": [f.path for f in result.unreadable],
            "skipped_files": result.skipped,
        },
        "findings": [f.to_dict() for f in result.findings],
        **({"live": result.live.to_dict()} if result.live is not None else {}),
    }


def _at_or_above(level: str) -> set[str]:
    order = ["info", "warning", "error"]
    return set(order[order.index(level):])


def render(result: ValidationResult, fail_on: str = "warning") -> str:
    return json.dumps(as_dict(result, fail_on), indent=2, ensure_ascii=False) + "\n"
