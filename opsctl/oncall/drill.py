"""Drills: replay incidents against schedules and an escalation policy with responder models.

Incidents come from a scenario file (explicit `incidents` and/or `generate` load with a seed) or an
alert history (Alertmanager-style JSON). Each incident is simulated with its own random stream derived
from `--seed` and the incident id, so results are deterministic and independent of the other incidents
(except through round-robin levels, which hand incidents out in trigger order).
"""

from __future__ import annotations

import heapq
import json
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from opsctl.durations import format_duration
from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.coverage import Timeline
from opsctl.oncall.policy import Policy, Target
from opsctl.oncall.responders import Distribution, Responders, parse_distribution, parse_responders
from opsctl.oncall.schedule import Ctx, Schedule
from opsctl.yamlutil import PosDict, load_one, read_text

DEFAULT_RESOLVE_AFTER_RESPOND = 30 * 60.0
MAX_RETRIGGERS = 20
SCENARIO_KEYS = {"name", "time_zone", "responders", "incidents", "generate"}
INCIDENT_KEYS = {"id", "title", "at", "severity", "duration", "resolved_at", "service", "labels"}
GENERATE_KEYS = {"count", "from", "to", "severities", "duration"}


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    severity: str
    at: float
    resolved_at: float | None = None  # None: resolved DEFAULT_RESOLVE_AFTER_RESPOND after the response
    labels: tuple[tuple[str, str], ...] = ()


@dataclass
class Scenario:
    name: str
    tz: ZoneInfo
    responders: Responders
    incidents: list[Incident]


def _generate(ctx: Ctx, g: PosDict, tz: ZoneInfo, seed: int) -> list[Incident]:
    count = g.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= 1_000_000:
        raise ctx.err("generate.count must be an integer in 1..1000000", g, "count")
    ctx.req(g, "from", "generate")
    ctx.req(g, "to", "generate")
    t0, t1 = ctx.instant(g, "from", tz, "generate"), ctx.instant(g, "to", tz, "generate")
    if t1 <= t0:
        raise ctx.err("generate.to must be after generate.from", g, "to")
    sev_weights: dict[str, float] = {"critical": 0.2, "warning": 0.6, "info": 0.2}
    if g.get("severities") is not None:
        sw = ctx.mapping(g["severities"], "generate.severities", None, g, "severities")
        sev_weights = {}
        for k, v in sw.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1e9:
                raise ctx.err("severity weights must be numbers in 0..1e9", sw, k)
            sev_weights[str(k)] = float(v)
        if sum(sev_weights.values()) <= 0:
            raise ctx.err("generate.severities needs a positive weight", g, "severities")
    duration: Distribution = Distribution("exponential", 45 * 60.0)
    if g.get("duration") is not None:
        duration = parse_distribution(ctx, g["duration"], g, "duration")
    return generate_incidents(count, t0, t1, sev_weights, duration, seed)


def generate_incidents(count: int, t0: float, t1: float, severities: dict[str, float], duration: Distribution,
                       seed: int) -> list[Incident]:
    """`count` incidents at uniformly random instants in [t0, t1), severities by weight."""
    rng = random.Random(seed)
    names = list(severities)
    weights = [severities[n] for n in names]
    times = sorted(t0 + (t1 - t0) * rng.random() for _ in range(count))
    sevs = rng.choices(names, weights, k=count)
    width = len(str(count))
    return [Incident(f"GEN-{i + 1:0{width}d}", f"generated {sevs[i]} incident", sevs[i], t,
                     t + max(60.0, duration.sample(rng)))
            for i, t in enumerate(times)]


def parse_scenario(doc: Any, file: str, default_tz: ZoneInfo, seed: int) -> Scenario:
    ctx = Ctx(file)
    root = ctx.mapping(doc, "scenario", SCENARIO_KEYS)
    tz = default_tz
    if root.get("time_zone") is not None:
        try:
            tz = timeutil.zone(str(root["time_zone"]))
        except ValueError as exc:
            raise ctx.err(str(exc), root, "time_zone") from None
    responders = parse_responders(ctx, root["responders"], tz, root) if root.get("responders") is not None \
        else Responders()
    incidents: list[Incident] = []
    seen: set[str] = set()
    raw_list = ctx.seq(root, "incidents", "incidents")
    for i, raw in enumerate(raw_list):
        d = ctx.mapping(raw, f"incident {i + 1}", INCIDENT_KEYS, raw_list)
        iid = ctx.string(d, "id", f"incident {i + 1}", f"INC-{i + 1}")
        if iid in seen:
            raise ctx.err(f"duplicate incident id {iid!r}", d, "id")
        seen.add(iid)
        what = f"incident {iid}"
        ctx.req(d, "at", what)
        at = ctx.instant(d, "at", tz, what)
        resolved: float | None = None
        if d.get("duration") is not None and d.get("resolved_at") is not None:
            raise ctx.err(f"{what}: give duration or resolved_at, not both", d, "resolved_at")
        if d.get("duration") is not None:
            resolved = at + ctx.seconds(d, "duration", what)
        elif d.get("resolved_at") is not None:
            resolved = ctx.instant(d, "resolved_at", tz, what)
        if resolved is not None and resolved <= at:
            raise ctx.err(f"{what}: must resolve after it triggers", d)
        labels = d.get("labels") or {}
        if not isinstance(labels, dict):
            raise ctx.err(f"{what}: labels must be a mapping", d, "labels")
        if d.get("service") is not None:
            labels = {**labels, "service": d["service"]}
        incidents.append(Incident(iid, ctx.string(d, "title", what, iid), ctx.string(d, "severity", what, "critical"),
                                  at, resolved, tuple(sorted((str(k), str(v)) for k, v in labels.items()))))
    if root.get("generate") is not None:
        g = ctx.mapping(root["generate"], "generate", GENERATE_KEYS, root, "generate")
        incidents.extend(_generate(ctx, g, tz, seed))
    name = ctx.string(root, "name", "scenario", Path(file).stem)
    return Scenario(name, tz, responders, incidents)


def load_scenario(path: str | Path, default_tz: ZoneInfo, seed: int) -> Scenario:
    doc = load_one(path)
    if doc is None:
        raise InputError("empty scenario file", str(path))
    return parse_scenario(doc, str(path), default_tz, seed)


# ------------------------------------------------------------------------------------------- history

def _alert_time(value: Any) -> float | None:
    if value in (None, "", "0001-01-01T00:00:00Z"):
        return None
    try:
        return timeutil.to_epoch(value, timeutil.zone("UTC"))
    except ValueError:
        return None


def load_history(path: str | Path) -> list[Incident]:
    """Incidents from an alert history: a JSON array (or {"alerts": [...]}, or JSON Lines) of
    Alertmanager-style alerts: {labels: {alertname, severity, ...}, annotations: {summary},
    startsAt, endsAt, fingerprint}; flat {alertname, severity, starts_at, ends_at, id} also works,
    and so does the JSON of `opsctl rules backtest` (every firing episode is an incident)."""
    name = str(path)
    text = read_text(path)
    items: Any
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        items = []
        for n, ln in enumerate(lines, 1):
            try:
                items.append(json.loads(ln))
            except json.JSONDecodeError:
                raise InputError(f"not JSON or JSON Lines: {exc.msg}", name, exc.lineno, exc.colno) from None
            del n
    if isinstance(items, dict) and isinstance(items.get("backtest"), dict):
        items = items["backtest"]  # `opsctl rules backtest --format json`
    if isinstance(items, dict):
        items = items.get("alerts", items.get("data", items.get("incidents")))
    if not isinstance(items, list):
        raise InputError("alert history must be a JSON array of alerts (or {\"alerts\": [...]})", name)
    items = _expand_episodes(items)
    out = []
    seen: Counter[str] = Counter()
    for i, a in enumerate(items):
        if not isinstance(a, dict):
            raise InputError(f"alert {i + 1}: expected an object", name)
        labels: dict[str, Any] = a["labels"] if isinstance(a.get("labels"), dict) else {}
        ann: dict[str, Any] = a["annotations"] if isinstance(a.get("annotations"), dict) else {}
        alertname = str(labels.get("alertname", a.get("alertname", a.get("title", "alert"))))
        severity = str(labels.get("severity", a.get("severity", "critical")))
        start = _alert_time(a.get("startsAt", a.get("starts_at", a.get("at"))))
        if start is None:
            raise InputError(f"alert {i + 1} ({alertname}): missing or invalid startsAt", name)
        end = _alert_time(a.get("endsAt", a.get("ends_at", a.get("resolved_at"))))
        if end is not None and end <= start:
            end = None
        base = str(a.get("id", a.get("fingerprint", alertname)))
        seen[base] += 1
        iid = base if seen[base] == 1 else f"{base}-{seen[base]}"
        title = str(ann.get("summary", a.get("title", alertname)))
        lbl = tuple(sorted((str(k), str(v)) for k, v in labels.items()))
        out.append(Incident(iid, title, severity, start, end, lbl))
    out.sort(key=lambda x: x.at)
    return out


def _expand_episodes(items: list[Any]) -> list[Any]:
    """Backtest results list alerts with `episodes` (labels, fired_at, resolved_at in epoch seconds):
    each episode becomes one alert named `ALERTNAME-N`."""
    out: list[Any] = []
    for a in items:
        if isinstance(a, dict) and isinstance(a.get("episodes"), list):
            name = str(a.get("alertname", "alert"))
            for n, ep in enumerate(a["episodes"], 1):
                if not isinstance(ep, dict):
                    continue
                labels = {"alertname": name, **(ep.get("labels") or {})}
                out.append({"id": f"{name}-{n}", "labels": labels, "startsAt": ep.get("fired_at"),
                            "endsAt": ep.get("resolved_at")})
        else:
            out.append(a)
    return out


# ----------------------------------------------------------------------------------------- simulation

@dataclass(slots=True)
class Page:
    at: float
    user: str
    level: int  # 1-based
    loop: int
    night: bool


@dataclass
class Result:
    incident: Incident
    urgency: str
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (time, kind, detail)
    pages: list[Page] = field(default_factory=list)
    acked_at: float | None = None
    acked_by: str | None = None
    ack_level: int | None = None
    responded_at: float | None = None
    resolved_at: float | None = None
    auto_resolved: bool = False
    exhausted_at: float | None = None  # the policy ran out with nobody acknowledging by then
    max_level: int = 0
    retriggers: int = 0
    escalations: list[int] = field(default_factory=list)  # level escalated to (1-based), one per escalation
    skipped_levels: list[tuple[float, int]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    notifications: list[tuple[float, str, int]] = field(default_factory=list)  # (time, target, level) channels
    in_support_hours: bool | None = None  # None: the policy's urgency does not depend on support hours


class Simulator:
    def __init__(self, policy: Policy, schedules: dict[str, Schedule], responders: Responders, tz: ZoneInfo,
                 seed: int, t0: float, t1: float) -> None:
        policy.check_schedules(schedules)
        self.policy = policy
        self.responders = responders
        self.tz = tz
        self.seed = seed
        self.timelines = {sid: Timeline(s.render(t0, t1)) for sid, s in schedules.items()
                          if sid in policy.schedule_ids()}
        self.nlevels = len(policy.levels)
        nh = policy.night_hours
        self.night = frozenset(range(nh[0], nh[1])) if nh[0] < nh[1] else \
            frozenset(list(range(nh[0], 24)) + list(range(0, nh[1])))
        self._hour_cache: dict[int, int] = {}
        self.ring = [0] * self.nlevels  # round robin: index of the next person target at each level

    def hour(self, ts: float) -> int:
        key = int(ts // 900)  # local hour is constant within a 15-minute UTC slot for every real zone
        h = self._hour_cache.get(key)
        if h is None:
            h = datetime.fromtimestamp(key * 900, self.tz).hour
            self._hour_cache[key] = h
        return h

    def members(self, target: Target, ts: float) -> tuple[str, ...]:
        if target.kind == "user":
            return (target.id,)
        if target.kind == "team":
            return self.policy.teams[target.id]
        if target.kind == "schedule":
            return self.timelines[target.id].at(ts)
        return ()

    def on_call(self, level: int, ts: float) -> list[str]:
        """The people paged when the incident reaches `level` at `ts`. A round-robin level pages the
        next target of its ring that has someone on call (and moves the ring on); others page everyone."""
        lv = self.policy.levels[level]
        people = lv.people_targets
        if lv.round_robin:
            n = len(people)
            for k in range(n):
                idx = (self.ring[level] + k) % n
                found = self.members(people[idx], ts)
                if found:
                    self.ring[level] = (idx + 1) % n
                    return list(dict.fromkeys(found))
            return []
        users: list[str] = []
        for t in people:
            for u in self.members(t, ts):
                if u not in users:
                    users.append(u)
        return users

    def run(self, incident: Incident) -> Result:
        # each incident has its own stream (seed, incident id): results do not depend on the other incidents
        rng = random.Random((self.seed * 1_000_003) ^ zlib.crc32(incident.id.encode()))
        pol = self.policy
        urgency, inside = pol.urgency_at(incident.severity, incident.at, self.tz)
        r = Result(incident, urgency, in_support_hours=inside)
        ev = r.events
        hours = "" if inside is None else ", in support hours" if inside else ", outside support hours"
        ev.append((incident.at, "triggered", f"{incident.severity} ({urgency} urgency{hours})"))
        resolve_at = incident.resolved_at
        level, loop, t = 0, 0, incident.at
        extra: list[str] = []  # re-notified acknowledger after an ack timeout
        pending: list[tuple[float, int, str, int]] = []  # (ack time, seq, user, level)
        seq = 0
        skipped_in_row = 0
        first_ack = True
        while True:
            users = self.on_call(level, t)
            for u in extra:
                if u not in users:
                    users.append(u)
            extra = []
            notify = pol.levels[level].notify_targets
            reached = bool(users or notify)
            if not reached:
                r.skipped_levels.append((t, level + 1))
                ev.append((t, "skipped", f"level {level + 1}: nobody on call"))
                skipped_in_row += 1
            else:
                skipped_in_row = 0
                r.max_level = max(r.max_level, level + 1)
                for tg in notify:  # a channel or webhook is told; nobody acknowledges through it
                    r.notifications.append((t, str(tg), level + 1))
                    ev.append((t, "notified", f"{tg} (level {level + 1}{', loop ' + str(loop) if loop else ''})"))
                h = self.hour(t)
                night = h in self.night
                for u in users:
                    r.pages.append(Page(t, u, level + 1, loop, night))
                    ev.append((t, "paged", f"{u} (level {level + 1}{', loop ' + str(loop) if loop else ''}"
                                           f"{', night' if night else ''})"))
                    delay = self.responders.get(u).ack(t, h, rng)
                    if delay is not None:
                        seq += 1
                        heapq.heappush(pending, (t + delay, seq, u, level))
            # when does this level hand over to the next one?
            nxt: tuple[float, int, int] | None = None
            if urgency == "high" or not reached:
                if level + 1 < self.nlevels:
                    nxt = (t + pol.levels[level].delay_minutes * 60.0 if reached else t, level + 1, loop)
                elif loop < pol.num_loops:
                    nxt = (t + pol.levels[level].delay_minutes * 60.0 if reached else t, 0, loop + 1)
                if urgency == "low" and nxt is not None and r.max_level > 0:
                    nxt = None
            if skipped_in_row > self.nlevels * (pol.num_loops + 1):
                nxt = None
            ack = pending[0] if pending else None
            horizon = nxt[0] if nxt is not None else float("inf")
            if nxt is None and r.acked_at is None and r.exhausted_at is None:
                # nothing more to page: the policy is exhausted after the last level's delay, unless an
                # acknowledgement or the resolution comes first (also when the incident has an end time)
                end = t + pol.levels[level].delay_minutes * 60.0 if reached else t
                if (ack is None or ack[0] > end) and (resolve_at is None or resolve_at > end):
                    r.exhausted_at = end
                    ev.append((end, "exhausted", "escalation policy exhausted, nobody acknowledged"))
            if ack is not None and ack[0] <= horizon and (resolve_at is None or ack[0] < resolve_at):
                ta, _, who, alevel = ack
                pending = []
                ev.append((ta, "acknowledged", f"{who} (level {alevel + 1})"))
                if first_ack:
                    first_ack = False
                    r.acked_at, r.acked_by, r.ack_level = ta, who, alevel + 1
                    responded = ta + self.responders.get(who).respond(self.hour(ta), rng)
                    if resolve_at is None:
                        resolve_at = responded + DEFAULT_RESOLVE_AFTER_RESPOND
                    if responded < resolve_at:  # nobody starts working on an incident that has ended
                        r.responded_at = responded
                        ev.append((responded, "responding", who))
                timeout = pol.ack_timeout_seconds
                assert resolve_at is not None
                if timeout is not None and resolve_at > ta + timeout and r.retriggers < MAX_RETRIGGERS:
                    r.retriggers += 1
                    t = ta + timeout
                    ev.append((t, "retriggered", f"ack timeout {format_duration(timeout)}"))
                    level, extra = alevel, [who]
                    continue
                break
            if resolve_at is not None and resolve_at <= horizon and (ack is None or resolve_at <= ack[0]):
                break
            if nxt is None:
                break
            if nxt[1] != level or nxt[2] != loop:
                r.escalations.append(nxt[1] + 1)
                if reached:
                    ev.append((nxt[0], "escalated", f"to level {nxt[1] + 1}"
                               + (f" (loop {nxt[2]})" if nxt[2] != loop else "")))
            t, level, loop = nxt
        r.resolved_at = resolve_at
        r.auto_resolved = r.acked_at is None and resolve_at is not None and r.exhausted_at is None
        if resolve_at is not None:
            detail = "auto-resolved before acknowledgement" if r.auto_resolved else \
                "resolved, never acknowledged (policy exhausted)" if r.acked_at is None else ""
            ev.append((resolve_at, "resolved", detail))
        ev.sort(key=lambda e: e[0])
        self._targets(r)
        return r

    def _targets(self, r: Result) -> None:
        target = self.policy.response_targets.get(r.incident.severity)
        if target is None:
            return
        at = r.incident.at
        resolved = r.resolved_at if r.resolved_at is not None else float("inf")
        if target.ack_seconds is not None:
            deadline = at + target.ack_seconds
            if (r.acked_at is None or r.acked_at > deadline) and resolved > deadline:
                r.missed.append("ack")
        if target.respond_seconds is not None:
            deadline = at + target.respond_seconds
            if (r.responded_at is None or r.responded_at > deadline) and resolved > deadline:
                r.missed.append("respond")


def simulate(incidents: list[Incident], policy: Policy, schedules: dict[str, Schedule], responders: Responders,
             tz: ZoneInfo, seed: int, progress: Callable[..., None] | None = None) -> list[Result]:
    """Replay `incidents` in trigger order; `progress(1, total=incidents)` after each (the CLI's bar)."""
    if not incidents:
        return []
    t0 = min(i.at for i in incidents) - 86400.0
    span = (policy.num_loops + 1) * sum(lv.delay_minutes for lv in policy.levels) * 60.0
    retrig = (policy.ack_timeout_seconds or 0.0) * (MAX_RETRIGGERS + 1)
    t1 = max(max(i.at for i in incidents), max(i.resolved_at or i.at for i in incidents)) + span + retrig + 86400.0
    sim = Simulator(policy, schedules, responders, tz, seed, t0, t1)
    # in trigger order, so that round-robin levels hand incidents out in the order they come
    out: dict[int, Result] = {}
    for i in sorted(range(len(incidents)), key=lambda k: incidents[k].at):
        out[i] = sim.run(incidents[i])
        if progress is not None:
            progress(1, total=len(incidents))
    return [out[i] for i in range(len(incidents))]


# --------------------------------------------------------------------------------------------- report

def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))
    return xs[k]


def summarize(results: list[Result], policy: Policy, max_miss_rate: float = 0.0) -> dict[str, Any]:
    ack_times = [r.acked_at - r.incident.at for r in results if r.acked_at is not None]
    resp_times = [r.responded_at - r.incident.at for r in results if r.responded_at is not None]
    pages: Counter[str] = Counter()
    notified: Counter[str] = Counter()
    night: Counter[str] = Counter()
    reached: Counter[int] = Counter()
    escalations: Counter[int] = Counter()
    for r in results:
        escalations.update(r.escalations)
        notified.update(target for _, target, _ in r.notifications)
        for p in r.pages:
            pages[p.user] += 1
            if p.night:
                night[p.user] += 1
        for lv in range(1, r.max_level + 1):
            reached[lv] += 1
    by_sev: dict[str, dict[str, int]] = defaultdict(lambda: {"incidents": 0, "missed_ack": 0, "missed_respond": 0,
                                                             "missed_any": 0})
    for r in results:
        s = by_sev[r.incident.severity]
        s["incidents"] += 1
        s["missed_ack"] += "ack" in r.missed
        s["missed_respond"] += "respond" in r.missed
        s["missed_any"] += bool(r.missed)
    with_targets = [r for r in results if r.incident.severity in policy.response_targets]
    missed = [r for r in with_targets if r.missed]
    miss_rate = len(missed) / len(with_targets) if with_targets else 0.0
    verdict = "pass" if miss_rate <= max_miss_rate else "fail"
    return {
        "incidents": len(results),
        "acknowledged": len(ack_times),
        "unacknowledged": sum(1 for r in results if r.acked_at is None and not r.auto_resolved),
        "auto_resolved_before_ack": sum(1 for r in results if r.auto_resolved),
        "exhausted": sum(1 for r in results if r.exhausted_at is not None),
        "mtta_seconds": round(sum(ack_times) / len(ack_times), 3) if ack_times else None,
        "tta_p50_seconds": _round(_pct(ack_times, 0.5)),
        "tta_p90_seconds": _round(_pct(ack_times, 0.9)),
        "mean_time_to_respond_seconds": round(sum(resp_times) / len(resp_times), 3) if resp_times else None,
        "incidents_reaching_level": {str(k): reached[k] for k in sorted(reached)},
        "escalations_to_level": {str(k): escalations[k] for k in sorted(escalations)},
        "escalated_incidents": sum(1 for r in results if r.max_level > 1),
        "retriggers": sum(r.retriggers for r in results),
        "levels_skipped_nobody_on_call": sum(len(r.skipped_levels) for r in results),
        "targets": {sev: {"ack_seconds": t.ack_seconds, "respond_seconds": t.respond_seconds}
                    for sev, t in policy.response_targets.items()},
        "by_severity": {k: by_sev[k] for k in sorted(by_sev)},
        "missed_targets": [{"id": r.incident.id, "severity": r.incident.severity, "missed": r.missed}
                           for r in missed],
        "miss_rate": round(miss_rate, 6),
        "max_miss_rate": max_miss_rate,
        "pages_per_person": {u: {"pages": pages[u], "night_pages": night[u]} for u in sorted(pages)},
        "notifications_per_target": {k: notified[k] for k in sorted(notified)},
        "incidents_by_urgency": dict(sorted(Counter(r.urgency for r in results).items())),
        "verdict": verdict,
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def result_to_dict(r: Result, tz: ZoneInfo) -> dict[str, Any]:
    inc = r.incident
    return {
        "id": inc.id,
        "title": inc.title,
        "severity": inc.severity,
        "urgency": r.urgency,
        "in_support_hours": r.in_support_hours,
        "labels": dict(inc.labels),
        "triggered_at": timeutil.iso(inc.at, tz),
        "acknowledged_at": None if r.acked_at is None else timeutil.iso(r.acked_at, tz),
        "acknowledged_by": r.acked_by,
        "acknowledged_level": r.ack_level,
        "time_to_ack_seconds": None if r.acked_at is None else round(r.acked_at - inc.at, 3),
        "responded_at": None if r.responded_at is None else timeutil.iso(r.responded_at, tz),
        "time_to_respond_seconds": None if r.responded_at is None else round(r.responded_at - inc.at, 3),
        "resolved_at": None if r.resolved_at is None else timeutil.iso(r.resolved_at, tz),
        "auto_resolved_before_ack": r.auto_resolved,
        "exhausted_at": None if r.exhausted_at is None else timeutil.iso(r.exhausted_at, tz),
        "max_level": r.max_level,
        "escalations": r.escalations,
        "retriggers": r.retriggers,
        "missed": r.missed,
        "pages": [{"at": timeutil.iso(p.at, tz), "user": p.user, "level": p.level, "loop": p.loop,
                   "night": p.night} for p in r.pages],
        "notifications": [{"at": timeutil.iso(at, tz), "target": target, "level": lv}
                          for at, target, lv in r.notifications],
        "timeline": [{"at": timeutil.iso(t, tz), "event": k, "detail": d} for t, k, d in r.events],
    }
