"""The one registry of `opsctl detect` building blocks: anomaly detectors, health checks, notifiers and
remediation actions, each with an id, a one-line summary and its docs (the module docstring).

`opsctl detect list` prints it; the config loader resolves `kind:` / `type:` through it.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from opsctl.detect.anomaly.base import AnomalyDetector
from opsctl.detect.anomaly.ewma import Ewma
from opsctl.detect.anomaly.level_shift import LevelShift
from opsctl.detect.anomaly.likelihood import Likelihood
from opsctl.detect.anomaly.percentile import RollingPercentile
from opsctl.detect.anomaly.robust_z import RobustZ
from opsctl.detect.anomaly.seasonal import Seasonal
from opsctl.detect.anomaly.zscore import ZScore

ANOMALY_DETECTORS: dict[str, type[AnomalyDetector]] = {
    cls.id: cls for cls in (Likelihood, Ewma, ZScore, RobustZ, RollingPercentile, LevelShift, Seasonal)
}


@dataclass(frozen=True)
class Entry:
    id: str
    category: str  # anomaly | check | notifier | action
    summary: str
    doc: str
    params: type[BaseModel] | None

    def to_dict(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.params is not None:
            for name, f in self.params.model_fields.items():
                params[f.alias or name] = {
                    "default": None if f.is_required() else _jsonable(f.get_default(call_default_factory=True)),
                    "required": f.is_required(),
                    "description": f.description or "",
                }
        return {"id": self.id, "category": self.category, "summary": self.summary, "doc": self.doc,
                "params": params}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


# Any count of points (window, hop, long, min_periods...) above this is a typo or a unit mix-up (19 years
# of one-minute samples); a larger integer would only fail inside numpy at run time.
MAX_POINTS = 10_000_000


def check_params(params: BaseModel, *, counts: bool = True) -> tuple[str, str] | None:
    """(field, message) for the first parameter value that would make a run fail or never fire: a float
    that is infinite or NaN (`threshold: .inf`), or, with `counts`, an integer beyond MAX_POINTS."""
    for name, field in type(params).model_fields.items():
        value = getattr(params, name)
        key = field.alias or name
        if isinstance(value, bool):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return key, f"must be a finite number, not {value}"
        if counts and isinstance(value, int) and abs(value) > MAX_POINTS:
            return key, f"{value} is too large (at most {MAX_POINTS:,} points)"
    return None


class ParamsError(ValueError):
    """A detector parameter that validates by type but cannot work (see check_params)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def make_anomaly_detector(det_id: str, params: dict[str, Any]) -> AnomalyDetector:
    """Build an anomaly detector; raises KeyError (unknown id), pydantic ValidationError or ParamsError."""
    cls = ANOMALY_DETECTORS[det_id]
    model = cls.Params(**params)
    bad = check_params(model)
    if bad is not None:
        raise ParamsError(*bad)
    return cls(model)


def entries() -> list[Entry]:
    """Every registered building block (imports the check/notifier/action modules lazily)."""
    from opsctl.detect.checks import CHECKS
    from opsctl.detect.notifiers import NOTIFIERS
    from opsctl.detect.remediation import ACTIONS

    out = [Entry(c.id, "anomaly", c.summary, inspect.getdoc(inspect.getmodule(c)) or "", c.Params)
           for c in ANOMALY_DETECTORS.values()]
    out += [Entry(c.id, "check", c.summary, inspect.getdoc(inspect.getmodule(c)) or "", c.Params)
            for c in CHECKS.values()]
    out += [Entry(c.id, "notifier", c.summary, inspect.getdoc(inspect.getmodule(c)) or "", c.Params)
            for c in NOTIFIERS.values()]
    out += [Entry(c.id, "action", c.summary, inspect.getdoc(inspect.getmodule(c)) or "", c.Params)
            for c in ACTIONS.values()]
    return out


__all__ = ["ANOMALY_DETECTORS", "MAX_POINTS", "Entry", "ParamsError", "ValidationError", "check_params", "entries",
           "make_anomaly_detector"]
