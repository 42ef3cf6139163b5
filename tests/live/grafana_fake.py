"""A local stand-in for Grafana's HTTP API that checks the documented request shapes.

Serves GET /api/health ({"commit","database","version"}), GET /api/org, POST /api/annotations (body: optional
dashboardUID string, optional panelId int, time and timeEnd in epoch milliseconds, tags list of strings,
text string required; answers {"message":"Annotation added","id":N}) and PATCH /api/annotations/:id (any of
time, timeEnd, text, tags; answers {"message":"Annotation patched"}). Requests without
`Authorization: Bearer <token>` get 401; a body of the wrong shape gets 400 and is recorded in `errors`.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_KEYS = {"dashboardUID", "dashboardId", "panelId", "time", "timeEnd", "tags", "text"}


def _shape_errors(body: Any, patch: bool) -> list[str]:
    errs: list[str] = []
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    extra = set(body) - _KEYS
    if extra:
        errs.append(f"unknown fields {sorted(extra)}")
    if not patch and not isinstance(body.get("text"), str):
        errs.append("text (string) is required")
    for k in ("time", "timeEnd", "panelId", "dashboardId"):
        if k in body and (not isinstance(body[k], int) or isinstance(body[k], bool)):
            errs.append(f"{k} must be an integer")
    for k in ("time", "timeEnd"):
        if isinstance(body.get(k), int) and not 10**12 <= body[k] < 10**14:
            errs.append(f"{k} must be epoch milliseconds")
    if "dashboardUID" in body and not isinstance(body["dashboardUID"], str):
        errs.append("dashboardUID must be a string")
    if "tags" in body and not (isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])):
        errs.append("tags must be a list of strings")
    if patch and not set(body) & {"time", "timeEnd", "text", "tags"}:
        errs.append("nothing to patch")
    return errs


class FakeGrafana:
    def __init__(self, token: str = "glsa_test_token_1234", version: str = "10.4.2", fail_posts: int = 0) -> None:
        self.token = token
        self.annotations: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.errors: list[str] = []
        self.fail_posts = fail_posts
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authed(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._send(401, {"message": "Unauthorized"})
                    return False
                return True

            def _body(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    return json.loads(raw)
                except ValueError:
                    return None

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                parts = urlsplit(self.path)
                if parts.path == "/api/annotations":
                    if not self._authed():
                        return
                    q = parse_qs(parts.query)
                    tags = q.get("tags", [])
                    lo = int(q.get("from", ["0"])[0])
                    hi = int(q.get("to", [str(10**15)])[0])
                    with fake.lock:
                        found = [{"id": i, **a} for i, a in fake.annotations.items()
                                 if set(tags) <= set(a.get("tags", []))
                                 and a["time"] <= hi and a.get("timeEnd", a["time"]) >= lo]
                    self._send(200, found[: int(q.get("limit", ["100"])[0])])
                elif self.path == "/api/health":
                    self._send(200, {"commit": "abc123", "database": "ok", "version": version})
                elif self.path == "/api/org":
                    if self._authed():
                        self._send(200, {"id": 1, "name": "Main Org."})
                else:
                    self._send(404, {"message": "Not found"})

            def do_POST(self) -> None:
                body = self._body()
                with fake.lock:
                    fake.requests.append(("POST", self.path, body))
                if self.path != "/api/annotations":
                    self._send(404, {"message": "Not found"})
                    return
                if not self._authed():
                    return
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    fake.errors.append("POST without Content-Type: application/json")
                with fake.lock:
                    if fake.fail_posts > 0:
                        fake.fail_posts -= 1
                        self._send(503, {"message": "unavailable"})
                        return
                    errs = _shape_errors(body, patch=False)
                    if errs:
                        fake.errors.extend(errs)
                        self._send(400, {"message": "; ".join(errs)})
                        return
                    aid = len(fake.annotations) + 1
                    fake.annotations[aid] = dict(body)
                self._send(200, {"message": "Annotation added", "id": aid})

            def do_PATCH(self) -> None:
                body = self._body()
                with fake.lock:
                    fake.requests.append(("PATCH", self.path, body))
                m = re.fullmatch(r"/api/annotations/(\d+)", self.path)
                if not m:
                    self._send(404, {"message": "Not found"})
                    return
                if not self._authed():
                    return
                with fake.lock:
                    aid = int(m.group(1))
                    if aid not in fake.annotations:
                        self._send(404, {"message": "Annotation not found"})
                        return
                    errs = _shape_errors(body, patch=True)
                    if errs:
                        fake.errors.extend(errs)
                        self._send(400, {"message": "; ".join(errs)})
                        return
                    fake.annotations[aid].update(body)
                self._send(200, {"message": "Annotation patched"})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
