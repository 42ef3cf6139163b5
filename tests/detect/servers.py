"""Local stand-ins for the services `opsctl detect` talks to: HTTP capture, SMTP sink, Prometheus,
Alertmanager (the last two are the real binaries on 127.0.0.1 free ports with temp storage)."""

from __future__ import annotations

import json
import socketserver
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port


class Capture:
    """An HTTP server recording every request. `fail_next(n, status)` makes the next n requests fail."""

    def __init__(self, status: int = 200, body: bytes = b'{"status":"ok"}', port: int = 0,
                 tls: Any = None) -> None:
        """`tls`: a server-side ssl.SSLContext to serve HTTPS with."""
        self.requests: list[dict[str, Any]] = []
        self.status = status
        self.body = body
        self._fail: list[int] = []
        self.delay = 0.0
        cap = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                if cap.delay:
                    time.sleep(cap.delay)
                status = cap._fail.pop(0) if cap._fail else cap.status
                cap.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "json": parsed, "raw": raw, "status": status})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                body = cap.body if status < 400 else b'{"status":"error","errorType":"internal","error":"boom"}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls is not None else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, n: int, status: int = 503) -> None:
        self._fail.extend([status] * n)

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] < 300]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""

    def __init__(self, tls: Any = None, implicit_tls: Any = None) -> None:
        """`tls`: an ssl.SSLContext (server side) to offer STARTTLS with; `implicit_tls`: one to wrap every
        connection in from the start (SMTPS, port 465 style)."""
        self.messages: list[dict[str, Any]] = []
        self.tls_used: list[bool] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                secure = False
                if implicit_tls is not None:
                    try:
                        self.request = implicit_tls.wrap_socket(self.request, server_side=True)
                    except OSError:  # the client gave up on the handshake (e.g. it does not trust us)
                        return
                    self.rfile = self.request.makefile("rb")
                    self.wfile = self.request.makefile("wb", buffering=0)
                    secure = True
                self.wfile.write(b"220 sink ESMTP\r\n")
                mail_from, rcpts = "", []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").strip()
                    up = cmd.upper()
                    if up.startswith(("EHLO", "HELO")):
                        offer = b"250-STARTTLS\r\n" if tls is not None and not secure else b""
                        self.wfile.write(b"250-sink\r\n" + offer + b"250 8BITMIME\r\n")
                    elif up == "STARTTLS" and tls is not None:
                        self.wfile.write(b"220 go ahead\r\n")
                        self.wfile.flush()
                        self.request = tls.wrap_socket(self.request, server_side=True)
                        self.rfile = self.request.makefile("rb")
                        self.wfile = self.request.makefile("wb", buffering=0)
                        secure = True
                    elif up.startswith("MAIL FROM:"):
                        mail_from, rcpts = cmd[10:].strip(), []
                        self.wfile.write(b"250 ok\r\n")
                    elif up.startswith("RCPT TO:"):
                        rcpts.append(cmd[8:].strip())
                        self.wfile.write(b"250 ok\r\n")
                    elif up == "DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        data = []
                        while True:
                            dl = self.rfile.readline()
                            if dl in (b".\r\n", b".\n", b""):
                                break
                            data.append(dl[1:] if dl.startswith(b"..") else dl)
                        sink.messages.append({"from": mail_from, "to": rcpts, "data": b"".join(data).decode()})
                        sink.tls_used.append(secure)
                        self.wfile.write(b"250 queued\r\n")
                    elif up == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class Exporter(Capture):
    """A tiny exporter: /metrics serves `demo_value` (settable) and a counter."""

    def __init__(self) -> None:
        super().__init__()
        self.value = 1.0
        self.server.RequestHandlerClass.do_GET = self._metrics_handler()  # type: ignore[attr-defined]

    def _metrics_handler(self) -> Any:
        exp = self

        def do_GET(handler: BaseHTTPRequestHandler) -> None:
            body = (f"# HELP demo_value A settable gauge.\n# TYPE demo_value gauge\n"
                    f'demo_value{{instance_name="a"}} {exp.value}\ndemo_value{{instance_name="b"}} 5\n').encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "text/plain; version=0.0.4")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        return do_GET


class Process:
    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def start_prometheus(binary: str, tmp: Path, target_port: int) -> tuple[Process, str]:
    port = free_port()
    cfg = tmp / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
    )
    proc = Process([binary, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}"], tmp / "prometheus.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/-/ready")
        deadline = time.time() + 30
        while time.time() < deadline:  # wait for 3 scrapes
            r = httpx.get(url + "/api/v1/query", params={"query": "count_over_time(demo_value[1m])"}).json()
            res = r["data"]["result"]
            if res and float(res[0]["value"][1]) >= 3:
                break
            time.sleep(0.5)
    except BaseException:
        proc.stop()
        raise
    return proc, url


def start_alertmanager(binary: str, tmp: Path, webhook_url: str) -> tuple[Process, str]:
    port = free_port()
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(
        "route:\n  receiver: hook\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: '{webhook_url}'\n        send_resolved: true\n"
    )
    proc = Process([binary, f"--config.file={cfg}", f"--storage.path={tmp / 'am'}",
                    f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], tmp / "am.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/-/ready")
    except BaseException:
        proc.stop()
        raise
    return proc, url
