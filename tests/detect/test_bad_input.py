"""Bad input that used to get through (issue 13 point 6; reproducers detect/c_*.yaml and e_*.csv, copied to
tests/detect/data/repro): each is now a one-line error naming file:line (exit 2), and `detect validate`
catches what `detect run` would fail on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.data.exports import read_export
from opsctl.detect.config import load_config
from opsctl.detect.registry import MAX_POINTS, ParamsError, make_anomaly_detector
from opsctl.errors import InputError
from tests.conftest import ROOT, run_opsctl
from tests.detect.helpers import cli

REPRO = Path(__file__).parent / "data" / "repro"


@pytest.fixture
def repro(tmp_path: Path) -> Path:
    """The reproducers in d/ with the good export they point at (../good.csv)."""
    d = tmp_path / "d"
    shutil.copytree(REPRO, d)
    shutil.copy(ROOT / "examples" / "detect" / "latency_p99.csv", tmp_path / "good.csv")
    return d


@pytest.mark.parametrize(("name", "line", "col", "words"), [
    ("c_inf_threshold.yaml", 9, 25, "params.threshold: must be a finite number, not inf"),
    ("c_huge_window.yaml", 9, 22, "params.window: 1000000000000000000000 is too large"),
    ("c_short_gt_long.yaml", 9, 5, "short (500) must not exceed long (10)"),
    ("c_crit_lt_alert.yaml", 10, 21, "critical_score (0.2) is below alert_score (0.8)"),
])
def test_repro_configs_are_refused_with_their_place(repro: Path, name: str, line: int, col: int,
                                                    words: str) -> None:
    with pytest.raises(InputError) as exc:
        load_config(repro / name)
    assert (exc.value.line, exc.value.column) == (line, col) and words in exc.value.message
    r = run_opsctl("detect", "validate", "--config", str(repro / name))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and f"{name}:{line}:{col}: " in r.stderr
    r = run_opsctl("detect", "run", "--config", str(repro / name))
    assert r.returncode == 2 and "Traceback" not in r.stderr and not (repro / "st").exists()


@pytest.mark.parametrize(("name", "line", "words"), [
    ("e_bad_ts.csv", 72, "column 'timestamp': not a time: 'not-a-time'"),
    ("e_latin1.csv", 3, "not UTF-8 text (byte 0xe9)"),
    ("e_novalue.csv", 1, "no 'value' column"),
    ("e_header_only.csv", 2, "no samples"),
])
def test_repro_exports_name_file_and_line(repro: Path, name: str, line: int, words: str) -> None:
    r = run_opsctl("detect", "score", str(repro / name))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith(f"error: {repro / name}:{line}") and words in r.stderr and r.stdout == ""
    # and validate finds the same in a config that reads it
    cfg = repro / "uses.yaml"
    cfg.write_text(f"version: 1\nsources:\n  x: {{type: file, path: {name}}}\ndetectors:\n"
                   "  - {name: d, kind: robust_z, source: x}\n")
    with pytest.raises(InputError) as exc:
        cli("validate", "--config", str(cfg))
    assert exc.value.line == line and words in exc.value.message


def test_latin1_column_is_that_of_the_byte(repro: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_export(repro / "e_latin1.csv")
    assert (exc.value.line, exc.value.column) == (3, 12)


def test_values_near_double_max_score_without_numpy_warnings(repro: Path) -> None:
    r = run_opsctl("detect", "score", str(repro / "e_huge.csv"), "--format", "json")
    assert r.returncode == 1 and r.stderr == ""  # found: the two extreme points, nothing on stderr
    assert '"observed": 1e+308' in r.stdout and '"observed": -1e+308' in r.stdout


def test_score_params_are_checked_like_config_params(tmp_path: Path) -> None:
    with pytest.raises(ParamsError) as exc:
        make_anomaly_detector("ewma", {"threshold": float("inf")})
    assert exc.value.field == "threshold"
    with pytest.raises(ParamsError):
        make_anomaly_detector("robust_z", {"window": MAX_POINTS + 1})
    make_anomaly_detector("robust_z", {"window": MAX_POINTS})  # the limit itself is fine


def test_prometheus_range_over_11000_points_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text("version: 1\nsources:\n  p: {type: prometheus, url: 'http://127.0.0.1:1'}\ndetectors:\n"
                 "  - {name: d, kind: ewma, source: p, query: up, range: 30d, step: 1m}\n")
    with pytest.raises(InputError) as exc:
        load_config(p)
    assert "11,000 points" in exc.value.message and exc.value.line == 5
    p.write_text(p.read_text().replace("step: 1m", "step: 5m"))
    load_config(p)
    p.write_text(p.read_text().replace("step: 5m", "step: 0s"))
    with pytest.raises(InputError, match="must be a positive duration"):
        load_config(p)


@settings(max_examples=40, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**25, 10**25)),
       field=st.sampled_from(["threshold", "window", "alpha", "min_periods", "abs_floor"]),
       kind=st.sampled_from(["ewma", "robust_z", "zscore"]))
def test_property_params_either_refused_or_run(value: float, field: str, kind: str) -> None:
    """Any value a user can type is refused at validation or scores a series without an exception."""
    import numpy as np

    try:
        det = make_anomaly_detector(kind, {field: value})
    except (ParamsError, ValueError):  # pydantic's ValidationError is a ValueError
        return
    ts = np.arange(200, dtype=float) * 60
    vs = np.sin(np.arange(200)) + 100
    frame = det.score(ts, vs)
    assert frame.score.shape == (200,) and np.all((frame.score >= 0) & (frame.score <= 1))


def test_validate_finds_a_missing_sqlite_database(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text("version: 1\nsources:\n  db: {type: sql, path: nope.db}\ndetectors:\n"
                 "  - {name: d, kind: sql_check, params: {source: db, query: select 1, threshold: 0}}\n")
    load_config(p)  # the config itself is fine
    with pytest.raises(InputError) as exc:
        cli("validate", "--config", str(p))
    assert "sqlite database not found" in exc.value.message and (exc.value.line, exc.value.column) == (3, 25)
