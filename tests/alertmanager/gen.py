"""Seeded random Alertmanager configs and label sets for the differential tests and the benchmark."""

from __future__ import annotations

import random
from typing import Any

LABELS = ["severity", "team", "service", "env", "instance", "alertname"]
VALUES = ["critical", "warning", "info", "a", "b", "web-1", "db", "prod", "", "A", "x,y", 'q"t']
REGEXES = ["crit.*", "a|b", "web-[0-9]+", "(?i)PROD", ".*", "", "x,y|db", "[[:alpha:]]+", "w\\w+"]


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def random_route(rng: random.Random, depth: int, receivers: list[str]) -> dict[str, Any]:
    r: dict[str, Any] = {}
    style = rng.random()
    if style < 0.45:
        ms = []
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(LABELS)
            op = rng.choice(["=", "!=", "=~", "!~"])
            val = rng.choice(REGEXES if "~" in op else VALUES)
            ms.append(f"{name}{op}{_quote(val)}")
        if rng.random() < 0.3:
            r["matchers"] = ["{" + ", ".join(ms) + "}"]
        else:
            r["matchers"] = ms
    elif style < 0.7:
        r["match"] = {rng.choice(LABELS): rng.choice(VALUES) for _ in range(rng.randint(1, 2))}
    elif style < 0.9:
        r["match_re"] = {rng.choice(LABELS): rng.choice(REGEXES) for _ in range(rng.randint(1, 2))}
    if rng.random() < 0.6:
        r["receiver"] = rng.choice(receivers)
    if rng.random() < 0.35:
        r["continue"] = True
    if depth > 0 and rng.random() < 0.5:
        r["routes"] = [random_route(rng, depth - 1, receivers) for _ in range(rng.randint(1, 3))]
    return r


def random_config(rng: random.Random) -> dict[str, Any]:
    receivers = [f"r{i}" for i in range(rng.randint(2, 6))]
    root: dict[str, Any] = {"receiver": receivers[0], "group_by": ["alertname"],
                            "routes": [random_route(rng, 3, receivers) for _ in range(rng.randint(1, 4))]}
    return {"route": root, "receivers": [{"name": n} for n in receivers]}


def random_labels(rng: random.Random) -> dict[str, str]:
    return {k: rng.choice([v for v in VALUES if v] + ["crit-x", "web-22", "prod"])
            for k in rng.sample(LABELS, rng.randint(0, len(LABELS)))}
