"""The "Checks" section of docs/rules.md, written from the check registry.

`python -m opsctl.rules.docs` rewrites that section (from its `## Checks` heading to the end of the
file); tests/rules/test_cli.py fails when the file and the registry differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADING = "## Checks"


def checks_markdown() -> str:
    from opsctl.rules.checks import REGISTRY

    lines = [HEADING, "", "| id | severity | scope | summary |", "|---|---|---|---|"]
    infos = sorted(REGISTRY.items(), key=lambda kv: (kv[1].scope != "structural", kv[0]))
    for cid, info in infos:
        sev = info.severity.name
        off = " (off by default)" if not info.default_enabled else ""
        lines.append(f"| [`{cid}`](#{cid}) | {sev}{off} | {info.scope} | {info.summary} |")
    for cid, info in infos:
        lines += ["", f"### {cid}", "", info.docs]
    return "\n".join(lines) + "\n"


def rewrite(path: Path) -> bool:
    """Rewrite the section in `path`; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    head, sep, _ = text.partition(HEADING + "\n")
    new = (head if sep else text.rstrip("\n") + "\n\n") + checks_markdown()
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover - developer tool
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    sys.stdout.write(f"{target}: {'rewritten' if rewrite(target) else 'up to date'}\n")
