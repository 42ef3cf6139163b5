"""CLI behaviour: exit codes, file:line errors, JSON schemas, amtool-compatible output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_opsctl

FIX = Path(__file__).parent / "fixtures"


def test_check_ok_and_invalid() -> None:
    ok = run_opsctl("alertmanager", "check", str(FIX / "valid-inhibit.yml"))
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = run_opsctl("alertmanager", "check", str(FIX / "invalid-undefined-receiver.yml"))
    assert bad.returncode == 1
    assert "invalid-undefined-receiver.yml:4:" in bad.stdout and 'undefined receiver "nope"' in bad.stdout


def test_check_json_schema() -> None:
    r = run_opsctl("alertmanager", "check", str(FIX / "invalid-duration.yml"), str(FIX / "valid-webhook.yml"),
                   "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["valid"] is False
    first, second = doc["files"]
    assert first["valid"] is False and first["errors"][0]["line"] == 3
    assert set(first["errors"][0]) == {"file", "line", "column", "message"}
    assert second["valid"] is True and second["summary"]["receivers"] == 1


def test_check_missing_file_exit_nonzero() -> None:
    r = run_opsctl("alertmanager", "check", "does-not-exist.yml")
    assert r.returncode == 2 and "does-not-exist.yml: no such file" in r.stderr and "Traceback" not in r.stderr


def test_check_never_prints_secrets(tmp_path: Path) -> None:
    f = tmp_path / "c.yml"
    f.write_text("global:\n  slack_api_url: 'ftp://hooks/SECRETPATH'\nroute: {receiver: a}\nreceivers: [{name: a}]\n")
    r = run_opsctl("alertmanager", "check", str(f))
    assert r.returncode == 1 and "SECRETPATH" not in r.stdout + r.stderr


def test_routes_test_verify_and_json() -> None:
    cfg = str(FIX / "valid-matchers-list.yml")
    r = run_opsctl("alertmanager", "routes", "test", cfg, "foo=bar", "baz=a", "x=z")
    assert r.returncode == 0 and r.stdout.strip() == "a"
    r = run_opsctl("alertmanager", "routes", "test", cfg, "--verify-receivers", "b", "foo=bar")
    assert r.returncode == 1 and "WARNING" in r.stdout
    r = run_opsctl("alertmanager", "routes", "test", cfg, "foo=bar", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["receivers"] == ["a"] and doc["routes"][0]["group_wait"] == "30s"
    r = run_opsctl("alertmanager", "routes", "test", cfg, "foo=~bar")
    assert r.returncode == 2


def test_routes_on_invalid_config_is_input_error() -> None:
    r = run_opsctl("alertmanager", "routes", "show", str(FIX / "invalid-undefined-receiver.yml"))
    assert r.returncode == 2 and "invalid-undefined-receiver.yml:4:" in r.stderr


def test_one_problem_one_error() -> None:
    r = run_opsctl("alertmanager", "check", str(FIX / "invalid-email-dup-headers.yml"), "--format", "json")
    errors = json.loads(r.stdout)["files"][0]["errors"]
    assert [e["message"] for e in errors] == ['duplicate header "Subject" in email config']
    assert (errors[0]["line"], errors[0]["column"]) == (9, 5)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "alertmanager"


def test_template_render_text_and_receiver_preview(tmp_path: Path) -> None:
    r = run_opsctl("alertmanager", "template", "render", str(EXAMPLES / "slack.tmpl"), "--alerts",
                   str(EXAMPLES / "alerts.json"), "--text", '{{ template "oncall.slack.title" . }}|{{ .Receiver }}',
                   "--receiver", "a.b")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[FIRING:3] |a\\.b\n"
    cfg = tmp_path / "am.yml"
    cfg.write_text(f"""
global: {{slack_api_url: 'http://127.0.0.1:9/'}}
route:
  receiver: chat
  group_by: [alertname]
  routes: [{{matchers: ['severity="info"'], receiver: quiet}}]
inhibit_rules: [{{source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'],
                 equal: [alertname, instance]}}]
receivers:
- name: quiet
- name: chat
  slack_configs: [{{title: '{{{{ template "oncall.slack.title" . }}}}'}}]
templates: ['{EXAMPLES}/slack.tmpl']
""")
    r = run_opsctl("alertmanager", "template", "render", "--config", str(cfg), "--receiver", "chat", "--alerts",
                   str(EXAMPLES / "alerts.json"), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (slack,) = doc["integrations"]  # info goes to `quiet`, the warning is inhibited: one group, one alert
    assert slack["group_labels"] == {"alertname": "HighLatency"} and slack["alerts"] == 1
    assert slack["fields"]["title"] == "[FIRING:1] HighLatency"
    assert slack["fields"]["color"] == "danger"
    bad = run_opsctl("alertmanager", "template", "render", "--config", str(cfg), "--receiver", "nope", "--alerts",
                     str(EXAMPLES / "alerts.json"))
    assert bad.returncode == 2 and "no receiver 'nope'" in bad.stderr
