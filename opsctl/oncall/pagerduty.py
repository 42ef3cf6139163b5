"""Import PagerDuty schedule and escalation-policy JSON (REST API v2 shapes) into opsctl's YAML model.

Layer order: PagerDuty's GET /schedules/{id} lists `schedule_layers` in the opposite order to the
one used when creating them (POST/PUT): the first layer in a GET response is the highest (winning)
one. opsctl lists layers lowest first (the last one wins), so `layer_order="get"` (default) reverses
the list and `layer_order="post"` keeps it (for a POST/PUT payload or a Terraform export).

People are named by user id, or with `names="summary"` by display name; two different ids that share
a display name in one document stay distinct as `NAME (ID)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from opsctl.errors import InputError
from opsctl.yamlutil import read_text

LayerOrder = Literal["get", "post"]
Names = Literal["id", "summary"]


def _load_json(path: str | Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", str(path), exc.lineno, exc.colno) from None


def _user(ref: Any, names: Names, file: str, where: str, shared: frozenset[str] = frozenset()) -> str:
    """A person's name: the user id, or (names="summary") the display name; a display name that
    several ids share (`shared`) gets the id added, so two people never merge into one."""
    if isinstance(ref, dict) and isinstance(ref.get("user"), dict):
        ref = ref["user"]
    if not isinstance(ref, dict) or "id" not in ref:
        raise InputError(f"{where}: expected a user reference with an id", file)
    if names == "summary" and ref.get("summary"):
        summary = str(ref["summary"])
        return f"{summary} ({ref['id']})" if summary in shared else summary
    return str(ref["id"])


def _shared_summaries(data: Any) -> frozenset[str]:
    """Display names that belong to more than one user id anywhere in the document."""
    ids: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = str(node.get("type", ""))
            if kind in ("user", "user_reference") and "id" in node and node.get("summary"):
                ids.setdefault(str(node["summary"]), set()).add(str(node["id"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return frozenset(name for name, owners in ids.items() if len(owners) > 1)


def schedule_from_pagerduty(data: Any, file: str = "<pagerduty>", layer_order: LayerOrder = "get",
                            names: Names = "id") -> dict[str, Any]:
    """An opsctl schedule document (dict) from a PagerDuty schedule object or {"schedule": {...}}."""
    overrides_raw = data.get("overrides") if isinstance(data, dict) else None
    shared = _shared_summaries(data) if names == "summary" else frozenset()
    if isinstance(data, dict) and isinstance(data.get("schedule"), dict):
        data = data["schedule"]
    if not isinstance(data, dict) or not isinstance(data.get("schedule_layers"), list):
        raise InputError("not a PagerDuty schedule: expected an object with schedule_layers", file)
    layers_raw = list(data["schedule_layers"])
    if layer_order == "get":
        layers_raw.reverse()
    layers = []
    for i, lr in enumerate(layers_raw):
        where = f"schedule_layers[{i}]"
        if not isinstance(lr, dict):
            raise InputError(f"{where}: expected an object", file)
        for key in ("start", "rotation_turn_length_seconds", "users"):
            if lr.get(key) is None:
                raise InputError(f"{where}: missing {key}", file)
        layer: dict[str, Any] = {
            "name": str(lr.get("name") or f"Layer {i + 1}"),
            "start": lr["start"],
            "rotation_virtual_start": lr.get("rotation_virtual_start") or lr["start"],
            "rotation_turn_length_seconds": lr["rotation_turn_length_seconds"],
            "users": [_user(u, names, file, f"{where}.users", shared) for u in lr["users"]],
        }
        if lr.get("end"):
            layer["end"] = lr["end"]
        restrictions = []
        raw_restrictions = lr.get("restrictions") or []
        if not isinstance(raw_restrictions, list) or not all(isinstance(r, dict) for r in raw_restrictions):
            raise InputError(f"{where}.restrictions: expected a list of objects", file)
        for r in raw_restrictions:
            rd = {"type": r.get("type"), "start_time_of_day": r.get("start_time_of_day"),
                  "duration_seconds": r.get("duration_seconds")}
            if r.get("type") == "weekly_restriction":
                rd["start_day_of_week"] = r.get("start_day_of_week")
            restrictions.append(rd)
        if restrictions:
            layer["restrictions"] = restrictions
        layers.append(layer)
    out: dict[str, Any] = {
        "id": str(data.get("id") or "pagerduty"),
        "name": str(data.get("name") or data.get("summary") or data.get("id") or "PagerDuty schedule"),
        "time_zone": str(data.get("time_zone") or "UTC"),
        "schedule_layers": layers,
    }
    if isinstance(overrides_raw, list) and overrides_raw:
        out["overrides"] = [{"start": o["start"], "end": o["end"],
                             "user": _user(o.get("user"), names, file, "overrides", shared)}
                            for o in overrides_raw if isinstance(o, dict) and "start" in o and "end" in o]
    return out


def policy_from_pagerduty(data: Any, file: str = "<pagerduty>", names: Names = "id") -> dict[str, Any]:
    """An opsctl escalation policy document from a PagerDuty escalation policy object (rules' round-robin
    assignment kept)."""
    shared = _shared_summaries(data) if names == "summary" else frozenset()
    service = data.get("service") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(data.get("escalation_policy"), dict):
        data = data["escalation_policy"]
    if not isinstance(data, dict) or not isinstance(data.get("escalation_rules"), list):
        raise InputError("not a PagerDuty escalation policy: expected an object with escalation_rules", file)
    rules = []
    for i, rule in enumerate(data["escalation_rules"]):
        if not isinstance(rule, dict):
            raise InputError(f"escalation_rules[{i}]: expected an object", file)
        targets = []
        raw_targets = rule.get("targets") or []
        if not isinstance(raw_targets, list) or not all(isinstance(t, dict) and t.get("id") is not None
                                                        for t in raw_targets):
            raise InputError(f"escalation_rules[{i}]: targets must be a list of references with an id", file)
        for t in raw_targets:
            ttype = str(t.get("type", ""))
            if ttype.startswith("user"):
                targets.append({"type": "user_reference",
                                "id": _user(t, names, file, f"escalation_rules[{i}]", shared)})
            elif ttype.startswith("schedule"):
                targets.append({"type": "schedule_reference", "id": str(t["id"])})
            else:
                raise InputError(f"escalation_rules[{i}]: unsupported target type {ttype!r}", file)
        out_rule: dict[str, Any] = {"escalation_delay_in_minutes": rule.get("escalation_delay_in_minutes", 30),
                                    "targets": targets}
        strategy = rule.get("escalation_rule_assignment_strategy")
        if isinstance(strategy, dict):  # {"type": "round_robin"} (Terraform, newer API) or a plain string
            strategy = strategy.get("type")
        if strategy not in (None, "round_robin", "assign_to_everyone"):
            raise InputError(f"escalation_rules[{i}]: unsupported escalation_rule_assignment_strategy "
                             f"{strategy!r}", file)
        if strategy == "round_robin":
            out_rule["round_robin"] = True
        rules.append(out_rule)
    out: dict[str, Any] = {
        "id": str(data.get("id") or "pagerduty"),
        "name": str(data.get("name") or data.get("summary") or "PagerDuty escalation policy"),
        "num_loops": data.get("num_loops") or 0,  # checked (an integer 0..9) when the policy is read
        "escalation_rules": rules,
    }
    # {"escalation_policy": {...}, "service": {...}}: the service's urgency by support hours comes along
    if isinstance(service, dict) and isinstance(service.get("incident_urgency_rule"), dict):
        rule = service["incident_urgency_rule"]
        out["incident_urgency_rule"] = {k: rule[k] for k in ("type", "urgency", "during_support_hours",
                                                             "outside_support_hours") if rule.get(k) is not None}
        if isinstance(service.get("support_hours"), dict):
            sh = service["support_hours"]
            out["support_hours"] = {k: sh[k] for k in ("type", "time_zone", "days_of_week", "start_time",
                                                       "end_time") if sh.get(k) is not None}
    return out


def load_pagerduty(path: str | Path) -> Any:
    return _load_json(path)
