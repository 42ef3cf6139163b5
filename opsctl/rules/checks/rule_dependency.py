"""rule-dependency: a recording rule removed or renamed while other rules still use its series
(pint's rule/dependency). Needs a base to compare with: `--changed-since REV`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsctl.rules.checks.base import CheckInfo, Context, Issue
from opsctl.rules.model import Severity

INFO = CheckInfo(
    "rule-dependency", Severity.warning, "Recording rule removed or renamed while other rules still use it",
    "With `--changed-since REV`, the recording rules that existed at REV in the changed (or deleted) rule "
    "files are compared with the ones linted now. A series no rule records any more, while a remaining "
    "rule's expression still selects it, makes that rule silently empty: alerts that can never fire, "
    "recorded series that stop. Reported on each rule that uses the name, saying where it was recorded.",
    scope="files",
)


def check_files(ctx: Context) -> Iterator[Issue]:
    removed = ctx.config.removed_records
    if not removed:
        return
    recorded = {r.name for rf in ctx.files for r in rf.rules if r.kind == "record" and r.name}
    gone = {name: where for name, where in removed.items() if name not in recorded}
    if not gone:
        return
    pattern = re.compile(r"(?<![A-Za-z0-9_:])(" + "|".join(re.escape(n) for n in sorted(gone, key=len, reverse=True))
                         + r")(?![A-Za-z0-9_:])")
    for rf in ctx.files:
        for rule in rf.rules:
            if not rule.expr:
                continue
            for name in sorted({m.group(1) for m in pattern.finditer(rule.expr)}):
                yield Issue(f"{rule.name or 'rule'} uses {name}, which no rule records any more (it was recorded "
                            f"in {gone[name]})", rule.loc("expr"), rule=rule)
