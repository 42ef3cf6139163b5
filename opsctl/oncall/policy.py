"""Escalation policies (PagerDuty field names): ordered levels, delays, loops, urgency, ack timeout,
and response-time targets per severity.

Semantics (PagerDuty): level 1 is notified when an incident triggers; if nobody acknowledges within
the level's `escalation_delay_in_minutes`, the next level is notified. A level whose targets have
nobody on call is skipped at once. After the last level the policy starts over at level 1, `num_loops`
more times. Low-urgency incidents notify level 1 only and never escalate. With an
`acknowledgement_timeout`, an acknowledged but unresolved incident re-triggers after that time: the
acknowledger and the level's current on-call are notified again and escalation resumes from that level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opsctl.errors import InputError
from opsctl.oncall.schedule import Ctx, Schedule, user_ref
from opsctl.yamlutil import PosDict, load_one

Urgency = Literal["high", "low"]
DEFAULT_URGENCY: dict[str, Urgency] = {"critical": "high", "high": "high", "error": "high", "page": "high",
                                       "warning": "high", "info": "low", "low": "low", "none": "low"}

POLICY_KEYS = {"id", "name", "description", "num_loops", "escalation_rules", "acknowledgement_timeout",
               "urgency", "response_targets", "require_24x7", "night_hours"}
RULE_KEYS = {"id", "escalation_delay_in_minutes", "targets"}
TARGET_TYPES = {"user": "user", "user_reference": "user", "schedule": "schedule", "schedule_reference": "schedule"}


@dataclass(frozen=True)
class Target:
    kind: Literal["user", "schedule"]
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Level:
    delay_minutes: float
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class ResponseTarget:
    ack_seconds: float | None
    respond_seconds: float | None


@dataclass
class Policy:
    id: str
    name: str
    levels: list[Level]
    num_loops: int = 0
    ack_timeout_seconds: float | None = None
    urgency: dict[str, Urgency] = field(default_factory=lambda: dict(DEFAULT_URGENCY))
    response_targets: dict[str, ResponseTarget] = field(default_factory=dict)
    require_24x7: bool = False
    night_hours: tuple[int, int] = (22, 7)
    source: str = "<policy>"

    def urgency_of(self, severity: str) -> Urgency:
        return self.urgency.get(severity, "high")

    def schedule_ids(self) -> list[str]:
        return sorted({t.id for lv in self.levels for t in lv.targets if t.kind == "schedule"})

    def check_schedules(self, schedules: dict[str, Schedule]) -> None:
        for i, lv in enumerate(self.levels):
            for t in lv.targets:
                if t.kind == "schedule" and t.id not in schedules:
                    known = ", ".join(sorted(schedules)) or "none given"
                    raise InputError(f"level {i + 1} targets schedule {t.id!r}, which was not given "
                                     f"(schedules: {known}; pass it with --schedule)", self.source)


def parse_target(ctx: Ctx, raw: Any, where: Any) -> Target:
    if isinstance(raw, str) and ":" in raw:
        skind, _, sident = raw.partition(":")
        if skind in TARGET_TYPES and sident:
            return Target("user" if TARGET_TYPES[skind] == "user" else "schedule", sident)
    if isinstance(raw, dict):
        tkind = TARGET_TYPES.get(str(raw.get("type", "")))
        ident = raw.get("id")
        if tkind is not None and isinstance(ident, (str, int)) and not isinstance(ident, bool):
            return Target("user" if tkind == "user" else "schedule", str(ident))
        if tkind == "user" and user_ref(raw) is not None:
            return Target("user", str(user_ref(raw)))
    raise ctx.err('a target is "user:NAME", "schedule:ID" or {type: user_reference|schedule_reference, id: ...}',
                  where)


def parse_policy(doc: Any, file: str = "<policy>", default_id: str = "policy") -> Policy:
    ctx = Ctx(file)
    root = ctx.mapping(doc, "escalation policy", POLICY_KEYS)
    pid = ctx.string(root, "id", "policy", default_id)
    name = ctx.string(root, "name", "policy", pid)
    loops = root.get("num_loops", 0)
    if isinstance(loops, bool) or not isinstance(loops, int) or not 0 <= loops <= 9:
        raise ctx.err("num_loops must be an integer 0..9 (PagerDuty's limit)", root, "num_loops")
    rules = ctx.seq(root, "escalation_rules", "escalation_rules")
    if not rules:
        raise ctx.err("escalation policy needs at least one entry in escalation_rules", root)
    levels = []
    for i, raw in enumerate(rules):
        r = ctx.mapping(raw, f"escalation rule {i + 1}", RULE_KEYS, rules)
        delay = r.get("escalation_delay_in_minutes", 30)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 10_080:
            raise ctx.err(f"escalation rule {i + 1}: escalation_delay_in_minutes must be a number in 0..10080", r,
                          "escalation_delay_in_minutes")
        traw = ctx.seq(r, "targets", f"escalation rule {i + 1}: targets")
        if not traw:
            raise ctx.err(f"escalation rule {i + 1}: needs at least one target", r)
        targets = []
        for j, t in enumerate(traw):
            where = t if isinstance(t, PosDict) else PosDict()
            if not isinstance(t, PosDict):
                where.loc = traw.item_loc(j)
            targets.append(parse_target(ctx, t, where))
        levels.append(Level(float(delay), tuple(targets)))
    ack_timeout = None
    if root.get("acknowledgement_timeout") is not None:
        ack_timeout = ctx.seconds(root, "acknowledgement_timeout", "policy")
        if ack_timeout <= 0:
            raise ctx.err("acknowledgement_timeout must be positive (or null to disable)", root,
                          "acknowledgement_timeout")
    urgency = dict(DEFAULT_URGENCY)
    if root.get("urgency") is not None:
        u = ctx.mapping(root["urgency"], "urgency", None, root, "urgency")
        for sev, val in u.items():
            if val not in ("high", "low"):
                raise ctx.err(f"urgency for {sev!r} must be high or low", u, sev)
            urgency[str(sev)] = val
    targets_by_sev: dict[str, ResponseTarget] = {}
    if root.get("response_targets") is not None:
        rt = ctx.mapping(root["response_targets"], "response_targets", None, root, "response_targets")
        for sev, val in rt.items():
            v = ctx.mapping(val, f"response_targets.{sev}", {"ack", "respond"}, rt, sev)
            ack = ctx.seconds(v, "ack", f"response_targets.{sev}") if v.get("ack") is not None else None
            resp = ctx.seconds(v, "respond", f"response_targets.{sev}") if v.get("respond") is not None else None
            if ack is None and resp is None:
                raise ctx.err(f"response_targets.{sev}: give ack and/or respond", rt, sev)
            targets_by_sev[str(sev)] = ResponseTarget(ack, resp)
    req24 = root.get("require_24x7", False)
    if not isinstance(req24, bool):
        raise ctx.err("require_24x7 must be true or false", root, "require_24x7")
    night = (22, 7)
    if root.get("night_hours") is not None:
        nh = root["night_hours"]
        if not (isinstance(nh, list) and len(nh) == 2 and all(isinstance(x, int) and 0 <= x <= 23 for x in nh)):
            raise ctx.err("night_hours must be [START_HOUR, END_HOUR], e.g. [22, 7]", root, "night_hours")
        night = (nh[0], nh[1])
    return Policy(pid, name, levels, loops, ack_timeout, urgency, targets_by_sev, req24, night, file)


def load_policy(path: str | Path) -> Policy:
    doc = load_one(path)
    if doc is None:
        raise InputError("empty escalation policy file", str(path))
    return parse_policy(doc, str(path), Path(path).stem)


def policy_to_dict(p: Policy) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "name": p.name, "num_loops": p.num_loops}
    if p.ack_timeout_seconds is not None:
        out["acknowledgement_timeout"] = int(p.ack_timeout_seconds)
    out["escalation_rules"] = [
        {"escalation_delay_in_minutes": lv.delay_minutes if lv.delay_minutes % 1 else int(lv.delay_minutes),
         "targets": [{"type": f"{t.kind}_reference", "id": t.id} for t in lv.targets]}
        for lv in p.levels
    ]
    return out
