"""`opsctl rules validate`: read rule files, run the enabled checks, return findings."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from opsctl.errors import InputError
from opsctl.parallel import can_fork, map_forked, split_balanced, usable_cpus
from opsctl.rules.checks import MODULES, REGISTRY
from opsctl.rules.checks.base import Context, Issue
from opsctl.rules.config import RulesConfig
from opsctl.rules.loader import LoadOptions, parse_rule_file, read_rule_file_deferred
from opsctl.rules.model import Finding, Rule, RuleFile, RuleGroup, Severity
from opsctl.yamlutil import paused_gc

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


# Below this many rules a lint is over before worker processes would pay for themselves.
PARALLEL_MIN_RULES_PER_JOB = 1000


def default_jobs() -> int:
    """Worker processes for `validate(jobs=0)`: one per usable CPU, at most 8."""
    return min(usable_cpus(), 8)


def validate(
    paths: Sequence[str | Path],
    config: RulesConfig,
    *,
    only_rules: dict[str, set[int]] | None = None,
    jobs: int = 1,
) -> ValidationResult:
    """Lint rule files. `only_rules` (file -> changed line numbers) limits findings to rules touching them.

    `jobs` > 1 (0: one per CPU) reads and checks rules in that many processes when there are enough rules
    (at least PARALLEL_MIN_RULES_PER_JOB per process); the findings are the same as with jobs=1, but
    rules handled by a worker come back without `ast`/`nodes` (parse `rule.expr` again if needed).
    """
    options = LoadOptions(prometheus_version=config.prometheus_version)
    jobs = default_jobs() if jobs <= 0 else jobs
    with paused_gc():
        if jobs == 1 or not can_fork():
            files = [parse_rule_file(p, options) for p in paths]
            return check_files(files, config, only_rules=only_rules)
        deferred = [read_rule_file_deferred(p, options) for p in paths]
        files = [d.result for d in deferred]
        checker = _RuleChecker(config, files)
        tasks = [(fi, gi) for fi, d in enumerate(deferred) for gi in range(len(d.pending))]
        weights = [deferred[fi].rule_count(gi) for fi, gi in tasks]
        jobs = min(jobs, max(1, sum(weights) // PARALLEL_MIN_RULES_PER_JOB))

        def work(chunk: range) -> list[_GroupOutcome]:
            out = []
            for t in chunk:
                fi, gi = tasks[t]
                d = deferred[fi]
                before = len(d.result.problems)
                group = d.read_group_rules(gi)
                out.append(_GroupOutcome(fi, gi, group.rules, d.result.problems[before:],
                                         checker.group(d.result, group)))
            return out

        outcomes = map_forked(work, split_balanced(weights, jobs), before_send=_portable)
        rule_findings: list[Finding] = []
        for i, chunk_outcomes in enumerate(outcomes):
            for o in chunk_outcomes:
                if i > 0:  # computed in a worker: bring its rules and problems into this process's files
                    deferred[o.file].pending[o.group].group.rules = o.rule_objects()
                    files[o.file].problems.extend(o.problems)
                rule_findings.extend(o.findings)
        return _finish(files, config, checker, rule_findings, only_rules)


@dataclass
class _GroupOutcome:
    file: int
    group: int
    rules: list[Rule] | list[tuple[Any, ...]]  # tuples (_RULE_FIELDS) on the way back from a worker
    problems: list[Finding]
    findings: list[Finding]

    def rule_objects(self) -> list[Rule]:
        out = []
        for r in self.rules:
            if isinstance(r, Rule):
                out.append(r)
                continue
            rule = Rule.__new__(Rule)
            rule.__dict__.update(zip(_RULE_FIELDS, r, strict=True))
            rule.ast, rule.nodes = None, []
            out.append(rule)
        return out


_RULE_FIELDS = tuple(f.name for f in fields(Rule) if f.name not in ("ast", "nodes"))


def _portable(outcomes: list[_GroupOutcome]) -> list[_GroupOutcome]:
    """What leaves a worker: rules as plain tuples (a third of the pickling time of dataclasses), without
    their promql_parser ASTs, which cannot be pickled."""
    for o in outcomes:
        o.rules = [tuple(getattr(r, n) for n in _RULE_FIELDS) for r in o.rules if isinstance(r, Rule)]
    return outcomes


class _RuleChecker:
    """Runs the enabled per-rule checks on a group's rules."""

    def __init__(self, config: RulesConfig, files: list[RuleFile]) -> None:
        self.config = config
        self.enabled = enabled_checks(config)
        self.ctx = Context(config, files)
        self.modules = [(cid, m) for cid, m in MODULES.items() if cid in self.enabled and hasattr(m, "check_rule")]

    def group(self, rf: RuleFile, group: RuleGroup) -> list[Finding]:
        findings: list[Finding] = []
        for rule in group.rules:
            if rule.invalid:
                continue  # promtool would reject it: the structural errors say why
            skip = rule.disabled | rf.file_disabled
            for cid, module in self.modules:
                if cid in skip:
                    continue
                for issue in module.check_rule(rule, group, self.ctx):
                    findings.append(_finding(cid, issue, rf.path, self.config, group.name))
        return findings


def check_files(files: list[RuleFile], config: RulesConfig, *,
                only_rules: dict[str, set[int]] | None = None) -> ValidationResult:
    checker = _RuleChecker(config, files)
    rule_findings = [f for rf in files for group in rf.groups for f in checker.group(rf, group)]
    return _finish(files, config, checker, rule_findings, only_rules)


def _finish(files: list[RuleFile], config: RulesConfig, checker: _RuleChecker, rule_findings: list[Finding],
            only_rules: dict[str, set[int]] | None) -> ValidationResult:
    """Structural problems, per-rule findings and cross-file checks, filtered and in file order."""
    enabled = checker.enabled
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
    findings.extend(rule_findings)
    disabled_by_file = {rf.path: rf.file_disabled for rf in files}
    for cid, module in MODULES.items():
        if cid not in enabled or not hasattr(module, "check_files"):
            continue
        for issue in module.check_files(checker.ctx):
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
