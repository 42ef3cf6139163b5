"""The `--prometheus URL` options every live command shares: one way to read headers, the bearer token
(env OPSCTL_PROMETHEUS_TOKEN or --bearer-token-file, one trailing newline dropped, redacted everywhere),
the timeout and TLS (--ca-file, --cert-file/--key-file, --insecure-skip-verify, or env
OPSCTL_PROMETHEUS_CA_FILE, _CERT_FILE, _KEY_FILE, _INSECURE_SKIP_VERIFY), and one client built from them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from opsctl.errors import InputError

if TYPE_CHECKING:  # the TLS layer is loaded when TLS options are read, not by every command that offers them
    from opsctl.live.tls import TLSOptions
    from opsctl.prom.client import PrometheusClient


def _tls_help(what: str, component: str) -> dict[str, str]:
    env = f"OPSCTL_{component.upper()}_"
    return {
        "ca": f"PEM CA bundle that signed {what}'s certificate (replaces the default trust store); "
              f"env {env}CA_FILE.",
        "cert": f"PEM client certificate for {what} (mutual TLS; the key in it or in --key-file); env {env}CERT_FILE.",
        "key": f"PEM private key of --cert-file; env {env}KEY_FILE.",
        "insecure": f"Do not verify {what}'s certificate (a warning says so); env {env}INSECURE_SKIP_VERIFY=1.",
    }


def tls_option_defaults(what: str = "--prometheus", component: str = "prometheus") -> dict[str, Any]:
    """The typer options --ca-file, --cert-file, --key-file, --insecure-skip-verify (one grammar everywhere)."""
    h = _tls_help(what, component)
    return {
        "ca_file": typer.Option(None, "--ca-file", metavar="FILE", help=h["ca"]),
        "cert_file": typer.Option(None, "--cert-file", metavar="FILE", help=h["cert"]),
        "key_file": typer.Option(None, "--key-file", metavar="FILE", help=h["key"]),
        "insecure_skip_verify": typer.Option(False, "--insecure-skip-verify", help=h["insecure"]),
    }


_PROM = tls_option_defaults()
CA_FILE_OPTION = _PROM["ca_file"]
CERT_FILE_OPTION = _PROM["cert_file"]
KEY_FILE_OPTION = _PROM["key_file"]
INSECURE_OPTION = _PROM["insecure_skip_verify"]


def tls_options(ca_file: Path | None, cert_file: Path | None, key_file: Path | None, insecure_skip_verify: bool,
                component: str = "prometheus", *, url: str = "", warn: bool = True) -> TLSOptions:
    """The command line's TLS options, each unset one from the environment (OPSCTL_<COMPONENT>_...); bad
    files are an InputError naming the option; --insecure-skip-verify prints one warning on stderr."""
    from opsctl.live.tls import TLSOptions

    given = TLSOptions(str(ca_file) if ca_file else None, str(cert_file) if cert_file else None,
                       str(key_file) if key_file else None, insecure_skip_verify)
    tls = given.merged(TLSOptions.from_env(component, os.environ))
    if tls.ca_file and tls.insecure_skip_verify:
        raise InputError("give --ca-file or --insecure-skip-verify, not both", "--insecure-skip-verify")
    try:
        tls.verify()
    except ValueError as exc:
        which = str(exc).split(" ", 1)[0].replace("_", "-")
        raise InputError(str(exc), f"--{which}" if which in ("ca-file", "cert-file", "key-file") else "--cert-file") \
            from None
    if warn and tls.insecure_skip_verify and (not url or url.startswith("https://")):
        from opsctl.cli.output import console

        console(stderr=True).print(
            f"warning: TLS certificate verification is off for {url or component} (--insecure-skip-verify): "
            "anyone on the path can read the token and answer in the server's name", markup=False,
            highlight=False)
    return tls


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
                      retries: int = 3, tls: TLSOptions | None = None, cache: bool = False) -> PrometheusClient:
    from opsctl import secrets
    from opsctl.prom.client import PrometheusClient

    headers = parse_headers(header)
    token = secrets.from_env("OPSCTL_PROMETHEUS_TOKEN") or None
    if tls is None:  # the environment's TLS settings still apply
        tls = tls_options(None, None, None, False, url=url)
    try:
        return PrometheusClient(url, bearer_token=None if bearer_token_file else token,
                                bearer_token_file=bearer_token_file, headers=headers, timeout=timeout,
                                retries=retries, tls=tls, cache=cache)
    except (ValueError, OSError) as exc:
        raise InputError(str(exc), "--prometheus") from None
