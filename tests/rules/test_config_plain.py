"""The rules configuration's plain check (opsctl.rules.config, no pydantic) against its pydantic schema
(opsctl.rules.config_schema), which stays the reference: whatever the plain check accepts, the schema accepts
with the same values; everything else goes to the schema, so its errors keep their wording and position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.rules.config import RulesConfig, _plain_section, _schema_section, load_config

GOOD: list[dict[str, Any]] = [
    {},
    {"prometheus_version": 2.42, "evaluation_interval": "30s", "fail_on": "error"},
    {"prometheus_version": "3.0", "disable": ["alert-for-missing"], "enable": ["dashboard-link"],
     "severity": {"record-name-format": "error"}, "allowed_severities": ["critical", "warning"],
     "required_labels": ["team"], "required_annotations": ["summary"], "runbooks_dir": None,
     "runbook_base_url": "https://example.com/rb/", "runbook_sections": ["Diagnosis"],
     "coverage": {"service_label": "svc", "min_alerts_per_service": 2, "required_severities": ["critical"],
                  "services": ["api"]},
     "scrape_interval": "15s", "enable_features": ["promql-experimental-functions"],
     "guess_metric_types": True, "record_name_pattern": "[a-z_]+:[a-z_]+:[a-z_]+"},
    {"policy": {"for": {"min": "1m", "max": "1h"}, "reject": [{"label_key": "^tmp_", "annotation_value": "x"}],
                "owner_label": "team", "aggregate_keep": ["job"], "selector_require": ["job"]}},
    {"policy": {"for": {"min": "5m"}}},
    {"policy": {"for": None}},
    {"policy": None},
    {"coverage": {}},
]

BAD_OR_LAX: list[dict[str, Any]] = [
    {"zzz": 1}, {"fail_on": 3, "zzz": 1}, {"fail_on": "sometimes"}, {"coverage": {"min_alerts_per_service": "2"}},
    {"coverage": {"min_alerts_per_service": 2.0}}, {"coverage": {"min_alerts_per_service": True}},
    {"coverage": {"min_alerts_per_service": -1}}, {"coverage": 5}, {"coverage": None}, {"policy": 5},
    {"policy": {"for": {"min": "x"}}}, {"policy": {"for_": {"min": "5m"}}}, {"policy": {"reject": [{"bad": "x"}]}},
    {"policy": {"reject": [{"label_key": "("}]}}, {"disable": "abc"}, {"disable": [1]}, {"disable": ["nope"]},
    {"severity": []}, {"severity": {"a": 1}}, {"severity": {"record-name-format": "loud"}},
    {"guess_metric_types": "yes"}, {"guess_metric_types": 2}, {"prometheus_version": None},
    {"prometheus_version": "x"}, {"runbook_base_url": 5}, {"scrape_interval": "0s"}, {"scrape_interval": "soon"},
    {"enable_features": ["nope"]}, {"record_name_pattern": "("}, {"evaluation_interval": 60},
]


def schema(data: Any) -> dict[str, Any] | str:
    try:
        return _schema_section(data, "cfg.yml", None)
    except InputError as exc:
        return str(exc)


@pytest.mark.parametrize("data", GOOD)
def test_plain_check_takes_good_sections_as_the_schema_does(data: dict[str, Any]) -> None:
    plain = _plain_section(data)
    assert plain is not None, data  # the fast path is taken: no pydantic
    assert plain == schema(data)


@pytest.mark.parametrize("data", BAD_OR_LAX)
def test_everything_else_is_left_to_the_schema(data: dict[str, Any]) -> None:
    assert _plain_section(data) is None
    if not isinstance(schema(data), str):  # lax forms the schema takes: the configuration is built from them
        RulesConfig.from_mapping(data, Path("/"))


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["1m", "0s", "error", "warning", "critical", "3.0", "2.42", "alert-for-missing", "x", "(",
                       "team", "label_key", "min", "max", "promql-experimental-functions", ""]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["min", "max", "label_key", "reject", "for", "x", "service_label",
                                       "min_alerts_per_service"]), children, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(["prometheus_version", "evaluation_interval", "fail_on", "disable", "severity", "coverage",
                        "policy", "runbooks_dir", "guess_metric_types", "scrape_interval", "record_name_pattern",
                        "enable_features", "other"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=4))
def test_plain_check_never_accepts_what_the_schema_refuses_or_reads_differently(data: dict[str, Any]) -> None:
    plain = _plain_section(data)
    if plain is not None:
        assert plain == schema(data)


def test_config_error_is_worded_by_the_schema_with_its_position(tmp_path: Path) -> None:
    cfg = tmp_path / ".opsctl.yaml"
    cfg.write_text("rules:\n  coverage:\n    min_alerts_per_service: -1\n")
    with pytest.raises(InputError) as exc:
        load_config(cfg)
    assert "rules.coverage.min_alerts_per_service: Input should be greater than or equal to 0" in str(exc.value)
    assert exc.value.position.line == 3
