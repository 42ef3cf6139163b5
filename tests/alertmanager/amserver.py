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


class TLSInterceptProxy:
    """An HTTP proxy on 127.0.0.1 that answers CONNECT itself, terminates the TLS inside the tunnel with a
    self-signed certificate and records each request (method, path with query, body), answering 200 with
    `reply`. For notifiers whose API URL is fixed (Pushover): point their http_config `proxy_url` here, with
    `tls_config: {insecure_skip_verify: true}`."""

    def __init__(self, tmp: Path, reply: bytes = b'{"status":1,"request":"x"}') -> None:
        import ssl
        import subprocess

        key, crt = tmp / "proxy-key.pem", tmp / "proxy-crt.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(crt), "-days", "2", "-subj", "/CN=intercept"], check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(crt), str(key))
        self.requests: list[tuple[str, str, bytes]] = []
        self.cond = threading.Condition()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline()
                if not line.startswith(b"CONNECT "):
                    return
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                try:
                    tls = ctx.wrap_socket(self.connection, server_side=True)
                except OSError:
                    return
                f = tls.makefile("rb")
                request = f.readline().decode("latin-1").split()
                length = 0
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = f.read(length) if length else b""
                with proxy.cond:
                    proxy.requests.append((request[0], request[1], body))
                    proxy.cond.notify_all()
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                            + str(len(reply)).encode() + b"\r\nConnection: close\r\n\r\n" + reply)
                tls.close()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TLSInterceptProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 30.0) -> list[tuple[str, str, bytes]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.requests)} of {n} requests")
                self.cond.wait(left)
            return list(self.requests)
