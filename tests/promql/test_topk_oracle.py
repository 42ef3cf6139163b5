"""Oracle: topk/bottomk against a real Prometheus 2.42 server (issue 12 point 6).

Ties decide which series topk/bottomk keep through Prometheus' heap (Go container/heap) and the output
order through Go's sort.Sort: random tied values (with NaN) are loaded into a TSDB block with
`promtool tsdb create-blocks-from openmetrics`, served by `prometheus` on 127.0.0.1, and every instant
query's result must equal opsctl's, series for series in the same order; range queries the same members.
"""

from __future__ import annotations

import math
import random
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.promql import Engine, Storage
from tests.conftest import find_tool
from tests.servers import free_port, running

T0 = 1_700_000_000
STEPS = 12
DATA = Path(__file__).parent / "issue12"


def _series(seed: int) -> list[tuple[dict[str, str], list[float]]]:
    rnd = random.Random(seed)
    out = []
    for i in range(40):
        labels = {"__name__": "m", "g": "ab"[i % 2], "i": f"{i:02d}"}
        vals = [rnd.choice([0.0, 0.0, 1.0, 1.0, 2.0, math.nan, 3.5]) for _ in range(STEPS)]
        out.append((labels, vals))
    return out


def _om(series: list[tuple[dict[str, str], list[float]]]) -> str:
    lines = ["# TYPE m gauge"]
    for labels, vals in series:
        body = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
        for j, v in enumerate(vals):
            lines.append(f"m{{{body}}} {'NaN' if math.isnan(v) else repr(v)} {T0 + 60 * j}")
    # OpenMetrics wants the samples of one metric family grouped by series, in time order.
    return "\n".join(lines) + "\n# EOF\n"


def _key(sample: dict[str, str], value: str) -> tuple[tuple[tuple[str, str], ...], str]:
    return tuple(sorted(sample.items())), value


QUERIES = [f"{op}({k}, m)" for op in ("topk", "bottomk") for k in (1, 2, 3, 5, 12, 13, 17, 39, 40)]
QUERIES += [f"{op} by (g) ({k}, m)" for op in ("topk", "bottomk") for k in (1, 4, 14, 20)]
QUERIES += ["topk(3, m > 0)", "bottomk(2, -m)", "topk(2.9, m)"]


def test_topk_ties_equal_prometheus(tmp_path: Path) -> None:
    promtool = find_tool("promtool")
    prometheus = find_tool("prometheus")
    series = _series(12)
    om = tmp_path / "data.om"
    om.write_text(_om(series))
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(tmp_path / "tsdb")],
                   check=True, capture_output=True, timeout=120)
    (tmp_path / "p.yml").write_text("global: {}\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [prometheus, f"--config.file={tmp_path / 'p.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
           "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"]
    storage = Storage()
    # The TSDB block hands series out sorted by labels: the input order of the aggregation.
    for labels, vals in sorted(series, key=lambda s: sorted(s[0].items())):
        storage.add(labels, np.array([(T0 + 60 * j) * 1000 for j in range(STEPS)]), np.array(vals))
    engine = Engine(storage)
    mismatches = []
    with running(cmd, f"{url}/-/ready", tmp_path / "prometheus.log"):
        with httpx.Client(timeout=30) as client:
            for q in QUERIES:
                for j in (0, 3, 7, 11):
                    t = T0 + 60 * j + 30
                    got = client.get(f"{url}/api/v1/query", params={"query": q, "time": t}).json()
                    assert got["status"] == "success", got
                    want = [_key(r["metric"], r["value"][1]) for r in got["data"]["result"]]
                    res = engine.instant(q, t)
                    mine = [_key(dict(s.labels), _fmt(float(s.values[0]))) for s in res.series]
                    if mine != want:
                        mismatches.append(f"{q} @ {t}\n  prometheus: {want}\n  opsctl:     {mine}")
                if ">" in q:
                    # A range query's binary operation builds its matrix from a Go map: the input order
                    # of the aggregation (and so the tie-break) is random in Prometheus itself.
                    continue
                got = client.get(f"{url}/api/v1/query_range", params={
                    "query": q, "start": T0 + 30, "end": T0 + 60 * (STEPS - 1) + 30, "step": 60}).json()
                want_r = {(tuple(sorted(r["metric"].items())), int(float(ts))) for r in got["data"]["result"]
                          for ts, _ in r["values"]}
                res = engine.range(q, T0 + 30, T0 + 60 * (STEPS - 1) + 30, 60)
                mine_r = {(tuple(sorted(dict(s.labels).items())), int(ts))
                          for s in res.series for ts in s.timestamps}
                if mine_r != want_r:
                    mismatches.append(f"range {q}: prometheus only {sorted(want_r - mine_r)[:5]}, "
                                      f"opsctl only {sorted(mine_r - want_r)[:5]}")
    assert not mismatches, f"{len(mismatches)} differences:\n" + "\n".join(mismatches[:10])


def _fmt(v: float) -> str:
    from opsctl.promql.engine import go_float

    return go_float(v)


def test_topk_param_overflow_is_error() -> None:
    st = Storage()
    st.add({"__name__": "m"}, [0], [1.0])
    eng = Engine(st)
    for q, msg in (("topk(NaN, m)", "Scalar value NaN overflows int64"),
                   ("bottomk(1/0, m)", "Scalar value +Inf overflows int64"),
                   ("topk(NaN, absent_metric)", "Scalar value NaN overflows int64")):
        with pytest.raises(Exception, match=msg.replace("+", r"\+")):
            eng.instant(q, 0)
    assert eng.instant("topk(0, m)", 0).series == []
    assert eng.instant("topk(-3, m)", 0).series == []


def test_topk_ties_reproducer() -> None:
    """../shared/repro/promql/topk_ties.*: Prometheus 2.42 answers topk(3, up) with i=4, i=5, i=2."""
    st = Storage()
    for line in (DATA / "topk_ties.om").read_text().splitlines():
        if line.startswith("up{"):
            sel, v, ts = line.rsplit(" ", 2)
            st.add({"__name__": "up", "i": sel.split('"')[1]}, [int(ts) * 1000], [float(v)])
    res = Engine(st).instant("topk(3, up)", 1700000060.0)
    assert [(s.labels["i"], float(s.values[0])) for s in res.series] == [("4", 1.0), ("5", 1.0), ("2", 0.0)]


def _reference_heap(vals: list[float], k: int, top: bool) -> list[int]:
    """Prometheus 2.42's topk/bottomk loop over one step, written out with container/heap."""
    from opsctl.promql import gosort

    h: list[int] = []

    def less(i: int, j: int) -> bool:
        a, b = vals[h[i]], vals[h[j]]
        return math.isnan(a) or (a < b if top else a > b)

    def swap(i: int, j: int) -> None:
        h[i], h[j] = h[j], h[i]

    for r, x in enumerate(vals):
        if not h:
            h.append(r)
            continue
        h0 = vals[h[0]]
        if len(h) < k or (h0 < x if top else h0 > x) or math.isnan(h0):
            if len(h) == k:
                if k == 1:
                    h[0] = r
                    continue
                swap(0, len(h) - 1)
                gosort.heap_down(less, swap, 0, len(h) - 1)
                h.pop()
            h.append(r)
            gosort.heap_up(less, swap, len(h) - 1)
    return sorted(h)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.0, math.nan, None]), min_size=6, max_size=6),
                min_size=1, max_size=30),
       st.integers(1, 8), st.booleans())
def test_vectorised_heap_equals_reference(rows: list[list[float | None]], k: int, top: bool) -> None:
    from opsctl.promql.aggregate import _heap_select

    v = np.array([[math.nan if x is None else x for x in r] for r in rows])
    m = np.array([[x is not None for x in r] for r in rows])
    heap, size = _heap_select(v, m, np.full(v.shape[1], k), top, need_order=False)
    for c in range(v.shape[1]):
        present = [r for r in range(len(rows)) if m[r, c]]
        ref = _reference_heap([float(v[r, c]) for r in present], k, top)
        assert sorted(int(x) for x in heap[: size[c], c]) == [present[i] for i in ref]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=80))
def test_go_sort_sorts(xs: list[int]) -> None:
    from opsctl.promql import gosort

    data = [(x, i) for i, x in enumerate(xs)]

    def swap(i: int, j: int) -> None:
        data[i], data[j] = data[j], data[i]

    gosort.sort(len(data), lambda i, j: data[i][0] < data[j][0], swap)
    assert [d[0] for d in data] == sorted(xs) and sorted(d[1] for d in data) == list(range(len(xs)))
    if len(xs) <= 12:  # insertion sort: stable
        assert data == sorted(data)
