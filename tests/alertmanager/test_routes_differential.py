"""Differential test: opsctl's routing == `amtool config routes test` on random configs and label sets."""

from __future__ import annotations

import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from opsctl.alertmanager.check import load_valid
from opsctl.alertmanager.routing import build_tree, receivers_for, show_tree
from tests.alertmanager.gen import random_config, random_labels
from tests.conftest import find_tool

CONFIGS = 50
LABELSETS_PER_CONFIG = 5  # 250 (config, labels) cases


def _label_arg(k: str, v: str) -> str:
    return f'{k}="' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.oracle
def test_routes_test_matches_amtool(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    rng = random.Random(20240501)
    cases = []
    for i in range(CONFIGS):
        path = tmp_path / f"c{i}.yml"
        path.write_text(yaml.safe_dump(random_config(rng), sort_keys=False))
        for _ in range(LABELSETS_PER_CONFIG):
            cases.append((path, random_labels(rng)))

    def run(case: tuple[Path, dict[str, str]]) -> str:
        path, labels = case
        args = [_label_arg(k, v) for k, v in labels.items()]
        r = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}", *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(run, cases))
    mismatches = []
    trees = {}
    for (path, labels), want in zip(cases, expected, strict=True):
        if path not in trees:
            trees[path] = build_tree(load_valid(path, version=(0, 25)).route)
        got = ",".join(receivers_for(trees[path], labels))
        if got != want:
            mismatches.append((path.name, labels, want, got))
    assert len(cases) >= 200
    assert not mismatches, mismatches[:5]


@pytest.mark.oracle
def test_routes_show_matches_amtool(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    rng = random.Random(7)
    for i in range(10):
        path = tmp_path / f"s{i}.yml"
        path.write_text(yaml.safe_dump(random_config(rng), sort_keys=False))
        r = subprocess.run([amtool, "config", "routes", "show", f"--config.file={path}"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0
        assert show_tree(build_tree(load_valid(path, version=(0, 25)).route)) == r.stdout
