"""Render alertmanager.yml from a Jinja2 template and a values file, keeping secrets out of sight.

Template context:
- every top-level key of the values file (a YAML mapping);
- `secrets.NAME`: a secret declared in the values file under `secrets:` as `{env: VAR}` (an environment
  variable) or `{file: PATH}` (a file, relative to the values file; one trailing newline is dropped);
- `env.NAME`: the process environment, only with `allow_env=True` (`--env`).

Undefined variables, missing environment variables and unreadable secret files are errors naming the
template file and line (Jinja2 StrictUndefined, sandboxed environment). The result is rendered twice: once
with the real secrets (`RenderResult.text`, to write to disk) and once with every secret replaced by
`<secret>` (`RenderResult.masked`, the only version ever shown unless the user asks with --show-secrets).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import Undefined as _Undefined

from opsctl import secrets
from opsctl.alertmanager.config import SECRET_TOKEN
from opsctl.alertmanager.sandbox import BoundedSandbox
from opsctl.errors import InputError
from opsctl.yamlutil import PosDict, load_one, read_text


@dataclass
class RenderResult:
    text: str  # with real secrets: write it, never print it
    masked: str  # secrets replaced by <secret>
    secret_values: list[str] = field(default_factory=list, repr=False)

    def redact(self, message: str) -> str:
        for s in sorted(self.secret_values, key=len, reverse=True):
            if s:
                message = message.replace(s, SECRET_TOKEN)
        return message


class _Lookup(Mapping[str, str]):
    """A read-only mapping that raises a positioned error for unknown names."""

    def __init__(self, what: str, getter: Any, names: list[str]) -> None:
        self._what = what
        self._get = getter
        self._names = names

    def __getitem__(self, key: str) -> str:
        value: str = self._get(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _SecretError(Exception):
    pass


def render_file(template: str | os.PathLike[str], values: str | os.PathLike[str] | None,
                allow_env: bool = False, environ: Mapping[str, str] | None = None) -> RenderResult:
    tpath = Path(template)
    source = read_text(tpath)
    data: dict[str, Any] = {}
    vname = str(values) if values is not None else "<none>"
    if values is not None:
        loaded = load_one(values)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise InputError("values file must be a YAML mapping", vname, 1, 1)
        data = _plain(loaded)
    env = dict(os.environ if environ is None else environ)
    decl = (loaded.get("secrets") if values is not None and isinstance(loaded, dict) else None) or {}
    data.pop("secrets", None)
    if not isinstance(decl, dict):
        raise InputError("'secrets' must be a mapping of NAME: {env: VAR} or {file: PATH}", vname)
    base = Path(values).parent if values is not None else Path(".")
    for name, spec in decl.items():
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("env", "file") \
                or not isinstance(next(iter(spec.values())), str):
            loc = decl.value_loc(name) if isinstance(decl, PosDict) else (0, 0)
            raise InputError(f"secret {name!r}: want exactly one of {{env: VAR}} or {{file: PATH}}", vname, *loc)
    used: list[str] = []

    def real_secret(name: str) -> str:
        if name not in decl:
            raise _SecretError(f"secret {name!r} is not declared under 'secrets:' in {vname}")
        spec = decl[name]
        if "env" in spec:
            var = spec["env"]
            got = secrets.from_env(var, env)  # one trailing newline dropped, remembered for redaction
            if got is None:
                raise _SecretError(f"secret {name!r}: environment variable {var} is not set")
            value = got
        else:
            p = Path(spec["file"])
            p = p if p.is_absolute() else base / p
            try:
                value = secrets.from_file(p)
            except OSError as exc:
                raise _SecretError(f"secret {name!r}: cannot read {p}: {exc.strerror or exc}") from None
        used.append(value)
        return value

    def masked_secret(name: str) -> str:
        real_secret(name)  # same errors in both renderings
        return SECRET_TOKEN

    def env_get(name: str) -> str:
        if name not in env:
            raise _SecretError(f"environment variable {name} is not set")
        return env[name]

    jenv = BoundedSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    jenv.filters["yaml"] = _yaml_scalar
    try:
        tmpl = jenv.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"template syntax error: {exc.message}", str(tpath), exc.lineno or 0) from None

    def run(secret_getter: Any) -> str:
        ctx: dict[str, Any] = dict(data)
        ctx["secrets"] = _Lookup("secret", secret_getter, list(decl))
        if allow_env:
            ctx["env"] = _Lookup("env", env_get, sorted(env))
        try:
            return jenv.render_bounded(tmpl, ctx)  # output and loop bounds (opsctl.alertmanager.sandbox)
        except _SecretError as exc:
            raise InputError(str(exc), str(tpath), _template_line(exc)) from None
        except jinja2.UndefinedError as exc:
            hint = " (pass --env to use environment variables)" if "'env'" in str(exc) and not allow_env else ""
            raise InputError(f"undefined: {exc.message}{hint}", str(tpath), _template_line(exc)) from None
        except jinja2.TemplateError as exc:
            raise InputError(f"template error: {exc}", str(tpath), _template_line(exc)) from None
        except (TypeError, ValueError, ArithmeticError, LookupError, RecursionError) as exc:  # `'a' * 1e8`, 1/0
            raise InputError(f"template error: {exc}", str(tpath), _template_line(exc)) from None

    real = run(real_secret)
    masked = run(masked_secret)
    return RenderResult(text=real, masked=masked, secret_values=list(dict.fromkeys(used)))


def _plain(v: Any) -> Any:
    """Plain dicts/lists (the positioned YAML containers carry attributes a template could trip on)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _yaml_scalar(v: Any) -> str:
    """`{{ x | yaml }}`: a value as YAML flow text (JSON, which YAML reads), without HTML escaping."""
    if isinstance(v, _Undefined):
        raise jinja2.UndefinedError("undefined value passed to the yaml filter")
    return json.dumps(v, ensure_ascii=False)


def _template_line(exc: BaseException) -> int:
    tb = exc.__traceback__
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def write_atomic(path: str | os.PathLike[str], text: str, mode: int = 0o600) -> None:
    """Write a file atomically (temp file in the same directory, then rename), readable by the owner only."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_template_source(path: str | os.PathLike[str]) -> str:
    return read_text(path)
