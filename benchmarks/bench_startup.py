"""Start-up: opsctl's quick commands against their baselines, measured side by side (issue 11, point 3).

Targets:
- `opsctl --version` and `opsctl --help` <= 1.5x `python -c "import typer, rich, yaml"` (the floor any
  Typer CLI pays);
- `opsctl rules validate one-rule.yml` <= 5x `promtool check rules one-rule.yml`;
- `opsctl oncall who` "likewise fast": reported against the same Python floor.

The JSON says pass/fail per target, and also rules validate against the floor and the floor against
promtool: Python with Typer starts several times slower than a Go binary, so on a loaded machine the floor
alone can take most of the 5x.

Each command runs ROUNDS times, interleaved (so that machine load hits every command alike); the figure
is the best wall time (least disturbed run) and the median. The process's CPU time (user + system) is
reported too: on a shared, loaded machine it is the steadier number. Ratios are best-to-best.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_STARTUP_ROUNDS", "15"))

ONE_RULE = """groups:
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
"""


def _opsctl() -> list[str]:
    exe = Path(sys.executable).with_name("opsctl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "opsctl"]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def measure(commands: dict[str, list[str]], rounds: int = ROUNDS,
            pycache: str | None = None) -> dict[str, dict[str, float]]:
    # As installed: bytecode cached (pip compiles it; PYTHONDONTWRITEBYTECODE in a dev shell would make
    # every run recompile opsctl's own modules), in a private cache directory, not in the source tree.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    if pycache:
        env["PYTHONPYCACHEPREFIX"] = pycache
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    for cmd in commands.values():  # warm the page cache once
        _run(cmd, env)
    for _ in range(rounds):
        for name, cmd in commands.items():
            wall, cpu = _run(cmd, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {name: {"best_ms": round(min(walls[name]) * 1000, 1),
                   "median_ms": round(statistics.median(walls[name]) * 1000, 1),
                   "cpu_best_ms": round(min(cpus[name]) * 1000, 1)} for name in commands}


def main() -> dict[str, object]:
    opsctl = _opsctl()
    with tempfile.TemporaryDirectory() as tmp:
        rule_file = Path(tmp) / "one-rule.yml"
        rule_file.write_text(ONE_RULE)
        ex = ROOT / "examples" / "oncall"
        commands = {
            "python_import_typer_rich_yaml": [sys.executable, "-c", "import typer, rich, yaml"],
            "opsctl_version": [*opsctl, "--version"],
            "opsctl_help": [*opsctl, "--help"],
            "opsctl_oncall_who": [*opsctl, "oncall", "who", "--schedule", str(ex / "primary.yaml"),
                                  "--schedule", str(ex / "secondary.yaml"), "--at", "2026-03-25T20:00:00"],
            "opsctl_rules_validate_one_rule": [*opsctl, "rules", "validate", "--config", str(Path(tmp) / "none.yml"),
                                               str(rule_file)],
        }
        (Path(tmp) / "none.yml").write_text("{}\n")  # the default policy, not this repository's pyproject
        promtool = shutil.which("promtool")
        if promtool:
            commands["promtool_check_rules_one_rule"] = [promtool, "check", "rules", str(rule_file)]
        timings = measure(commands, pycache=str(Path(tmp) / "pycache"))
    base = timings["python_import_typer_rich_yaml"]

    def ratio(name: str, against: dict[str, float], key: str = "best_ms") -> float:
        return round(timings[name][key] / against[key], 2)

    result: dict[str, object] = {
        "rounds": ROUNDS,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "timings": timings,
        "version_vs_python_floor": ratio("opsctl_version", base),
        "help_vs_python_floor": ratio("opsctl_help", base),
        "oncall_who_vs_python_floor": ratio("opsctl_oncall_who", base),
        "targets": {"version_and_help_vs_floor": 1.5, "validate_vs_promtool": 5.0},
    }
    result["pass_version_and_help"] = max(ratio("opsctl_version", base), ratio("opsctl_help", base)) <= 1.5
    # what rules validate adds to the floor (Python + Typer + rich + yaml), and the floor against promtool: the
    # second bounds what any Typer CLI can reach against a Go binary on this machine at this load
    result["validate_vs_python_floor"] = ratio("opsctl_rules_validate_one_rule", base)
    result["validate_vs_python_floor_cpu"] = ratio("opsctl_rules_validate_one_rule", base, "cpu_best_ms")
    if "promtool_check_rules_one_rule" in timings:
        prom = timings["promtool_check_rules_one_rule"]
        result["validate_vs_promtool"] = ratio("opsctl_rules_validate_one_rule", prom)
        result["validate_vs_promtool_cpu"] = ratio("opsctl_rules_validate_one_rule", prom, "cpu_best_ms")
        result["python_floor_vs_promtool"] = ratio("python_import_typer_rich_yaml", prom)
        result["python_floor_vs_promtool_cpu"] = ratio("python_import_typer_rich_yaml", prom, "cpu_best_ms")
        result["pass_validate_vs_promtool"] = ratio("opsctl_rules_validate_one_rule", prom) <= 5.0
    else:
        result["validate_vs_promtool"] = None
        result["pass_validate_vs_promtool"] = None
        result["note"] = "promtool not on PATH: validate ratio not measured"
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
