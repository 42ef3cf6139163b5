"""What every check module provides, and the context checks run in."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import SplitResult, urlsplit

import promql_parser as pp

from opsctl.rules.config import RulesConfig
from opsctl.rules.model import Rule, RuleFile, RuleGroup, Severity
from opsctl.rules.promql_ast import Matcher, matchers, node_positions, walk


@dataclass(frozen=True)
class CheckInfo:
    """Registry entry: id, default severity, one-line summary and the docs `opsctl rules explain` shows."""

    id: str
    severity: Severity
    summary: str
    docs: str
    scope: Literal["structural", "rule", "files"] = "rule"
    default_enabled: bool = True
    # the kinds of rule check_rule looks at: it finds nothing in the others, so the runner does not call it there
    kinds: frozenset[str] = frozenset({"alert", "record"})


ALERTS = frozenset({"alert"})
RECORDS = frozenset({"record"})


@dataclass
class Issue:
    """A problem a check reports; the runner turns it into a Finding with file, ids and severity."""

    message: str
    loc: tuple[int, int] | None = None
    severity: Severity | None = None  # overrides the check's default for this one issue
    rule: Rule | None = None


class SelectorInfo(NamedTuple):
    """A vector selector of a rule's expression, with what several checks want to know of it. (A named
    tuple rather than a frozen dataclass: made for every selector of every rule, it costs a third.)"""

    node: Any
    ancestors: tuple[Any, ...]
    name: str | None  # the metric name (`name{}` or `{__name__="name"}`)
    matchers: list[Matcher]


@dataclass
class Context:
    config: RulesConfig
    files: list[RuleFile] = field(default_factory=list)
    cache: dict[Any, Any] = field(default_factory=dict)

    def nodes(self, rule: Rule) -> list[tuple[Any, tuple[Any, ...]]]:
        """All AST nodes of a rule with their ancestors (computed once, by the loader)."""
        if not rule.nodes and rule.ast is not None:
            rule.nodes = list(walk(rule.ast))
        return rule.nodes

    def positions(self, rule: Rule) -> dict[type, list[int]]:
        """Where each node type occurs in `nodes(rule)` (promql_ast.node_positions), worked out once for all
        checks: most look at a few node types only."""
        key = ("positions", id(rule))
        cached = self.cache.get(key)
        if cached is not None and cached[0] is rule:  # (an id can be reused once its object is gone)
            return cached[1]
        found = node_positions(self.nodes(rule))
        self.cache[key] = (rule, found)
        return found

    def of_type(self, rule: Rule, kind: type) -> list[tuple[Any, tuple[Any, ...]]]:
        """The rule's nodes of one promql_parser type (with their ancestors), in walk order."""
        where = self.positions(rule).get(kind)
        if not where:
            return []
        nodes = self.nodes(rule)
        return [nodes[i] for i in where]

    def selectors(self, rule: Rule) -> list[SelectorInfo]:
        """The rule's vector selectors in walk order, worked out once for all checks. The list is shared:
        callers must not change it (it was copied on every call before; no caller changes it)."""
        key = ("selectors", id(rule))
        cached = self.cache.get(key)
        if cached is not None and cached[0] is rule:  # (an id can be reused once its object is gone)
            return cached[1]
        found = []
        for node, anc in self.of_type(rule, pp.VectorSelector):
            ms = matchers(node)
            found.append(SelectorInfo(node, anc, _name(node, ms), ms))
        self.cache[key] = (rule, found)
        return found

    def interval(self, group: RuleGroup) -> float:
        return group.interval or self.config.evaluation_interval

    def file_text(self, path: Path) -> str | None:
        key = ("text", path)
        if key not in self.cache:
            try:
                self.cache[key] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError, ValueError):  # ValueError: a NUL in the path
                self.cache[key] = None
        return self.cache[key]


COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def metric_type(ctx: Context, name: str) -> str | None:
    """The metric's type from evidence (config `metadata`, `--metadata`), or None when unknown."""
    types = ctx.config.metric_types
    if not types:
        return None
    from opsctl.rules.metadata import series_type

    return series_type(types, name)


def selector_name(vs: Any) -> str | None:
    """The metric name a selector selects, from `name{}` or `{__name__="name"}`."""
    return _name(vs, None)


def _name(vs: Any, ms: list[Matcher] | None) -> str | None:
    if vs.name:
        return str(vs.name)
    for m in ms if ms is not None else matchers(vs):
        if m.name == "__name__" and m.op == "Equal":
            return str(m.value)
    return None


def is_selector(node: Any) -> bool:
    return isinstance(node, pp.VectorSelector)


_LABEL_REF = re.compile(
    r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)|\.Labels\.([A-Za-z_][A-Za-z0-9_]*)"
    r"|index\s+\$labels\s+\"([A-Za-z_][A-Za-z0-9_]*)\"|index\s+\.Labels\s+\"([A-Za-z_][A-Za-z0-9_]*)\""
)


_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)


def template_label_refs(text: str) -> frozenset[str]:
    """Label names a Prometheus alert template reads from `$labels` / `.Labels` inside `{{ }}` actions."""
    if "abels" not in text:  # neither $labels nor .Labels: nothing to find
        return frozenset()
    return _label_refs(text)


@functools.lru_cache(maxsize=8192)  # the same summary/description texts recur across a file's alerts
def _label_refs(text: str) -> frozenset[str]:
    refs: set[str] = set()
    for action in _ACTION.findall(text):
        for m in _LABEL_REF.finditer(action):
            refs.add(next(g for g in m.groups() if g))
    return frozenset(refs)


def split_url(url: str) -> SplitResult | None:
    """urlsplit(url), or None for what it refuses (`http://[::1`: an unbalanced IPv6 bracket)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def rule_issue(message: str, rule: Rule, fieldname: str = "expr", severity: Severity | None = None) -> Issue:
    return Issue(message, rule.loc(fieldname), severity, rule)


RuleCheckResult = Iterator[Issue]
