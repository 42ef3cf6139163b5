"""junit: JUnit XML, one test suite per file and one test case per rule (findings are failures).

Each rule is its own test case, even when two rules of a group share a name (an alert defined once per
severity), and a case has at most one `<failure>` (what CI consumers show), whose text lists every
finding at or above `--fail-on`; findings below it are listed in the case's `<system-out>`. Findings
that belong to no rule (YAML errors, duplicate group names) go to a `(file)` case.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from opsctl.rules.model import Finding, Rule, RuleFile, Severity
from opsctl.rules.validate import ValidationResult

ID = "junit"
SUMMARY = "JUnit XML (one testsuite per file, one testcase per rule)"

_ORDER = {"info": Severity.info, "warning": Severity.warning, "error": Severity.error}


def _case_name(rule: Rule) -> str:
    return f"{rule.group}/{rule.name or '#' + str(rule.index)} (line {rule.line})"


def _owner(f: Finding, rules: list[Rule]) -> Rule | None:
    """The rule a finding belongs to: the one whose lines hold it (same group), else the first of its name."""
    if f.rule is None and f.group is None:
        return None
    for r in rules:
        if r.group == f.group and r.line <= f.line <= max(r.end_line, r.line):
            return r
    for r in rules:
        if r.group == f.group and f.rule is not None and r.name == f.rule:
            return r
    return None


def _suite(root: ET.Element, rf: RuleFile, findings: list[Finding], threshold: Severity) -> tuple[int, int]:
    suite = ET.SubElement(root, "testsuite", name=rf.path)
    cases: dict[int, list[Finding]] = {id(r): [] for r in rf.rules}
    file_level: list[Finding] = []
    for f in findings:
        owner = _owner(f, rf.rules)
        (cases[id(owner)] if owner is not None else file_level).append(f)
    entries: list[tuple[str, list[Finding]]] = [(_case_name(r), cases[id(r)]) for r in rf.rules]
    if file_level or not rf.rules:
        entries.insert(0, ("(file)", file_level))
    failed = 0
    for name, found in entries:
        case = ET.SubElement(suite, "testcase", classname=rf.path, name=name)
        bad = [f for f in found if f.severity >= threshold]
        if bad:
            failed += 1
            checks = sorted({f.check for f in bad})
            el = ET.SubElement(case, "failure", type=",".join(checks),
                               message=bad[0].message if len(bad) == 1 else f"{len(bad)} findings: {', '.join(checks)}")
            el.text = "\n".join(f"{f.position}: [{f.severity.name}] {f.check}: {f.message}" for f in bad)
        rest = [f for f in found if f.severity < threshold]
        if rest:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"{f.position}: [{f.severity.name}] {f.check}: {f.message}" for f in rest)
    suite.set("tests", str(len(entries)))
    suite.set("failures", str(failed))
    return len(entries), failed


def render(result: ValidationResult, fail_on: str = "warning") -> str:
    threshold = _ORDER[fail_on]
    root = ET.Element("testsuites", name="opsctl rules validate")
    total = failures = 0
    by_file: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_file.setdefault(f.file, []).append(f)
    for rf in result.files:
        tests, failed = _suite(root, rf, by_file.get(rf.path, []), threshold)
        total += tests
        failures += failed
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
