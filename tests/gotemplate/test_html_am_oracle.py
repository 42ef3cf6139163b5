# ruff: noqa: E501
"""Oracle: opsctl's html/template port (``html=True``) against a real Alertmanager 0.25 (Go html/template).

Alertmanager renders ``email_configs[].html`` with html/template. We start ``prometheus-alertmanager`` on
127.0.0.1 with two email integrations pointed at a local SMTP sink (helpers from tests/alertmanager): one with
Alertmanager's defaults (``email.default.html`` / ``email.default.subject``), one with a user template that
puts alert data into every context opsctl supports (HTML text, quoted and unquoted attributes, href/src URLs
before and after ``?``, ``javascript:`` URLs, script values/strings/regexps, style values/strings, event
handler attributes, comments, RCDATA, {{break}}/{{continue}}, ``html``/``urlquery``/``safeHtml`` in pipelines, branches). Alert labels
and annotations carry ``<script>``, ``&``, quotes and ``javascript:`` URLs. The html part of each mail must
equal opsctl's rendering byte for byte.
"""

from __future__ import annotations

import difflib
import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsctl.alertmanager.inhibit import Alert
from opsctl.alertmanager.notify_templates import build_data, load_templates
from tests.alertmanager.amserver import SMTPCapture, alertmanager, post_alerts
from tests.conftest import find_tool

USER_TEMPLATE = """{{ define "ctx.html" }}<p title="{{ .CommonAnnotations.summary }}" data-x='{{ .CommonLabels.alertname }}'>
{{- .CommonAnnotations.summary }}</p>
<a href="{{ .CommonAnnotations.link }}">l</a><a href="http://x/?q={{ .CommonAnnotations.summary }}">q</a>
<a href="/p/{{ .CommonLabels.alertname }}#{{ .CommonLabels.alertname }}">p</a><a href=/u/{{ .CommonLabels.alertname }}>u</a>
<img src="{{ .CommonAnnotations.link2 }}" alt={{ .CommonAnnotations.summary }}>
<script>var s = {{ .CommonAnnotations.summary }}; var t = "{{ .CommonAnnotations.summary }}";
var q = '{{ .CommonLabels.alertname }}'; var r = /{{ .CommonLabels.alertname }}/; var n = {{ len .Alerts }};
var b = {{ gt (len .Alerts) 1 }}; var l = {{ .CommonLabels.SortedPairs.Values }}; // {{ .CommonLabels.alertname }}
/* block {{ .CommonAnnotations.summary }} */ var m = {{ .CommonLabels }};</script>
<style>p { color: {{ .CommonLabels.color }}; } a { font-family: "{{ .CommonAnnotations.summary }}"; }
b { background: url({{ .CommonAnnotations.link2 }}); } /* {{ .CommonLabels.color }} */</style>
<p style="color: {{ .CommonLabels.color }}; width: {{ .CommonLabels.width }}" onclick="f({{ .CommonAnnotations.summary }}, '{{ .CommonLabels.alertname }}')">x</p>
<!-- a comment {{ .CommonAnnotations.summary }} -->a < b && c > d
{{ range .Alerts }}<li class="{{ .Labels.severity }}" data-url="{{ .GeneratorURL }}">{{ .Labels.instance }} <a href="{{ .GeneratorURL }}">{{ .GeneratorURL }}</a></li>
{{ end }}{{ .CommonAnnotations.summary | html }} {{ html .CommonAnnotations.summary "x" }} {{ safeHtml "<b>ok</b> & fine" }}
<textarea>{{ .CommonAnnotations.summary }}</textarea><title>{{ .CommonAnnotations.summary }}</title>
{{ if .CommonLabels.color }}<b class="{{ .CommonLabels.color }}">{{ else }}<b>{{ end }}y</b>
<a href="http://x/?a={{ urlquery .CommonAnnotations.summary }}&b={{ .CommonAnnotations.summary | urlquery }}">u</a>
<a title="{{ safeHtml "<i>it's</i> <b>bold</b>" }}" href="{{ .CommonAnnotations.link3 }}">{{ .CommonLabels.missing }}</a>
<input {{ .CommonLabels.attr }}="{{ .CommonLabels.color }}" value="{{ printf "%q" .CommonAnnotations.summary }}">
{{ template "ctx.part" .CommonAnnotations.summary }}<a href="{{ template "ctx.part" .CommonLabels.alertname }}">t</a>
{{ range .Alerts }}<i title="{{ .Labels.instance }}">{{ .Labels.instance }}</i>{{ break }}{{ end }}
{{ range $i, $a := .Alerts }}{{ if eq $i 0 }}{{ continue }}{{ end }}<u>{{ $a.Labels.instance }}</u>{{ end }}
{{ end }}
{{ define "ctx.part" }}<{{ . }}>{{ end }}
"""

SUMMARY = """<script>alert("x&y")</script> it's 5 > 3 + 1 \\ ` \u2028 é"""
LABELS = {"alertname": "Disk<Full>&'\"", "color": "red", "width": "10px", "attr": "checked", "severity": "crit ical"}
ANNOTATIONS = {"summary": SUMMARY, "link": "javascript:alert(1)", "link2": "http://img/a b?c=d&e=<f>",
               "link3": "HTTPS://ok.example/x y"}


@pytest.mark.oracle
def test_email_html_matches_real_alertmanager(tmp_path: Path) -> None:
    binary = find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [Alert({**LABELS, "instance": f"web-{i}<{i}>"}, ANNOTATIONS, now - timedelta(minutes=i), None,
                    f"http://prom/graph?g0.expr=up{{job=\"x&{i}\"}}" if i else "javascript:alert('gen')")
              for i in range(2)]
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "ctx.tmpl").write_text(USER_TEMPLATE, encoding="utf-8")
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
  - to: 'default@example.org'
  - to: 'custom@example.org'
    html: '{{{{ template "ctx.html" . }}}}'
templates: ['{tdir}/*.tmpl']
""", encoding="utf-8")
        with alertmanager(binary, cfg, tmp_path) as url:
            post_alerts(url, [{"labels": a.labels, "annotations": a.annotations,
                               "startsAt": a.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),  # type: ignore[union-attr]
                               "generatorURL": a.generator_url} for a in alerts])
            raws = smtp.wait_for(2)
            external = url
    data = build_data(alerts, receiver="mail", group_by=["alertname"], external_url=external, now=now)
    tmpl = load_templates([str(tdir / "ctx.tmpl")])
    mails = {}
    for raw in raws:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        mails[str(msg["To"])] = msg
    assert set(mails) == {"default@example.org", "custom@example.org"}
    expected = {"default@example.org": tmpl.render_template("email.default.html", data, html=True),
                "custom@example.org": tmpl.render_template("ctx.html", data, html=True)}
    for to, msg in mails.items():
        part = msg.get_body(preferencelist=("html",))
        assert part is not None
        got = part.get_content().replace("\r\n", "\n")
        if got != expected[to]:
            diff = "\n".join(difflib.unified_diff(got.splitlines(), expected[to].splitlines(), "alertmanager",
                                                  "opsctl", lineterm="", n=4))
            pytest.fail(f"{to}: html differs\n{diff}")
        assert msg["Subject"] == tmpl.render_template("email.default.subject", data)
    # the escaping did happen (and the text/template rendering would differ)
    custom = expected["custom@example.org"]
    assert "#ZgotmplZ" in custom and "&lt;script&gt;" in custom and "<script>alert" not in custom
    assert tmpl.render_template("ctx.html", data) != custom


@pytest.mark.oracle
def test_resolved_email_html_matches_real_alertmanager(tmp_path: Path) -> None:
    """The resolved notification (``send_resolved: true``): email.default.html's "resolved" branches (header cell,
    resolved list) and a user template, after the group's alert is resolved."""
    binary = find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    labels = {"alertname": "Svc<Down>", "job": "a&b", "instance": "'x'"}
    annotations = {"summary": '"quoted" <i>html</i> & more', "runbook": "javascript:void(0)"}
    starts = now - timedelta(minutes=5)
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "r.tmpl").write_text(
        '{{ define "r.html" }}{{ range .Alerts.Resolved }}<a href="{{ .Annotations.runbook }}" '
        'title={{ .Labels.job }}>{{ .Annotations.summary }}</a>{{ .EndsAt }}{{ end }}'
        '<script>var st = {{ .Status }}, n = {{ len .Alerts.Firing }};</script>{{ end }}', encoding="utf-8")
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
  group_interval: 1s
receivers:
- name: mail
  email_configs:
  - to: 'default@example.org'
    send_resolved: true
  - to: 'custom@example.org'
    send_resolved: true
    html: '{{{{ template "r.html" . }}}}'
templates: ['{tdir}/*.tmpl']
""", encoding="utf-8")
        with alertmanager(binary, cfg, tmp_path) as url:
            body = {"labels": labels, "annotations": annotations,
                    "startsAt": starts.strftime("%Y-%m-%dT%H:%M:%SZ"), "generatorURL": "http://prom/g?x=<1>"}
            post_alerts(url, [body])
            smtp.wait_for(2)
            ends = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
            post_alerts(url, [{**body, "endsAt": ends.strftime("%Y-%m-%dT%H:%M:%SZ")}])
            raws = smtp.wait_for(4, timeout=60)[2:]
            external = url
    alert = Alert(labels, annotations, starts, ends, "http://prom/g?x=<1>")
    data = build_data([alert], receiver="mail", group_by=["alertname"], external_url=external,
                      now=datetime.now(UTC))
    assert data.Status == "resolved"
    tmpl = load_templates([str(tdir / "r.tmpl")])
    expected = {"default@example.org": tmpl.render_template("email.default.html", data, html=True),
                "custom@example.org": tmpl.render_template("r.html", data, html=True)}
    for raw in raws:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        to = str(msg["To"])
        part = msg.get_body(preferencelist=("html",))
        assert part is not None
        got = part.get_content().replace("\r\n", "\n")
        if got != expected[to]:
            diff = "\n".join(difflib.unified_diff(got.splitlines(), expected[to].splitlines(), "alertmanager",
                                                  "opsctl", lineterm="", n=4))
            pytest.fail(f"{to}: html differs\n{diff}")
    assert "#ZgotmplZ" in expected["custom@example.org"]
