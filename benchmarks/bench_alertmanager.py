"""Benchmark: `opsctl alertmanager check` and routing on a 2,000-route, 500-receiver config, against amtool.

Measures (median of a few runs): opsctl's in-process load+validate, the `opsctl alertmanager check` CLI
(process start included), `amtool check-config`, and routing 1,000 label sets in-process vs one
`amtool config routes test` call. Default run well under 2 minutes.
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from opsctl.alertmanager.check import check_file
from opsctl.alertmanager.routing import build_tree, receivers_for

ROUTES = 2000
RECEIVERS = 500
RUNS = 3


def big_config(routes: int = 2000, receivers: int = 500, seed: int = 1) -> dict[str, Any]:
    """A wide config for the benchmark: `routes` routes (two levels) over `receivers` webhook receivers."""
    rng = random.Random(seed)
    recv = [{"name": f"team-{i}", "webhook_configs": [{"url": f"http://127.0.0.1:9/{i}"}]} for i in range(receivers)]
    top: list[dict[str, Any]] = []
    made = 0
    while made < routes:
        kids = []
        for _ in range(min(9, routes - made - 1)):
            kids.append({"matchers": [f'severity=~"{rng.choice(["critical", "warning", "info"])}"',
                                      f'instance!="{rng.randint(0, 99)}"'],
                         "receiver": f"team-{rng.randrange(receivers)}",
                         "continue": rng.random() < 0.2})
        top.append({"matchers": [f'team="t{made}"'], "receiver": f"team-{rng.randrange(receivers)}",
                    "group_by": ["alertname", "instance"], "group_wait": "10s", "routes": kids})
        made += 1 + len(kids)
    return {"route": {"receiver": "team-0", "routes": top}, "receivers": recv,
            "inhibit_rules": [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                               "equal": ["alertname", "instance"]}]}


def _time(fn: Any, runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples), 4)


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yml"
        path.write_text(yaml.safe_dump(big_config(ROUTES, RECEIVERS), sort_keys=False))
        res = check_file(path)
        assert res.ok, [str(e) for e in res.errors[:3]]
        out: dict[str, Any] = {
            "routes": res.config.count_routes() if res.config else 0, "receivers": RECEIVERS,
            "config_bytes": path.stat().st_size,
            "opsctl_check_inprocess_s": _time(lambda: check_file(path)),
            "opsctl_check_cli_s": _time(lambda: subprocess.run(
                [sys.executable, "-m", "opsctl", "alertmanager", "check", str(path)], capture_output=True,
                check=True)),
        }
        amtool = shutil.which("amtool")
        if amtool:
            out["amtool_check_config_s"] = _time(lambda: subprocess.run(
                [amtool, "check-config", str(path)], capture_output=True, check=True))
            out["amtool_routes_test_one_s"] = _time(lambda: subprocess.run(
                [amtool, "config", "routes", "test", f"--config.file={path}", "team=t10", "severity=critical"],
                capture_output=True, check=True))
        assert res.config is not None
        root = build_tree(res.config.route)
        rng = random.Random(3)
        labelsets = [{"team": f"t{rng.randrange(ROUTES)}", "severity": rng.choice(["critical", "warning"]),
                      "instance": str(rng.randrange(100))} for _ in range(1000)]
        out["opsctl_route_1000_labelsets_s"] = _time(lambda: [receivers_for(root, ls) for ls in labelsets])
        return out


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(main(), indent=2))
