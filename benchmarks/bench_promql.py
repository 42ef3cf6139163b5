"""Benchmark: range-evaluate ~100 typical alert expressions over synthetic series.

Default: 1,000 series x 2 days x 15 s samples (fast enough for `make bench`).
OPSCTL_BENCH_FULL=1: 1,000 series x 30 days x 15 s (the backtest target: < 60 s on 2 cores).
Evaluation step: 60 s (rule evaluation interval) by default; OPSCTL_BENCH_STEP overrides it (seconds).
OPSCTL_BENCH_EXACT=0 benchmarks Engine(exact=False) (faster closed forms instead of Prometheus'
bit-exact Kahan/running-mean arithmetic).
"""

from __future__ import annotations

import os
import time

import numpy as np

from opsctl.promql import Engine, Storage

JOBS = [f"job{j}" for j in range(10)]
LES = ["0.005", "0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]


def build_storage(days: float, interval: float = 15.0, seed: int = 1) -> tuple[Storage, int]:
    """1,000 series: 400 request counters, 100 histogram buckets, 100 up, 200 memory gauges,
    100 queue gauges, 100 error counters."""
    rng = np.random.default_rng(seed)
    n = int(days * 86400 / interval)
    ts = (np.arange(n, dtype=np.int64) * int(interval * 1000)).astype(np.int64)
    st = Storage()
    count = 0

    def add(labels: dict[str, str], values: np.ndarray) -> None:
        nonlocal count
        st.add(labels, ts, values)
        count += 1

    for j, job in enumerate(JOBS):
        for inst in range(10):
            for code in ("200", "500", "404", "503"):
                rate = 10.0 if code == "200" else 0.1 * (1 + (inst % 3))
                inc = rng.poisson(rate * interval, n).astype(float)
                vals = np.cumsum(inc)
                if inst == 0 and code == "200":
                    vals[n // 2 :] -= vals[n // 2]  # a counter reset
                add({"__name__": "http_requests_total", "job": job, "instance": f"i{inst}", "code": code}, vals)
        base = np.cumsum(rng.poisson(5 * interval, n)).astype(float)
        for k, le in enumerate(LES):
            frac = min(1.0, (k + 1) / len(LES) + 0.05)
            add({"__name__": "request_duration_seconds_bucket", "job": job, "le": le}, np.floor(base * frac))
        for inst in range(10):
            up = np.ones(n)
            if inst == j:
                up[n // 3 : n // 3 + 200] = 0
            add({"__name__": "up", "job": job, "instance": f"i{inst}"}, up)
            for area in ("heap", "nonheap"):
                mem = 1e9 + np.cumsum(rng.normal(0, 1e6, n))
                add({"__name__": "memory_usage_bytes", "job": job, "instance": f"i{inst}", "area": area}, mem)
            add({"__name__": "queue_length", "job": job, "instance": f"i{inst}"}, np.abs(rng.normal(50, 20, n)))
            errs = np.cumsum(rng.poisson(0.05 * interval, n)).astype(float)
            add({"__name__": "errors_total", "job": job, "instance": f"i{inst}"}, errs)
    return st, count


# Templates modelled on common alerting rule sets (kube-prometheus / node-exporter mixins): mostly
# rates, ratios, aggregations and comparisons; about one rule in ten uses an O(window) function
# (predict_linear, deriv, quantile_over_time, stddev_over_time, avg_over_time).
CHEAP = [
    'sum by (job) (rate(http_requests_total{{job=~"{job}", code=~"5.."}}[{w}])) / '
    'sum by (job) (rate(http_requests_total{{job=~"{job}"}}[{w}])) > {x}',
    'up{{job=~"{job}"}} == 0 or up{{job=~"{job}"}} offset {w} == 0',
    'absent(up{{job=~"{job}", instance="i{i}"}})',
    'histogram_quantile(0.99, sum by (job, le) (rate(request_duration_seconds_bucket{{job=~"{job}"}}[{w}]))) > {x}',
    'max_over_time(queue_length{{job=~"{job}"}}[{w}]) > {y}',
    'rate(errors_total{{job=~"{job}"}}[{w}]) > {x}',
    'increase(errors_total{{job=~"{job}"}}[1h]) > {y}',
    'memory_usage_bytes{{job=~"{job}", area="heap"}} > {y}e7',
    'sum by (job) (increase(http_requests_total{{job=~"{job}"}}[{w}])) < {y}',
    'count by (job) (up{{job=~"{job}"}} == 1) < {y} / 10',
    'changes(up{{job=~"{job}"}}[30m]) > {y} / 20',
    'irate(http_requests_total{{job=~"{job}", code="200"}}[2m]) > {y}',
    'rate(http_requests_total{{job=~"{job}", code="500"}}[{w}]) / ignoring(code) '
    'rate(http_requests_total{{job=~"{job}", code="200"}}[{w}]) > {x}',
    'topk(3, sum by (instance) (rate(http_requests_total{{job=~"{job}"}}[{w}])))',
    'sum without (instance) (rate(errors_total{{job=~"{job}"}}[{w}])) > {x}',
    '(up{{job=~"{job}"}} == 0) and on(instance) (queue_length{{job=~"{job}"}} > {y})',
    'min_over_time(up{{job=~"{job}"}}[{w}]) < {x}',
    'sum by (job, code) (rate(http_requests_total{{job=~"{job}"}}[{w}])) > {y}',
]
HEAVY = [
    'predict_linear(memory_usage_bytes{{job=~"{job}"}}[1h], 4 * 3600) > {y}e7',
    'deriv(queue_length{{job=~"{job}"}}[{w}]) > {x}',
    'quantile_over_time(0.9, queue_length{{job=~"{job}"}}[{w}]) > {y}',
    'stddev_over_time(queue_length{{job=~"{job}"}}[{w}]) > {y}',
    'avg_over_time(up{{job=~"{job}"}}[{w}]) < 1 - {x}',
]
WINDOWS = ["2m", "5m", "10m", "15m"]


def expressions(count: int = 100) -> list[str]:
    """`count` distinct expressions: 90 % from CHEAP, 10 % from HEAVY, over varying windows; every
    other expression selects one job (100 series or fewer), the others all jobs."""
    out: list[str] = []
    i = 0
    while len(out) < count:
        heavy = i % 10 == 9
        templates = HEAVY if heavy else CHEAP
        t = templates[(i // 10 if heavy else i) % len(templates)]
        job = JOBS[i % len(JOBS)] if i % 2 else "job.*"
        e = t.format(job=job, i=i % 10, w=WINDOWS[(i // 3) % len(WINDOWS)], x=round(0.01 * (1 + i % 7), 2), y=10 + i)
        out.append(e)
        i += 1
    return out


def main() -> dict[str, object]:
    full = os.environ.get("OPSCTL_BENCH_FULL") == "1"
    days = 30.0 if full else 2.0
    step = float(os.environ.get("OPSCTL_BENCH_STEP", "60"))
    t0 = time.perf_counter()
    st, nseries = build_storage(days)
    t_build = time.perf_counter() - t0
    exact = os.environ.get("OPSCTL_BENCH_EXACT", "1") != "0"
    eng = Engine(st, exact=exact)
    exprs = expressions(100)
    end = days * 86400 - 15
    t1 = time.perf_counter()
    c1 = time.process_time()
    out_series = 0
    for e in exprs:
        res = eng.range(e, 0.0, end, step)
        out_series += len(res.series)
    t_eval = time.perf_counter() - t1
    c_eval = time.process_time() - c1
    return {
        "series": nseries,
        "days": days,
        "samples": int(nseries * days * 86400 / 15),
        "expressions": len(exprs),
        "step_seconds": step,
        "steps": int(end // step) + 1,
        "build_seconds": round(t_build, 2),
        "exact": exact,
        "eval_seconds": round(t_eval, 2),
        "eval_cpu_seconds": round(c_eval, 2),
        "result_series": out_series,
    }


if __name__ == "__main__":
    print(main())
