"""Bad paths, permissions, encodings and nesting: one line naming the file, exit 2, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLO = str(ROOT / "examples" / "slo" / "checkout.yml")
DETECT = str(ROOT / "examples" / "detect" / "detectors.yaml")
SCHEDULE = str(ROOT / "examples" / "oncall" / "primary.yaml")


def one_line_error(proc: Any, names: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    assert names in line, line
    assert "Traceback" not in proc.stderr and "Errno" not in line and ".tmp" not in line, line
    return line


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    f = tmp_path / "plain-file"
    f.write_text("x")
    return f


@pytest.fixture
def deep_json(tmp_path: Path) -> Path:
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000 + "]" * 100_000)
    return f


def test_output_under_a_file(run_cli: Any, a_file: Path) -> None:
    target = a_file / "rules.yml"
    line = one_line_error(run_cli("slo", "generate", SLO, "-o", str(target)), str(target))
    assert "not a directory" in line


def test_output_in_a_missing_directory(run_cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "rules.yml"
    line = one_line_error(run_cli("slo", "generate", SLO, "-o", str(target)), str(target))
    assert "no such file" in line


def test_output_is_a_directory(run_cli: Any, tmp_path: Path) -> None:
    line = one_line_error(run_cli("slo", "generate", SLO, "-o", str(tmp_path)), str(tmp_path))
    assert "directory" in line


def test_ical_output_under_a_file(run_cli: Any, a_file: Path) -> None:
    target = a_file / "x.ics"
    one_line_error(run_cli("oncall", "export-ical", "--schedule", SCHEDULE, "-o", str(target)), str(target))


def test_state_under_a_file(run_cli: Any, a_file: Path) -> None:
    one_line_error(run_cli("detect", "run", "-c", DETECT, "--state", str(a_file / "state.db")), str(a_file))


def test_textfile_is_a_directory(run_cli: Any, tmp_path: Path) -> None:
    textdir = tmp_path / "metrics"
    textdir.mkdir()
    proc = run_cli("detect", "run", "-c", DETECT, "--state", str(tmp_path / "s.db"), "--textfile", str(textdir))
    one_line_error(proc, str(textdir))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_in_a_read_only_directory(run_cli: Any, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = one_line_error(run_cli("slo", "generate", SLO, "-o", str(ro / "x.yml")), str(ro / "x.yml"))
        assert "permission denied" in line
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_input(run_cli: Any, tmp_path: Path) -> None:
    f = tmp_path / "alerts.json"
    f.write_text("[]")
    f.chmod(0)
    try:
        one_line_error(run_cli("slo", "report", SLO, "--data", str(f)), str(f))
    finally:
        f.chmod(0o644)


def test_missing_input(run_cli: Any, tmp_path: Path) -> None:
    one_line_error(run_cli("rules", "validate", str(tmp_path / "nope.yml")), "nope.yml")
    one_line_error(run_cli("slo", "report", str(tmp_path / "nope.yml"), "--data", "x.csv"), "nope.yml")


def test_deeply_nested_json_export(run_cli: Any, deep_json: Path) -> None:
    line = one_line_error(run_cli("slo", "report", SLO, "--data", str(deep_json)), str(deep_json))
    assert "nested too deeply" in line
    line = one_line_error(run_cli("detect", "score", str(deep_json)), str(deep_json))
    assert "nested too deeply" in line


def test_deeply_nested_json_history(run_cli: Any, deep_json: Path) -> None:
    policy = str(ROOT / "examples" / "oncall" / "policy.yaml")
    proc = run_cli("drill", "run", "--schedule", SCHEDULE, "--policy", policy, "--history", str(deep_json))
    one_line_error(proc, str(deep_json))


def test_non_utf8_inputs(run_cli: Any, tmp_path: Path) -> None:
    csv = tmp_path / "latin1.csv"
    csv.write_bytes(b"timestamp,value\n1,\xff\n")
    line = one_line_error(run_cli("detect", "score", str(csv)), str(csv))
    assert "UTF-8" in line
    js = tmp_path / "latin1.json"
    js.write_bytes(b'[{"labels": {"alertname": "\xff"}}]')
    policy = str(ROOT / "examples" / "oncall" / "policy.yaml")
    proc = run_cli("drill", "run", "--schedule", SCHEDULE, "--policy", policy, "--history", str(js))
    assert "UTF-8" in one_line_error(proc, str(js))


def test_describe_io_error_names_the_target_not_the_temporary_file() -> None:
    from opsctl.cli.main import describe_io_error

    exc = IsADirectoryError(21, "Is a directory", "/x/.out.yml.tmp-123", None, "/x/out.yml")
    assert describe_io_error(exc) == "/x/out.yml: is a directory"
    exc = FileNotFoundError(2, "No such file or directory", "/x/.out.yml.tmp-123")
    assert describe_io_error(exc) == "/x/out.yml: no such file or directory"


def test_culprit_found_for_decode_errors(tmp_path: Path) -> None:
    from opsctl.cli.main import describe_io_error

    f = tmp_path / "in.txt"
    f.write_bytes(b"\xff")

    def read(path: Path) -> str:
        return path.read_bytes().decode()

    try:
        read(f)
    except UnicodeDecodeError as exc:
        assert describe_io_error(exc) == f"{f}: not UTF-8 text (byte 0); save the file as UTF-8"
    else:
        pytest.fail("no error")


@pytest.mark.parametrize(("args", "expected"), [
    (["rules", "validate", "--nope"],
     "error: opsctl rules validate: No such option: --nope (see opsctl rules validate -h)"),
    (["oncall", "who"], "error: opsctl oncall who: Missing option '--schedule'. (see opsctl oncall who -h)"),
    (["nosuch"], "error: opsctl: No such command 'nosuch'. (see opsctl -h)"),
])
def test_usage_errors_are_one_line(run_cli: Any, args: list[str], expected: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [expected]


def test_bad_choice_is_one_line(run_cli: Any) -> None:
    proc = run_cli("rules", "validate", "--format", "xml", "x.yml")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: opsctl rules validate: Invalid value for '--format'") and "'xml'" in line


def test_os_error_without_a_file_names_its_kind() -> None:
    from opsctl.cli.main import describe_io_error

    assert describe_io_error(ConnectionRefusedError(111, "Connection refused")) == \
        "ConnectionRefusedError: Connection refused"
