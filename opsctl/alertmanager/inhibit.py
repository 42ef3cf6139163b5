"""Which firing alerts are inhibited or muted at a given time, and by what.

Inhibition follows inhibit/inhibit.go of Alertmanager 0.25: an alert matching a rule's target matchers is
inhibited when another *firing* alert matches the source matchers and has the same values (missing = empty)
for every `equal` label; when the alert matches both sides of the rule, source alerts that also match the
target side cannot inhibit it (so an alert never inhibits itself).

Muting follows the notification pipeline: for every route an alert reaches, it is muted when the time falls
in one of the route's `mute_time_intervals`, or when the route has `active_time_intervals` and the time is
in none of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl.alertmanager.config import Config
from opsctl.alertmanager.matchers import LABEL_NAME_RE, MatchType, matches_all, parse_matcher
from opsctl.alertmanager.routing import RouteNode, build_tree, match
from opsctl.errors import InputError
from opsctl.yamlutil import read_text


@dataclass
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    # nanoseconds within the second of starts_at / ends_at when the input had more than microseconds
    starts_nanos: int | None = None
    ends_nanos: int | None = None

    def firing_at(self, t: datetime) -> bool:
        return self.ends_at is None or self.ends_at > t

    def label_str(self) -> str:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(self.labels.items())) + "}"


@dataclass
class RouteVerdict:
    receiver: str
    path: str
    muted_by: list[str]  # names of mute_time_intervals that hold now
    inactive: bool  # has active_time_intervals and none holds now

    @property
    def muted(self) -> bool:
        return bool(self.muted_by) or self.inactive

    def to_dict(self) -> dict[str, Any]:
        return {"receiver": self.receiver, "route": self.path, "muted": self.muted, "muted_by": self.muted_by,
                "outside_active_time_intervals": self.inactive}


@dataclass
class Inhibition:
    rule: int  # index in inhibit_rules
    rule_line: int
    source: int  # index of the inhibiting alert in the input

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "rule_line": self.rule_line, "source_alert": self.source}


@dataclass
class AlertVerdict:
    index: int
    alert: Alert
    firing: bool
    inhibited_by: list[Inhibition]
    routes: list[RouteVerdict]

    @property
    def inhibited(self) -> bool:
        return bool(self.inhibited_by)

    @property
    def notified_receivers(self) -> list[str]:
        if self.inhibited or not self.firing:
            return []
        return [r.receiver for r in self.routes if not r.muted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "labels": self.alert.labels, "firing": self.firing,
            "inhibited": self.inhibited, "inhibited_by": [i.to_dict() for i in self.inhibited_by],
            "muted": bool(self.routes) and all(r.muted for r in self.routes),
            "routes": [r.to_dict() for r in self.routes],
            "notified_receivers": self.notified_receivers,
        }


def evaluate(cfg: Config, alerts: list[Alert], at: datetime, tree: RouteNode | None = None) -> list[AlertVerdict]:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    root = tree or build_tree(cfg.route)
    firing = [a.firing_at(at) for a in alerts]
    verdicts = []
    for i, a in enumerate(alerts):
        inhibited: list[Inhibition] = []
        for rule in cfg.inhibit_rules:
            if not matches_all(rule.target_matchers, a.labels):
                continue
            two_sided = matches_all(rule.source_matchers, a.labels)
            for j, src in enumerate(alerts):
                if not firing[j] or not matches_all(rule.source_matchers, src.labels):
                    continue
                if any(src.labels.get(lab, "") != a.labels.get(lab, "") for lab in rule.equal):
                    continue
                if two_sided and matches_all(rule.target_matchers, src.labels):
                    continue
                inhibited.append(Inhibition(rule.index, rule.line, j))
                break
        routes = []
        for node in match(root, a.labels):
            muted_by = [n for n in node.mute_time_intervals if holds(cfg, n, at)]
            inactive = bool(node.active_time_intervals) and not any(
                holds(cfg, n, at) for n in node.active_time_intervals)
            routes.append(RouteVerdict(node.receiver, node.path, muted_by, inactive))
        verdicts.append(AlertVerdict(i, a, firing[i], inhibited, routes))
    return verdicts


def holds(cfg: Config, name: str, at: datetime) -> bool:
    ti = cfg.time_interval(name)
    return ti is not None and ti.contains(at)


def interval_status(cfg: Config, at: datetime) -> dict[str, bool]:
    return {t.name: t.contains(at) for t in cfg.time_intervals}


# --- input ------------------------------------------------------------------------------------------

def parse_time(text: str | None) -> datetime:
    """RFC 3339 (`2024-05-01T10:00:00Z`, offsets allowed), `now` or a Unix timestamp."""
    if text is None or text == "now":
        return datetime.now(UTC)
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InputError(f"invalid time {text!r} (want RFC 3339, e.g. 2024-05-01T10:00:00Z)", "--at") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def labels_from_args(args: list[str], source: str = "<args>") -> dict[str, str]:
    """`name=value` arguments parsed like amtool (Alertmanager's matcher syntax, equality only)."""
    out: dict[str, str] = {}
    for a in args:
        try:
            m = parse_matcher(a)
        except ValueError as exc:
            raise InputError(f"failed to parse labels: {exc}", source) from None
        if m.type is not MatchType.EQUAL:
            raise InputError(f"labels must be specified as key=value pairs: {a!r}", source)
        out[m.name] = m.value
    return out


def load_alerts(path: str) -> list[Alert]:
    """Alerts as JSON: a list of {labels, annotations, startsAt, endsAt} (API v2 shape), or {"alerts": [...]}
    (a webhook payload), or a list of plain label maps."""
    text = read_text(path) if path != "-" else _stdin()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path, exc.lineno, exc.colno) from None
    if isinstance(data, dict) and isinstance(data.get("alerts"), list):
        data = data["alerts"]
    if not isinstance(data, list):
        raise InputError("expected a JSON list of alerts (or an object with an 'alerts' list)", path)
    return [_alert(item, path, i) for i, item in enumerate(data)]


def _stdin() -> str:
    import sys

    return sys.stdin.read()


def _alert(item: Any, path: str, i: int) -> Alert:
    if not isinstance(item, dict):
        raise InputError(f"alert #{i}: expected an object", path)
    if "labels" not in item and all(isinstance(v, str) for v in item.values()):
        item = {"labels": item}
    labels = item.get("labels")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InputError(f"alert #{i}: 'labels' must be an object of strings", path)
    for k in labels:
        if not LABEL_NAME_RE.match(k):
            raise InputError(f"alert #{i}: invalid label name {k!r}", path)
    ann = item.get("annotations") or {}
    if not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values()):
        raise InputError(f"alert #{i}: 'annotations' must be an object of strings", path)

    def ts(key: str) -> datetime | None:
        v = item.get(key)
        if v in (None, "", "0001-01-01T00:00:00Z"):
            return None
        if not isinstance(v, str):
            raise InputError(f"alert #{i}: {key} must be an RFC 3339 string", path)
        try:
            return parse_time(v)
        except InputError:
            raise InputError(f"alert #{i}: invalid {key} {v!r}", path) from None

    return Alert(labels=dict(labels), annotations=dict(ann), starts_at=ts("startsAt"), ends_at=ts("endsAt"),
                 generator_url=str(item.get("generatorURL", "")),
                 starts_nanos=_frac_nanos(item.get("startsAt")), ends_nanos=_frac_nanos(item.get("endsAt")))


_FRACTION = re.compile(r"T[0-9:]+[.,]([0-9]+)")


def _frac_nanos(v: Any) -> int | None:
    """Nanoseconds of an RFC 3339 time's fraction (Go keeps 9 digits; datetime only 6)."""
    m = _FRACTION.search(v) if isinstance(v, str) else None
    return int(m.group(1)[:9].ljust(9, "0")) if m else None


def load_alerts_file(path: str | Path) -> list[Alert]:
    return load_alerts(str(path))
