"""Fixture oracle: `opsctl alertmanager check` verdict == `amtool check-config` verdict on every fixture."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsctl.alertmanager.check import check_file
from tests.conftest import find_tool, shared_data_dir

FIXTURES = Path(__file__).parent / "fixtures"
OWN = sorted(FIXTURES.glob("*.yml"))

AM025 = (0, 25)  # amtool/alertmanager 0.25 are the oracle here


def _shared() -> list[Path]:
    base = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "alertmanager"
    return sorted((base / "config-testdata").glob("*.yml")) + ([base / "simple.yml"] if base.is_dir() else [])


def _amtool_ok(path: Path) -> bool:
    amtool = find_tool("amtool")
    r = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    return r.returncode == 0


def test_enough_fixtures() -> None:
    assert len(OWN) >= 40
    assert any(p.name.startswith("valid-") for p in OWN) and any(p.name.startswith("invalid-") for p in OWN)


@pytest.mark.oracle
@pytest.mark.parametrize("path", OWN, ids=[p.name for p in OWN])
def test_own_fixture_matches_amtool(path: Path) -> None:
    expected = _amtool_ok(path)
    # the fixture's name states the verdict, so a change of amtool's mind is noticed too
    assert expected == path.name.startswith("valid-"), f"amtool verdict changed for {path.name}"
    res = check_file(path, version=AM025)
    assert res.ok == expected, [str(e) for e in res.errors]
    for e in res.errors:
        assert e.line > 0, f"error without a line: {e}"


@pytest.mark.oracle
def test_shared_fixtures_match_amtool() -> None:
    shared_data_dir()
    files = _shared()
    assert len(files) >= 20
    mismatches = []
    for path in files:
        expected = _amtool_ok(path)
        res = check_file(path, version=AM025)
        if res.ok != expected:
            mismatches.append((path.name, expected, [str(e) for e in res.errors]))
    assert not mismatches
