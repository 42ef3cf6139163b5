"""Receiver previews (issue 12, points 9-13): send_resolved, Telegram HTML, nested templated fields, Pushover
url, nanosecond times. Each reproducer is a regression test; where the notifier's endpoint can be pointed at a
local server, a real Alertmanager 0.25 (`prometheus-alertmanager`) is the oracle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.alertmanager.config import load_config, loads_config
from opsctl.alertmanager.inhibit import Alert, load_alerts
from opsctl.alertmanager.notify_templates import build_data, load_templates, preview_receiver
from tests.alertmanager.amserver import Capture, alertmanager, post_alerts
from tests.conftest import find_tool, run_opsctl

REPRO = Path(__file__).parent / "fixtures" / "issue12"
AT = datetime(2024, 5, 5, 1, 0, tzinfo=UTC)


def _preview(cfg_name: str, alerts_name: str, receiver: str, now: datetime = AT) -> list[dict[str, Any]]:
    return preview_receiver(load_config(REPRO / cfg_name), receiver, load_alerts(str(REPRO / alerts_name)), now=now)


# --- regressions (hand-worked answers) -------------------------------------------------------------

def test_r1_send_resolved_false_drops_resolved_alerts() -> None:
    (p,) = _preview("r1_send_resolved.yml", "r1_alerts.json", "chat")
    assert p["send_resolved"] is False and p["resolved_dropped"] == 1 and p["alerts"] == 1
    assert p["fields"]["text"] == "n=1 firing=1 resolved=0"
    assert p["fields"]["title"] == "[FIRING:1] A (i1)"  # CommonLabels of the firing alert only


def test_r1_send_resolved_true_keeps_them_and_all_resolved_sends_nothing(tmp_path: Path) -> None:
    text = (REPRO / "r1_send_resolved.yml").read_text().replace("  - channel: '#c'",
                                                                "  - channel: '#c'\n    send_resolved: true")
    cfg = loads_config(text, "r1.yml")
    alerts = load_alerts(str(REPRO / "r1_alerts.json"))
    (p,) = preview_receiver(cfg, "chat", alerts, now=AT)
    assert p["fields"]["text"] == "n=2 firing=1 resolved=1" and p["resolved_dropped"] == 0
    # only the resolved alert, send_resolved false: Alertmanager sends nothing
    (q,) = preview_receiver(load_config(REPRO / "r1_send_resolved.yml"), "chat", alerts[1:], now=AT)
    assert q["sent"] is False and q["alerts"] == 0 and q["fields"] == {} and q["resolved_dropped"] == 1


def test_r1_send_resolved_defaults_per_notifier() -> None:
    from opsctl.alertmanager.notify_templates import send_resolved

    assert not send_resolved("slack", {}) and not send_resolved("email", {}) and not send_resolved("wechat", {})
    assert send_resolved("webhook", {}) and send_resolved("pagerduty", {}) and send_resolved("telegram", {})
    assert send_resolved("slack", {"send_resolved": True}) and not send_resolved("webhook", {"send_resolved": False})


def test_r2_telegram_html_parse_mode_escapes() -> None:
    (p,) = _preview("r2_telegram.yml", "r2_alerts.json", "tg")
    assert p["fields"]["message"] == "Disk&lt;&amp;&gt; a &lt; b &amp; c"
    assert p["html_template"] == ["message"]
    text = (REPRO / "r2_telegram.yml").read_text().replace("chat_id: 42", "chat_id: 42\n    parse_mode: Markdown")
    (q,) = preview_receiver(loads_config(text, "r2.yml"), "tg", load_alerts(str(REPRO / "r2_alerts.json")), now=AT)
    assert q["fields"]["message"] == "Disk<&> a < b & c" and q["html_template"] == []


def test_r3_slack_fields_and_actions_rendered_and_checked() -> None:
    (p,) = _preview("r3_slack_fields.yml", "r3_alerts.json", "chat")
    assert p["fields"]["fields[0].title"] == "Instances"
    assert p["fields"]["fields[0].value"] == "i1 "
    assert p["fields"]["actions[0].text"] == "Runbook A"
    assert "actions[0].url" in p["errors"] and "Nope" in p["errors"]["actions[0].url"]


def test_r3_cli_exit_1_on_broken_action_url() -> None:
    r = run_opsctl("alertmanager", "template", "render", "--config", str(REPRO / "r3_slack_fields.yml"),
                   "--receiver", "chat", "--alerts", str(REPRO / "r3_alerts.json"), "--at", "2024-05-05T01:00:00Z")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "actions[0].url: ERROR" in r.stdout and "Traceback" not in r.stderr


def test_r3_pagerduty_details_links_images_and_default_severity(tmp_path: Path) -> None:
    cfg = loads_config("""
route: {receiver: pd}
receivers:
- name: pd
  pagerduty_configs:
  - routing_key: k
    details: {team: '{{ .CommonLabels.team }}', firing: 'custom'}
    links: [{href: 'http://x/{{ .CommonLabels.alertname }}', text: 'L {{ len .Alerts }}'}]
    images: [{src: 'http://img/{{ .CommonLabels.alertname }}.png', alt: 'a', href: '{{ .Bad.Field }}'}]
""", "pd.yml")
    (p,) = preview_receiver(cfg, "pd", [Alert({"alertname": "A", "team": "t"})], now=AT)
    f = p["fields"]
    assert f["severity"] == "error" and f["source"] == f["client"] == "Alertmanager"
    assert f["details.team"] == "t" and f["details.firing"] == "custom" and f["details.num_firing"] == "1"
    assert f["details.num_resolved"] == "0"
    assert f["links[0].href"] == "http://x/A" and f["links[0].text"] == "L 1"
    assert f["images[0].src"] == "http://img/A.png" and f["images[0].alt"] == "a"
    assert "images[0].href" in p["errors"]


def test_r4_pushover_url_is_templated() -> None:
    (p,) = _preview("r4_pushover.yml", "r4_alerts.json", "p")
    # no group_by: .GroupLabels is empty, as Alertmanager renders it
    assert p["fields"]["url"] == "https://runbooks.example.org/"
    assert p["fields"]["url_title"] == "Runbook for "
    text = (REPRO / "r4_pushover.yml").read_text().replace("receiver: p\n", "receiver: p\n  group_by: [alertname]\n", 1)
    (q,) = preview_receiver(loads_config(text, "r4.yml"), "p", load_alerts(str(REPRO / "r4_alerts.json")), now=AT)
    assert q["fields"]["url"] == "https://runbooks.example.org/Foo"
    assert q["fields"]["url_title"] == "Runbook for Foo"


def test_r5_times_keep_nanoseconds() -> None:
    alerts = load_alerts(str(REPRO / "r5_alerts.json"))
    data = build_data(alerts, now=AT + timedelta(hours=1))
    tmpl = load_templates([REPRO / "r5_tmpl.tmpl"])
    out = tmpl.render_template("t", data)
    assert out == "2024-05-05 01:00:00.123456789 +0000 UTC 1714870800123456789;"
    assert tmpl.render_text('{{ (index .Alerts 0).StartsAt.Format "05.000000000" }}', data) == "00.123456789"


# --- oracle: a real Alertmanager 0.25 -------------------------------------------------------------

def _run_am(tmp_path: Path, cap: Capture, config: str, alerts: list[dict[str, Any]], n: int) -> tuple[list[Any], str]:
    cfg = tmp_path / "am.yml"
    cfg.write_text(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"))
    with alertmanager(find_tool("prometheus-alertmanager"), cfg, tmp_path) as url:
        post_alerts(url, alerts)
        got = cap.wait_for(n)
    return got, url


@pytest.mark.oracle
def test_r1_oracle_send_resolved(tmp_path: Path) -> None:
    """i1, i2 fire and are notified; then i2 resolves while i3 starts: the webhook (send_resolved true) gets
    all three, Slack (send_resolved false) is rendered from the two firing ones only."""
    binary = find_tool("prometheus-alertmanager")
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)

    def alert(inst: str, ends: datetime | None = None) -> dict[str, Any]:
        a: dict[str, Any] = {"labels": {"alertname": "A", "instance": inst}, "startsAt": start.isoformat()}
        if ends is not None:
            a["endsAt"] = ends.isoformat()
        return a

    config = (REPRO / "r1_send_resolved.yml").read_text().replace("http://127.0.0.1:5599", "CAPTURE").replace(
        "group_by: [alertname]", "group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s") + \
        "  webhook_configs: [{url: 'CAPTURE/hook'}]\n"
    with Capture() as cap:
        cfg_path = tmp_path / "am.yml"
        cfg_path.write_text(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"))
        with alertmanager(binary, cfg_path, tmp_path) as url:
            post_alerts(url, [alert("i1"), alert("i2")])
            cap.wait_for(2)
            now = datetime.now(UTC).replace(microsecond=0)
            final = [alert("i1"), alert("i2", now - timedelta(seconds=1)), alert("i3")]
            post_alerts(url, final)
            got = cap.wait_for(4)
    slack = [body for path, body in got if path == "/slack"][-1]
    hook = [body for path, body in got if path == "/hook"][-1]
    assert sorted(a["status"] for a in hook["alerts"]) == ["firing", "firing", "resolved"]
    cfg = load_config(cfg_path)
    previews = {p["integration"]: p for p in preview_receiver(cfg, "chat", load_alerts_from(tmp_path, final),
                                                              now=now, external_url=url)}
    assert slack["attachments"][0]["text"] == previews["slack_configs[0]"]["fields"]["text"] == \
        "n=2 firing=2 resolved=0"
    assert slack["attachments"][0]["title"] == previews["slack_configs[0]"]["fields"]["title"]
    assert previews["webhook_configs[0]"]["alerts"] == 3


def load_alerts_from(tmp_path: Path, alerts: list[dict[str, Any]]) -> list[Alert]:
    f = tmp_path / "alerts.json"
    f.write_text(json.dumps(alerts))
    return load_alerts(str(f))


@pytest.mark.oracle
def test_r2_oracle_telegram_html(tmp_path: Path) -> None:
    find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = json.loads((REPRO / "r2_alerts.json").read_text())
    config = (REPRO / "r2_telegram.yml").read_text().replace(
        "receiver: tg", "receiver: tg\n  group_wait: 1s").replace("chat_id: 42", "chat_id: 42\n    api_url: CAPTURE")
    with Capture() as cap:
        got, url = _run_am(tmp_path, cap, config, alerts, 1)
    body = next(b for p, b in got if p.endswith("/sendMessage"))
    cfg = loads_config(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"), "am.yml")
    (p,) = preview_receiver(cfg, "tg", load_alerts_from(tmp_path, alerts), now=now, external_url=url)
    assert body["text"] == p["fields"]["message"] == "Disk&lt;&amp;&gt; a &lt; b &amp; c"


@pytest.mark.oracle
def test_r3_oracle_slack_fields_actions_and_pagerduty(tmp_path: Path) -> None:
    find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [*json.loads((REPRO / "r3_alerts.json").read_text()),
              {"labels": {"alertname": "A", "instance": "i2"}, "annotations": {"runbook": "http://wiki/a"}}]
    # r3's receiver without the broken action URL, with every nested templated field of Slack and PagerDuty
    config = """route: {receiver: chat, group_wait: 1s}
receivers:
- name: chat
  slack_configs:
  - api_url: CAPTURE/slack
    channel: '#c'
    image_url: 'http://img/{{ .CommonLabels.alertname }}'
    fields:
    - title: 'Instances'
      value: '{{ range .Alerts }}{{ .Labels.instance }} {{ end }}'
    - title: 'Second {{ .Status }}'
      value: '{{ .CommonAnnotations.runbook }}'
      short: true
    actions:
    - type: button
      text: 'Runbook {{ .CommonLabels.alertname }}'
      url: '{{ .CommonAnnotations.runbook }}?x={{ len .Alerts }}'
      style: '{{ if eq .Status "firing" }}danger{{ end }}'
      confirm: {text: 'Sure {{ .CommonLabels.alertname }}?', title: T, ok_text: 'ok {{ len .Alerts }}'}
  pagerduty_configs:
  - routing_key: k
    url: CAPTURE/pd
    details: {team: '{{ .CommonLabels.alertname }}', firing: 'custom'}
    links: [{href: 'http://x/{{ .CommonLabels.alertname }}', text: 'L {{ len .Alerts }}'}]
    images: [{src: 'http://img/{{ .CommonLabels.alertname }}.png', alt: 'a', href: 'h'}]
    class: '{{ .Status }}'
"""
    with Capture() as cap:
        got, url = _run_am(tmp_path, cap, config, alerts, 2)
    slack = next(b for p, b in got if p == "/slack")["attachments"][0]
    pd = next(b for p, b in got if p == "/pd")
    cfg = loads_config(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"), "am.yml")
    previews = {p["integration"]: p for p in preview_receiver(cfg, "chat", load_alerts_from(tmp_path, alerts),
                                                              now=now, external_url=url)}
    f = previews["slack_configs[0]"]["fields"]
    assert not previews["slack_configs[0]"]["errors"]
    for i, field in enumerate(slack["fields"]):
        assert field["title"] == f[f"fields[{i}].title"] and field["value"] == f[f"fields[{i}].value"]
    (action,) = slack["actions"]
    for key in ("type", "text", "url", "style"):
        assert action.get(key, "") == f[f"actions[0].{key}"], key
    # Alertmanager 0.25 drops an action's `confirm` (accepted by the config, never sent), so does the preview
    assert "confirm" not in action and not any(".confirm." in k for k in f)
    assert slack["image_url"] == f["image_url"] == "http://img/A"
    g = previews["pagerduty_configs[0]"]["fields"]
    payload = pd["payload"]
    assert payload["custom_details"] == {k.split(".", 1)[1]: v for k, v in g.items() if k.startswith("details.")}
    assert payload["severity"] == g["severity"] == "error"
    assert payload["source"] == g["source"] and payload["class"] == g["class"] == "firing"
    assert payload["summary"] == g["description"] and pd["client"] == g["client"]
    assert pd["links"] == [{"href": g["links[0].href"], "text": g["links[0].text"]}]
    assert pd["images"] == [{"src": g["images[0].src"], "alt": g["images[0].alt"], "href": g["images[0].href"]}]


@pytest.mark.oracle
def test_r5_oracle_nanoseconds(tmp_path: Path) -> None:
    find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    start = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"
    alerts = [{"labels": {"alertname": "N"}, "startsAt": start}]
    tdir = tmp_path / "t"
    tdir.mkdir()
    (tdir / "r5.tmpl").write_text((REPRO / "r5_tmpl.tmpl").read_text())
    config = f"""route: {{receiver: chat, group_wait: 1s}}
receivers:
- name: chat
  slack_configs: [{{api_url: 'CAPTURE/slack', channel: '#c', text: '{{{{ template "t" . }}}}'}}]
templates: ['{tdir}/*.tmpl']
"""
    with Capture() as cap:
        got, url = _run_am(tmp_path, cap, config, alerts, 1)
    sent = got[0][1]["attachments"][0]["text"]
    cfg = loads_config(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"), "am.yml")
    (p,) = preview_receiver(cfg, "chat", load_alerts_from(tmp_path, alerts), now=now, external_url=url)
    assert ".123456789 +0000 UTC" in sent and sent.endswith("123456789;")
    assert p["fields"]["text"] == sent


@settings(max_examples=200, deadline=None)
@given(ns=st.integers(min_value=0, max_value=4_102_444_800 * 10**9), digits=st.integers(min_value=0, max_value=9))
def test_r5_start_time_round_trip(tmp_path_factory: pytest.TempPathFactory, ns: int, digits: int) -> None:
    """Any RFC 3339 start time with 0-9 fractional digits: .StartsAt.UnixNano is the written instant."""
    sec, frac = divmod(ns, 10**9)
    frac -= frac % 10 ** (9 - digits)
    text = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    text += ("." + f"{frac:09d}"[:digits] if digits else "") + "Z"
    f = tmp_path_factory.mktemp("r5") / "a.json"
    f.write_text(json.dumps([{"labels": {"alertname": "N"}, "startsAt": text}]))
    data = build_data(load_alerts(str(f)), now=datetime(2100, 1, 2, tzinfo=UTC))
    assert data.Alerts[0].StartsAt.UnixNano() == sec * 10**9 + frac


def test_other_nested_and_per_notifier_fields() -> None:
    cfg = loads_config("""
route: {receiver: r}
receivers:
- name: r
  opsgenie_configs:
  - api_key: k
    details: {team: '{{ .CommonLabels.team }}'}
    responders: [{name: '{{ .CommonLabels.team }}-oncall', type: team}]
  victorops_configs:
  - api_key: k
    routing_key: 'rk-{{ .CommonLabels.team }}'
    custom_fields: {where: '{{ .CommonLabels.alertname }}'}
""", "o.yml", version=(0, 25))
    previews = {p["integration"]: p for p in preview_receiver(cfg, "r", [Alert({"alertname": "A", "team": "t"})],
                                                              now=AT)}
    og = previews["opsgenie_configs[0]"]["fields"]
    assert og["details.team"] == "t" and og["responders[0].name"] == "t-oncall" and og["responders[0].type"] == "team"
    assert "api_key" not in og  # secrets are never rendered or shown
    vo = previews["victorops_configs[0]"]["fields"]
    assert vo["routing_key"] == "rk-t" and vo["custom_fields.where"] == "A" and "api_key" not in vo


@pytest.mark.oracle
@pytest.mark.parametrize("html", [False, True])
def test_r4_oracle_pushover_through_intercepting_proxy(tmp_path: Path, html: bool) -> None:
    """Pushover's API URL is fixed in Alertmanager: its request is caught by a local proxy that terminates the
    TLS tunnel. url, url_title, title, message (html/template with `html: true`), priority as sent."""
    from urllib.parse import parse_qs, urlsplit

    from tests.alertmanager.amserver import TLSInterceptProxy

    binary = find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [{"labels": {"alertname": "Foo<&>", "instance": "i1"}, "annotations": {"summary": "a < b"}}]
    with TLSInterceptProxy(tmp_path) as proxy:
        text = (REPRO / "r4_pushover.yml").read_text().replace(
            "receiver: p\n", "receiver: p\n  group_by: [alertname]\n  group_wait: 1s\n", 1) + (
            f"    http_config: {{proxy_url: 'http://127.0.0.1:{proxy.port}', "
            "tls_config: {insecure_skip_verify: true}}\n"
            "    message: '{{ .CommonAnnotations.summary }} {{ .CommonLabels.alertname }}'\n"
            + (f"    html: {str(html).lower()}\n"))
        cfg_path = tmp_path / "am.yml"
        cfg_path.write_text(text)
        with alertmanager(binary, cfg_path, tmp_path) as url:
            post_alerts(url, alerts)
            method, target, _body = proxy.wait_for(1)[0]
    sent = {k: v[0] for k, v in parse_qs(urlsplit(target).query, keep_blank_values=True).items()}
    assert method == "POST" and target.startswith("/1/messages.json")
    (p,) = preview_receiver(load_config(cfg_path, version=(0, 25)), "p", load_alerts_from(tmp_path, alerts),
                            now=now, external_url=url)
    for key in ("url", "url_title", "title", "message", "priority"):
        assert sent[key] == p["fields"][key], key
    assert sent["url"] == "https://runbooks.example.org/Foo<&>"
    assert sent["message"] == ("a &lt; b Foo&lt;&amp;&gt;" if html else "a < b Foo<&>")


@pytest.mark.oracle
def test_opsgenie_and_victorops_oracle(tmp_path: Path) -> None:
    """OpsGenie details/responders and VictorOps routing key/custom fields equal what Alertmanager 0.25 sends."""
    find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [{"labels": {"alertname": "A", "team": "t", "instance": f"i{i}"}} for i in (1, 2)]
    config = """route: {receiver: r, group_wait: 1s, group_by: [alertname]}
receivers:
- name: r
  opsgenie_configs:
  - api_key: k
    api_url: CAPTURE/og/
    details: {team: '{{ .CommonLabels.team }}', n: '{{ len .Alerts }}'}
    responders: [{name: '{{ .CommonLabels.team }}-oncall', type: team}]
    tags: 'x,{{ .CommonLabels.alertname }}'
    note: 'note {{ .Status }}'
    priority: P2
  victorops_configs:
  - api_key: k
    api_url: CAPTURE/vo/
    routing_key: 'rk-{{ .CommonLabels.team }}'
    custom_fields: {where: '{{ .CommonLabels.alertname }}'}
"""
    with Capture() as cap:
        got, url = _run_am(tmp_path, cap, config, alerts, 2)
    og = next(b for p, b in got if p.startswith("/og/"))
    vo_path, vo = next((p, b) for p, b in got if p.startswith("/vo/"))
    cfg = loads_config(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"), "am.yml", version=(0, 25))
    previews = {p["integration"]: p for p in preview_receiver(cfg, "r", load_alerts_from(tmp_path, alerts),
                                                              now=now, external_url=url)}
    f = previews["opsgenie_configs[0]"]["fields"]
    assert og["message"] == f["message"] and og["description"] == f["description"] and og["source"] == f["source"]
    # the common labels, then the configured details
    assert og["details"] == {k[8:]: v for k, v in f.items() if k.startswith("details.")} == {
        "alertname": "A", "team": "t", "n": "2"}
    assert og["responders"] == [{"name": f["responders[0].name"], "type": "team"}]
    assert og["note"] == f["note"] and og["priority"] == f["priority"]
    assert og["tags"] == [t for t in f["tags"].split(",") if t]
    g = previews["victorops_configs[0]"]["fields"]
    assert vo_path == f"/vo/k/{g['routing_key']}" == "/vo/k/rk-t"
    assert vo["where"] == g["custom_fields.where"] == "A"
    for key in ("message_type", "state_message", "entity_display_name", "monitoring_tool"):
        assert vo[key] == g[key], key


@pytest.mark.oracle
def test_discord_and_webex_oracle(tmp_path: Path) -> None:
    """Discord title/message and Webex message (default templates) equal what Alertmanager 0.25 sends."""
    find_tool("prometheus-alertmanager")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [{"labels": {"alertname": "A", "instance": f"i{i}"}, "annotations": {"summary": "s <b>"}}
              for i in (1, 2)]
    config = """route: {receiver: r, group_wait: 1s, group_by: [alertname]}
receivers:
- name: r
  discord_configs:
  - webhook_url: CAPTURE/discord
  webex_configs:
  - api_url: CAPTURE/webex
    room_id: room
    http_config: {authorization: {credentials: c}}
"""
    with Capture() as cap:
        got, url = _run_am(tmp_path, cap, config, alerts, 2)
    discord = next(b for p, b in got if p == "/discord")
    webex = next(b for p, b in got if p == "/webex")
    cfg = loads_config(config.replace("CAPTURE", f"http://127.0.0.1:{cap.port}"), "am.yml", version=(0, 25))
    previews = {p["integration"]: p for p in preview_receiver(cfg, "r", load_alerts_from(tmp_path, alerts),
                                                              now=now, external_url=url)}
    d = previews["discord_configs[0]"]["fields"]
    (embed,) = discord["embeds"]
    assert embed["title"] == d["title"] and embed["description"] == d["message"]
    assert webex["markdown"] == previews["webex_configs[0]"]["fields"]["message"]
