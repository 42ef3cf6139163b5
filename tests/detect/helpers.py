from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from opsctl.detect.config import load_config
from opsctl.detect.engine import Engine, RunReport

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday


def write_series(path: Path, spike: dict[str, bool]) -> None:
    """One CSV with a series per host; the last point of a host spikes when spike[host]."""
    rng = np.random.default_rng(1)
    lines = ["timestamp,host,value"]
    for host, hot in spike.items():
        vs = 100 + rng.normal(0, 1, 200)
        if hot:
            vs[-1] = 200
        lines += [f"{1700000000 + 60 * i},{host},{v:.4f}" for i, v in enumerate(vs)]
    path.write_text("\n".join(lines) + "\n")


def config(tmp: Path, receivers: str = "", routes: str = "", extra: str = "", detectors: str = "",
           alerting: str = "") -> Path:
    text = f"""
version: 1
state_file: state.db
sources:
  metrics: {{type: file, path: series.csv}}
detectors:
  - name: cpu-outlier
    kind: robust_z
    source: metrics
    severity: warning
    labels: {{team: infra}}
    params: {{window: 60}}
{detectors}
alerting:
  dedup_window: 1h
  delivery: {{attempts: 2, backoff: 0s, timeout: 2s}}
{alerting}
  receivers:
{receivers or "    {}"}
  routes:
{routes or "    []"}
{extra}
"""
    p = tmp / "detectors.yaml"
    p.write_text(text)
    return p


def run(path: Path, now: datetime = T0, dry_run: bool = False, textfile: Path | None = None) -> RunReport:
    lc = load_config(path)
    return Engine(lc, now=now, dry_run=dry_run, sleep=lambda s: None).run(textfile=textfile)


def cli(*args: str) -> tuple[int, str]:
    """Run `opsctl detect ARGS` in-process (faster than a subprocess); returns (exit code, stdout).
    Input errors propagate as InputError (the root command turns them into exit 2; see test_config)."""
    from typer.testing import CliRunner

    from opsctl.cli.detect import app

    res = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout
