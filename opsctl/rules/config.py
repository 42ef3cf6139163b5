"""Lint configuration: `[tool.opsctl.rules]` in pyproject.toml or `rules:` in .opsctl.yaml.

Example (.opsctl.yaml)::

    rules:
      prometheus_version: "3.0"      # target Prometheus: decides accepted fields and functions
      evaluation_interval: 1m         # default group interval for checks that depend on it
      fail_on: warning                # error | warning | info
      disable: [alert-for-missing]    # check ids switched off
      enable: [dashboard-link]        # checks that are off by default
      severity: {record-name-format: error}
      allowed_severities: [critical, warning, info]
      required_labels: [team]
      required_annotations: [summary, description, runbook_url]
      runbooks_dir: runbooks
      runbook_base_url: https://github.com/acme/ops/blob/main/runbooks/
      runbook_sections: [Diagnosis, Mitigation, Escalation]
      coverage:
        service_label: service
        min_alerts_per_service: 2
        required_severities: [critical, warning]
        services: [api, database]

Relative paths are resolved against the directory of the configuration file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.rules.model import Severity
from opsctl.rules.versions import PromVersion
from opsctl.yamlutil import PosDict, load_one


class _CoverageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_label: str = "service"
    min_alerts_per_service: int = Field(default=0, ge=0)
    required_severities: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)


class _ForBounds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: str | None = None
    max: str | None = None

    @field_validator("min", "max")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    for_: _ForBounds | None = Field(default=None, alias="for")
    reject: list[dict[str, str]] = Field(default_factory=list)
    owner_label: str | None = None
    aggregate_keep: list[str] = Field(default_factory=list)
    selector_require: list[str] = Field(default_factory=list)

    @field_validator("reject")
    @classmethod
    def _reject(cls, v: list[dict[str, str]]) -> list[dict[str, str]]:
        kinds = {"label_key", "label_value", "annotation_key", "annotation_value"}
        for entry in v:
            for kind, pattern in entry.items():
                if kind not in kinds:
                    raise ValueError(f"unknown reject kind {kind!r} (one of {', '.join(sorted(kinds))})")
                compile_record_pattern(pattern)
        return v

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reject": self.reject, "owner_label": self.owner_label,
                               "aggregate_keep": self.aggregate_keep, "selector_require": self.selector_require}
        if self.for_ is not None:
            out["for"] = {k: parse_duration(v) for k, v in (("min", self.for_.min), ("max", self.for_.max)) if v}
        return out


class _RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prometheus_version: str = "3.0"
    evaluation_interval: str = "1m"
    fail_on: str = "warning"
    disable: list[str] = Field(default_factory=list)
    enable: list[str] = Field(default_factory=list)
    severity: dict[str, str] = Field(default_factory=dict)
    allowed_severities: list[str] = Field(default_factory=lambda: ["critical", "error", "warning", "info", "none"])
    severity_label: str = "severity"
    required_labels: list[str] = Field(default_factory=list)
    required_annotations: list[str] = Field(default_factory=lambda: ["summary", "description"])
    runbooks_dir: str | None = "runbooks"
    runbook_base_url: str | None = None
    runbook_sections: list[str] = Field(default_factory=lambda: ["Diagnosis", "Mitigation", "Escalation"])
    coverage: _CoverageModel = Field(default_factory=_CoverageModel)
    scrape_interval: str | None = None
    enable_features: list[str] = Field(default_factory=list)
    policy: _PolicyModel | None = None
    metadata: str | None = None
    guess_metric_types: bool = False
    record_name_pattern: str | None = None

    @field_validator("enable_features")
    @classmethod
    def _features(cls, v: list[str]) -> list[str]:
        for name in v:
            check_feature(name)
        return v

    @field_validator("scrape_interval")
    @classmethod
    def _scrape(cls, v: str | None) -> str | None:
        if v is not None and parse_duration(v) <= 0:
            raise ValueError("scrape_interval must be positive")
        return v

    @field_validator("record_name_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            compile_record_pattern(v)
        return v

    @field_validator("prometheus_version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> str:
        PromVersion.parse(str(v))
        return str(v)

    @field_validator("evaluation_interval")
    @classmethod
    def _interval(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("fail_on")
    @classmethod
    def _fail_on(cls, v: str) -> str:
        Severity.parse(v)
        return v

    @field_validator("severity")
    @classmethod
    def _severities(cls, v: dict[str, str]) -> dict[str, str]:
        for cid, s in v.items():
            check_known_id(cid)
            Severity.parse(s)
        return v

    @field_validator("disable", "enable")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for cid in v:
            check_known_id(cid)
        return v


def compile_record_pattern(pattern: str) -> Any:
    """A Go RE2 regex, fully anchored as Prometheus anchors label matchers; ValueError when invalid."""
    from opsctl.gosem import regexp as gosem_regexp

    try:
        return gosem_regexp.compile(f"^(?:{pattern})$")
    except gosem_regexp.RegexpError as exc:
        raise ValueError(f"invalid record_name_pattern {pattern!r}: {exc}") from None


# Prometheus 3 feature flags that change what a rule file may contain (`--enable-feature` of Prometheus and
# promtool 3.16)
FEATURES = ("promql-experimental-functions", "promql-delayed-name-removal", "promql-unquoted-utf8-names")


def check_feature(name: str) -> None:
    if name not in FEATURES:
        raise ValueError(f"unknown feature {name!r} (known: {', '.join(FEATURES)})")


def check_known_id(cid: str) -> None:
    """ValueError for a check id that is not in the registry (a typo would silently do nothing)."""
    import difflib

    from opsctl.rules.checks import REGISTRY

    if cid in REGISTRY:
        return
    close = difflib.get_close_matches(cid, list(REGISTRY), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " (see `opsctl rules checks`)"
    raise ValueError(f"unknown check id {cid!r}{hint}")


@dataclass
class CoveragePolicy:
    service_label: str = "service"
    min_alerts_per_service: int = 0
    required_severities: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


@dataclass
class RulesConfig:
    prometheus_version: PromVersion = field(default_factory=lambda: PromVersion(3, 0))
    evaluation_interval: float = 60.0
    fail_on: Severity = Severity.warning
    disable: set[str] = field(default_factory=set)
    enable: set[str] = field(default_factory=set)
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    allowed_severities: list[str] = field(default_factory=lambda: ["critical", "error", "warning", "info", "none"])
    severity_label: str = "severity"
    required_labels: list[str] = field(default_factory=list)
    required_annotations: list[str] = field(default_factory=lambda: ["summary", "description"])
    runbooks_dir: Path | None = None
    runbook_base_url: str | None = None
    runbook_sections: list[str] = field(default_factory=lambda: ["Diagnosis", "Mitigation", "Escalation"])
    coverage: CoveragePolicy = field(default_factory=CoveragePolicy)
    source: str | None = None
    # evidence the checks may use: the scrape interval (rate-range-short is silent without it), metric
    # types (a saved /api/v1/metadata response or exposition text), name-based type guessing (opt-in, info)
    scrape_interval: float | None = None
    enable_features: list[str] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)
    # recording rules that existed at the --changed-since base: name -> where (for rule-dependency)
    removed_records: dict[str, str] = field(default_factory=dict)
    # evidence from a live server (opsctl.rules.live.LiveEvidence), set by `--prometheus URL`
    live: Any = None
    metric_types: dict[str, str] | None = None
    guess_metric_types: bool = False
    record_name_pattern: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any], base_dir: Path, source: str | None = None,
                     locate: Any = None) -> RulesConfig:
        try:
            m = _RulesModel.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            line, col = locate(err["loc"]) if locate else (0, 0)
            msg = err["msg"].removeprefix("Value error, ")
            raise InputError(f"invalid configuration: rules.{where}: {msg}", source or "<config>", line, col) from None
        runbooks = None
        if m.runbooks_dir:
            runbooks = Path(m.runbooks_dir)
            if not runbooks.is_absolute():
                runbooks = base_dir / runbooks
        return cls(
            prometheus_version=PromVersion.parse(m.prometheus_version),
            evaluation_interval=parse_duration(m.evaluation_interval),
            fail_on=Severity.parse(m.fail_on),
            disable=set(m.disable),
            enable=set(m.enable),
            severity_overrides={k: Severity.parse(v) for k, v in m.severity.items()},
            allowed_severities=list(m.allowed_severities),
            severity_label=m.severity_label,
            required_labels=list(m.required_labels),
            required_annotations=list(m.required_annotations),
            runbooks_dir=runbooks,
            runbook_base_url=m.runbook_base_url,
            runbook_sections=list(m.runbook_sections),
            coverage=CoveragePolicy(**m.coverage.model_dump()),
            source=source,
            scrape_interval=parse_duration(m.scrape_interval) if m.scrape_interval else None,
            enable_features=list(m.enable_features),
            policy=m.policy.as_dict() if m.policy is not None else {},
            metric_types=_metadata(m.metadata, base_dir) if m.metadata else None,
            guess_metric_types=m.guess_metric_types,
            record_name_pattern=m.record_name_pattern,
        )


def _metadata(path_text: str, base_dir: Path) -> dict[str, str]:
    from opsctl.rules.metadata import load_metadata

    path = Path(path_text)
    return load_metadata(path if path.is_absolute() else base_dir / path)


def _pos_locator(root: Any) -> Any:
    def locate(path: tuple[Any, ...]) -> tuple[int, int]:
        node = root
        loc = getattr(root, "loc", (0, 0))
        for part in path:
            if isinstance(node, PosDict) and part in node:
                loc = node.key_loc(str(part))
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                loc = node.item_loc(part) if hasattr(node, "item_loc") else loc
                node = node[part]
            else:
                break
        return loc
    return locate


def load_config(path: Path) -> RulesConfig:
    """Load an explicit configuration file (.opsctl.yaml or pyproject.toml)."""
    if path.name == "pyproject.toml" or path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"invalid TOML: {exc}", str(path)) from None
        section = data.get("tool", {}).get("opsctl", {}).get("rules", {})
        return RulesConfig.from_mapping(section, path.parent.resolve(), str(path))
    doc = load_one(path)
    if doc is None:
        return RulesConfig(runbooks_dir=path.parent.resolve() / "runbooks", source=str(path))
    if not isinstance(doc, PosDict):
        raise InputError("configuration must be a mapping", str(path), *getattr(doc, "loc", (1, 1)))
    unknown = [k for k in doc if k not in ("rules", "alertmanager", "detect", "slo", "oncall")]
    if unknown:
        raise InputError(f"unknown configuration section {unknown[0]!r}", str(path), *doc.key_loc(unknown[0]))
    section = doc.get("rules") or PosDict()
    if not isinstance(section, PosDict):
        raise InputError("'rules' must be a mapping", str(path), *doc.value_loc("rules"))
    return RulesConfig.from_mapping(dict(section), path.parent.resolve(), str(path),
                                    locate=lambda p: _pos_locator(section)(p))


def discover_config(start: Path) -> RulesConfig:
    """Find .opsctl.yaml, or pyproject.toml with [tool.opsctl], from `start` upwards; defaults otherwise."""
    start = start.resolve()
    for directory in [start, *start.parents]:
        for name in (".opsctl.yaml", ".opsctl.yml"):
            candidate = directory / name
            if candidate.is_file():
                return load_config(candidate)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                data = {}
            if "opsctl" in data.get("tool", {}):
                return load_config(pyproject)
        if (directory / ".git").exists():
            break
    return RulesConfig(runbooks_dir=start / "runbooks")
