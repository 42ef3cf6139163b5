"""Oracle: `opsctl rules test` gives the same verdict as `promtool test rules` (Prometheus 2.42).

Corpus: every file of promtool's own testdata (cmd/promtool/testdata at v2.42, in ../shared/data) and the
files under corpus/ (pass_* must pass, fail_* must not). Verdicts are compared per file and, for files
with several test groups, per test group (each group is run alone through promtool from a split copy).
promtool's FAILED covers both failed tests and bad input; opsctl separates them (failed / error), so
both count as "not passed" here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from opsctl.rules.unittest import FileResult
from opsctl.rules.unittest import run_test_file as _run_test_file
from opsctl.rules.versions import PromVersion
from tests.conftest import IN_CI, ROOT, find_tool, shared_data_dir

pytestmark = pytest.mark.oracle

CORPUS = Path(__file__).parent / "corpus"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "backtest"
_RUNS: dict[Path, FileResult] = {}


def run_test_file(path: Path) -> FileResult:
    """opsctl's result for a file with promtool 2.42's semantics (the oracle), computed once per session."""
    if path not in _RUNS:
        _RUNS[path] = _run_test_file(path, PromVersion(2, 42))
    return _RUNS[path]

def _shared_files() -> list[Path]:
    """promtool's own test data; missing locally collects nothing, missing in CI is a collection error."""
    if not IN_CI and not (ROOT.parent / "shared" / "data").is_dir() and "OPSCTL_SHARED_DATA" not in os.environ:
        return []
    return sorted((shared_data_dir() / "prometheus" / "promtool-testdata-v2.42").glob("*.yml"))


def _corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yml"))


def _promtool_run(path: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    tool = find_tool("promtool")
    return subprocess.run([tool, "test", "rules", str(path)], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, "NO_COLOR": "1"})


def _promtool(path: Path, cwd: Path | None = None) -> int:
    return _promtool_run(path, cwd).returncode


def _params() -> list[object]:
    out: list[object] = []
    for p in _shared_files() + _corpus_files() + sorted(EXAMPLES.glob("*_test.yml")):
        out.append(pytest.param(p, id=f"{p.parent.name}/{p.name}"))
    return out


@pytest.mark.parametrize("path", _params())
def test_file_verdict_matches_promtool(path: Path) -> None:
    rc = _promtool(path, cwd=path.parent)
    ours = run_test_file(path)
    assert rc in (0, 1), f"promtool crashed on {path}"
    assert (rc == 0) == (ours.status == "passed"), (
        f"promtool rc={rc}, opsctl status={ours.status}: "
        + "; ".join(f.message for g in ours.groups for f in g.failures)[:2000]
        + (str(ours.error) if ours.error else "")
    )


def test_corpus_names_tell_the_expected_verdict() -> None:
    """The corpus files say what they test: pass_* pass and fail_* fail (in opsctl; promtool checked above)."""
    files = _corpus_files()
    assert len(files) >= 30
    for p in files:
        status = run_test_file(p).status
        assert (status == "passed") == p.name.startswith("pass_"), (p.name, status)


def _split_groups(path: Path, tmp: Path) -> list[Path]:
    doc = yaml.safe_load(path.read_text())
    out = []
    rule_files = [f if os.path.isabs(f) else str(path.parent / f) for f in doc.get("rule_files") or []]
    for i, group in enumerate(doc.get("tests") or []):
        part = {k: v for k, v in doc.items() if k != "tests"}
        part["rule_files"] = rule_files
        part["tests"] = [group]
        p = tmp / f"{path.stem}.group{i}.yml"
        p.write_text(yaml.safe_dump(part, sort_keys=False))
        out.append(p)
    return out


def _multi_group_files() -> list[object]:
    out: list[object] = []
    for p in _shared_files() + _corpus_files():
        try:
            doc = yaml.safe_load(p.read_text())
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("tests"), list) and len(doc["tests"]) > 1:
            out.append(pytest.param(p, id=f"{p.parent.name}/{p.name}"))
    return out


@pytest.mark.parametrize("path", _multi_group_files())
def test_group_verdicts_match_promtool(path: Path, tmp_path: Path) -> None:
    ours = run_test_file(path)
    assert ours.error is None
    parts = _split_groups(path, tmp_path)
    assert len(parts) == len(ours.groups)
    for part, group in zip(parts, ours.groups, strict=True):
        rc = _promtool(part)
        assert (rc == 0) == group.passed, (part.name, rc, [f.message for f in group.failures])


def _message_files() -> list[object]:
    out: list[object] = []
    for p in _corpus_files() + _shared_files():
        if run_test_file(p).status == "failed":
            out.append(pytest.param(p, id=f"{p.parent.name}/{p.name}"))
    return out


def _normalise(line: str) -> str:
    """promtool names the two clashing series of a many-to-many error in a varying order (about 1 run in
    10 here): compare that pair as a set."""
    head, sep, rest = line.partition("operation: [")
    pair, sep2, tail = rest.partition("];many-to-many")
    if not sep or not sep2:
        return line
    items = sorted(pair.replace("}, {", "}\n{").split("\n"))
    return head + sep + ", ".join(items) + sep2 + tail


@pytest.mark.parametrize("path", _message_files())
def test_failure_messages_match_promtool(path: Path) -> None:
    """For failed tests (not bad input), opsctl prints promtool's failure text exactly."""
    proc = _promtool_run(path, cwd=path.parent)
    theirs = [_normalise(line) for line in proc.stderr.splitlines() if line.strip() and line.strip() != "FAILED:"]
    ours_res = run_test_file(path)
    ours = [_normalise(line) for g in ours_res.groups for f in g.failures for line in f.message.splitlines()
            if line.strip()]
    assert ours == theirs
