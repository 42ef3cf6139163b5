"""A real Alertmanager receiving the alerts; receivers and opsctl itself killed mid-run lose nothing;
the cron lock; the textfile metrics checked by promtool."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from opsctl.detect.config import load_config
from opsctl.detect.engine import run_lock
from tests.conftest import ROOT, find_tool, run_opsctl
from tests.detect.helpers import T0, cli, config, run, write_series
from tests.detect.servers import Capture, free_port


def _am_alerts(url: str) -> list[dict]:
    return httpx.get(url + "/api/v2/alerts", params={"active": "true", "silenced": "true", "inhibited": "true",
                                                     "unprocessed": "true"}).json()


def test_alertmanager_receives_refreshes_and_resolves(tmp_path: Path, alertmanager: str, am_webhook: Capture) -> None:
    cfg = config(tmp_path, f'    am: {{type: alertmanager, url: "{alertmanager}", ttl: 30m}}\n',
                 detectors="    runbook_url: https://runbooks.example.org/cpu\n    summary: CPU outlier\n")
    write_series(tmp_path / "series.csv", {"amhost": True})
    rep = run(cfg)
    assert rep.counts["delivered"] == 1
    alerts = [a for a in _am_alerts(alertmanager) if a["labels"].get("host") == "amhost"]
    assert len(alerts) == 1
    a = alerts[0]
    assert a["labels"]["alertname"] == "cpu-outlier" and a["labels"]["severity"] == "warning"
    assert a["labels"]["team"] == "infra" and "__name__" not in a["labels"]
    assert a["annotations"]["summary"] == "CPU outlier"
    assert a["annotations"]["runbook_url"] == "https://runbooks.example.org/cpu"
    assert a["status"]["state"] == "active"
    # the next run is deduplicated for chat receivers but refreshes Alertmanager
    rep2 = run(cfg, T0 + timedelta(minutes=5))
    assert rep2.counts["deduplicated"] == 1 and rep2.counts["delivered"] == 1
    # Alertmanager notified its own webhook receiver (group_wait 0s)
    deadline = time.time() + 15
    while time.time() < deadline and not any(
            (r["json"] or {}).get("status") == "firing" and
            any(x["labels"].get("host") == "amhost" for x in r["json"]["alerts"]) for r in am_webhook.requests):
        time.sleep(0.2)
    assert any((r["json"] or {}).get("status") == "firing" for r in am_webhook.requests)
    write_series(tmp_path / "series.csv", {"amhost": False})
    rep3 = run(cfg, T0 + timedelta(minutes=10))
    assert [n["event"] for n in rep3.notifications] == ["resolved"] and rep3.counts["delivered"] == 1
    assert not [a for a in _am_alerts(alertmanager) if a["labels"].get("host") == "amhost"]


def _spawn_run(cfg: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "opsctl", "detect", "run", "--config", str(cfg)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_requests(cap: Capture, n: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while len(cap.requests) < n and time.time() < deadline:
        time.sleep(0.05)
    assert len(cap.requests) >= n


HOSTS = {"h1": True, "h2": True, "h3": True, "h4": True}


def test_receiver_killed_mid_run_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "http://127.0.0.1:{port}/hook"}}\n')
    write_series(tmp_path / "series.csv", HOSTS)
    cap = Capture(port=port)
    cap.delay = 0.3
    proc = _spawn_run(cfg)
    _wait_requests(cap, 1)
    cap.stop()  # the receiver dies while opsctl is delivering
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "kept in the spool" in out
    first = {r["json"]["alert"]["labels"]["host"] for r in cap.requests if r["json"]}
    assert 1 <= len(first) < 4
    cap2 = Capture(port=port)
    try:
        assert run(cfg, datetime.now(UTC)).exit_code == 1  # still firing
        second = {r["json"]["alert"]["labels"]["host"] for r in cap2.requests}
        assert first | second == set(HOSTS)
        doc = json.loads(cli("history", "--config", str(cfg), "--format", "json")[1])
        assert doc["spool"] == []
        assert any(not d["ok"] for d in doc["deliveries"]) and sum(d["ok"] for d in doc["deliveries"]) >= 4
    finally:
        cap2.stop()


def test_opsctl_killed_mid_delivery_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    cfg = config(tmp_path, f'    hook: {{type: webhook, url: "http://127.0.0.1:{port}/hook"}}\n')
    write_series(tmp_path / "series.csv", HOSTS)
    cap = Capture(port=port)
    try:
        cap.delay = 0.5
        proc = _spawn_run(cfg)
        _wait_requests(cap, 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        cap.delay = 0
        assert run(cfg, datetime.now(UTC)).exit_code == 1
        hosts = {x["json"]["alert"]["labels"]["host"] for x in cap.requests}
        assert hosts == set(HOSTS)  # at least once each (the one in flight may come twice)
    finally:
        cap.stop()


def test_lock_prevents_overlap(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    write_series(tmp_path / "series.csv", {"a": False})
    with run_lock(load_config(cfg).lock_path):
        r = run_opsctl("detect", "run", "--config", str(cfg))
    assert r.returncode == 1 and "another run holds the lock" in r.stderr
    r = run_opsctl("detect", "run", "--config", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr


def test_textfile_metrics_pass_promtool(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    cfg = config(tmp_path)
    write_series(tmp_path / "series.csv", {"a": True, "b": False})
    out = tmp_path / "tf" / "opsctl_detect.prom"
    assert cli("run", "--config", str(cfg), "--textfile", str(out))[0] == 1
    text = out.read_text()
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "opsctl_detect_check_failures 1\n" in text
    assert "opsctl_detect_checks 2\n" in text
    assert 'opsctl_detect_detector_ok{detector="cpu-outlier"} 0' in text
    assert not list(out.parent.glob(".*tmp"))
