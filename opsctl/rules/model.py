"""Typed model of Prometheus rule files and of lint findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from opsctl.errors import Position


class Severity(IntEnum):
    """Finding severities, ordered: a finding fails the run when at or above `--fail-on`."""

    info = 1
    warning = 2
    error = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().lower()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected error, warning or info)") from None

    def __str__(self) -> str:
        return self.name


@dataclass
class Finding:
    """One problem found in a rule file."""

    check: str
    severity: Severity
    message: str
    file: str
    line: int = 0
    column: int = 0
    group: str | None = None
    rule: str | None = None

    @property
    def position(self) -> Position:
        return Position(self.file, self.line, self.column)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.check)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.name,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "group": self.group,
            "rule": self.rule,
        }


RuleKind = Literal["alert", "record"]


@dataclass
class Rule:
    """An alerting or recording rule, with the place of every field it was read from."""

    kind: RuleKind
    name: str
    expr: str
    file: str
    group: str
    index: int  # 1-based position in its group, as promtool counts
    line: int
    column: int
    end_line: int = 0
    for_: float = 0.0
    keep_firing_for: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    field_locs: dict[str, tuple[int, int]] = field(default_factory=dict)
    label_locs: dict[str, tuple[int, int]] = field(default_factory=dict)
    annotation_locs: dict[str, tuple[int, int]] = field(default_factory=dict)
    has_for: bool = False
    ast: Any = None  # promql_parser AST when expr parsed
    nodes: list[tuple[Any, tuple[Any, ...]]] = field(default_factory=list)  # walk(ast): (node, ancestors)
    disabled: set[str] = field(default_factory=set)
    invalid: bool = False  # has structural errors: best-practice checks skip it

    @property
    def is_alert(self) -> bool:
        return self.kind == "alert"

    def loc(self, fieldname: str) -> tuple[int, int]:
        return self.field_locs.get(fieldname, (self.line, self.column))


@dataclass
class RuleGroup:
    name: str
    file: str
    line: int
    column: int
    interval: float | None = None
    limit: int = 0
    query_offset: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)


@dataclass
class RuleFile:
    """A parsed rule file: its groups and the structural problems found while reading it."""

    path: str
    kind: Literal["prometheus", "prometheusrule"] = "prometheus"
    groups: list[RuleGroup] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    file_disabled: set[str] = field(default_factory=set)
    unreadable: bool = False

    @property
    def rules(self) -> list[Rule]:
        return [r for g in self.groups for r in g.rules]

    @property
    def errors(self) -> list[Finding]:
        return [p for p in self.problems if p.severity is Severity.error]
