"""Health checks and remediation against local servers, a real Prometheus and sqlite."""

from __future__ import annotations

import sqlite3
import ssl
import subprocess
import sys
import threading
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require
from tests.detect.helpers import T0, config, run, write_series
from tests.detect.servers import Capture, Exporter


def _cfg(tmp: Path, detectors: str, extra: str = "", sources: str = "") -> Path:
    p = tmp / "d.yaml"
    p.write_text(f"""
state_file: state.db
sources:
  db: {{type: sql, path: app.db}}
{sources}
detectors:
{detectors}
{extra}
""")
    return p


def test_http_probe_status_latency_body(tmp_path: Path, capture: Capture) -> None:
    capture.body = b'{"status":"healthy"}'
    det = f"""  - {{name: ok-probe, kind: http_probe, params: {{url: "{capture.url}/health", body_match: "healthy"}}}}
  - {{name: bad-status, kind: http_probe, params: {{url: "{capture.url}/x", expect_status: [204]}}}}
  - {{name: bad-body, kind: http_probe, params: {{url: "{capture.url}/y", body_match: "^OK$"}}}}
  - {{name: slow, kind: http_probe, params: {{url: "{capture.url}/z", max_latency: 1ms}}}}
"""
    sqlite3.connect(tmp_path / "app.db").close()
    capture.delay = 0.01
    rep = run(_cfg(tmp_path, det))
    res = {r.detector: r for r in rep.results}
    assert res["ok-probe"].ok and res["ok-probe"].extras["status"] == 200
    assert not res["bad-status"].ok and "status 200 (expected 204)" in res["bad-status"].message
    assert not res["bad-body"].ok and "does not match" in res["bad-body"].message
    assert not res["slow"].ok and "latency" in res["slow"].message


def test_http_probe_tls_expiry(tmp_path: Path) -> None:
    require(subprocess.run(["which", "openssl"], capture_output=True).returncode == 0, "openssl missing")
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "5", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        port = srv.server_address[1]
        det = f"""  - {{name: tls, kind: http_probe, params: {{url: "https://localhost:{port}/", tls_min_days: 14,
       ca_file: c.pem}}}}
  - {{name: tls-fine, kind: http_probe, params: {{url: "https://localhost:{port}/", tls_min_days: 2,
       ca_file: c.pem}}}}
  - {{name: tls-untrusted, kind: http_probe, params: {{url: "https://localhost:{port}/"}}}}
  - {{name: tls-unverified, kind: http_probe, params: {{url: "https://localhost:{port}/", tls_min_days: 14,
       verify_tls: false}}}}
"""
        sqlite3.connect(tmp_path / "app.db").close()
        rep = run(_cfg(tmp_path, det))
        res = {r.detector: r for r in rep.results}
        assert not res["tls"].ok and "TLS certificate expires in" in res["tls"].message
        assert 4 < res["tls"].extras["tls_days_left"] <= 5
        assert res["tls-fine"].ok, res["tls-fine"].message
        assert not res["tls-untrusted"].ok and "CERTIFICATE_VERIFY_FAILED" in res["tls-untrusted"].message
        # not verified (self-signed here): the expiry is still read, from the certificate's DER bytes
        assert not res["tls-unverified"].ok and "TLS certificate expires in" in res["tls-unverified"].message
        assert res["tls-unverified"].extras["tls_days_left"] == res["tls"].extras["tls_days_left"]
    finally:
        srv.shutdown()
        srv.server_close()


def test_sql_value_and_freshness(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("CREATE TABLE jobs (id INTEGER, state TEXT, created TEXT)")
    rows = [(i, "stuck" if i < 5 else "done", (T0 - timedelta(minutes=30 - i)).isoformat()) for i in range(10)]
    db.executemany("INSERT INTO jobs VALUES (?,?,?)", rows)
    db.commit()
    det = """  - name: stuck-jobs
    kind: sql_check
    params: {source: db, query: "SELECT count(*) FROM jobs WHERE state = 'stuck'", op: ">", threshold: 3}
  - name: few-stuck
    kind: sql_check
    params: {source: db, query: "SELECT count(*) FROM jobs WHERE state = 'stuck'", op: ">", threshold: 10}
  - name: fresh
    kind: sql_check
    params: {source: db, fresh_query: "SELECT max(created) FROM jobs", max_age: 10m}
  - name: fresh-enough
    kind: sql_check
    params: {source: db, fresh_query: "SELECT max(created) FROM jobs", max_age: 1h}
"""
    rep = run(_cfg(tmp_path, det))
    res = {r.detector: r for r in rep.results}
    assert not res["stuck-jobs"].ok and res["stuck-jobs"].extras["value"] == 5
    assert res["few-stuck"].ok
    assert not res["fresh"].ok and "no fresh rows since" in res["fresh"].message
    assert res["fresh"].extras["age_seconds"] == 21 * 60
    assert res["fresh-enough"].ok


def test_size_growth_across_runs(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    log = tmp_path / "logs"
    log.mkdir()
    (log / "a.log").write_bytes(b"x" * 1000)
    det = """  - {name: logs, kind: size_growth, params: {path: logs, max_growth_bytes: 5000, over: 1h}}
  - {name: logs-cap, kind: size_growth, params: {path: logs/a.log, max_bytes: 3000}}
  - name: db-size
    kind: size_growth
    params: {source: db, query: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
             max_bytes: 1}
"""
    cfg = _cfg(tmp_path, det)
    rep = run(cfg)
    res = {r.detector: r for r in rep.results}
    assert res["logs"].ok and res["logs-cap"].ok and not res["db-size"].ok
    (log / "b.log").write_bytes(b"y" * 6000)
    (log / "a.log").write_bytes(b"x" * 4000)
    rep = run(cfg, T0 + timedelta(minutes=10))
    res = {r.detector: r for r in rep.results}
    assert not res["logs"].ok and res["logs"].extras["growth_bytes"] == 9000
    assert not res["logs-cap"].ok
    rep = run(cfg, T0 + timedelta(hours=3))  # the growth span has passed: only the new baseline counts
    assert {r.detector: r for r in rep.results}["logs"].ok


def test_promql_threshold_against_real_prometheus(tmp_path: Path, prometheus: str, exporter: Exporter) -> None:
    sqlite3.connect(tmp_path / "app.db").close()
    det = """  - {name: demo-high, kind: promql_threshold,
     params: {source: prom, expr: demo_value, op: ">", threshold: 3}}
  - {name: absent, kind: promql_threshold, params: {source: prom, expr: nothing_here, threshold: 1, absent: fail}}
  - {name: broken, kind: promql_threshold, params: {source: prom, expr: "sum(", threshold: 1}}
  - name: demo-anomaly
    kind: zscore
    source: prom
    query: demo_value
    range: 1m
    step: 1s
"""
    src = f"  prom: {{type: prometheus, url: \"{prometheus}\", timeout: 5s, retries: 1}}"
    from datetime import datetime

    rep = run(_cfg(tmp_path, det, sources=src), datetime.now(UTC))
    by = {}
    for r in rep.results:
        by.setdefault(r.detector, []).append(r)
    high = {r.labels["instance_name"]: r.ok for r in by["demo-high"]}
    assert high == {"a": True, "b": False}
    assert not by["absent"][0].ok
    assert by["broken"][0].error and "parse error" in by["broken"][0].message
    assert len(by["demo-anomaly"]) == 2 and all(not r.error for r in by["demo-anomaly"])


def test_remediation_actions(tmp_path: Path, capture: Capture) -> None:
    marker = tmp_path / "ran.txt"
    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    (tmp_path / "series.csv").touch()
    write_series(tmp_path / "series.csv", {"a": True})
    rem = f"""remediation:
  enabled: true
  allowed_commands: ["{sys.executable}"]
  actions:
    touch: {{type: command, argv: ["{sys.executable}", "-c", "open('{marker}', 'w').write('x')"]}}
    hook: {{type: http, url: "{capture.url}/restart", json: {{service: api}}}}
    vacuum: {{type: sql, source: db, statement: VACUUM}}
    failing: {{type: command, argv: ["{sys.executable}", "-c", "raise SystemExit(3)"], retries: 1}}
"""
    cfg = config(tmp_path, extra=rem.replace("remediation:", "remediation:"),
                 detectors="    remediate: [touch, hook, vacuum, failing]\n")
    text = cfg.read_text().replace("sources:\n", "sources:\n  db: {type: sql, path: app.db}\n")
    cfg.write_text(text)
    rep = run(cfg)
    by = {r["action"]: r for r in rep.remediations}
    assert by["touch"]["ok"] and marker.read_text() == "x"
    assert by["hook"]["ok"] and capture.requests[0]["json"] == {"service": "api"}
    assert by["vacuum"]["ok"]
    assert not by["failing"]["ok"] and by["failing"]["attempts"] == 2 and "exit 3" in by["failing"]["output"]
    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("SELECT count(*) FROM remediations").fetchone()[0] == 4
    # only when the problem starts firing, not on every run
    rep2 = run(cfg, T0 + timedelta(minutes=5))
    assert rep2.remediations == []


def test_remediation_is_off_unless_enabled(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    write_series(tmp_path / "series.csv", {"a": True})
    rem = f"""remediation:
  allowed_commands: ["{sys.executable}"]
  actions:
    touch: {{type: command, argv: ["{sys.executable}", "-c", "open('{marker}', 'w').write('x')"]}}
"""
    cfg = config(tmp_path, extra=rem, detectors="    remediate: [touch]\n")
    rep = run(cfg)
    assert rep.remediations[0]["ok"] is None and "disabled" in rep.remediations[0]["skipped"]
    assert not marker.exists()


def test_sqlalchemy_url_source(tmp_path: Path) -> None:
    """A SQLAlchemy URL (here sqlite+pysqlite) goes through SQLAlchemy, not the stdlib shortcut."""
    require(__import__("importlib").util.find_spec("sqlalchemy") is not None, "sqlalchemy not installed ([sql] extra)")
    db = sqlite3.connect(tmp_path / "q.db")
    db.execute("CREATE TABLE m (ts INTEGER, host TEXT, v REAL)")
    db.executemany("INSERT INTO m VALUES (?,?,?)", [(1700000000 + 60 * i, "h", 5.0 + (i % 3) * 0.1) for i in range(99)]
                   + [(1700000000 + 60 * 99, "h", 50.0)])
    db.execute("CREATE TABLE backlog (n INTEGER)")
    db.execute("INSERT INTO backlog VALUES (12)")
    db.commit()
    db.close()
    p = tmp_path / "d.yaml"
    p.write_text(f"""
state_file: state.db
sources:
  sa: {{type: sql, url: "sqlite+pysqlite:///{tmp_path / 'q.db'}"}}
detectors:
  - {{name: backlog, kind: sql_check, params: {{source: sa, query: "SELECT n FROM backlog", op: ">", threshold: 10}}}}
  - name: m-outlier
    kind: robust_z
    source: sa
    query: "SELECT ts AS timestamp, host, v AS value FROM m ORDER BY ts"
    params: {{window: 50}}
""")
    rep = run(p)
    res = {r.detector: r for r in rep.results}
    assert not res["backlog"].ok and res["backlog"].extras["value"] == 12
    assert not res["m-outlier"].ok and res["m-outlier"].labels["host"] == "h"
    assert res["m-outlier"].extras["observed"] == 50.0


@pytest.mark.parametrize("days", ["1", "400", "20000"])  # 20000 days: notAfter past 2049, a GeneralizedTime
def test_certificate_not_after_reads_what_ssl_reads(tmp_path: Path, days: str) -> None:
    from opsctl.detect.checks.http_probe import certificate_not_after

    require(subprocess.run(["which", "openssl"], capture_output=True).returncode == 0, "openssl missing")
    key, crt, der = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "c.der"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", days, "-subj", "/CN=x"], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "x509", "-in", str(crt), "-outform", "DER", "-out", str(der)], check=True)
    decoded = ssl._ssl._test_decode_cert(str(crt))  # type: ignore[attr-defined]
    assert certificate_not_after(der.read_bytes()) == ssl.cert_time_to_seconds(decoded["notAfter"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_certificate_not_after_rejects_garbage_cleanly(data: bytes) -> None:
    from opsctl.detect.checks.http_probe import certificate_not_after

    try:
        certificate_not_after(data)
    except ValueError as exc:
        assert str(exc).startswith("malformed certificate")
