"""Benchmark `opsctl slo report` on Parquet exports.

- `report_1m`: a 1,000,000-row Parquet export (request counters, 15 s scrape, 30 days) reported in-process;
  `report_1m_csv`: the same rows as CSV.
- `stream`: a generated Parquet file of 10,000,000 rows (100,000,000 with OPSCTL_BENCH_FULL=1, or
  OPSCTL_BENCH_SLO_ROWS=N; OPSCTL_BENCH_SLO_FILE=PATH reports an existing file written by `generate`, or writes
  it there when missing) reported in a child process; time and the child's peak RSS show that memory is
  bounded by series x intervals, not by rows. Reported: rows, the report's wall and CPU seconds (after the
  imports), the whole child process' wall seconds, peak RSS, the load average while measuring, the targets
  (issue 16: 10M rows in under 10 s with flat memory; peak RSS under 350 MB) and whether they hold.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
SCRAPE = 15
END = 1_767_225_600  # 2026-01-01T00:00:00Z

SPEC = """\
version: "prometheus/v1"
service: "bench"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="bench",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="bench"}[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def generate(path: Path, rows: int, chunk_rows: int = 2_000_000) -> dict[str, float]:
    """Counters for `instances` x {200, 500} series over 30 days, rows ordered by time."""
    samples = 30 * 86400 // SCRAPE
    nseries = max(2, -(-rows // samples) // 2 * 2)
    instances = nseries // 2
    times_per_chunk = max(1, chunk_rows // nseries)
    total_times = -(-rows // nseries)
    start = END - total_times * SCRAPE
    names = pa.array(["http_requests_total"])
    jobs = pa.array(["bench"])
    inst = pa.array([f"10.0.{i // 250}.{i % 250}:8080" for i in range(instances)])
    codes = pa.array(["200", "500"])
    schema = pa.schema([("timestamp", pa.int64()), ("__name__", pa.dictionary(pa.int32(), pa.string())),
                        ("job", pa.dictionary(pa.int32(), pa.string())),
                        ("instance", pa.dictionary(pa.int32(), pa.string())),
                        ("code", pa.dictionary(pa.int32(), pa.string())), ("value", pa.float64())])
    written = 0
    t_idx = 0
    with pq.ParquetWriter(path, schema, compression="snappy") as w:
        while written < rows:
            nt = min(times_per_chunk, total_times - t_idx)
            ti = np.arange(t_idx, t_idx + nt, dtype=np.int64)
            ts = np.repeat(start + ti * SCRAPE, nseries)
            s_inst = np.tile(np.repeat(np.arange(instances, dtype=np.int32), 2), nt)
            s_code = np.tile(np.array([0, 1], dtype=np.int32), instances * nt)
            tt = np.repeat(ti, nseries).astype(np.float64)
            incident = ((tt * SCRAPE) % (7 * 86400) < 3600).astype(np.float64)  # 1 h every week
            ok = tt * 150.0
            err = tt * 0.05 + np.cumsum(np.zeros(1)) + incident * 0.0
            err = np.where(s_code == 1, tt * 0.05 + np.floor(tt * SCRAPE / (7 * 86400)) * 240 * 30 +
                           incident * ((tt * SCRAPE) % (7 * 86400)) / SCRAPE * 30, ok)
            n = min(rows - written, ts.size)
            zeros = np.zeros(n, dtype=np.int32)
            batch = pa.record_batch([
                pa.array(ts[:n]),
                pa.DictionaryArray.from_arrays(pa.array(zeros), names),
                pa.DictionaryArray.from_arrays(pa.array(zeros), jobs),
                pa.DictionaryArray.from_arrays(pa.array(s_inst[:n]), inst),
                pa.DictionaryArray.from_arrays(pa.array(s_code[:n]), codes),
                pa.array(err[:n]),
            ], schema=schema)
            w.write_batch(batch, row_group_size=1_000_000)
            written += n
            t_idx += nt
    return {"rows": written, "series": nseries, "bytes": path.stat().st_size}


TARGET_SECONDS = 10.0  # per 10M rows (issue 16: 10M rows of Parquet in under 10 s)
TARGET_PEAK_RSS_MB = 350.0  # flat: independent of the number of rows

CHILD = """
import json, resource, sys, time
from pathlib import Path
from opsctl.slo.spec import load_spec
from opsctl.slo.report import report_from_export, summary
slos = [s for g in load_spec(sys.argv[1]) for s in g.slos]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, c = time.perf_counter(), cpu()
doc = summary(report_from_export(slos, Path(sys.argv[2])))
s = doc["slos"][0]
seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
hwm = None
try:  # the peak RSS of this process image (ru_maxrss of a child also counts the parent's pages before exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
except OSError:
    pass
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "sli": s["sli"], "total": s["events"]["total"],
                  "bad": s["events"]["bad"], "hwm_kb": hwm}))
"""


def _child(spec: Path, data: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(spec), str(data)], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    process_seconds = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = process_seconds
    kb = out.pop("hwm_kb", None) or max(peak_kb, before)
    out["peak_rss_mb"] = round(kb / 1024, 1)
    return out


def main() -> dict[str, object]:
    from opsctl.slo.report import report_from_export, summary
    from opsctl.slo.spec import loads_spec

    full = os.environ.get("OPSCTL_BENCH_FULL") == "1"
    big_rows = int(os.environ.get("OPSCTL_BENCH_SLO_ROWS", 100_000_000 if full else 10_000_000))
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        spec = d / "spec.yml"
        spec.write_text(SPEC)
        slos = [s for g in loads_spec(SPEC, str(spec)) for s in g.slos]
        small = d / "1m.parquet"
        info = generate(small, 1_000_000)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            doc = summary(report_from_export(slos, small))
            runs.append(time.perf_counter() - t)
        result["report_1m"] = {**info, "seconds_best": round(min(runs), 3), "seconds_all": [round(x, 3) for x in runs],
                               "sli": doc["slos"][0]["sli"]}
        csv_path = d / "1m.csv"
        import pyarrow.csv as pacsv
        table = pq.read_table(small)
        table = table.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
                                      for f in table.schema]))
        pacsv.write_csv(table, csv_path)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            doc = summary(report_from_export(slos, csv_path))
            runs.append(time.perf_counter() - t)
        result["report_1m_csv"] = {"rows": info["rows"], "bytes": csv_path.stat().st_size,
                                   "seconds_best": round(min(runs), 3), "seconds_all": [round(x, 3) for x in runs],
                                   "sli": doc["slos"][0]["sli"]}
        result["stream"] = stream(spec, d, big_rows)
    return result


def stream(spec: Path, tmp: Path, rows: int) -> dict[str, object]:
    """Report a `rows`-row Parquet file in a child process: times, peak RSS, targets and pass/fail."""
    given = os.environ.get("OPSCTL_BENCH_SLO_FILE")
    big = Path(given) if given else tmp / "big.parquet"
    gen_s = None
    if not big.exists():
        t = time.perf_counter()
        generate(big, rows)
        gen_s = round(time.perf_counter() - t, 1)
    binfo = {"rows": pq.ParquetFile(big).metadata.num_rows, "bytes": big.stat().st_size}
    load_before = os.getloadavg()[0]
    child = _child(spec, big)
    load_after = os.getloadavg()[0]
    target_s = TARGET_SECONDS * max(1.0, binfo["rows"] / 10_000_000)
    ok_time = child["seconds"] < target_s
    ok_rss = child["peak_rss_mb"] <= TARGET_PEAK_RSS_MB
    return {**binfo, "generate_seconds": gen_s, "report_seconds": round(child["seconds"], 2),
            "report_cpu_seconds": round(child["cpu_seconds"], 2),
            "process_seconds": round(child["process_seconds"], 2),
            "rows_per_second": round(binfo["rows"] / child["seconds"]),
            "peak_rss_mb": child["peak_rss_mb"], "sli": child["sli"],
            "load_average": [round(load_before, 1), round(load_after, 1)],
            "target": {"report_seconds_under": target_s, "peak_rss_mb_at_most": TARGET_PEAK_RSS_MB},
            "pass": {"time": ok_time, "memory": ok_rss, "all": ok_time and ok_rss}}


def stream_main() -> None:
    """`python -m benchmarks.bench_slo stream [ROWS]`: only the streamed report (the Parquet file comes from
    OPSCTL_BENCH_SLO_FILE when given), printed as JSON."""
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("OPSCTL_BENCH_SLO_ROWS", 10_000_000))
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yml"
        spec.write_text(SPEC)
        print(json.dumps(stream(spec, Path(tmp), rows), indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["stream"]:
        stream_main()
    else:
        print(json.dumps(main(), indent=2))
