"""The routing tree as Alertmanager's dispatcher builds and walks it (dispatch/route.go of 0.25).

`build_tree(config.route)` resolves every node's effective options (receiver, group_by, timers inherited
from the parent, defaults 30s / 5m / 4h at the root) and sorts its matchers. `match(tree, labels)` returns
the routes an alert ends at: depth-first, children in order, stopping after the first matching child unless
it has `continue: true`; a node none of whose children match is itself the answer, so the root is the
default route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsctl.alertmanager.config import Route
from opsctl.alertmanager.matchers import Matcher, matchers_str, matches_all
from opsctl.durations import format_duration

DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0


@dataclass
class RouteNode:
    matchers: list[Matcher]
    receiver: str
    group_by: list[str]
    group_by_all: bool
    group_wait: float
    group_interval: float
    repeat_interval: float
    continue_: bool
    mute_time_intervals: list[str]
    active_time_intervals: list[str]
    path: str  # "0", "0.1", "0.1.2": index path from the root
    line: int = 0
    column: int = 0
    routes: list[RouteNode] = field(default_factory=list)
    parent: RouteNode | None = field(default=None, repr=False)

    def slug(self) -> str:
        return "default-route" if not self.matchers else matchers_str(self.matchers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "matchers": [str(m) for m in self.matchers],
            "receiver": self.receiver,
            "group_by": ["..."] if self.group_by_all else list(self.group_by),
            "group_wait": format_duration(self.group_wait),
            "group_interval": format_duration(self.group_interval),
            "repeat_interval": format_duration(self.repeat_interval),
            "continue": self.continue_,
            "mute_time_intervals": list(self.mute_time_intervals),
            "active_time_intervals": list(self.active_time_intervals),
            "line": self.line,
        }


def build_tree(route: Route, parent: RouteNode | None = None, path: str = "0") -> RouteNode:
    if parent is None:
        receiver, group_by, gball = "", [], False
        gw, gi, ri = DEFAULT_GROUP_WAIT, DEFAULT_GROUP_INTERVAL, DEFAULT_REPEAT_INTERVAL
    else:
        receiver, group_by, gball = parent.receiver, list(parent.group_by), parent.group_by_all
        gw, gi, ri = parent.group_wait, parent.group_interval, parent.repeat_interval
    if route.receiver:
        receiver = route.receiver
    if route.group_by is not None:
        group_by, gball = list(dict.fromkeys(route.group_by)), route.group_by_all
    elif route.group_by_all:
        gball = True
    node = RouteNode(
        matchers=sorted(route.matchers, key=Matcher.sort_key),
        receiver=receiver, group_by=group_by, group_by_all=gball,
        group_wait=route.group_wait if route.group_wait is not None else gw,
        group_interval=route.group_interval if route.group_interval is not None else gi,
        repeat_interval=route.repeat_interval if route.repeat_interval is not None else ri,
        continue_=route.continue_, mute_time_intervals=list(route.mute_time_intervals),
        active_time_intervals=list(route.active_time_intervals), path=path, line=route.line,
        column=route.column, parent=parent,
    )
    node.routes = [build_tree(sub, node, f"{path}.{i}") for i, sub in enumerate(route.routes)]
    return node


def match(node: RouteNode, labels: dict[str, str]) -> list[RouteNode]:
    """The routes an alert with these labels ends at (Route.Match)."""
    if not matches_all(node.matchers, labels):
        return []
    found: list[RouteNode] = []
    for child in node.routes:
        sub = match(child, labels)
        found.extend(sub)
        if sub and not child.continue_:
            break
    return found or [node]


def receivers_for(node: RouteNode, labels: dict[str, str]) -> list[str]:
    return [r.receiver for r in match(node, labels)]


def walk(node: RouteNode) -> list[RouteNode]:
    out = [node]
    for c in node.routes:
        out.extend(walk(c))
    return out


# --- text trees in amtool's format (xlab/treeprint) -----------------------------------------------

def show_tree(root: RouteNode) -> str:
    """`amtool config routes show`: 'Routing tree:' and the tree."""
    lines = ["Routing tree:", "."]
    _render(root, "", True, lines, lambda n: _slug(n, True, True), lambda n: n.routes)
    return "\n".join(lines) + "\n\n"


def matching_tree(root: RouteNode, labels: dict[str, str]) -> str:
    """`amtool config routes test --tree`: the branches the alert walks."""
    lines = ["Matching routes:", "."]

    def children(n: RouteNode) -> list[RouteNode]:
        out = []
        for c in n.routes:
            if matches_all(c.matchers, labels):
                out.append(c)
                if not c.continue_:
                    break
        return out

    def slug(n: RouteNode) -> str:
        return _slug(n, False, not children(n))

    _render(root, "", True, lines, slug, children)
    return "\n".join(lines) + "\n\n\n"


def _slug(n: RouteNode, show_continue: bool, show_receiver: bool) -> str:
    s = n.slug()
    if n.continue_ and show_continue:
        s += "  continue: true"
    if show_receiver:
        s += "  receiver: " + n.receiver
    return s


def _render(n: RouteNode, prefix: str, last: bool, lines: list[str], slug: Any, children: Any) -> None:
    lines.append(prefix + ("└── " if last else "├── ") + slug(n))
    kids = children(n)
    for i, c in enumerate(kids):
        # treeprint indents with a vertical bar followed by two no-break spaces and a space
        _render(c, prefix + ("    " if last else "│\u00a0\u00a0 "), i == len(kids) - 1, lines, slug, children)
