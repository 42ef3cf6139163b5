"""Series and expressions for the promtool oracle test (shared with docs/examples)."""

from __future__ import annotations

import random

INTERVAL = "15s"
# The last evaluation time is a whole multiple of the test's evaluation_interval (1m): promtool only
# loads input samples up to the last such multiple before the largest eval_time.
EVAL_TIMES = ["1m", "3m", "10m", "17m30s", "29m"]


def series_lines(seed: int = 42) -> list[tuple[str, str]]:
    """(series selector, expanding-notation values) pairs; 121 samples each (30 minutes at 15 s)."""
    rnd = random.Random(seed)
    out: list[tuple[str, str]] = []
    for job in ("api", "web"):
        for inst in ("a", "b", "c"):
            for code in ("200", "500"):
                inc = rnd.choice([1, 2, 3, 5]) if code == "200" else rnd.choice([0.5, 1])
                start = rnd.randint(0, 100)
                if inst == "b" and code == "200":
                    # A counter reset half-way.
                    vals = f"{start}+{inc}x60 0+{inc}x59"
                else:
                    vals = f"{start}+{inc}x120"
                out.append((f'http_requests_total{{job="{job}", instance="{inst}", code="{code}"}}', vals))
            gauge = " ".join(str(rnd.randint(0, 40) / 4) for _ in range(121))
            out.append((f'queue_length{{job="{job}", instance="{inst}"}}', gauge))
            up = "1x60 0x10 1x49" if inst == "c" else "1x120"
            out.append((f'up{{job="{job}", instance="{inst}"}}', up))
            slope = rnd.choice([1, 2.5, -1])
            mem = f"{1000 + rnd.randint(0, 500)}{'+' if slope >= 0 else ''}{slope}x120"
            out.append((f'memory_bytes{{job="{job}", instance="{inst}"}}', mem))
        base = rnd.randint(1, 4)
        for k, le in enumerate(["0.1", "0.5", "1", "5", "+Inf"]):
            out.append((f'latency_bucket{{job="{job}", le="{le}"}}', f"0+{base * (k + 1)}x120"))
    out.append(('gappy{job="api"}', "1 2 _x20 5 6 stale 8 9 _x90 10"))
    out.append(('temp{room="x"}', "20 21.5 19.25 " + " ".join(str(20 + (i % 7) * 0.5) for i in range(118))))
    return out


EXPRESSIONS: list[str] = [
    # selectors, offsets, @
    "up",
    'http_requests_total{code="500"}',
    'http_requests_total{job=~"a.*", code!="200"}',
    "queue_length offset 2m",
    "queue_length @ 120",
    "memory_bytes @ 100 offset 1m",
    "gappy",
    "temp",
    # rates & counters
    "rate(http_requests_total[1m])",
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[2m])",
    "increase(http_requests_total[10m])",
    "delta(queue_length[5m])",
    "idelta(queue_length[1m])",
    "resets(http_requests_total[20m])",
    "changes(queue_length[3m])",
    "changes(up[30m])",
    "rate(http_requests_total[5m] offset 3m)",
    "rate(gappy[10m])",
    # over_time
    "avg_over_time(queue_length[5m])",
    "sum_over_time(queue_length[2m])",
    "min_over_time(queue_length[4m])",
    "max_over_time(queue_length[4m])",
    "count_over_time(gappy[10m])",
    "last_over_time(gappy[5m])",
    "present_over_time(gappy[3m])",
    "absent_over_time(nonexistent[5m])",
    "absent_over_time(gappy[1m])",
    "stddev_over_time(queue_length[5m])",
    "stdvar_over_time(temp[5m])",
    "quantile_over_time(0.9, queue_length[5m])",
    "quantile_over_time(0.25, temp[10m])",
    "deriv(memory_bytes[5m])",
    "deriv(temp[10m])",
    "predict_linear(memory_bytes[10m], 3600)",
    "holt_winters(temp[5m], 0.5, 0.3)",
    # aggregations
    "sum(http_requests_total)",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance) (http_requests_total)",
    "avg by (job) (queue_length)",
    "max by (job) (queue_length)",
    "min(queue_length)",
    "count by (code) (http_requests_total)",
    "group by (job) (up)",
    "stddev by (job) (queue_length)",
    "stdvar(temp)",
    "topk(2, memory_bytes)",
    "bottomk(1, memory_bytes)",
    "topk by (job) (1, http_requests_total)",
    "quantile(0.5, queue_length)",
    "quantile by (job) (0.75, memory_bytes)",
    'count_values("value", up)',
    'count_values by (job) ("q", queue_length)',
    "sum by (job, le) (rate(latency_bucket[5m]))",
    # binary operators
    "http_requests_total / 2",
    "2 * queue_length - 1",
    "queue_length > 5",
    "queue_length > bool 5",
    "5 < queue_length",
    "queue_length % 3",
    "queue_length ^ 2",
    "memory_bytes / on(job, instance) queue_length",
    'http_requests_total{code="500"} / ignoring(code) http_requests_total{code="200"}',
    "http_requests_total / on(job, instance) group_left up",
    "up * on(job) group_left(le) latency_bucket{le=\"0.5\"}",
    "sum by (job) (http_requests_total) / on(job) group_right sum by (job, instance) (http_requests_total)",
    "queue_length == on(job, instance) queue_length",
    "queue_length > on(job, instance) memory_bytes",
    "up and queue_length > 4",
    "up or nonexistent",
    "queue_length unless queue_length > 5",
    "queue_length > 2 or memory_bytes < 1200",
    "-queue_length",
    "1 + 2 * 3",
    "scalar(sum(up)) * up",
    # functions
    "histogram_quantile(0.9, rate(latency_bucket[5m]))",
    "histogram_quantile(0.5, sum by (le) (rate(latency_bucket[5m])))",
    "abs(-queue_length)",
    "ceil(temp)",
    "floor(temp)",
    "round(temp)",
    "round(temp, 0.3)",
    "sqrt(queue_length)",
    "ln(memory_bytes)",
    "log2(memory_bytes)",
    "log10(memory_bytes)",
    "clamp(queue_length, 2, 8)",
    "clamp_min(queue_length, 5)",
    "clamp_max(queue_length, 5)",
    "sgn(queue_length - 5)",
    "deg(temp)",
    "rad(temp)",
    "timestamp(gappy)",
    "time()",
    "vector(time())",
    "hour()",
    "minute(vector(1700000000))",
    "day_of_week(vector(1700000000))",
    "days_in_month(vector(1709251200))",
    "year(vector(1700000000))",
    "absent(nonexistent{job=\"x\"})",
    "absent(up)",
    'label_replace(up, "host", "$1-x", "instance", "(.*)")',
    'label_join(up, "id", "/", "job", "instance")',
    "sort(queue_length)",
    "sort_desc(memory_bytes)",
    # subqueries
    "max_over_time(rate(http_requests_total[1m])[5m:30s])",
    "avg_over_time(queue_length[10m:1m])",
    "sum_over_time(sum by (job) (queue_length)[4m:15s] offset 1m)",
    "min_over_time(deriv(memory_bytes[2m])[6m:1m])",
    # more edge cases
    "bottomk(2, memory_bytes offset 1m)",
    "topk by (job) (2, memory_bytes)",
    'count_values without (instance) ("v", up)',
    "quantile(0.1, http_requests_total)",
    "quantile(1.5, up)",
    "sum_over_time(rate(http_requests_total[2m])[5m:45s])",
    "rate(http_requests_total[3m:20s])",
    "increase(http_requests_total[90s])",
    "delta(memory_bytes[7m] offset 2m)",
    "idelta(http_requests_total[45s])",
    "max_over_time(queue_length[1m] @ 120)",
    "avg(queue_length @ 150)",
    "up unless on(instance) queue_length > 5",
    "queue_length * on(job, instance) group_left() (up == 1)",
    'label_join(queue_length, "x", "-", "instance", "job", "instance")',
    'absent_over_time(up{job="nope", instance="z"}[1m])',
    "changes(gappy[20m])",
    "timestamp(queue_length offset 1m)",
    "clamp(memory_bytes, 1200, 1100)",
    "vector(1) + on() group_left sum(up)",
    "scalar(up)",
    "-(-memory_bytes)",
    "sum(queue_length) by (job) > bool on(job) group_left avg(queue_length) by (job)",
    "histogram_quantile(0.99, latency_bucket)",
    "histogram_quantile(0, latency_bucket)",
    "histogram_quantile(1, latency_bucket)",
    "predict_linear(temp[3m], -60)",
    "holt_winters(queue_length[3m], 0.1, 0.9)",
    "stdvar_over_time(queue_length[30s])",
    "quantile_over_time(0.5, gappy[30m])",
    "present_over_time(up[1m])",
    "sgn(memory_bytes - 1300)",
    "round(queue_length, 5)",
    "round(temp, -1)",
    "month(vector(time()))",
    "day_of_year(vector(1709251200))",
]
