"""The rules configuration schema as pydantic models: the reference for what `rules:` accepts and the wording of
every error. opsctl.rules.config validates the usual, well-formed configuration itself and comes here only
when its plain check finds something it does not take as is (a bad value, or a form it leaves to pydantic's
lax rules, such as `min_alerts_per_service: "2"`), so that pydantic is imported only then.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsctl.durations import parse_duration
from opsctl.rules.config import check_feature, check_known_id, compile_record_pattern
from opsctl.rules.model import Severity
from opsctl.rules.versions import PromVersion


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
    prometheus_version: str = "3.16"
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
