"""sarif: SARIF 2.1.0 log for code-scanning tools (GitHub code scanning, GitLab, IDEs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opsctl import __version__
from opsctl.rules.checks import REGISTRY
from opsctl.rules.model import Severity
from opsctl.rules.validate import ValidationResult

ID = "sarif"
SUMMARY = "SARIF 2.1.0 log (code scanning)"
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


def _uri(path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return p.as_uri()
    return p.as_posix()


def as_dict(result: ValidationResult) -> dict[str, Any]:
    rule_ids = sorted(REGISTRY)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = [
        {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": REGISTRY[rid].summary},
            "fullDescription": {"text": REGISTRY[rid].docs},
            "defaultConfiguration": {"level": _LEVEL[REGISTRY[rid].severity]},
            "helpUri": f"https://github.com/opsctl/opsctl/blob/main/docs/rules.md#{rid}",
        }
        for rid in rule_ids
    ]
    results = []
    for f in result.findings:
        region: dict[str, int] = {}
        if f.line:
            region["startLine"] = f.line
        if f.column:
            region["startColumn"] = f.column
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.file)}}
        if region:
            location["region"] = region
        results.append({
            "ruleId": f.check,
            "ruleIndex": index[f.check],
            "level": _LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": location}],
        })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "opsctl", "version": __version__,
                                "informationUri": "https://github.com/opsctl/opsctl", "rules": rules}},
            "results": results,
        }],
    }


def render(result: ValidationResult, fail_on: str = "warning") -> str:
    return json.dumps(as_dict(result), indent=2, ensure_ascii=False) + "\n"
