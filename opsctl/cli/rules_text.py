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
    by_file: dict[str, list] = {}
    for f in result.findings:
        by_file.setdefault(f.file, []).append(f)
    for path, findings in by_file.items():
        console.print(Text(path, style="bold underline"))
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("check", style="magenta", no_wrap=True)
        table.add_column("message", overflow="fold")
        for f in findings:
            if quiet and f.severity < fail_on:
                continue
            where = f"{f.line}:{f.column}" if f.line else "-"
            table.add_row(where, Text(f.severity.name, style=STYLE[f.severity]), f.check, f.message)
        console.print(table)
        console.print()
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
