"""Oracle: on every rule-file fixture, opsctl's error/no-error verdict equals `promtool check rules`.

The fixtures under tests/rules/fixtures/{valid,invalid}/ are sorted by promtool's verdict, and the rule
files of Prometheus's own promtool test data are added. opsctl runs with the installed promtool's version
(2.42) as its target, so fields and functions newer than that count as errors, as promtool says.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opsctl.rules.checks import REGISTRY
from opsctl.rules.loader import LoadOptions, parse_rule_file
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool, shared_data_dir

FIXTURES = Path(__file__).parent / "fixtures"
PROMTOOL_VERSION = PromVersion(2, 42)


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("valid/*.yml")) + sorted(FIXTURES.glob("invalid/*.yml"))


def shared_rule_files() -> list[Path]:
    root = shared_data_dir() / "prometheus" / "promtool-testdata-v2.42"
    # rule files only: the unit-test files there are a different format (opsctl rules test reads them)
    return [p for p in sorted(root.glob("*.yml")) if "tests:" not in p.read_text()]


def opsctl_rejects(path: Path) -> bool:
    rf = parse_rule_file(path, LoadOptions(prometheus_version=PROMTOOL_VERSION))
    return any(p.severity.name == "error" and REGISTRY[p.check].scope == "structural" for p in rf.problems)


def promtool_rejects(promtool: str, path: Path) -> bool:
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    return proc.returncode != 0


def test_fixture_folders_agree_with_promtool() -> None:
    promtool = find_tool("promtool")
    files = fixture_files()
    assert len(files) >= 90
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda p: promtool_rejects(promtool, p), files))
    wrong = [str(p) for p, rejected in zip(files, verdicts, strict=True)
             if rejected != (p.parent.name == "invalid")]
    assert not wrong, f"fixture in the wrong folder per promtool: {wrong}"


@pytest.mark.oracle
def test_same_verdict_as_promtool() -> None:
    promtool = find_tool("promtool")
    files = fixture_files() + shared_rule_files()
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda p: promtool_rejects(promtool, p), files))
    mismatches = []
    for path, prom in zip(files, expected, strict=True):
        ours = opsctl_rejects(path)
        if ours != prom:
            mismatches.append(f"{path.name}: promtool {'rejects' if prom else 'accepts'}, "
                              f"opsctl {'rejects' if ours else 'accepts'}")
    assert not mismatches, "\n".join(mismatches)


def test_invalid_fixtures_errors_carry_positions() -> None:
    for path in sorted(FIXTURES.glob("invalid/*.yml")):
        rf = parse_rule_file(path, LoadOptions(prometheus_version=PROMTOOL_VERSION))
        errors = [p for p in rf.problems if p.severity.name == "error"]
        assert errors, path
        for e in errors:
            assert e.file == str(path)
            if path.name not in ("top_scalar.yml",):
                assert e.line >= 1, (path.name, e)


@pytest.mark.oracle
def test_same_verdict_as_promtool_3_16() -> None:
    """The newest anchor: promtool 3.16 (built by .ci/oracles.sh) against opsctl with target 3.16."""
    promtool = find_tool("promtool-3.16")
    files = fixture_files() + shared_rule_files()
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda p: promtool_rejects(promtool, p), files))
    mismatches = []
    for path, prom in zip(files, expected, strict=True):
        rf = parse_rule_file(path, LoadOptions(prometheus_version=PromVersion(3, 16), features=frozenset()))
        ours = any(p.severity.name == "error" and REGISTRY[p.check].scope == "structural" for p in rf.problems)
        if ours != prom:
            mismatches.append(f"{path.name}: promtool 3.16 {'rejects' if prom else 'accepts'}, "
                              f"opsctl {'rejects' if ours else 'accepts'}")
    assert not mismatches, "\n".join(mismatches)
