"""`opsctl rules backtest` peak memory: flat with the period (issue 12, point 8).

For each period (1, 7, 14 and 28 days by default) of 100 series at 15 s (576 k to 16 M samples), the
export (long-format Parquet) and a rule file (1 recording rule, 4 alerting rules incl. a templated label
and keep_firing_for) are generated into a temporary directory; the command runs in a subprocess, and its
peak resident set size (ru_maxrss of the child) and CPU time (user + system) are measured.

Target: every period's peak RSS below TARGET_MB, and the largest within FLAT_RATIO of the smallest (the
replay streams the export by time windows: opsctl.rules.backtest_stream). Set OPSCTL_BENCH_BACKTEST_DAYS to
a comma-separated list of periods to try others (e.g. "7").
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_MB = 250
FLAT_RATIO = 1.10
RULES = """
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:errors:rate5m
        expr: sum by (job) (rate(errors_total[5m]))
  - name: alerts
    interval: 1m
    rules:
      - alert: HighErrorRate
        expr: rate(errors_total[5m]) > 0.9
        for: 5m
      - alert: Flappy
        expr: rate(errors_total[2m]) > 0.8
        keep_firing_for: 10m
      - alert: JobErrors
        expr: job:errors:rate5m > 5.5
        for: 2m
      - alert: Templated
        expr: rate(errors_total[5m]) > 0.95
        labels:
          severity: '{{ if gt $value 0.97 }}page{{ else }}ticket{{ end }}'
"""


def write_export(path: Path, n_series: int, days: float, step: float = 15.0) -> int:
    import pandas as pd

    rng = np.random.default_rng(3)
    n = int(days * 86400 / step)
    ts = 1_704_067_200.0 + step * np.arange(n)
    frames = []
    for i in range(n_series):
        inc = rng.uniform(0, 1, n) * step
        frames.append(pd.DataFrame({"timestamp": ts, "__name__": "errors_total", "job": f"j{i % 10}",
                                    "instance": f"i{i}", "value": np.cumsum(inc)}))
    frame = pd.concat(frames, ignore_index=True)
    frame.to_parquet(path, index=False)
    return len(frame)


# A wrapper process runs the command and reports its child's peak RSS and CPU time (RUSAGE_CHILDREN of
# the wrapper holds only that one child).
_WRAPPER = ("import resource, subprocess, sys\n"
            "p = subprocess.run([sys.executable, '-m', 'opsctl', 'rules', 'backtest', sys.argv[1], '--data',"
            " sys.argv[2], '--format', 'json'], stdout=subprocess.PIPE)\n"
            "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "sys.stdout.write(f'{len(p.stdout)} {p.returncode} {r.ru_maxrss} {r.ru_utime + r.ru_stime}')\n")


def run_period(days: float, n_series: int = 100) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "export.parquet"
        samples = write_export(data, n_series, days)
        rules = Path(d) / "rules.yml"
        rules.write_text(RULES)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, str(rules), str(data)], capture_output=True,
                              text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=3600)
        secs = time.perf_counter() - t
    if proc.returncode != 0 or len(proc.stdout.split()) != 4:
        raise RuntimeError(f"backtest failed: {proc.stderr[-2000:]}")
    out_bytes, code, maxrss, cpu = proc.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"backtest failed ({code}): {proc.stderr[-2000:]}")
    peak_mb = int(maxrss) / 1024  # ru_maxrss is in KiB on Linux
    return {"days": days, "series": n_series, "samples": samples, "step_seconds": 15,
            "peak_rss_mb": round(peak_mb, 1), "cpu_seconds": round(float(cpu), 2), "seconds": round(secs, 2),
            "output_bytes": int(out_bytes)}


def main() -> dict[str, object]:
    periods = [float(x) for x in os.environ.get("OPSCTL_BENCH_BACKTEST_DAYS", "1,7,14,28").split(",") if x.strip()]
    runs = [run_period(days) for days in periods]
    peaks = [float(str(r["peak_rss_mb"])) for r in runs]
    ratio = max(peaks) / min(peaks)
    return {
        "runs": runs,
        "target_mb": TARGET_MB,
        "flat_ratio_target": FLAT_RATIO,
        "max_peak_rss_mb": max(peaks),
        "flat_ratio": round(ratio, 3),
        "within_target": max(peaks) < TARGET_MB and ratio <= FLAT_RATIO,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
