"""HTTP probe: status code, latency, body match and TLS certificate expiry of one URL.

Fails (one result) when the request cannot be made, the status is not in `expect_status`, the
response takes longer than `max_latency`, the body does not match the `body_match` regular expression,
or (https only) the server certificate expires within `tls_min_days` days. extras carry status,
latency_seconds and tls_days_left.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, field_validator

from opsctl.detect.anomaly.base import Params
from opsctl.detect.result import CheckResult, make_fingerprint
from opsctl.durations import parse_duration

from .base import Check, Context


class HttpProbeParams(Params):
    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    max_latency: float | None = Field(None, description="seconds (or a duration like 500ms)")
    body_match: str | None = Field(None, description="regular expression the body must match")
    tls_min_days: float | None = Field(None, description="fail when the certificate expires sooner")
    timeout: float = 10.0
    headers: dict[str, str] = Field(default_factory=dict)
    verify_tls: bool = True
    ca_file: str | None = Field(None, description="CA bundle (PEM) to verify the server with")

    @field_validator("max_latency", "timeout", mode="before")
    @classmethod
    def _dur(cls, v: object) -> object:
        return parse_duration(v) if isinstance(v, str) else v

    @field_validator("body_match")
    @classmethod
    def _re(cls, v: str | None) -> str | None:
        if v is not None:
            re.compile(v)
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return v


def tls_days_left(host: str, port: int, timeout: float, verify: bool = True, ca_file: str | None = None) -> float:
    """Days until the peer certificate's notAfter (without verification this needs `cryptography`)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as sock, \
            ctx.wrap_socket(sock, server_hostname=host) as tls:
        if verify:
            cert = tls.getpeercert()
            not_after = str(cert.get("notAfter")) if cert else ""
            expires = ssl.cert_time_to_seconds(not_after)
        else:
            der = tls.getpeercert(binary_form=True)
            if der is None:
                raise ssl.SSLError("no peer certificate")
            from cryptography import x509  # type: ignore[import-not-found, unused-ignore]

            expires = x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    return (expires - time.time()) / 86400.0


class HttpProbe(Check):
    id = "http_probe"
    summary = "HTTP(S) probe: status, latency, body regex, TLS certificate expiry"
    Params = HttpProbeParams

    def run(self, ctx: Context) -> list[CheckResult]:
        p = self.params
        assert isinstance(p, HttpProbeParams)
        d = self.detector
        fp = make_fingerprint(d.name, d.labels)
        ca_file = str(ctx.config.resolve_path(p.ca_file)) if p.ca_file else None
        problems: list[str] = []
        extras: dict[str, object] = {"url": p.url}
        started = time.perf_counter()
        try:
            verify: bool | ssl.SSLContext = p.verify_tls
            if p.verify_tls and ca_file:
                verify = ssl.create_default_context(cafile=ca_file)
            with httpx.Client(timeout=p.timeout, verify=verify, follow_redirects=True) as client:
                resp = client.request(p.method, p.url, headers=p.headers)
            latency = time.perf_counter() - started
            extras.update(status=resp.status_code, latency_seconds=round(latency, 4))
            if resp.status_code not in p.expect_status:
                problems.append(f"status {resp.status_code} (expected {', '.join(map(str, p.expect_status))})")
            if p.max_latency is not None and latency > p.max_latency:
                problems.append(f"latency {latency:.3f}s > {p.max_latency:g}s")
            if p.body_match is not None and not re.search(p.body_match, resp.text):
                problems.append(f"body does not match /{p.body_match}/")
        except httpx.HTTPError as exc:
            problems.append(f"request failed: {type(exc).__name__}: {exc}")
        parts = urlsplit(p.url)
        if p.tls_min_days is not None and parts.scheme == "https":
            try:
                days = tls_days_left(parts.hostname or "", parts.port or 443, p.timeout, p.verify_tls, ca_file)
                extras["tls_days_left"] = round(days, 2)
                if days < p.tls_min_days:
                    problems.append(f"TLS certificate expires in {days:.1f} days (< {p.tls_min_days:g})")
            except (OSError, ssl.SSLError, ValueError, ImportError) as exc:
                problems.append(f"TLS check failed: {exc}")
        extras["checked_at"] = datetime.now(UTC).isoformat()
        if problems:
            return [CheckResult(False, d.severity, f"{p.url}: " + "; ".join(problems), fp, extras,
                                d.name, dict(d.labels))]
        return [CheckResult(True, d.severity, f"{p.url}: ok", fp, extras, d.name, dict(d.labels))]
