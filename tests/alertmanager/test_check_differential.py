"""Differential fuzz: mutate valid configs at random; `check` verdict == `amtool check-config` verdict.
Also regexps: random RE2 patterns, same validity and same matches as Alertmanager (via amtool)."""

from __future__ import annotations

import copy
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsctl.alertmanager.check import check_file
from opsctl.alertmanager.config import GLOBAL_SPEC, NOTIFIER_SPECS, ROUTE_SPEC
from opsctl.alertmanager.matchers import MatcherError, compile_go_regex
from tests.conftest import find_tool

FIX = Path(__file__).parent / "fixtures"
SCALARS: list[Any] = [
    None, True, False, 0, 1, -1, 2.5, "", "x", "5m", "0s", "1.5h", "http://h:80/p", "https://", "ftp://h/", "h:25",
    "h", "[::1]:25", "a=b", 'a=~"("', "monday:friday", "10:00", "24:00", "-1", "0", "31", "UTC", "Europe/Berlin",
    "...", "a-b", "TLS12", "Bearer", "basic", ["a"], ["...", "a"], {"a": "b"}, {"1a": "b"}, ["a=b", "c!~d"],
    [{"start_time": "10:00", "end_time": "09:00"}], "http://h/%zz", "<secret>", [None],
]
KEYS = sorted({*GLOBAL_SPEC, *ROUTE_SPEC, *(k for s in NOTIFIER_SPECS.values() for k in s)})
CASES = 120

AM025 = (0, 25)  # amtool/alertmanager 0.25 are the oracle here


def _mutate(rng: random.Random, doc: Any) -> Any:
    d = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        containers: list[Any] = []

        def walk(x: Any) -> None:
            if isinstance(x, dict):
                containers.append(x)
                for v in x.values():
                    walk(v)
            elif isinstance(x, list):
                containers.append(x)
                for v in x:
                    walk(v)

        walk(d)
        c = rng.choice(containers)
        value = copy.deepcopy(rng.choice(SCALARS))
        if isinstance(c, dict):
            key = rng.choice(list(c)) if c and rng.random() < 0.6 else rng.choice(KEYS)
            if rng.random() < 0.1:
                c.pop(key, None)
            else:
                c[key] = value
        elif c:
            c[rng.randrange(len(c))] = value
    return d


def _amtool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_tool("amtool"), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.oracle
def test_mutated_configs_same_verdict_as_amtool(tmp_path: Path) -> None:
    find_tool("amtool")
    rng = random.Random(4242)
    bases = [yaml.safe_load(p.read_text()) for p in sorted(FIX.glob("valid-*.yml")) if "template" not in p.name]
    paths = []
    for i in range(CASES):
        p = tmp_path / f"m{i}.yml"
        p.write_text(yaml.safe_dump(_mutate(rng, rng.choice(bases))))
        paths.append(p)
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda p: _amtool(["check-config", str(p)]).returncode == 0, paths))
    mismatches = []
    for p, expected in zip(paths, verdicts, strict=True):
        res = check_file(p, version=AM025)
        if res.ok != expected:
            mismatches.append((p.read_text(), expected, [str(e) for e in res.errors]))
    assert 0 < sum(verdicts) < CASES  # both verdicts occur
    assert not mismatches, mismatches[:3]


ATOMS = [*list("ab.()[]{}|*+?^$\\-:,0123wdsSDWi"), "(?i)", "(?s)", "[[:alpha:]]", "[^a]", "{2}", "{1,3}",
         "{,2}", "\\pL", "\\p{Lu}", "(?P<n>", "(?:", "\\x41", "é"]
SUBJECTS = ["", "a", "b", "ab", "A", "aa", "abab", "a\n", "1", "é", "x{,2}", "a.b", "-", "B2", "\\"]


@pytest.mark.oracle
def test_random_regexps_same_as_alertmanager(tmp_path: Path) -> None:
    rng = random.Random(5)
    patterns: list[str] = []
    while len(patterns) < 60:
        pat = "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 6)))
        try:
            compile_go_regex("^(?:" + pat + ")$")
        except MatcherError:
            continue
        patterns.append(pat)
    routes = [{"match_re": {"v": pat}, "receiver": f"r{i}", "continue": True} for i, pat in enumerate(patterns)]
    cfg = {"route": {"receiver": "none", "routes": routes},
           "receivers": [{"name": "none"}] + [{"name": f"r{i}"} for i in range(len(patterns))]}
    path = tmp_path / "re.yml"
    path.write_text(yaml.safe_dump(cfg))
    assert _amtool(["check-config", str(path)]).returncode == 0, "opsctl accepted a regexp Go rejects"
    from opsctl.alertmanager.check import load_valid
    from opsctl.alertmanager.routing import build_tree, receivers_for

    root = build_tree(load_valid(path, version=AM025).route)

    def run(subject: str) -> tuple[str, str]:
        arg = 'v="' + subject.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        r = _amtool(["config", "routes", "test", f"--config.file={path}", arg])
        return subject, r.stdout.strip()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, SUBJECTS))
    for subject, want in results:
        assert ",".join(receivers_for(root, {"v": subject})) == want, (subject, want)
