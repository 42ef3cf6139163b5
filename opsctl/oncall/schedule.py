"""On-call schedule model (PagerDuty field names) and its rendering.

A schedule has a time zone, ordered layers and overrides. Each layer rotates `users` through turns
of `rotation_turn_length_seconds`, counted from `rotation_virtual_start` in local wall-clock time (so a
weekly hand-off at 09:00 Europe/Berlin stays at 09:00 across DST: that shift lasts 167 or 169 hours),
limited to [`start`, `end`) and to the union of its `restrictions` (daily_restriction /
weekly_restriction windows, also in local wall-clock time). In `priority` mode (PagerDuty) the highest
(last listed) layer covering an instant wins; in `union` mode all layers' users are on call together.
Overrides sit above every layer (later overrides above earlier ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.intervals import Entry, Mode, Segment, intersect, merge, sweep
from opsctl.yamlutil import PosDict, PosList, load_one

RestrictionType = Literal["daily_restriction", "weekly_restriction"]
OVERRIDE_PRIORITY = 1_000_000
MAX_TURN_SECONDS = 366 * 86400


@dataclass(frozen=True)
class Restriction:
    type: RestrictionType
    start_time_of_day: int  # seconds after local midnight
    duration_seconds: int
    start_day_of_week: int | None = None  # ISO 8601: 1 = Monday ... 7 = Sunday (weekly only)

    def windows(self, t0: float, t1: float, tz: ZoneInfo) -> list[tuple[float, float]]:
        """Restriction windows (epoch seconds) that may overlap [t0, t1)."""
        out = []
        days = timeutil.local_days(t0, t1, tz)
        first = days[0] - timedelta(days=8)
        d = first
        while d <= days[-1]:
            if self.type == "daily_restriction" or d.isoweekday() == self.start_day_of_week:
                s_naive = datetime.combine(d, time()) + timedelta(seconds=self.start_time_of_day)
                e_naive = s_naive + timedelta(seconds=self.duration_seconds)
                s = timeutil.local_to_epoch(s_naive, tz)
                e = timeutil.local_to_epoch(e_naive, tz)
                if e > t0 and s < t1:
                    out.append((s, e))
            d += timedelta(days=1)
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "start_time_of_day": timeutil.format_time_of_day(self.start_time_of_day),
            "duration_seconds": self.duration_seconds,
        }
        if self.start_day_of_week is not None:
            d["start_day_of_week"] = self.start_day_of_week
        return d


@dataclass(frozen=True)
class Layer:
    name: str
    start: float
    end: float | None
    rotation_virtual_start: datetime  # naive, local wall-clock time
    rotation_turn_length_seconds: int
    users: tuple[str, ...]
    restrictions: tuple[Restriction, ...] = ()

    def turns(self, t0: float, t1: float, tz: ZoneInfo) -> list[tuple[float, float, str]]:
        """Unrestricted turns (start, end, user) overlapping [t0, t1), clipped to the layer's span."""
        lo = max(t0, self.start)
        hi = t1 if self.end is None else min(t1, self.end)
        if hi <= lo or not self.users:
            return []
        step = timedelta(seconds=self.rotation_turn_length_seconds)
        v = self.rotation_virtual_start
        diff = (timeutil.epoch_to_naive_local(lo, tz) - v).total_seconds()
        k = math.floor(diff / self.rotation_turn_length_seconds) - 1
        n = len(self.users)
        out = []
        s = timeutil.local_to_epoch(v + step * k, tz)
        while s < hi:
            e = timeutil.local_to_epoch(v + step * (k + 1), tz)
            cs, ce = max(s, lo), min(e, hi)
            if cs < ce:
                out.append((cs, ce, self.users[k % n]))
            s = e
            k += 1
        return out

    def entries(self, t0: float, t1: float, tz: ZoneInfo) -> list[tuple[float, float, str]]:
        """On-call stretches of this layer (turns cut by restrictions) overlapping [t0, t1)."""
        turns = self.turns(t0, t1, tz)
        if not self.restrictions or not turns:
            return turns
        windows = merge([w for r in self.restrictions for w in r.windows(turns[0][0], turns[-1][1], tz)])
        out = []
        j = 0
        for s, e, user in turns:
            while j < len(windows) and windows[j][1] <= s:
                j += 1
            for ws, we in intersect([(s, e)], windows[j:]):
                out.append((ws, we, user))
        return out


@dataclass(frozen=True)
class Override:
    """Who is on call during [start, end), above every layer: usually one person; several people are on
    call together where an imported calendar has overlapping events (`users:` in YAML)."""

    start: float
    end: float
    user: str
    also: tuple[str, ...] = ()  # further people on call together with `user`

    @property
    def users(self) -> tuple[str, ...]:
        return (self.user, *self.also)


@dataclass(frozen=True)
class BusinessHours:
    start: int = 9 * 3600  # seconds after local midnight
    end: int = 17 * 3600
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays


@dataclass
class Schedule:
    id: str
    name: str
    time_zone: str
    layers: list[Layer]
    overrides: list[Override] = field(default_factory=list)
    mode: Mode = "priority"
    holidays: frozenset[date] = frozenset()
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    require_24x7: bool = False
    source: str = "<schedule>"

    @property
    def tz(self) -> ZoneInfo:
        return timeutil.zone(self.time_zone)

    def users(self) -> list[str]:
        seen: dict[str, None] = {}
        for layer in self.layers:
            for u in layer.users:
                seen.setdefault(u, None)
        for o in self.overrides:
            for u in o.users:
                seen.setdefault(u, None)
        return list(seen)

    def layer_segments(self, t0: float, t1: float) -> dict[str, list[Segment]]:
        """Each layer rendered on its own (PagerDuty's per-layer rendered_schedule_entries)."""
        tz = self.tz
        return {
            layer.name: sweep([Entry(s, e, (u,), 0, layer.name) for s, e, u in layer.entries(t0, t1, tz)])
            for layer in self.layers
        }

    def render(self, t0: float, t1: float) -> list[Segment]:
        """The final schedule over [t0, t1): layers combined by `mode`, overrides on top."""
        tz = self.tz
        entries = []
        for idx, layer in enumerate(self.layers):
            prio = idx if self.mode == "priority" else 0
            for s, e, u in layer.entries(t0, t1, tz):
                entries.append(Entry(s, e, (u,), prio, layer.name))
        if self.mode == "union":
            entries = [Entry(g.start, g.end, g.users, 0, g.source) for g in sweep(entries, "union")]
        for idx, o in enumerate(self.overrides):
            s, e = max(o.start, t0), min(o.end, t1)
            if s < e:
                entries.append(Entry(s, e, o.users, OVERRIDE_PRIORITY + idx, "override"))
        return sweep(entries, "priority")


# ---------------------------------------------------------------------------------------------- loading

SCHEDULE_KEYS = {"id", "name", "description", "time_zone", "mode", "holidays", "business_hours", "require_24x7",
                 "schedule_layers", "layers", "overrides"}
LAYER_KEYS = {"id", "name", "start", "end", "rotation_virtual_start", "rotation_turn_length_seconds",
              "rotation_turn_length", "users", "restrictions"}
RESTRICTION_KEYS = {"type", "start_time_of_day", "duration_seconds", "start_day_of_week"}
OVERRIDE_KEYS = {"id", "start", "end", "user", "users"}


class Ctx:
    """Validation helper: errors point at file:line:col of the offending key or value."""

    def __init__(self, file: str) -> None:
        self.file = file

    def err(self, message: str, node: Any = None, key: str | None = None) -> InputError:
        line, col = 0, 0
        if isinstance(node, PosDict):
            line, col = node.value_loc(key) if key is not None else node.loc
        elif isinstance(node, PosList):
            line, col = node.loc
        return InputError(message, self.file, line, col)

    def mapping(self, node: Any, what: str, allowed: set[str] | None = None, parent: Any = None,
                key: str | None = None) -> PosDict:
        if not isinstance(node, dict):
            raise self.err(f"{what} must be a mapping", parent, key)
        if not isinstance(node, PosDict):
            node = PosDict(node)
        if allowed is not None:
            for k in node:
                if k not in allowed:
                    line, col = node.key_loc(k)
                    raise InputError(f"unknown field {k!r} in {what} (allowed: {', '.join(sorted(allowed))})",
                                     self.file, line, col)
        return node

    def seq(self, d: PosDict, key: str, what: str) -> PosList:
        v = d.get(key)
        if v is None:
            return PosList()
        if not isinstance(v, list):
            raise self.err(f"{what} must be a list", d, key)
        if not isinstance(v, PosList):
            v = PosList(v)
        return v

    def req(self, d: PosDict, key: str, what: str) -> Any:
        if d.get(key) is None:
            raise self.err(f"{what}: missing required field {key!r}", d)
        return d[key]

    def string(self, d: PosDict, key: str, what: str, default: str | None = None) -> str:
        v = d.get(key, default)
        if v is None:
            raise self.err(f"{what}: missing required field {key!r}", d)
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise self.err(f"{what}: {key} must be a string", d, key)
        return str(v)

    def instant(self, d: PosDict, key: str, tz: ZoneInfo, what: str) -> float:
        try:
            return timeutil.to_epoch(d[key], tz)
        except ValueError as exc:
            raise self.err(f"{what}: {key}: {exc}", d, key) from None

    def seconds(self, d: PosDict, key: str, what: str) -> float:
        try:
            return timeutil.parse_seconds(d[key])
        except ValueError as exc:
            raise self.err(f"{what}: {key}: {exc}", d, key) from None


def user_ref(value: Any) -> str | None:
    """A user from a string or a PagerDuty reference ({id}, {user: {id}}, {type: user_reference, id})."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value)
    if isinstance(value, dict):
        if "user" in value:
            return user_ref(value["user"])
        if "id" in value and value.get("type", "user_reference") in ("user", "user_reference"):
            return user_ref(value["id"])
    return None


def _naive_local(value: Any, tz: ZoneInfo) -> datetime:
    """A wall-clock local time for rotation arithmetic (aware inputs are converted to `tz`)."""
    ts = timeutil.to_epoch(value, tz)
    return timeutil.epoch_to_naive_local(ts, tz)


def parse_schedule(doc: Any, file: str = "<schedule>", default_id: str = "schedule") -> Schedule:
    ctx = Ctx(file)
    root = ctx.mapping(doc, "schedule", SCHEDULE_KEYS)
    if "schedule_layers" in root and "layers" in root:
        raise ctx.err("use either schedule_layers or layers, not both", root, "layers")
    tz_name = ctx.string(root, "time_zone", "schedule", "UTC")
    try:
        tz = timeutil.zone(tz_name)
    except ValueError as exc:
        raise ctx.err(str(exc), root, "time_zone") from None
    mode = root.get("mode", "priority")
    if mode not in ("priority", "union"):
        raise ctx.err(f"mode must be 'priority' or 'union', got {mode!r}", root, "mode")
    sid = ctx.string(root, "id", "schedule", default_id)
    name = ctx.string(root, "name", "schedule", sid)
    req24 = root.get("require_24x7", False)
    if not isinstance(req24, bool):
        raise ctx.err("require_24x7 must be true or false", root, "require_24x7")
    layers_key = "layers" if "layers" in root else "schedule_layers"
    layers_raw = ctx.seq(root, layers_key, layers_key)
    layers: list[Layer] = []
    names: set[str] = set()
    for i, raw in enumerate(layers_raw):
        layer = _parse_layer(ctx, ctx.mapping(raw, f"layer {i + 1}", LAYER_KEYS, layers_raw), i, tz)
        if layer.name in names:
            raise ctx.err(f"duplicate layer name {layer.name!r}", raw, "name")
        names.add(layer.name)
        layers.append(layer)
    overrides = []
    ov_raw = ctx.seq(root, "overrides", "overrides")
    for i, raw in enumerate(ov_raw):
        o = ctx.mapping(raw, f"override {i + 1}", OVERRIDE_KEYS, ov_raw)
        what = f"override {i + 1}"
        ctx.req(o, "start", what)
        ctx.req(o, "end", what)
        if o.get("user") is not None and o.get("users") is not None:
            raise ctx.err(f"{what}: give user or users, not both", o, "users")
        raw_users: list[Any]
        if o.get("users") is not None:
            raw_users = ctx.seq(o, "users", f"{what}: users")
            if not raw_users:
                raise ctx.err(f"{what}: users needs at least one person", o, "users")
        else:
            raw_users = [ctx.req(o, "user", what)]
        people: list[str] = []
        for u in raw_users:
            ref = user_ref(u)
            if ref is None:
                raise ctx.err(f"{what}: a user must be a name or a PagerDuty user reference", o,
                              "users" if "users" in o else "user")
            if ref not in people:
                people.append(ref)
        s, e = ctx.instant(o, "start", tz, what), ctx.instant(o, "end", tz, what)
        if e <= s:
            raise ctx.err(f"{what}: end must be after start", o, "end")
        overrides.append(Override(s, e, people[0], tuple(people[1:])))
    holidays = set()
    hol_raw = ctx.seq(root, "holidays", "holidays")
    for i, h in enumerate(hol_raw):
        if isinstance(h, datetime) or not isinstance(h, (date, str)):
            line, col = hol_raw.item_loc(i)
            raise InputError("holidays must be dates like 2026-12-25", file, line, col)
        try:
            holidays.add(h if isinstance(h, date) else date.fromisoformat(h))
        except ValueError:
            line, col = hol_raw.item_loc(i)
            raise InputError(f"not a date: {h!r}", file, line, col) from None
    bh = BusinessHours()
    if root.get("business_hours") is not None:
        b = ctx.mapping(root["business_hours"], "business_hours", {"start", "end", "days"}, root, "business_hours")
        try:
            start = timeutil.parse_time_of_day(b.get("start", "09:00"))
            end = timeutil.parse_time_of_day(b.get("end", "17:00"))
        except ValueError as exc:
            raise ctx.err(f"business_hours: {exc}", b) from None
        days = b.get("days", [1, 2, 3, 4, 5])
        if not isinstance(days, list) or not all(isinstance(x, int) and 1 <= x <= 7 for x in days):
            raise ctx.err("business_hours.days must be ISO weekdays 1 (Monday) .. 7 (Sunday)", b, "days")
        if end <= start:
            raise ctx.err("business_hours.end must be after start (same day)", b, "end")
        bh = BusinessHours(start, end, frozenset(days))
    return Schedule(sid, name, tz_name, layers, overrides, mode, frozenset(holidays), bh, req24, file)


def _parse_layer(ctx: Ctx, d: PosDict, index: int, tz: ZoneInfo) -> Layer:
    name = ctx.string(d, "name", f"layer {index + 1}", f"Layer {index + 1}")
    what = f"layer {name!r}"
    ctx.req(d, "start", what)
    start = ctx.instant(d, "start", tz, what)
    end = ctx.instant(d, "end", tz, what) if d.get("end") is not None else None
    if end is not None and end <= start:
        raise ctx.err(f"{what}: end must be after start", d, "end")
    vs_key = "rotation_virtual_start" if d.get("rotation_virtual_start") is not None else "start"
    try:
        vstart = _naive_local(d[vs_key], tz)
    except ValueError as exc:
        raise ctx.err(f"{what}: {vs_key}: {exc}", d, vs_key) from None
    if d.get("rotation_turn_length_seconds") is not None and d.get("rotation_turn_length") is not None:
        raise ctx.err(f"{what}: give rotation_turn_length_seconds or rotation_turn_length, not both", d,
                      "rotation_turn_length")
    tl_key = "rotation_turn_length_seconds" if d.get("rotation_turn_length_seconds") is not None \
        else "rotation_turn_length"
    ctx.req(d, tl_key, what)
    turn = ctx.seconds(d, tl_key, what)
    if turn != int(turn) or turn < 60 or turn > MAX_TURN_SECONDS:
        raise ctx.err(f"{what}: turn length must be whole seconds between 1m and 366d", d, tl_key)
    users_raw = ctx.seq(d, "users", f"{what}: users")
    users = []
    for i, u in enumerate(users_raw):
        ref = user_ref(u)
        if ref is None:
            line, col = users_raw.item_loc(i)
            raise InputError(f"{what}: user must be a name or a PagerDuty user reference", ctx.file, line, col)
        users.append(ref)
    if not users:
        raise ctx.err(f"{what}: needs at least one user", d, "users" if "users" in d else None)
    restrictions = []
    r_raw = ctx.seq(d, "restrictions", f"{what}: restrictions")
    for i, r in enumerate(r_raw):
        restrictions.append(_parse_restriction(ctx, ctx.mapping(r, f"{what} restriction {i + 1}",
                                                                RESTRICTION_KEYS, r_raw), f"{what} restriction"))
    return Layer(name, start, end, vstart, int(turn), tuple(users), tuple(restrictions))


def _parse_restriction(ctx: Ctx, d: PosDict, what: str) -> Restriction:
    rtype = ctx.req(d, "type", what)
    if rtype not in ("daily_restriction", "weekly_restriction"):
        raise ctx.err(f"{what}: type must be daily_restriction or weekly_restriction", d, "type")
    try:
        tod = timeutil.parse_time_of_day(ctx.req(d, "start_time_of_day", what))
    except ValueError as exc:
        raise ctx.err(f"{what}: start_time_of_day: {exc}", d, "start_time_of_day") from None
    ctx.req(d, "duration_seconds", what)
    dur = ctx.seconds(d, "duration_seconds", what)
    limit = 86400 if rtype == "daily_restriction" else 7 * 86400
    if dur != int(dur) or dur <= 0 or dur > limit:
        raise ctx.err(f"{what}: duration_seconds must be whole seconds in (0, {limit}]", d, "duration_seconds")
    dow = None
    if rtype == "weekly_restriction":
        dow = ctx.req(d, "start_day_of_week", what)
        if isinstance(dow, bool) or not isinstance(dow, int) or not 1 <= dow <= 7:
            raise ctx.err(f"{what}: start_day_of_week must be 1 (Monday) .. 7 (Sunday)", d, "start_day_of_week")
    return Restriction(rtype, tod, int(dur), dow)


def load_schedule(path: str | Path) -> Schedule:
    doc = load_one(path)
    if doc is None:
        raise InputError("empty schedule file", str(path))
    return parse_schedule(doc, str(path), Path(path).stem)


def schedule_to_dict(s: Schedule) -> dict[str, Any]:
    """The YAML form of a schedule (used by the importers)."""
    tz = s.tz
    out: dict[str, Any] = {"id": s.id, "name": s.name, "time_zone": s.time_zone}
    if s.mode != "priority":
        out["mode"] = s.mode
    if s.require_24x7:
        out["require_24x7"] = True
    if s.holidays:
        out["holidays"] = [d.isoformat() for d in sorted(s.holidays)]
    layers = []
    for layer in s.layers:
        ld: dict[str, Any] = {
            "name": layer.name,
            "start": timeutil.iso(layer.start, tz),
            "rotation_virtual_start": layer.rotation_virtual_start.isoformat(),
            "rotation_turn_length_seconds": layer.rotation_turn_length_seconds,
            "users": list(layer.users),
        }
        if layer.end is not None:
            ld["end"] = timeutil.iso(layer.end, tz)
        if layer.restrictions:
            ld["restrictions"] = [r.to_dict() for r in layer.restrictions]
        layers.append(ld)
    out["schedule_layers"] = layers
    if s.overrides:
        out["overrides"] = [{"start": timeutil.iso(o.start, tz), "end": timeutil.iso(o.end, tz),
                             **({"users": list(o.users)} if o.also else {"user": o.user})}
                            for o in s.overrides]
    return out
