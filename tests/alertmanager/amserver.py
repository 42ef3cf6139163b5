"""Helpers to run a real prometheus-alertmanager on 127.0.0.1 and capture what it sends."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port, running


class Capture:
    """A local HTTP server that records every POST (path, JSON body) and answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.cond = threading.Condition()
        cap = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = body.decode("utf-8", "replace")
                with cap.cond:
                    cap.requests.append((self.path, doc))
                    cap.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.handle_error = lambda *args: None  # type: ignore[method-assign]  # clients hanging up
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Capture:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 30.0) -> list[tuple[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.requests)} of {n} notifications")
                self.cond.wait(left)
            return list(self.requests)


@contextmanager
def alertmanager(binary: str, config: Path, tmp: Path) -> Iterator[str]:
    """Start Alertmanager with `config`; yields its base URL; always stops it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    storage = tmp / "am-data"
    storage.mkdir(exist_ok=True)
    cmd = [binary, f"--config.file={config}", f"--storage.path={storage}", f"--web.listen-address=127.0.0.1:{port}",
           "--cluster.listen-address=", f"--web.external-url={url}"]
    with running(cmd, f"{url}/-/ready", tmp / "am.log", timeout=30):
        yield url


def post_alerts(url: str, alerts: list[dict[str, Any]]) -> None:
    r = httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=10)
    r.raise_for_status()


def get_alerts(url: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/v2/alerts", timeout=10)
    r.raise_for_status()
    out: list[dict[str, Any]] = r.json()
    return out


class SMTPCapture:
    """A minimal SMTP server (no TLS, no auth) that records each message's raw DATA."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.cond = threading.Condition()
        cap = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 localhost ESMTP capture\r\n")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("ascii", "replace").strip().upper()
                    if cmd.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                    elif cmd.startswith("DATA"):
                        self.wfile.write(b"354 go ahead\r\n")
                        data = bytearray()
                        while True:
                            chunk = self.rfile.readline()
                            if chunk in (b".\r\n", b".\n", b""):
                                break
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        with cap.cond:
                            cap.messages.append(bytes(data))
                            cap.cond.notify_all()
                        self.wfile.write(b"250 ok\r\n")
                    elif cmd.startswith("QUIT"):
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SMTPCapture:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 30.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.messages)} of {n} mails")
                self.cond.wait(left)
            return list(self.messages)
