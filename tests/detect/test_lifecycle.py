"""`opsctl detect ack | remediate | status`: acknowledgements stop repeats until resolution or expiry, are in
the history; remediation on purpose goes through the allow-list, switch, retries and audit."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

from opsctl.detect.state import State
from tests.conftest import run_opsctl
from tests.detect.helpers import T0, config, run, write_series
from tests.detect.servers import Capture


def _hook(capture: Capture) -> str:
    return f'    hook: {{type: webhook, url: "{capture.url}/hook"}}\n'


def test_ack_stops_repeats_until_resolved(tmp_path: Path, capture: Capture) -> None:
    cfg = config(tmp_path, _hook(capture))
    write_series(tmp_path / "series.csv", {"a": True, "b": False})
    assert run(cfg).counts["notifications"] == 1
    r = run_opsctl("detect", "ack", "cpu-outlier", "-c", str(cfg), "--comment", "looking at it", "--author", "eve",
                   "-f", "json")
    assert r.returncode == 0, r.stderr
    fp = json.loads(r.stdout)["acked"][0]["fingerprint"]
    # past the dedup window: no repeat while acked
    rep = run(cfg, T0 + timedelta(minutes=70))
    assert rep.notifications == [] and rep.counts["deduplicated"] == 1
    hist = json.loads(run_opsctl("detect", "history", "-c", str(cfg), "-f", "json").stdout)
    assert [e["event"] for e in hist["events"]] == ["firing", "acked"]
    assert "eve" in hist["events"][1]["message"] and "looking at it" in hist["events"][1]["message"]
    st = json.loads(run_opsctl("detect", "status", "-c", str(cfg), "-f", "json").stdout)
    assert st["firing"][0]["acked"] and st["firing"][0]["acked_by"] == "eve"
    assert st["last_run"]["exit_code"] == 1
    text = run_opsctl("detect", "status", "-c", str(cfg)).stdout
    assert "acked by eve" in text and "cpu-outlier" in text
    # resolution ends the ack: the next occurrence is notified again, and repeats again
    write_series(tmp_path / "series.csv", {"a": False, "b": False})
    assert [n["event"] for n in run(cfg, T0 + timedelta(minutes=80)).notifications] == ["resolved"]
    assert State(tmp_path / "state.db").acks() == []
    write_series(tmp_path / "series.csv", {"a": True, "b": False})
    assert [n["event"] for n in run(cfg, T0 + timedelta(minutes=90)).notifications] == ["firing"]
    assert [n["event"] for n in run(cfg, T0 + timedelta(minutes=160)).notifications] == ["repeat"]
    assert fp


def test_ack_expires_and_bad_targets(tmp_path: Path, capture: Capture) -> None:
    cfg = config(tmp_path, _hook(capture))
    write_series(tmp_path / "series.csv", {"a": True, "b": False})
    run(cfg)
    fp = sqlite3.connect(tmp_path / "state.db").execute("SELECT fingerprint FROM alerts").fetchone()[0]
    st = State(tmp_path / "state.db")
    st.ack(T0.timestamp(), fp, "cpu-outlier", T0.timestamp() + 1800, "eve", "")  # 30 minutes
    st.commit()
    st.close()
    assert [n["event"] for n in run(cfg, T0 + timedelta(minutes=70)).notifications] == ["repeat"]
    r = run_opsctl("detect", "ack", "nope", "-c", str(cfg))
    assert r.returncode == 2 and "no firing alert" in r.stderr
    r = run_opsctl("detect", "ack", fp[:8], "-c", str(cfg), "--for", "2h")
    assert r.returncode == 0 and fp in r.stdout
    r = run_opsctl("detect", "ack", fp, "-c", str(cfg), "--for", "soon")
    assert r.returncode == 2 and "--for" in r.stderr


def test_remediate_on_purpose(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    rem = f"""remediation:
  enabled: true
  allowed_commands: ["{sys.executable}"]
  actions:
    touch: {{type: command, argv: ["{sys.executable}", "-c", "open('{marker}', 'a').write('x')"]}}
    failing: {{type: command, argv: ["{sys.executable}", "-c", "raise SystemExit(3)"], retries: 1}}
"""
    cfg = config(tmp_path, extra=rem, detectors="    remediate: [touch]\n")
    write_series(tmp_path / "series.csv", {"a": False})
    r = run_opsctl("detect", "remediate", "cpu-outlier", "-c", str(cfg), "--dry-run")
    assert r.returncode == 0 and "dry run" in r.stdout and not marker.exists()
    r = run_opsctl("detect", "remediate", "cpu-outlier", "-c", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    assert marker.read_text() == "x"
    hist = json.loads(run_opsctl("detect", "history", "-c", str(cfg), "-f", "json").stdout)
    assert [x["action"] for x in hist["remediations"]] == ["touch"] and hist["remediations"][0]["ok"] == 1
    assert hist["events"][-1]["event"] == "remediate"
    r = run_opsctl("detect", "remediate", "nope", "-c", str(cfg))
    assert r.returncode == 2 and "no detector" in r.stderr
    cfg2 = config(tmp_path, extra=rem, detectors="    remediate: [failing]\n")
    r = run_opsctl("detect", "remediate", "cpu-outlier", "-c", str(cfg2))
    assert r.returncode == 1 and "FAILED after 2 attempt(s)" in r.stdout
    cfg3 = config(tmp_path, extra=rem.replace("enabled: true", "enabled: false"), detectors="    remediate: [touch]\n")
    r = run_opsctl("detect", "remediate", "cpu-outlier", "-c", str(cfg3))
    assert r.returncode == 1 and "disabled" in r.stdout and marker.read_text() == "x"


def test_status_watch_refreshes(tmp_path: Path) -> None:
    from opsctl.cli.detect_live import render_status, status_doc
    from opsctl.detect.config import load_config

    cfg = config(tmp_path)
    doc = status_doc(load_config(cfg))
    assert doc["last_run"] is None and doc["detectors"][0]["name"] == "cpu-outlier"
    assert "last run: never" in render_status(doc)
    from opsctl.cli.am_live import watch_loop

    calls = []
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        watch_loop(lambda: calls.append(1) or "x\n", 0.01, count=3)
    assert len(calls) == 3 and buf.getvalue().count("Every 0.01s") == 3
