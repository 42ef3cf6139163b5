"""Multi-tenant Alertmanagers (Mimir/Cortex): one logical silence per tenant, each request with its own
X-Scope-OrgID, through a path prefix; secrets stay out of the output."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_opsctl


class FakeMimirAM:
    """/alertmanager/api/v2/{silences,silence/ID,alerts} per tenant; 401 without the bearer token."""

    def __init__(self, token: str) -> None:
        self.silences: dict[str, list[dict[str, Any]]] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        store = self

        class H(BaseHTTPRequestHandler):
            def _send(self, code: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _tenant(self) -> str | None:
                store.seen.append((self.command, self.path, self.headers.get("X-Scope-OrgID")))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    self._send(401, "unauthorized")
                    return None
                t = self.headers.get("X-Scope-OrgID")
                if not t:
                    self._send(401, "no org id")
                    return None
                return t

            def do_GET(self) -> None:
                t = self._tenant()
                if t is None:
                    return
                if self.path.startswith("/alertmanager/api/v2/silences"):
                    self._send(200, store.silences.get(t, []))
                elif self.path.startswith("/alertmanager/api/v2/alerts"):
                    self._send(200, [])
                else:
                    self._send(404, "not found")

            def do_POST(self) -> None:
                t = self._tenant()
                if t is None:
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/api/v2/alerts"):  # accepted, never shown: a broken pipeline
                    self._send(200, None)
                    return
                sid = f"{t}-{len(store.silences.get(t, [])) + 1}"
                store.silences.setdefault(t, []).append({**body, "id": sid, "status": {"state": "active"}})
                self._send(200, {"silenceID": sid})

            def do_DELETE(self) -> None:
                t = self._tenant()
                if t is None:
                    return
                for s in store.silences.get(t, []):
                    if self.path.endswith("/" + s["id"]):
                        s["status"]["state"] = "expired"
                self._send(200, None)

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alertmanager"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def mimir() -> Iterator[FakeMimirAM]:
    m = FakeMimirAM("mimir-token-abcdef")
    yield m
    m.server.shutdown()
    m.server.server_close()


def test_one_silence_per_tenant(mimir: FakeMimirAM, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "OPSCTL_ALERTMANAGER_URL": mimir.url,
           "OPSCTL_ALERTMANAGER_TOKEN": "mimir-token-abcdef"}
    r = run_opsctl("alertmanager", "silence", "add", "Maint", "--comment", "x", "--tenant", "team-a",
                   "--tenant", "team-b", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["team-a-1", "team-b-1"]
    assert {t for m, _, t in mimir.seen if m == "POST"} == {"team-a", "team-b"}
    q = json.loads(run_opsctl("alertmanager", "silence", "query", "-f", "json", "--tenant", "team-a", "--tenant",
                              "team-b", env=env).stdout)
    assert len(q["silences"]) == 1 and len(q["silences"][0]["copies"]) == 2
    r = run_opsctl("alertmanager", "silence", "expire", "team-a-1", "--tenant", "team-a", "--tenant", "team-b",
                   env=env)
    assert r.returncode == 0, r.stderr
    assert all(s["status"]["state"] == "expired" for ss in mimir.silences.values() for s in ss)


def test_wrong_token_and_missing_tenant_are_one_line(mimir: FakeMimirAM, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "OPSCTL_ALERTMANAGER_URL": mimir.url, "OPSCTL_ALERTMANAGER_TOKEN": "bad-token-777"}
    r = run_opsctl("alertmanager", "silence", "query", "--tenant", "team-a", env=env)
    assert r.returncode == 2 and "401" in r.stderr and "unauthorized" in r.stderr
    assert "bad-token-777" not in r.stderr + r.stdout and len(r.stderr.strip().splitlines()) == 1
    r = run_opsctl("alertmanager", "silence", "add", 'job=~"(unclosed"', "--tenant", "a", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_test_notify_exit_1_when_the_alert_never_arrives(mimir: FakeMimirAM, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "OPSCTL_ALERTMANAGER_URL": mimir.url,
           "OPSCTL_ALERTMANAGER_TOKEN": "mimir-token-abcdef"}
    r = run_opsctl("alertmanager", "test-notify", "Probe", "team=x", "--tenant", "t1", "--wait", "1s", env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "NOT ARRIVED" in r.stdout and "(config unknown)" in r.stdout
    assert ("POST", "/alertmanager/api/v2/silences", "t1") not in mimir.seen
