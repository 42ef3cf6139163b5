"""The `opsctl oncall` and `opsctl drill` commands end to end (subprocess, like a user runs them)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_opsctl

EX = Path(__file__).resolve().parents[2] / "examples" / "oncall"
S1, S2, POL, SCN, HIST = (str(EX / n) for n in ("primary.yaml", "secondary.yaml", "policy.yaml", "scenario.yaml",
                                                 "alerts.json"))


def test_who_json_with_policy_levels() -> None:
    # Wed 2026-03-25 20:00 Berlin: override dave on primary; secondary (08-20 only) has nobody.
    p = run_opsctl("oncall", "who", "--schedule", S1, "--schedule", S2, "--policy", POL, "--at",
                   "2026-03-25T20:00:00", "-f", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema_version"] == 1 and doc["at"] == "2026-03-25T20:00:00+01:00"
    assert doc["schedules"]["primary"]["users"] == ["dave"] and doc["schedules"]["primary"]["override"] is True
    assert [lv["users"] for lv in doc["policy"]["levels"]] == [["dave"], [], ["vp-engineering"]]


def test_show_and_gaps_and_load() -> None:
    p = run_opsctl("oncall", "show", "--schedule", S1, "--from", "2026-03-23", "--to", "2026-03-24", "-f", "json")
    assert p.returncode == 0, p.stderr
    shifts = json.loads(p.stdout)["shifts"]
    # Mon 2026-03-23: weekend-nights turn since Sat 03-21 22:00 is number 11 since 2026-01-03 -> heidi until
    # 07:00; weekly turn 10 since 2026-01-05 -> carol until the 09:00 hand-off, then turn 11 -> dave;
    # daytime layer day 77 -> frank 09-17.
    assert [(s["start"][11:16], s["end"][11:16], s["users"]) for s in shifts] == [
        ("00:00", "07:00", ["heidi"]), ("07:00", "09:00", ["carol"]), ("09:00", "17:00", ["frank"]),
        ("17:00", "00:00", ["dave"])]
    # primary alone is 24/7: exit 0; with the policy, level 2 (secondary, 08-20) has gaps and the
    # primary requires 24/7: exit 1
    ok = run_opsctl("oncall", "gaps", "--schedule", S1, "--from", "2026-03-01", "--to", "2026-04-01", "-f", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["coverage_broken"] is False
    bad = run_opsctl("oncall", "gaps", "--schedule", S1, "--schedule", S2, "--policy", POL, "--from",
                     "2026-03-23", "--to", "2026-03-24")
    assert bad.returncode == 1
    assert "level 2: 2 gap(s), 12.0 h uncovered" in bad.stdout
    only1 = run_opsctl("oncall", "gaps", "--schedule", S1, "--schedule", S2, "--policy", POL, "--level", "1",
                       "--from", "2026-03-23",
                       "--to", "2026-03-24", "-f", "json")
    assert only1.returncode == 0 and [g["name"] for g in json.loads(only1.stdout)["groups"]] == ["level 1"]
    ld = run_opsctl("oncall", "load", "--schedule", S1, "--from", "2026-03-01", "--to", "2026-04-01", "-f", "json")
    assert ld.returncode == 0, ld.stderr
    doc = json.loads(ld.stdout)
    # March 2026 in Berlin has 743 hours (the DST day has 23): every hour is someone's.
    assert round(sum(p["total_hours"] for p in doc["people"]), 6) == 743
    assert set(doc["fairness"]) == {"balance_score", "off_hours_balance_score", "max_over_mean"}


def test_ical_export_then_import(tmp_path: Path) -> None:
    ics = tmp_path / "oncall.ics"
    p = run_opsctl("oncall", "export-ical", "--schedule", S1, "--from", "2026-03-23", "--to", "2026-03-30",
                   "-o", str(ics))
    assert p.returncode == 0, p.stderr
    out = tmp_path / "imported.yaml"
    p = run_opsctl("oncall", "import-ical", str(ics), "--time-zone", "Europe/Berlin", "-o", str(out))
    assert p.returncode == 0, p.stderr
    a = run_opsctl("oncall", "who", "--schedule", str(out), "--at", "2026-03-25T20:00:00", "-f", "json")
    assert json.loads(a.stdout)["schedules"]["oncall"]["users"] == ["dave"]  # id = .ics file stem


def test_drill_run_is_deterministic_and_feeds_postmortem(tmp_path: Path) -> None:
    result = tmp_path / "drill.json"
    args = ["drill", "run", "--schedule", S1, "--schedule", S2, "--policy", POL, "--scenario", SCN, "--seed",
            "7", "-f", "json"]
    a = run_opsctl(*args, "-o", str(result))
    b = run_opsctl(*args)
    assert a.returncode in (0, 1), a.stderr
    assert a.stdout == b.stdout
    doc = json.loads(a.stdout)
    s = doc["summary"]
    assert a.returncode == (0 if s["verdict"] == "pass" else 1)
    assert s["incidents"] == 43 and doc["schema_version"] == 1
    assert sum(v["pages"] for v in s["pages_per_person"].values()) == sum(len(i["pages"]) for i in doc["incidents"])
    md = tmp_path / "INC-1.md"
    p = run_opsctl("drill", "postmortem", "INC-1", "--drill", str(result), "-o", str(md))
    assert p.returncode == 0, p.stderr
    text = md.read_text()
    for heading in ("# Post-incident review: INC-1", "## Summary", "## Impact", "## Timeline", "## Actions"):
        assert heading in text
    missing = run_opsctl("drill", "postmortem", "NOPE", "--drill", str(result))
    assert missing.returncode == 2 and "no incident 'NOPE'" in missing.stderr


def test_drill_fails_when_targets_are_missed(tmp_path: Path) -> None:
    # Everybody acks after exactly 10 minutes; critical ack target 5m -> every critical incident misses.
    pol = tmp_path / "p.yaml"
    pol.write_text("id: p\nescalation_rules:\n  - {escalation_delay_in_minutes: 30, targets: [\"user:ann\"]}\n"
                   "response_targets:\n  critical: {ack: 5m}\n")
    scn = tmp_path / "s.yaml"
    scn.write_text("responders:\n  default: {ack_delay: 10m, respond_delay: 1m}\n"
                   "incidents:\n  - {id: A, at: 2026-03-02T10:00:00Z, severity: critical, duration: 1h}\n"
                   "  - {id: B, at: 2026-03-02T11:00:00Z, severity: warning, duration: 1h}\n")
    p = run_opsctl("drill", "run", "--schedule", S1, "--policy", str(pol), "--scenario", str(scn), "-f", "json")
    assert p.returncode == 1, p.stderr
    s = json.loads(p.stdout)["summary"]
    assert s["verdict"] == "fail" and s["mtta_seconds"] == 600
    assert s["missed_targets"] == [{"id": "A", "severity": "critical", "missed": ["ack"]}]
    assert s["miss_rate"] == 1.0  # 1 of 1 incidents with a target
    # allowing every incident to miss turns it into a pass
    p = run_opsctl("drill", "run", "--schedule", S1, "--policy", str(pol), "--scenario", str(scn),
                   "--max-miss-rate", "1")
    assert p.returncode == 0 and "verdict: PASS" in p.stdout


def test_postmortem_from_alert_history() -> None:
    p = run_opsctl("drill", "postmortem", "a1b2c3d4e5f60718", "--history", HIST, "--scenario", SCN,
                   "--schedule", S1, "--schedule", S2, "--policy", POL, "--seed", "3", "-f", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["incident"]["title"] == "Payments API error rate above 5%"
    assert doc["incident"]["triggered_at"] == "2026-03-14T02:12:00+01:00"
    assert "## Timeline" in doc["markdown"]


def test_bad_input_is_one_line_with_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("time_zone: UTC\nschedule_layers:\n  - name: a\n    start: 2026-01-01\n    users: [a]\n"
                   "    rotation_turn_length: 1d\n    restrictions:\n      - {type: hourly, start_time_of_day: '1:00',"
                   " duration_seconds: 60}\n")
    p = run_opsctl("oncall", "show", "--schedule", str(bad))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert f"{bad}:8:" in p.stderr and "daily_restriction or weekly_restriction" in p.stderr
    p = run_opsctl("oncall", "gaps", "--schedule", S1, "--policy", POL)
    assert p.returncode == 2 and "schedule 'secondary', which was not given" in p.stderr
    p = run_opsctl("oncall", "who", "--schedule", S1, "--at", "tomorrow-ish")
    assert p.returncode == 2 and "--at" in p.stderr
