"""Template functions per Prometheus version: the linter knows the function map of the target version.

Oracle: promtool 2.42 (Debian) and promtool 3.16 (.ci/oracles.sh) check an alert whose annotation calls
each function opsctl knows, plus names no version has; the verdicts must match opsctl's for that target.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opsctl.gotemplate.gotime import GoDuration
from opsctl.gotemplate.prometheus import PROMETHEUS_FUNCS, render_rule_template, strip_domain
from opsctl.rules.loader import LoadOptions, parse_rule_text
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool

NAMES = [*sorted(PROMETHEUS_FUNCS), "toDurationX", "stripdomain", "unknownFunction"]


def _file(fn: str) -> str:
    return ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
            f"    annotations:\n      d: '{{{{ if false }}}}{{{{ {fn} }}}}{{{{ end }}}}'\n")


def _opsctl_rejects(fn: str, version: PromVersion) -> bool:
    rf = parse_rule_text(_file(fn), "t.yml", LoadOptions(prometheus_version=version))
    return any(p.check == "template-syntax" for p in rf.problems)


def _promtool_rejects(promtool: str, fn: str, tmp: Path) -> bool:
    path = tmp / f"{fn}.yml"
    path.write_text(_file(fn))
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, timeout=60).returncode != 0


def _compare(promtool: str, version: PromVersion, tmp: Path) -> list[str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda fn: _promtool_rejects(promtool, fn, tmp), NAMES))
    return [f"{fn}: promtool {'rejects' if want else 'accepts'}" for fn, want in zip(NAMES, expected, strict=True)
            if _opsctl_rejects(fn, version) != want]


@pytest.mark.oracle
def test_function_map_of_2_42(tmp_path: Path) -> None:
    assert not _compare(find_tool("promtool"), PromVersion(2, 42), tmp_path)


@pytest.mark.oracle
def test_function_map_of_3_16(tmp_path: Path) -> None:
    assert not _compare(find_tool("promtool-3.16"), PromVersion(3, 16), tmp_path)


def test_strip_domain_repro_accepted_for_2_42_and_3() -> None:
    text = ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
            "    annotations: {description: '{{ $labels.instance | stripDomain }}'}\n")
    for version in (PromVersion(2, 42), PromVersion(3, 0)):
        rf = parse_rule_text(text, "t.yml", LoadOptions(prometheus_version=version))
        assert not [p for p in rf.problems if p.check == "template-syntax"]
    rf = parse_rule_text(text, "t.yml", LoadOptions(prometheus_version=PromVersion(2, 35)))
    assert [p for p in rf.problems if p.check == "template-syntax"]


@pytest.mark.parametrize(("given", "want"), [
    ("node1.example.com:9100", "node1:9100"), ("node1.example.com", "node1"), ("10.0.0.1:9100", "10.0.0.1:9100"),
    ("[2001:db8::1]:80", "[2001:db8::1]:80"), ("localhost", "localhost"), ("a.b:", "a"), ("", ""),
])
def test_strip_domain(given: str, want: str) -> None:
    assert strip_domain(given) == want


def test_to_duration_and_url_query_escape_render() -> None:
    out = render_rule_template("{{ 3723.5 | toDuration }} {{ urlQueryEscape \"a b&c\" }}", {}, 0.0, {}, "",
                               strict=True)
    assert out == "1h2m3.5s a+b%26c"
    assert str(GoDuration(0)) == "0s"
