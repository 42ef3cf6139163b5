"""Rich text rendering of `opsctl rules validate` and `coverage` results (the terminal reporter)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from opsctl.rules.coverage import CoverageReport
from opsctl.rules.model import Severity
from opsctl.rules.validate import ValidationResult

ID = "text"
SUMMARY = "Rich text grouped by file (colour on a terminal, plain otherwise)"

STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


def render_validation(console: Console, result: ValidationResult, fail_on: Severity, quiet: bool = False) -> None:
    """Findings grouped by file, one aligned line each. Lines are built directly (a rich Table measures and
    wraps every cell, which cost seconds on tens of thousands of findings); without colour they are written
    to the console's file as plain text in one go."""
    by_file: dict[str, list] = {}
    for f in result.findings:
        if quiet and f.severity < fail_on:
            continue
        by_file.setdefault(f.file, []).append(f)
    plain = console.no_color or console.color_system is None
    out: list[str] = []
    for path, findings in by_file.items():
        rows = [(f"{f.line}:{f.column}" if f.line else "-", f.severity, f.check, f.message) for f in findings]
        w_where = max(len(r[0]) for r in rows)
        w_sev = max(len(r[1].name) for r in rows)
        w_check = max(len(r[2]) for r in rows)
        if plain:
            out.append(path)
            out.extend(f"{where:<{w_where}}  {sev.name:<{w_sev}}  {check:<{w_check}}  {msg}"
                       for where, sev, check, msg in rows)
            out.append("")
            continue
        console.print(Text(path, style="bold underline"))
        for where, sev, check, msg in rows:
            line = Text()
            line.append(f"{where:<{w_where}}", style="dim")
            line.append("  ")
            line.append(f"{sev.name:<{w_sev}}", style=STYLE[sev])
            line.append("  ")
            line.append(f"{check:<{w_check}}", style="magenta")
            line.append(f"  {msg}")
            console.print(line)
        console.print()
    if out:
        console.file.write("\n".join(out) + "\n")
    counts = result.counts()
    failing = len(result.at_or_above(fail_on))
    summary = Text()
    summary.append(f"{len(result.files)} file(s), {result.rule_count} rule(s): ")
    summary.append(f"{counts['error']} error(s)", style=STYLE[Severity.error] if counts["error"] else "")
    summary.append(", ")
    summary.append(f"{counts['warning']} warning(s)", style=STYLE[Severity.warning] if counts["warning"] else "")
    summary.append(f", {counts['info']} info")
    if result.skipped:
        summary.append(f"; {len(result.skipped)} rule unit-test file(s) skipped")
    console.print(summary)
    if failing:
        console.print(Text(f"FAILED: {failing} finding(s) at or above {fail_on.name}", style="bold red"))
    elif not result.unreadable:
        console.print(Text("OK", style="bold green"))


def render_coverage(console: Console, report: CoverageReport) -> None:
    severities = sorted({s for c in report.services for s in c.by_severity})
    table = Table(title=f"Alert coverage by {report.service_label}", show_lines=False)
    table.add_column(report.service_label)
    table.add_column("alerts", justify="right")
    for s in severities:
        table.add_column(s, justify="right")
    table.add_column("metrics", justify="right")
    table.add_column("policy")
    for c in report.services:
        status = Text("; ".join(c.violations), style="red") if c.violations else Text("ok", style="green")
        table.add_row(c.service, str(len(c.alerts)), *[str(c.by_severity.get(s, 0)) for s in severities],
                      str(len(c.metrics)), status)
    console.print(table)
    console.print(f"{report.alerts} alert(s), {report.recording_rules} recording rule(s), "
                  f"{len(report.services)} {report.service_label}(s)")
    if report.violations:
        console.print(Text(f"FAILED: {len(report.violations)} coverage policy violation(s)", style="bold red"))
    else:
        console.print(Text("OK", style="bold green"))
