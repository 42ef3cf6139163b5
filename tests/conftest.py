"""Shared fixtures.

- `tool(name)`: path of a real Prometheus/Alertmanager binary (promtool, amtool, prometheus,
  prometheus-alertmanager, and the newer promtool-3.16, prometheus-3.16, amtool-0.35, alertmanager-0.35,
  sloth-0.16 that .ci/oracles.sh builds). Missing tools skip locally but FAIL when CI is set, as the guide requires.
- `shared_data`: the `../shared/data` folder beside the project (or $OPSCTL_SHARED_DATA); same policy.
- `run_cli(*args)`: runs `python -m opsctl ...` in a subprocess and returns CompletedProcess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(condition: bool, reason: str) -> None:
    """Skip when something a test needs is missing locally; fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# Newer upstream oracles built by .ci/oracles.sh (promtool-3.16, prometheus-3.16, amtool-0.35,
# alertmanager-0.35, sloth-0.16) live in a cache folder that CI puts on PATH; local runs look there too.
ORACLE_BIN = Path(os.environ.get("OPSCTL_ORACLES") or Path.home() / ".cache" / "opsctl-oracles" / "bin")
NEWER_ORACLES = ("promtool-3.16", "prometheus-3.16", "amtool-0.35", "alertmanager-0.35", "sloth-0.16")


def find_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None and ORACLE_BIN.is_dir():
        path = shutil.which(name, path=str(ORACLE_BIN))
    where = (".ci/oracles.sh builds it (Go module proxy)" if name in NEWER_ORACLES
             else "Debian packages prometheus, prometheus-alertmanager")
    require(path is not None, f"{name} not installed ({where})")
    assert path is not None
    return path


@pytest.fixture
def tool() -> Callable[[str], str]:
    return find_tool


def shared_data_dir() -> Path:
    env = os.environ.get("OPSCTL_SHARED_DATA")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    require(path.is_dir(), f"shared test data not found at {path}")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_data_dir()


def run_opsctl(*args: str, input: str | None = None, env: dict[str, str] | None = None,
               cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "opsctl", *args],
        input=input, capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=timeout,
    )


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_opsctl
