"""`tls_config:` of a detect config's Prometheus sources and self-hosted receivers (alertmanager, grafana,
webhook), named as in Prometheus's `tls_config`: `ca_file` (a PEM bundle that replaces the default trust
store), `cert_file`/`key_file` (a client certificate, mutual TLS), `insecure_skip_verify`.

Relative paths are relative to the config file. `options(base)` gives the opsctl.live.tls.TLSOptions that the
HTTP clients take; `problem(base)` says what a connection would fail on before one is made (an unreadable
file, a file with no certificate in it, a key without its certificate), so that `detect validate` catches it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from opsctl.live.tls import TLSOptions


class TLSConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False

    def options(self, base: Path) -> TLSOptions:
        def path(p: str | None) -> str | None:
            if not p:
                return None
            q = Path(os.path.expanduser(p))
            return str(q if q.is_absolute() else base / q)

        return TLSOptions(path(self.ca_file), path(self.cert_file), path(self.key_file), self.insecure_skip_verify)

    def problem(self, base: Path) -> tuple[str, str] | None:
        """(the field to blame, why) when no TLS connection could be made with these settings, else None."""
        try:
            self.options(base).verify()
        except ValueError as exc:
            text = str(exc)
            field = next((f for f in ("ca_file", "cert_file", "key_file") if text.startswith(f)), "key_file")
            return field, text
        return None


__all__ = ["TLSConfig"]
