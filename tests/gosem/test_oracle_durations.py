"""Go durations (time.ParseDuration through opsctl.gosem) in alertmanager.yml: the same verdict and error
text as amtool 0.25 `check-config` (Pushover `retry` is a Go duration there)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsctl.alertmanager.check import check_file
from tests.conftest import find_tool

VALUES = ["5", "5x", "1.5.5s", "1h", ".s", "1.5h", "-1s", "1d", "300ms", "2562047h47m16.854775808s", "1µs", "+.5m"]


def _config(tmp: Path, i: int, value: str) -> Path:
    path = tmp / f"po{i}.yml"
    path.write_text("route:\n  receiver: r\nreceivers:\n- name: r\n  pushover_configs:\n  - user_key: u\n"
                    f"    token: t\n    retry: \"{value}\"\n", encoding="utf-8")
    return path


@pytest.mark.oracle
def test_pushover_retry_same_verdict_and_text_as_amtool(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    for i, value in enumerate(VALUES):
        path = _config(tmp_path, i, value)
        real = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
        ours = check_file(path, version=(0, 25))
        assert (real.returncode == 0) == ours.ok, (value, real.stdout, ours.errors)
        for err in ours.errors:
            assert err.message in real.stdout + real.stderr, (value, err.message, real.stdout)
