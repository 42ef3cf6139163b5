"""Base class for remediation actions (off unless `remediation.enabled: true`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from opsctl.detect.anomaly.base import Params

if TYPE_CHECKING:
    from opsctl.detect.config import LoadedConfig
    from opsctl.detect.sources import Sources


class ActionError(Exception):
    pass


class Action:
    id: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[Params]]

    def __init__(self, name: str, params: dict[str, object]) -> None:
        self.name = name
        self.params = self.Params.model_validate(params)

    @property
    def retries(self) -> int:
        return int(getattr(self.params, "retries", 0))

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, config: LoadedConfig, sources: Sources) -> str:  # pragma: no cover - abstract
        """Do it; returns a short output text, raises ActionError on failure."""
        raise NotImplementedError
