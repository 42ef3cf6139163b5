"""`opsctl doctor`: are the configured Prometheus, Alertmanager and Grafana up, ready, reachable with our
credentials, and is Alertmanager running the configuration we think? Exit 1 when something is down."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from opsctl import secrets
from opsctl.cli.output import EXIT_FINDINGS, EXIT_OK, FORMAT_OPTION, JSON_SCHEMA_VERSION, Format, emit_json
from opsctl.cli.prom_options import tls_option_defaults, tls_options
from opsctl.errors import InputError
from opsctl.live import doctor as doc
from opsctl.live.http import Endpoint
from opsctl.live.tls import TLSOptions

_TLS = tls_option_defaults("every endpoint checked", "<component>")
app = typer.Typer(help="Check connectivity, version, readiness and auth of Prometheus, Alertmanager and Grafana.")


def _urls(given: list[str] | None, env: str) -> list[str]:
    urls = list(given or []) or [u.strip() for u in os.environ.get(env, "").split(",") if u.strip()]
    for u in urls:
        if not u.startswith(("http://", "https://")):
            raise InputError(f"not an http(s) URL: {secrets.redact(u)}", env)
    return urls


@app.callback(invoke_without_command=True)
def doctor(
    prometheus_url: list[str] = typer.Option(None, "--prometheus-url", metavar="URL",
                                             help="Prometheus-compatible base URL (path prefix included); "
                                                  "repeatable. Default $OPSCTL_PROMETHEUS_URL."),
    alertmanager_url: list[str] = typer.Option(None, "--alertmanager-url", metavar="URL",
                                               help="Alertmanager base URL; repeatable. Default "
                                                    "$OPSCTL_ALERTMANAGER_URL, then the amtool config file."),
    grafana_url: list[str] = typer.Option(None, "--grafana-url", metavar="URL",
                                          help="Grafana base URL; repeatable. Default $OPSCTL_GRAFANA_URL."),
    alertmanager_config: Path = typer.Option(None, "--alertmanager-config", metavar="FILE",
                                             help="alertmanager.yml the running Alertmanager should have loaded."),
    tenant: str = typer.Option(None, "--tenant", metavar="ORG_ID", help="X-Scope-OrgID for Prometheus and "
                                                                        "Alertmanager (Mimir, Cortex, Thanos)."),
    config: Path = typer.Option(None, "--config", "-c", metavar="FILE", help="amtool-style config file."),
    timeout: str = typer.Option("5s", "--timeout", metavar="DURATION", help="Per-request timeout."),
    ca_file: Path | None = _TLS["ca_file"],
    cert_file: Path | None = _TLS["cert_file"],
    key_file: Path | None = _TLS["key_file"],
    insecure_skip_verify: bool = _TLS["insecure_skip_verify"],
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Check every configured endpoint; tokens come from OPSCTL_PROMETHEUS_TOKEN, OPSCTL_ALERTMANAGER_TOKEN
    and OPSCTL_GRAFANA_TOKEN (a Grafana service-account token) and are never printed. TLS options apply to
    every endpoint; without them each component's OPSCTL_<COMPONENT>_CA_FILE (etc.) applies."""
    from opsctl.durations import parse_duration
    from opsctl.live.settings import resolve

    try:
        t = parse_duration(timeout)
    except ValueError as exc:
        raise InputError(str(exc), "--timeout") from None
    am = resolve(urls=alertmanager_url, tenants=[tenant] if tenant else None, config=config, timeout=t,
                 need_url=False)
    proms = _urls(prometheus_url, "OPSCTL_PROMETHEUS_URL")
    grafanas = _urls(grafana_url, "OPSCTL_GRAFANA_URL")
    if not (proms or am.urls or grafanas):
        raise InputError("nothing to check: give --prometheus-url, --alertmanager-url or --grafana-url "
                         "(or their OPSCTL_*_URL variables)", "<options>")
    checks: list[doc.Check] = []

    def tls(component: str, url: str) -> TLSOptions:
        base = am.tls if component == "alertmanager" else TLSOptions()
        return tls_options(ca_file, cert_file, key_file, insecure_skip_verify, component, url=url).merged(base)

    for u in proms:
        checks += doc.check_prometheus(Endpoint(u, bearer_token=secrets.from_env("OPSCTL_PROMETHEUS_TOKEN"),
                                                tenant=tenant, timeout=t, retries=1, tls=tls("prometheus", u)))
    for u in am.urls:
        checks += doc.check_alertmanager(Endpoint(u, bearer_token=am.bearer_token, basic_auth=am.basic_auth,
                                                  tenant=tenant, timeout=t, retries=1, tls=tls("alertmanager", u)),
                                         alertmanager_config)
    for u in grafanas:
        checks += doc.check_grafana(Endpoint(u, bearer_token=secrets.from_env("OPSCTL_GRAFANA_TOKEN"),
                                             timeout=t, retries=1, tls=tls("grafana", u)))
    ok = all(c.ok for c in checks)
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "ok": ok, "checks": checks})
    else:
        for c in checks:
            typer.echo(f"{'ok  ' if c.ok else 'FAIL'}  {c.component:<12} {c.name:<9} {c.url}"
                       + (f"  {c.detail}" if c.detail else ""))
        typer.echo("all endpoints OK" if ok else f"{sum(not c.ok for c in checks)} check(s) failed")
    raise typer.Exit(EXIT_OK if ok else EXIT_FINDINGS)
