"""Escalation policies (PagerDuty field names): ordered levels, delays, loops, urgency, ack timeout,
and response-time targets per severity.

Semantics (PagerDuty): level 1 is notified when an incident triggers; if nobody acknowledges within
the level's `escalation_delay_in_minutes`, the next level is notified. A level whose targets have
nobody on call is skipped at once. After the last level the policy starts over at level 1, `num_loops`
more times. Low-urgency incidents notify level 1 only and never escalate. With an
`acknowledgement_timeout`, an acknowledged but unresolved incident re-triggers after that time: the
acknowledger and the level's current on-call are notified again and escalation resumes from that level.

A level may assign by round robin (PagerDuty `escalation_rule_assignment_strategy: round_robin`,
Grafana OnCall `notify_person_next_each_time`): each incident reaching it pages the next person target
of the level's ring (a user, whoever is on call in a schedule, or a team) instead of all of them.
Targets may also be a team (its members, listed in `teams`), a chat channel or a webhook (Grafana
OnCall / GoAlert): channels and webhooks are notified, but nobody acknowledges through them.
Urgency may depend on support hours (PagerDuty's service `incident_urgency_rule` of type
`use_support_hours` with `support_hours`): high inside, low outside, or the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.schedule import Ctx, Schedule, user_ref
from opsctl.yamlutil import PosDict, load_one

Urgency = Literal["high", "low"]
DEFAULT_URGENCY: dict[str, Urgency] = {"critical": "high", "high": "high", "error": "high", "page": "high",
                                       "warning": "high", "info": "low", "low": "low", "none": "low"}

POLICY_KEYS = {"id", "name", "description", "num_loops", "escalation_rules", "acknowledgement_timeout",
               "urgency", "response_targets", "require_24x7", "night_hours", "teams", "incident_urgency_rule",
               "support_hours"}
RULE_KEYS = {"id", "escalation_delay_in_minutes", "targets", "round_robin", "escalation_rule_assignment_strategy"}
TargetKind = Literal["user", "schedule", "team", "channel", "webhook"]
TARGET_TYPES: dict[str, TargetKind] = {
    "user": "user", "user_reference": "user", "schedule": "schedule", "schedule_reference": "schedule",
    "team": "team", "team_reference": "team", "channel": "channel", "slack_channel": "channel",
    "webhook": "webhook"}
PERSON_KINDS = ("user", "schedule", "team")  # targets that page people (channels and webhooks notify)
UrgencyChoice = Literal["high", "low", "severity_based"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def pages_people(self) -> bool:
        return self.kind in PERSON_KINDS


@dataclass(frozen=True)
class Level:
    delay_minutes: float
    targets: tuple[Target, ...]
    round_robin: bool = False

    @property
    def people_targets(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.pages_people)

    @property
    def notify_targets(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if not t.pages_people)


@dataclass(frozen=True)
class SupportHours:
    """PagerDuty `support_hours` (type fixed_time_per_day): local [start, end) on ISO weekdays."""

    start: int  # seconds after local midnight
    end: int
    days: frozenset[int]
    time_zone: str | None = None  # None: the drill's (schedule's) zone

    def contains(self, ts: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(ts, timeutil.zone(self.time_zone) if self.time_zone else tz)
        sec = local.hour * 3600 + local.minute * 60 + local.second
        return local.isoweekday() in self.days and self.start <= sec < self.end


@dataclass(frozen=True)
class UrgencyRule:
    """PagerDuty `incident_urgency_rule`: constant (the severity map) or use_support_hours."""

    during: UrgencyChoice = "severity_based"
    outside: UrgencyChoice = "severity_based"
    support_hours: SupportHours | None = None


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
    teams: dict[str, tuple[str, ...]] = field(default_factory=dict)
    urgency_rule: UrgencyRule = field(default_factory=UrgencyRule)

    def urgency_of(self, severity: str) -> Urgency:
        return self.urgency.get(severity, "high")

    def urgency_at(self, severity: str, ts: float, tz: ZoneInfo) -> tuple[Urgency, bool | None]:
        """Urgency of an incident of `severity` triggered at `ts`, and whether that was inside support
        hours (None without a support-hours rule)."""
        rule = self.urgency_rule
        inside = None if rule.support_hours is None else rule.support_hours.contains(ts, tz)
        choice = rule.during if inside is None or inside else rule.outside
        return (self.urgency_of(severity) if choice == "severity_based" else choice), inside

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
            return Target(TARGET_TYPES[skind], sident)
    if isinstance(raw, dict):
        tkind = TARGET_TYPES.get(str(raw.get("type", "")))
        ident = raw.get("id")
        if tkind is not None and isinstance(ident, (str, int)) and not isinstance(ident, bool):
            return Target(tkind, str(ident))
        if tkind == "user" and user_ref(raw) is not None:
            return Target("user", str(user_ref(raw)))
    raise ctx.err('a target is "user:NAME", "schedule:ID", "team:ID", "channel:NAME", "webhook:NAME" or '
                  "{type: user_reference|schedule_reference|team_reference|channel|webhook, id: ...}", where)


def _round_robin(ctx: Ctx, r: PosDict, i: int) -> bool:
    """`round_robin: true`, or PagerDuty's escalation_rule_assignment_strategy (a string or {type: ...})."""
    rr = r.get("round_robin")
    strategy = r.get("escalation_rule_assignment_strategy")
    if rr is not None and not isinstance(rr, bool):
        raise ctx.err(f"escalation rule {i + 1}: round_robin must be true or false", r, "round_robin")
    if isinstance(strategy, dict):
        strategy = strategy.get("type")
    if strategy is not None and strategy not in ("round_robin", "assign_to_everyone"):
        raise ctx.err(f"escalation rule {i + 1}: escalation_rule_assignment_strategy must be round_robin or "
                      "assign_to_everyone", r, "escalation_rule_assignment_strategy")
    if rr is not None and strategy is not None and rr != (strategy == "round_robin"):
        raise ctx.err(f"escalation rule {i + 1}: round_robin and escalation_rule_assignment_strategy disagree", r,
                      "round_robin")
    return bool(rr) or strategy == "round_robin"


def _urgency_choice(ctx: Ctx, d: PosDict, key: str) -> UrgencyChoice:
    v = d.get(key, "severity_based")
    if isinstance(v, dict):  # PagerDuty: {type: constant, urgency: high}
        if v.get("type", "constant") != "constant":
            raise ctx.err(f"incident_urgency_rule.{key}: type must be constant", d, key)
        v = v.get("urgency")
    if v not in ("high", "low", "severity_based"):
        raise ctx.err(f"incident_urgency_rule.{key} must be high, low or severity_based", d, key)
    return v


def _urgency_rule(ctx: Ctx, root: PosDict) -> UrgencyRule:
    raw = root.get("incident_urgency_rule")
    sh_raw = root.get("support_hours")
    if raw is None:
        if sh_raw is not None:
            raise ctx.err("support_hours needs incident_urgency_rule {type: use_support_hours, ...}", root,
                          "support_hours")
        return UrgencyRule()
    d = ctx.mapping(raw, "incident_urgency_rule", {"type", "urgency", "during_support_hours",
                                                   "outside_support_hours"}, root, "incident_urgency_rule")
    kind = d.get("type", "constant")
    if kind == "constant":
        if sh_raw is not None or "during_support_hours" in d or "outside_support_hours" in d:
            raise ctx.err("support hours need incident_urgency_rule type use_support_hours", d, "type")
        u = _urgency_choice(ctx, d, "urgency")
        return UrgencyRule(u, u)
    if kind != "use_support_hours":
        raise ctx.err("incident_urgency_rule.type must be constant or use_support_hours", d, "type")
    if "urgency" in d:
        raise ctx.err("incident_urgency_rule: use during_support_hours/outside_support_hours with "
                      "use_support_hours", d, "urgency")
    for key in ("during_support_hours", "outside_support_hours"):
        ctx.req(d, key, "incident_urgency_rule")
    if sh_raw is None:
        raise ctx.err("incident_urgency_rule use_support_hours needs support_hours", d, "type")
    sh = ctx.mapping(sh_raw, "support_hours", {"type", "time_zone", "days_of_week", "start_time", "end_time"},
                     root, "support_hours")
    if sh.get("type", "fixed_time_per_day") != "fixed_time_per_day":
        raise ctx.err("support_hours.type must be fixed_time_per_day", sh, "type")
    tz_name = None
    if sh.get("time_zone") is not None:
        tz_name = str(sh["time_zone"])
        try:
            timeutil.zone(tz_name)
        except ValueError as exc:
            raise ctx.err(f"support_hours: {exc}", sh, "time_zone") from None
    days = sh.get("days_of_week", [1, 2, 3, 4, 5])
    if not isinstance(days, list) or not days or not all(
            isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 7 for x in days):
        raise ctx.err("support_hours.days_of_week must be ISO weekdays 1 (Monday) .. 7 (Sunday)", sh, "days_of_week")
    try:
        start = timeutil.parse_time_of_day(sh.get("start_time", "09:00:00"))
    except ValueError as exc:
        raise ctx.err(f"support_hours.start_time: {exc}", sh, "start_time") from None
    try:
        end = timeutil.parse_time_of_day(sh.get("end_time", "17:00:00"))
    except ValueError as exc:
        raise ctx.err(f"support_hours.end_time: {exc}", sh, "end_time") from None
    if end <= start:
        raise ctx.err("support_hours.end_time must be after start_time (same day)", sh, "end_time")
    return UrgencyRule(_urgency_choice(ctx, d, "during_support_hours"),
                       _urgency_choice(ctx, d, "outside_support_hours"),
                       SupportHours(start, end, frozenset(days), tz_name))


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
        rr = _round_robin(ctx, r, i)
        if rr and not any(t.pages_people for t in targets):
            raise ctx.err(f"escalation rule {i + 1}: round robin needs user, schedule or team targets", r)
        levels.append(Level(float(delay), tuple(targets), rr))
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
    teams: dict[str, tuple[str, ...]] = {}
    if root.get("teams") is not None:
        tm = ctx.mapping(root["teams"], "teams", None, root, "teams")
        for tid, members in tm.items():
            refs = [user_ref(u) for u in members] if isinstance(members, list) else [None]
            if not refs or any(u is None for u in refs):
                raise ctx.err(f"teams.{tid}: a list of people (names or user references)", tm, tid)
            teams[str(tid)] = tuple(dict.fromkeys(u for u in refs if u is not None))
    for i, lv in enumerate(levels):
        for t in lv.targets:
            if t.kind == "team" and t.id not in teams:
                raise ctx.err(f"escalation rule {i + 1}: team {t.id!r} is not listed under teams (ID: [people])",
                              rules[i] if isinstance(rules[i], PosDict) else root)
    return Policy(pid, name, levels, loops, ack_timeout, urgency, targets_by_sev, req24, night, file, teams,
                  _urgency_rule(ctx, root))


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
         "targets": [{"type": f"{t.kind}_reference" if t.kind in ("user", "schedule", "team") else t.kind,
                      "id": t.id} for t in lv.targets],
         **({"round_robin": True} if lv.round_robin else {})}
        for lv in p.levels
    ]
    if p.teams:
        out["teams"] = {k: list(v) for k, v in p.teams.items()}
    return out
