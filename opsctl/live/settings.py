"""Where live endpoints are and how to authenticate: options, then environment, then a config file.

The config file follows amtool's (`~/.config/amtool/config.yml`, `/etc/amtool/config.yml`): a flat YAML
map whose keys are flag names. opsctl reads amtool's keys and a few of its own:

    alertmanager.url: http://am.example:9093/alertmanager    # amtool; may also be a list (several targets)
    author: alice                                             # amtool
    comment_required: true                                    # amtool (opsctl also reads require_comment)
    tenant: team-a                                            # opsctl: X-Scope-OrgID; may be a list
    bearer_token_file: /run/secrets/am-token                  # opsctl
    timeout: 10s                                              # opsctl (also amtool's key)
    tls.ca_file: /etc/ssl/private-ca.pem                      # opsctl: TLS, as Prometheus's tls_config
    tls.cert_file: /run/secrets/client.pem                    # opsctl (with tls.key_file)
    tls.insecure_skip_verify: false                           # opsctl

Environment: OPSCTL_ALERTMANAGER_URL (comma-separated for several), OPSCTL_ALERTMANAGER_TENANT
(comma-separated), OPSCTL_ALERTMANAGER_TOKEN, OPSCTL_ALERTMANAGER_PASSWORD with OPSCTL_ALERTMANAGER_USER,
OPSCTL_ALERTMANAGER_CA_FILE, _CERT_FILE, _KEY_FILE, _INSECURE_SKIP_VERIFY (1/true); the environment wins over
the config file.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl import secrets
from opsctl.errors import InputError
from opsctl.live.tls import TLSOptions

DEFAULT_CONFIG_FILES = ("~/.config/amtool/config.yml", "/etc/amtool/config.yml")
KNOWN_KEYS = {"alertmanager.url", "author", "comment_required", "require_comment", "tenant", "bearer_token_file",
              "timeout", "output", "date.format", "http.config.file", "receiver", "version-check",
              "tls.ca_file", "tls.cert_file", "tls.key_file", "tls.insecure_skip_verify"}


@dataclass
class AmSettings:
    urls: list[str] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    author: str = ""
    require_comment: bool = False
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    timeout: float = 10.0
    tls: TLSOptions = field(default_factory=TLSOptions)
    source: str = ""  # the config file read, if any


def _as_list(v: Any, key: str, file: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise InputError(f"{key}: expected a string or a list of strings", file)


def read_config_file(path: Path) -> dict[str, Any]:
    from opsctl.yamlutil import load_one

    doc = load_one(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError("expected a map of flag names to values (amtool's config format)", str(path), 1, 1)
    return dict(doc)


def resolve(*, urls: list[str] | None, tenants: list[str] | None, config: Path | None, timeout: float | None = None,
            author: str | None = None, environ: Mapping[str, str] | None = None, need_url: bool = True) -> AmSettings:
    env = os.environ if environ is None else environ
    cfg: dict[str, Any] = {}
    src = ""
    if config is not None:
        cfg, src = read_config_file(config), str(config)
    elif env.get("OPSCTL_AMTOOL_CONFIG"):
        src = env["OPSCTL_AMTOOL_CONFIG"]
        cfg = read_config_file(Path(src))
    else:
        for cand in DEFAULT_CONFIG_FILES:
            p = Path(cand).expanduser()
            if p.is_file():
                cfg, src = read_config_file(p), str(p)
                break
    s = AmSettings(source=src)
    s.urls = list(urls or []) or [u for u in env.get("OPSCTL_ALERTMANAGER_URL", "").split(",") if u.strip()] \
        or _as_list(cfg.get("alertmanager.url"), "alertmanager.url", src)
    s.urls = [u.strip() for u in s.urls]
    s.tenants = list(tenants or []) or [t for t in env.get("OPSCTL_ALERTMANAGER_TENANT", "").split(",") if t.strip()] \
        or _as_list(cfg.get("tenant"), "tenant", src)
    if need_url and not s.urls:
        raise InputError("no Alertmanager URL: give --alertmanager-url, set OPSCTL_ALERTMANAGER_URL or "
                         "alertmanager.url in the config file", "--alertmanager-url")
    for u in s.urls:
        if not u.startswith(("http://", "https://")):
            raise InputError(f"not an http(s) URL: {secrets.redact(u)}", "--alertmanager-url")
    s.author = author or str(cfg.get("author") or "") or _user()
    s.require_comment = bool(cfg.get("comment_required", cfg.get("require_comment", False)))
    token = secrets.from_env("OPSCTL_ALERTMANAGER_TOKEN", env)
    if not token and cfg.get("bearer_token_file"):
        token = secrets.from_file(str(cfg["bearer_token_file"]))
    s.bearer_token = token
    pw = secrets.from_env("OPSCTL_ALERTMANAGER_PASSWORD", env)
    if pw and env.get("OPSCTL_ALERTMANAGER_USER"):
        s.basic_auth = (env["OPSCTL_ALERTMANAGER_USER"], pw)
    s.tls = TLSOptions.from_env("alertmanager", env).merged(_tls_from_config(cfg, src))
    try:
        s.tls.verify()
    except ValueError as exc:
        raise InputError(str(exc), src or "OPSCTL_ALERTMANAGER_CA_FILE") from None
    if timeout is not None:
        s.timeout = timeout
    elif cfg.get("timeout"):
        from opsctl.durations import parse_duration

        try:
            s.timeout = parse_duration(str(cfg["timeout"]))
        except ValueError as exc:
            raise InputError(f"timeout: {exc}", src) from None
    return s


def _tls_from_config(cfg: dict[str, Any], src: str) -> TLSOptions:
    def path(key: str) -> str | None:
        v = cfg.get(f"tls.{key}")
        if v is None:
            return None
        if not isinstance(v, str):
            raise InputError(f"tls.{key}: expected a file name", src)
        p = Path(v).expanduser()
        return str(p if p.is_absolute() or not src else Path(src).parent / p)

    insecure = cfg.get("tls.insecure_skip_verify", False)
    if not isinstance(insecure, bool):
        raise InputError("tls.insecure_skip_verify: expected true or false", src)
    return TLSOptions(path("ca_file"), path("cert_file"), path("key_file"), insecure)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "opsctl"
