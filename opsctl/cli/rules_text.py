"""Rich text rendering of `opsctl rules validate` and `coverage` results (the terminal reporter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from opsctl.rules.model import Severity

if TYPE_CHECKING:  # rich is imported only for a colour terminal and for coverage's table
    from rich.console import Console

    from opsctl.rules.coverage import CoverageReport
    from opsctl.rules.validate import ValidationResult

ID = "text"
SUMMARY = "Rich text grouped by file (colour on a terminal, plain otherwise)"

STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


Row = tuple[str, str, str, str]


def _rows(result: ValidationResult, fail_on: Severity, quiet: bool) -> list[tuple[str, list[Row]]]:
    """(file, rows) with each row (where, severity, check, message) padded to the file's column widths."""
    by_file: dict[str, list[Any]] = {}
    for f in result.findings:
        if quiet and f.severity < fail_on:
            continue
        by_file.setdefault(f.file, []).append(f)
    out: list[tuple[str, list[Row]]] = []
    for path, findings in by_file.items():
        rows = [(f"{f.line}:{f.column}" if f.line else "-", f.severity.name, f.check, f.message) for f in findings]
        w_where = max(len(r[0]) for r in rows)
        w_sev = max(len(r[1]) for r in rows)
        w_check = max(len(r[2]) for r in rows)
        out.append((path, [(f"{where:<{w_where}}", f"{sev:<{w_sev}}", f"{check:<{w_check}}", msg)
                           for where, sev, check, msg in rows]))
    return out


def _summary(result: ValidationResult) -> list[tuple[str, str]]:
    counts = result.counts()
    parts = [(f"{len(result.files)} file(s), {result.rule_count} rule(s): ", ""),
             (f"{counts['error']} error(s)", STYLE[Severity.error] if counts["error"] else ""), (", ", ""),
             (f"{counts['warning']} warning(s)", STYLE[Severity.warning] if counts["warning"] else ""),
             (f", {counts['info']} info", "")]
    if result.skipped:
        parts.append((f"; {len(result.skipped)} rule unit-test file(s) skipped", ""))
    return parts


def _verdict(result: ValidationResult, fail_on: Severity) -> tuple[str, str] | None:
    failing = len(result.at_or_above(fail_on))
    if failing:
        return f"FAILED: {failing} finding(s) at or above {fail_on.name}", "bold red"
    if not result.unreadable:
        return "OK", "bold green"
    return None


def write_validation(stream: TextIO, result: ValidationResult, fail_on: Severity, quiet: bool = False) -> None:
    """The text report without colour (a pipe, a file, NO_COLOR), written as one string; no rich needed. It is
    what render_validation prints on a console without colour, character for character."""
    out: list[str] = []
    for path, rows in _rows(result, fail_on, quiet):
        out.append(path)
        out.extend("  ".join(row) for row in rows)
        out.append("")
    out.append("".join(text for text, _style in _summary(result)))
    verdict = _verdict(result, fail_on)
    if verdict is not None:
        out.append(verdict[0])
    stream.write("\n".join(out) + "\n")


def render_validation(console: Console, result: ValidationResult, fail_on: Severity, quiet: bool = False) -> None:
    """Findings grouped by file, one aligned line each. Lines are built directly (a rich Table measures and
    wraps every cell, which cost seconds on tens of thousands of findings); without colour they are written
    to the console's file as plain text in one go."""
    from rich.text import Text

    plain = console.no_color or console.color_system is None
    out: list[str] = []
    for path, rows in _rows(result, fail_on, quiet):
        if plain:
            out.append(path)
            out.extend("  ".join(row) for row in rows)
            out.append("")
            continue
        console.print(Text(path, style="bold underline"))
        for where, sev, check, msg in rows:
            line = Text()
            line.append(where, style="dim")
            line.append("  ")
            line.append(sev, style=STYLE[Severity[sev.strip()]])
            line.append("  ")
            line.append(check, style="magenta")
            line.append(f"  {msg}")
            console.print(line)
        console.print()
    if out:
        console.file.write("\n".join(out) + "\n")
    summary = Text()
    for text, style in _summary(result):
        summary.append(text, style=style)
    console.print(summary)
    verdict = _verdict(result, fail_on)
    if verdict is not None:
        console.print(Text(verdict[0], style=verdict[1]))


def render_coverage(console: Console, report: CoverageReport) -> None:
    from rich.table import Table
    from rich.text import Text

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
