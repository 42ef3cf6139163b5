"""Lint speed: `opsctl rules validate` vs `promtool check rules` on a generated 10,000-rule file (about 3.6 MB).

Both run as command-line programs on the same file, best of five; the result is the ratio
opsctl_seconds / promtool_seconds (target: <= 1.0, all checks on), for the CLI as users run it (worker
processes: one per CPU, `--jobs 0`) and for a single process (`--jobs 1`). Also reports the in-process
library time with jobs=1, which excludes interpreter start-up, and the CPUs the workers could use.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEVERITIES = ["critical", "warning", "info"]


def generate(path: Path, rules: int = 10_000) -> None:
    lines = ["groups:"]
    per_group = 50
    for g in range(rules // per_group):
        lines.append(f"- name: group-{g}")
        lines.append("  interval: 1m")
        lines.append("  rules:")
        for i in range(per_group):
            n = g * per_group + i
            if i % 5 == 0:
                lines += [
                    f"  - record: job:http_requests_{n}:rate5m",
                    f"    expr: sum by (job, instance) (rate(req_{n}_total{{code=~\"5..\"}}[5m]))",
                ]
                continue
            lines += [
                f"  - alert: HighErrorRate{n}",
                f"    expr: sum by (job, instance) (rate(req_{n}_total{{code=~\"5..\"}}[5m]))"
                f" / sum by (job, instance) (rate(req_{n}_total[5m])) > 0.05",
                "    for: 10m",
                "    labels:",
                f"      severity: {SEVERITIES[n % 3]}",
                f"      service: api-{g}",
                "    annotations:",
                f'      summary: "Errors on {{{{ $labels.instance }}}} ({n})"',
                '      description: "{{ $value | humanizePercentage }} of requests failed"',
                f"      runbook_url: https://rb.example.com/{n}",
            ]
    path.write_text("\n".join(lines) + "\n")


REALRULES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "realrules" / "awesome-prometheus-alerts"


def generate_realworld(path: Path, rules: int = 10_000) -> bool:
    """10,000 alerts cycled from awesome-prometheus-alerts (renamed to stay distinct), 100 per group; the
    corpus draws findings under the default policy, so this measures reporting as well as linting."""
    import copy

    import yaml

    if not REALRULES.is_dir():
        return False
    found: list[dict] = []
    for f in sorted(REALRULES.glob("rules/*/*.yml")):
        doc = yaml.safe_load(f.read_text()) or {}
        for g in doc.get("groups") or []:
            found.extend(g.get("rules") or [])
    out = []
    for i in range(rules):
        r = copy.deepcopy(found[i % len(found)])
        r["alert"] = f"{r['alert']}{i}"
        out.append(r)

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    groups = [{"name": f"g{k}", "rules": out[k * 100:(k + 1) * 100]} for k in range(rules // 100)]
    path.write_text(yaml.dump({"groups": groups}, Dumper=_NoAliases, sort_keys=False, width=1000))
    return True


def best_of(cmd: list[str], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> dict:
    from opsctl.parallel import usable_cpus

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules-10k.yml"
        generate(path)
        (Path(tmp) / ".opsctl.yaml").write_text("rules: {}\n")
        size = path.stat().st_size
        opsctl = [sys.executable, "-m", "opsctl", "rules", "validate", str(path), "--format", "json",
                  "--config", str(Path(tmp) / ".opsctl.yaml")]
        result: dict = {"rules": 10_000, "file_bytes": size, "usable_cpus": usable_cpus()}
        result["opsctl_cli_seconds"] = round(best_of(opsctl), 3)
        result["opsctl_cli_jobs1_seconds"] = round(best_of([*opsctl, "--jobs", "1"]), 3)
        from opsctl.rules.config import RulesConfig
        from opsctl.rules.validate import validate

        t = time.perf_counter()
        res = validate([path], RulesConfig(runbooks_dir=None), jobs=1)
        result["opsctl_library_jobs1_seconds"] = round(time.perf_counter() - t, 3)
        result["opsctl_findings"] = len(res.findings)
        promtool = shutil.which("promtool")
        if promtool:
            result["promtool_seconds"] = round(best_of([promtool, "check", "rules", str(path)]), 3)
            result["ratio_opsctl_over_promtool"] = round(result["opsctl_cli_seconds"] / result["promtool_seconds"], 2)
            result["ratio_jobs1_over_promtool"] = round(
                result["opsctl_cli_jobs1_seconds"] / result["promtool_seconds"], 2)
        else:
            result["promtool_seconds"] = None
            result["note"] = "promtool not installed: no ratio"
        real = Path(tmp) / "realworld-10k.yml"
        if generate_realworld(real):
            base = [sys.executable, "-m", "opsctl", "rules", "validate", str(real), "--jobs", "1",
                    "--config", str(Path(tmp) / ".opsctl.yaml")]
            rw: dict = {"rules": 10_000, "file_bytes": real.stat().st_size}
            rw["opsctl_text_jobs1_seconds"] = round(best_of(base, 3), 3)
            rw["opsctl_json_jobs1_seconds"] = round(best_of([*base, "--format", "json"], 3), 3)
            if promtool:
                rw["promtool_seconds"] = round(best_of([promtool, "check", "rules", str(real)], 3), 3)
                rw["ratio_text_jobs1_over_promtool"] = round(
                    rw["opsctl_text_jobs1_seconds"] / rw["promtool_seconds"], 2)
                rw["target"] = "ratio_text_jobs1_over_promtool <= 1.0 (issue 14 point 7)"
            result["realworld"] = rw
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
