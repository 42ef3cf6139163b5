"""Prometheus 3.16's own promqltest corpus, at the default target (3.16).

The corpus is promql/promqltest/testdata of github.com/prometheus/prometheus v0.316.0; .ci/oracles.sh copies it
beside the oracle binaries (`<oracle cache>/promqltest-3.16`). Missing: skipped locally, failed under CI.

What opsctl does not pass is listed case by case in promqltest_316_known_failures.txt (`file:line  reason`),
and docs/promql.md sums it up. The test fails when a listed case starts passing (shrink the list) as well as
when an unlisted one fails, so the list always says exactly what is left.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opsctl.promql.promqltest import FileResult, run_path, run_text
from opsctl.rules.versions import NEWEST_VERSION
from tests.conftest import ORACLE_BIN, require

KNOWN = Path(__file__).with_name("promqltest_316_known_failures.txt")


def corpus_316() -> Path:
    candidates = [ORACLE_BIN.parent / "promqltest-3.16"]
    promtool = shutil.which("promtool-3.16")
    if promtool:
        candidates.append(Path(promtool).resolve().parent.parent / "promqltest-3.16")
    for c in candidates:
        if (c / "functions.test").is_file():
            return c
    require(False, "Prometheus 3.16's promqltest corpus not found (.ci/oracles.sh copies it into the oracle cache)")
    raise AssertionError  # unreachable


def _known() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in KNOWN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            case, _, reason = line.partition("  ")
            out[case.strip()] = reason.strip()
    return out


@pytest.fixture(scope="module")
def results() -> list[FileResult]:
    return run_path(corpus_316(), v3=True, version=NEWEST_VERSION)


def test_every_failure_is_a_known_gap(results: list[FileResult]) -> None:
    known = _known()
    failing = {f"{Path(fr.path).name}:{c.line}": c for fr in results for c in fr.cases if not c.passed}
    new = sorted(set(failing) - set(known), key=lambda k: (k.split(":")[0], int(k.split(":")[1])))
    assert not new, "cases of the 3.16 corpus that fail and are not listed:\n" + "\n".join(
        f"  {k}: {failing[k].expr}\n    {failing[k].message}" for k in new[:30])
    fixed = sorted(set(known) - set(failing))
    assert not fixed, f"listed as failing but passing now (remove them from {KNOWN.name}): {fixed[:30]}"


def test_the_corpus_is_whole(results: list[FileResult]) -> None:
    total = sum(fr.total for fr in results)
    assert len(results) >= 22 and total >= 2400, (len(results), total)


def test_expect_range_vector() -> None:
    """3.x promqltest's `expect range vector from <start> to <end> step <step>`: an instant query's range
    vector, point i expected at start + i * step (range_queries.test)."""
    base = "load 10s\n  some_metric{env=\"a\"} 1+1x5\n\neval instant at 1m some_metric[1m]\n"
    ok = base + "  expect range vector from 10s to 1m step 10s\n  some_metric{env=\"a\"} 2 3 4 5 6\n"
    assert [c.passed for c in run_text(ok, version=NEWEST_VERSION).cases] == [True]
    shifted = base + "  expect range vector from 0s to 1m step 10s\n  some_metric{env=\"a\"} 2 3 4 5 6\n"
    assert [c.passed for c in run_text(shifted, version=NEWEST_VERSION).cases] == [False]
    wrong = base + "  expect range vector from 10s to 1m step 10s\n  some_metric{env=\"a\"} 2 3 4 5 7\n"
    assert [c.passed for c in run_text(wrong, version=NEWEST_VERSION).cases] == [False]
    without = base + "  some_metric{env=\"a\"} 2 3 4 5 6\n"  # a range vector needs the directive
    assert [c.passed for c in run_text(without, version=NEWEST_VERSION).cases] == [False]


def test_load_expands_across_custom_bounds_from_3_8() -> None:
    """`{{..}}+{{..}}xN` over custom buckets of different bounds (prometheus#17278): from 3.8 the
    increment is added on the common bounds; before, such a load line is an error."""
    text = ("load 1m\n  h {{schema:-53 sum:1 count:2 custom_values:[1 2] buckets:[1 1]}}"
            "+{{schema:-53 sum:1 count:3 custom_values:[1 5] buckets:[1 1 1]}}x2\n\n"
            "eval instant at 2m h\n  h {{schema:-53 count:8 sum:3 custom_values:[1] buckets:[3 5]}}\n")
    assert [c.passed for c in run_text(text, version=NEWEST_VERSION).cases] == [True]
    assert [c.passed for c in run_text(text, v3=True).cases] == [False]  # 3.5
