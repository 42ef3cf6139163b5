"""The streamed Parquet/CSV reader of `slo report`: what keeps it fast (no pandas, a prefetching reader that
always ends its thread) and equal to the in-memory path."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from opsctl.data import exports
from opsctl.slo import stream

ROOT = Path(__file__).resolve().parents[2]


def test_column_names_are_the_exports_ones() -> None:
    assert stream.NAME_COLUMNS == exports.NAME_COLUMNS and stream.TIME_COLUMNS == exports.TIME_COLUMNS


def test_np_converts_without_pandas_and_fills_nulls() -> None:
    got = stream._np(pa.array([1.5, None, 3.0]), float("nan"))
    assert np.isnan(got[1]) and got[0] == 1.5 and got[2] == 3.0 and got.dtype == np.float64
    sliced = pa.array(list(range(10)), pa.int32()).slice(3, 4)
    assert stream._np(sliced, -1).tolist() == [3, 4, 5, 6]
    assert stream._np(pa.array([None, 7], pa.int64()), -1).tolist() == [-1, 7]
    assert stream._np(pa.chunked_array([[1, 2], [3]], pa.uint16()), 0).tolist() == [1, 2, 3]


CHILD = """
import sys
from pathlib import Path
from opsctl.slo.report import report_from_export, summary
from opsctl.slo.spec import load_spec
slos = [s for g in load_spec(sys.argv[1]) for s in g.slos]
summary(report_from_export(slos, Path(sys.argv[2])))
print("pandas" in sys.modules)
"""


def test_streamed_parquet_report_does_not_load_pandas(tmp_path: Path) -> None:
    from benchmarks.bench_slo import SPEC, generate

    generate(tmp_path / "x.parquet", 20_000)
    (tmp_path / "spec.yml").write_text(SPEC)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "spec.yml"), str(tmp_path / "x.parquet")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_prefetch_yields_in_order_raises_and_joins() -> None:
    assert list(stream._Prefetch(iter(range(50)), depth=2)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(stream._Prefetch(failing()))
    before = threading.active_count()
    it = iter(stream._Prefetch(iter(range(1000)), depth=1))
    assert next(it) == 0
    it.close()  # the consumer stops early (an error while folding): the worker ends and is joined
    assert threading.active_count() == before
    assert not [t for t in threading.enumerate() if t.name == "opsctl-slo-prefetch"]


def test_a_failing_read_leaves_no_worker_thread(tmp_path: Path) -> None:
    """Two different values at one time (merged replicas) stop the read with an error naming both rows; the
    prefetching worker is joined before the error leaves fill_stores."""
    import pyarrow.parquet as pq

    from opsctl.errors import InputError
    from opsctl.slo.evaluate import SampleStore

    n = 3 * stream.BATCH_ROWS  # the conflict sits in the first batch, more batches are queued behind it
    ts = np.arange(n, dtype=np.int64) * 15
    vs = np.arange(n, dtype=np.float64)
    ts[11], vs[11] = ts[10], 99.0
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table({"timestamp": ts, "__name__": ["up"] * n, "value": vs}), path)
    store = SampleStore(0.0, 60.0, 10)
    with pytest.raises(InputError, match="Parquet row 11 and row 12"):
        stream.fill_stores(path, [(store, lambda _labels: True)])
    assert not [t for t in threading.enumerate() if t.name == "opsctl-slo-prefetch"]


def test_constant_columns_are_not_decoded_and_labels_stay(tmp_path: Path) -> None:
    """Columns with one value in every row group (statistics) are left out of the read; the series keep
    them as labels, in column order, and a column that varies in one row group only is read."""
    import pyarrow.parquet as pq

    n = 1000
    table = pa.table({"timestamp": np.arange(n, dtype=np.int64) * 15, "__name__": ["up"] * n,
                      "job": ["api"] * n, "zone": ["a"] * (n - 1) + ["b"], "instance": [f"i{i % 2}" for i in range(n)],
                      "value": np.ones(n)})
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=300)
    assert stream.constant_columns(path, ["__name__", "job", "zone", "instance"]) == {"__name__": "up", "job": "api"}
    labels = [lab for labs, *_ in stream.iter_batches(path) for lab in labs]
    assert {tuple(lab.items()) for lab in labels} == {
        (("__name__", "up"), ("job", "api"), ("zone", z), ("instance", i)) for z, i in
        (("a", "i0"), ("a", "i1"), ("b", "i1"))}
    csv = tmp_path / "c.csv"
    import pyarrow.csv as pacsv
    pacsv.write_csv(table, csv)
    assert stream.constant_columns(csv, ["job"]) == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_folding_equals_series_by_series(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many short series per record batch are folded at once (SampleStore.add_segments); the result equals the
    series-by-series fold, also with counter resets, samples outside the window, a NaN batch and series
    that start late."""
    import pyarrow.parquet as pq

    from opsctl.slo.report import Options, report_from_export, summary
    from opsctl.slo.spec import loads_spec

    rng = np.random.default_rng(seed)
    rows = []
    for s in range(40):
        start = int(rng.integers(0, 200))
        t = np.arange(start, 2000) * 15.0
        v = np.cumsum(rng.integers(0, 5, t.size)).astype(float)
        if s % 7 == 0:  # a counter reset
            v[t.size // 2:] -= v[t.size // 2]
        if s == 3:
            v[1500] = np.nan
        code = "500" if s % 4 == 0 else "200"
        rows += [(ti, f"i{s}", code, vi) for ti, vi in zip(t, v, strict=True)]
    rows.sort(key=lambda r: r[0])
    ts, inst, code, val = zip(*rows, strict=True)
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"timestamp": list(ts), "__name__": ["http_requests_total"] * len(ts),
                             "instance": list(inst), "code": list(code), "value": list(val)}), path)
    spec = """\
version: "prometheus/v1"
service: "svc"
slos:
  - name: "avail"
    objective: 99
    sli:
      events:
        error_query: sum by (instance) (rate(http_requests_total{code="500"}[{{.window}}]))
        total_query: sum by (instance) (rate(http_requests_total[{{.window}}]))
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
"""
    slos = [s for g in loads_spec(spec, "s.yml") for s in g.slos]
    opts = Options(end=1900 * 15.0, step=60.0)

    def run(short: int) -> dict[str, object]:
        monkeypatch.setattr(stream, "SHORT_SEGMENTS", short)
        doc = summary(report_from_export(slos, path, opts, batch_rows=997))
        return doc["slos"][0]  # type: ignore[no-any-return]

    batch, single = run(10**9), run(0)
    assert batch["events"] == pytest.approx(single["events"], rel=1e-12)
    assert [(g["labels"], g["events"]) for g in batch["groups"]] == \
        [(g["labels"], pytest.approx(g["events"], rel=1e-12)) for g in single["groups"]]
    assert batch["gaps"] == single["gaps"] and len(batch["groups"]) == 40
