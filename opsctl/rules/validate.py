"""`opsctl rules validate`: read rule files, run the enabled checks, return findings."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.errors import InputError
from opsctl.parallel import can_fork, map_forked, split_balanced, usable_cpus
from opsctl.rules.checks import MODULES, REGISTRY
from opsctl.rules.checks.base import Context, Issue
from opsctl.rules.config import RulesConfig
from opsctl.rules.loader import LoadOptions, inline_disables, parse_rule_file, parse_rule_text
from opsctl.rules.model import Finding, Rule, RuleFile, RuleGroup, Severity
from opsctl.yamlutil import paused_gc, read_text

if TYPE_CHECKING:
    from opsctl.rules.split import Part

RULE_SUFFIXES = (".yml", ".yaml")
_UNITTEST_RE = re.compile(r"^(tests|rule_files|evaluation_interval)\s*:", re.M)


@dataclass
class ValidationResult:
    files: list[RuleFile]
    findings: list[Finding]
    skipped: list[str] = field(default_factory=list)
    live: Any = None  # opsctl.rules.live.LiveEvidence of a --prometheus run (the JSON report's `live` section)

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


# Below this much rule-file text per process, a lint is over before worker processes pay for themselves
# (256 KiB is about 700 rules).
PARALLEL_MIN_BYTES_PER_JOB = 256 * 1024


def default_jobs() -> int:
    """Worker processes for `validate(jobs=0)`: one per usable CPU, at most 8."""
    return min(usable_cpus(), 8)


def validate(
    paths: Sequence[str | Path],
    config: RulesConfig,
    *,
    only_rules: dict[str, set[int]] | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ValidationResult:
    """Lint rule files. `only_rules` (file -> changed line numbers) limits findings to rules touching them.

    `jobs` > 1 (0: one per CPU) spreads the work over that many processes when there is enough of it
    (PARALLEL_MIN_BYTES_PER_JOB per process): files are shared out, and large plain rule files are cut
    between groups (opsctl.rules.split). The result is the same as with jobs=1, except that rules read
    by a worker come back without `ast`/`nodes` (parse `rule.expr` again if needed). `progress(n)` is
    called as files are read (n files at a time; the CLI draws a bar from it).
    """
    options = LoadOptions(prometheus_version=config.prometheus_version, features=frozenset(config.enable_features))
    jobs = default_jobs() if jobs <= 0 else jobs
    with paused_gc():
        if jobs > 1 and can_fork():
            shown = [0]  # files reported to `progress` so far

            def estimate(files: float) -> None:  # the parent's share, scaled to all workers; capped
                if progress is not None:
                    step = min(int(files), len(paths) - 1 - shown[0])
                    if step > 0:
                        shown[0] += step
                        progress(step)

            result = _validate_parallel(paths, config, options, jobs, only_rules, estimate)
            if result is not None:
                if progress is not None:
                    progress(len(paths) - shown[0])
                return result
            shown[0] = 0
        if progress is None:
            files = [parse_rule_file(p, options) for p in paths]
        else:
            files = []
            for p in paths:
                files.append(parse_rule_file(p, options))
                progress(1)
        return check_files(files, config, only_rules=only_rules)


@dataclass
class _Unit:
    """A whole file (part None: read it from disk) or one part of a file cut by split_groups."""

    file: int
    weight: int
    part: Part | None = None
    first_part: bool = True
    file_disabled: frozenset[str] = frozenset()


@dataclass
class _Outcome:
    file: int
    ok: bool  # False: a part whose cut could not be confirmed, or with a YAML error: read the file whole
    result: RuleFile | None = None
    findings: list[Finding] = field(default_factory=list)
    yaml_nodes: int = 0


def _validate_parallel(paths: Sequence[str | Path], config: RulesConfig, options: LoadOptions, jobs: int,
                       only_rules: dict[str, set[int]] | None,
                       progress: Callable[[float], None] | None = None) -> ValidationResult | None:
    sizes = []
    for p in paths:
        try:
            sizes.append(os.path.getsize(p))
        except OSError:
            sizes.append(0)
    total = sum(sizes)
    jobs = min(jobs, total // PARALLEL_MIN_BYTES_PER_JOB)
    if jobs < 2:
        return None
    units: list[_Unit] = []
    for fi, (p, size) in enumerate(zip(paths, sizes, strict=True)):
        parts = round(jobs * size / total)
        split = None
        if parts >= 2 and size >= 2 * PARALLEL_MIN_BYTES_PER_JOB:
            try:
                text = read_text(p, options.limits)
            except InputError:
                text = ""
            from opsctl.rules.split import split_groups  # only for a file big enough to be cut

            split = split_groups(text, parts) if text else None
            if split:
                disabled = frozenset(inline_disables(text)[0])
                units += [_Unit(fi, part.weight, part, k == 0, disabled) for k, part in enumerate(split)]
        if not split:
            units.append(_Unit(fi, max(size, 1)))
    checker = _RuleChecker(config, [])

    parent = os.getpid()

    def work(chunk: range) -> list[_Outcome]:
        out = []
        for i in chunk:
            out.append(_read_unit(units[i], paths, options, checker))
            # the parent works on one share while the workers do theirs: its pace stands for all of them
            if progress is not None and os.getpid() == parent and units[i].first_part:
                progress(jobs)
        return out

    outcomes = [_restore(o) for chunk in map_forked(work, split_balanced([u.weight for u in units], jobs),
                                                    before_send=_portable) for o in chunk]
    by_file: dict[int, list[_Outcome]] = {}
    for o in outcomes:
        by_file.setdefault(o.file, []).append(o)
    files: list[RuleFile] = []
    rule_findings: list[Finding] = []
    for fi, p in enumerate(paths):
        pieces = by_file[fi]
        if all(o.ok and o.result is not None for o in pieces) and \
                (len(pieces) == 1 or sum(o.yaml_nodes for o in pieces) <= options.limits.max_nodes):
            files.append(_merge(str(p), [o.result for o in pieces if o.result is not None]))
            rule_findings += [f for o in pieces for f in o.findings]
        else:  # confirm nothing from a doubtful cut: read this file whole, here
            rf = parse_rule_file(p, options)
            files.append(rf)
            rule_findings += [f for group in rf.groups for f in checker.group(rf, group)]
    checker.ctx.files = files
    return _finish(files, config, checker, rule_findings, only_rules)


def _read_unit(unit: _Unit, paths: Sequence[str | Path], options: LoadOptions, checker: _RuleChecker) -> _Outcome:
    path = paths[unit.file]
    if unit.part is None:
        rf = parse_rule_file(path, options)
        return _Outcome(unit.file, True, rf, [f for group in rf.groups for f in checker.group(rf, group)])
    part = unit.part
    stats: dict[str, int] = {}
    rf = parse_rule_text(part.text, str(path), options, stats=stats)
    groups = rf.groups
    if rf.unreadable or not groups or groups[0].line != part.first_line:
        return _Outcome(unit.file, False)
    if part.end_line is not None:  # the sentinel: the next part's first group, exactly on its line
        if groups[-1].line != part.end_line or any(g.line >= part.end_line for g in groups[:-1]):
            return _Outcome(unit.file, False)
        groups = groups[:-1]
    end = part.end_line
    rf.groups = groups
    rf.problems = [p for p in rf.problems
                   if (p.line < part.first_line and unit.first_part)
                   or (part.first_line <= p.line and (end is None or p.line < end))]
    rf.file_disabled = set(unit.file_disabled)
    findings = [f for group in groups for f in checker.group(rf, group)]
    return _Outcome(unit.file, True, rf, findings, stats.get("yaml_nodes", 0))


def _merge(path: str, parts: list[RuleFile]) -> RuleFile:
    """One file from its parts, with the duplicate group names that only the whole file shows."""
    if len(parts) == 1:
        return parts[0]
    merged = RuleFile(path=path, kind=parts[0].kind, file_disabled=set(parts[0].file_disabled))
    seen: set[str] = set()
    for part in parts:
        merged.problems += part.problems
        in_part: set[str] = set()
        for group in part.groups:
            if group.name and group.name not in in_part and group.name in seen:
                merged.problems.append(Finding("group-name", Severity.error,
                                               f'groupname: "{group.name}" is repeated in the same file',
                                               path, group.line, group.column, group=group.name))
            in_part.add(group.name)
        seen |= in_part
        merged.groups += part.groups
    return merged


_RULE_FIELDS = tuple(f.name for f in fields(Rule) if f.name not in ("ast", "nodes"))


def _portable(outcomes: list[_Outcome]) -> list[_Outcome]:
    """What leaves a worker: rules as plain tuples (a third of the pickling time of dataclasses), without
    their promql_parser ASTs, which cannot be pickled. `_restore` turns them back into Rules."""
    for o in outcomes:
        for group in o.result.groups if o.result else []:
            group.rules = [tuple(getattr(r, n) for n in _RULE_FIELDS) for r in group.rules]  # type: ignore[misc]
    return outcomes


def _restore(outcome: _Outcome) -> _Outcome:
    for group in outcome.result.groups if outcome.result else []:
        rules: list[Any] = group.rules
        if rules and not isinstance(rules[0], Rule):
            group.rules = []
            for values in rules:
                rule = Rule.__new__(Rule)
                rule.__dict__.update(zip(_RULE_FIELDS, values, strict=True))
                rule.ast, rule.nodes = None, []
                group.rules.append(rule)
    return outcome


class _RuleChecker:
    """Runs the enabled per-rule checks on a group's rules."""

    def __init__(self, config: RulesConfig, files: list[RuleFile]) -> None:
        self.config = config
        self.enabled = enabled_checks(config)
        self.ctx = Context(config, files)
        self.modules = [(cid, m) for cid, m in MODULES.items() if cid in self.enabled and hasattr(m, "check_rule")]
        self.calls = [(cid, m.check_rule) for cid, m in self.modules]
        # per kind of rule, the checks that look at it (CheckInfo.kinds): a third of the calls fewer on a
        # file of recording rules, each a generator made and run for nothing
        self.calls_by_kind = {kind: [(cid, m.check_rule) for cid, m in self.modules if kind in m.INFO.kinds]
                              for kind in ("alert", "record")}

    def group(self, rf: RuleFile, group: RuleGroup) -> list[Finding]:
        findings: list[Finding] = []
        ctx, file_disabled = self.ctx, rf.file_disabled
        all_calls, by_kind = self.calls, self.calls_by_kind
        for rule in group.rules:
            if rule.invalid:
                continue  # promtool would reject it: the structural errors say why
            calls = by_kind.get(rule.kind, all_calls)
            # the checks this rule runs: all of them unless something is disabled (a list made once)
            runs = calls if not (rule.disabled or file_disabled) else \
                [(cid, call) for cid, call in calls if cid not in rule.disabled and cid not in file_disabled]
            for cid, check_rule in runs:
                for issue in check_rule(rule, group, ctx):
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
        if only_rules is not None:  # (the only reader of rule_by_loc)
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
        # a changed file's structural errors always count: Prometheus rejects the whole file, whichever
        # rule the change touched
        findings = [f for f in findings if _touches(f, only_rules, rule_by_loc)
                    or (_structural_error(f) and str(Path(f.file).resolve()) in only_rules)
                    or f.check == "rule-dependency"]
    findings.sort(key=Finding.sort_key)
    return ValidationResult(files, findings)


def _structural_error(f: Finding) -> bool:
    info = REGISTRY.get(f.check)
    return info is not None and info.scope == "structural" and f.severity == Severity.error


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
