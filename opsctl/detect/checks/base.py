"""Base class and run context for health checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from opsctl.detect.anomaly.base import Params

if TYPE_CHECKING:
    from opsctl.detect.config import DetectorConfig, LoadedConfig
    from opsctl.detect.result import CheckResult
    from opsctl.detect.sources import Sources
    from opsctl.detect.state import State


@dataclass
class Context:
    config: LoadedConfig
    sources: Sources
    state: State
    now: datetime


class Check:
    id: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[Params]]

    def __init__(self, detector: DetectorConfig) -> None:
        self.detector = detector
        self.params = self.Params.model_validate(detector.params)

    def run(self, ctx: Context) -> list[CheckResult]:  # pragma: no cover - abstract
        raise NotImplementedError


OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
