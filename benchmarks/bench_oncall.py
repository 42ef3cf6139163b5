"""Benchmark: a year of 10,000 incidents replayed over a 3-layer schedule (target: under 1 s).

Also times rendering a year of the 3-layer schedule and computing the load report.
"""

from __future__ import annotations

import time
from typing import Any

from opsctl.oncall import timeutil
from opsctl.oncall.coverage import load
from opsctl.oncall.drill import generate_incidents, simulate, summarize
from opsctl.oncall.policy import parse_policy
from opsctl.oncall.responders import Distribution, HourRule, ResponderModel, Responders
from opsctl.oncall.schedule import parse_schedule

SCHEDULE = {
    "id": "primary",
    "time_zone": "Europe/Berlin",
    "holidays": ["2026-12-25", "2026-12-26"],
    "schedule_layers": [
        {"name": "weekly", "start": "2026-01-05T09:00:00", "rotation_turn_length_seconds": 604800,
         "users": ["alice", "bob", "carol", "dave", "erin"]},
        {"name": "days", "start": "2026-01-05T09:00:00", "rotation_turn_length_seconds": 86400,
         "users": ["frank", "grace"],
         "restrictions": [{"type": "weekly_restriction", "start_day_of_week": d, "start_time_of_day": "09:00:00",
                           "duration_seconds": 28800} for d in range(1, 6)]},
        {"name": "weekend-nights", "start": "2026-01-03T22:00:00", "rotation_turn_length_seconds": 604800,
         "users": ["heidi", "ivan"],
         "restrictions": [{"type": "weekly_restriction", "start_day_of_week": d, "start_time_of_day": "22:00:00",
                           "duration_seconds": 32400} for d in (5, 6, 7)]},
    ],
    "overrides": [{"start": "2026-03-25T18:00:00", "end": "2026-03-26T09:00:00", "user": "dave"}],
}
POLICY = {
    "id": "payments", "num_loops": 2, "acknowledgement_timeout": "30m",
    "escalation_rules": [
        {"escalation_delay_in_minutes": 5, "targets": [{"type": "schedule_reference", "id": "primary"}]},
        {"escalation_delay_in_minutes": 10, "targets": ["user:manager"]},
        {"escalation_delay_in_minutes": 15, "targets": ["user:vp"]},
    ],
    "response_targets": {"critical": {"ack": "5m", "respond": "15m"}, "warning": {"ack": "15m", "respond": "30m"}},
}


def main() -> dict[str, Any]:
    schedule = parse_schedule(SCHEDULE, "bench")
    policy = parse_policy(POLICY, "bench")
    tz = schedule.tz
    t0 = timeutil.to_epoch("2026-01-01T00:00:00", tz)
    t1 = timeutil.to_epoch("2027-01-01T00:00:00", tz)
    responders = Responders(ResponderModel(
        Distribution("lognormal", 150.0, 0.7), Distribution("exponential", 240.0), 0.05,
        (HourRule(0, 7, Distribution("lognormal", 360.0, 0.7), None, 0.15),),
    ))
    started = time.perf_counter()
    segments = schedule.render(t0, t1)
    render_s = time.perf_counter() - started
    started = time.perf_counter()
    report = load(schedule, t0, t1)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    incidents = generate_incidents(10_000, t0, t1, {"critical": 0.2, "warning": 0.6, "info": 0.2},
                                   Distribution("exponential", 2400.0), seed=42)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    results = simulate(incidents, policy, {"primary": schedule}, responders, tz, seed=42)
    sim_s = time.perf_counter() - started
    summary = summarize(results, policy)
    again = simulate(incidents, policy, {"primary": schedule}, responders, tz, seed=42)
    deterministic = [r.acked_at for r in again] == [r.acked_at for r in results]
    return {
        "benchmark": "bench_oncall",
        "incidents": len(incidents),
        "layers": len(schedule.layers),
        "simulate_seconds": round(sim_s, 4),
        "target_seconds": 1.0,
        "within_target": sim_s < 1.0,
        "generate_seconds": round(generate_s, 4),
        "render_year_seconds": round(render_s, 4),
        "rendered_segments": len(segments),
        "load_year_seconds": round(load_s, 4),
        "balance_score": report.fairness["balance_score"],
        "pages": sum(len(r.pages) for r in results),
        "mtta_seconds": summary["mtta_seconds"],
        "escalated_incidents": summary["escalated_incidents"],
        "deterministic": deterministic,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
