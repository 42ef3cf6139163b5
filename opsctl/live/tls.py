"""TLS options for every live endpoint (Prometheus, Alertmanager, Grafana), named as in Prometheus's
`tls_config`: `ca_file`, `cert_file`, `key_file`, `insecure_skip_verify`.

`TLSOptions(...).verify()` is what httpx takes as `verify=`: True (the default trust store) when nothing
is set, else an `ssl.SSLContext` that trusts `ca_file` (in addition to nothing else: a private CA bundle
replaces the default store, as in Prometheus), presents the client certificate `cert_file`/`key_file`,
or does not verify at all (`insecure_skip_verify`). A CA or certificate file that cannot be read is a
`ValueError` naming the file.

`tls_failure(exc)` turns a failed connection into one line that names the cause (certificate not trusted,
hostname mismatch, expired certificate, plain HTTP spoken to a TLS port or the reverse, client certificate
refused) with what to do, or None when the failure is not a TLS one. Such failures are not retried: the
answer would be the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ssl is loaded when a connection is made, not by every command that takes TLS options
    import ssl

__all__ = ["ENV_SUFFIXES", "TLSOptions", "tls_failure"]

# environment variables: OPSCTL_<COMPONENT>_<suffix>, e.g. OPSCTL_PROMETHEUS_CA_FILE
ENV_SUFFIXES = {"ca_file": "CA_FILE", "cert_file": "CERT_FILE", "key_file": "KEY_FILE",
                "insecure_skip_verify": "INSECURE_SKIP_VERIFY"}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class TLSOptions:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False

    @property
    def is_default(self) -> bool:
        return not (self.ca_file or self.cert_file or self.key_file or self.insecure_skip_verify)

    @classmethod
    def from_env(cls, component: str, environ: Mapping[str, str]) -> TLSOptions:
        """`OPSCTL_<COMPONENT>_CA_FILE`, `_CERT_FILE`, `_KEY_FILE`, `_INSECURE_SKIP_VERIFY` (1/true/yes/on)."""
        prefix = f"OPSCTL_{component.upper()}_"

        def get(key: str) -> str | None:
            return environ.get(prefix + ENV_SUFFIXES[key]) or None

        insecure = (get("insecure_skip_verify") or "").strip().lower() in _TRUE
        return cls(get("ca_file"), get("cert_file"), get("key_file"), insecure)

    def merged(self, other: TLSOptions) -> TLSOptions:
        """These options, with each unset one taken from `other` (options before environment/config)."""
        return TLSOptions(self.ca_file or other.ca_file, self.cert_file or other.cert_file,
                          self.key_file or other.key_file, self.insecure_skip_verify or other.insecure_skip_verify)

    def verify(self) -> ssl.SSLContext | bool:
        if self.is_default:
            return True
        import ssl

        if self.key_file and not self.cert_file:
            raise ValueError("a client key (key_file) needs its certificate (cert_file)")
        if self.insecure_skip_verify:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_file:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks the host name; trusts only:
            try:
                ctx.load_verify_locations(cafile=_readable(self.ca_file, "ca_file"))
            except ssl.SSLError as exc:
                raise ValueError(f"ca_file {self.ca_file}: no certificate in it ({exc.reason})") from None
        else:
            ctx = ssl.create_default_context()
            _load_default_store(ctx)
        if self.cert_file:
            try:
                ctx.load_cert_chain(_readable(self.cert_file, "cert_file"),
                                    _readable(self.key_file, "key_file") if self.key_file else None)
            except ssl.SSLError as exc:
                raise ValueError(f"cert_file {self.cert_file}: not a certificate and key in PEM ({exc.reason})") \
                    from None
        return ctx


def _readable(path: str, what: str) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN" not in head:
        raise ValueError(f"{what} {path}: not a PEM file (no -----BEGIN line)")
    return path


def _load_default_store(ctx: ssl.SSLContext) -> None:
    """The trust store httpx uses by default (certifi's bundle), when no CA file replaces it."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - httpx depends on certifi
        return
    ctx.load_verify_locations(cafile=certifi.where())


def tls_failure(exc: BaseException) -> str | None:
    """One line naming the TLS cause of a failed connection, with what to do; None when not TLS."""
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(seen) < 8:
        seen.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in seen)
    import ssl

    verify = next((x for x in seen if isinstance(x, ssl.SSLCertVerificationError)), None)
    if verify is not None or "CERTIFICATE_VERIFY_FAILED" in text:
        detail = getattr(verify, "verify_message", "") or _after(text, "certificate verify failed:")
        low = detail.lower()
        if "hostname mismatch" in low or "ip address mismatch" in low or "doesn't match" in low:
            return (f"TLS: the server's certificate is not valid for this host name ({detail}); use the name "
                    "the certificate was issued for, or --insecure-skip-verify")
        if "expired" in low:
            return f"TLS: the server's certificate has expired ({detail})"
        return (f"TLS: the server's certificate is not trusted ({detail or 'certificate verify failed'}); give "
                "--ca-file with the CA that signed it, or --insecure-skip-verify to skip verification")
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text or "packet length too long" in text:
        return ("TLS: the handshake failed (the server does not speak TLS on this port? use http:// for a plain "
                "HTTP server)")
    if "CERTIFICATE_REQUIRED" in text or "certificate required" in text.lower() \
            or "TLSV1_ALERT_UNKNOWN_CA" in text or "BAD_CERTIFICATE" in text:
        return ("TLS: the server wants a client certificate it trusts (give --cert-file and --key-file) and "
                "refused the connection")
    if any(isinstance(x, ssl.SSLError) for x in seen) or "[SSL" in text:
        reason = next((getattr(x, "reason", None) for x in seen if isinstance(x, ssl.SSLError)), None)
        return f"TLS: the handshake failed ({reason or _after(text, '[SSL') or 'SSL error'})"
    return None


def _after(text: str, marker: str) -> str:
    i = text.find(marker)
    if i < 0:
        return ""
    rest = text[i + len(marker):].strip()
    return rest.split(" (_ssl.c")[0].strip().rstrip(")")
