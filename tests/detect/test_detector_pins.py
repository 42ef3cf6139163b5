"""Every anomaly detector's output is pinned: speed work (vectorising, fewer copies) must not change it.

For a few fixed series (daily season, spikes, a level shift, a ramp, NaN/Inf, a flat stretch, a glitch,
an irregular clock), each output array of each detector is reduced to a fingerprint: its NaN mask and
kind array hashed exactly, its finite values projected on 48 fixed random vectors. The fingerprints are
in data/detector_pins.json; any change of a value by more than about 1e-12 (relative) moves a
projection beyond the tolerance. Regenerate, only for an intended change of behaviour, with
`python -m tests.detect.test_detector_pins` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsctl.detect.registry import ANOMALY_DETECTORS, make_anomaly_detector

PINS = Path(__file__).parent / "data" / "detector_pins.json"
PROJECTIONS = 48


def pin_series() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1234)
    n = 288 * 12
    ts = np.arange(n, dtype=np.float64) * 300.0
    day = (ts % 86400) / 86400
    vs = 50 + 20 * np.sin(2 * np.pi * day) + rng.normal(0, 1.5, n)
    vs[900] += 25
    vs[1400:1403] -= 18
    vs[2000:] += 9  # level shift
    vs[2600:2900] += np.arange(300) * 0.15  # ramp
    vs[3100:3180] = 61.0  # flat
    vs[1200] = np.nan
    vs[1700] = np.inf
    vs[500] = 1e9  # glitch
    out = {"season": (ts, vs)}
    ts2 = np.cumsum(rng.uniform(30.0, 90.0, 1500))
    vs2 = np.abs(rng.standard_t(3, 1500)) * 10
    vs2[1000:1100] *= 4
    out["irregular"] = (ts2, vs2)
    counts = rng.poisson(3.0, 2500).astype(np.float64)
    counts[:300] = 0.0
    counts[1800] = 60
    out["counts"] = (np.arange(2500, dtype=np.float64) * 60.0, counts)
    return out


def _vectors(n: int) -> np.ndarray:
    return np.random.default_rng(99).normal(0, 1, (PROJECTIONS, n))


def fingerprint(a: np.ndarray) -> dict[str, Any]:
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return {"sha256": hashlib.sha256(np.ascontiguousarray(a, dtype=np.int64).tobytes()).hexdigest()}
    finite = np.isfinite(a)
    vals = np.where(finite, a, 0.0)
    return {"mask": hashlib.sha256(np.packbits(finite).tobytes()).hexdigest(),
            "proj": [float(x) for x in _vectors(a.shape[0]) @ vals],
            "norm": float(np.sqrt(np.sum(vals * vals)))}


def fingerprints() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (ts, vs) in pin_series().items():
        for det_id in sorted(ANOMALY_DETECTORS):
            f = make_anomaly_detector(det_id, {}).score(ts, vs)
            out[f"{name}/{det_id}"] = {k: fingerprint(getattr(f, k))
                                       for k in ("score", "kind", "baseline", "confidence")}
    return out


@pytest.mark.parametrize("det_id", sorted(ANOMALY_DETECTORS))
def test_detector_outputs_are_pinned(det_id: str) -> None:
    want = json.loads(PINS.read_text())
    got = fingerprints()
    for key in (k for k in want if k.endswith("/" + det_id)):
        for arr, fp in want[key].items():
            g = got[key][arr]
            where = f"{key} {arr}"
            if "sha256" in fp:
                assert g["sha256"] == fp["sha256"], where
                continue
            assert g["mask"] == fp["mask"], where + ": finite/NaN pattern changed"
            tol = 1e-11 * max(fp["norm"], 1.0)  # |v.d| <= |v| |d|, |v| about sqrt(n): loose but tight enough
            np.testing.assert_allclose(g["proj"], fp["proj"], rtol=0, atol=tol, err_msg=where)


if __name__ == "__main__":
    PINS.write_text(json.dumps(fingerprints(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {PINS.name}")
