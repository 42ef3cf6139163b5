"""`--textfile PATH`: Prometheus text-format metrics about a run, for node_exporter's textfile collector.

Written atomically (temporary file in the same directory, then rename) so the collector never reads
half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(report: dict[str, Any]) -> str:
    c = report["counts"]
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{lab}}} {value:.17g}" if lab else f"{name} {value:.17g}")

    metric("opsctl_detect_last_run_timestamp_seconds", "gauge", "Unix time the last run finished.",
           [({}, report["finished_unix"])])
    metric("opsctl_detect_run_duration_seconds", "gauge", "Wall time of the last run.",
           [({}, report["duration_seconds"])])
    metric("opsctl_detect_run_success", "gauge", "1 if the last run found nothing failing.",
           [({}, 1.0 if report["exit_code"] == 0 else 0.0)])
    metric("opsctl_detect_checks", "gauge", "Results produced by the detectors in the last run.", [({}, c["checks"])])
    metric("opsctl_detect_check_failures", "gauge", "Results that were not ok in the last run.", [({}, c["failures"])])
    metric("opsctl_detect_detector_errors", "gauge", "Detectors that could not run.", [({}, c["errors"])])
    metric("opsctl_detect_alerts_sent", "gauge", "Notifications queued for receivers in the last run.",
           [({}, c["notifications"])])
    metric("opsctl_detect_alerts_deduplicated", "gauge", "Repeated firing alerts not re-notified.",
           [({}, c["deduplicated"])])
    metric("opsctl_detect_alerts_suppressed", "gauge", "Alerts held back (severity, suppression, maintenance).",
           [({}, c["suppressed"])])
    metric("opsctl_detect_deliveries", "gauge", "Delivery outcomes in the last run.",
           [({"result": "ok"}, c["delivered"]), ({"result": "failed"}, c["delivery_failures"])])
    metric("opsctl_detect_spool_pending", "gauge", "Notifications waiting in the spool.", [({}, c["spool_pending"])])
    metric("opsctl_detect_detector_duration_seconds", "gauge", "Time each detector took.",
           [({"detector": name}, sec) for name, sec in sorted(report["durations"].items())])
    metric("opsctl_detect_detector_ok", "gauge", "1 if all results of the detector were ok.",
           [({"detector": name}, 1.0 if ok else 0.0) for name, ok in sorted(report["detector_ok"].items())])
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, report: dict[str, Any]) -> None:
    text = render(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".opsctl-detect-", suffix=".prom.tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
