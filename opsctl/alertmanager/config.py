"""Alertmanager 0.25 configuration: typed model, loader and full validation with file:line:column.

`load_config(path)` returns a `Config` or raises `ConfigErrors` (a list of `InputError`s, every one naming
file:line:column). The rules mirror Alertmanager 0.25 (config/config.go, config/notifiers.go,
timeinterval, prometheus/common's HTTP client config) and its strict YAML decoding (unknown fields and
wrong types are errors):

- global defaults and their inheritance into receivers (SMTP, Slack, PagerDuty, OpsGenie, WeChat,
  VictorOps, Telegram, Webex URLs/keys, http_config), secrets and `*_file` mutual exclusion;
- receivers (unique names, every integration's own checks), the route tree (root without matchers,
  receivers referenced exist, group_by, durations, `continue` not on the root, time intervals exist);
- matchers (`matchers:` with Alertmanager's parser, legacy `match` / `match_re`), inhibit rules;
- `time_intervals` / `mute_time_intervals`; `templates` globs (every file that matches must parse, when
  the Go template engine `opsctl.gotemplate` is available).

Secrets are kept in `Secret` objects whose str()/repr() is `<secret>`.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opsctl.alertmanager import timeinterval as ti
from opsctl.alertmanager.matchers import (
    LABEL_NAME_RE,
    Matcher,
    MatcherError,
    MatchType,
    compile_go_regex,
    parse_matchers,
)
from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.gosem.durations import parse_go_duration
from opsctl.yamlutil import PosDict, PosList, loads_documents, read_text

SECRET_TOKEN = "<secret>"  # noqa: S105 - the placeholder shown instead of secrets

# Target Alertmanager versions (`--alertmanager-version`): the config fields and checks of each. 0.25 is what
# Debian ships (amtool 0.25 is the oracle); newer fields are gated by the version that added them (table
# FIELD_VERSIONS in docs/alertmanager.md; oracle: Alertmanager's own config test data of v0.34).
VERSIONS = tuple(f"0.{n}" for n in range(25, 36))
DEFAULT_VERSION = VERSIONS[-1]
Version = tuple[int, int]


def parse_version(text: str | None) -> Version:
    """`0.27`, `0.27.1`, `v0.27.0` -> (0, 27); only the supported range 0.25..0.35."""
    if text is None:
        text = DEFAULT_VERSION
    parts = text.strip().lstrip("v").split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
        if len(parts) > 3 or (len(parts) == 3 and not parts[2].isdigit()):
            raise ValueError(text)
    except (ValueError, IndexError):
        raise InputError(f"invalid Alertmanager version {text!r} (want e.g. 0.27)",
                         "--alertmanager-version") from None
    if f"{major}.{minor}" not in VERSIONS:
        raise InputError(f"unsupported Alertmanager version {text!r} (supported: {VERSIONS[0]} to {VERSIONS[-1]})",
                         "--alertmanager-version")
    return (major, minor)


def _since(version: str, kind: Any) -> tuple[str, Version, Any]:
    """A field that exists from Alertmanager `version` on (older targets: unknown field)."""
    major, minor = version.split(".")
    return ("since", (int(major), int(minor)), kind)


class Secret:
    """A secret string: compares and reveals its value only through `.reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return SECRET_TOKEN if self._value else ""

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def to_dict(self) -> str:
        return str(self)


class ConfigErrors(Exception):
    """Every problem found in one config file (each an InputError with a position)."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(str(errors[0]) if errors else "invalid config")
        self.errors = errors


# ------------------------------------------------------------------------------------------------
# Typed model


@dataclass
class Route:
    receiver: str = ""
    group_by: list[str] | None = None
    group_by_all: bool = False
    matchers: list[Matcher] = field(default_factory=list)  # match + match_re + matchers, unsorted
    continue_: bool = False
    routes: list[Route] = field(default_factory=list)
    group_wait: float | None = None
    group_interval: float | None = None
    repeat_interval: float | None = None
    mute_time_intervals: list[str] = field(default_factory=list)
    active_time_intervals: list[str] = field(default_factory=list)
    line: int = 0
    column: int = 0


@dataclass
class InhibitRule:
    source_matchers: list[Matcher]
    target_matchers: list[Matcher]
    equal: list[str]
    index: int = 0
    line: int = 0
    column: int = 0


@dataclass
class Integration:
    """One `<kind>_configs` entry of a receiver; settings keep Secret objects for secret fields."""

    kind: str
    index: int
    settings: dict[str, Any]
    line: int = 0
    column: int = 0


@dataclass
class Receiver:
    name: str
    integrations: list[Integration] = field(default_factory=list)
    line: int = 0
    column: int = 0


@dataclass
class NamedTimeInterval:
    name: str
    intervals: list[ti.TimeInterval]
    deprecated_mute: bool = False
    line: int = 0
    column: int = 0

    def contains(self, t: Any) -> bool:
        return any(i.contains(t) for i in self.intervals)


@dataclass
class GlobalConfig:
    resolve_timeout: float = 300.0
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    file: str
    global_: GlobalConfig
    route: Route
    receivers: list[Receiver]
    inhibit_rules: list[InhibitRule]
    time_intervals: list[NamedTimeInterval]
    templates: list[str]
    template_files: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    version: Version = (0, 35)  # the Alertmanager version the config was read for

    def receiver(self, name: str) -> Receiver | None:
        for r in self.receivers:
            if r.name == name:
                return r
        return None

    def time_interval(self, name: str) -> NamedTimeInterval | None:
        for t in self.time_intervals:
            if t.name == name:
                return t
        return None

    def count_routes(self) -> int:
        def walk(r: Route) -> int:
            return 1 + sum(walk(c) for c in r.routes)

        return walk(self.route)


# ------------------------------------------------------------------------------------------------
# Strict decoding of YAML values (yaml.v2 UnmarshalStrict semantics)


class _Fail(Exception):
    def __init__(self, message: str, loc: tuple[int, int]) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc


def _tag(v: Any) -> str:
    if isinstance(v, dict):
        return "!!map"
    if isinstance(v, list):
        return "!!seq"
    if isinstance(v, bool):
        return "!!bool"
    if isinstance(v, int):
        return "!!int"
    if isinstance(v, float):
        return "!!float"
    return "!!str"


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


class _FailedItem:
    """Stands for a list item that failed to decode (its error is already recorded)."""


FAILED: Any = _FailedItem()
Kind = Any  # str | tuple
Spec = dict[str, Kind]


class _Decoder:
    def __init__(self, file: str, version: Version = (0, 35)) -> None:
        self.file = file
        self.version = version
        self.errors: list[InputError] = []

    def error(self, message: str, loc: tuple[int, int]) -> None:
        self.errors.append(InputError(message, self.file, loc[0], loc[1]))

    # -- scalars
    def str_(self, v: Any, loc: tuple[int, int], typ: str = "string") -> str:
        if v is None:
            return ""
        if isinstance(v, (dict, list)):
            raise _Fail(f"cannot unmarshal {_tag(v)} into {typ}", loc)
        return _scalar_text(v)

    def struct(self, v: Any, loc: tuple[int, int], spec: Spec, typename: str) -> dict[str, Any]:
        """Decode a mapping field by field; unknown keys are errors. Returns decoded values + '__loc__'."""
        if v is None:
            return {"__loc__": loc, "__present__": set(), "__failed__": set()}
        if not isinstance(v, dict):
            raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into {typename}", loc)
        # __failed__: keys whose value had an error of its own (already recorded); checks that a key is
        # missing skip these, so that only the real error is reported (as amtool does)
        out: dict[str, Any] = {"__loc__": getattr(v, "loc", loc), "__present__": set(),
                               "__keylocs__": {}, "__failed__": set()}
        for key, value in v.items():
            kloc = v.key_loc(key) if isinstance(v, PosDict) else loc
            vloc = v.value_loc(key) if isinstance(v, PosDict) else loc
            kind = spec.get(key)
            if isinstance(kind, tuple) and kind[0] == "since":
                kind = kind[2] if self.version >= kind[1] else None
            if kind is None:
                self.error(f"field {key} not found in type {typename}", kloc)
                continue
            out["__keylocs__"][key] = vloc
            try:
                decoded = self.value(value, vloc, kind, key)
            except _Fail as exc:
                self.error(exc.message, exc.loc)
                out["__failed__"].add(key)
                continue
            if value is not None:
                out["__present__"].add(key)
            out[key] = decoded
        return out

    def value(self, v: Any, loc: tuple[int, int], kind: Kind, key: str) -> Any:
        if isinstance(kind, tuple):
            tag = kind[0]
            if tag == "obj":
                return kind[1](self, v, loc) if v is not None else None
            if tag == "list":
                if v is None:
                    return None
                if not isinstance(v, list):
                    raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into []{key}", loc)
                items = []
                for i, item in enumerate(v):
                    iloc = v.item_loc(i) if isinstance(v, PosList) else loc
                    try:
                        items.append(self.value(item, iloc, kind[1], key))
                    except _Fail as exc:
                        self.error(exc.message, exc.loc)
                        items.append(FAILED)
                return items
            raise AssertionError(tag)
        if kind in ("str", "secret"):
            s = self.str_(v, loc)
            return Secret(s) if kind == "secret" else s
        if kind == "bool":
            if v is None:
                return False
            if not isinstance(v, bool):
                raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into bool", loc)
            return v
        if kind in ("int", "uint"):
            if v is None:
                return 0
            if isinstance(v, bool) or not isinstance(v, int) or (kind == "uint" and v < 0):
                raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into {kind}64", loc)
            return v
        if kind == "duration":
            if v is None:
                return None
            s = self.str_(v, loc)
            try:
                return parse_duration(s)
            except ValueError as exc:
                raise _Fail(str(exc), loc) from None
        if kind == "godur":
            if v is None:
                return None
            if isinstance(v, int) and not isinstance(v, bool):
                return v / 1e9
            try:
                return go_parse_duration(self.str_(v, loc))
            except ValueError as exc:
                raise _Fail(str(exc), loc) from None
        if kind in ("url", "secret_url", "plain_url"):
            if v is None:
                return None
            s = self.str_(v, loc)
            if kind == "secret_url" and s == SECRET_TOKEN:
                return Secret(s)
            try:
                check_url(s, require_http=kind != "plain_url")
            except ValueError as exc:
                msg = str(exc)
                if kind == "secret_url":
                    msg = msg.replace(s, "<secret>") if s else msg
                raise _Fail(msg, loc) from None
            return Secret(s) if kind == "secret_url" else s
        if kind == "hostport":
            s = self.str_(v, loc)
            if s:
                try:
                    split_host_port(s)
                except ValueError as exc:
                    raise _Fail(str(exc), loc) from None
            return s
        if kind == "strlist":
            if v is None:
                return None
            if not isinstance(v, list):
                raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into []string", loc)
            return [self.str_(x, v.item_loc(i) if isinstance(v, PosList) else loc) for i, x in enumerate(v)]
        if kind == "strmap":
            if v is None:
                return None
            if not isinstance(v, dict):
                raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into map[string]string", loc)
            out: dict[str, str] = {}
            for k, x in v.items():
                out[str(k)] = self.str_(x, v.value_loc(k) if isinstance(v, PosDict) else loc)
            return out
        if kind == "anymap":
            if v is None:
                return None
            if not isinstance(v, dict):
                raise _Fail(f"cannot unmarshal {_tag(v)} into map[string]interface {{}}", loc)
            return dict(v)
        if kind == "regexmap":
            if v is None:
                return None
            if not isinstance(v, dict):
                raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into config.MatchRegexps", loc)
            rx: dict[str, str] = {}
            for k, x in v.items():
                xloc = v.value_loc(k) if isinstance(v, PosDict) else loc
                s = self.str_(x, xloc)
                if x is not None:
                    try:
                        compile_go_regex("^(?:" + s + ")$")
                    except MatcherError as exc:
                        raise _Fail(str(exc), xloc) from None
                rx[str(k)] = s if x is not None else None  # type: ignore[assignment]
            for k, x in rx.items():
                if not LABEL_NAME_RE.match(k):
                    kloc = v.key_loc(k) if isinstance(v, PosDict) else loc
                    raise _Fail(f'invalid label name "{k}"', kloc)
                if x is None:
                    raise _Fail(f'invalid regexp value for "{k}"', v.key_loc(k) if isinstance(v, PosDict) else loc)
            return rx
        if kind == "matchers":
            if v is None:
                return None
            if not isinstance(v, list):
                raise _Fail(f"cannot unmarshal {_tag(v)} `{_scalar_text(v)}` into []string", loc)
            ms: list[Matcher] = []
            for i, line in enumerate(v):
                iloc = v.item_loc(i) if isinstance(v, PosList) else loc
                try:
                    ms.extend(parse_matchers(self.str_(line, iloc)))
                except MatcherError as exc:
                    raise _Fail(str(exc), iloc) from None
            return ms
        if kind == "labelname":
            s = self.str_(v, loc)
            if v is not None and not LABEL_NAME_RE.match(s):
                raise _Fail(f'"{s}" is not a valid label name', loc)
            return s
        if kind == "any":
            return v
        if kind == "tlsversion":
            s = self.str_(v, loc)
            if s not in ("TLS10", "TLS11", "TLS12", "TLS13"):
                raise _Fail(f"unknown TLS version: {s}", loc)
            return s
        raise AssertionError(kind)


def split_host_port(s: str) -> tuple[str, str]:
    """Go's net.SplitHostPort, plus Alertmanager's 'port cannot be empty'."""
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError(f"address {s}: missing ']' in address")
        host, rest = s[1:end], s[end + 1:]
        if not rest.startswith(":"):
            raise ValueError(f"address {s}: missing port in address")
        port = rest[1:]
        if ":" in port:
            raise ValueError(f"address {s}: too many colons in address")
    else:
        i = s.rfind(":")
        if i < 0:
            raise ValueError(f"address {s}: missing port in address")
        host, port = s[:i], s[i + 1:]
        if ":" in host:
            raise ValueError(f"address {s}: too many colons in address")
        if "[" in host or "]" in host or "]" in port:
            raise ValueError(f"address {s}: unexpected bracket in address")
    if port == "":
        raise ValueError(f'address "{s}": port cannot be empty')
    return host, port


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _go_scheme(s: str) -> tuple[str, str]:
    for i, c in enumerate(s):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                return "", s
            continue
        if c == ":":
            if i == 0:
                raise ValueError(f'parse "{s}": missing protocol scheme')
            return s[:i], s[i + 1:]
        return "", s
    return "", s


def check_url(s: str, require_http: bool = True) -> None:
    """Go's url.Parse plus Alertmanager's parseURL checks (http/https and a host)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise ValueError(f'parse "{s}": net/url: invalid control character in URL')
    scheme, rest = _go_scheme(s)
    if not scheme:
        seg = rest.split("/", 1)[0]
        if ":" in seg and not rest.startswith("/"):
            raise ValueError(f'parse "{s}": first path segment in URL cannot contain colon')
    frag = s.split("#", 1)
    if _BAD_ESCAPE.search(frag[0].split("?", 1)[0]):
        raise ValueError(f'parse "{s}": invalid URL escape')
    try:
        parts = urlsplit(s)
        host = parts.netloc.rsplit("@", 1)[-1]
        if host and (" " in host or _BAD_ESCAPE.search(host)):
            raise ValueError(f'parse "{s}": invalid character " " in host name')
        if ":" in host and not host.startswith("["):
            port = host.rsplit(":", 1)[1]
            if port and not port.isdigit():
                raise ValueError(f'parse "{s}": invalid port ":{port}" after host')
    except ValueError as exc:
        if "parse" in str(exc):
            raise
        raise ValueError(f'parse "{s}": {exc}') from None
    if not require_http:
        return
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f'unsupported scheme "{scheme}" for URL')
    if not host:
        raise ValueError("missing host for URL")


def go_parse_duration(s: str) -> float:
    """Go's time.ParseDuration (opsctl.gosem), in seconds; ValueError with Go's text."""
    return parse_go_duration(s) / 1e9


# ------------------------------------------------------------------------------------------------
# Specs (field names of Alertmanager 0.25 and prometheus/common of its time)

def _tls_config(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {
        "ca_file": "str", "cert_file": "str", "key_file": "str",
        "server_name": "str", "insecure_skip_verify": "bool", "min_version": "tlsversion",
        "max_version": "tlsversion",
    }, "config.plain")
    return c


def _basic_auth(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"username": "str", "password": "secret", "password_file": "str"}, "config.plain")


def _authorization(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"type": "str", "credentials": "secret", "credentials_file": "str"}, "config.plain")


def _oauth2(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {
        "client_id": "str", "client_secret": "secret", "client_secret_file": "str", "scopes": "strlist",
        "token_url": "str", "endpoint_params": "strmap", "tls_config": ("obj", _tls_config),
        "proxy_url": "plain_url",
    }, "config.plain")


def _http_config(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {
        "basic_auth": ("obj", _basic_auth), "authorization": ("obj", _authorization),
        "oauth2": ("obj", _oauth2), "bearer_token": "secret", "bearer_token_file": "str",
        "proxy_url": "plain_url", "tls_config": ("obj", _tls_config), "follow_redirects": "bool",
        "enable_http2": "bool", "proxy_connect_header": "anymap",
    }, "config.plain")
    at = c["__loc__"]
    bt, btf = c.get("bearer_token"), c.get("bearer_token_file")
    ba, oa, au = c.get("basic_auth"), c.get("oauth2"), c.get("authorization")
    if bt and btf:
        raise _Fail("at most one of bearer_token & bearer_token_file must be configured", at)
    if (ba is not None or oa is not None) and (bt or btf):
        raise _Fail("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured", at)
    if ba is not None and ba.get("password") and ba.get("password_file"):
        raise _Fail("at most one of basic_auth password & password_file must be configured", at)
    if au is not None:
        if bt or btf:
            raise _Fail("authorization is not compatible with bearer_token & bearer_token_file", at)
        if au.get("credentials") and au.get("credentials_file"):
            raise _Fail("at most one of authorization credentials & credentials_file must be configured", at)
        typ = (au.get("type") or "").strip() or "Bearer"
        if typ.lower() == "basic":
            raise _Fail('authorization type cannot be set to "basic", use "basic_auth" instead', at)
        if ba is not None or oa is not None:
            raise _Fail("at most one of basic_auth, oauth2 & authorization must be configured", at)
    elif bt or btf:
        c["authorization"] = {"type": "Bearer", "credentials": bt, "credentials_file": btf}
    if oa is not None:
        if ba is not None:
            raise _Fail("at most one of basic_auth, oauth2 & authorization must be configured", at)
        if not oa.get("client_id"):
            raise _Fail("oauth2 client_id must be configured", at)
        if not oa.get("client_secret") and not oa.get("client_secret_file"):
            raise _Fail("either oauth2 client_secret or client_secret_file must be configured", at)
        if not oa.get("token_url"):
            raise _Fail("oauth2 token_url must be configured", at)
        if oa.get("client_secret") and oa.get("client_secret_file"):
            raise _Fail("at most one of oauth2 client_secret & client_secret_file must be configured", at)
    return c


_NOTIFIER_BASE: Spec = {"send_resolved": "bool", "http_config": ("obj", _http_config)}


def _slack_field(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {"title": "str", "value": "str", "short": "bool"}, "config.plain")
    if not c.get("title"):
        raise _Fail("missing title in Slack field configuration", c["__loc__"])
    if not c.get("value"):
        raise _Fail("missing value in Slack field configuration", c["__loc__"])
    return c


def _slack_confirm(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {"text": "str", "title": "str", "ok_text": "str", "dismiss_text": "str"}, "config.plain")
    if not c.get("text"):
        raise _Fail("missing text in Slack confirmation configuration", c["__loc__"])
    return c


def _slack_action(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {"type": "str", "text": "str", "url": "str", "style": "str", "name": "str",
                          "value": "str", "confirm": ("obj", _slack_confirm)}, "config.plain")
    if not c.get("type"):
        raise _Fail("missing type in Slack action configuration", c["__loc__"])
    if not c.get("text"):
        raise _Fail("missing text in Slack action configuration", c["__loc__"])
    if not c.get("url") and not c.get("name"):
        raise _Fail("missing name or url in Slack action configuration", c["__loc__"])
    return c


def _rocketchat_field(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"title": "str", "value": "str", "short": "bool"}, "config.plain")


def _rocketchat_action(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"type": "str", "text": "str", "url": "str", "msg": "str"}, "config.plain")


def _pd_link(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"href": "str", "text": "str"}, "config.plain")


def _pd_image(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"src": "str", "alt": "str", "href": "str"}, "config.plain")


def _og_responder(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"id": "str", "name": "str", "username": "str", "type": "str"}, "config.plain")


def _sigv4(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    return d.struct(v, loc, {"region": "str", "access_key": "str", "secret_key": "secret", "profile": "str",
                             "role_arn": "str"}, "sigv4.plain")


NOTIFIER_SPECS: dict[str, Spec] = {
    "email": {"to": "str", "from": "str", "hello": "str", "smarthost": "hostport", "auth_username": "str",
              "auth_password": "secret", "auth_password_file": "str", "auth_secret": "secret",
              "auth_secret_file": _since("0.34", "str"),
              "auth_identity": "str", "headers": "strmap", "html": "str", "text": "str", "require_tls": "bool",
              "tls_config": ("obj", _tls_config), "send_resolved": "bool"},
    "pagerduty": {**_NOTIFIER_BASE, "service_key": "secret", "service_key_file": "str", "routing_key": "secret",
                  "routing_key_file": "str", "url": "url", "client": "str", "client_url": "str",
                  "description": "str", "details": "strmap", "images": ("list", ("obj", _pd_image)),
                  "links": ("list", ("obj", _pd_link)), "source": "str", "severity": "str", "class": "str",
                  "component": "str", "group": "str"},
    "slack": {**_NOTIFIER_BASE, "api_url": "secret_url", "api_url_file": "str", "channel": "str",
              "username": "str", "color": "str", "title": "str", "title_link": "str", "pretext": "str",
              "text": "str", "fields": ("list", ("obj", _slack_field)), "short_fields": "bool",
              "footer": "str", "fallback": "str", "callback_id": "str", "icon_emoji": "str", "icon_url": "str",
              "image_url": "str", "thumb_url": "str", "link_names": "bool", "mrkdwn_in": "strlist",
              "actions": ("list", ("obj", _slack_action)),
              "app_token": _since("0.33", "secret"), "app_token_file": _since("0.33", "str"),
              "app_url": _since("0.33", "url"), "update_message": _since("0.33", "bool")},
    "webhook": {**_NOTIFIER_BASE, "url": "secret_url", "url_file": _since("0.26", "str"), "max_alerts": "uint",
                "timeout": _since("0.28", "godur")},
    "discord": {**_NOTIFIER_BASE, "webhook_url": "secret_url", "webhook_url_file": _since("0.28", "str"),
                "title": "str", "message": "str", "content": _since("0.28", "str"),
                "username": _since("0.28", "str"), "avatar_url": _since("0.28", "str")},
    "opsgenie": {**_NOTIFIER_BASE, "api_key": "secret", "api_key_file": "str", "api_url": "url",
                 "message": "str", "description": "str", "source": "str", "details": "strmap", "entity": "str",
                 "responders": ("list", ("obj", _og_responder)), "actions": "str", "tags": "str", "note": "str",
                 "priority": "str", "update_alerts": "bool"},
    "wechat": {**_NOTIFIER_BASE, "api_secret": "secret", "api_secret_file": _since("0.34", "str"), "corp_id": "str",
               "message": "str", "api_url": "url",
               "to_user": "str", "to_party": "str", "to_tag": "str", "agent_id": "str", "message_type": "str"},
    "pushover": {**_NOTIFIER_BASE, "user_key": "secret", "token": "secret", "title": "str", "message": "str",
                 "user_key_file": _since("0.26", "str"), "token_file": _since("0.26", "str"),
                 "device": _since("0.26", "str"), "ttl": _since("0.27", "godur"),
                 "url": "str", "url_title": "str",
                 "sound": "str", "priority": "str", "retry": "godur", "expire": "godur", "html": "bool"},
    "victorops": {**_NOTIFIER_BASE, "api_key": "secret", "api_key_file": "str", "api_url": "url",
                  "routing_key": "str", "message_type": "str", "state_message": "str",
                  "entity_display_name": "str", "monitoring_tool": "str", "custom_fields": "strmap"},
    "sns": {**_NOTIFIER_BASE, "api_url": "str", "sigv4": ("obj", _sigv4), "topic_arn": "str",
            "phone_number": "str", "target_arn": "str", "subject": "str", "message": "str",
            "attributes": "strmap"},
    "telegram": {**_NOTIFIER_BASE, "api_url": "url", "bot_token": "secret", "bot_token_file": _since("0.26", "str"),
                 "chat_id": "int", "message_thread_id": _since("0.26", "int"), "message": "str",
                 "disable_notifications": "bool", "parse_mode": "str"},
    "webex": {**_NOTIFIER_BASE, "api_url": "url", "message": "str", "room_id": "str"},
    # receivers added after 0.25 (RECEIVER_SINCE says from which version)
    "msteams": {**_NOTIFIER_BASE, "webhook_url": "secret_url", "webhook_url_file": _since("0.28", "str"),
                "title": "str", "summary": "str", "text": "str"},
    "msteamsv2": {**_NOTIFIER_BASE, "webhook_url": "secret_url", "webhook_url_file": "str", "title": "str",
                  "text": "str"},
    "rocketchat": {**_NOTIFIER_BASE, "api_url": "url", "token": "secret", "token_file": "str", "token_id": "secret",
                   "token_id_file": "str", "channel": "str", "color": "str", "emoji": "str", "icon_url": "str",
                   "text": "str", "title": "str", "title_link": "str",
                   "fields": ("list", ("obj", _rocketchat_field)), "short_fields": "bool", "image_url": "str",
                   "thumb_url": "str", "link_names": "bool", "actions": ("list", ("obj", _rocketchat_action))},
    "jira": {**_NOTIFIER_BASE, "api_url": "url", "project": "str", "summary": "str", "description": "str",
             "labels": "strlist", "priority": "str", "issue_type": "str", "reopen_transition": "str",
             "resolve_transition": "str", "wont_fix_resolution": "str", "reopen_duration": "duration",
             "fields": "anymap"},
    "mattermost": {**_NOTIFIER_BASE, "webhook_url": "secret_url", "webhook_url_file": "str", "channel": "str",
                   "username": "str", "text": "str", "icon_url": "str", "icon_emoji": "str"},
}
RECEIVER_SINCE = {"msteams": "0.26", "msteamsv2": "0.28", "rocketchat": "0.28", "jira": "0.28",
                  "mattermost": "0.30"}

GLOBAL_SPEC: Spec = {
    "resolve_timeout": "duration", "http_config": ("obj", _http_config), "smtp_from": "str",
    "smtp_hello": "str", "smtp_smarthost": "hostport", "smtp_auth_username": "str",
    "smtp_auth_password": "secret", "smtp_auth_password_file": "str", "smtp_auth_secret": "secret",
    "smtp_auth_identity": "str", "smtp_require_tls": "bool", "smtp_tls_config": _since("0.34", ("obj", _tls_config)),
    "slack_api_url": "secret_url",
    "slack_api_url_file": "str", "pagerduty_url": "url", "opsgenie_api_url": "url", "opsgenie_api_key": "secret",
    "opsgenie_api_key_file": "str", "wechat_api_url": "url", "wechat_api_secret": "secret",
    "wechat_api_corp_id": "str", "victorops_api_url": "url", "victorops_api_key": "secret",
    "victorops_api_key_file": "str", "telegram_api_url": "url", "webex_api_url": "url",
    "rocketchat_api_url": _since("0.28", "url"), "rocketchat_token": _since("0.28", "secret"),
    "rocketchat_token_file": _since("0.28", "str"), "rocketchat_token_id": _since("0.28", "secret"),
    "rocketchat_token_id_file": _since("0.28", "str"), "jira_api_url": _since("0.28", "url"),
    "mattermost_webhook_url": _since("0.31", "secret_url"), "mattermost_webhook_url_file": _since("0.31", "str"),
    "slack_app_token": _since("0.33", "secret"), "slack_app_token_file": _since("0.33", "str"),
    "slack_app_url": _since("0.33", "url"),
    "telegram_bot_token": _since("0.34", "secret"), "telegram_bot_token_file": _since("0.34", "str"),
    "wechat_api_secret_file": _since("0.34", "str"),
}

GLOBAL_DEFAULTS: dict[str, Any] = {
    "resolve_timeout": 300.0, "smtp_hello": "localhost", "smtp_require_tls": True,
    "pagerduty_url": "https://events.pagerduty.com/v2/enqueue", "opsgenie_api_url": "https://api.opsgenie.com/",
    "wechat_api_url": "https://qyapi.weixin.qq.com/cgi-bin/",
    "victorops_api_url": "https://alert.victorops.com/integrations/generic/20131114/alert/",
    "telegram_api_url": "https://api.telegram.org", "webex_api_url": "https://webexapis.com/v1/messages",
}

SECRET_FIELDS = {k for spec in [GLOBAL_SPEC, *NOTIFIER_SPECS.values()] for k, v in spec.items()
                 if (v[2] if isinstance(v, tuple) and v[0] == "since" else v) in ("secret", "secret_url")}

_VICTOROPS_RESERVED = ["routing_key", "message_type", "state_message", "entity_display_name", "monitoring_tool",
                       "entity_id", "entity_state"]
_OPSGENIE_TYPES = re.compile(r"^(team|teams|user|escalation|schedule)$")


def _check_notifier(kind: str, c: dict[str, Any], version: Version = (0, 35)) -> None:
    at = c["__loc__"]

    def both(a: str, b: str, msg: str) -> None:
        if c.get(a) and c.get(b):
            raise _Fail(msg, at)

    if kind == "email":
        if not c.get("to"):
            raise _Fail("missing to address in email config", at)
        seen: set[str] = set()
        for h in (c.get("headers") or {}):
            canon = "-".join(p[:1].upper() + p[1:].lower() for p in h.split("-"))
            if canon in seen:
                raise _Fail(f'duplicate header "{canon}" in email config', at)
            seen.add(canon)
    elif kind == "pagerduty":
        if not (c.get("routing_key") or c.get("service_key") or c.get("routing_key_file")
                or c.get("service_key_file")):
            raise _Fail("missing service or routing key in PagerDuty config", at)
        both("routing_key", "routing_key_file", "at most one of routing_key & routing_key_file must be configured")
        both("service_key", "service_key_file", "at most one of service_key & service_key_file must be configured")
    elif kind == "slack":
        if c.get("api_url") is not None and c.get("api_url_file"):
            raise _Fail("at most one of api_url & api_url_file must be configured", at)
        both("app_token", "app_token_file", "at most one of app_token & app_token_file must be configured")
    elif kind == "webhook" and version >= (0, 26):
        if c.get("url") is None and not c.get("url_file"):
            raise _Fail("one of url or url_file must be configured", at)
        if c.get("url") is not None and c.get("url_file"):
            raise _Fail("at most one of url & url_file must be configured", at)
    elif kind == "webhook":
        if c.get("url") is None:
            raise _Fail("missing URL in webhook config", at)
    elif kind == "discord" and version >= (0, 28):
        if c.get("webhook_url") is None and not c.get("webhook_url_file"):
            raise _Fail("one of webhook_url or webhook_url_file must be configured", at)
        if c.get("webhook_url") is not None and c.get("webhook_url_file"):
            raise _Fail("at most one of webhook_url & webhook_url_file must be configured", at)
    elif kind == "discord":
        if c.get("webhook_url") is None:
            raise _Fail("no discord webhook URL provided", at)
    elif kind == "wechat":
        both("api_secret", "api_secret_file", "at most one of api_secret & api_secret_file must be configured")
        mt = c.get("message_type") or "text"
        if mt not in ("text", "markdown"):
            raise _Fail(f'weChat message type "{mt}" does not match valid options ^(text|markdown)$', at)
    elif kind == "opsgenie":
        both("api_key", "api_key_file", "at most one of api_key & api_key_file must be configured")
        for r in c.get("responders") or []:
            if r is FAILED:
                continue
            if r is None:
                raise _Fail("opsGenieConfig responder has to have at least one of id, username or name specified",
                            at)
            if not (r.get("id") or r.get("username") or r.get("name")):
                raise _Fail("opsGenieConfig responder has to have at least one of id, username or name specified",
                            r["__loc__"])
            typ = r.get("type") or ""
            if "{{" in typ:
                err = _template_parse_error(typ)
                if err:
                    raise _Fail(f"opsGenieConfig responder type is not a valid template: {err}", r["__loc__"])
            elif not _OPSGENIE_TYPES.match(typ.lower()):
                raise _Fail("opsGenieConfig responder type does not match valid options "
                            "^(team|teams|user|escalation|schedule)$", r["__loc__"])
    elif kind == "victorops":
        if not c.get("routing_key"):
            raise _Fail("missing Routing key in VictorOps config", at)
        both("api_key", "api_key_file", "at most one of api_key & api_key_file must be configured")
        for f in _VICTOROPS_RESERVED:
            if f in (c.get("custom_fields") or {}):
                raise _Fail(f"victorOps config contains custom field {f} which cannot be used as it conflicts "
                            "with the fixed/static fields", at)
    elif kind == "pushover" and version >= (0, 26):
        for key in ("user_key", "token"):
            if not c.get(key) and not c.get(f"{key}_file"):
                raise _Fail(f"one of {key} or {key}_file must be configured", at)
            both(key, f"{key}_file", f"at most one of {key} & {key}_file must be configured")
    elif kind == "pushover":
        if not c.get("user_key"):
            raise _Fail("missing user key in Pushover config", at)
        if not c.get("token"):
            raise _Fail("missing token in Pushover config", at)
    elif kind == "sns":
        if ((not c.get("target_arn")) != (not c.get("topic_arn"))) != (not c.get("phone_number")):
            raise _Fail("must provide either a Target ARN, Topic ARN, or Phone Number for SNS config", at)
    elif kind == "telegram":
        if version >= (0, 26):
            both("bot_token", "bot_token_file", "at most one of bot_token & bot_token_file must be configured")
            # from 0.34 a missing token may come from the global section (checked with the globals)
            if version < (0, 34) and not c.get("bot_token") and not c.get("bot_token_file"):
                raise _Fail("missing bot_token or bot_token_file on telegram_config", at)
        elif not c.get("bot_token"):
            raise _Fail("missing bot_token on telegram_config", at)
        if not c.get("chat_id"):
            raise _Fail("missing chat_id on telegram_config", at)
        pm = c.get("parse_mode", "HTML") if "parse_mode" in c["__present__"] else "HTML"
        if pm not in ("", "Markdown", "MarkdownV2", "HTML"):
            raise _Fail("unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
                        at)
    elif kind in ("msteams", "msteamsv2"):
        if c.get("webhook_url") is None and not c.get("webhook_url_file"):
            raise _Fail("one of webhook_url or webhook_url_file must be configured", at)
        if c.get("webhook_url") is not None and c.get("webhook_url_file"):
            raise _Fail("at most one of webhook_url & webhook_url_file must be configured", at)
    elif kind == "mattermost":
        if c.get("webhook_url") is not None and c.get("webhook_url_file"):
            raise _Fail("at most one of webhook_url & webhook_url_file must be configured", at)
    elif kind == "rocketchat":
        both("token", "token_file", "at most one of token & token_file must be configured")
        both("token_id", "token_id_file", "at most one of token_id & token_id_file must be configured")
    elif kind == "jira":
        if not c.get("project"):
            raise _Fail("missing project in jira_config", at)
        if not c.get("issue_type"):
            raise _Fail("missing issue_type in jira_config", at)
    elif kind == "webex":
        if not c.get("room_id"):
            raise _Fail("missing room_id on webex_config", at)
        hc = c.get("http_config")
        if hc is None or hc.get("authorization") is None:
            raise _Fail("missing webex_configs.http_config.authorization", at)


def _template_parse_error(text: str) -> str | None:
    try:
        from opsctl.gotemplate import TemplateError, parse
    except ImportError:  # pragma: no cover - engine not installed
        return None
    try:
        parse(text, "")
    except TemplateError as exc:
        return str(exc)
    return None


def _make_notifier(kind: str) -> Callable[[_Decoder, Any, tuple[int, int]], dict[str, Any]]:
    def dec(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
        c = d.struct(v, loc, NOTIFIER_SPECS[kind], "config.plain")
        if not c.get("__failed__"):  # a field's own error stops Alertmanager before these checks
            _check_notifier(kind, c, d.version)
        return c

    return dec


RECEIVER_SPEC: Spec = {"name": "str", "labels": _since("0.34", "strmap"), **{
    f"{k}_configs": _since(RECEIVER_SINCE[k], ("list", ("obj", _make_notifier(k)))) if k in RECEIVER_SINCE
    else ("list", ("obj", _make_notifier(k))) for k in NOTIFIER_SPECS}}


def _receiver(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, RECEIVER_SPEC, "config.plain")
    if not c.get("name"):
        raise _Fail("missing name in receiver", c["__loc__"])
    return c


def _route(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, ROUTE_SPEC, "config.plain")
    at = c["__loc__"]
    kl = c.get("__keylocs__", {})
    if any(sub is None for sub in c.get("routes") or []):
        raise _Fail("empty entry in routes (Alertmanager 0.25 crashes on it)", kl.get("routes", at))
    for k in c.get("match") or {}:
        if not LABEL_NAME_RE.match(k):
            raise _Fail(f'invalid label name "{k}"', kl.get("match", at))
    gb = c.get("group_by")
    if gb is not None:
        labels = []
        gball = False
        for lab in gb:
            if lab == "...":
                gball = True
            else:
                if not LABEL_NAME_RE.match(lab):
                    raise _Fail(f'invalid label name "{lab}" in group_by list', kl.get("group_by", at))
                labels.append(lab)
        if labels and gball:
            raise _Fail("cannot have wildcard group_by (`...`) and other labels at the same time",
                        kl.get("group_by", at))
        if len(set(labels)) != len(labels):
            dup = next(x for x in labels if labels.count(x) > 1)
            raise _Fail(f'duplicated label "{dup}" in group_by', kl.get("group_by", at))
    if c.get("group_interval") == 0:
        raise _Fail("group_interval cannot be zero", kl.get("group_interval", at))
    if c.get("repeat_interval") == 0:
        raise _Fail("repeat_interval cannot be zero", kl.get("repeat_interval", at))
    return c


ROUTE_SPEC: Spec = {
    "receiver": "str", "group_by": "strlist", "match": "strmap", "match_re": "regexmap", "matchers": "matchers",
    "mute_time_intervals": "strlist", "active_time_intervals": "strlist", "continue": "bool",
    "routes": ("list", ("obj", _route)), "group_wait": "duration", "group_interval": "duration",
    "repeat_interval": "duration",
    # route labels (templated, inherited by child routes): in Alertmanager 0.34's and 0.35's config.Route
    "labels": _since("0.34", "strmap"),
}


def _inhibit_rule(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {
        "source_match": "strmap", "source_match_re": "regexmap", "source_matchers": "matchers",
        "target_match": "strmap", "target_match_re": "regexmap", "target_matchers": "matchers",
        "equal": ("list", "labelname"),
    }, "config.plain")
    kl = c.get("__keylocs__", {})
    for key in ("source_match", "target_match"):
        for k in c.get(key) or {}:
            if not LABEL_NAME_RE.match(k):
                raise _Fail(f'invalid label name "{k}"', kl.get(key, c["__loc__"]))
    return c


def _time_range(d: _Decoder, v: Any, loc: tuple[int, int]) -> ti.Range:
    c = d.struct(v, loc, {"start_time": "str", "end_time": "str"}, "timeinterval.yamlTimeRange")
    try:
        return ti.parse_time_range(c.get("start_time", ""), c.get("end_time", ""))
    except ti.IntervalError as exc:
        raise _Fail(str(exc), c["__loc__"]) from None


def _ranges(parser: Callable[[str], ti.Range]) -> Callable[[_Decoder, Any, tuple[int, int]], ti.Range]:
    def dec(d: _Decoder, v: Any, loc: tuple[int, int]) -> ti.Range:
        try:
            return parser(d.str_(v, loc))
        except ti.IntervalError as exc:
            raise _Fail(str(exc), loc) from None

    return dec


def _location(d: _Decoder, v: Any, loc: tuple[int, int]) -> str:
    s = d.str_(v, loc)
    try:
        ti.load_location(s)
    except ti.IntervalError as exc:
        raise _Fail(str(exc), loc) from None
    return s


def _interval(d: _Decoder, v: Any, loc: tuple[int, int]) -> ti.TimeInterval:
    c = d.struct(v, loc, {
        "times": ("list", ("obj", _time_range)), "weekdays": ("list", ("obj", _ranges(ti.parse_weekday))),
        "days_of_month": ("list", ("obj", _ranges(ti.parse_day_of_month))),
        "months": ("list", ("obj", _ranges(ti.parse_month))), "years": ("list", ("obj", _ranges(ti.parse_year))),
        "location": ("obj", _location),
    }, "timeinterval.TimeInterval")

    def lst(key: str) -> list[ti.Range] | None:
        val = c.get(key)
        return None if val is None else [r for r in val if isinstance(r, ti.Range)]

    loc_name = c.get("location")
    return ti.TimeInterval(times=lst("times"), weekdays=lst("weekdays"), days_of_month=lst("days_of_month"),
                           months=lst("months"), years=lst("years"), location=loc_name,
                           _tz=ti.load_location(loc_name) if loc_name else None,
                           legacy_month_length=d.version < ti.MONTH_LENGTH_FIX)


def _named_interval(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {"name": "str", "time_intervals": ("list", ("obj", _interval))}, "config.plain")
    if not c.get("name"):
        raise _Fail("missing name in time interval", c["__loc__"])
    return c


def _named_mute_interval(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, {"name": "str", "time_intervals": ("list", ("obj", _interval))}, "config.plain")
    if not c.get("name"):
        raise _Fail("missing name in mute time interval", c["__loc__"])
    return c


def _global(d: _Decoder, v: Any, loc: tuple[int, int]) -> dict[str, Any]:
    c = d.struct(v, loc, GLOBAL_SPEC, "config.plain")
    for k, default in GLOBAL_DEFAULTS.items():
        if k not in c:
            c[k] = default
    return c


TOP_SPEC: Spec = {
    "global": ("obj", _global), "route": ("obj", _route), "inhibit_rules": ("list", ("obj", _inhibit_rule)),
    "receivers": ("list", ("obj", _receiver)), "templates": "strlist",
    "mute_time_intervals": ("list", ("obj", _named_mute_interval)),
    "time_intervals": ("list", ("obj", _named_interval)),
}


# ------------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | os.PathLike[str], check_templates: bool = True,
                version: Version | None = None) -> Config:
    """Read, decode and validate an Alertmanager config file for a target version (default: the newest
    supported); raises ConfigErrors or InputError."""
    text = read_text(path)
    return loads_config(text, str(path), base_dir=Path(path).parent, check_templates=check_templates,
                        version=version)


def loads_config(text: str, filename: str = "<input>", base_dir: Path | None = None,
                 check_templates: bool = True, version: Version | None = None) -> Config:
    docs = loads_documents(text, filename)
    d = _Decoder(filename, version or parse_version(DEFAULT_VERSION))
    doc = docs[0] if docs else None
    if len(docs) > 1:
        d.error("expected a single YAML document", (1, 1))
    top: dict[str, Any] = {"__loc__": (1, 1), "__present__": set()}
    try:
        top = d.struct(doc, (1, 1), TOP_SPEC, "config.plain")
    except _Fail as exc:
        d.error(exc.message, exc.loc)
    cfg = _build(d, top, filename, base_dir or Path("."), check_templates)
    if d.errors or cfg is None:
        raise ConfigErrors(d.errors or [InputError("invalid config", filename)])
    cfg.raw = doc if isinstance(doc, dict) else {}
    cfg.version = d.version
    return cfg


def _loc_of(c: dict[str, Any] | None) -> tuple[int, int]:
    return c.get("__loc__", (0, 0)) if c else (0, 0)


def _build(d: _Decoder, top: dict[str, Any], filename: str, base_dir: Path,
           check_templates: bool) -> Config | None:
    g = top.get("global")
    if g is None:
        g = {"__loc__": (1, 1), "__present__": set(), **GLOBAL_DEFAULTS}
    gloc = g.get("__loc__", (1, 1))
    for a, b in [("slack_api_url", "slack_api_url_file"), ("opsgenie_api_key", "opsgenie_api_key_file"),
                 ("victorops_api_key", "victorops_api_key_file"),
                 ("smtp_auth_password", "smtp_auth_password_file"),
                 # globals of newer versions (absent, so never both, for older targets)
                 ("slack_app_token", "slack_app_token_file"), ("telegram_bot_token", "telegram_bot_token_file"),
                 ("wechat_api_secret", "wechat_api_secret_file"), ("rocketchat_token", "rocketchat_token_file"),
                 ("rocketchat_token_id", "rocketchat_token_id_file"),
                 ("mattermost_webhook_url", "mattermost_webhook_url_file")]:
        if g.get(a) and g.get(b):
            d.error(f"at most one of {a} & {b} must be configured", gloc)
    if (g.get("slack_app_token") or g.get("slack_app_token_file")) and (
            g.get("slack_api_url_file") or (g.get("slack_api_url") and _reveal(g["slack_api_url"]) != _SLACK_POST)):
        # a global api_url of chat.postMessage is the old way of using a bot token, still accepted
        d.error("at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be "
                "configured", gloc)

    receivers: list[Receiver] = []
    names: set[str] = set()
    rlist = top.get("receivers") or []
    for rc in rlist:
        if rc is FAILED:
            continue
        if rc is None:
            d.error("empty receiver entry (Alertmanager 0.25 crashes on it)",
                    top.get("__keylocs__", {}).get("receivers", (1, 1)))
            continue
        name = rc.get("name", "")
        rloc = _loc_of(rc)
        if name in names:
            d.error(f'notification config name "{name}" is not unique', rloc)
        names.add(name)
        rec = Receiver(name=name, line=rloc[0], column=rloc[1])
        for kind in NOTIFIER_SPECS:
            for i, nc in enumerate(rc.get(f"{kind}_configs") or []):
                if nc is FAILED:
                    continue
                if nc is None:
                    d.error(f"empty entry in {kind}_configs (Alertmanager 0.25 crashes on it)",
                            rc.get("__keylocs__", {}).get(f"{kind}_configs", _loc_of(rc)))
                    continue
                try:
                    if not nc.get("__failed__"):
                        _apply_global(kind, nc, g, d.version)
                except _Fail as exc:
                    d.error(exc.message, exc.loc)
                nloc = _loc_of(nc)
                settings = {k: v for k, v in nc.items() if not k.startswith("__")}
                rec.integrations.append(Integration(kind, i, settings, nloc[0], nloc[1]))
        receivers.append(rec)

    rc_route = top.get("route")
    if rc_route is None:
        if "route" not in top.get("__failed__", set()):  # else its own error is the one to report
            d.error("no route provided in config", (1, 1))
        return None
    rloc = _loc_of(rc_route)
    if rc_route.get("continue"):
        d.error("cannot have continue in root route", rloc)
    if not rc_route.get("receiver") and "receiver" not in rc_route.get("__failed__", set()):
        d.error("root route must specify a default receiver", rloc)
    if rc_route.get("match") or rc_route.get("match_re") or rc_route.get("matchers"):
        d.error("root route must not have any matchers", rloc)
    if rc_route.get("mute_time_intervals"):
        d.error("root route must not have any mute time intervals", rloc)
    if rc_route.get("active_time_intervals"):
        d.error("root route must not have any active time intervals", rloc)
    route = _build_route(rc_route)

    def check_receivers(r: Route) -> None:
        for sub in r.routes:
            check_receivers(sub)
        if r.receiver and r.receiver not in names:
            d.error(f'undefined receiver "{r.receiver}" used in route', (r.line, r.column))

    check_receivers(route)

    intervals: list[NamedTimeInterval] = []
    ti_names: set[str] = set()
    for key, mute in (("mute_time_intervals", True), ("time_intervals", False)):
        for c in top.get(key) or []:
            if c is None or c is FAILED:
                continue
            loc = _loc_of(c)
            if c["name"] in ti_names:
                what = "mute time interval" if mute else "time interval"
                d.error(f'{what} "{c["name"]}" is not unique', loc)
            ti_names.add(c["name"])
            parts = [x for x in (c.get("time_intervals") or []) if isinstance(x, ti.TimeInterval)]
            intervals.append(NamedTimeInterval(c["name"], parts, mute, loc[0], loc[1]))

    def check_intervals(r: Route) -> None:
        for sub in r.routes:
            check_intervals(sub)
        for name in [*r.active_time_intervals, *r.mute_time_intervals]:
            if name not in ti_names:
                d.error(f'undefined time interval "{name}" used in route', (r.line, r.column))

    check_intervals(route)

    inhibit: list[InhibitRule] = []
    for i, c in enumerate(top.get("inhibit_rules") or []):
        if c is None or c is FAILED:
            continue
        loc = _loc_of(c)
        inhibit.append(InhibitRule(
            source_matchers=_legacy_matchers(c, "source_"), target_matchers=_legacy_matchers(c, "target_"),
            equal=[x for x in (c.get("equal") or []) if x is not None], index=i, line=loc[0], column=loc[1]))

    templates = list(top.get("templates") or [])
    files: list[str] = []
    tloc = top.get("__keylocs__", {}).get("templates", (1, 1))
    for pattern in templates:
        full = pattern if (not pattern or os.path.isabs(pattern)) else str(base_dir / pattern)
        try:
            matched = sorted(glob.glob(full))
        except (OSError, re.error) as exc:
            d.error(f"template glob {pattern!r}: {exc}", tloc)
            continue
        files.extend(matched)
    if check_templates and files:
        for err in check_template_files(files):
            d.error(err[0], (err[1], err[2]) if err[1] else tloc)

    gsettings = {k: v for k, v in g.items() if not k.startswith("__")}
    return Config(file=filename, global_=GlobalConfig(resolve_timeout=g.get("resolve_timeout") or 300.0,
                                                      settings=gsettings),
                  route=route, receivers=receivers, inhibit_rules=inhibit, time_intervals=intervals,
                  templates=templates, template_files=files)


def check_template_files(files: list[str]) -> list[tuple[str, int, int]]:
    """Parse template files the way Alertmanager's template.FromGlobs does; returns errors."""
    try:
        from opsctl.alertmanager.notify_templates import parse_template_files
    except ImportError:  # pragma: no cover - Go template engine not available
        return []
    return parse_template_files(files)


def _legacy_matchers(c: dict[str, Any], prefix: str) -> list[Matcher]:
    out: list[Matcher] = []
    for k, v in (c.get(prefix + "match") or {}).items():
        out.append(Matcher.new(MatchType.EQUAL, k, v))
    for k, v in (c.get(prefix + "match_re") or {}).items():
        # Alertmanager builds these from the compiled (already anchored) regexp's String()
        out.append(Matcher.new(MatchType.REGEXP, k, "^(?:" + v + ")$"))
    out.extend(c.get(prefix + "matchers") or [])
    return out


def _build_route(c: dict[str, Any]) -> Route:
    loc = _loc_of(c)
    gb = c.get("group_by")
    r = Route(
        receiver=c.get("receiver", ""),
        group_by=None if gb is None else [x for x in gb if x != "..."],
        group_by_all=gb is not None and "..." in gb,
        matchers=_legacy_matchers(c, ""),
        continue_=bool(c.get("continue")),
        group_wait=c.get("group_wait"), group_interval=c.get("group_interval"),
        repeat_interval=c.get("repeat_interval"),
        mute_time_intervals=list(c.get("mute_time_intervals") or []),
        active_time_intervals=list(c.get("active_time_intervals") or []),
        line=loc[0], column=loc[1],
    )
    r.routes = [_build_route(sub) for sub in (c.get("routes") or []) if isinstance(sub, dict)]
    return r


_SLACK_POST = "https://slack.com/api/chat.postMessage"


def _reveal(v: Any) -> str:
    return v.reveal() if isinstance(v, Secret) else str(v or "")


def _apply_global(kind: str, nc: dict[str, Any], g: dict[str, Any], version: Version = (0, 35)) -> None:
    """Global defaults inheritance and the checks Config.UnmarshalYAML does with them."""
    at = nc["__loc__"]
    if g.get("__failed__"):
        g = {**g, **{k: "<invalid>" for k in g["__failed__"]}}  # its own error is reported; not "missing"
    if kind != "email" and nc.get("http_config") is None:
        nc["http_config"] = g.get("http_config")
    if kind == "email":
        if not nc.get("smarthost"):
            if not g.get("smtp_smarthost"):
                raise _Fail("no global SMTP smarthost set", at)
            nc["smarthost"] = g["smtp_smarthost"]
        if not nc.get("from"):
            if not g.get("smtp_from"):
                raise _Fail("no global SMTP from set", at)
            nc["from"] = g["smtp_from"]
        nc.setdefault("hello", "")
        if not nc.get("hello"):
            nc["hello"] = g.get("smtp_hello", "localhost")
        if not nc.get("auth_username"):
            nc["auth_username"] = g.get("smtp_auth_username", "")
        if not nc.get("auth_password") and not nc.get("auth_password_file"):
            nc["auth_password"] = g.get("smtp_auth_password", Secret(""))
            nc["auth_password_file"] = g.get("smtp_auth_password_file", "")
        if not nc.get("auth_secret"):
            nc["auth_secret"] = g.get("smtp_auth_secret", Secret(""))
        if not nc.get("auth_identity"):
            nc["auth_identity"] = g.get("smtp_auth_identity", "")
        if "require_tls" not in nc["__present__"]:
            nc["require_tls"] = g.get("smtp_require_tls", True)
    elif kind == "slack" and version >= (0, 33):
        own_url = nc.get("api_url") is not None or bool(nc.get("api_url_file"))
        own_token = bool(nc.get("app_token") or nc.get("app_token_file"))
        if not own_url and not own_token:
            if g.get("slack_app_token") or g.get("slack_app_token_file"):
                nc["app_token"] = g.get("slack_app_token")
                nc["app_token_file"] = g.get("slack_app_token_file", "")
            elif g.get("slack_api_url") is not None or g.get("slack_api_url_file"):
                nc["api_url"] = g.get("slack_api_url")
                nc["api_url_file"] = g.get("slack_api_url_file", "")
            else:
                raise _Fail("no Slack API URL nor App token set either inline or in a file", at)
        if nc.get("update_message") and not (nc.get("app_token") or nc.get("app_token_file")) and (
                nc.get("api_url_file") or _reveal(nc.get("api_url")) != _SLACK_POST):
            raise _Fail(f"update_message can only be used with bot tokens. api_url must be set to {_SLACK_POST}", at)
    elif kind == "slack":
        if nc.get("api_url") is None and not nc.get("api_url_file"):
            if g.get("slack_api_url") is None and not g.get("slack_api_url_file"):
                raise _Fail("no global Slack API URL set either inline or in a file", at)
            nc["api_url"] = g.get("slack_api_url")
            nc["api_url_file"] = g.get("slack_api_url_file", "")
    elif kind == "pagerduty":
        if nc.get("url") is None:
            if g.get("pagerduty_url") is None:
                raise _Fail("no global PagerDuty URL set", at)
            nc["url"] = g["pagerduty_url"]
    elif kind == "opsgenie":
        if nc.get("api_url") is None:
            if g.get("opsgenie_api_url") is None:
                raise _Fail("no global OpsGenie URL set", at)
            nc["api_url"] = g["opsgenie_api_url"]
        if not nc.get("api_key") and not nc.get("api_key_file"):
            if not g.get("opsgenie_api_key") and not g.get("opsgenie_api_key_file"):
                raise _Fail("no global OpsGenie API Key set either inline or in a file", at)
            nc["api_key"] = g.get("opsgenie_api_key")
            nc["api_key_file"] = g.get("opsgenie_api_key_file", "")
    elif kind == "wechat":
        if nc.get("api_url") is None:
            if g.get("wechat_api_url") is None:
                raise _Fail("no global Wechat URL set", at)
            nc["api_url"] = g["wechat_api_url"]
        if version >= (0, 34):
            if not nc.get("api_secret") and not nc.get("api_secret_file"):
                if not g.get("wechat_api_secret") and not g.get("wechat_api_secret_file"):
                    raise _Fail("no global Wechat Api Secret set either inline or in a file", at)
                nc["api_secret"] = g.get("wechat_api_secret")
                nc["api_secret_file"] = g.get("wechat_api_secret_file", "")
        elif not nc.get("api_secret"):
            if not g.get("wechat_api_secret"):
                raise _Fail("no global Wechat ApiSecret set", at)
            nc["api_secret"] = g["wechat_api_secret"]
        if not nc.get("corp_id"):
            if not g.get("wechat_api_corp_id"):
                raise _Fail("no global Wechat CorpID set", at)
            nc["corp_id"] = g["wechat_api_corp_id"]
    elif kind == "victorops":
        if nc.get("api_url") is None:
            if g.get("victorops_api_url") is None:
                raise _Fail("no global VictorOps URL set", at)
            nc["api_url"] = g["victorops_api_url"]
        if not nc.get("api_key") and not nc.get("api_key_file"):
            if not g.get("victorops_api_key") and not g.get("victorops_api_key_file"):
                raise _Fail("no global VictorOps API Key set", at)
            nc["api_key"] = g.get("victorops_api_key")
            nc["api_key_file"] = g.get("victorops_api_key_file", "")
    elif kind == "telegram":
        if nc.get("api_url") is None:
            nc["api_url"] = g.get("telegram_api_url")
        if version >= (0, 34) and not nc.get("bot_token") and not nc.get("bot_token_file"):
            if not g.get("telegram_bot_token") and not g.get("telegram_bot_token_file"):
                raise _Fail("missing bot_token or bot_token_file on telegram_config", at)
            nc["bot_token"] = g.get("telegram_bot_token")
            nc["bot_token_file"] = g.get("telegram_bot_token_file", "")
    elif kind == "rocketchat":
        if nc.get("api_url") is None:
            nc["api_url"] = g.get("rocketchat_api_url") or "https://open.rocket.chat/"
        for key, what in (("token", "Token"), ("token_id", "TokenID")):
            if not nc.get(key) and not nc.get(f"{key}_file"):
                if not g.get(f"rocketchat_{key}") and not g.get(f"rocketchat_{key}_file"):
                    raise _Fail(f"no global Rocketchat {what} set either inline or in a file", at)
                nc[key] = g.get(f"rocketchat_{key}")
                nc[f"{key}_file"] = g.get(f"rocketchat_{key}_file", "")
    elif kind == "jira":
        if nc.get("api_url") is None:
            if not g.get("jira_api_url"):
                raise _Fail("no global Jira Cloud URL set", at)
            nc["api_url"] = g["jira_api_url"]
    elif kind == "mattermost":
        if nc.get("webhook_url") is None and not nc.get("webhook_url_file"):
            if g.get("mattermost_webhook_url") is None and not g.get("mattermost_webhook_url_file"):
                raise _Fail("missing webhook_url or webhook_url_file on mattermost_config", at)
            nc["webhook_url"] = g.get("mattermost_webhook_url")
            nc["webhook_url_file"] = g.get("mattermost_webhook_url_file", "")
    elif kind == "webex":
        if nc.get("api_url") is None:
            if g.get("webex_api_url") is None:
                raise _Fail("no global Webex URL set", at)
            nc["api_url"] = g["webex_api_url"]


def iter_routes(route: Route) -> Iterator[Route]:
    yield route
    for sub in route.routes:
        yield from iter_routes(sub)
