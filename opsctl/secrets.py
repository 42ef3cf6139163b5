"""Secrets: read them one way, and keep them out of everything that leaves the process.

Every secret opsctl uses (a `*_env` environment variable, a `*_file` file, a password inside a URL, an
`OPSCTL_PROMETHEUS_TOKEN`) is read through `from_env` / `from_file` / `register`, which remember the value.
`redact(text)` then replaces every remembered value, and the user:password part of any URL, with
`<secret>`; `redact_obj` does the same through dicts and lists. The libraries call it on every string
that can leave the process: exception messages, HTTP error texts, alert text sent to receivers, JSON
reports, the state file (history, spool, delivery errors) and exports.

A value read from an environment variable or a file loses ONE trailing newline (`\\n` or `\\r\\n`), the
common shape of a Kubernetes secret or `echo token > file`; nothing else is trimmed. (Prometheus and
Alertmanager trim surrounding white space from `*_file` contents; a token never holds white space, so the
two agree on every usable value.) Values shorter than `MIN_LENGTH` characters are not remembered: redacting
"ab" everywhere would garble output without protecting anything worth the name.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

__all__ = ["MASK", "MIN_LENGTH", "from_env", "from_file", "redact", "redact_obj", "register",
           "register_basic", "register_headers", "register_url",
           "strip_newline"]

MASK = "<secret>"
MIN_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
# scheme://user:password@ or scheme://token@ : everything between // and the last @ before the host
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/?#@\s'\"<>]+)@")


def strip_newline(value: str) -> str:
    """Drop one trailing line break (`\\r\\n` or `\\n`), as a secret read from a file or env var has."""
    if value.endswith("\r\n"):
        return value[:-2]
    if value.endswith("\n"):
        return value[:-1]
    return value


def register(value: str | None) -> str | None:
    """Remember a secret value (and the forms it takes in URLs, reprs and headers) for `redact`."""
    global _pattern
    if not value:
        return value
    shown = repr(value)[1:-1]  # as it appears inside a repr() of a longer string, either quoting
    forms = {value, strip_newline(value), quote(value, safe=""), quote_plus(value), shown,
             shown.replace("'", "\\'"), value.encode("unicode_escape").decode("ascii", "replace")}
    m = _USERINFO.search(value)
    if m:  # a URL with a password: its user:password part is a secret too
        forms.add(m.group("info"))
        forms.add(m.group("info").partition(":")[2])
    if "://" in value:  # a secret URL (a Slack webhook): its path alone, as a server may quote it, too
        try:
            parts = urlsplit(strip_newline(value))
        except ValueError:
            parts = None
        if parts is not None and parts.path.strip("/"):
            last = parts.path.rstrip("/").rpartition("/")[2]
            # only long ones: `/hook` alone is no secret, and redacting it everywhere would garble output
            forms.update(f for f in (parts.path, f"{parts.path}?{parts.query}", last) if len(f) >= 8)
    new = {f for f in forms if len(f) >= MIN_LENGTH} - _values
    if new:
        with _lock:
            _values.update(new)
            _pattern = None
    return value


def register_url(url: str | None) -> str | None:
    """Remember the user:password of a URL that is not itself a secret (the rest stays readable), also
    as the Basic authorization header HTTP clients make of it."""
    m = _USERINFO.search(url or "")
    if m:
        info = unquote(m.group("info"))
        user, _, password = info.partition(":")
        register(m.group("info"))
        register_basic(user, password)
    return url


def register_basic(user: str, password: str) -> None:
    """Remember a basic-auth password and the `Basic base64(user:password)` credentials sent for it."""
    register(password)
    register(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))


_SENSITIVE_HEADER = re.compile(r"(?i)authorization|cookie|token|secret|password|api[-_]?key")


def register_headers(headers: Mapping[str, str] | None) -> None:
    """Remember the values of headers that carry credentials (Authorization, Cookie, *Token*, *Key*...)."""
    for name, value in (headers or {}).items():
        if _SENSITIVE_HEADER.search(name):
            register(value)
            register(value.partition(" ")[2])  # `Bearer xyz`: the token alone too


def from_env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of an environment variable without one trailing newline (None when unset), remembered."""
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None:
        return None
    register(raw)
    return register(strip_newline(raw))


def from_file(path: str | os.PathLike[str]) -> str:
    """The contents of a secret file without one trailing newline, remembered. Raises OSError."""
    raw = Path(path).read_text(encoding="utf-8")
    register(raw)
    return register(strip_newline(raw)) or ""


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _values:
            _pattern = re.compile("|".join(re.escape(v) for v in sorted(_values, key=len, reverse=True)))
        return _pattern


def _userinfo(m: re.Match[str]) -> str:
    return f"{m.group('scheme')}{MASK}@"


def redact(text: str) -> str:
    """`text` with every remembered secret and every URL's user:password replaced by `<secret>`."""
    if not text:
        return text
    pat = _compiled()
    if pat is not None:
        text = pat.sub(MASK, text)
    if "@" in text:
        text = _USERINFO.sub(_userinfo, text)
    return text


def redact_obj(obj: Any) -> Any:
    """`redact` applied to every string (keys included) inside dicts, lists and tuples."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def forget_all() -> None:
    """Forget every remembered value (tests only)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None
