"""Differential tests of opsctl.gosem's regexes against the real tools, on regex edge cases: anchoring,
`\\d`, `\\s`, `\\w`, `\\b`, POSIX classes, Unicode classes, case-insensitive flags, and invalid patterns
with Go's error text.

- promtool 2.42 `test rules`: opsctl's answer for every (pattern, label value) is written as the expected
  samples of a promtool unit test; promtool must pass it, and so must `opsctl rules test`.
- promtool 2.42 `check rules`: for invalid patterns, the parse error text is promtool's, byte for byte.
- amtool 0.25 `config routes test`: a route per pattern (`continue: true`); the receivers amtool names
  for each label value are opsctl's.
- promtool-3.16 (CI): the same `test rules` file, for Prometheus 3's regex matching, when it exists.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from opsctl.alertmanager.matchers import openmetrics_escape
from opsctl.gosem import compile_prometheus, quote
from opsctl.promql_syntax import PromQLSyntaxError, parse
from tests.conftest import find_tool, run_opsctl

PATTERNS = [
    # anchoring
    "a", "a|ab", "^a$", "a$", "^ab", "b", ".*", ".+", "(?s).*", "(?m)^a$", "a\\z", "", "a|",
    # \d \s \w \b (ASCII in Go)
    "\\d+", "\\D+", "[\\d]+", "a\\sb", "a\\Sb", "\\s", "\\w+", "\\W", "\\ba.*", "a\\b.*", ".*\\Bb.*",
    # POSIX classes
    "[[:alpha:]]+", "[[:digit:]]+", "[[:space:]]", "[[:^alpha:]]+", "[[:punct:]]", "[[:word:]]+",
    "[[:upper:]][[:lower:]]*", "[[:alnum:]:]+", "5[[:digit:]]{2}",
    # Unicode classes
    "\\pL+", "\\p{Lu}", "\\PL+", "\\p{Greek}+", "\\p{Nd}+", "\\pN+", "[\\p{Ll}\\d]+",
    # case-insensitive and other flags
    "(?i)a", "(?i)abc", "(?i)k", "(?i:A)b", "a(?i)B", "(?i)é", "(?i)ß", "(?i)[a-c]+", "(?U)a+", "(?is)A.B",
    # other RE2 syntax
    "\\Q.\\E", "\\Q*\\E+", "a{,2}", "a{2}", "[^a]", "(?P<n>a)b", "\\x{e9}", "[\\x{61}-\\x{63}]+", "(a+)+b",
]
SUBJECTS = [
    "", "a", "A", "b", "ab", "aB", "abc", "ABC", "a:c", "5", "503", "5a3", "١٢٣", "123", "a b", "a\tb",
    "a\u00a0b", "a\nb", "\n", "a\n", "é", "É", "k", "K", "\u212a", "ß", "ẞ", "foo_bar", "x-y", "aaa", "aab",
    "αβγ", "Ω", ".", "*", "**", "a{,2}", "aa", "ab-", "A.B", "A\nB",
]
INVALID = [
    "(", "a)", "a)(b", "[a", "*", "a**", "a{1001}", "\\8", "(?=a)", "(?!a)", "\\Z", "\\C", "(?<n>a)",
    "[[:foo:]]", "\\p{Foo}", "x{2,1}", "[z-a]", "\\", "(?i", "(?P<>a)", "(a{1000}){1000}", "\\x{110000}",
]


def _series(value: str) -> str:
    return "x{v=" + quote(value) + "}"


def _unit_test_file(tmp: Path, *, dot_nl: bool = False) -> Path:
    """A promtool unit test whose expected samples are opsctl.gosem's matches (dot_nl: Prometheus 3)."""
    tests = []
    for p in PATTERNS:
        rx = compile_prometheus(p, dot_nl=dot_nl)
        expected = [{"labels": _series(s), "value": i + 1} for i, s in enumerate(SUBJECTS) if rx.matches(s)]
        tests.append({"expr": "x{v=~" + quote(p) + "}", "eval_time": "0m", "exp_samples": expected})
    doc = {"tests": [{
        "interval": "1m",
        "input_series": [{"series": _series(s), "values": str(i + 1)} for i, s in enumerate(SUBJECTS)],
        "promql_expr_test": tests,
    }]}
    path = tmp / ("regex3.test.yml" if dot_nl else "regex.test.yml")
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def test_every_pattern_and_subject_is_used(tmp_path: Path) -> None:
    """The fixture must be able to fail: patterns match some subjects and miss others."""
    hits = [sum(compile_prometheus(p).matches(s) for s in SUBJECTS) for p in PATTERNS]
    assert any(0 < h < len(SUBJECTS) for h in hits)
    assert sum(hits) > len(PATTERNS)
    doc = yaml.safe_load(_unit_test_file(tmp_path).read_text(encoding="utf-8"))
    assert len(doc["tests"][0]["promql_expr_test"]) == len(PATTERNS)


@pytest.mark.parametrize(("version", "dot_nl"), [("2.42", False), ("3.16", True)])
def test_opsctl_rules_test_passes_its_own_expectations(tmp_path: Path, version: str, dot_nl: bool) -> None:
    proc = run_opsctl("rules", "test", "--prometheus-version", version, str(_unit_test_file(tmp_path, dot_nl=dot_nl)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_dot_nl_tells_the_versions_apart(tmp_path: Path) -> None:
    """The 2.42 expectations fail on the 3.x engine (`.` matches a newline there): the test can fail."""
    proc = run_opsctl("rules", "test", "--prometheus-version", "3.16", str(_unit_test_file(tmp_path)))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.oracle
def test_promtool_242_agrees_on_every_match(tmp_path: Path) -> None:
    path = _unit_test_file(tmp_path)
    proc = subprocess.run([find_tool("promtool"), "test", "rules", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


@pytest.mark.oracle
def test_promtool_316_agrees_on_every_match_with_dot_nl(tmp_path: Path) -> None:
    """Prometheus 3 anchors as `^(?s:...)$` (dot matches newline): the expectations use dot_nl."""
    promtool = find_tool("promtool-3.16")
    path = _unit_test_file(tmp_path, dot_nl=True)
    proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def _parse_error(pattern: str) -> str:
    try:
        parse("x{v=~" + quote(pattern) + "}")
    except PromQLSyntaxError as exc:
        return str(exc)
    return "OK"


def test_invalid_patterns_are_errors_with_go_text() -> None:
    got = {p: _parse_error(p) for p in INVALID}
    assert all(msg.startswith("1:3: parse error: error parsing regexp: ") for msg in got.values()), got
    assert got["("] == "1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`"
    assert got["a)(b"] == "1:3: parse error: error parsing regexp: unexpected ): `a)(b`"
    assert got["\\C"] == "1:3: parse error: error parsing regexp: invalid escape sequence: `\\C`"
    assert all(_parse_error(p) == "OK" for p in PATTERNS)


@pytest.mark.oracle
def test_invalid_patterns_same_text_as_promtool(tmp_path: Path) -> None:
    promtool = find_tool("promtool")

    def check(i_pattern: tuple[int, str]) -> tuple[str, str]:
        i, pattern = i_pattern
        path = tmp_path / f"r{i}.yml"
        expr = "x{v=~" + quote(pattern) + "}"
        path.write_text(json.dumps({"groups": [{"name": "g", "rules": [{"record": "r", "expr": expr}]}]}))
        out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        text = out.stdout + out.stderr
        marker = "could not parse expression: "
        return pattern, text.split(marker, 1)[1].splitlines()[0] if marker in text else "OK"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, enumerate(INVALID + PATTERNS)))
    mismatches = [(p, want, _parse_error(p)) for p, want in results if _parse_error(p) != want]
    assert not mismatches, mismatches


AM_SUBJECTS = [s for s in SUBJECTS if "\n" not in s]


@pytest.mark.oracle
def test_amtool_025_routes_agree(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    routes = [{"matchers": ["v=~" + quote(p)], "receiver": f"r{i}", "continue": True} for i, p in enumerate(PATTERNS)]
    cfg = {"route": {"receiver": "none", "routes": routes},
           "receivers": [{"name": "none"}] + [{"name": f"r{i}"} for i in range(len(PATTERNS))]}
    path = tmp_path / "am.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    from opsctl.alertmanager.check import load_valid
    from opsctl.alertmanager.routing import build_tree, receivers_for

    root = build_tree(load_valid(path, version=(0, 25)).route)

    def run(subject: str) -> tuple[str, str]:
        arg = "v=" + openmetrics_escape(subject)  # amtool reads label values with only \\, \n and \" escapes
        r = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}", arg],
                           capture_output=True, text=True, timeout=60)
        return subject, r.stdout.strip()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, AM_SUBJECTS))
    mismatches = [(s, want, ",".join(receivers_for(root, {"v": s}))) for s, want in results
                  if ",".join(receivers_for(root, {"v": s})) != want]
    assert not mismatches, mismatches
    assert len({want for _, want in results}) > 5  # the subjects are told apart


@pytest.mark.oracle
def test_amtool_025_rejects_what_opsctl_rejects(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    from opsctl.alertmanager.check import check_file

    for i, pattern in enumerate(["(", "\\C", "(?<n>a)", "(?=a)", "[[:foo:]]", "a)(b"]):
        cfg = {"route": {"receiver": "r", "routes": [{"matchers": ["v=~" + quote(pattern)], "receiver": "r"}]},
               "receivers": [{"name": "r"}]}
        path = tmp_path / f"bad{i}.yml"
        path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        real = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
        ours = check_file(path, version=(0, 25))
        assert (real.returncode == 0) == ours.ok, (pattern, real.stdout + real.stderr, ours.errors)
