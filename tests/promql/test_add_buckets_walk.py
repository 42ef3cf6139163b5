"""The bucket merge walk shared by Add/Sub (addBuckets) and KahanAdd (kahanAddBuckets).

One walk serves both (opsctl.promql.histogram._add_buckets, compensation lists None for the plain sum):
on random layouts, the plain and the Kahan modes must give the same spans, the same sums where the sums
are exact (small integers), the compensation of B inserted where B's bucket is inserted, and a
subtraction must be the addition of the negated buckets. The results against Prometheus itself are
checked by test_histogram_oracle.py (plain) and tests/rules_testing/test_native_histogram_kahan_316.py.
"""

from __future__ import annotations

import random

import pytest

from opsctl.promql.histogram import Span, _add_buckets, _iter_indexed


def _layout(rng: random.Random) -> tuple[list[Span], list[float]]:
    spans: list[Span] = []
    for k in range(rng.randint(0, 4)):
        spans.append(Span(rng.randint(-6, 6) if k == 0 else rng.randint(0, 3), rng.randint(1, 4)))
    return spans, [float(rng.randint(-9, 9)) for _ in range(sum(s.length for s in spans))]


@pytest.mark.parametrize("seed", range(4))
def test_plain_and_kahan_modes_walk_alike(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3000):
        schema = rng.choice([-53, 0, 3])
        threshold = rng.choice([0.0, 1.0])
        sa, ba = _layout(rng)
        sb, bb = _layout(rng) if rng.random() < 0.7 else ([Span(s.offset, s.length) for s in sa], list(ba))
        before = ([Span(s.offset, s.length) for s in sa], list(ba), [Span(s.offset, s.length) for s in sb], list(bb))
        ca = [float(rng.randint(1, 3)) for _ in ba]
        cb = [float(rng.randint(1, 3)) for _ in bb]
        ps, pb, pc = _add_buckets(schema, threshold, False, sa, ba, sb, bb)
        ks, kb, kc = _add_buckets(schema, threshold, False, sa, ba, sb, bb, ca, None)
        assert pc == [] and ps == ks and pb == kb and len(kc) == len(kb)
        # A's compensation stays with A's buckets; a bucket B brings in has none (comp_b None)
        a_comp = dict(_iter_indexed(sa, ca))
        assert all(c == a_comp.get(i, 0.0) for i, c in _iter_indexed(ks, kc))
        # comp_b: inserted along with B's bucket, Kahan-added after it where A has the bucket: with exact
        # sums, bucket + compensation is the plain sum with B's buckets + compensations
        ks2, kb2, kc2 = _add_buckets(schema, threshold, False, sa, ba, sb, bb, [0.0] * len(ba), cb)
        es, eb, _ = _add_buckets(schema, threshold, False, sa, ba, sb, [x + c for x, c in zip(bb, cb, strict=True)])
        assert ks2 == es and [v + c for v, c in zip(kb2, kc2, strict=True)] == eb
        # subtraction: the addition of the negated buckets, same layout
        ns, nb, _ = _add_buckets(schema, threshold, True, sa, ba, sb, bb)
        ms, mb, _ = _add_buckets(schema, threshold, False, sa, ba, sb, [-x for x in bb])
        assert (ns, nb) == (ms, mb)
        assert (sa, ba, sb, bb) == before  # inputs unchanged
