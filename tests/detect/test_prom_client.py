"""opsctl.prom.client against a real Prometheus scraping a local exporter, and a flaky local server."""

from __future__ import annotations

import time

import numpy as np
import pytest

from opsctl.prom.client import PrometheusClient, PrometheusError, parse_api_response
from tests.detect.servers import Capture, free_port


def test_query_and_range_against_real_prometheus(prometheus: str) -> None:
    with PrometheusClient(prometheus) as c:
        inst = c.query('demo_value{instance_name="b"}')
        assert len(inst) == 1
        assert inst[0].labels["instance_name"] == "b"
        assert inst[0].labels["__name__"] == "demo_value"
        assert inst[0].values.tolist() == [5.0]
        now = time.time()
        rng = c.query_range("demo_value", now - 60, now, 1)
        assert {s.labels["instance_name"] for s in rng} == {"a", "b"}
        for s in rng:
            assert len(s) >= 2
            assert np.all(np.diff(s.timestamps) == 1.0)
        scalar = c.query("scalar(vector(42))")
        assert scalar[0].labels == {} and scalar[0].values.tolist() == [42.0]
        inf = c.query("vector(1) / 0")
        assert inf[0].values[0] == np.inf


def test_api_error_is_surfaced(prometheus: str) -> None:
    with PrometheusClient(prometheus, retries=0) as c, pytest.raises(PrometheusError) as exc:
        c.query("sum(")
    assert exc.value.error_type == "bad_data"
    assert "parse error" in str(exc.value)


def test_retries_on_5xx_then_succeeds() -> None:
    cap = Capture(body=b'{"status":"success","data":{"resultType":"vector","result":[]}}')
    try:
        cap.fail_next(2, 503)
        c = PrometheusClient(cap.url, retries=3, sleep=lambda s: None, bearer_token="sekret")
        assert c.query("up") == []
        assert len(cap.requests) == 3
        assert cap.requests[-1]["headers"]["Authorization"] == "Bearer sekret"
        cap.fail_next(5, 502)
        with pytest.raises(PrometheusError) as exc:
            c.query("up")
        assert "giving up after 4 attempts" in str(exc.value)
        assert "sekret" not in str(exc.value)
    finally:
        cap.stop()


def test_connection_refused_is_bounded() -> None:
    slept: list[float] = []
    c = PrometheusClient(f"http://127.0.0.1:{free_port()}", retries=2, sleep=slept.append, timeout=1)
    with pytest.raises(PrometheusError, match="connection error"):
        c.query("up")
    assert slept == [0.2, 0.4]


def test_basic_auth_and_token_file(tmp_path) -> None:
    cap = Capture(body=b'{"status":"success","data":{"resultType":"vector","result":[]}}')
    try:
        PrometheusClient(cap.url, basic_auth=("u", "p")).query("up")
        assert cap.requests[-1]["headers"]["Authorization"].startswith("Basic ")
        tok = tmp_path / "tok"
        tok.write_text("abc\n")
        PrometheusClient(cap.url, bearer_token_file=tok).query("up")
        assert cap.requests[-1]["headers"]["Authorization"] == "Bearer abc"
    finally:
        cap.stop()


def test_parse_rejects_bad_shapes() -> None:
    with pytest.raises(PrometheusError):
        parse_api_response({"status": "error", "errorType": "timeout", "error": "query timed out"})
    with pytest.raises(PrometheusError):
        parse_api_response([1, 2])
    out = parse_api_response({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"a": "1"}, "values": [[1, "NaN"], [2, "-Inf"]]}]}})
    assert np.isnan(out[0].values[0]) and out[0].values[1] == -np.inf


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.lists(st.tuples(st.floats(0, 2e9, allow_nan=False), st.floats(allow_nan=True, allow_infinity=True)),
                max_size=20),
       st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=3))
def test_parse_matrix_roundtrip(pairs: list[tuple[float, float]], labels: dict[str, str]) -> None:
    def fmt(v: float) -> str:
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "+Inf" if v > 0 else "-Inf"
        return repr(v)

    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, fmt(v)] for t, v in pairs]}]}}
    (s,) = parse_api_response(doc)
    assert s.labels == labels
    assert s.timestamps.tolist() == [t for t, _ in pairs]
    np.testing.assert_array_equal(s.values, np.array([v for _, v in pairs], dtype=float))
