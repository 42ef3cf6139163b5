"""`opsctl rules validate`: read rule files, run the enabled checks, return findings."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.errors import InputError
from opsctl.rules.checks import MODULES, REGISTRY
from opsctl.rules.checks.base import Context, Issue
from opsctl.rules.config import RulesConfig
from opsctl.rules.loader import LoadOptions, parse_rule_file
from opsctl.rules.model import Finding, Rule, RuleFile, Severity

RULE_SUFFIXES = (".yml", ".yaml")
_UNITTEST_RE = re.compile(r"^(tests|rule_files|evaluation_interval)\s*:", re.M)


@dataclass
class ValidationResult:
    files: list[RuleFile]
    findings: list[Finding]
    skipped: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> list[RuleFile]:
        return [f for f in self.files if f.unreadable]

    def at_or_above(self, level: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= level]

    def counts(self) -> dict[str, int]:
        out = {s.name: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            out[f.severity.name] += 1
        return out

    @property
    def rule_count(self) -> int:
        return sum(len(f.rules) for f in self.files)


def expand_paths(args: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Files to lint from files, directories (recursive) and globs; returns (files, skipped test files).

    Files found by walking a directory are skipped when they are rule unit-test files (top-level
    `tests:` / `rule_files:`); files named explicitly are always linted.
    """
    out: list[Path] = []
    skipped: list[str] = []
    seen: set[Path] = set()

    def add(p: Path, explicit: bool) -> None:
        key = p.resolve()
        if key in seen:
            return
        if not explicit and _is_unittest_file(p):
            skipped.append(str(p))
            return
        seen.add(key)
        out.append(p)

    for arg in args:
        p = Path(arg)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and child.suffix.lower() in RULE_SUFFIXES and not _hidden(child, p):
                    add(child, False)
        elif p.exists():
            add(p, True)
        elif any(c in arg for c in "*?["):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise InputError("no files match this pattern", arg)
            for m in matches:
                if Path(m).is_file():
                    add(Path(m), False)
        else:
            raise InputError("no such file or directory", arg)
    return out, skipped


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _is_unittest_file(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return bool(_UNITTEST_RE.search(head))


def enabled_checks(config: RulesConfig) -> set[str]:
    ids = {cid for cid, info in REGISTRY.items() if info.default_enabled or cid in config.enable}
    return ids - config.disable


def _finding(check: str, issue: Issue, file: str, config: RulesConfig, group: str | None) -> Finding:
    info = REGISTRY[check]
    severity = config.severity_overrides.get(check) or issue.severity or info.severity
    rule = issue.rule
    line, col = issue.loc or ((rule.line, rule.column) if rule else (0, 0))
    return Finding(check, severity, issue.message, file, line, col,
                   group=rule.group if rule else group, rule=rule.name if rule else None)


def validate(
    paths: Sequence[str | Path],
    config: RulesConfig,
    *,
    only_rules: dict[str, set[int]] | None = None,
) -> ValidationResult:
    """Lint rule files. `only_rules` (file -> changed line numbers) limits findings to rules touching them."""
    options = LoadOptions(prometheus_version=config.prometheus_version)
    files = [parse_rule_file(p, options) for p in paths]
    return check_files(files, config, only_rules=only_rules)


def check_files(files: list[RuleFile], config: RulesConfig, *,
                only_rules: dict[str, set[int]] | None = None) -> ValidationResult:
    enabled = enabled_checks(config)
    ctx = Context(config, files)
    findings: list[Finding] = []
    rule_by_loc: dict[tuple[str, int], Rule] = {}
    for rf in files:
        for group in rf.groups:
            for rule in group.rules:
                rule_by_loc[(rf.path, rule.line)] = rule
        for p in rf.problems:
            if p.check in enabled or p.check == "yaml":
                if p.check != "yaml" and p.check in rf.file_disabled:
                    continue
                sev = config.severity_overrides.get(p.check)
                findings.append(p if sev is None else Finding(**{**p.__dict__, "severity": sev}))
    rule_modules = [(cid, m) for cid, m in MODULES.items() if cid in enabled and hasattr(m, "check_rule")]
    for rf in files:
        for group in rf.groups:
            for rule in group.rules:
                if rule.invalid:
                    continue  # promtool would reject it: the structural errors say why
                skip = rule.disabled | rf.file_disabled
                for cid, module in rule_modules:
                    if cid in skip:
                        continue
                    for issue in module.check_rule(rule, group, ctx):
                        findings.append(_finding(cid, issue, rf.path, config, group.name))
    disabled_by_file = {rf.path: rf.file_disabled for rf in files}
    for cid, module in MODULES.items():
        if cid not in enabled or not hasattr(module, "check_files"):
            continue
        for issue in module.check_files(ctx):
            rule = issue.rule
            if rule is not None and (cid in rule.disabled or cid in disabled_by_file.get(rule.file, set())):
                continue
            findings.append(_finding(cid, issue, rule.file if rule else "", config, None))
    if only_rules is not None:
        findings = [f for f in findings if _touches(f, only_rules, rule_by_loc)]
    findings.sort(key=Finding.sort_key)
    return ValidationResult(files, findings)


def _touches(f: Finding, changed: dict[str, set[int]], rules: dict[tuple[str, int], Rule]) -> bool:
    lines = changed.get(str(Path(f.file).resolve()))
    if lines is None:
        return False
    if not lines:  # whole file is new
        return True
    # the rule containing the finding, if any: its whole span counts
    for (path, start), rule in rules.items():
        if path == f.file and start <= f.line <= max(rule.end_line, start):
            return any(start - 1 <= ln <= max(rule.end_line, start) for ln in lines)
    return f.line in lines


def summarize(findings: Iterable[Finding]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.check] = out.get(f.check, 0) + 1
    return out
