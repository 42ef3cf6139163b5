"""opsctl.promql.histogram against Prometheus 3.5.0's own code, on random histograms.

The oracle is tests/promql/histogram_oracle (a small Go program calling Prometheus v3.5.0's
model/histogram and promql packages, pinned in its go.mod). It is built once into the oracle cache folder
(`histogram-oracle-3.5-<hash of its source>`, beside the tools .ci/oracles.sh builds; needs Go and the Go
module proxy the first time). Results must match bit for bit (NaN matches any NaN), span layouts included.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.promql import histogram as hm
from opsctl.promql.histogram import CounterResetHint, FloatHistogram, Span
from tests.conftest import ORACLE_BIN, require

SRC = Path(__file__).parent / "histogram_oracle"
# The binary's name carries a hash of the oracle's source, so a changed oracle is rebuilt.
_HASH = hashlib.sha256(b"".join((SRC / f).read_bytes() for f in ("main.go", "go.mod", "go.sum"))).hexdigest()[:10]
ORACLE = ORACLE_BIN / f"histogram-oracle-3.5-{_HASH}"


def _build() -> Path:
    if os.access(ORACLE, os.X_OK):
        return ORACLE
    go = shutil.which("go")
    require(go is not None, "go not installed (needed once to build the Prometheus 3.5 histogram oracle)")
    assert go is not None
    ORACLE.parent.mkdir(parents=True, exist_ok=True)
    tmp = ORACLE.with_name(ORACLE.name + f".tmp{os.getpid()}")
    proc = subprocess.run(
        [go, "build", "-o", str(tmp), "."],
        cwd=SRC,
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=readonly"},
        timeout=1800,
    )
    require(proc.returncode == 0, f"building the histogram oracle failed: {proc.stderr[-2000:]}")
    tmp.replace(ORACLE)
    return ORACLE


class Oracle:
    """A running oracle process: one request line in, one answer line out."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(self, op: str, a: FloatHistogram, b: FloatHistogram | None = None, *x: float | int) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        req = {"op": op, "a": enc(a), "b": enc(b) if b is not None else None, "x": [_arg(v) for v in x]}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "histogram oracle exited"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def many(
        self, reqs: list[tuple[str, FloatHistogram, FloatHistogram | None, tuple[Any, ...]]]
    ) -> list[dict[str, Any]]:
        """Answers to many requests in one round trip."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        lines = [
            json.dumps({"op": op, "a": enc(a), "b": enc(b) if b is not None else None, "x": [_arg(v) for v in x]})
            for op, a, b, x in reqs
        ]
        # Write from a thread: the answers come back while requests are still being written.
        writer = threading.Thread(target=self._write, args=("\n".join(lines) + "\n",))
        writer.start()
        answers = [json.loads(self.proc.stdout.readline()) for _ in reqs]
        writer.join()
        return answers

    def _write(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    o = Oracle(_build())
    yield o
    o.close()


def _arg(v: float | int) -> str:
    return str(v) if isinstance(v, int) else repr(float(v))


def _f(x: float) -> str:
    return repr(float(x))


def enc(h: FloatHistogram) -> dict[str, Any]:
    return {
        "schema": h.schema,
        "zt": _f(h.zero_threshold),
        "zc": _f(h.zero_count),
        "count": _f(h.count),
        "sum": _f(h.sum),
        "ps": [[s.offset, s.length] for s in h.positive_spans],
        "ns": [[s.offset, s.length] for s in h.negative_spans],
        "pb": [_f(v) for v in h.positive_buckets],
        "nb": [_f(v) for v in h.negative_buckets],
        "cv": [_f(v) for v in h.custom_values] if h.custom_values or h.uses_custom_buckets() else None,
        "hint": int(h.counter_reset_hint),
    }


def dec(d: dict[str, Any]) -> FloatHistogram:
    return FloatHistogram(
        schema=d["schema"],
        zero_threshold=float(d["zt"]),
        zero_count=float(d["zc"]),
        count=float(d["count"]),
        sum=float(d["sum"]),
        positive_spans=[Span(o, n) for o, n in d["ps"]],
        negative_spans=[Span(o, n) for o, n in d["ns"]],
        positive_buckets=[float(v) for v in d["pb"]],
        negative_buckets=[float(v) for v in d["nb"]],
        custom_values=[float(v) for v in d["cv"]],
        counter_reset_hint=CounterResetHint(d["hint"]),
    )


def _bits(x: float) -> bytes:
    return b"NaN" if x != x else struct.pack("<d", x)


def exact(h: FloatHistogram) -> tuple[object, ...]:
    """Everything, floats by bit pattern (any NaN alike), spans as given (not normalised)."""
    return (
        h.schema,
        _bits(h.zero_threshold),
        _bits(h.zero_count),
        _bits(h.count),
        _bits(h.sum),
        [(s.offset, s.length) for s in h.positive_spans],
        [(s.offset, s.length) for s in h.negative_spans],
        [_bits(v) for v in h.positive_buckets],
        [_bits(v) for v in h.negative_buckets],
        [_bits(v) for v in h.custom_values],
        int(h.counter_reset_hint),
    )


def ours(op: str, a: FloatHistogram, b: FloatHistogram | None, x: tuple[Any, ...]) -> dict[str, Any]:
    """Our answer in the oracle's shape."""
    try:
        if op in ("add", "sub"):
            assert b is not None
            return {"h": exact(a.add(b) if op == "add" else a.sub(b))}
        if op == "mul":
            return {"h": exact(a.mul(x[0]))}
        if op == "div":
            return {"h": exact(a.div(x[0]))}
        if op == "compact":
            return {"h": exact(a.compact(x[0]))}
        if op == "detect_reset":
            assert b is not None
            return {"b": a.detect_reset(b)}
        if op == "equals":
            return {"b": a.equals(b)}
        if op == "validate":
            a.validate()
            return {"s": "ok"}
        if op in ("test_expression", "string"):
            return {"s": a.test_expression() if op == "test_expression" else str(a)}
        if op == "buckets":
            return {"annos": [hm._bucket_str(bk) for bk in a.buckets()]}
        if op == "quantile":
            v, info = hm.histogram_quantile_info(x[0], a)
        elif op == "fraction":
            v, info = hm.histogram_fraction_info(x[0], x[1], a)
        else:
            v, info = (hm.histogram_stddev(a) if op == "stddev" else hm.histogram_stdvar(a)), None
        return {"f": _bits(v), "annos": [info + ' "m"'] if info else []}
    except hm.HistogramError as exc:
        return {"err": str(exc)}


def theirs(op: str, answer: dict[str, Any]) -> dict[str, Any]:
    if "err" in answer:
        return {"err": answer["err"]}
    if "h" in answer:
        return {"h": exact(dec(answer["h"]))}
    if "f" in answer:
        return {"f": _bits(float(answer["f"])), "annos": answer.get("annos") or []}
    if op == "buckets":
        return {"annos": answer.get("annos") or []}
    return answer


def check(op: str, a: FloatHistogram, b: FloatHistogram | None, x: tuple[Any, ...], answer: dict[str, Any]) -> None:
    got, want = ours(op, a, b, x), theirs(op, answer)
    if "err" in want and want["err"].startswith("panic:"):
        # Prometheus panics on this input (malformed layouts); we must refuse it too.
        assert "err" in got, (op, a, b, x, want)
        return
    assert got == want, (op, x, enc(a), b and enc(b))


# -- random histograms ----------------------------------------------------------------------------------

_COUNTS = [0.0, 0.0, 1.0, 2.0, 3.0, 0.5, 0.25, 7.0, 100.0, 1e-3, 2.5e6]
_THRESHOLDS = [0.0, 0.0, 2**-10, 0.001, 0.01, 0.5, 0.7, 1.0, 2.0]


def _spans(rng: random.Random, first: tuple[int, int]) -> tuple[list[Span], int]:
    spans, total = [], 0
    for i in range(rng.randint(0, 4)):
        off = rng.randint(*first) if i == 0 else rng.choice([0, 1, 1, 2, 3, 5])
        n = rng.choice([0, 1, 1, 2, 3, 4])
        spans.append(Span(off, n))
        total += n
    return spans, total


def _count(rng: random.Random) -> float:
    return rng.choice([*_COUNTS, rng.random() * 10])


def random_histogram(rng: random.Random, custom: bool | None = None) -> FloatHistogram:
    if custom is None:
        custom = rng.random() < 0.25
    hint = CounterResetHint(rng.choice([0, 0, 1, 2, 3]))
    if custom:
        bounds = sorted({round(rng.uniform(-5, 20), 1) for _ in range(rng.randint(0, 6))})
        spans, total, idx = [], 0, 0
        while idx <= len(bounds) and rng.random() < 0.8:
            off, n = rng.randint(0, 2), rng.randint(0, 3)
            if idx + off + n > len(bounds) + 1:
                break
            spans.append(Span(off, n))
            idx += off + n
            total += n
        pb = [_count(rng) for _ in range(total)]
        count = sum(pb) + (0 if rng.random() < 0.8 else rng.choice([1.0, 5.0]))
        return FloatHistogram(
            schema=-53,
            count=count,
            sum=rng.choice([count * 2.5, 0.0, math.nan, 7.0, -3.0]),
            positive_spans=spans,
            positive_buckets=pb,
            custom_values=bounds,
            counter_reset_hint=hint,
        )
    ps, pn = _spans(rng, (-8, 8))
    ns, nn = _spans(rng, (-8, 8)) if rng.random() < 0.7 else ([], 0)
    pb = [_count(rng) for _ in range(pn)]
    nb = [_count(rng) for _ in range(nn)]
    zc = rng.choice([0.0, 0.0, 1.0, 3.0, 0.25])
    count = sum(pb) + sum(nb) + zc + (0 if rng.random() < 0.8 else rng.choice([1.0, 5.0]))
    return FloatHistogram(
        schema=rng.randint(-4, 8),
        zero_threshold=rng.choice(_THRESHOLDS),
        zero_count=zc,
        count=count,
        sum=rng.choice([count * 2.5, 0.0, math.nan, 7.0, -3.0]),
        positive_spans=ps,
        negative_spans=ns,
        positive_buckets=pb,
        negative_buckets=nb,
        counter_reset_hint=hint,
    )


def _partner(rng: random.Random, a: FloatHistogram) -> FloatHistogram:
    """A second histogram for binary operations: a copy, a related one, or an unrelated one."""
    r = rng.random()
    if r < 0.3:
        b = a.copy()
        if b.positive_buckets:
            b.positive_buckets[rng.randrange(len(b.positive_buckets))] += rng.choice([-1.0, 1.0, 0.0])
        return b
    b = random_histogram(rng, custom=a.uses_custom_buckets() if rng.random() < 0.9 else None)
    if a.uses_custom_buckets() and b.uses_custom_buckets() and rng.random() < 0.7:
        b.custom_values = list(a.custom_values)
        b.positive_spans = [Span(s.offset, s.length) for s in a.positive_spans]
        b.positive_buckets = [_count(rng) for _ in a.positive_buckets]
    return b


def _damage(rng: random.Random, h: FloatHistogram) -> FloatHistogram:
    """Sometimes break one rule Validate checks."""
    h = h.copy()
    r = rng.random()
    if r < 0.15 and h.positive_buckets:
        h.positive_buckets.pop()
    elif r < 0.3 and h.positive_buckets:
        h.positive_buckets[rng.randrange(len(h.positive_buckets))] = -1.5
    elif r < 0.4 and len(h.positive_spans) > 1:
        h.positive_spans[1].offset = -1
    elif r < 0.5 and h.uses_custom_buckets():
        h.custom_values = [*sorted(h.custom_values, reverse=True), math.inf]
    elif r < 0.6 and h.uses_custom_buckets():
        h.zero_count = 1.0
    elif r < 0.7 and not h.uses_custom_buckets():
        h.custom_values = [1.0]
    return h


def random_requests(
    seed: int, n: int, ops: list[str]
) -> list[tuple[str, FloatHistogram, FloatHistogram | None, tuple[Any, ...]]]:
    rng = random.Random(seed)
    reqs: list[tuple[str, FloatHistogram, FloatHistogram | None, tuple[Any, ...]]] = []
    for _ in range(n):
        op = rng.choice(ops)
        a = random_histogram(rng)
        b = _partner(rng, a) if op in ("add", "sub", "detect_reset", "equals") else None
        x: tuple[Any, ...] = ()
        if op in ("mul", "div"):
            x = (rng.choice([0.0, 1.0, -1.0, 2.0, 0.5, 3.0, -3.0, math.inf, math.nan, 1e300]),)
        elif op == "compact":
            x = (rng.choice([0, 0, 1, 2, 5]),)
        elif op == "quantile":
            x = (rng.choice([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0, -0.5, 1.5, math.nan, rng.random()]),)
        elif op == "fraction":
            x = (
                rng.choice([-math.inf, -10.0, -1.0, -0.5, -0.001, 0.0, 0.0005, 0.3, 1.0, 3.0, 100.0, math.nan]),
                rng.choice([math.inf, 10.0, 1.0, 0.5, 0.001, 0.0, 2.0, 4.2, -1.0, -3.0, rng.uniform(-10, 10)]),
            )
        elif op == "test_expression":
            a = a.compact(0)
        elif op == "validate":
            a = _damage(rng, a)
        reqs.append((op, a, b, x))
    return reqs


_OPS = {
    "arithmetic": ["add", "sub", "mul", "div", "compact"],
    "comparison": ["detect_reset", "equals"],
    "text": ["test_expression", "string", "buckets", "validate"],
    "functions": ["quantile", "fraction", "stddev", "stdvar"],
}


@pytest.mark.parametrize("group", sorted(_OPS))
def test_random_histograms_match_prometheus(oracle: Oracle, group: str) -> None:
    """2,000 random cases per group (fixed seeds), answered by both implementations."""
    reqs = random_requests(sorted(_OPS).index(group) + 1, 2000, _OPS[group])
    for (op, a, b, x), answer in zip(reqs, oracle.many(reqs), strict=True):
        check(op, a, b, x, answer)


# -- the same with hypothesis (shrinks a failure to a small histogram) -------------------------------------

_count_st = st.sampled_from([0.0, 1.0, 2.0, 3.0, 0.5, 1e-3, 17.25])


@st.composite
def exp_histograms(draw: st.DrawFn) -> FloatHistogram:
    def side() -> tuple[list[Span], list[float]]:
        spans = draw(
            st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=3).map(
                lambda ts: [Span(o, n) for o, n in ts]
            )
        )
        if spans:
            spans[0].offset = draw(st.integers(-6, 6))
        buckets = [draw(_count_st) for _ in range(sum(s.length for s in spans))]
        return spans, buckets

    ps, pb = side()
    ns, nb = side()
    zc = draw(st.sampled_from([0.0, 1.0, 2.5]))
    return FloatHistogram(
        schema=draw(st.integers(-4, 8)),
        zero_threshold=draw(st.sampled_from(_THRESHOLDS)),
        zero_count=zc,
        count=sum(pb) + sum(nb) + zc,
        sum=draw(st.sampled_from([0.0, 3.5, -2.0, math.nan])),
        positive_spans=ps,
        negative_spans=ns,
        positive_buckets=pb,
        negative_buckets=nb,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=exp_histograms(), b=exp_histograms())
def test_hypothesis_add_sub_detect_reset(oracle: Oracle, a: FloatHistogram, b: FloatHistogram) -> None:
    for op in ("add", "sub", "detect_reset"):
        check(op, a, b, (), oracle.ask(op, a, b))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=exp_histograms(),
    q=st.floats(0, 1),
    lo=st.floats(-20, 20, allow_nan=False),
    hi=st.floats(-20, 20, allow_nan=False),
)
def test_hypothesis_quantile_fraction(oracle: Oracle, a: FloatHistogram, q: float, lo: float, hi: float) -> None:
    check("quantile", a, None, (q,), oracle.ask("quantile", a, None, q))
    check("fraction", a, None, (lo, hi), oracle.ask("fraction", a, None, lo, hi))
    check("stddev", a, None, (), oracle.ask("stddev", a))
