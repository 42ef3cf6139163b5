"""Alerting end to end: local HTTP/SMTP stand-ins for Slack, PagerDuty, Telegram, webhooks and email,
dedup, resolve, routing, maintenance, suppression, retries and the spool."""

from __future__ import annotations

import json
import sqlite3
import ssl
import subprocess
from datetime import timedelta
from pathlib import Path

from opsctl.detect.result import make_fingerprint
from tests.detect.helpers import T0, config, run, write_series
from tests.detect.servers import Capture, SmtpSink, free_port


def _receivers(cap: Capture, smtp: SmtpSink) -> str:
    return f"""    hook: {{type: webhook, url: "{cap.url}/hook", headers: {{X-Team: infra}}}}
    chat: {{type: slack, url_env: TEST_SLACK_URL}}
    pager: {{type: pagerduty, url: "{cap.url}/pd", routing_key_env: TEST_PD_KEY, source: test-host}}
    tg: {{type: telegram, chat_id: "42", token_env: TEST_TG_TOKEN, api_url: "{cap.url}/tg"}}
    mail: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: opsctl@example.org, to: [oncall@example.org]}}
"""


def test_fire_dedup_resolve_on_every_receiver(tmp_path: Path, capture: Capture, smtp: SmtpSink,
                                              monkeypatch) -> None:
    monkeypatch.setenv("TEST_SLACK_URL", capture.url + "/slack")
    monkeypatch.setenv("TEST_PD_KEY", "pd-routing-key")
    monkeypatch.setenv("TEST_TG_TOKEN", "123:abc")
    cfg = config(tmp_path, _receivers(capture, smtp))
    write_series(tmp_path / "series.csv", {"a": True, "b": False})
    rep = run(cfg)
    assert rep.exit_code == 1
    assert rep.counts["failures"] == 1 and rep.counts["notifications"] == 1
    assert rep.counts["delivered"] == 5 and rep.counts["spool_pending"] == 0
    fp = make_fingerprint("cpu-outlier", {"__name__": "series", "host": "a", "team": "infra"})
    by_path = {r["path"]: r for r in capture.requests}
    assert set(by_path) == {"/hook", "/slack", "/pd", "/tg/bot123:abc/sendMessage"}
    hook = by_path["/hook"]
    assert hook["headers"]["X-Team"] == "infra"
    assert hook["json"]["alert"]["fingerprint"] == fp and hook["json"]["alert"]["status"] == "firing"
    assert hook["json"]["alert"]["extras"]["type"] == "outlier"
    assert hook["json"]["alert"]["extras"]["observed"] == 200.0
    pd = by_path["/pd"]["json"]
    assert pd["event_action"] == "trigger" and pd["dedup_key"] == fp and pd["routing_key"] == "pd-routing-key"
    assert pd["payload"]["severity"] == "warning" and pd["payload"]["source"] == "test-host"
    assert "[WARNING] cpu-outlier" in by_path["/slack"]["json"]["text"]
    assert by_path["/tg/bot123:abc/sendMessage"]["json"]["chat_id"] == "42"
    assert len(smtp.messages) == 1 and smtp.messages[0]["to"] == ["<oncall@example.org>"]
    assert "Subject: [WARNING] cpu-outlier" in smtp.messages[0]["data"]

    # same problem ten minutes later: remembered, not re-sent
    rep2 = run(cfg, T0 + timedelta(minutes=10))
    assert rep2.counts["deduplicated"] == 1 and rep2.counts["notifications"] == 0
    assert len(capture.requests) == 4 and len(smtp.messages) == 1

    # after the dedup window it is repeated once
    rep3 = run(cfg, T0 + timedelta(minutes=70))
    assert rep3.notifications[0]["event"] == "repeat" and len(capture.requests) == 8

    # cleared: one resolved notification to everybody, PagerDuty resolve with the same dedup_key
    write_series(tmp_path / "series.csv", {"a": False, "b": False})
    rep4 = run(cfg, T0 + timedelta(minutes=80))
    assert rep4.exit_code == 0
    assert [n["event"] for n in rep4.notifications] == ["resolved"]
    pd_resolve = [r["json"] for r in capture.requests if r["path"] == "/pd"][-1]
    assert pd_resolve == {"routing_key": "pd-routing-key", "event_action": "resolve", "dedup_key": fp}
    assert "[RESOLVED]" in smtp.messages[-1]["data"]
    rep5 = run(cfg, T0 + timedelta(minutes=90))
    assert rep5.exit_code == 0 and rep5.notifications == []
    db = sqlite3.connect(tmp_path / "state.db")
    events = [r[0] for r in db.execute("SELECT event FROM events ORDER BY id")]
    assert events == ["firing", "repeat", "resolved"]
    assert db.execute("SELECT count(*) FROM deliveries WHERE ok = 1").fetchone()[0] == 15


def test_routing_by_severity_and_min_severity(tmp_path: Path, capture: Capture) -> None:
    receivers = f"""    page: {{type: webhook, url: "{capture.url}/page"}}
    chat: {{type: webhook, url: "{capture.url}/chat"}}
"""
    routes = """    - {min_severity: critical, receivers: [page]}
    - {severities: [warning, critical], receivers: [chat]}
"""
    detectors = """  - name: info-outlier
    kind: robust_z
    source: metrics
    severity: info
    params: {window: 60}
  - name: crit-outlier
    kind: ewma
    source: metrics
    severity: critical
"""
    cfg = config(tmp_path, receivers, routes, detectors=detectors, alerting="  min_severity: warning")
    write_series(tmp_path / "series.csv", {"a": True})
    rep = run(cfg)
    sent = {(n["detector"], tuple(n["receivers"])) for n in rep.notifications}
    assert sent == {("cpu-outlier", ("chat",)), ("crit-outlier", ("page", "chat"))}
    assert rep.counts["suppressed"] == 1  # the info one is below min_severity, recorded, not sent
    paths = sorted(r["path"] for r in capture.requests)
    assert paths == ["/chat", "/chat", "/page"]


def test_maintenance_then_notify_after(tmp_path: Path, capture: Capture) -> None:
    receivers = f"""    hook: {{type: webhook, url: "{capture.url}/hook"}}
"""
    maint = f"""  maintenance:
    - start: {(T0 - timedelta(hours=1)).isoformat()}
      end: {(T0 + timedelta(hours=1)).isoformat()}
      detectors: ["cpu-*"]
      reason: kernel upgrade
"""
    cfg = config(tmp_path, receivers, alerting=maint)
    write_series(tmp_path / "series.csv", {"a": True})
    rep = run(cfg)
    assert rep.notifications == [] and rep.counts["suppressed"] == 1 and capture.requests == []
    rep = run(cfg, T0 + timedelta(hours=2))  # window over, still broken: now it is sent
    assert [n["event"] for n in rep.notifications] == ["firing"] and len(capture.requests) == 1


def test_suppression_window_per_severity(tmp_path: Path, capture: Capture) -> None:
    receivers = f"""    hook: {{type: webhook, url: "{capture.url}/hook"}}
"""
    supp = """  suppress:
    - {severities: [warning], start: "11:00", end: "13:00", days: [mon]}
"""
    cfg = config(tmp_path, receivers, alerting=supp)
    write_series(tmp_path / "series.csv", {"a": True})
    assert run(cfg).notifications == []  # Monday 12:00 inside the window
    assert capture.requests == []
    rep = run(cfg, T0 + timedelta(hours=1, minutes=30))  # 13:30: outside
    assert len(rep.notifications) == 1 and len(capture.requests) == 1


def test_retry_with_backoff_within_a_run(tmp_path: Path, capture: Capture) -> None:
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "{capture.url}/hook"}}\n')
    write_series(tmp_path / "series.csv", {"a": True})
    capture.fail_next(1, 500)
    rep = run(cfg)
    assert rep.counts["delivered"] == 1 and rep.deliveries[0]["attempts"] == 2
    assert [r["status"] for r in capture.requests] == [500, 200]


def test_receiver_down_is_spooled_and_sent_next_run(tmp_path: Path) -> None:
    port = free_port()
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "http://127.0.0.1:{port}/hook"}}\n')
    write_series(tmp_path / "series.csv", {"a": True, "b": True})
    rep = run(cfg)  # nobody listening
    assert rep.exit_code == 1 and rep.counts["delivery_failures"] == 1 and rep.counts["spool_pending"] == 2
    cap = Capture(port=port)
    try:
        rep2 = run(cfg, T0 + timedelta(minutes=5))
        assert rep2.counts["deduplicated"] == 2 and rep2.counts["delivered"] == 2
        assert rep2.counts["spool_pending"] == 0
        got = sorted(r["json"]["alert"]["labels"]["host"] for r in cap.requests)
        assert got == ["a", "b"]
    finally:
        cap.stop()


def test_dry_run_changes_nothing(tmp_path: Path, capture: Capture) -> None:
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "{capture.url}/hook"}}\n')
    write_series(tmp_path / "series.csv", {"a": True})
    rep = run(cfg, dry_run=True)
    assert rep.exit_code == 1 and len(rep.notifications) == 1 and capture.requests == []
    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM spool").fetchone()[0] == 0
    rep2 = run(cfg)
    assert [n["event"] for n in rep2.notifications] == ["firing"] and len(capture.requests) == 1


def test_detector_error_is_a_failure_and_recovers(tmp_path: Path, capture: Capture) -> None:
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "{capture.url}/hook"}}\n')
    rep = run(cfg)  # series.csv missing
    assert rep.exit_code == 1 and rep.counts["errors"] == 1
    assert "could not run" in rep.results[0].message
    write_series(tmp_path / "series.csv", {"a": False})
    rep2 = run(cfg, T0 + timedelta(minutes=5))
    assert rep2.exit_code == 0
    assert [n["event"] for n in rep2.notifications] == ["resolved"]
    assert json.loads(json.dumps(rep2.to_dict()))["schema_version"] == 1


def test_secrets_stay_out_of_errors_and_history(tmp_path: Path, monkeypatch) -> None:
    secret_url = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRETTOKEN"
    monkeypatch.setenv("TEST_SLACK_URL", secret_url)
    monkeypatch.setenv("TEST_TG_TOKEN", "999:TOPSECRET")
    receivers = f"""    chat: {{type: slack, url_env: TEST_SLACK_URL}}
    tg: {{type: telegram, chat_id: "1", token_env: TEST_TG_TOKEN, api_url: "http://127.0.0.1:{free_port()}"}}
"""
    cfg = config(tmp_path, receivers)
    write_series(tmp_path / "series.csv", {"a": True})
    rep = run(cfg)
    assert rep.counts["delivery_failures"] == 2
    dump = json.dumps(rep.to_dict())
    db = sqlite3.connect(tmp_path / "state.db")
    dump += json.dumps([list(r) for t in ("deliveries", "spool", "events") for r in db.execute(f"SELECT * FROM {t}")])
    assert "SECRETTOKEN" not in dump and "TOPSECRET" not in dump


def test_per_severity_dedup_window(tmp_path: Path, capture: Capture) -> None:
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "{capture.url}/hook"}}\n',
                 alerting="  dedup_windows: {warning: 10m, critical: 1d}")
    write_series(tmp_path / "series.csv", {"a": True})
    run(cfg)
    assert run(cfg, T0 + timedelta(minutes=5)).notifications == []
    rep = run(cfg, T0 + timedelta(minutes=11))  # warning: 10m instead of the global 1h
    assert [n["event"] for n in rep.notifications] == ["repeat"]
    assert len(capture.requests) == 2


def _localhost_tls(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for localhost, written to tmp_path/c.pem."""
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    return ctx


def test_email_with_starttls(tmp_path: Path) -> None:
    sink = SmtpSink(tls=_localhost_tls(tmp_path))
    try:
        receivers = (f"    mail: {{type: email, host: localhost, port: {sink.port}, starttls: true, ca_file: c.pem,\n"
                     "           from: a@example.org, to: [b@example.org]}\n")
        cfg = config(tmp_path, receivers)
        write_series(tmp_path / "series.csv", {"a": True})
        rep = run(cfg)
        assert rep.counts["delivered"] == 1, rep.deliveries
        assert sink.tls_used == [True] and "cpu-outlier" in sink.messages[0]["data"]
    finally:
        sink.stop()


def test_email_with_implicit_tls(tmp_path: Path) -> None:
    sink = SmtpSink(implicit_tls=_localhost_tls(tmp_path))
    try:
        untrusted = (f"    mail: {{type: email, host: localhost, port: {sink.port}, ssl: true,\n"
                     "           from: a@example.org, to: [b@example.org]}\n")
        cfg = config(tmp_path, untrusted)
        write_series(tmp_path / "series.csv", {"a": True})
        rep = run(cfg)  # the server's certificate is not trusted: nothing sent, kept in the spool
        assert rep.counts["delivered"] == 0 and rep.counts["spool_pending"] == 1
        assert "CERTIFICATE_VERIFY_FAILED" in rep.deliveries[0]["error"] and sink.messages == []
        trusted = untrusted.replace("ssl: true,", "ssl: true, ca_file: c.pem,")
        rep = run(config(tmp_path, trusted), T0 + timedelta(minutes=5))
        assert rep.counts["delivered"] == 1 and rep.counts["spool_pending"] == 0, rep.deliveries
        assert sink.tls_used == [True] and "cpu-outlier" in sink.messages[0]["data"]
    finally:
        sink.stop()
