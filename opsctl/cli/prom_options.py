"""The `--prometheus URL` options every live command shares: one way to read headers, the bearer token
(env OPSCTL_PROMETHEUS_TOKEN or --bearer-token-file, one trailing newline dropped, redacted everywhere)
and the timeout, and one client built from them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.errors import InputError

if TYPE_CHECKING:
    from opsctl.prom.client import PrometheusClient


def parse_headers(values: list[str], option: str = "--header") -> dict[str, str]:
    """`Name: value` strings (e.g. `X-Scope-OrgID: team-a`) as a header mapping; InputError otherwise."""
    headers: dict[str, str] = {}
    for h in values:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise InputError(f"{option} {name!r}: expected 'Name: value'", option)
        headers[name.strip()] = value.strip()
    return headers


def prometheus_client(url: str, *, bearer_token_file: Path | None, header: list[str], timeout: float,
                      retries: int = 3) -> PrometheusClient:
    from opsctl import secrets
    from opsctl.prom.client import PrometheusClient

    headers = parse_headers(header)
    token = secrets.from_env("OPSCTL_PROMETHEUS_TOKEN") or None
    try:
        return PrometheusClient(url, bearer_token=None if bearer_token_file else token,
                                bearer_token_file=bearer_token_file, headers=headers, timeout=timeout,
                                retries=retries)
    except (ValueError, OSError) as exc:
        raise InputError(str(exc), "--prometheus") from None
