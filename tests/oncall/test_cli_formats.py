"""Every oncall command takes --format json, the import/export ones included."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import ROOT, run_opsctl

EX = ROOT / "examples" / "oncall"


def test_export_ical_json_lists_shifts_and_still_writes_ics(tmp_path: Path) -> None:
    out = tmp_path / "s.ics"
    proc = run_opsctl("oncall", "export-ical", "--schedule", str(EX / "primary.yaml"), "--from", "2026-03-28",
                      "--days", "2",
                      "-o", str(out), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1 and doc["events"]
    first = doc["events"][0]
    assert first["start"].startswith("2026-03-28T00:00:00") and first["users"]
    assert out.read_text().startswith("BEGIN:VCALENDAR")


def test_import_json_equals_yaml_document(tmp_path: Path) -> None:
    for args, kind in ((["import-pagerduty", str(EX / "pagerduty-schedule.json")], "schedule"),
                       (["import-pagerduty", str(EX / "pagerduty-policy.json")], "policy"),
                       (["import-ical", str(EX / "recurring.ics"), "--from", "2026-03-16", "--to", "2026-03-30"],
                        "schedule")):
        as_yaml = run_opsctl("oncall", *args)
        as_json = run_opsctl("oncall", *args, "--format", "json")
        assert as_yaml.returncode == 0 and as_json.returncode == 0, as_json.stderr
        doc = json.loads(as_json.stdout)
        assert doc["kind"] == kind
        assert doc["document"] == yaml.safe_load(as_yaml.stdout)
