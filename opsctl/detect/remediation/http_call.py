"""HTTP call: a request (method, url, optional JSON body and headers) that must answer 2xx."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field

from opsctl.detect.anomaly.base import Params

from .base import Action, ActionError


class HttpCallParams(Params):
    url: str
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] = "POST"
    json_body: Any = Field(None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = 10.0
    retries: int = Field(2, ge=0, le=10)


class HttpCall(Action):
    id = "http"
    summary = "HTTP request that must answer 2xx"
    Params = HttpCallParams

    def describe(self) -> str:
        p = self.params
        assert isinstance(p, HttpCallParams)
        return f"{p.method} {p.url}"

    def run(self, config: Any, sources: Any) -> str:
        p = self.params
        assert isinstance(p, HttpCallParams)
        try:
            resp = httpx.request(p.method, p.url, json=p.json_body, headers=p.headers, timeout=p.timeout)
        except httpx.HTTPError as exc:
            raise ActionError(f"{type(exc).__name__}: {exc}") from None
        if not 200 <= resp.status_code < 300:
            raise ActionError(f"HTTP {resp.status_code}: {resp.text[:200]}")
        return f"HTTP {resp.status_code}"
