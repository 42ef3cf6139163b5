"""Benchmark: native-histogram evaluation in the embedded engine.

200 native-histogram series (10 jobs x 20 instances, exponential schema 3, ~20 populated buckets,
counters with occasional resets) sampled every 15 s for 2 hours (96,000 histogram samples), and
10 typical expressions range-evaluated at a 60 s step over the last hour: latency quantiles and fractions over rates,
histogram_count/sum/avg, sums per job, increase, a ratio of counts. OPSCTL_BENCH_HOURS changes the
data length. Reports wall-clock and CPU seconds of the evaluation and of building the storage.
"""

from __future__ import annotations

import os
import time

import numpy as np

from opsctl.promql import Engine, Storage
from opsctl.promql.histogram import FloatHistogram, Span

EXPRESSIONS = [
    "histogram_quantile(0.99, sum by (job) (rate(lat[5m])))",
    "histogram_quantile(0.5, rate(lat[5m]))",
    "histogram_fraction(0, 0.25, sum by (job) (rate(lat[5m])))",
    "sum by (job) (histogram_count(rate(lat[5m])))",
    "histogram_sum(rate(lat[5m])) / histogram_count(rate(lat[5m]))",
    "histogram_avg(rate(lat[10m]))",
    "sum(increase(lat[1h]))",
    'histogram_count(rate(lat{job="job1"}[5m]))',
    "histogram_stddev(rate(lat[5m]))",
    "sum by (job) (rate(lat[5m])) / on(job) group_left sum by (job) (rate(lat[5m]))",
]


def build_storage(hours: float, interval: float = 15.0, seed: int = 1) -> tuple[Storage, int]:
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 / interval)
    ts = (np.arange(n, dtype=np.int64) * int(interval * 1000)).astype(np.int64)
    st = Storage()
    nbuckets = 20
    samples = 0
    for j in range(10):
        for inst in range(20):
            # Observations per scrape spread over the buckets around 1 (schema 3: 2^(1/8) growth).
            weights = rng.dirichlet(np.ones(nbuckets))
            per_step = rng.poisson(50 * weights, size=(n, nbuckets)).astype(float)
            cum = np.cumsum(per_step, axis=0)
            reset_at = int(rng.integers(n // 2, n)) if inst % 5 == 0 else -1
            if reset_at > 0:
                cum[reset_at:] -= cum[reset_at - 1]
            sums = cum.sum(axis=1)
            hs = []
            for k in range(n):
                buckets = cum[k].tolist()
                hs.append(FloatHistogram(schema=3, count=float(sums[k]), sum=float(sums[k]) * 0.9,
                                         positive_spans=[Span(-10, nbuckets)], positive_buckets=buckets))
            st.add({"__name__": "lat", "job": f"job{j}", "instance": str(inst)}, ts, np.zeros(n), hs)
            samples += n
    return st, samples


def main() -> dict[str, object]:
    hours = float(os.environ.get("OPSCTL_BENCH_HOURS", "2"))
    t0 = time.perf_counter()
    c0 = time.process_time()
    st, samples = build_storage(hours)
    t_build, c_build = time.perf_counter() - t0, time.process_time() - c0
    eng = Engine(st, v3=True)
    end = hours * 3600 - 15
    t1 = time.perf_counter()
    c1 = time.process_time()
    out = 0
    for e in EXPRESSIONS:
        res = eng.range(e, 3600.0, end, 60.0)
        out += len(res.series)
    t_eval, c_eval = time.perf_counter() - t1, time.process_time() - c1
    return {
        "histogram_series": 200,
        "hours": hours,
        "histogram_samples": samples,
        "expressions": len(EXPRESSIONS),
        "step_seconds": 60.0,
        "steps": int((end - 3600) // 60) + 1,
        "build_seconds": round(t_build, 2),
        "build_cpu_seconds": round(c_build, 2),
        "eval_seconds": round(t_eval, 2),
        "eval_cpu_seconds": round(c_eval, 2),
        "result_series": out,
    }


if __name__ == "__main__":
    print(main())
