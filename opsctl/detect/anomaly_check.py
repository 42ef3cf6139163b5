"""Runs an anomaly detector from the registry over the series of a source and turns the newest points
into results: one per series, failing when the best of the last `lookback` points scores at least
`alert_score` with at least `min_confidence`; severity is raised to critical at `critical_score`."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from opsctl.detect.anomaly.base import ANOMALY_TYPES
from opsctl.detect.config import DetectorConfig
from opsctl.detect.registry import make_anomaly_detector
from opsctl.detect.result import CheckResult, make_fingerprint
from opsctl.detect.sources import SourceError, Sources


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.6g}"


def run_anomaly(d: DetectorConfig, sources: Sources, now: datetime) -> list[CheckResult]:
    assert d.source is not None
    det = make_anomaly_detector(d.kind, d.params)
    series = sources.series(d.source, d.query, d.match, d.range, d.step, now.timestamp())
    series = [s for s in series if len(s) > 0]
    if not series:
        raise SourceError("no data: the source returned no series")
    out = []
    for s in series:
        with np.errstate(all="ignore"):  # values near +-1e308 overflow sums: those points score 1, silently
            frame = det.score(s.timestamps, s.values)
        n = len(s)
        lo = max(0, n - d.lookback)
        tail = frame.score[lo:]
        i = lo + int(np.argmax(tail))
        pt = frame.point(i)
        labels = {**s.labels, **d.labels}
        shown = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        when = datetime.fromtimestamp(float(s.timestamps[i]), UTC).isoformat()
        extras = {**pt, "timestamp": when, "detector_kind": d.kind, "series": s.labels}
        fired = pt["score"] >= d.alert_score and pt["confidence"] >= d.min_confidence
        severity = d.severity
        if fired and d.critical_score is not None and pt["score"] >= d.critical_score:
            severity = "critical"
        kind = pt["type"] if fired and pt["type"] != ANOMALY_TYPES[0] else "normal"
        msg = (f"{kind} in {{{shown}}} at {when}: observed {_fmt(pt['observed'])}, baseline "
               f"{_fmt(pt['baseline'])} (score {pt['score']:.2f}, confidence {pt['confidence']:.2f})")
        out.append(CheckResult(not fired, severity, msg, make_fingerprint(d.name, labels), extras, d.name, labels))
    return out
