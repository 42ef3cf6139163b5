"""Properties of the expanding series notation parser (opsctl.promql.notation)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.promql.notation import STALE_NAN, expand_values, is_stale, parse_labels, parse_series_desc

ints = st.integers(min_value=-1000, max_value=1000)
counts = st.integers(min_value=0, max_value=30)


@st.composite
def items(draw: st.DrawFn) -> tuple[str, list[float | None]]:
    kind = draw(st.sampled_from(["num", "blank", "blankx", "stale", "rep", "inc", "dec"]))
    a = draw(ints)
    n = draw(counts)
    if kind == "num":
        return str(a), [float(a)]
    if kind == "blank":
        return "_", [None]
    if kind == "blankx":
        return f"_x{n}", [None] * n
    if kind == "stale":
        return "stale", [STALE_NAN]
    if kind == "rep":
        return f"{a}x{n}", [float(a)] * (n + 1)
    d = draw(st.integers(min_value=0, max_value=50))
    if kind == "inc":
        return f"{a}+{d}x{n}", [float(a + d * i) for i in range(n + 1)]
    return f"{a}-{d}x{n}", [float(a - d * i) for i in range(n + 1)]


def _same(a: list[float | None], b: list[float | None]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            if x is not y:
                return False
        elif is_stale(x) or is_stale(y):
            if not (is_stale(x) and is_stale(y)):
                return False
        elif x != y:
            return False
    return True


@given(st.lists(items(), max_size=12))
def test_expansion_matches_model(parts: list[tuple[str, list[float | None]]]) -> None:
    text = " ".join(p[0] for p in parts)
    expected = [v for p in parts for v in p[1]]
    assert _same(expand_values(text), expected)


@given(st.lists(items(), max_size=6))
def test_expansion_is_concatenative(parts: list[tuple[str, list[float | None]]]) -> None:
    whole = expand_values(" ".join(p[0] for p in parts))
    pieces = [v for p in parts for v in expand_values(p[0])]
    assert _same(whole, pieces)


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_garbage_only_raises_value_error(text: str) -> None:
    try:
        parse_series_desc(text)
    except ValueError:
        pass


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s != "__name__"),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10),
        max_size=4,
    )
)
def test_label_roundtrip(labels: dict[str, str]) -> None:
    def q(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    text = "metric{" + ", ".join(f"{k}={q(v)}" for k, v in labels.items()) + "}"
    got, pos = parse_labels(text)
    assert got == {"__name__": "metric", **labels}
    assert pos == len(text)


def test_special_values() -> None:
    vals = expand_values("Inf -Inf NaN +1 -2.5e3 1e-3 stale 0x2")
    assert vals[0] == math.inf and vals[1] == -math.inf
    assert vals[2] is not None and math.isnan(vals[2]) and not is_stale(vals[2])
    assert vals[3:6] == [1.0, -2500.0, 0.001]
    assert vals[6] is not None and is_stale(vals[6])
    assert vals[7:] == [0.0, 0.0, 0.0]  # no hex in series notation: 0 repeated


def test_prometheus_examples() -> None:
    labels, vals = parse_series_desc('http_requests{job="api", instance="0"} 0+10x3 _ 5x1')
    assert labels == {"__name__": "http_requests", "job": "api", "instance": "0"}
    assert vals == [0.0, 10.0, 20.0, 30.0, None, 5.0, 5.0]
    assert parse_series_desc('{__name__="m", a="b"} -1-1x2')[1] == [-1.0, -2.0, -3.0]


@pytest.mark.parametrize(
    "bad",
    ["foo 1+", "foo 1x", "foo abc", 'foo{a="b} 1', "foo{a=b} 1", "foo 1+2", "foo stale+1x2", "{} 1 x3"],
)
def test_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_series_desc(bad)
