"""Oracle: `opsctl alertmanager template render` == what a real Alertmanager 0.25 sends.

Starts prometheus-alertmanager on 127.0.0.1 with a Slack receiver and a webhook receiver pointed at a local
HTTP server, posts alerts to /api/v2/alerts, captures the notifications, and compares the Slack message
fields (our templates and the default ones) and the webhook's template data with opsctl's rendering.
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsctl.alertmanager.config import load_config
from opsctl.alertmanager.inhibit import Alert
from opsctl.alertmanager.notify_templates import build_data, load_templates, preview_receiver
from tests.alertmanager.amserver import Capture, SMTPCapture, alertmanager, post_alerts
from tests.conftest import find_tool

FIX = Path(__file__).parent / "fixtures"

TEXT = """{{ template "oncall.slack.text" . }}
receiver={{ .Receiver }} status={{ .Status }} firing={{ .Alerts.Firing | len }}
{{ range .Alerts }}{{ .Fingerprint }} {{ .StartsAt.Format "2006-01-02T15:04:05Z07:00" }} {{ .EndsAt.Unix }}
{{- " " }}{{ .Labels.SortedPairs.Values | join "," }}
{{ end }}{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}
{{ .CommonAnnotations.Values | join "|" }} {{ .GroupLabels.Names | join "+" | title }}
{{ .ExternalURL }} {{ "a.b*c" | reReplaceAll "[.*]" "_" }} {{ match "^web" (index .Alerts 0).Labels.instance }}"""

SLACK_FIELDS = {  # slack attachment field -> template text in the config (None: Alertmanager's default)
    "title": '{{ template "oncall.slack.title" . }}',
    "text": TEXT,
    "pretext": None, "fallback": None, "title_link": None, "footer": None, "callback_id": None,
}
DEFAULTS = {"pretext": "slack.default.pretext", "fallback": "slack.default.fallback",
            "title_link": "slack.default.titlelink", "footer": "slack.default.footer",
            "callback_id": "slack.default.callbackid"}


def _yaml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


@pytest.mark.oracle
def test_slack_and_webhook_match_real_alertmanager(tmp_path: Path) -> None:
    binary = find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    starts = now - timedelta(minutes=10)
    ends = now + timedelta(hours=1)
    alerts = [
        Alert({"alertname": "HighLatency", "instance": "web-2", "severity": "critical", "job": "api"},
              {"summary": "p99 high", "runbook": "https://runbooks/lat"}, starts, ends, "http://prom/graph?g0"),
        Alert({"alertname": "HighLatency", "instance": "web-1", "severity": "warning", "job": "api"},
              {"summary": "p99 high"}, starts + timedelta(seconds=7), ends, "http://prom/graph?g1"),
        Alert({"alertname": "HighLatency", "instance": "db-1", "severity": "warning", "job": "db", "x": "1"},
              {"summary": "p99 high"}, starts, ends),
    ]
    with Capture() as cap:
        slack_lines = "\n".join(f"    {k}: {_yaml_str(v)}" for k, v in SLACK_FIELDS.items() if v is not None)
        tdir = FIX / "templates"
        cfg = tmp_path / "am.yml"
        cfg.write_text(f"""
route:
  receiver: 'team (a).x'
  group_by: [alertname, job]
  group_wait: 2s
  group_interval: 1m
receivers:
- name: 'team (a).x'
  slack_configs:
  - api_url: 'http://127.0.0.1:{cap.port}/slack'
    channel: '#oncall'
{slack_lines}
  webhook_configs:
  - url: 'http://127.0.0.1:{cap.port}/webhook'
templates: ['{tdir}/good-*.tmpl']
""")
        with alertmanager(binary, cfg, tmp_path) as url:
            post_alerts(url, [{"labels": a.labels, "annotations": a.annotations,
                               "startsAt": a.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),  # type: ignore[union-attr]
                               "endsAt": ends.strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "generatorURL": a.generator_url} for a in alerts])
            got = cap.wait_for(4)  # two groups (job=api, job=db) x (slack, webhook)
            external = url
    webhooks = [body for path, body in got if path == "/webhook"]
    slacks = [body for path, body in got if path == "/slack"]
    assert len(webhooks) == 2 and len(slacks) == 2
    tmpl = load_templates(sorted(str(p) for p in (FIX / "templates").glob("good-*.tmpl")))
    for hook in webhooks:
        job = hook["groupLabels"]["job"]
        # the alerts Alertmanager put in this notification (normally all of the group's)
        group = [a for a in alerts if a.labels in [x["labels"] for x in hook["alerts"]]]
        assert group and all(a.labels["job"] == job for a in group)
        data = build_data(group, receiver="team (a).x", group_by=["alertname", "job"], external_url=external,
                          now=now)
        _compare_webhook(hook, data)
        slack = next(s for s in slacks if f"job={job};" in s["attachments"][0]["text"])
        att = slack["attachments"][0]
        for field, text in SLACK_FIELDS.items():
            mine = tmpl.render_text(text, data) if text else tmpl.render_template(DEFAULTS[field], data)
            assert att.get(field, "") == mine, field
        assert slack["username"] == tmpl.render_template("slack.default.username", data)

    # the receiver preview (grouping by the route, Alertmanager's defaults) gives the same messages. The
    # alerts started before group_wait, so Alertmanager may flush a group as soon as its first alert arrives
    # (a busy machine): the preview is given the alerts each notification carried.
    config = load_config(cfg, version=(0, 25))
    sent = [[a for a in alerts if a.labels in [x["labels"] for x in hook["alerts"]]] for hook in webhooks]
    previews = [p for group in sent
                for p in preview_receiver(config, "team (a).x", group, now=now, external_url=external)]
    slack_previews = [p for p in previews if p["integration"] == "slack_configs[0]"]
    assert len(slack_previews) == 2 and not any(p["errors"] for p in previews)
    for p in slack_previews:
        slack = next(s for s in slacks if f'job={p["group_labels"]["job"]};' in s["attachments"][0]["text"])
        att = slack["attachments"][0]
        for field in ("title", "text", "pretext", "fallback", "title_link", "footer", "callback_id", "color"):
            assert att.get(field, "") == p["fields"][field], field
        for field in ("username", "channel", "icon_emoji", "icon_url"):
            assert slack.get(field, "") == p["fields"][field], field


def _compare_webhook(hook: dict[str, Any], data: Any) -> None:
    assert hook["receiver"] == data.Receiver == "team \\(a\\)\\.x"  # regexp.QuoteMeta'd, as in Alertmanager
    assert hook["status"] == data.Status
    assert hook["groupLabels"] == dict(data.GroupLabels)
    assert hook["commonLabels"] == dict(data.CommonLabels)
    assert hook["commonAnnotations"] == dict(data.CommonAnnotations)
    assert hook["externalURL"] == data.ExternalURL
    assert [a["fingerprint"] for a in hook["alerts"]] == [a.Fingerprint for a in data.Alerts]
    assert [a["labels"] for a in hook["alerts"]] == [dict(a.Labels) for a in data.Alerts]
    assert [a["status"] for a in hook["alerts"]] == [a.Status for a in data.Alerts]


@pytest.mark.oracle
@pytest.mark.parametrize("description", [
    "disk nearly full, act now",
    "<b>escape me</b> & more",  # the html body goes through html/template's contextual escaping
])
def test_email_matches_real_alertmanager(tmp_path: Path, description: str) -> None:
    """Email subject header, HTML and text bodies (custom templates using the default partials) equal what
    Alertmanager mails (the html body rendered with html/template escaping)."""
    binary = find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [Alert({"alertname": "DiskFull", "instance": f"db-{i}", "severity": "critical"},
                    {"summary": f"disk {90 + i}% full", "description": description},
                    now - timedelta(minutes=3 * i), None, f"http://prom/graph?g{i}") for i in range(3)]
    text = '{{ template "oncall.slack.text" . }}{{ range .Alerts }}{{ .Annotations.description }}\n{{ end }}'
    with SMTPCapture() as smtp:
        cfg = tmp_path / "am.yml"
        cfg.write_text(f"""
global:
  smtp_smarthost: '127.0.0.1:{smtp.port}'
  smtp_from: 'am@example.org'
  smtp_require_tls: false
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 1s
receivers:
- name: mail
  email_configs:
  - to: 'oncall@example.org'
    headers: {{Subject: '{{{{ template "custom.email.subject" . }}}}'}}
    html: '{{{{ template "custom.email.html" . }}}}'
    text: {_yaml_str(text)}
templates: ['{FIX / "templates"}/good-*.tmpl']
""")
        with alertmanager(binary, cfg, tmp_path) as url:
            post_alerts(url, [{"labels": a.labels, "annotations": a.annotations,
                               "startsAt": a.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),  # type: ignore[union-attr]
                               "generatorURL": a.generator_url} for a in alerts])
            raw = smtp.wait_for(1)[0]
            external = url
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    data = build_data(alerts, receiver="mail", group_by=["alertname"], external_url=external, now=now)
    tmpl = load_templates(sorted(str(p) for p in (FIX / "templates").glob("good-*.tmpl")))
    assert msg["Subject"] == tmpl.render_template("custom.email.subject", data)
    html = msg.get_body(preferencelist=("html",))
    plain = msg.get_body(preferencelist=("plain",))
    assert html is not None and plain is not None
    # MIME bodies travel with CRLF line ends
    assert html.get_content().replace("\r\n", "\n") == tmpl.render_template("custom.email.html", data, html=True)
    assert plain.get_content().replace("\r\n", "\n") == tmpl.render_text(text, data)
