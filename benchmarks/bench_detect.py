"""Throughput of every anomaly detector on 1,000,000 points, and the NAB scores (benchmarks/nab.py).

Target: all detectors together score 1,000,000 points in under 2 s of CPU (issue 13);
`margin_cpu_seconds` is what is left of it, the room for a slower or busier machine. The NAB part's
headline is the held-out (leave-one-category-out) score of the procedure that chooses the default (`nab_headline`).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from opsctl.detect.registry import ANOMALY_DETECTORS, make_anomaly_detector

N = 1_000_000


def throughput(n: int = N, repeat: int = 3) -> dict[str, object]:
    rng = np.random.default_rng(0)
    ts = np.arange(n, dtype=np.float64) * 60.0
    vs = 100 + 10 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 2, n)
    vs[rng.integers(0, n, 50)] += 40
    per: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for det_id in ANOMALY_DETECTORS:
        det = make_anomaly_detector(det_id, {})
        best = best_cpu = float("inf")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            det.score(ts, vs)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        per[det_id] = round(best, 4)
        cpu[det_id] = round(best_cpu, 4)
    total = sum(per.values())
    total_cpu = sum(cpu.values())
    # the target is CPU time (issue 13: "under 2 s of CPU"); wall time mostly measures the neighbours
    # on a shared machine, so it is reported but not judged
    return {"points": n, "seconds_per_detector": per, "seconds_all_detectors": round(total, 4),
            "cpu_seconds_per_detector": cpu, "cpu_seconds_all_detectors": round(total_cpu, 4),
            "points_per_second_all": round(n / total), "target_cpu_seconds": 2.0,
            "meets_target": total_cpu < 2.0, "margin_cpu_seconds": round(2.0 - total_cpu, 4),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def headline(res: dict[str, Any]) -> dict[str, Any]:
    """The figures to quote: held-out (leave one category out) scores of the procedure that chooses the
    default configuration; the default's own scores on these files are in-sample, given for reference."""
    cv = res.get("cross_validation") or {}
    d = res["detectors"]["default"]
    return {
        "held_out_at_alert_score": cv.get("pooled_at_alert_score"),
        "held_out_nab_thresholds": cv.get("pooled_nab_thresholds"),
        "default_config": d["config"],
        "in_sample_at_alert_score": d["at_alert_score"],
        "in_sample_nab_thresholds": {p: d[p] for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")},
        "held_out_threshold_curve": cv.get("pooled_threshold_curve"),
        "in_sample_threshold_curve": d["threshold_curve"],
    }


def main() -> dict[str, object]:
    out: dict[str, object] = {"throughput": throughput()}
    try:
        from benchmarks import nab

        if (nab.DEFAULT_DATA / "combined_windows.json").exists():
            t0 = time.perf_counter()
            res = nab.evaluate()
            out["nab_seconds"] = round(time.perf_counter() - t0, 2)
            out["nab_headline"] = headline(res)
            out["nab"] = res
        else:
            out["nab"] = "NAB data not found"
    except Exception as exc:  # the throughput figures stand on their own
        out["nab_error"] = f"{type(exc).__name__}: {exc}"
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
