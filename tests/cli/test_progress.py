"""Progress bars: drawn on a terminal, never in pipes or with machine-readable output."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from opsctl.cli.progress import progress_bar, wanted

ROOT = Path(__file__).resolve().parents[2]


def tty_env() -> dict[str, str]:
    """The environment of a child whose stderr is a terminal: nothing that turns progress bars off."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "CI", "OPSCTL_NO_PROGRESS")}
    env.update({"OPSCTL_PROGRESS_DELAY": "0", "TERM": "xterm", "COLUMNS": "100"})
    return env


def run_with_tty_stderr(args: list[str], tmp_path: Path) -> tuple[int, str, str]:
    """Run opsctl with stderr on a pseudo-terminal (stdout a pipe); returns (code, stdout, terminal text)."""
    return run_on_tty([sys.executable, "-m", "opsctl", *args], tmp_path)


def run_on_tty(cmd: list[str], cwd: Path, wait: float = 60) -> tuple[int, str, str]:
    """Run `cmd` with stderr on a pseudo-terminal (stdout a pipe); returns (code, stdout, terminal text)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=tty_env(),
                            cwd=cwd)
    os.close(slave)
    # both streams drained as they come: a child whose stdout fills the pipe (64 KiB) waits for it to be read
    # before it ends, and so before the terminal reaches its end
    assert proc.stdout is not None
    chunks: list[bytes] = []
    out_chunks: list[bytes] = []
    open_fds = {master: chunks, proc.stdout.fileno(): out_chunks}
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], wait)
        if not ready:
            break
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                data = b""
            if data:
                open_fds[fd].append(data)
            else:
                del open_fds[fd]
    proc.stdout.close()
    out = b"".join(out_chunks).decode()
    code = proc.wait(timeout=120)
    os.close(master)
    return code, out, b"".join(chunks).decode(errors="replace")


@pytest.fixture
def many_rule_files(tmp_path: Path) -> list[str]:
    names = []
    for i in range(40):
        f = tmp_path / f"r{i}.yml"
        f.write_text(f"groups:\n  - name: g{i}\n    rules:\n      - record: job:up{i}:sum\n        expr: sum(up)\n")
        names.append(str(f))
    return names


def test_bar_on_a_terminal(many_rule_files: list[str], tmp_path: Path) -> None:
    code, out, tty = run_with_tty_stderr(["rules", "validate", *many_rule_files], tmp_path)
    assert code in (0, 1), tty
    assert "validating" in tty
    assert "validating" not in out  # the report on stdout is untouched


def test_no_bar_with_json_even_on_a_terminal(many_rule_files: list[str], tmp_path: Path) -> None:
    code, out, tty = run_with_tty_stderr(["rules", "validate", "--format", "json", *many_rule_files], tmp_path)
    assert code in (0, 1)
    assert "validating" not in tty
    assert out.lstrip().startswith("{")


def test_no_bar_in_a_pipe(many_rule_files: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "OPSCTL_PROGRESS_DELAY": "0", "TERM": "xterm"}
    proc = subprocess.run([sys.executable, "-m", "opsctl", "rules", "validate", *many_rule_files],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode in (0, 1)
    assert "validating" not in proc.stderr and "validating" not in proc.stdout


def test_wanted_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    monkeypatch.delenv("OPSCTL_NO_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wanted()
    assert not wanted(machine_output=True)
    assert not wanted(quiet=True)
    monkeypatch.setenv("TERM", "dumb")
    assert not wanted()


def test_disabled_bar_is_a_no_op() -> None:
    with progress_bar("x", 3, enabled=False) as step:
        step(1)
        step(2)


def test_backtest_bar_on_a_terminal_only(tmp_path: Path) -> None:
    ex = ROOT / "examples" / "backtest"
    args = ["rules", "backtest", str(ex / "rules.yml"), "--data", str(ex / "errors.csv"),
            "--compare", str(ex / "rules-v2.yml")]
    code, out, tty = run_with_tty_stderr(args, tmp_path)
    assert code == 0, tty
    assert "backtest" in tty and "Backtest" in out
    code, _, tty = run_with_tty_stderr([*args, "--format", "json"], tmp_path)
    assert code == 0 and "backtest" not in tty.lower()


def test_slo_report_and_drill_bars_on_a_terminal_only(tmp_path: Path) -> None:
    slo = ["slo", "report", str(ROOT / "examples/slo/checkout.yml"), "--data", str(ROOT / "examples/slo/checkout.csv")]
    code, _, tty = run_with_tty_stderr(slo, tmp_path)
    assert code in (0, 1), tty
    assert "reading checkout.csv" in tty
    code, _, tty = run_with_tty_stderr([*slo, "--format", "json"], tmp_path)
    assert code in (0, 1) and "reading" not in tty
    ex = ROOT / "examples/oncall"
    drill = ["drill", "run", "--schedule", str(ex / "primary.yaml"), "--schedule", str(ex / "secondary.yaml"),
             "--policy", str(ex / "policy.yaml"), "--scenario", str(ex / "scenario.yaml"), "--seed", "7",
             "--no-timeline"]
    code, _, tty = run_with_tty_stderr(drill, tmp_path)
    assert code in (0, 1), tty
    assert "drill" in tty
    code, _out, tty = run_with_tty_stderr([*drill, "--format", "json"], tmp_path)
    assert code in (0, 1) and "drill" not in tty


def test_nab_benchmark_bar_on_a_terminal_only(tmp_path: Path, shared_data: Path) -> None:
    if not (shared_data / "nab" / "combined_windows.json").exists():
        pytest.skip("NAB data not in ../shared/data")
    args = [sys.executable, "-m", "benchmarks.nab", "--data", str(shared_data / "nab"), "--only", "robust_z",
            "--no-cv"]
    code, out, tty = run_on_tty(args, ROOT, wait=120)
    assert code == 0
    assert "NAB detector runs" in tty
    assert "robust_z" in out and "NAB detector runs" not in out
    piped = subprocess.run([*args, "--json"], capture_output=True, text=True, env=tty_env(), cwd=ROOT, timeout=120)
    assert piped.returncode == 0 and "NAB detector runs" not in piped.stderr


def test_validate_progress_adds_up_also_with_workers(tmp_path: Path) -> None:
    """With worker processes the parent reports its share scaled to all workers, capped, then the rest:
    the steps always add up to the number of files, and only the parent reports."""
    from opsctl.parallel import can_fork
    from opsctl.rules.config import RulesConfig
    from opsctl.rules.validate import validate

    rules = "".join(f"      - record: job:metric{i}:sum\n        expr: sum by (job) (metric{i})\n" for i in range(300))
    paths = []
    for k in range(40):
        f = tmp_path / f"r{k}.yml"
        f.write_text(f"groups:\n  - name: g{k}\n    rules:\n{rules}")
        paths.append(str(f))
    assert sum(Path(p).stat().st_size for p in paths) > 2 * 256 * 1024  # enough for two workers
    for jobs in (1, 2):
        calls: list[tuple[int, int]] = []
        result = validate(paths, RulesConfig(), jobs=jobs,
                          progress=lambda n=1, total=None: calls.append((os.getpid(), n)))
        assert sum(n for _, n in calls) == len(paths), (jobs, calls)
        assert {pid for pid, _ in calls} == {os.getpid()}
        assert result.rule_count == 300 * 40
        if jobs == 2 and can_fork():
            assert len(calls) > 1  # the parent reported along the way, not only at the end
