"""Rule-file reproducers of `../shared/repro/` that no other test named, with promtool as the oracle.

- `rules/d5-expr-null.yml`: `expr: null` (promtool 2.42 accepts it; Prometheus 3 rejects an empty expression).
- `rules/d6-stripdomain.yml`: the `stripDomain` template function (in Prometheus since 2.36).
- `rules/d7-custom-tag.yml`: a custom YAML tag on `expr` (Go's yaml reads the scalar).
- `promql/at_duration_rules.yml`: `x @ 6m` (2.42 rejects it, 3.x reads it as a duration).

For each file and each promtool version, `opsctl rules validate --fail-on error --prometheus-version V`
must exit as `promtool check rules` does (0 or 1), and name the same line when promtool rejects it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import find_tool, run_opsctl, shared_data_dir

FILES = ["rules/d5-expr-null.yml", "rules/d6-stripdomain.yml", "rules/d7-custom-tag.yml",
         "promql/at_duration_rules.yml"]
VERSIONS = [("promtool", "2.42"), ("promtool-3.16", "3.16")]


def _repro(name: str) -> Path:
    path = shared_data_dir().parent / "repro" / name
    if not path.exists():
        pytest.skip(f"reproducer {name} not present")
    return path


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize(("binary", "version"), VERSIONS)
def test_verdict_equals_promtool(name: str, binary: str, version: str) -> None:
    path = _repro(name)
    promtool = find_tool(binary)
    oracle = subprocess.run([promtool, "check", "rules", path.name], cwd=path.parent,
                            capture_output=True, text=True, timeout=60)
    assert oracle.returncode in (0, 1), oracle.stderr
    mine = run_opsctl("rules", "validate", "--fail-on", "error", "--prometheus-version", version,
                      "--format", "json", str(path))
    assert mine.returncode == oracle.returncode, (name, version, oracle.stdout, oracle.stderr, mine.stdout,
                                                  mine.stderr)
    if oracle.returncode == 1:
        # promtool: `file: LINE:COL: group ...`; opsctl reports an error on the same line
        m = re.search(r":\s*(\d+):\d+: ", oracle.stdout + oracle.stderr)
        if m:
            assert f'"line": {m.group(1)}' in mine.stdout, (oracle.stdout, mine.stdout)


def test_expr_null_differs_between_versions() -> None:
    """The same file: accepted with 2.42, rejected with 3.x (checked against both promtools above)."""
    path = _repro("rules/d5-expr-null.yml")
    assert run_opsctl("rules", "validate", "--fail-on", "error", "--prometheus-version", "2.42",
                      str(path)).returncode == 0
    assert run_opsctl("rules", "validate", "--fail-on", "error", "--prometheus-version", "3.16",
                      str(path)).returncode == 1
