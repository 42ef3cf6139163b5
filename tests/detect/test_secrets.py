"""Secrets never leave the process (issue 11 point 2; reproducers security/secrets/webhook.yaml and
prom-userinfo.yaml).

The canary test plants a distinct secret in every configurable secret place - each detect receiver
(slack, pagerduty, telegram, webhook, email, alertmanager) by `*_env` and by `*_file`, the Prometheus
source (bearer token, basic-auth password, password in the URL), `slo report`'s OPSCTL_PROMETHEUS_TOKEN and
`alertmanager render` secrets - runs every command that uses them against a 127.0.0.1 server that fails
every request and echoes the request (path, headers, body) back in its error body, and then looks for
every canary in all output and in every file written.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsctl import secrets
from tests.detect.servers import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


class Echo:
    """Answers every request with 500 and the request itself (path, headers, body) as the error body:
    the worst case of a server that quotes what it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
                echo.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                out = json.dumps({"error": "nope", "path": self.path, "headers": dict(self.headers),
                                  "body": body}).encode()
                self.send_response(500)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo() -> Iterator[Echo]:
    e = Echo()
    yield e
    e.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


def _opsctl(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CANARY", "OPSCTL_"))}
    full.update(env, NO_COLOR="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "opsctl", *args], env=full, cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


SERIES = "timestamp,value\n" + "".join(f"{1700000000 + 60 * i},{100 + (i % 3)}\n" for i in range(60)) + \
    f"{1700000000 + 60 * 60},500\n"


def test_canaries_never_leave_the_process(tmp_path: Path, echo: Echo, smtp: SmtpSink) -> None:
    canary: dict[str, str] = {
        name: f"CANARY-{name}-{i:02d}x7q" for i, name in enumerate(
            ("slack-env", "slack-file", "pd-env", "pd-file", "tg-env", "tg-file", "hook-env", "hook-bearer",
             "smtp-env", "smtp-file", "am-env", "am-file", "prom-token", "prom-pass", "prom-urlpass",
             "slo-token", "render-env", "render-file"))
    }
    work = tmp_path / "work"
    work.mkdir()
    secret_dir = tmp_path / "secrets"  # the secret files themselves are not output: not searched
    secret_dir.mkdir()

    def sfile(name: str, text: str) -> str:
        p = secret_dir / name
        p.write_text(text + "\n")  # a trailing newline, as `echo token > file` writes
        return str(p)

    env = {  # each with the trailing newline of a Kubernetes secret passed through the environment
        "SLACK_URL": f"{echo.url}/slack/{canary['slack-env']}\n",
        "PD_KEY": canary["pd-env"] + "\n",
        "TG_TOKEN": canary["tg-env"] + "\n",
        "HOOK_URL": f"{echo.url}/hook/{canary['hook-env']}\n",
        "HOOK_BEARER": canary["hook-bearer"] + "\n",
        "SMTP_PASS": canary["smtp-env"] + "\n",
        "AM_TOKEN": canary["am-env"] + "\n",
        "PROM_TOKEN": canary["prom-token"] + "\n",
    }
    (work / "series.csv").write_text(SERIES)
    cfg = work / "detectors.yaml"
    cfg.write_text(f"""
version: 1
state_file: state/detect.db
sources:
  file: {{type: file, path: series.csv}}
  prom-token: {{type: prometheus, url: "{echo.url}/prom", bearer_token_env: PROM_TOKEN, retries: 0, timeout: 5s}}
  prom-pass: {{type: prometheus, url: "{echo.url}/prom", username: u,
               password_file: "{sfile('prom-pass', canary['prom-pass'])}", retries: 0, timeout: 5s}}
  prom-url: {{type: prometheus, url: "http://admin:{canary['prom-urlpass']}@127.0.0.1:{echo.port}/prom",
              retries: 0, timeout: 5s}}
detectors:
  - {{name: spike, kind: robust_z, source: file, severity: critical, params: {{window: 30}}}}
  - {{name: p1, kind: promql_threshold, params: {{source: prom-token, expr: up, threshold: 1}}}}
  - {{name: p2, kind: promql_threshold, params: {{source: prom-pass, expr: up, threshold: 1}}}}
  - {{name: p3, kind: promql_threshold, params: {{source: prom-url, expr: up, threshold: 1}}}}
alerting:
  delivery: {{attempts: 1, backoff: 0s, timeout: 5s}}
  receivers:
    slack-env: {{type: slack, url_env: SLACK_URL}}
    slack-file: {{type: slack, url_file: "{sfile('slack', f'{echo.url}/slack/{canary["slack-file"]}')}"}}
    pd-env: {{type: pagerduty, url: "{echo.url}/pd", routing_key_env: PD_KEY}}
    pd-file: {{type: pagerduty, url: "{echo.url}/pd", routing_key_file: "{sfile('pd', canary['pd-file'])}"}}
    tg-env: {{type: telegram, chat_id: "1", api_url: "{echo.url}", token_env: TG_TOKEN}}
    tg-file: {{type: telegram, chat_id: "1", api_url: "{echo.url}", token_file: "{sfile('tg', canary['tg-file'])}"}}
    hook: {{type: webhook, url_env: HOOK_URL, bearer_token_env: HOOK_BEARER}}
    mail-env: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: a@example.org, to: [b@example.org],
               username: u, password_env: SMTP_PASS, timeout: 5}}
    mail-file: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: a@example.org, to: [b@example.org],
                username: u, password_file: "{sfile('smtp', canary['smtp-file'])}", timeout: 5}}
    am-env: {{type: alertmanager, url: "{echo.url}/am", bearer_token_env: AM_TOKEN}}
    am-file: {{type: alertmanager, url: "{echo.url}/am", bearer_token_file: "{sfile('am', canary['am-file'])}"}}
""")
    outputs: list[str] = []

    def run(*args: str, extra: dict[str, str] | None = None, expect: tuple[int, ...] = (0, 1)) -> str:
        res = _opsctl(list(args), {**env, **(extra or {})}, work)
        outputs.extend([res.stdout, res.stderr])
        assert res.returncode in expect, (args, res.returncode, res.stderr)
        return res.stdout + res.stderr

    run("detect", "validate", "-c", str(cfg))
    first = run("detect", "run", "-c", str(cfg))
    assert "delivery to hook failed (HTTP 500" in first  # the deliveries did fail, with the echo as error
    run("detect", "run", "-c", str(cfg), "--format", "json")  # retries the spool: fails again
    run("detect", "run", "-c", str(cfg), "--quiet", "--exit-code", "new")
    run("detect", "history", "-c", str(cfg))
    run("detect", "history", "-c", str(cfg), "--format", "json")
    run("detect", "spool", "-c", str(cfg), "--format", "json")
    run("detect", "spool", "-c", str(cfg), "--export", str(work / "spool.jsonl"))
    # slo report against the failing server, token from the environment with a trailing newline
    slo = work / "slo.yaml"
    slo.write_text("""version: prometheus/v1
service: api
slos:
  - name: avail
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting: {name: ApiAvail}
""")
    out = run("slo", "report", str(slo), "--prometheus", f"{echo.url}/slo", "--timeout", "5",
              extra={"OPSCTL_PROMETHEUS_TOKEN": canary["slo-token"] + "\n"}, expect=(1, 2))
    assert "HTTP 500" in out
    # alertmanager render: secrets from the environment and from a file
    tpl = work / "am.yml.j2"
    tpl.write_text("route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n"
                   "      - url: 'http://127.0.0.1/{{ secrets.a }}/{{ secrets.b }}'\n")
    vals = work / "values.yaml"
    vals.write_text(f"secrets:\n  a: {{env: RENDER_A}}\n  b: {{file: {sfile('render', canary['render-file'])}}}\n")
    rendered = tmp_path / "rendered.yml"  # holds the real secrets on purpose: checked for mode, not content
    run("alertmanager", "render", str(tpl), "--values", str(vals), extra={"RENDER_A": canary["render-env"] + "\n"},
        expect=(0, 1))
    run("alertmanager", "render", str(tpl), "--values", str(vals), "--output", str(rendered),
        extra={"RENDER_A": canary["render-env"] + "\n"}, expect=(0, 1))
    assert stat.S_IMODE(rendered.stat().st_mode) == 0o600
    assert canary["render-env"] + "/" + canary["render-file"] in rendered.read_text()  # newline stripped

    # the servers did get the secrets, each without its trailing newline
    seen = json.dumps(echo.requests)
    for name in ("slack-env", "slack-file", "pd-env", "pd-file", "tg-env", "tg-file", "am-env", "am-file",
                 "prom-token", "hook-env", "hook-bearer", "slo-token"):
        assert canary[name] in seen, name
    auth = [r["headers"].get("Authorization", "") for r in echo.requests]
    assert f"Bearer {canary['hook-bearer']}" in auth and f"Bearer {canary['prom-token']}" in auth
    assert f"Bearer {canary['slo-token']}" in auth

    inputs = {"series.csv", "detectors.yaml", "slo.yaml", "am.yml.j2", "values.yaml"}  # written by the test
    files = [p for p in work.rglob("*") if p.is_file() and p.name not in inputs]
    assert any(p.name == "detect.db" for p in files) and (work / "spool.jsonl").exists()
    texts = outputs + [p.read_bytes().decode("utf-8", "replace") for p in files]
    blob = "\n".join(texts)
    assert blob.count("<secret>") > 0
    basic = [base64.b64encode(f"{u}:{canary[c]}".encode()).decode() for u, c in (("u", "prom-pass"),
                                                                                 ("admin", "prom-urlpass"))]
    assert all(b in seen for b in basic)  # the servers got them as Basic credentials...
    for b in basic:
        assert b not in blob  # ...which an echo must not bring back into the output
    for name, value in canary.items():
        for form in {value, quote(value, safe="")}:
            assert form not in blob, f"canary {name} leaked"
    for p in (work / "state" / "detect.db", work / "spool.jsonl", work / "state" / "detect.db.lock"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_state_file_made_private_when_found_world_readable(tmp_path: Path) -> None:
    from opsctl.detect.state import State

    db = tmp_path / "s.db"
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    State(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# ---- the redaction layer itself ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    secrets.forget_all()


def test_env_and_file_lose_exactly_one_trailing_newline(tmp_path: Path) -> None:
    assert secrets.from_env("X", {"X": "tok\n"}) == "tok"
    assert secrets.from_env("X", {"X": "tok\r\n"}) == "tok"
    assert secrets.from_env("X", {"X": "tok\n\n"}) == "tok\n"
    assert secrets.from_env("X", {"X": " tok"}) == " tok"
    assert secrets.from_env("X", {}) is None
    f = tmp_path / "t"
    f.write_text("abcdef\n")
    assert secrets.from_file(f) == "abcdef"


def test_redact_registered_values_and_url_userinfo() -> None:
    secrets.register("s3cr3t/token+x")
    text = ("Illegal header value b'Bearer s3cr3t/token+x\\n' at http://bob:hunter22@h:1/x?t=s3cr3t%2Ftoken%2Bx "
            "and postgresql://u:pw@db/x and s3cr3t/token+x")
    out = secrets.redact(text)
    assert "s3cr3t" not in out and "hunter22" not in out and ":pw@" not in out
    assert "http://<secret>@h:1/x" in out
    assert secrets.redact("mail bob@example.org, see http://example.org/a@b") == \
        "mail bob@example.org, see http://example.org/a@b"


def test_credential_headers_are_remembered() -> None:
    secrets.register_headers({"Authorization": "Bearer hdr-secret-1", "X-Api-Key": "hdr-secret-2",
                              "X-Scope-OrgID": "tenant-one"})
    out = secrets.redact("hdr-secret-1 hdr-secret-2 tenant-one")
    assert out == "<secret> <secret> tenant-one"


def test_short_values_are_not_remembered() -> None:
    secrets.register("abc")
    assert secrets.redact("abc abc") == "abc abc"


def test_input_error_messages_are_redacted() -> None:
    from opsctl.errors import InputError

    secrets.register("zz-secret-zz")
    err = InputError("query failed: Bearer zz-secret-zz", "<prometheus>")
    assert "zz-secret-zz" not in str(err) and "zz-secret-zz" not in err.message


# a secret holding < or > could be re-formed from the mask `<secret>` and its neighbours: not a leak
@given(st.text(min_size=4, max_size=30).filter(lambda s: s.strip() == s and not {"<", ">"} & set(s)),
       st.text(max_size=40), st.text(max_size=40))
def test_property_a_registered_secret_never_survives(secret: str, before: str, after: str) -> None:
    secrets.register(secret)
    try:
        out = secrets.redact(before + secret + after)
        assert secret not in out
        assert repr(secret)[1:-1] not in secrets.redact(repr(before + secret + after))
    finally:
        secrets.forget_all()


# ---- the reproducers of security/secrets/ ---------------------------------------------------------------


def test_repro_webhook_bearer_with_trailing_newline_is_delivered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """webhook.yaml: a bearer token ending in a newline (a Kubernetes secret through the environment) used
    to fail every delivery with the whole token in the error, the output, the history and the state."""
    from tests.detect.helpers import cli, config, write_series
    from tests.detect.servers import Capture

    cap = Capture()
    try:
        write_series(tmp_path / "series.csv", {"a": True})
        monkeypatch.setenv("HOOK_URL", f"{cap.url}/ok\n")
        monkeypatch.setenv("HOOK_BEARER", "k8s-BEARER-SECRET-B\n")
        cfg = config(tmp_path, "    hook-env: {type: webhook, url_env: HOOK_URL, bearer_token_env: HOOK_BEARER}")
        code, out = cli("run", "--config", str(cfg))
        assert code == 1 and "1 delivered, 0 delivery failures" in out
        assert [r["headers"]["Authorization"] for r in cap.requests] == ["Bearer k8s-BEARER-SECRET-B"]
        assert cap.requests[0]["path"] == "/ok"
    finally:
        cap.stop()
    hist = cli("history", "--config", str(cfg), "--format", "json")[1]
    assert json.loads(hist)["deliveries"][0]["ok"] == 1
    assert b"k8s-BEARER" not in (tmp_path / "state.db").read_bytes()


def test_repro_prometheus_url_password_is_redacted(tmp_path: Path, echo: Echo) -> None:
    """prom-userinfo.yaml: a password in the Prometheus source URL used to be printed, stored and, as the
    detector's error, sent to receivers as alert text."""
    from tests.detect.helpers import cli

    cfg = tmp_path / "d.yaml"
    cfg.write_text(f"""version: 1
state_file: state3/detect.db
sources:
  prom: {{type: prometheus, url: "http://admin:SRCPASS-SECRET@127.0.0.1:{echo.port}/fail", retries: 0, timeout: 2s}}
detectors:
  - name: p
    kind: promql_threshold
    params: {{source: prom, expr: up, threshold: 1}}
alerting:
  receivers:
    hook: {{type: webhook, url: "{echo.url}/hook"}}
""")
    code, out = cli("run", "--config", str(cfg), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["results"][0]["error"] is True
    assert f"http://<secret>@127.0.0.1:{echo.port}/fail/api/v1/query" in doc["results"][0]["message"]
    sent = [r for r in echo.requests if r["path"] == "/hook"]
    assert sent and "<secret>" in sent[0]["body"]  # the alert text sent to the receiver
    everything = out + json.dumps(sent) + cli("history", "--config", str(cfg))[1]
    everything += (tmp_path / "state3" / "detect.db").read_bytes().decode("utf-8", "replace")
    assert "SRCPASS" not in everything
    assert base64.b64encode(b"admin:SRCPASS-SECRET").decode() not in everything  # the echoed Basic header
