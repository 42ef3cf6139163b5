"""github: GitHub Actions workflow commands (::error file=...,line=...::message) for PR annotations."""

from __future__ import annotations

from opsctl.rules.model import Severity
from opsctl.rules.validate import ValidationResult

ID = "github"
SUMMARY = "GitHub Actions workflow annotations (::error / ::warning / ::notice)"

_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: ValidationResult, fail_on: str = "warning") -> str:
    lines = []
    for f in result.findings:
        props = [f"file={_escape_prop(f.file)}"]
        if f.line:
            props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
        props.append(f"title={_escape_prop('opsctl ' + f.check)}")
        lines.append(f"::{_LEVEL[f.severity]} {','.join(props)}::{_escape_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
