"""Start-up: `opsctl --version`, `--help` and the on-call lookup import only what they use.

Timings live in benchmarks/bench_startup.py (`make bench`); here we check the cause of slowness, the
modules imported, which is deterministic.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "matplotlib", "pyarrow")


def imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Top-level modules imported by `python -m opsctl ARGS` (from -X importtime), and the result."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "opsctl", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names, proc


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("-h",), ()])
def test_root_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    names, proc = imported(*args)
    assert "opsctl" in names  # the parse works: it would pass vacuously otherwise
    assert proc.returncode in (0, 2), proc.stderr[-2000:]
    heavy = sorted(n for n in HEAVY if n in names)
    assert not heavy, f"opsctl {' '.join(args)} imports {heavy}"
    # the command groups are not loaded either (each may import pydantic, jinja2, httpx...)
    assert "pydantic" not in names and "jinja2" not in names and "httpx" not in names


def test_version_imports_no_group_and_no_rich_console() -> None:
    _names, proc = imported("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("opsctl ")
    full = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            full.add(line.rsplit("|", 1)[1].strip())
    assert not [m for m in full if m.startswith("opsctl.cli.") and m not in ("opsctl.cli.main", "opsctl.cli.output")]
    assert "rich.console" not in full


def test_rules_validate_imports_no_dataframe_library(tmp_path) -> None:
    f = tmp_path / "one.yml"
    f.write_text("groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n")
    names, proc = imported("rules", "validate", str(f))
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert not [n for n in HEAVY if n in names]


def test_root_help_lists_every_group_without_loading_it() -> None:
    from opsctl.cli.main import GROUPS

    _names, proc = imported("--help")
    assert proc.returncode == 0
    for group, (_module, _attr, summary) in GROUPS.items():
        assert group in proc.stdout
        assert summary.split()[0] in proc.stdout


def test_group_summaries_match_the_groups_own_help() -> None:
    import importlib

    from opsctl.cli.main import GROUPS

    for group, (module, attr, summary) in GROUPS.items():
        assert getattr(importlib.import_module(module), attr).info.help == summary, group
