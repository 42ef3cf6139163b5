"""junit: JUnit XML, one test suite per file and one test case per rule (findings are failures)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from opsctl.rules.model import Finding, Severity
from opsctl.rules.validate import ValidationResult

ID = "junit"
SUMMARY = "JUnit XML (one testsuite per file, one testcase per rule)"

_ORDER = {"info": Severity.info, "warning": Severity.warning, "error": Severity.error}


def render(result: ValidationResult, fail_on: str = "warning") -> str:
    threshold = _ORDER[fail_on]
    root = ET.Element("testsuites", name="opsctl rules validate")
    total = failures = 0
    by_file: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_file.setdefault(f.file, []).append(f)
    for rf in result.files:
        suite = ET.SubElement(root, "testsuite", name=rf.path)
        cases: dict[str, list[Finding]] = {}
        names = [f"{r.group}/{r.name or '#' + str(r.index)}" for r in rf.rules] or ["(file)"]
        for name in names:
            cases.setdefault(name, [])
        for f in by_file.get(rf.path, []):
            key = f"{f.group}/{f.rule}" if f.rule else "(file)"
            cases.setdefault(key, []).append(f)
        suite_fail = 0
        for name, findings in cases.items():
            case = ET.SubElement(suite, "testcase", classname=rf.path, name=name)
            bad = [f for f in findings if f.severity >= threshold]
            for f in bad:
                el = ET.SubElement(case, "failure", type=f.check, message=f.message)
                el.text = f"{f.position}: [{f.severity.name}] {f.check}: {f.message}"
            if bad:
                suite_fail += 1
            total += 1
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(suite_fail))
        failures += suite_fail
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
