"""`--changed-since REV`: which lines of which files changed since a git revision."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from opsctl.errors import InputError

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)


def _git(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed", "--changed-since") from None
    except subprocess.TimeoutExpired:
        raise InputError("git timed out", "--changed-since") from None
    if proc.returncode != 0:
        raise InputError(f"git {' '.join(args[:2])}: {proc.stderr.strip().splitlines()[-1] if proc.stderr else ''}",
                         "--changed-since")
    return proc.stdout


def changed_lines(rev: str, paths: list[Path]) -> dict[str, set[int]]:
    """Map of resolved file path -> changed line numbers (an empty set: the whole file is new)."""
    if rev.startswith("-"):
        raise InputError("revision must not start with '-'", "--changed-since")
    cwd = Path.cwd()
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd)
    out: dict[str, set[int]] = {}
    untracked = set(_git(["ls-files", "--others", "--exclude-standard", "--full-name"], top).splitlines())
    for p in paths:
        resolved = p.resolve()
        try:
            rel = resolved.relative_to(top).as_posix()
        except ValueError:
            continue
        if rel in untracked:
            out[str(resolved)] = set()
            continue
        diff = _git(["diff", "--no-color", "--unified=0", rev, "--", rel], top)
        if not diff:
            continue
        if "\nnew file mode" in diff or diff.startswith("new file mode"):
            out[str(resolved)] = set()
            continue
        lines: set[int] = set()
        for m in _HUNK.finditer(diff):
            start = int(m.group(1))
            count = int(m.group(2)) if m.group(2) is not None else 1
            lines.update(range(start, start + max(count, 1)))
        if lines:
            out[str(resolved)] = lines
    return out


def removed_records(rev: str, paths: list[Path]) -> dict[str, str]:
    """Recording rules that the given files (and rule files deleted since `rev`) had at `rev`:
    name -> `path:line` where it was recorded. rule-dependency compares them with what is linted now."""
    from opsctl.rules.loader import LoadOptions, parse_rule_text

    cwd = Path.cwd()
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    rels: set[str] = set()
    for p in paths:
        try:
            rels.add(p.resolve().relative_to(top).as_posix())
        except ValueError:
            continue
    for line in _git(["diff", "--name-only", "--diff-filter=D", rev, "--"], top).splitlines():
        if line.endswith((".yml", ".yaml")):
            rels.add(line)
    out: dict[str, str] = {}
    options = LoadOptions(check_templates=False)
    for rel in sorted(rels):
        try:
            text = _git(["show", f"{rev}:{rel}"], top)
        except InputError:
            continue  # not in that revision (a new file)
        rf = parse_rule_text(text, rel, options)
        for rule in rf.rules:
            if rule.kind == "record" and rule.name:
                out.setdefault(rule.name, f"{rel}:{rule.line} at {rev}")
    return out
