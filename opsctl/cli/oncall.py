"""`opsctl oncall` (schedules: who, show, gaps, load, iCal/PagerDuty import/export) and
`opsctl drill` (replay incidents against schedules and an escalation policy; post-incident documents)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer
import yaml

from opsctl.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    FORMAT_OPTION,
    JSON_SCHEMA_VERSION,
    Format,
    console,
    emit_json,
    plain_stdout,
)
from opsctl.errors import InputError

# ical (icalendar, dateutil), pagerduty, drill and postmortem are imported by the commands that use them:
# `oncall who` does not pay for them.
from opsctl.oncall import coverage, timeutil
from opsctl.oncall.fileio import atomic_write
from opsctl.oncall.intervals import Segment
from opsctl.oncall.policy import Policy, load_policy, parse_policy, policy_to_dict
from opsctl.oncall.schedule import Schedule, load_schedule, parse_schedule, schedule_to_dict
from opsctl.yamlutil import load_one

if TYPE_CHECKING:
    from opsctl.oncall import drill

app = typer.Typer(help="On-call schedules: who is on call, rendered shifts, gaps, load; iCal and PagerDuty "
                       "import/export.", no_args_is_help=True)
drill_app = typer.Typer(help="Replay incidents against schedules and an escalation policy; post-incident "
                             "documents.", no_args_is_help=True)

SCHEDULE_OPT = typer.Option(..., "--schedule", help="Schedule YAML (repeatable; id = its `id` or file stem).")
POLICY_OPT = typer.Option(None, "--policy", help="Escalation policy YAML.")
FROM_OPT = typer.Option(None, "--from", help="Start (ISO 8601; naive = schedule time zone; `now`). Default: now.")
TO_OPT = typer.Option(None, "--to", help="End (ISO 8601, `now+14d`). Default: --from plus --days.")
DAYS_OPT = typer.Option(14.0, "--days", help="Calendar days (schedule's zone) when --to is not given.")
CLI = "<command line>"


def _schedules(paths: list[Path]) -> dict[str, Schedule]:
    out: dict[str, Schedule] = {}
    for p in paths:
        s = load_schedule(p)
        if s.id in out:
            raise InputError(f"two schedules with id {s.id!r} ({out[s.id].source} and {p})", str(p))
        out[s.id] = s
    return out


def _instant(text: str | None, tz: ZoneInfo, option: str, default: float) -> float:
    """A command-line time by the one parser (opsctl.timeparse); a naive time is in the schedule's zone."""
    if text is None:
        return default
    from opsctl.timeparse import parse_time

    return parse_time(text, what=option, tz=tz)


def _window(frm: str | None, to: str | None, days: float, tz: ZoneInfo) -> tuple[float, float]:
    now = timeutil.to_epoch("now", tz)
    t0 = _instant(frm, tz, "--from", now)
    t1 = _instant(to, tz, "--to", timeutil.add_days(t0, days, tz))
    if t1 <= t0:
        raise InputError("--to must be after --from", CLI)
    if t1 - t0 > 3 * 366 * 86400.0:
        raise InputError("window longer than 3 years; narrow --from/--to", CLI)
    return t0, t1


def _seg(seg: Segment, tz: ZoneInfo) -> dict[str, Any]:
    return {"start": timeutil.iso(seg.start, tz), "end": timeutil.iso(seg.end, tz), "users": list(seg.users),
            "source": seg.source, "hours": round(seg.hours, 3)}


def _out(*parts: str) -> None:
    if plain_stdout():  # a pipe or a file: the text as is, without loading rich's console (`oncall who` start-up)
        sys.stdout.write(" ".join(parts) + "\n")
        return
    console().print(*parts, markup=False, highlight=False)


def _first(schedules: dict[str, Schedule]) -> Schedule:
    return next(iter(schedules.values()))


# --------------------------------------------------------------------------------------------- oncall


@app.command()
def who(
    schedule: list[Path] = SCHEDULE_OPT,
    policy: Path | None = POLICY_OPT,
    at: str | None = typer.Option(None, "--at", help="Instant (ISO 8601; naive = schedule time zone). Default: now."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Who is on call at an instant (each schedule, each layer; each policy level with --policy)."""
    scheds = _schedules(schedule)
    tz = _first(scheds).tz
    ts = _instant(at, tz, "--at", timeutil.to_epoch("now", tz))
    result: dict[str, Any] = {"schema_version": JSON_SCHEMA_VERSION, "at": timeutil.iso(ts, tz), "schedules": {}}
    for sid, s in scheds.items():
        result["schedules"][sid] = coverage.who(s, ts)
    if policy is not None:
        pol = load_policy(policy)
        result["policy"] = {"id": pol.id, "levels": coverage.policy_levels_at(pol, scheds, ts)}
    if fmt == Format.json:
        emit_json(result)
        return
    _out(f"at {result['at']}")
    for sid, w in result["schedules"].items():
        names = ", ".join(w["users"]) or "NOBODY"
        _out(f"{sid}: {names}" + (" (override)" if w["override"] else ""))
        for lname, lusers in w["layers"].items():
            _out(f"  layer {lname}: {', '.join(lusers) or '-'}")
    if "policy" in result:
        for lv in result["policy"]["levels"]:
            _out(f"level {lv['level']}: {', '.join(lv['users']) or 'NOBODY'}"
                 + (" (round robin: one target per incident)" if lv["round_robin"] else "")
                 + (f"; notifies {', '.join(lv['notifies'])}" if lv["notifies"] else "")
                 + f"  ({', '.join(lv['targets'])})")


@app.command()
def show(
    schedule: Path = typer.Option(..., "--schedule", help="Schedule YAML."),
    frm: str | None = FROM_OPT,
    to: str | None = TO_OPT,
    days: float = DAYS_OPT,
    layers: bool = typer.Option(False, "--layers", help="Also show each layer's own rendering."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Rendered shifts (the final schedule) between --from and --to."""
    s = load_schedule(schedule)
    tz = s.tz
    t0, t1 = _window(frm, to, days, tz)
    final = s.render(t0, t1)
    doc: dict[str, Any] = {"schema_version": JSON_SCHEMA_VERSION, "schedule": s.id, "time_zone": s.time_zone,
                           "from": timeutil.iso(t0, tz), "to": timeutil.iso(t1, tz),
                           "shifts": [_seg(g, tz) for g in final]}
    if layers:
        doc["layers"] = {n: [_seg(g, tz) for g in segs] for n, segs in s.layer_segments(t0, t1).items()}
    if fmt == Format.json:
        emit_json(doc)
        return
    _out(f"{s.name} ({s.time_zone}) {doc['from']} .. {doc['to']}")
    for sh in doc["shifts"]:
        _out(f"{sh['start']}  {sh['end']}  {sh['hours']:>8.2f} h  {', '.join(sh['users'])}  [{sh['source']}]")
    for n, segs in doc.get("layers", {}).items():
        _out(f"layer {n}:")
        for sh in segs:
            _out(f"  {sh['start']}  {sh['end']}  {', '.join(sh['users'])}")


@app.command()
def gaps(
    schedule: list[Path] = SCHEDULE_OPT,
    policy: Path | None = POLICY_OPT,
    frm: str | None = FROM_OPT,
    to: str | None = TO_OPT,
    days: float = typer.Option(28.0, "--days", help="Calendar days (schedule's zone) when --to is not given."),
    require_24x7: bool = typer.Option(False, "--require-24x7", help="Exit 1 on any gap (also set by "
                                      "require_24x7: true in a schedule or policy)."),
    level: list[int] = typer.Option([], "--level", help="With --policy: only check these levels (repeatable)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Times with nobody on call, per schedule or per policy level; exit 1 if 24/7 is required and broken."""
    scheds = _schedules(schedule)
    tz = _first(scheds).tz
    t0, t1 = _window(frm, to, days, tz)
    required = require_24x7 or any(s.require_24x7 for s in scheds.values())
    groups: list[tuple[str, list[tuple[float, float]]]] = []
    if policy is not None:
        pol = load_policy(policy)
        pol.check_schedules(scheds)
        required = required or pol.require_24x7
        for n in level:
            if not 1 <= n <= len(pol.levels):
                raise InputError(f"--level {n}: the policy has levels 1..{len(pol.levels)}", CLI)
        groups = coverage.level_gaps(pol, scheds, t0, t1, level)
    else:
        groups = coverage.schedule_gaps(scheds, t0, t1)
    broken = any(g for _, g in groups)
    doc: dict[str, Any] = {
        "schema_version": JSON_SCHEMA_VERSION, "from": timeutil.iso(t0, tz), "to": timeutil.iso(t1, tz),
        "required_24x7": required, "coverage_broken": broken,
        "groups": [{"name": n, "gap_hours": round(sum(e - s for s, e in g) / 3600.0, 3),
                    "gaps": [{"start": timeutil.iso(s, tz), "end": timeutil.iso(e, tz),
                              "hours": round((e - s) / 3600.0, 3)} for s, e in g]} for n, g in groups],
    }
    if fmt == Format.json:
        emit_json(doc)
    else:
        for grp in doc["groups"]:
            if not grp["gaps"]:
                _out(f"{grp['name']}: covered {doc['from']} .. {doc['to']}")
                continue
            _out(f"{grp['name']}: {len(grp['gaps'])} gap(s), {grp['gap_hours']} h uncovered")
            for g in grp["gaps"]:
                _out(f"  {g['start']} .. {g['end']}  ({g['hours']} h)")
        if required and broken:
            _out("24/7 coverage is required and broken")
    raise typer.Exit(EXIT_FINDINGS if required and broken else EXIT_OK)


@app.command()
def load(
    schedule: Path = typer.Option(..., "--schedule", help="Schedule YAML."),
    frm: str | None = FROM_OPT,
    to: str | None = TO_OPT,
    days: float = typer.Option(28.0, "--days", help="Calendar days (schedule's zone) when --to is not given."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Hours per person (business / off-hours / weekend / holiday), longest streak, shortest rest, fairness."""
    s = load_schedule(schedule)
    tz = s.tz
    t0, t1 = _window(frm, to, days, tz)
    res = coverage.load(s, t0, t1)
    people = [p.to_dict() for p in res.people]
    doc = {"schema_version": JSON_SCHEMA_VERSION, "schedule": s.id, "from": timeutil.iso(t0, tz),
           "to": timeutil.iso(t1, tz), "people": people, "fairness": res.fairness}
    if fmt == Format.json:
        emit_json(doc)
        return
    _out(f"{s.name} {doc['from']} .. {doc['to']}")
    _out(f"{'person':<16}{'total':>9}{'business':>10}{'off-hrs':>9}{'weekend':>9}{'holiday':>9}"
         f"{'shifts':>8}{'streak':>9}{'min rest':>10}")
    for p in people:
        rest = "-" if p["shortest_rest_hours"] is None else f"{p['shortest_rest_hours']:.1f}"
        _out(f"{p['user']:<16}{p['total_hours']:>9.1f}{p['business_hours']:>10.1f}{p['off_hours']:>9.1f}"
             f"{p['weekend_hours']:>9.1f}{p['holiday_hours']:>9.1f}{p['shifts']:>8}"
             f"{p['longest_streak_hours']:>9.1f}{rest:>10}")
    f = res.fairness
    _out(f"balance score {f['balance_score']} (1 = equal hours), off-hours balance {f['off_hours_balance_score']}")


@app.command("export-ical")
def export_ical_cmd(
    schedule: Path = typer.Option(..., "--schedule", help="Schedule YAML."),
    frm: str | None = FROM_OPT,
    to: str | None = TO_OPT,
    days: float = typer.Option(28.0, "--days", help="Calendar days (schedule's zone) when --to is not given."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the .ics here (default: stdout)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Export the rendered final schedule as an iCalendar file (one VEVENT per person per shift).

    With `--format json` the shifts are printed as JSON instead (the .ics is still written with -o)."""
    s = load_schedule(schedule)
    t0, t1 = _window(frm, to, days, s.tz)
    segments = s.render(t0, t1)
    from opsctl.oncall import ical

    data = ical.export_ical(s, segments)
    if fmt == Format.json:
        if output is not None:
            atomic_write(output, data)
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "schedule": s.id, "output": str(output) if output else None,
                   "events": [{"start": timeutil.iso(seg.start, s.tz), "end": timeutil.iso(seg.end, s.tz),
                               "users": list(seg.users)}
                              for seg in segments if seg.users]})
        return
    if output is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        atomic_write(output, data)


def _dump_yaml(doc: dict[str, Any], output: Path | None, fmt: Format = Format.text, kind: str = "schedule") -> None:
    """Write the converted document as YAML (-o or stdout); with --format json, print it as JSON too."""
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if fmt == Format.json:
        if output is not None:
            atomic_write(output, text)
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "kind": kind, "output": str(output) if output else None,
                   "document": doc})
        return
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write(output, text)


@app.command("import-pagerduty")
def import_pagerduty(
    file: Path = typer.Argument(..., help="PagerDuty schedule or escalation policy JSON (REST API v2)."),
    layer_order: str = typer.Option("get", "--layer-order", help="get: first layer in the JSON is the highest "
                                    "(GET response); post: last is the highest (POST/PUT payload)."),
    names: str = typer.Option("id", "--names", help="Name people by PagerDuty user `id` or `summary`."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write YAML here (default: stdout)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Convert a PagerDuty schedule or escalation policy to opsctl YAML (validated before writing)."""
    if layer_order not in ("get", "post"):
        raise InputError("--layer-order must be get or post", CLI)
    if names not in ("id", "summary"):
        raise InputError("--names must be id or summary", CLI)
    from opsctl.oncall import pagerduty

    data = pagerduty.load_pagerduty(file)
    is_policy = isinstance(data, dict) and ("escalation_policy" in data or "escalation_rules" in data)
    doc: dict[str, Any]
    if is_policy:
        doc = pagerduty.policy_from_pagerduty(data, str(file), names)  # type: ignore[arg-type]
        parse_policy(doc, str(file))
    else:
        doc = pagerduty.schedule_from_pagerduty(data, str(file), layer_order, names)  # type: ignore[arg-type]
        doc = schedule_to_dict(parse_schedule(doc, str(file)))
    _dump_yaml(doc, output, fmt, "policy" if is_policy else "schedule")


@app.command("import-ical")
def import_ical_cmd(
    file: Path = typer.Argument(..., help="iCalendar (.ics) file: a VEVENT per on-call shift, or recurring ones."),
    schedule: Path | None = typer.Option(None, "--schedule", help="Add the events as overrides to this "
                                         "schedule (default: a new schedule with only those overrides)."),
    time_zone: str = typer.Option("UTC", "--time-zone", help="Zone for a new schedule and floating times."),
    frm: str | None = typer.Option(None, "--from", help="Expand recurring events (RRULE/RDATE) from here (ISO 8601; "
                                   "naive = schedule time zone; `now`). Default: now."),
    to: str | None = typer.Option(None, "--to", help="... up to here (ISO 8601, `now+90d`). Default: --from + --days."),
    days: float = typer.Option(90.0, "--days", help="Expansion window length when --to is not given."),
    overlap: str = typer.Option("together", "--overlap", help="Overlapping events: together (their people are on "
                                "call together) or latest (the later event replaces the earlier one)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write YAML here (default: stdout)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Import VEVENTs as overrides (an override layer above every rotation); recurring events are expanded
    into the instances that overlap --from .. --to."""
    from opsctl.yamlutil import read_text

    if overlap not in ("together", "latest"):
        raise InputError("--overlap must be together or latest", CLI)
    if schedule is not None:
        base = load_schedule(schedule)
    else:
        try:
            timeutil.zone(time_zone)
        except ValueError as exc:
            raise InputError(f"--time-zone: {exc}", CLI) from None
        base = Schedule(file.stem, file.stem, time_zone, [])
    t0, t1 = _window(frm, to, days, base.tz)
    text = read_text(file)
    from opsctl.oncall import ical

    base.overrides = [*base.overrides, *ical.import_ical(text, base.tz, str(file), t0, t1,
                                                                    overlap)]  # type: ignore[arg-type]
    _dump_yaml(schedule_to_dict(base), output, fmt)


@app.command()
def validate(
    schedule: list[Path] = SCHEDULE_OPT,
    policy: Path | None = POLICY_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Check schedule and policy files (and the policy's schedule references). Errors exit 2."""
    scheds = _schedules(schedule)
    pol = load_policy(policy) if policy is not None else None
    if pol is not None:
        pol.check_schedules(scheds)
    doc = {"schema_version": JSON_SCHEMA_VERSION, "valid": True, "schedules": sorted(scheds),
           "policy": pol.id if pol else None}
    if fmt == Format.json:
        emit_json(doc)
    else:
        _out(f"ok: {len(scheds)} schedule(s)" + (f", policy {pol.id}" if pol else ""))


# ---------------------------------------------------------------------------------------------- drill


def _incidents_and_responders(scenario: Path | None, history: Path | None, tz: ZoneInfo,
                              seed: int) -> tuple[list[drill.Incident], drill.Responders, ZoneInfo, str]:
    from opsctl.oncall import drill

    incidents: list[drill.Incident] = []
    responders = drill.Responders()
    source = []
    if scenario is not None:
        sc = drill.load_scenario(scenario, tz, seed)
        incidents += sc.incidents
        responders = sc.responders
        tz = sc.tz
        source.append(f"scenario {scenario}")
    if history is not None:
        incidents += drill.load_history(history)
        source.append(f"alert history {history}")
    if scenario is None and history is None:
        raise InputError("give --scenario and/or --history", CLI)
    incidents.sort(key=lambda i: i.at)
    return incidents, responders, tz, ", ".join(source)


def _run(schedule: list[Path], policy: Path, scenario: Path | None, history: Path | None, seed: int,
         max_miss_rate: float, show_progress: bool = False) -> tuple[dict[str, Any], Policy, ZoneInfo]:
    scheds = _schedules(schedule)
    pol = load_policy(policy)
    tz = _first(scheds).tz
    incidents, responders, tz, source = _incidents_and_responders(scenario, history, tz, seed)
    from opsctl.cli.progress import progress_bar
    from opsctl.oncall import drill

    with progress_bar("drill", len(incidents), enabled=show_progress) as step:
        results = drill.simulate(incidents, pol, scheds, responders, tz, seed, progress=step)
    doc = {
        "schema_version": JSON_SCHEMA_VERSION,
        "source": source,
        "seed": seed,
        "policy": pol.id,
        "schedules": sorted(scheds),
        "time_zone": str(tz.key),
        "summary": drill.summarize(results, pol, max_miss_rate),
        "incidents": [drill.result_to_dict(r, tz) for r in results],
    }
    return doc, pol, tz


@drill_app.command("run")
def run_cmd(
    schedule: list[Path] = SCHEDULE_OPT,
    policy: Path = typer.Option(..., "--policy", help="Escalation policy YAML."),
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario YAML: responders, incidents, generate."),
    history: Path | None = typer.Option(None, "--history", help="Alert history JSON (Alertmanager alerts)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same result)."),
    max_miss_rate: float = typer.Option(0.0, "--max-miss-rate", min=0.0, max=1.0,
                                        help="Pass while at most this share of incidents miss a target."),
    timeline: bool = typer.Option(True, "--timeline/--no-timeline", help="Print each incident's timeline."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write the JSON result here."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Replay incidents against the schedules and policy; exit 1 when the verdict is fail."""
    from opsctl.cli.progress import wanted

    doc, _pol, _tz = _run(schedule, policy, scenario, history, seed, max_miss_rate,
                          show_progress=wanted(machine_output=fmt == Format.json))
    if output is not None:
        atomic_write(output, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    s = doc["summary"]
    if fmt == Format.json:
        emit_json(doc)
    else:
        if timeline:
            for inc in doc["incidents"]:
                _out(f"{inc['id']} {inc['severity']} {inc['title']}"
                     + (f"  MISSED {', '.join(inc['missed'])}" if inc["missed"] else ""))
                for e in inc["timeline"]:
                    _out(f"  {e['at']}  {e['event']:<13} {e['detail']}")
        mtta = "n/a" if s["mtta_seconds"] is None else f"{s['mtta_seconds']:.1f}s"
        _out(f"incidents {s['incidents']}, acknowledged {s['acknowledged']}, unacknowledged "
             f"{s['unacknowledged']}, auto-resolved before ack {s['auto_resolved_before_ack']}")
        _out(f"MTTA {mtta}; escalated {s['escalated_incidents']}; incidents reaching level "
             + ", ".join(f"{k}: {v}" for k, v in s["incidents_reaching_level"].items())
             + "; escalations to level "
             + (", ".join(f"{k}: {v}" for k, v in s["escalations_to_level"].items()) or "none"))
        for u, p in s["pages_per_person"].items():
            _out(f"  {u}: {p['pages']} page(s), {p['night_pages']} at night")
        for target, n in s["notifications_per_target"].items():
            _out(f"  {target}: {n} notification(s)")
        for sev, b in s["by_severity"].items():
            _out(f"  {sev}: {b['incidents']} incident(s), missed ack {b['missed_ack']}, missed respond "
                 f"{b['missed_respond']}")
        _out(f"verdict: {s['verdict'].upper()} (miss rate {s['miss_rate']:.4f}, allowed {max_miss_rate})")
    raise typer.Exit(EXIT_OK if s["verdict"] == "pass" else EXIT_FINDINGS)


@drill_app.command("postmortem")
def postmortem_cmd(
    incident: str = typer.Argument(..., help="Incident id (as in the drill result or alert history)."),
    drill_file: Path | None = typer.Option(None, "--drill", help="A drill result (drill run --format json / -o)."),
    schedule: list[Path] = typer.Option([], "--schedule", help="With --history/--scenario: schedules."),
    policy: Path | None = POLICY_OPT,
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario YAML (responder models, incidents)."),
    history: Path | None = typer.Option(None, "--history", help="Alert history JSON."),
    seed: int = typer.Option(0, "--seed", help="Random seed for the replay."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the document here (default: stdout)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Write a post-incident document (summary, impact, timeline, actions) for one incident."""
    targets: dict[str, Any] | None
    if drill_file is not None:
        doc = load_one(drill_file) if drill_file.suffix in (".yaml", ".yml") else _read_json(drill_file)
        if not isinstance(doc, dict) or not isinstance(doc.get("incidents"), list):
            raise InputError("not a drill result (expected the JSON of `opsctl drill run`)", str(drill_file))
        source = f"drill result {drill_file} (seed {doc.get('seed')}, {doc.get('source')})"
        all_targets = doc.get("summary", {}).get("targets", {})
    else:
        if policy is None or not schedule:
            raise InputError("give --drill, or --schedule/--policy with --history and/or --scenario", CLI)
        doc, pol, _tz = _run(schedule, policy, scenario, history, seed, 0.0)
        source = f"replay of {doc['source']} against policy {pol.id} (seed {seed}; simulated responders)"
        all_targets = doc["summary"]["targets"]
    found = [i for i in doc["incidents"] if str(i.get("id")) == incident]
    if not found:
        known = ", ".join(str(i.get("id")) for i in doc["incidents"][:10])
        raise InputError(f"no incident {incident!r} (known: {known}{', ...' if len(doc['incidents']) > 10 else ''})",
                         str(drill_file or history or scenario))
    inc = found[0]
    targets = all_targets.get(inc["severity"])
    from opsctl.oncall import postmortem

    text = postmortem.render_markdown(inc, source, targets)
    if fmt == Format.json:
        payload = {"schema_version": JSON_SCHEMA_VERSION, "incident": inc, "source": source,
                   "actions": postmortem.actions(inc, targets), "markdown": text}
        if output is not None:
            atomic_write(output, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        else:
            emit_json(payload)
        return
    if output is not None:
        atomic_write(output, text)
    else:
        typer.echo(text, nl=False)


def _read_json(path: Path) -> Any:
    from opsctl.yamlutil import read_text

    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", str(path), exc.lineno, exc.colno) from None


__all__ = ["app", "drill_app", "policy_to_dict"]
