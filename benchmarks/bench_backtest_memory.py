"""`opsctl rules backtest` peak memory: one week at 15 s of 100 series (4 M samples) must stay bounded.

The export (long-format Parquet) and a rule file (1 recording rule, 4 alerting rules incl. a templated
label and keep_firing_for) are generated into a temporary directory; the command runs in a subprocess
and its peak resident set size (ru_maxrss of the child) is measured, together with the wall time.
Target: peak RSS below TARGET_MB whatever the period (backtest evaluates by time chunks). Set
OPSCTL_BENCH_BACKTEST_DAYS to try other periods (default 7).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_MB = 300
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


def main() -> dict[str, object]:
    days = float(os.environ.get("OPSCTL_BENCH_BACKTEST_DAYS", "7"))
    n_series = 100
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "export.parquet"
        samples = write_export(data, n_series, days)
        rules = Path(d) / "rules.yml"
        rules.write_text(RULES)
        # A wrapper process runs the command and reports its child's peak RSS (RUSAGE_CHILDREN of the
        # wrapper holds only that one child).
        script = ("import resource, subprocess, sys\n"
                  "p = subprocess.run([sys.executable, '-m', 'opsctl', 'rules', 'backtest', sys.argv[1], '--data',"
                  " sys.argv[2], '--format', 'json'], stdout=subprocess.PIPE)\n"
                  "sys.stdout.write(str(len(p.stdout)) + ' ' + str(p.returncode) + ' '"
                  " + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n")
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", script, str(rules), str(data)], capture_output=True, text=True,
                              env={**os.environ, "NO_COLOR": "1"}, timeout=3600)
        secs = time.perf_counter() - t
    out_bytes, code, maxrss = (int(x) for x in proc.stdout.split())
    if proc.returncode != 0 or code != 0:
        raise RuntimeError(f"backtest failed ({code}): {proc.stderr[-2000:]}")
    peak_mb = maxrss / 1024  # ru_maxrss is in KiB on Linux
    return {
        "series": n_series, "days": days, "samples": samples, "step_seconds": 15,
        "peak_rss_mb": round(peak_mb, 1), "target_mb": TARGET_MB, "within_target": peak_mb < TARGET_MB,
        "seconds": round(secs, 2), "output_bytes": out_bytes,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
