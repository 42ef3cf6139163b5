"""The one registry of `opsctl detect` building blocks: anomaly detectors, health checks, notifiers and
remediation actions, each with an id, a one-line summary and its docs (the module docstring).

`opsctl detect list` prints it; the config loader resolves `kind:` / `type:` through it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from opsctl.detect.anomaly.base import AnomalyDetector
from opsctl.detect.anomaly.ewma import Ewma
from opsctl.detect.anomaly.level_shift import LevelShift
from opsctl.detect.anomaly.percentile import RollingPercentile
from opsctl.detect.anomaly.robust_z import RobustZ
from opsctl.detect.anomaly.seasonal import Seasonal
from opsctl.detect.anomaly.zscore import ZScore

ANOMALY_DETECTORS: dict[str, type[AnomalyDetector]] = {
    cls.id: cls for cls in (Ewma, ZScore, RobustZ, RollingPercentile, LevelShift, Seasonal)
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
                    "default": None if f.is_required() else _jsonable(f.default),
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


def make_anomaly_detector(det_id: str, params: dict[str, Any]) -> AnomalyDetector:
    """Build an anomaly detector; raises KeyError (unknown id) or pydantic ValidationError."""
    cls = ANOMALY_DETECTORS[det_id]
    return cls(cls.Params(**params))


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


__all__ = ["ANOMALY_DETECTORS", "Entry", "ValidationError", "entries", "make_anomaly_detector"]
