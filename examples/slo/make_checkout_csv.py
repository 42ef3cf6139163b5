"""Regenerate examples/slo/checkout.csv (deterministic): python examples/slo/make_checkout_csv.py"""

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(42)
end = 1767225600  # 2026-01-01T00:00:00Z
start = end - 7 * 86400
ts = np.arange(start, end + 1, 300)
n = len(ts)
day = 86400
reqs = rng.poisson(600, n)
err_p = np.full(n, 0.0005)
err_p[(ts > start + 3 * day + 10 * 3600) & (ts <= start + 3 * day + 11 * 3600)] = 0.2
errs = rng.binomial(reqs, err_p)
slow_p = np.full(n, 0.004)
slow_p[(ts > start + 5 * day + 14 * 3600) & (ts <= start + 5 * day + 16 * 3600)] = 0.1
fast = reqs - rng.binomial(reqs, slow_p)
c_ok, c_err = np.cumsum(reqs - errs), np.cumsum(errs)
c_cnt, c_fast = np.cumsum(reqs), np.cumsum(fast)
up_b = np.ones(n, dtype=int)
up_b[(ts > start + 2 * day) & (ts <= start + 2 * day + 1800)] = 0  # instance b down for 30 minutes
gap = (ts > start + 6 * day) & (ts <= start + 6 * day + 1200)  # 20 minutes without scrapes
with (Path(__file__).parent / "checkout.csv").open("w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["timestamp", "__name__", "job", "instance", "code", "le", "value"])
    for i, t in enumerate(ts):
        if gap[i]:
            continue
        t = int(t)
        w.writerow([t, "http_requests_total", "checkout", "a:8080", "200", "", c_ok[i]])
        w.writerow([t, "http_requests_total", "checkout", "a:8080", "500", "", c_err[i]])
        w.writerow([t, "http_request_duration_seconds_bucket", "checkout", "a:8080", "", "0.3", c_fast[i]])
        w.writerow([t, "http_request_duration_seconds_count", "checkout", "a:8080", "", "", c_cnt[i]])
        w.writerow([t, "up", "checkout", "a:8080", "", "", 1])
        w.writerow([t, "up", "checkout", "b:8080", "", "", up_b[i]])
