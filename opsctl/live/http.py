"""One HTTP layer for every live endpoint (Alertmanager, Grafana, Prometheus checks).

`Endpoint(url, bearer_token=..., basic_auth=..., tenant=..., headers=..., timeout=10, retries=2)`:

- `url` may carry a path prefix (`http://host/alertmanager`); every request path is appended to it.
- `tenant` sets `X-Scope-OrgID` (Mimir, Cortex, Thanos receive).
- Timeouts on every request. Bounded retries with exponential backoff (0.2 s, 0.4 s, ... capped at 5 s):
  idempotent methods (GET, PUT, DELETE, HEAD) are retried on connection errors, time-outs, 429 and 5xx;
  POST/PATCH only when the request cannot have been processed (connection refused, 429, 503), so a silence
  is never created twice.
- `tls` (opsctl.live.tls.TLSOptions): CA file, client certificate, insecure_skip_verify. A TLS failure is
  not retried; its error names the cause (untrusted certificate, host name, plain HTTP on a TLS port).
- Errors are one line (`LiveError`): "server down", "HTTP 401 (unauthorized: check the token)", "HTTP 404
  (wrong URL or path prefix?)", with every registered secret redacted.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from opsctl import secrets
from opsctl.live.tls import TLSOptions, tls_failure

__all__ = ["Endpoint", "LiveError"]

_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
_RETRY_ANY = {429, 500, 502, 503, 504}
_RETRY_UNSAFE = {429, 503}


class LiveError(Exception):
    """A live request failed; the message is one line and carries no secret."""

    def __init__(self, message: str, *, status_code: int | None = None, down: bool = False) -> None:
        super().__init__(secrets.redact(" ".join(message.split())))
        self.status_code = status_code
        self.down = down


def _hint(status: int) -> str:
    return {401: " (unauthorized: check the token or password)", 403: " (forbidden: check the credentials)",
            404: " (not found: wrong URL or path prefix?)"}.get(status, "")


@dataclass
class Endpoint:
    url: str
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    tenant: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    retries: int = 2
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = _time.sleep
    tls: TLSOptions = field(default_factory=TLSOptions)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"URL must start with http:// or https://: {secrets.redact(self.url)}")
        if self.retries < 0:
            raise ValueError("retries must be >= 0")
        self.url = self.url.rstrip("/")
        secrets.register_url(self.url)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            hdrs = {"User-Agent": "opsctl", **dict(self.headers)}
            if self.bearer_token:
                hdrs["Authorization"] = f"Bearer {secrets.register(self.bearer_token)}"
            if self.tenant:
                hdrs["X-Scope-OrgID"] = self.tenant
            if self.basic_auth:
                secrets.register_basic(*self.basic_auth)
            secrets.register_headers(hdrs)
            auth = httpx.BasicAuth(*self.basic_auth) if self.basic_auth else None
            self._client = httpx.Client(headers=hdrs, auth=auth, timeout=self.timeout,
                                        transport=self.transport, follow_redirects=False, verify=self.tls.verify())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                expect_json: bool = True) -> Any:
        """Send one request (with retries); the decoded JSON body (or the text if `expect_json` is False)."""
        method = method.upper()
        safe = method in _IDEMPOTENT
        url = self.url + path
        where = f"{method} {self.url}{path}"
        last = ""
        down = False
        status: int | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(min(5.0, 0.2 * 2 ** (attempt - 1)))
            try:
                resp = self.client.request(method, url, params=params, json=json)
            except httpx.ConnectError as exc:
                cause = tls_failure(exc)
                if cause is not None:  # the same answer every time: not retried
                    raise LiveError(f"{where}: {cause}", down=True) from None
                last, down, status = f"server down or unreachable ({type(exc).__name__})", True, None
                continue
            except httpx.TimeoutException:
                last, down, status = f"timed out after {self.timeout:g}s", True, None
                if safe:
                    continue
                break
            except httpx.TransportError as exc:
                cause = tls_failure(exc)
                if cause is not None:  # e.g. a client certificate refused after the handshake (TLS 1.3)
                    raise LiveError(f"{where}: {cause}", down=True) from None
                last, down, status = f"connection error: {type(exc).__name__}: {exc}", True, None
                if safe:
                    continue
                break
            status = resp.status_code
            if status in (_RETRY_ANY if safe else _RETRY_UNSAFE):
                last, down = self._describe(resp), False
                continue
            if status >= 400:
                raise LiveError(f"{where}: {self._describe(resp)}", status_code=status)
            if not expect_json:
                return resp.text
            if not resp.content:
                return None
            try:
                return resp.json()
            except ValueError:
                raise LiveError(f"{where}: HTTP {status}: response is not JSON (wrong URL or path prefix?)",
                                status_code=status) from None
        tries = f" after {self.retries + 1} attempts" if self.retries else ""
        raise LiveError(f"{where}: {last}{tries}", status_code=status, down=down)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any, **kw: Any) -> Any:
        return self.request("POST", path, json=json, **kw)

    @staticmethod
    def _describe(resp: httpx.Response) -> str:
        body = ""
        try:
            doc = resp.json()
            if isinstance(doc, dict):
                body = str(doc.get("error") or doc.get("message") or "")
            elif isinstance(doc, str):
                body = doc
        except ValueError:
            body = resp.text
        body = secrets.redact(" ".join(body.split()))[:200]
        return f"HTTP {resp.status_code}{_hint(resp.status_code)}" + (f": {body}" if body else "")
