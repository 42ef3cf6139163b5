"""Small builders shared by the on-call tests."""

from __future__ import annotations

from typing import Any

from opsctl.oncall import timeutil
from opsctl.oncall.policy import Policy, parse_policy
from opsctl.oncall.schedule import Schedule, parse_schedule
from opsctl.yamlutil import loads_documents

BERLIN = timeutil.zone("Europe/Berlin")


def sched(text: str) -> Schedule:
    return parse_schedule(loads_documents(text, "test.yaml")[0], "test.yaml")


def policy(text: str) -> Policy:
    return parse_policy(loads_documents(text, "policy.yaml")[0], "policy.yaml")


def t(text: str, tz: Any = BERLIN) -> float:
    return timeutil.to_epoch(text, tz)


def shifts(s: Schedule, start: str, end: str) -> list[tuple[str, str, tuple[str, ...]]]:
    tz = s.tz
    return [(timeutil.iso(g.start, tz), timeutil.iso(g.end, tz), g.users) for g in s.render(t(start, tz), t(end, tz))]
