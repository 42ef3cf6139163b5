"""Benchmark the native-histogram arithmetic of opsctl.promql.histogram (pure Python).

N histograms (default 2,000; OPSCTL_BENCH_HIST_N overrides) shaped like real latency histograms: schema 3,
zero threshold 2^-128, 20-60 populated buckets in 1-3 positive spans, a few negative buckets in one of five.
Timed, as CPU seconds (user+sys of this process, best of 3 repeats) per operation in microseconds:

- `add_us`: `sum` over all histograms (a fold of add, as the sum aggregation does);
- `add_other_schema_us`: the same fold with every other histogram at schema 4 (resolution reduced on add);
- `sub_us`: differences h[i+1] - h[i] of histograms with different bucket layouts;
- `sub_same_layout_us`: a later sample of the same counter (same layout) minus h[i], what
  rate/increase/delta mostly do;
- `compact_us`: compact(0) of each difference;
- `quantile_us`: histogram_quantile at 0.5, 0.9 and 0.99 of each histogram;
- `fraction_us`: histogram_fraction(0, 0.25) of each histogram.

Also reported: the load average when measuring (the machine may be shared).
"""

from __future__ import annotations

import itertools
import os
import random
import resource
from collections.abc import Callable

from opsctl.promql.histogram import FloatHistogram, Span, histogram_fraction, histogram_quantile

REPEATS = 3


def make_histograms(n: int, seed: int = 7) -> list[FloatHistogram]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        spans: list[Span] = []
        buckets: list[float] = []
        for k in range(rng.randint(1, 3)):
            length = rng.randint(7, 20)
            spans.append(Span(rng.randint(-40, -20) if k == 0 else rng.randint(1, 4), length))
            buckets.extend(float(rng.randint(0, 500)) for _ in range(length))
        neg_spans: list[Span] = []
        neg_buckets: list[float] = []
        if i % 5 == 0:
            neg_spans = [Span(rng.randint(-30, -10), 4)]
            neg_buckets = [float(rng.randint(1, 20)) for _ in range(4)]
        zc = float(rng.randint(0, 10))
        out.append(
            FloatHistogram(
                schema=3,
                zero_threshold=2.0**-128,
                zero_count=zc,
                count=sum(buckets) + sum(neg_buckets) + zc,
                sum=rng.uniform(0, 1e4),
                positive_spans=spans,
                negative_spans=neg_spans,
                positive_buckets=buckets,
                negative_buckets=neg_buckets,
            )
        )
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _best(fn: Callable[[], int]) -> float:
    """Best CPU seconds per operation over REPEATS runs; fn returns its number of operations."""
    best = float("inf")
    for _ in range(REPEATS):
        start = _cpu()
        ops = fn()
        best = min(best, (_cpu() - start) / ops)
    return best


def main() -> dict[str, object]:
    n = int(os.environ.get("OPSCTL_BENCH_HIST_N", "2000"))
    hs = make_histograms(n)
    mixed = [h if i % 2 == 0 else _finer(h) for i, h in enumerate(hs)]
    diffs = [b.sub(a) for a, b in itertools.pairwise(hs)]

    def fold(items: list[FloatHistogram]) -> Callable[[], int]:
        def run() -> int:
            acc = items[0]
            for h in items[1:]:
                acc = acc.add(h)
            return len(items) - 1

        return run

    def subs() -> int:
        for a, b in itertools.pairwise(hs):
            b.sub(a)
        return len(hs) - 1

    later = [_later(h) for h in hs]

    def subs_same_layout() -> int:
        for a, b in zip(hs, later, strict=True):
            b.sub(a)
        return len(hs)

    def compacts() -> int:
        for d in diffs:
            d.compact(0)
        return len(diffs)

    def quantiles() -> int:
        for h in hs:
            for q in (0.5, 0.9, 0.99):
                histogram_quantile(q, h)
        return 3 * len(hs)

    def fractions() -> int:
        for h in hs:
            histogram_fraction(0.0, 0.25, h)
        return len(hs)

    load_before = os.getloadavg()[0]
    result: dict[str, object] = {
        "histograms": n,
        "buckets_mean": round(sum(len(h.positive_buckets) + len(h.negative_buckets) for h in hs) / n, 1),
        "add_us": round(_best(fold(hs)) * 1e6, 1),
        "add_other_schema_us": round(_best(fold(mixed)) * 1e6, 1),
        "sub_us": round(_best(subs) * 1e6, 1),
        "sub_same_layout_us": round(_best(subs_same_layout) * 1e6, 1),
        "compact_us": round(_best(compacts) * 1e6, 1),
        "quantile_us": round(_best(quantiles) * 1e6, 1),
        "fraction_us": round(_best(fractions) * 1e6, 1),
        "cpu_time": "user+sys of this process, best of 3",
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    return result


def _later(h: FloatHistogram) -> FloatHistogram:
    """A later sample of the same counter: same bucket layout, larger counts."""
    c = h.copy()
    c.positive_buckets = [b + 3.0 for b in c.positive_buckets]
    c.negative_buckets = [b + 1.0 for b in c.negative_buckets]
    c.count += 3.0 * len(c.positive_buckets) + len(c.negative_buckets)
    return c


def _finer(h: FloatHistogram) -> FloatHistogram:
    """The same histogram one schema finer (each bucket split in two halves): adding it to a schema-3
    histogram makes add reduce its resolution."""
    spans = [Span(2 * s.offset - (1 if i == 0 else 0), 2 * s.length) for i, s in enumerate(h.positive_spans)]
    buckets = [half for b in h.positive_buckets for half in (b / 2, b / 2)]
    c = h.copy()
    c.schema = 4
    c.positive_spans, c.positive_buckets = spans, buckets
    c.negative_spans, c.negative_buckets = [], []
    c.count = sum(buckets) + c.zero_count
    return c


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
