"""HTTP probe: status code, latency, body match and TLS certificate expiry of one URL.

Fails (one result) when the request cannot be made, the status is not in `expect_status`, the
response takes longer than `max_latency`, the body does not match the `body_match` regular expression
(Go RE2 through opsctl.gosem, unanchored as Go's MatchString: linear time, so no body can hold a run),
or (https only) the server certificate expires within `tls_min_days` days. extras carry status,
latency_seconds and tls_days_left.
"""

from __future__ import annotations

import socket
import ssl
import time
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, field_validator

from opsctl.detect.anomaly.base import Params
from opsctl.detect.config import http_url
from opsctl.detect.result import CheckResult, make_fingerprint
from opsctl.durations import parse_duration
from opsctl.gosem import regexp as gosem_regexp

from .base import Check, Context


class HttpProbeParams(Params):
    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    max_latency: float | None = Field(None, description="seconds (or a duration like 500ms)")
    body_match: str | None = Field(None, description="regular expression (Go RE2) the body must contain a match of")
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
            gosem_regexp.compile(v)  # RegexpError (a ValueError) with Go's text
        return v

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


def tls_days_left(host: str, port: int, timeout: float, verify: bool = True, ca_file: str | None = None) -> float:
    """Days until the peer certificate's notAfter. With `verify` False the certificate is read as sent
    (self-signed, expired, wrong host), from its DER bytes."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as sock, \
            ctx.wrap_socket(sock, server_hostname=host) as tls:
        if verify:
            cert = tls.getpeercert()
            not_after = str(cert.get("notAfter")) if cert else ""
            expires: float = ssl.cert_time_to_seconds(not_after)
        else:
            der = tls.getpeercert(binary_form=True)
            if der is None:
                raise ssl.SSLError("no peer certificate")
            expires = certificate_not_after(der)
    return (expires - time.time()) / 86400.0


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at `pos`; ValueError when it does not fit."""
    if pos + 2 > end:
        raise ValueError("malformed certificate: truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise ValueError("malformed certificate: bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise ValueError("malformed certificate: truncated")
    return tag, pos, pos + length


def certificate_not_after(der: bytes) -> float:
    """notAfter of a DER X.509 certificate (RFC 5280 4.1.2.5), as Unix seconds."""
    tag, start, end = _tlv(der, 0, len(der))  # Certificate
    if tag != 0x30:
        raise ValueError("malformed certificate: not a SEQUENCE")
    tag, pos, end = _tlv(der, start, end)  # TBSCertificate
    if tag != 0x30:
        raise ValueError("malformed certificate: no TBSCertificate")
    expected = [0x02, 0x30, 0x30]  # serialNumber, signature, issuer
    tag, _, after = _tlv(der, pos, end)
    if tag == 0xA0:  # [0] EXPLICIT version
        pos = after
    for want in expected:
        tag, _, after = _tlv(der, pos, end)
        if tag != want:
            raise ValueError("malformed certificate: unexpected field")
        pos = after
    tag, vpos, vend = _tlv(der, pos, end)  # Validity
    if tag != 0x30:
        raise ValueError("malformed certificate: no validity")
    _, _, vpos = _tlv(der, vpos, vend)  # notBefore
    tag, tstart, tend = _tlv(der, vpos, vend)  # notAfter
    text = der[tstart:tend].decode("ascii", "replace")
    if tag == 0x17 and len(text) == 13 and text.endswith("Z") and text[:12].isdigit():  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text  # RFC 5280: 50-99 are 19xx
    elif not (tag == 0x18 and len(text) == 15 and text.endswith("Z") and text[:14].isdigit()):
        raise ValueError(f"malformed certificate: notAfter {text!r}")
    try:
        when = datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                        int(text[12:14]), tzinfo=UTC)
    except ValueError:
        raise ValueError(f"malformed certificate: notAfter {text!r}") from None
    return when.timestamp()


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
            if p.body_match is not None and not gosem_regexp.match_string(p.body_match, resp.text):
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
            except (OSError, ssl.SSLError, ValueError) as exc:
                problems.append(f"TLS check failed: {exc}")
        extras["checked_at"] = datetime.now(UTC).isoformat()
        if problems:
            return [CheckResult(False, d.severity, f"{p.url}: " + "; ".join(problems), fp, extras,
                                d.name, dict(d.labels))]
        return [CheckResult(True, d.severity, f"{p.url}: ok", fp, extras, d.name, dict(d.labels))]
