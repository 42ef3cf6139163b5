"""Export readers: Prometheus JSON, CSV (long and wide), Parquet; bad input is a clean InputError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.data import read_export
from opsctl.errors import InputError


def _by_labels(series: list) -> dict:
    return {tuple(sorted(s.labels.items())): (list(s.timestamps), list(s.values)) for s in series}


def test_prometheus_json(tmp_path: Path) -> None:
    body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "up", "job": "a"}, "values": [[20, "1"], [10, "0"], [30, "+Inf"]]},
        {"metric": {"job": "b"}, "values": [[10, "NaN"]]},
    ]}}
    p = tmp_path / "x.json"
    p.write_text(json.dumps(body))
    got = _by_labels(read_export(p))
    assert got[(("__name__", "up"), ("job", "a"))] == ([10.0, 20.0, 30.0], [0.0, 1.0, float("inf")])
    ts, vs = got[(("__name__", "x"), ("job", "b"))]
    assert ts == [10.0] and np.isnan(vs[0])


def test_json_errors_have_positions(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"status": "success",\n "data": [1, }')
    with pytest.raises(InputError) as exc:
        read_export(p)
    assert exc.value.file == str(p) and exc.value.line == 2
    p.write_text(json.dumps({"status": "error", "error": "boom"}))
    with pytest.raises(InputError, match="boom"):
        read_export(p)
    p.write_text(json.dumps({"data": {"result": [{"metric": {}, "values": [[1]]}]}}))
    with pytest.raises(InputError, match=r"values\[0\]"):
        read_export(p)


def test_csv_long_wide_and_times(tmp_path: Path) -> None:
    p = tmp_path / "long.csv"
    p.write_text("timestamp,metric,job,value\n1700000000000,up,a,1\n1700000015000,up,a,0\n1700000000000,up,,1\n")
    got = _by_labels(read_export(p))
    assert got[(("__name__", "up"), ("job", "a"))] == ([1700000000.0, 1700000015.0], [1.0, 0.0])
    assert (("__name__", "up"),) in got  # empty label value = no label
    w = tmp_path / "wide.csv"
    w.write_text("timestamp,cpu,mem\n2024-01-01 00:00:00,1,\n2024-01-01T00:01:00Z,2,5\n")
    got = _by_labels(read_export(w))
    assert got[(("__name__", "cpu"),)] == ([1704067200.0, 1704067260.0], [1.0, 2.0])
    assert got[(("__name__", "mem"),)] == ([1704067260.0], [5.0])


def test_csv_bad_value_and_missing_time(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,value\n1,2\n2,abc\n")
    with pytest.raises(InputError) as exc:
        read_export(p)
    assert exc.value.line == 3 and "abc" in exc.value.message
    p.write_text("when,value\n1,2\n")
    with pytest.raises(InputError, match="timestamp"):
        read_export(p)
    with pytest.raises(InputError, match="format"):
        read_export(tmp_path / "x.dat")
    with pytest.raises(InputError, match="no such file"):
        read_export(tmp_path / "none.csv")


def test_parquet(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    pd.DataFrame({"timestamp": [2.0, 1.0], "__name__": ["x", "x"], "value": [4.0, 3.0]}).to_parquet(p)
    assert _by_labels(read_export(p)) == {(("__name__", "x"),): ([1.0, 2.0], [3.0, 4.0])}
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        read_export(tmp_path / "junk.parquet")


label_values = st.text(alphabet="abcxyz019_-", min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["a", "b", "c"]), label_values,
                          st.floats(allow_nan=False, allow_infinity=False, width=32)), min_size=1, max_size=40,
                unique_by=lambda r: (r[0], r[1], r[2])))
def test_csv_and_parquet_agree_with_json(tmp_path: Path, rows: list) -> None:
    frame = pd.DataFrame(rows, columns=["timestamp", "__name__", "job", "value"])
    csv_p, pq_p, js_p = tmp_path / "h.csv", tmp_path / "h.parquet", tmp_path / "h.json"
    frame.to_csv(csv_p, index=False)
    frame.to_parquet(pq_p)
    result = []
    for (name, job), g in frame.groupby(["__name__", "job"]):
        result.append({"metric": {"__name__": name, "job": job},
                       "values": [[t, repr(float(v))] for t, v in zip(g["timestamp"], g["value"], strict=True)]})
    js_p.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))
    a, b, c = (_by_labels(read_export(x)) for x in (csv_p, pq_p, js_p))
    assert a.keys() == b.keys() == c.keys()
    for key in a:
        assert a[key][0] == b[key][0] == c[key][0]
        np.testing.assert_allclose(a[key][1], c[key][1], rtol=1e-6)
        np.testing.assert_allclose(b[key][1], c[key][1], rtol=1e-6)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    for suffix in (".csv", ".json", ".parquet"):
        p = tmp_path / f"r{suffix}"
        p.write_bytes(data)
        try:
            read_export(p)
        except InputError:
            pass
