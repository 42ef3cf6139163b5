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
    assert not [m for m in full if m.startswith("opsctl.cli.")
                and m not in ("opsctl.cli.main", "opsctl.cli.output", "opsctl.cli.typer_fast")]
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


ONE_ALERT = """groups:
  - name: api
    rules:
      - alert: HighErrorRate
        expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))
          > 0.05
        for: 10m
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.job }} error rate above 5%"
          description: "{{ $value | humanizePercentage }} of requests fail"
"""


def test_rules_validate_one_file_loads_only_what_it_uses(tmp_path) -> None:
    """The one-rule lint of benchmarks/bench_startup.py: no pydantic (Typer's coercion layer or the config
    schema), no template parser for plain templates, no rich console for text into a pipe, no data libraries,
    nothing only a live server (ssl, thread pools) or worker processes (pickle) need."""
    f = tmp_path / "one.yml"
    f.write_text(ONE_ALERT)
    cfg = tmp_path / "cfg.yml"
    cfg.write_text("rules:\n  disable: [runbook]\n  coverage: {service_label: team}\n")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "opsctl", "rules", "validate", "--config",
                           str(cfg), str(f)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.rstrip().endswith("OK")
    full = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}
    assert "opsctl.rules.validate" in full  # the lint ran in this process
    loaded = sorted(m for m in full if m.split(".")[0] in (*HEAVY, "pydantic", "pydantic_core")
                    or m in ("opsctl.gotemplate.parser", "opsctl.gotemplate.prometheus", "rich.console",
                             "rich.table", "opsctl.rules.coverage", "opsctl.rules.reporters",
                             "ssl", "statistics", "concurrent.futures", "pickle"))
    assert not loaded, f"rules validate on one file imports {loaded}"


def test_bad_option_values_keep_typers_messages(tmp_path) -> None:
    """Values the fast coercion (opsctl.cli.typer_fast) does not take go to Typer's own, and its words."""
    f = tmp_path / "one.yml"
    f.write_text(ONE_ALERT)
    import importlib.util

    # Typer 0.29 coerces through pydantic (typer._coercion) and words it so; older Typers leave it to click
    not_int = "Input should be a valid integer" if importlib.util.find_spec("typer._coercion") else \
        "is not a valid integer"
    for args, words in ((["--jobs", "x"], not_int), (["--jobs", "-1"], "--jobs"),
                        (["--format", "yaml"], "'yaml' is not one of"), (["--timeout", "soon"], "--timeout")):
        proc = subprocess.run([sys.executable, "-m", "opsctl", "rules", "validate", *args, str(f)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr, (args, proc.stderr)
