"""`detectors.yaml`: sources, detectors, alerting (routing, dedup, suppression, maintenance), remediation.

Loaded with opsctl.yamlutil (safe YAML with positions) and validated with pydantic; every error is an
`InputError` naming file:line:column. Secrets are read from `*_env` (environment variable) or `*_file`
(a file) fields at use time and never stored in results, state or logs. Relative paths are relative to
the config file. See docs/detect.md for the full schema.
"""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opsctl import secrets
from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.yamlutil import PosDict, PosList, load_one

from .result import SEVERITIES
from .tlsconfig import TLSConfig

Severity = Literal["info", "warning", "error", "critical"]
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


def http_url(v: str) -> str:
    """A pydantic validator body: the URL must be http(s)."""
    if not v.startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    return v


def _dur(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a duration like 30s or 5m")
    if isinstance(v, (int, float)):
        if not math.isfinite(v):
            raise ValueError("expected a finite duration like 30s or 5m")
        return float(v)
    if isinstance(v, str):
        return parse_duration(v)
    raise ValueError("expected a duration like 30s or 5m")


Duration = Annotated[float, Field(ge=0)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(Model):
    """A secret given inline (discouraged), from an environment variable, or from a file."""

    value: str | None = None
    env: str | None = None
    file: str | None = None

    def resolve(self, base: Path) -> str | None:
        if self.env:
            got = secrets.from_env(self.env)
            if got is None:
                raise InputError(f"environment variable {self.env} is not set", "<env>")
            return got
        if self.file:
            p = Path(self.file)
            p = p if p.is_absolute() else base / p
            try:
                return secrets.from_file(p)
            except OSError as exc:
                raise InputError(f"cannot read secret file: {exc.strerror}", str(p)) from None
        return secrets.register(self.value)


def secret_from(data: dict[str, Any], key: str) -> Secret | None:
    """`key`, `key_env` or `key_file` in a raw mapping -> Secret (or None)."""
    v, e, f = data.get(key), data.get(f"{key}_env"), data.get(f"{key}_file")
    if v is None and e is None and f is None:
        return None
    return Secret(value=v, env=e, file=f)


# ---- sources -----------------------------------------------------------------------------------------


class PrometheusSource(Model):
    type: Literal["prometheus"]
    url: str
    bearer_token_env: str | None = None
    bearer_token_file: str | None = None
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = 10.0
    retries: int = Field(3, ge=0, le=10)
    tls_config: TLSConfig | None = None

    _d = field_validator("timeout", mode="before")(classmethod(lambda cls, v: _dur(v)))

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


class FileSource(Model):
    type: Literal["file"]
    path: str
    format: Literal["csv", "json", "parquet"] | None = None


class SqlSource(Model):
    type: Literal["sql"]
    path: str | None = Field(None, description="sqlite database file")
    url: str | None = Field(None, description="sqlite:///path, or any SQLAlchemy URL (needs sqlalchemy)")
    url_env: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SqlSource:
        if sum(x is not None for x in (self.path, self.url, self.url_env)) != 1:
            raise ValueError("give exactly one of path, url, url_env")
        return self


Source = Annotated[PrometheusSource | FileSource | SqlSource, Field(discriminator="type")]


# ---- detectors ---------------------------------------------------------------------------------------


class DetectorConfig(Model):
    name: str
    # the default anomaly detector: chosen and scored on NAB by benchmarks/nab.py (docs/detect.md)
    kind: str = "likelihood"
    severity: Severity = "warning"
    critical_score: float | None = Field(None, gt=0, le=1)
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str | None = None
    runbook_url: str | None = None
    remediate: list[str] = Field(default_factory=list)
    # anomaly detectors
    source: str | None = None
    query: str | None = None
    match: dict[str, str] = Field(default_factory=dict)
    range: float = 6 * 3600.0
    step: float = 60.0
    lookback: int = Field(1, ge=1, le=10_000_000, description="evaluate the last N points")
    alert_score: float = Field(0.5, gt=0, lt=1)
    min_confidence: float = Field(0.0, ge=0, le=1)
    params: dict[str, Any] = Field(default_factory=dict)

    _d = field_validator("range", "step", mode="before")(classmethod(lambda cls, v: _dur(v)))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("name may contain only letters, digits and _ . : -")
        return v

    @field_validator("range", "step")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be a positive duration")
        return v


# ---- alerting ----------------------------------------------------------------------------------------

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SuppressWindow(Model):
    """A recurring daily window (UTC) in which notifications of the listed severities are held back."""

    severities: list[Severity]
    start: str
    end: str
    days: list[Day] = Field(default_factory=lambda: list(_DAYS))

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", str(v)):
            raise ValueError("expected HH:MM (UTC)")
        return str(v)

    def active(self, now: datetime) -> bool:
        t = now.astimezone(UTC)
        cur = t.time()
        s, e = time.fromisoformat(self.start), time.fromisoformat(self.end)
        day = _DAYS[t.weekday()]
        if s <= e:
            return day in self.days and s <= cur < e
        # over midnight: the part after midnight belongs to the previous day's window
        if cur >= s:
            return day in self.days
        prev = _DAYS[(t.weekday() - 1) % 7]
        return cur < e and prev in self.days


class MaintenanceWindow(Model):
    start: datetime
    end: datetime
    detectors: list[str] = Field(default_factory=list, description="names or shell globs; empty = all")
    labels: dict[str, str] = Field(default_factory=dict)
    reason: str = ""

    @field_validator("start", "end")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        return v if v.tzinfo else v.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _order(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Route(Model):
    receivers: list[str]
    min_severity: Severity | None = None
    severities: list[Severity] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    detectors: list[str] = Field(default_factory=list)


class Delivery(Model):
    attempts: int = Field(3, ge=1, le=10)
    backoff: float = 0.5
    timeout: float = 10.0

    _d = field_validator("backoff", "timeout", mode="before")(classmethod(lambda cls, v: _dur(v)))


class Alerting(Model):
    dedup_window: float = 3600.0
    dedup_windows: dict[Severity, float] = Field(default_factory=dict, description="per-severity dedup_window")
    min_severity: Severity = "info"
    send_resolved: bool = True
    suppress: list[SuppressWindow] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    receivers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    delivery: Delivery = Field(default_factory=lambda: Delivery.model_validate({}))

    _d = field_validator("dedup_window", mode="before")(classmethod(lambda cls, v: _dur(v)))

    @field_validator("dedup_windows", mode="before")
    @classmethod
    def _durs(cls, v: Any) -> Any:
        return {k: _dur(x) for k, x in v.items()} if isinstance(v, dict) else v

    def dedup_for(self, severity: str) -> float:
        for sev, window in self.dedup_windows.items():
            if sev == severity:
                return float(window)
        return self.dedup_window


class Remediation(Model):
    enabled: bool = False
    allowed_commands: list[str] = Field(default_factory=list)
    actions: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Config(Model):
    version: Literal[1] = 1
    state_file: str = "detect-state.db"
    lock_file: str | None = None
    history_retention: float = Field(90 * 86400.0, description="keep history rows this long")
    sources: dict[str, Source] = Field(default_factory=dict)
    detectors: list[DetectorConfig]
    alerting: Alerting = Field(default_factory=Alerting)
    remediation: Remediation = Field(default_factory=Remediation)

    _d = field_validator("history_retention", mode="before")(classmethod(lambda cls, v: _dur(v)))


# ---- loading -----------------------------------------------------------------------------------------


class LoadedConfig:
    """A validated config plus where it came from (for relative paths and error positions)."""

    def __init__(self, config: Config, path: Path, raw: PosDict) -> None:
        self.state_override: Path | None = None
        self.config = config
        self.path = path
        self.base = path.parent
        self.raw = raw

    def resolve_path(self, p: str) -> Path:
        q = Path(os.path.expanduser(p))
        return q if q.is_absolute() else self.base / q

    @property
    def state_path(self) -> Path:
        if self.state_override is not None:
            return self.state_override
        return self.resolve_path(self.config.state_file)

    @property
    def lock_path(self) -> Path:
        if self.config.lock_file:
            return self.resolve_path(self.config.lock_file)
        return self.state_path.with_name(self.state_path.name + ".lock")

    def error(self, message: str, *keys: str | int) -> InputError:
        line, col = locate(self.raw, keys)
        return InputError(message, str(self.path), line, col)

    def detector_index(self, name: str) -> int:
        for i, d in enumerate(self.config.detectors):
            if d.name == name:
                return i
        return -1


def locate(raw: Any, keys: tuple[str | int, ...] | list[str | int], at_key: bool = False) -> tuple[int, int]:
    """(line, col) of the deepest node along `keys` that exists in the positioned YAML (the key itself
    rather than its value for the last step when `at_key`)."""
    node = raw
    loc: tuple[int, int] = getattr(raw, "loc", (0, 0))
    for n, k in enumerate(keys):
        if isinstance(node, PosDict) and isinstance(k, str) and k in node:
            last_key = at_key and n == len(keys) - 1
            loc = node.key_loc(k) if last_key or isinstance(node[k], (PosDict, PosList)) else node.value_loc(k)
            node = node[k]
        elif isinstance(node, PosList) and isinstance(k, int) and 0 <= k < len(node):
            loc = node.item_loc(k)
            node = node[k]
        else:
            break
    return loc


def validation_error(exc: ValidationError, raw: Any, filename: str, prefix: tuple[str | int, ...] = ()) -> InputError:
    err = exc.errors()[0]
    loc_keys: list[str | int] = [*prefix]
    for part in err["loc"]:
        if isinstance(part, (str, int)):
            loc_keys.append(part)
    # drop pydantic's union-tag segments (e.g. 'prometheus') that are not keys of the YAML
    path = [k for k in loc_keys if not (isinstance(k, str) and k in ("prometheus", "file", "sql"))]
    if err["type"] == "union_tag_invalid":
        path.append("type")
    line, col = locate(raw, path, at_key=err["type"] == "extra_forbidden")
    where = ".".join(str(k) for k in path)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "field required"
    return InputError(f"{where}: {msg}" if where else msg, filename, line, col)


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a detect config; every problem is an InputError with file:line:col."""
    p = Path(path)
    raw = load_one(p)
    if not isinstance(raw, PosDict):
        raise InputError("the config must be a mapping with 'detectors:'", str(p), *getattr(raw, "loc", (1, 1)))
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, raw, str(p)) from None
    loaded = LoadedConfig(cfg, p.resolve(), raw)
    _cross_check(loaded)
    return loaded


def _cross_check(lc: LoadedConfig) -> None:
    """References between sections, detector kinds and their params, receivers and actions."""
    from opsctl.detect.checks import CHECKS
    from opsctl.detect.notifiers import NOTIFIERS
    from opsctl.detect.registry import ANOMALY_DETECTORS, check_params
    from opsctl.detect.remediation import ACTIONS

    cfg = lc.config
    seen: dict[str, int] = {}
    for i, d in enumerate(cfg.detectors):
        if d.name in seen:
            raise lc.error(f"duplicate detector name {d.name!r} (first at item {seen[d.name] + 1})",
                           "detectors", i, "name")
        seen[d.name] = i
        if d.critical_score is not None and d.critical_score < d.alert_score:
            raise lc.error(f"critical_score ({d.critical_score:g}) is below alert_score ({d.alert_score:g}): a point "
                           "becomes critical only once it alerts, so this would not work as meant",
                           "detectors", i, "critical_score")
        src: Any = None
        if d.kind in ANOMALY_DETECTORS:
            if not d.source:
                raise lc.error(f"anomaly detector {d.kind!r} needs 'source'", "detectors", i)
            src = cfg.sources.get(d.source)
            if src is None:
                raise lc.error(f"unknown source {d.source!r}", "detectors", i, "source")
            if src.type in ("prometheus", "sql") and not d.query:
                raise lc.error(f"a {src.type} source needs 'query'", "detectors", i)
            params_model = ANOMALY_DETECTORS[d.kind].Params
        elif d.kind in CHECKS:
            params_model = CHECKS[d.kind].Params
        else:
            known = ", ".join(sorted([*ANOMALY_DETECTORS, *CHECKS]))
            raise lc.error(f"unknown detector kind {d.kind!r} (known: {known})", "detectors", i, "kind")
        try:
            params = params_model.model_validate(d.params)
        except ValidationError as exc:
            raise validation_error(exc, lc.raw, str(lc.path), ("detectors", i, "params")) from None
        bad = check_params(params, counts=d.kind in ANOMALY_DETECTORS)
        if bad is not None:
            raise lc.error(f"detectors.{i}.params.{bad[0]}: {bad[1]}", "detectors", i, "params", bad[0])
        if src is not None and src.type == "prometheus" and d.range / d.step > 11_000:
            raise lc.error(f"range/step is {d.range / d.step:,.0f} points: Prometheus refuses more than 11,000 "
                           "points per series (raise step or shorten range)", "detectors", i, "range")
        src_name = getattr(params, "source", None)
        if src_name is not None and src_name not in cfg.sources:
            raise lc.error(f"unknown source {src_name!r}", "detectors", i, "params", "source")
        for j, act in enumerate(d.remediate):
            if act not in cfg.remediation.actions:
                raise lc.error(f"unknown remediation action {act!r}", "detectors", i, "remediate", j)
    for name, body in cfg.alerting.receivers.items():
        rtype = body.get("type")
        if rtype not in NOTIFIERS:
            raise lc.error(f"receiver {name!r}: unknown type {rtype!r} (known: {', '.join(sorted(NOTIFIERS))})",
                           "alerting", "receivers", name, "type")
        try:
            nparams = NOTIFIERS[rtype].Params.model_validate({k: v for k, v in body.items() if k != "type"})
        except ValidationError as exc:
            raise validation_error(exc, lc.raw, str(lc.path), ("alerting", "receivers", name)) from None
        bad = check_params(nparams, counts=False)
        if bad is not None:
            raise lc.error(f"alerting.receivers.{name}.{bad[0]}: {bad[1]}", "alerting", "receivers", name, bad[0])
    for i, r in enumerate(cfg.alerting.routes):
        for j, rec in enumerate(r.receivers):
            if rec not in cfg.alerting.receivers:
                raise lc.error(f"unknown receiver {rec!r}", "alerting", "routes", i, "receivers", j)
    for name, body in cfg.remediation.actions.items():
        atype = body.get("type")
        if atype not in ACTIONS:
            raise lc.error(f"action {name!r}: unknown type {atype!r} (known: {', '.join(sorted(ACTIONS))})",
                           "remediation", "actions", name, "type")
        try:
            params = ACTIONS[atype].Params.model_validate({k: v for k, v in body.items() if k != "type"})
        except ValidationError as exc:
            raise validation_error(exc, lc.raw, str(lc.path), ("remediation", "actions", name)) from None
        src_name = getattr(params, "source", None)
        if src_name is not None and src_name not in cfg.sources:
            raise lc.error(f"unknown source {src_name!r}", "remediation", "actions", name, "source")
        argv = getattr(params, "argv", None)
        if argv and argv[0] not in cfg.remediation.allowed_commands:
            raise lc.error(f"action {name!r}: command {argv[0]!r} is not in remediation.allowed_commands",
                           "remediation", "actions", name, "argv")


__all__ = ["SEVERITIES", "Config", "LoadedConfig", "load_config"]
