"""Lint configuration: `[tool.opsctl.rules]` in pyproject.toml or `rules:` in .opsctl.yaml.

Example (.opsctl.yaml)::

    rules:
      prometheus_version: "3.16"      # target Prometheus: decides accepted fields and functions
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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.rules.model import Severity
from opsctl.rules.versions import NEWEST_VERSION, PromVersion
from opsctl.yamlutil import PosDict, load_one


def compile_record_pattern(pattern: str) -> Any:
    """A Go RE2 regex, fully anchored as Prometheus anchors label matchers; ValueError when invalid."""
    from opsctl.gosem import regexp as gosem_regexp

    try:
        return gosem_regexp.compile(f"^(?:{pattern})$")
    except gosem_regexp.RegexpError as exc:
        raise ValueError(f"invalid record_name_pattern {pattern!r}: {exc}") from None


# Prometheus 3 feature flags that change what a rule file may contain (`--enable-feature` of Prometheus and
# promtool 3.16)
FEATURES = ("promql-experimental-functions", "promql-delayed-name-removal", "promql-unquoted-utf8-names",
            "promql-extended-range-selectors")


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
    prometheus_version: PromVersion = NEWEST_VERSION
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
        m = _plain_section(data)
        if m is None:  # something the plain check does not take as is: the pydantic schema decides and words it
            m = _schema_section(data, source, locate)
        runbooks = None
        if m["runbooks_dir"]:
            runbooks = Path(m["runbooks_dir"])
            if not runbooks.is_absolute():
                runbooks = base_dir / runbooks
        return cls(
            prometheus_version=PromVersion.parse(m["prometheus_version"]),
            evaluation_interval=parse_duration(m["evaluation_interval"]),
            fail_on=Severity.parse(m["fail_on"]),
            disable=set(m["disable"]),
            enable=set(m["enable"]),
            severity_overrides={k: Severity.parse(v) for k, v in m["severity"].items()},
            allowed_severities=list(m["allowed_severities"]),
            severity_label=m["severity_label"],
            required_labels=list(m["required_labels"]),
            required_annotations=list(m["required_annotations"]),
            runbooks_dir=runbooks,
            runbook_base_url=m["runbook_base_url"],
            runbook_sections=list(m["runbook_sections"]),
            coverage=CoveragePolicy(**m["coverage"]),
            source=source,
            scrape_interval=parse_duration(m["scrape_interval"]) if m["scrape_interval"] else None,
            enable_features=list(m["enable_features"]),
            policy=m["policy"],
            metric_types=_metadata(m["metadata"], base_dir) if m["metadata"] else None,
            guess_metric_types=m["guess_metric_types"],
            record_name_pattern=m["record_name_pattern"],
        )


# The `rules:` section: key -> (kind, default). Kinds: str, str? (or null), [str], {str: str}, bool. The
# reference schema (with the same defaults) is opsctl.rules.config_schema; test_config_plain.py compares both.
_FIELDS: dict[str, tuple[str, Any]] = {
    "prometheus_version": ("version", str(NEWEST_VERSION)),
    "evaluation_interval": ("str", "1m"),
    "fail_on": ("str", "warning"),
    "disable": ("[str]", ()),
    "enable": ("[str]", ()),
    "severity": ("{str}", {}),
    "allowed_severities": ("[str]", ("critical", "error", "warning", "info", "none")),
    "severity_label": ("str", "severity"),
    "required_labels": ("[str]", ()),
    "required_annotations": ("[str]", ("summary", "description")),
    "runbooks_dir": ("str?", "runbooks"),
    "runbook_base_url": ("str?", None),
    "runbook_sections": ("[str]", ("Diagnosis", "Mitigation", "Escalation")),
    "coverage": ("coverage", None),
    "scrape_interval": ("str?", None),
    "enable_features": ("[str]", ()),
    "policy": ("policy", None),
    "metadata": ("str?", None),
    "guess_metric_types": ("bool", False),
    "record_name_pattern": ("str?", None),
}
_COVERAGE_FIELDS: dict[str, tuple[str, Any]] = {
    "service_label": ("str", "service"),
    "min_alerts_per_service": ("count", 0),
    "required_severities": ("[str]", ()),
    "services": ("[str]", ()),
}
_POLICY_FIELDS: dict[str, tuple[str, Any]] = {
    "for": ("for", None),
    "reject": ("[{str}]", ()),
    "owner_label": ("str?", None),
    "aggregate_keep": ("[str]", ()),
    "selector_require": ("[str]", ()),
}
_REJECT_KINDS = ("label_key", "label_value", "annotation_key", "annotation_value")


class _Refer(Exception):
    """The plain check leaves this section to the pydantic schema."""


def _strs(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(type(x) is str for x in v):
        raise _Refer
    return list(v)


def _str_map(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or not all(type(k) is str and type(x) is str for k, x in v.items()):
        raise _Refer
    return dict(v)


def _value(kind: str, v: Any) -> Any:
    if kind == "str":
        if type(v) is not str:
            raise _Refer
        return v
    if kind == "str?":
        if v is not None and type(v) is not str:
            raise _Refer
        return v
    if kind == "[str]":
        return _strs(v)
    if kind == "{str}":
        return _str_map(v)
    if kind == "[{str}]":
        if not isinstance(v, list):
            raise _Refer
        return [_str_map(x) for x in v]
    if kind == "bool":
        if type(v) is not bool:
            raise _Refer
        return v
    if kind == "count":
        if type(v) is not int or v < 0:
            raise _Refer
        return v
    if kind == "version":
        return str(v)
    if kind == "coverage":
        return _fields(_COVERAGE_FIELDS, v)
    if kind == "policy":
        if v is None:
            return None
        return _fields(_POLICY_FIELDS, v)
    if kind == "for":
        if v is None:
            return None
        return _fields({"min": ("str?", None), "max": ("str?", None)}, v)
    raise AssertionError(kind)


def _fields(spec: dict[str, tuple[str, Any]], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or any(k not in spec for k in data):
        raise _Refer
    out: dict[str, Any] = {}
    for key, (kind, default) in spec.items():
        if key in data:
            out[key] = _value(kind, data[key])
        elif kind == "coverage":
            out[key] = _fields(_COVERAGE_FIELDS, {})
        elif isinstance(default, (tuple, dict)):
            out[key] = type(default)(default) if isinstance(default, dict) else list(default)
        else:
            out[key] = default
    return out


def _plain_section(data: Any) -> dict[str, Any] | None:
    """The `rules:` section as checked values, with what the schema's validators check; None when it holds
    anything that is not plainly right (the schema then decides, and words the error)."""
    try:
        m = _fields(_FIELDS, data)
        PromVersion.parse(m["prometheus_version"])
        parse_duration(m["evaluation_interval"])
        Severity.parse(m["fail_on"])
        for cid, sev in m["severity"].items():
            check_known_id(cid)
            Severity.parse(sev)
        for cid in (*m["disable"], *m["enable"]):
            check_known_id(cid)
        if m["scrape_interval"] is not None and parse_duration(m["scrape_interval"]) <= 0:
            raise _Refer
        for name in m["enable_features"]:
            check_feature(name)
        if m["record_name_pattern"] is not None:
            compile_record_pattern(m["record_name_pattern"])
        policy = m["policy"]
        if policy is None:
            m["policy"] = {}
        else:
            for entry in policy["reject"]:
                for kind, pattern in entry.items():
                    if kind not in _REJECT_KINDS:
                        raise _Refer
                    compile_record_pattern(pattern)
            bounds = policy.pop("for")
            if bounds is not None:
                policy["for"] = {k: parse_duration(bounds[k]) for k in ("min", "max") if bounds[k]}
    except (_Refer, ValueError):
        return None
    return m


def _schema_section(data: Any, source: str | None, locate: Any) -> dict[str, Any]:
    from pydantic import ValidationError

    from opsctl.rules.config_schema import _RulesModel

    try:
        pm = _RulesModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        line, col = locate(err["loc"]) if locate else (0, 0)
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(f"invalid configuration: rules.{where}: {msg}", source or "<config>", line, col) from None
    m = {name: getattr(pm, name) for name in _FIELDS}
    m["coverage"] = pm.coverage.model_dump()
    m["policy"] = pm.policy.as_dict() if pm.policy is not None else {}
    return m


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
        import tomllib

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
            import tomllib

            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                data = {}
            if "opsctl" in data.get("tool", {}):
                return load_config(pyproject)
        if (directory / ".git").exists():
            break
    return RulesConfig(runbooks_dir=start / "runbooks")
