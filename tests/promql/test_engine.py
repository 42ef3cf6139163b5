"""Engine API and behaviour tests (beyond the promqltest corpus): the contract used by `opsctl rules`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.promql import STALE_NAN, Engine, Labels, PromQLError, Storage, is_stale


@pytest.fixture
def engine() -> Engine:
    s = Storage()
    for i, inst in enumerate(("a", "b", "c")):
        ts = np.arange(0, 3600_000, 15_000)
        s.add({"__name__": "reqs", "job": "api", "instance": inst}, ts, np.arange(len(ts)) * (i + 1.0))
        s.add({"__name__": "up", "job": "api", "instance": inst}, ts, np.ones(len(ts)))
    return Engine(s)


def test_labels_type() -> None:
    lab = Labels({"__name__": "x", "b": "2", "a": "1", "empty": ""})
    assert lab.name == "x" and list(lab) == ["__name__", "a", "b"]
    assert lab == Labels({"a": "1", "b": "2", "__name__": "x"}) and hash(lab) == hash(Labels(dict(lab)))
    assert lab.without(["__name__"]) == {"a": "1", "b": "2"}
    assert lab.only(["a"]) == {"a": "1"}
    assert str(lab) == 'x{a="1", b="2"}'


def test_stale_marker() -> None:
    assert is_stale(STALE_NAN) and not is_stale(math.nan) and not is_stale(1.0)


def test_instant_and_range_shapes(engine: Engine) -> None:
    r = engine.instant("sum(rate(reqs[5m]))", 1800)
    assert r.type == "vector" and len(r.series) == 1
    assert r.series[0].values[0] == pytest.approx((1 + 2 + 3) / 15)
    r = engine.range("rate(reqs[5m]) > 0.1", 600, 1200, 60)
    assert r.type == "matrix"
    assert sorted(s.labels["instance"] for s in r.series) == ["b", "c"]
    assert all(len(s.timestamps) == 11 for s in r.series)
    assert r.series[0].timestamps[0] == 600.0
    r = engine.instant("scalar(sum(up))", 100)
    assert r.type == "scalar" and r.scalar == 3.0
    assert engine.instant('"hello"', 0).string == "hello"
    r = engine.instant("reqs[1m]", 120)
    assert r.type == "matrix" and len(r.series[0].values) == 5


def test_range_equals_instant_per_step(engine: Engine) -> None:
    q = 'sum by (job) (rate(reqs[2m])) / on(job) count by (job) (up) > bool 0.05'
    rng = engine.range(q, 0, 1800, 45)
    for s in rng.series:
        for t, v in zip(s.timestamps, s.values, strict=True):
            inst = engine.instant(q, float(t))
            match = [x for x in inst.series if x.labels == s.labels]
            assert match and match[0].values[0] == v


def test_chunked_range_matches_unchunked(engine: Engine) -> None:
    small = Engine(engine.storage, max_chunk_elements=64 * 3)
    q = "max_over_time(deriv(reqs[3m])[10m:1m]) + avg_over_time(up[7m])"
    a = engine.range(q, 0, 3500, 30)
    b = small.range(q, 0, 3500, 30)
    assert [s.labels for s in a.series] == [s.labels for s in b.series]
    for x, y in zip(a.series, b.series, strict=True):
        assert np.array_equal(x.timestamps, y.timestamps) and np.allclose(x.values, y.values)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("reqs + on(job) up", "found duplicate series for the match group"),
        ("reqs + ignoring(instance) group_left reqs", "many-to-many matching not allowed"),
        ('label_replace(reqs, "instance", "x", "", "")', "vector cannot contain metrics with the same labelset"),
        ("sum(", "parse error"),
        ("{__name__=~\".*\"}", "non-empty matcher"),
        ("reqs{job=~\"(\"}", r"^1:6: parse error: error parsing regexp: missing closing \): `\^\(\?:\(\)\$`$"),
    ],
)
def test_errors(engine: Engine, query: str, message: str) -> None:
    with pytest.raises(PromQLError, match=message):
        engine.instant(query, 600)


def test_bad_range_args(engine: Engine) -> None:
    with pytest.raises(PromQLError):
        engine.range("up", 10, 0, 1)
    with pytest.raises(PromQLError):
        engine.range("up", 0, 10, 0)
    with pytest.raises(PromQLError, match="range vector"):
        engine.range("up[5m]", 0, 10, 1)


_METRICS = ["reqs", "up", "nope"]
_FUNCS_V = ["abs", "ceil", "floor", "sqrt", "ln", "exp", "sgn", "timestamp", "sort", "absent", "day_of_week"]
_FUNCS_M = ["rate", "irate", "increase", "delta", "deriv", "changes", "resets", "max_over_time",
            "avg_over_time", "stddev_over_time", "last_over_time", "present_over_time", "absent_over_time"]
_AGG = ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"]
_OPS = ["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "> bool"]


def _exprs() -> st.SearchStrategy[str]:
    sel = st.builds(
        lambda m, lab, off: f'{m}{{instance{lab}"a"}}{off}',
        st.sampled_from(_METRICS),
        st.sampled_from(["=", "!=", "=~", "!~"]),
        st.sampled_from(["", " offset 1m", " offset -30s", " @ 300", " @ start()"]),
    )
    rng = st.builds(lambda s, r: f"{s}[{r}]", sel, st.sampled_from(["1m", "5m", "33s"]))
    sub = st.builds(lambda s, r: f"({s})[{r}]", sel, st.sampled_from(["5m:1m", "2m:", "1m:7s"]))
    leaf = st.one_of(sel, st.builds(lambda f, r: f"{f}({r})", st.sampled_from(_FUNCS_M), st.one_of(rng, sub)),
                     st.floats(-5, 5, allow_nan=False).map(lambda x: f"{x:g}"))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda f, e: f"{f}({e})", st.sampled_from(_FUNCS_V), inner),
            st.builds(lambda a, g, e: f"{a} by ({g}) ({e})", st.sampled_from(_AGG),
                      st.sampled_from(["job", "instance", ""]), inner),
            st.builds(lambda a, o, b: f"({a}) {o} ({b})", inner, st.sampled_from(_OPS), inner),
            st.builds(lambda k, e: f"topk({k}, {e})", st.integers(-1, 3), inner),
            st.builds(lambda e: f"quantile(0.5, {e})", inner),
            st.builds(lambda e: f'label_replace({e}, "x", "$1", "instance", "(.*)")', inner),
            st.builds(lambda e: f"histogram_quantile(0.9, {e})", inner),
        )

    return st.recursive(leaf, extend, max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_exprs(), st.integers(0, 3600))
def test_random_expressions_raise_only_promql_errors(engine: Engine, query: str, t: int) -> None:
    try:
        engine.instant(query, float(t))
        engine.range(query, float(t), float(t) + 300, 60)
    except (PromQLError, ValueError):
        pass


def test_function_cache_shared_between_selectors(engine: Engine) -> None:
    # Results are cached per stored series; a second query selecting an overlapping set of series
    # must give exactly what a fresh engine computes.
    for q in ('rate(reqs{instance="a"}[2m])', 'deriv(reqs{instance!="b"}[10m])', "avg_over_time(up[5m])"):
        engine.range(q, 0, 3000, 30)
    for q in ("rate(reqs[2m])", "deriv(reqs[10m])", 'avg_over_time(up{instance=~"a|c"}[5m])'):
        a = engine.range(q, 0, 3000, 30)
        b = Engine(engine.storage).range(q, 0, 3000, 30)
        assert [s.labels for s in a.series] == [s.labels for s in b.series]
        for x, y in zip(a.series, b.series, strict=True):
            assert np.array_equal(x.timestamps, y.timestamps) and np.array_equal(x.values, y.values)
