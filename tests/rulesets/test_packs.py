"""The curated rule packs (rulesets/) and their runbooks (runbooks/).

promtool is the oracle for the rule files and their unit tests; on top of it these tests hold the packs
to the label policy (rulesets/README.md), check that every alert has a firing and a quiet test case and a
complete runbook, and load the documented inhibit rules into a real Alertmanager.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsctl.durations import parse_duration
from opsctl.yamlutil import load_one, loads_documents
from tests.alertmanager import amserver
from tests.conftest import ROOT, find_tool, run_opsctl

RULESETS = ROOT / "rulesets"
RUNBOOKS = ROOT / "runbooks"
EXAMPLE_AM_CONFIG = ROOT / "examples" / "rulesets" / "alertmanager.yml"
PACKS = ["database", "host", "http-api", "jobs", "monitoring"]
RUNBOOK_BASE = "https://github.com/opsctl/opsctl/blob/main/runbooks/"
ALLOWED_SEVERITIES = {"critical", "warning", "info"}
RUNBOOK_SECTIONS = ["Meaning", "Diagnosis", "Mitigation", "Escalation"]
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")
RATE_RANGE = re.compile(r"\b(?:rate|increase|irate)\(\s*[^()\[]*\[(\w+)")


def rule_file(pack: str) -> Path:
    return RULESETS / pack / f"{pack}.rules.yml"


def unit_test_files(pack: str) -> list[Path]:
    return sorted((RULESETS / pack / "tests").glob("*.test.yml"))


def rules(pack: str) -> Iterator[tuple[dict[str, Any], int]]:
    """Every rule of a pack with the line its `- alert:`/`- record:` item starts on."""
    doc = load_one(rule_file(pack))
    for group in doc["groups"]:
        items = group["rules"]
        for i, rule in enumerate(items):
            yield rule, items.item_loc(i)[0]


def alerts(pack: str) -> list[dict[str, Any]]:
    return [r for r, _ in rules(pack) if "alert" in r]


def is_watchdog(rule: dict[str, Any]) -> bool:
    return (rule.get("labels") or {}).get("watchdog") == "true"


def unit_tests(pack: str) -> Iterator[dict[str, Any]]:
    for path in unit_test_files(pack):
        yield from load_one(path)["tests"]


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


# -- layout ----------------------------------------------------------------------------------------


def test_pack_layout() -> None:
    found = sorted(p.name for p in RULESETS.iterdir() if p.is_dir())
    assert found == PACKS
    for pack in PACKS:
        assert rule_file(pack).is_file()
        assert unit_test_files(pack), f"{pack} has no tests/*.test.yml"
    assert sorted(p.name for p in RUNBOOKS.iterdir() if p.is_dir()) == PACKS


# -- promtool as the oracle ------------------------------------------------------------------------


@pytest.mark.oracle
@pytest.mark.parametrize("pack", PACKS)
def test_promtool_check_rules(pack: str) -> None:
    promtool = find_tool("promtool")
    proc = run([promtool, "check", "rules", str(rule_file(pack))])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.oracle
@pytest.mark.parametrize("pack", PACKS)
def test_promtool_test_rules(pack: str) -> None:
    promtool = find_tool("promtool")
    proc = run([promtool, "test", "rules", *map(str, unit_test_files(pack))])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAILED" not in proc.stdout + proc.stderr


@pytest.mark.oracle
@pytest.mark.parametrize("pack", PACKS)
def test_unit_tests_can_fail(pack: str, tmp_path: Path) -> None:
    """The unit tests pin the labels: turning every warning into info must make promtool fail."""
    promtool = find_tool("promtool")
    copy = tmp_path / pack
    shutil.copytree(RULESETS / pack, copy)
    mutated = copy / f"{pack}.rules.yml"
    text = mutated.read_text(encoding="utf-8")
    assert "severity: warning" in text
    mutated.write_text(text.replace("severity: warning", "severity: info"), encoding="utf-8")
    proc = run([promtool, "test", "rules", str(copy / "tests" / f"{pack}.test.yml")])
    assert proc.returncode != 0, proc.stdout
    assert "FAILED" in proc.stdout + proc.stderr


def test_opsctl_validate_is_clean() -> None:
    proc = run_opsctl("rules", "validate", "rulesets/", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["findings"] == 0
    assert report["summary"]["files"] == len(PACKS)


# -- label and annotation policy -------------------------------------------------------------------


@pytest.mark.parametrize("pack", PACKS)
def test_alert_policy(pack: str) -> None:
    lines = rule_file(pack).read_text(encoding="utf-8").splitlines()
    seen = 0
    for rule, line in rules(pack):
        if "alert" not in rule:
            continue
        seen += 1
        name = rule["alert"]
        labels = rule.get("labels") or {}
        ann = rule.get("annotations") or {}
        where = f"{pack}:{line} {name}"
        assert labels.get("severity") in ALLOWED_SEVERITIES, where
        assert labels.get("service") == pack, where
        assert isinstance(labels.get("component"), str) and labels["component"], where
        for key in ("summary", "description", "runbook_url"):
            assert isinstance(ann.get(key), str) and ann[key].strip(), f"{where}: no {key}"
        assert "{{" in ann["description"], f"{where}: description is not templated"
        assert ann["runbook_url"] == f"{RUNBOOK_BASE}{pack}/{name}.md", where
        if "dashboard_url" in ann:
            assert ann["dashboard_url"].startswith("https://"), where
        for window in RATE_RANGE.findall(rule["expr"]):
            assert parse_duration(window) >= 4 * 60, f"{where}: rate window [{window}] under 4x 1m"
        if is_watchdog(rule):
            assert labels["severity"] == "info" and "for" not in rule, where
            assert "# opsctl: disable=alert-for-missing" in lines[line - 2], where
        else:
            assert "for" in rule and parse_duration(str(rule["for"])) > 0, f"{where}: no `for`"
    assert seen


def test_only_the_watchdog_is_a_watchdog() -> None:
    watchdogs = [(pack, r["alert"]) for pack in PACKS for r in alerts(pack) if is_watchdog(r)]
    assert watchdogs == [("monitoring", "Watchdog")]


@pytest.mark.parametrize("pack", PACKS)
def test_alert_families_share_labels(pack: str) -> None:
    """Rules with one alert name differ only by severity (and thresholds): inhibition relies on it."""
    families: dict[str, list[dict[str, Any]]] = {}
    for rule in alerts(pack):
        families.setdefault(rule["alert"], []).append(rule)
    for name, members in families.items():
        keys = {frozenset(set(m["labels"]) - {"quantile"}) for m in members}
        assert len(keys) == 1, f"{name}: label names differ between its rules"
        combos = [(m["labels"]["severity"], m["labels"]["component"]) for m in members]
        assert len(combos) == len(set(combos)), f"{name}: two rules with the same severity and component"


@pytest.mark.parametrize("pack", PACKS)
def test_recording_rules_named_and_tested(pack: str) -> None:
    tested = " ".join(str(case.get("expr", "")) for t in unit_tests(pack) for case in t.get("promql_expr_test", []))
    for rule, _ in rules(pack):
        if "record" in rule:
            assert RECORD_NAME.match(rule["record"]), rule["record"]
            assert re.search(rf"(?<![\w:]){re.escape(rule['record'])}(?![\w:])", tested), (
                f"recording rule {rule['record']} has no promql_expr_test")


# -- unit-test coverage ----------------------------------------------------------------------------


@pytest.mark.parametrize("pack", PACKS)
def test_every_alert_fires_and_stays_quiet_in_a_test(pack: str) -> None:
    firing: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for test in unit_tests(pack):
        for case in test.get("alert_rule_test", []):
            exp = case.get("exp_alerts") or []
            if not exp:
                quiet.add(case["alertname"])
            for alert in exp:
                assert alert.get("exp_annotations"), f"{case['alertname']}: firing case without annotations"
                firing.add((case["alertname"], alert["exp_labels"]["severity"]))
    for rule in alerts(pack):
        name, severity = rule["alert"], rule["labels"]["severity"]
        assert (name, severity) in firing, f"no test where {name} ({severity}) fires"
        if not is_watchdog(rule):
            assert name in quiet, f"no test where {name} stays quiet"


# -- runbooks --------------------------------------------------------------------------------------


def sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^## (.+?)\s*$", line)
        if m:
            current = m.group(1)
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


@pytest.mark.parametrize("pack", PACKS)
def test_runbooks_exist_and_are_complete(pack: str) -> None:
    for name in sorted({r["alert"] for r in alerts(pack)}):
        path = RUNBOOKS / pack / f"{name}.md"
        assert path.is_file(), f"missing runbook {path.relative_to(ROOT)}"
        text = path.read_text(encoding="utf-8")
        assert text.splitlines()[0] == f"# {name}", path
        body = sections(text)
        assert [s for s in body if s in RUNBOOK_SECTIONS] == RUNBOOK_SECTIONS, f"{path}: sections {list(body)}"
        for section in RUNBOOK_SECTIONS:
            assert len(body[section].strip()) >= 150, f"{path}: section {section} is too thin"
        assert "`" in body["Diagnosis"], f"{path}: Diagnosis names no command or query"
        assert re.search(r"\b(page|on-call|ticket)\b", body["Escalation"], re.I), f"{path}: Escalation names nobody"
        assert not re.search(r"\b(TODO|TBD|FIXME|lorem)\b", text, re.I), path


def test_no_orphan_runbooks() -> None:
    for pack in PACKS:
        names = {r["alert"] for r in alerts(pack)}
        for path in (RUNBOOKS / pack).iterdir():
            assert path.suffix == ".md" and path.stem in names, f"runbook without alert: {path}"


# -- tidiness --------------------------------------------------------------------------------------


def test_yaml_files_are_tidy() -> None:
    files = [*sorted(RULESETS.rglob("*.yml")), EXAMPLE_AM_CONFIG]
    assert len(files) >= 2 * len(PACKS)
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        for no, line in enumerate(text.splitlines(), start=1):
            assert "\t" not in line, f"{path}:{no}: tab"
            assert line == line.rstrip(), f"{path}:{no}: trailing whitespace"
            indent = len(line) - len(line.lstrip(" "))
            if line.strip() and not line.lstrip().startswith("#"):
                # continuation lines of flow sequences may align under the opening bracket
                assert indent % 2 == 0 or line.lstrip()[0].isalnum(), f"{path}:{no}: odd indentation"


# -- the documented Alertmanager configuration -----------------------------------------------------


@pytest.mark.oracle
def test_example_alertmanager_config_is_valid_and_routes_the_watchdog() -> None:
    amtool = find_tool("amtool")
    proc = run([amtool, "check-config", str(EXAMPLE_AM_CONFIG)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 inhibit rules" in proc.stdout
    watchdog = next(r for r in alerts("monitoring") if r["alert"] == "Watchdog")
    labels = [f"{k}={v}" for k, v in {"alertname": "Watchdog", **watchdog["labels"]}.items()]
    proc = run([amtool, "config", "routes", "test", f"--config.file={EXAMPLE_AM_CONFIG}", *labels])
    assert proc.stdout.strip() == "deadmansswitch", proc.stdout + proc.stderr
    proc = run([amtool, "config", "routes", "test", f"--config.file={EXAMPLE_AM_CONFIG}",
                "alertname=HostDown", "severity=critical", "service=host"])
    assert proc.stdout.strip() == "pager", proc.stdout + proc.stderr


def test_readme_documents_the_tested_inhibit_rules() -> None:
    readme = (RULESETS / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Intended inhibit rules", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    documented = loads_documents(block.group(1), "rulesets/README.md")[0]["inhibit_rules"]
    assert documented == load_one(EXAMPLE_AM_CONFIG)["inhibit_rules"]


def static_labels(pack: str, name: str, severity: str) -> dict[str, str]:
    """The non-templated labels the pack's rule sets on an alert."""
    for rule in alerts(pack):
        if rule["alert"] == name and rule["labels"]["severity"] == severity:
            return {"alertname": name, **{k: v for k, v in rule["labels"].items() if "{{" not in v}}
    raise AssertionError(f"no rule {name} ({severity}) in {pack}")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        find_tool("prometheus-alertmanager")  # skips locally, fails in CI
    assert binary is not None
    with amserver.alertmanager(binary, EXAMPLE_AM_CONFIG, tmp_path) as url:
        yield url


@pytest.mark.oracle
def test_inhibit_rules_in_a_real_alertmanager(alertmanager: str) -> None:
    node = {"job": "node", "instance": "node-c:9100"}
    api = {"job": "checkout", "api_service": "checkout"}
    sent: dict[str, dict[str, str]] = {
        # same alert, same instance: the critical mutes the warning ...
        "mem-crit": {**static_labels("host", "HostMemoryPressure", "critical"), **node},
        "mem-warn": {**static_labels("host", "HostMemoryPressure", "warning"), **node},
        # ... but not the warning of another instance
        "mem-warn-other": {**static_labels("host", "HostMemoryPressure", "warning"),
                           "job": "node", "instance": "node-a:9100"},
        # same alert and instance, different mountpoint: not muted
        "disk-crit-data": {**static_labels("host", "HostDiskSpaceAlmostFull", "critical"), **node,
                           "mountpoint": "/data", "device": "/dev/sdb1", "fstype": "xfs"},
        "disk-warn-data": {**static_labels("host", "HostDiskSpaceAlmostFull", "warning"), **node,
                           "mountpoint": "/data", "device": "/dev/sdb1", "fstype": "xfs"},
        "disk-warn-var": {**static_labels("host", "HostDiskSpaceAlmostFull", "warning"), **node,
                          "mountpoint": "/var", "device": "/dev/sda2", "fstype": "ext4"},
        # the critical p95 latency mutes the warning p99 latency of the same API
        "lat-crit": {**static_labels("http-api", "HttpApiLatencyHigh", "critical"), **api},
        "lat-warn": {**static_labels("http-api", "HttpApiLatencyHigh", "warning"), **api},
        # a different engine (component) of the same alert name is a different problem
        "db-lag-crit-pg": {**static_labels("database", "DatabaseReplicationLag", "critical"),
                           "job": "db", "instance": "db-1"},
        "db-lag-warn-mysql": {**static_labels("database", "DatabaseReplicationLag", "warning"),
                              "job": "db", "instance": "db-1", "component": "mysql"},
        # HostDown explains TargetDown of the same target only
        "host-down": {**static_labels("host", "HostDown", "critical"), **node},
        "target-down": {**static_labels("monitoring", "TargetDown", "warning"), **node},
        "target-down-other": {**static_labels("monitoring", "TargetDown", "warning"),
                              "job": "api", "instance": "api-1:8080"},
        # availability mutes the error ratio of the same API
        "avail": {**static_labels("http-api", "HttpApiAvailabilityLow", "warning"), **api},
        "errors": {**static_labels("http-api", "HttpApiErrorRatioHigh", "warning"), **api},
        # the Watchdog is never muted
        "watchdog": static_labels("monitoring", "Watchdog", "info"),
    }
    expected_muted = {"mem-warn", "disk-warn-data", "lat-warn", "target-down", "errors"}
    for key, labels in sent.items():
        labels["test_key"] = key
    resp = httpx.post(f"{alertmanager}/api/v2/alerts", timeout=10,
                      json=[{"labels": labels, "annotations": {"summary": "test"}} for labels in sent.values()])
    assert resp.status_code == 200, resp.text

    deadline = time.monotonic() + 20
    while True:
        got = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=10).json()
        state = {a["labels"]["test_key"]: a["status"] for a in got}
        muted = {k for k, s in state.items() if s["inhibitedBy"]}
        if (len(state) == len(sent) and muted == expected_muted) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(state) == set(sent)
    assert muted == expected_muted, {k: s["inhibitedBy"] for k, s in state.items()}
    assert all(state[k]["state"] == "suppressed" for k in expected_muted)
    assert state["watchdog"]["state"] == "active"
