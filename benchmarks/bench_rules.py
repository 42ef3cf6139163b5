"""Lint speed: `opsctl rules validate` vs `promtool check rules` on a generated 10,000-rule file (about 3.6 MB).

Both run as command-line programs on the same file, best of five; the result is the ratio
opsctl_seconds / promtool_seconds (target: <= 1.0, all checks on), for the CLI as users run it (worker
processes: one per CPU, `--jobs 0`) and for a single process (`--jobs 1`). Also reports the in-process
library time with jobs=1, which excludes interpreter start-up, and the CPUs the workers could use.

`realworld`: 10,000 alerts cycled from the public rule packs in shared/data/realrules (about 945 distinct
expressions, so a per-expression parse cache helps); `realworld_distinct`: the same rules with every
copy's metrics renamed, so that no expression repeats (a file assembled from many teams' rules);
`realworld_folded`: that file as PyYAML writes it by default (80 columns: long expressions and annotations
folded into scalars over several lines, which the YAML reader's fast path must take too); `slo_mix`: the
shipped packs with sloth's generated SLO rules, literal block scalars (see generate_slo_mix); `promqltest_mix`:
the expressions of Prometheus's own PromQL tests (see generate_promqltest_mix). All five are
linted in one process (`--jobs 1`), text and json, best of five, against promtool on the same file
(`promtool_accepts`: promtool finds the file valid). Target: ratio_text_jobs1_over_promtool <= 1.0.
opsctl and promtool runs alternate (a change in the machine's load then hits both alike). opsctl's default
target is the newest Prometheus, so the newest promtool (`promtool-3.16`, built by .ci/oracles.sh into the
oracle cache) is timed as well when present: `ratio_text_jobs1_over_promtool_newest`.
"""

from __future__ import annotations

import os
import re
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
    if not REALRULES.is_dir():
        return False
    _write_groups(path, _copies(_realworld_rules(), rules, distinct=False))
    return True


def _copies(found: list[dict], rules: int, distinct: bool) -> list[dict]:
    """`rules` copies cycled from `found`, named apart (copy n: alert `<name><n>`, record `<name>_c<n>`);
    with `distinct`, copy n's expression selects its metrics renamed (_distinct_expr)."""
    import copy

    out = []
    for i in range(rules):
        r = copy.deepcopy(found[i % len(found)])
        if "alert" in r:
            r["alert"] = f"{r['alert']}{i}"
        else:
            r["record"] = f"{r['record']}_c{i}"
        if distinct:
            r["expr"] = _distinct_expr(str(r["expr"]), i)
        out.append(r)
    return out


def _write_groups(path: Path, rules: list[dict], width: int = 1000, literal: bool = False) -> None:
    """`rules` as a rule file, 100 per group, without YAML aliases; `literal` writes multi-line strings as
    literal block scalars (`|`), as Go's YAML writer does, where PyYAML would fold them."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    if literal:
        def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)

        _Dumper.add_representer(str, _str)
    groups = [{"name": f"g{k}", "rules": rules[k * 100:(k + 1) * 100]} for k in range(len(rules) // 100)]
    path.write_text(yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=width))


_IDENT = r"[A-Za-z_:][A-Za-z0-9_:]*"


def _realworld_rules() -> list[dict]:
    import yaml

    found: list[dict] = []
    for f in sorted(REALRULES.glob("rules/*/*.yml")):
        doc = yaml.safe_load(f.read_text()) or {}
        for g in doc.get("groups") or []:
            found.extend(g.get("rules") or [])
    return found


def _distinct_expr(expr: str, n: int) -> str:
    """`expr` with every metric it selects renamed `m<n>_<name>` (suffixes such as `_total` kept, so the
    checks see the same kinds of metrics); an expression that names no metric gets a distinct number."""
    import promql_parser as pp

    from opsctl.promql_syntax import metric_names

    names = metric_names(pp.parse(expr))
    if not names:  # `{__name__=~"..."}` selectors get a `copy` matcher; `vector(1)` becomes `vector(<n>)`
        return expr.replace("{", f'{{copy="{n}",') if "{" in expr else re.sub(r"vector\(1\)", f"vector({n})", expr)
    pattern = re.compile(r"(?<![A-Za-z0-9_:])(" + "|".join(re.escape(x) for x in sorted(names, key=len,
                                                                                        reverse=True))
                         + r")(?![A-Za-z0-9_:])")
    return pattern.sub(lambda m: f"m{n}_{m.group(1)}", expr)


def generate_realworld_distinct(path: Path, rules: int = 10_000, width: int = 1000) -> tuple[int, int] | None:
    """Like generate_realworld, but no expression repeats: copy n of a rule selects metrics renamed
    `m<n>_<name>` (what a file assembled from many teams' rule packs looks like to a parse cache), and
    alert names are distinct. `width=80` (PyYAML's default) folds long expressions and annotations into
    plain and single-quoted scalars over several lines. Returns (rules, distinct expressions), None
    without the corpus."""
    if not REALRULES.is_dir():
        return None
    out = _copies(_realworld_rules(), rules, distinct=True)
    _write_groups(path, out, width=width)
    return rules, len({r["expr"] for r in out})


SLOTH_OUTPUTS = REALRULES.parents[1] / "sloth" / "_gen"
PACKS = Path(__file__).resolve().parents[1] / "rulesets"


def generate_slo_mix(path: Path, rules: int = 10_000) -> bool:
    """10,000 rules cycled from the rule packs shipped in rulesets/ and the rules sloth generated for the
    specs in shared/data/sloth (long, machine-written SLO expressions, most with `ignoring (...)`), renamed
    to stay distinct as in generate_realworld_distinct, with multi-line strings as literal block scalars
    (`expr: |`, as Go's YAML writer and hand-written files have them). Chosen for none of the tuning."""
    import promql_parser as pp
    import yaml

    if not SLOTH_OUTPUTS.is_dir():
        return False
    found = []
    for f in [*sorted(PACKS.glob("*/*.rules.yml")), *sorted(SLOTH_OUTPUTS.glob("*.yml"))]:
        for doc in yaml.safe_load_all(f.read_text()):
            for g in (doc or {}).get("groups") or [] if isinstance(doc, dict) else []:
                for r in g.get("rules") or []:
                    try:
                        pp.parse(str(r["expr"]))
                    except ValueError:  # newer functions than the parser knows
                        continue
                    found.append(r)
    _write_groups(path, _copies(found, rules, distinct=True), literal=True)
    return True


PROMQLTEST = REALRULES.parents[1] / "prometheus"
_EVAL = re.compile(r"\s*eval(?:_ordered|_warn|_info)?\s+"
                   r"(?:instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.*)$")


def generate_promqltest_mix(path: Path, rules: int = 10_000) -> bool:
    """10,000 rules from the expressions of Prometheus's own PromQL tests (shared/data/prometheus/promqltest-*:
    short, varied, every function and operator), those both Prometheus 2.42 and 3.16 accept in a rule file,
    alternately as alerts (with a `$labels`/`$value` summary) and recording rules, renamed to stay distinct as
    in generate_realworld_distinct. First measured after all the tuning of the other files."""
    import json

    import promql_parser as pp

    from opsctl.rules.loader import LoadOptions, parse_rule_text
    from opsctl.rules.versions import PromVersion

    if not PROMQLTEST.is_dir():
        return False
    exprs = []
    for f in sorted(PROMQLTEST.glob("promqltest-v*/*.test")):
        for line in f.read_text().splitlines():
            m = _EVAL.match(line)
            if m and m.group(1).strip():
                exprs.append(m.group(1).strip())
    options = [LoadOptions(prometheus_version=PromVersion.parse(v), check_templates=False) for v in ("2.42", "3.16")]
    head = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: "
    accepted = [expr for expr in dict.fromkeys(exprs)
                if not any(parse_rule_text(f"{head}{json.dumps(expr)}\n", "x.yml", o).errors for o in options)]
    found: list[dict] = []
    for i, expr in enumerate(accepted):
        try:
            pp.parse(expr)  # (renaming the metrics needs promql-parser's tree)
        except ValueError:
            continue
        if i % 2:
            found.append({"record": f"job:rec_{i}:sum", "expr": expr})
        else:
            found.append({"alert": f"Alert{i}x", "expr": expr, "for": "5m", "labels": {"severity": "warning"},
                          "annotations": {"summary": "{{ $labels.instance }} is at {{ $value }}",
                                          "runbook_url": f"https://rb.example.com/{i}"}})
    _write_groups(path, _copies(found, rules, distinct=True))
    return True


def best_of(cmd: list[str], runs: int = 5) -> float:
    return best_of_both(cmd, runs)[0]


def best_of_both(cmd: list[str], runs: int = 5) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds: user + system) of `runs` runs. The CPU time shows what a
    busy machine does to the wall time: a one-process lint waits for a CPU, promtool's threads share two."""
    import resource

    best, best_cpu = float("inf"), float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        best = min(best, time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best, best_cpu


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
        config = Path(tmp) / ".opsctl.yaml"
        real = Path(tmp) / "realworld-10k.yml"
        if generate_realworld(real):
            result["realworld"] = side_by_side(real, config, promtool)
        distinct = Path(tmp) / "realworld-distinct-10k.yml"
        made = generate_realworld_distinct(distinct)
        if made:
            result["realworld_distinct"] = {"distinct_expressions": made[1], **side_by_side(distinct, config, promtool)}
        folded = Path(tmp) / "realworld-folded-10k.yml"
        if generate_realworld_distinct(folded, width=80):
            result["realworld_folded"] = side_by_side(folded, config, promtool)
        slo = Path(tmp) / "slo-mix-10k.yml"
        if generate_slo_mix(slo):
            result["slo_mix"] = side_by_side(slo, config, promtool)
        promqltest = Path(tmp) / "promqltest-mix-10k.yml"
        if generate_promqltest_mix(promqltest):
            result["promqltest_mix"] = side_by_side(promqltest, config, promtool)
    return result


def newest_promtool() -> str | None:
    """The newest promtool .ci/oracles.sh builds (`promtool-3.16` in the oracle cache), if present."""
    cache = Path(os.environ.get("OPSCTL_ORACLES") or Path.home() / ".cache" / "opsctl-oracles" / "bin")
    return shutil.which("promtool-3.16") or shutil.which("promtool-3.16", path=str(cache))


def side_by_side(path: Path, config: Path, promtool: str | None, runs: int = 5) -> dict:
    """`opsctl rules validate --jobs 1` (text, then json) and `promtool check rules` (the one on PATH and the
    newest) on one file: best of `runs`, the commands taking turns."""
    base = [sys.executable, "-m", "opsctl", "rules", "validate", str(path), "--jobs", "1", "--config", str(config)]
    commands = {"opsctl_text_jobs1": base, "opsctl_json_jobs1": [*base, "--format", "json"]}
    newest = newest_promtool()
    for key, tool in (("promtool", promtool), ("promtool_newest", newest)):
        if tool:
            commands[key] = [tool, "check", "rules", str(path)]
    best = {key: (float("inf"), float("inf")) for key in commands}
    for _ in range(runs):
        for key, cmd in commands.items():
            wall, cpu = best_of_both(cmd, 1)
            best[key] = (min(best[key][0], wall), min(best[key][1], cpu))
    out: dict = {"rules": 10_000, "file_bytes": path.stat().st_size}
    for key, (wall, cpu) in best.items():
        out[f"{key}_seconds"] = round(wall, 3)
        out[f"{key}_cpu_seconds"] = round(cpu, 3)
    for key, tool in (("promtool", promtool), ("promtool_newest", newest)):
        if not tool:
            continue
        check = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, check=False)
        out[f"{key}_accepts"] = check.returncode == 0
        out[f"ratio_text_jobs1_over_{key}"] = round(best["opsctl_text_jobs1"][0] / best[key][0], 2)
    if promtool:
        out["target"] = "ratio_text_jobs1_over_promtool <= 1.0 (issue 14 point 7)"
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
