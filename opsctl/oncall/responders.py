"""Responder models for drills: ack/respond delay distributions per person and local hour,
probability of missing a page, and unavailability windows."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from opsctl.errors import InputError
from opsctl.oncall import timeutil
from opsctl.oncall.schedule import Ctx
from opsctl.yamlutil import PosDict

DIST_KEYS = {"distribution", "value", "mean", "median", "sigma", "min", "max", "values"}


@dataclass(frozen=True)
class Distribution:
    """A delay distribution in seconds: fixed, exponential, lognormal, uniform or empirical."""

    kind: str
    a: float = 0.0
    b: float = 0.0
    values: tuple[float, ...] = ()

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        if self.kind == "lognormal":
            return self.a * math.exp(self.b * rng.gauss(0.0, 1.0))
        if self.kind == "uniform":
            return self.a + (self.b - self.a) * rng.random()
        return self.values[int(rng.random() * len(self.values))]

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "fixed":
            return {"distribution": "fixed", "value": self.a}
        if self.kind == "exponential":
            return {"distribution": "exponential", "mean": self.a}
        if self.kind == "lognormal":
            return {"distribution": "lognormal", "median": self.a, "sigma": self.b}
        if self.kind == "uniform":
            return {"distribution": "uniform", "min": self.a, "max": self.b}
        return {"distribution": "empirical", "values": list(self.values)}


def parse_distribution(ctx: Ctx, raw: Any, parent: PosDict, key: str) -> Distribution:
    if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        try:
            return Distribution("fixed", timeutil.parse_seconds(raw))
        except ValueError as exc:
            raise ctx.err(f"{key}: {exc}", parent, key) from None
    d = ctx.mapping(raw, key, DIST_KEYS, parent, key)
    kind = d.get("distribution", "fixed")

    def sec(name: str) -> float:
        if d.get(name) is None:
            raise ctx.err(f"{key}: {kind} distribution needs {name!r}", d)
        v = ctx.seconds(d, name, key)
        if v < 0:
            raise ctx.err(f"{key}: {name} must be >= 0", d, name)
        return v

    if kind == "fixed":
        return Distribution("fixed", sec("value"))
    if kind == "exponential":
        return Distribution("exponential", sec("mean"))
    if kind == "lognormal":
        if d.get("sigma") is None:  # no silent default: the spread matters as much as the median
            raise ctx.err(f"{key}: lognormal distribution needs 'sigma' (the spread of log delay, e.g. 0.6)", d)
        sigma = d["sigma"]
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 10:
            raise ctx.err(f"{key}: sigma must be a number in 0..10", d, "sigma")
        return Distribution("lognormal", sec("median"), float(sigma))
    if kind == "uniform":
        lo, hi = sec("min"), sec("max")
        if hi < lo:
            raise ctx.err(f"{key}: max must be >= min", d, "max")
        return Distribution("uniform", lo, hi)
    if kind == "empirical":
        vals = d.get("values")
        if not isinstance(vals, list) or not vals:
            raise ctx.err(f"{key}: empirical distribution needs a non-empty list 'values'", d)
        try:
            return Distribution("empirical", values=tuple(timeutil.parse_seconds(v) for v in vals))
        except ValueError as exc:
            raise ctx.err(f"{key}: {exc}", d, "values") from None
    raise ctx.err(f"{key}: distribution must be fixed, exponential, lognormal, uniform or empirical", d,
                  "distribution")


@dataclass(frozen=True)
class HourRule:
    """Overrides for local hours in [start, end) (wrapping past midnight when start > end)."""

    start: int
    end: int
    ack_delay: Distribution | None
    respond_delay: Distribution | None
    miss_probability: float | None

    def matches(self, hour: int) -> bool:
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


@dataclass
class ResponderModel:
    ack_delay: Distribution = field(default_factory=lambda: Distribution("lognormal", 120.0, 0.6))
    respond_delay: Distribution = field(default_factory=lambda: Distribution("exponential", 180.0))
    miss_probability: float = 0.0
    by_hour: tuple[HourRule, ...] = ()
    unavailable: tuple[tuple[float, float], ...] = ()

    def available(self, ts: float) -> bool:
        return not any(s <= ts < e for s, e in self.unavailable)

    def _rule(self, hour: int) -> HourRule | None:
        for r in self.by_hour:
            if r.matches(hour):
                return r
        return None

    def ack(self, ts: float, hour: int, rng: random.Random) -> float | None:
        """Seconds until this person acknowledges a page sent at `ts` (local hour `hour`), or None."""
        if self.unavailable and not self.available(ts):
            return None
        rule = self._rule(hour) if self.by_hour else None
        miss = rule.miss_probability if rule is not None and rule.miss_probability is not None \
            else self.miss_probability
        if miss > 0 and rng.random() < miss:
            return None
        dist = rule.ack_delay if rule is not None and rule.ack_delay is not None else self.ack_delay
        return dist.sample(rng)

    def respond(self, hour: int, rng: random.Random) -> float:
        rule = self._rule(hour) if self.by_hour else None
        dist = rule.respond_delay if rule is not None and rule.respond_delay is not None else self.respond_delay
        return dist.sample(rng)


class Responders:
    """Responder models by person, with a `default` for everyone not listed."""

    def __init__(self, default: ResponderModel | None = None,
                 people: dict[str, ResponderModel] | None = None) -> None:
        self.default = default or ResponderModel()
        self.people = people or {}

    def get(self, user: str) -> ResponderModel:
        return self.people.get(user, self.default)


MODEL_KEYS = {"ack_delay", "respond_delay", "miss_probability", "by_hour", "unavailable"}


def _prob(ctx: Ctx, d: PosDict, key: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        raise ctx.err(f"{key} must be a number in [0, 1]", d, key)
    return float(v)


def parse_model(ctx: Ctx, raw: Any, name: str, tz: ZoneInfo, base: ResponderModel,
                parent: PosDict) -> ResponderModel:
    d = ctx.mapping(raw, f"responder {name!r}", MODEL_KEYS, parent, name)
    m = ResponderModel(base.ack_delay, base.respond_delay, base.miss_probability, base.by_hour, ())
    if d.get("ack_delay") is not None:
        m.ack_delay = parse_distribution(ctx, d["ack_delay"], d, "ack_delay")
    if d.get("respond_delay") is not None:
        m.respond_delay = parse_distribution(ctx, d["respond_delay"], d, "respond_delay")
    if d.get("miss_probability") is not None:
        m.miss_probability = _prob(ctx, d, "miss_probability")
    if d.get("by_hour") is not None:
        rules = []
        for i, r in enumerate(ctx.seq(d, "by_hour", "by_hour")):
            rd = ctx.mapping(r, f"by_hour {i + 1}", {"hours", "ack_delay", "respond_delay", "miss_probability"},
                             d, "by_hour")
            hours = rd.get("hours")
            if not (isinstance(hours, list) and len(hours) == 2
                    and all(isinstance(h, int) and not isinstance(h, bool) and 0 <= h <= 24 for h in hours)):
                raise ctx.err("by_hour.hours must be [START, END] local hours, e.g. [22, 7]", rd, "hours")
            rules.append(HourRule(
                hours[0] % 24, hours[1] % 24 if hours[1] != 24 else 24,
                parse_distribution(ctx, rd["ack_delay"], rd, "ack_delay") if rd.get("ack_delay") is not None
                else None,
                parse_distribution(ctx, rd["respond_delay"], rd, "respond_delay")
                if rd.get("respond_delay") is not None else None,
                _prob(ctx, rd, "miss_probability") if rd.get("miss_probability") is not None else None,
            ))
        m.by_hour = tuple(rules)
    if d.get("unavailable") is not None:
        spans = []
        for i, u in enumerate(ctx.seq(d, "unavailable", "unavailable")):
            ud = ctx.mapping(u, f"unavailable {i + 1}", {"start", "end"}, d, "unavailable")
            ctx.req(ud, "start", "unavailable")
            ctx.req(ud, "end", "unavailable")
            s, e = ctx.instant(ud, "start", tz, "unavailable"), ctx.instant(ud, "end", tz, "unavailable")
            if e <= s:
                raise ctx.err("unavailable: end must be after start", ud, "end")
            spans.append((s, e))
        m.unavailable = tuple(spans)
    return m


def parse_responders(ctx: Ctx, raw: Any, tz: ZoneInfo, parent: PosDict) -> Responders:
    d = ctx.mapping(raw, "responders", None, parent, "responders")
    default = ResponderModel()
    if d.get("default") is not None:
        default = parse_model(ctx, d["default"], "default", tz, default, d)
    people = {}
    for name, val in d.items():
        if name == "default":
            continue
        if val is None:
            raise InputError(f"responder {name!r} has no model", ctx.file, *d.key_loc(name))
        people[str(name)] = parse_model(ctx, val, str(name), tz, default, d)
    return Responders(default, people)
