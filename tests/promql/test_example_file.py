"""The shipped promqltest example (run by `make demo`) passes with 2.42 and with the default 3.x
semantics: it must not depend on a sample sitting on a range's left edge, where the two differ."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, run_opsctl


@pytest.mark.parametrize("version", [None, "2.42"])
def test_example_promqltest_passes(version: str | None) -> None:
    args = ["rules", "promqltest", str(ROOT / "examples" / "promql")]
    if version:
        args += ["--prometheus-version", version]
    proc = run_opsctl(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
