"""Machine reporters for lint results. Each module: `ID`, `SUMMARY`, `render(result, context) -> str`.

The rich text reporter lives in the CLI layer (opsctl/cli/rules_text.py) because it uses rich.
"""

from __future__ import annotations

from types import ModuleType

from opsctl.rules.reporters import github, json_report, junit, sarif

REPORTERS: dict[str, ModuleType] = {m.ID: m for m in (json_report, github, sarif, junit)}

__all__ = ["REPORTERS"]
