"""A small Prometheus HTTP API client: instant and range queries, returned as `Series`.

`PrometheusClient(url, bearer_token=..., bearer_token_file=..., basic_auth=(user, password),
headers=..., timeout=10.0, retries=3, tls=TLSOptions(...), cache=False)`:

- `.query(expr, time=None) -> list[Series]` calls `GET /api/v1/query`; a vector gives one Series of one
  sample per element, a scalar one Series with no labels, a matrix (e.g. `up[5m]`) one Series per element.
- `.query_range(expr, start, end, step) -> list[Series]` calls `GET /api/v1/query_range`.
- Native histogram samples (`histogram` / `histograms` in the JSON) are read only when asked for
  (`histograms=True`, e.g. `rules backtest --prometheus`): they land in `Series.histograms` (an object array of
  opsctl.promql.histogram.FloatHistogram aligned with the times, the float value NaN there), as the `--data`
  JSON exports are read (opsctl.promql.promjson). Without it a float-only caller sees the float samples only.

Requests go through httpx with a timeout. Connection errors, timeouts, HTTP 5xx and 429 are retried up to
`retries` more times with exponential backoff (0.2 s, 0.4 s, 0.8 s ... capped at 5 s). The Prometheus error
payload (`{"status":"error","errorType":...,"error":...}`) is surfaced verbatim in `PrometheusError`; 4xx
answers (bad PromQL, bad parameters) are not retried. Secrets (token, password, a URL's user:password) are
registered with opsctl.secrets and redacted from every exception message; a token file loses one
trailing newline.

`tls` (opsctl.live.tls.TLSOptions: CA file, client certificate, insecure_skip_verify) sets how the server's
certificate is checked. A TLS failure (untrusted certificate, host name mismatch, plain HTTP on a TLS port)
is not retried and its PrometheusError names the cause (`error_type="tls"`). `cache=True` keeps every
successful answer for the client's lifetime, keyed by path and parameters, so one run never asks the same
question twice.
"""

from __future__ import annotations

import math
import threading
import time as _time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from opsctl import secrets
from opsctl.data.exports import Series
from opsctl.live.tls import TLSOptions, tls_failure

__all__ = ["PrometheusClient", "PrometheusError", "Series", "parse_api_response"]

_RETRY_STATUS = {429, 500, 502, 503, 504}


class PrometheusError(Exception):
    """A query failed: the API answered an error, or the server could not be reached after retries."""

    def __init__(self, message: str, *, error_type: str = "", status_code: int | None = None) -> None:
        super().__init__(secrets.redact(message))
        self.error_type = error_type
        self.status_code = status_code


TimeLike = float | int | datetime | str


def _fmt_time(value: TimeLike) -> str:
    if isinstance(value, datetime):
        return repr(value.timestamp())
    if isinstance(value, (int, float)):
        return repr(float(value))
    return str(value)


def _fmt_step(step: float | int | str) -> str:
    if isinstance(step, (int, float)):
        return repr(float(step))
    return str(step)


def _parse_value(text: Any) -> float:
    # Prometheus encodes sample values as strings: "1.5", "NaN", "+Inf", "-Inf".
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text)
    if s == "+Inf":
        return math.inf
    if s == "-Inf":
        return -math.inf
    return float(s)


def _series(labels: Mapping[str, str], pairs: list[Any]) -> Series:
    ts = np.fromiter((float(p[0]) for p in pairs), dtype=np.float64, count=len(pairs))
    vs = np.fromiter((_parse_value(p[1]) for p in pairs), dtype=np.float64, count=len(pairs))
    return Series(labels=dict(labels), timestamps=ts, values=vs)


def _series_with_histograms(labels: Mapping[str, str], item: Mapping[str, Any]) -> Series:
    from opsctl.promql.promjson import samples_from_result_item

    try:
        ts, vs, hs = samples_from_result_item(item)
    except ValueError as exc:
        raise PrometheusError(f"unexpected response: {exc}") from None
    harr: np.ndarray | None = None
    if any(h is not None for h in hs):
        harr = np.empty(len(hs), dtype=object)
        harr[:] = hs
    return Series(labels=dict(labels), timestamps=np.asarray(ts, dtype=np.float64),
                  values=np.asarray(vs, dtype=np.float64), histograms=harr)


def parse_api_response(payload: Any, histograms: bool = False) -> list[Series]:
    """Turn a decoded `/api/v1/query[_range]` JSON document into Series; raises PrometheusError.
    histograms=True: native histogram samples are read into `Series.histograms` (else left out)."""
    if not isinstance(payload, dict):
        raise PrometheusError("unexpected response: not a JSON object")
    if payload.get("status") != "success":
        err_type = str(payload.get("errorType", ""))
        err = str(payload.get("error", "unknown error"))
        raise PrometheusError(f"{err_type}: {err}" if err_type else err, error_type=err_type)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PrometheusError("unexpected response: no 'data' object")
    rtype = data.get("resultType")
    result = data.get("result")
    if rtype == "scalar":
        if not isinstance(result, list) or len(result) != 2:
            raise PrometheusError("unexpected response: malformed scalar")
        return [_series({}, [result])]
    if rtype == "string":
        raise PrometheusError("query returned a string, not numbers")
    if not isinstance(result, list):
        raise PrometheusError("unexpected response: 'result' is not a list")
    out: list[Series] = []
    for item in result:
        if not isinstance(item, dict):
            raise PrometheusError("unexpected response: result item is not an object")
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        if histograms and rtype in ("vector", "matrix") and ("histogram" in item or "histograms" in item):
            out.append(_series_with_histograms(labels, item))
        elif rtype == "vector":
            if "value" in item:
                out.append(_series(labels, [item["value"]]))
            # a native-histogram sample ("histogram") has no float value: skipped
        elif rtype == "matrix":
            out.append(_series(labels, list(item.get("values") or [])))
        else:
            raise PrometheusError(f"unexpected resultType {rtype!r}")
    return out


class PrometheusClient:
    """Client for one Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics)."""

    def __init__(
        self,
        url: str,
        *,
        bearer_token: str | None = None,
        bearer_token_file: str | Path | None = None,
        basic_auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = _time.sleep,
        tls: TLSOptions | None = None,
        cache: bool = False,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Prometheus URL must start with http:// or https://: {url!r}")
        if bearer_token and bearer_token_file:
            raise ValueError("give bearer_token or bearer_token_file, not both")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self._sleep = sleep
        hdrs = dict(headers or {})
        if bearer_token_file:
            bearer_token = secrets.from_file(bearer_token_file)
        if bearer_token:
            hdrs["Authorization"] = f"Bearer {secrets.register(bearer_token)}"
        if basic_auth:
            secrets.register_basic(*basic_auth)
        secrets.register_url(url)  # a URL may carry user:password
        secrets.register_headers(hdrs)
        auth = httpx.BasicAuth(*basic_auth) if basic_auth else None
        self.tls = tls or TLSOptions()
        verify = self.tls.verify()  # ValueError naming an unreadable CA or certificate file
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], Any] | None = {} if cache else None
        self._cache_lock = threading.Lock()
        self.requests = 0  # HTTP requests sent (answers from the cache are not counted)
        self._client = httpx.Client(
            headers=hdrs, auth=auth, timeout=self.timeout, transport=transport, follow_redirects=False,
            verify=verify,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, expr: str, time: TimeLike | None = None, *, histograms: bool = False) -> list[Series]:
        """histograms=True: native histogram samples are read too (`Series.histograms`)."""
        params = {"query": expr}
        if time is not None:
            params["time"] = _fmt_time(time)
        return parse_api_response(self._get("/api/v1/query", params), histograms)

    def query_range(self, expr: str, start: TimeLike, end: TimeLike, step: float | int | str, *,
                    histograms: bool = False) -> list[Series]:
        """histograms=True: native histogram samples are read too (`Series.histograms`)."""
        params = {"query": expr, "start": _fmt_time(start), "end": _fmt_time(end), "step": _fmt_step(step)}
        return parse_api_response(self._get("/api/v1/query_range", params), histograms)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        if self._cache is None:
            return self._fetch(path, params)
        key = (path, tuple(sorted(params.items())))
        with self._cache_lock:
            if key in self._cache:
                return self._cache[key]
        payload = self._fetch(path, params)
        with self._cache_lock:
            self._cache[key] = payload
        return payload

    def _fetch(self, path: str, params: dict[str, str]) -> Any:
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(min(5.0, 0.2 * 2 ** (attempt - 1)))
            try:
                self.requests += 1
                resp = self._client.get(self.url + path, params=params)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g}s"
                continue
            except httpx.TransportError as exc:
                cause = tls_failure(exc)
                if cause is not None:  # the same answer every time: not retried
                    raise PrometheusError(f"{self.url}: {cause}", error_type="tls") from None
                last = f"connection error: {type(exc).__name__}: {exc}"
                continue
            payload: Any = None
            try:
                payload = resp.json()
            except ValueError:
                payload = None
            if resp.status_code in _RETRY_STATUS:
                last = self._describe(resp, payload)
                continue
            if resp.status_code >= 400:
                err_type = payload.get("errorType", "") if isinstance(payload, dict) else ""
                raise PrometheusError(
                    self._describe(resp, payload), error_type=str(err_type), status_code=resp.status_code
                )
            if payload is None:
                raise PrometheusError(f"{self.url}{path}: response is not JSON", status_code=resp.status_code)
            return payload
        raise PrometheusError(f"{self.url}{path}: giving up after {self.retries + 1} attempts: {last}")

    def _describe(self, resp: httpx.Response, payload: Any) -> str:
        if isinstance(payload, dict) and payload.get("error"):
            et = payload.get("errorType")
            return f"HTTP {resp.status_code}: {et + ': ' if et else ''}{payload['error']}"
        body = secrets.redact(resp.text)[:200].strip()  # redacted before the cut
        return f"HTTP {resp.status_code}" + (f": {body}" if body else "")
