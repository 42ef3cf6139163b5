"""Hostile and random input never produces a traceback: a clean finding, and exit 2 when unreadable."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsctl.rules.loader import parse_rule_text
from opsctl.rules.model import Severity
from tests.conftest import run_opsctl
from tests.rules.test_promql_parse import soup, structured

GOOD = Path(__file__).parent / "fixtures" / "valid" / "basic.yml"

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=20))
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(
                                   ["groups", "name", "rules", "alert", "record", "expr", "for", "labels",
                                    "annotations", "interval", "limit", "keep_firing_for", "x"]) | st.text(max_size=8),
                                   children, max_size=5)),
    max_leaves=25,
)


def _assert_clean(text: str) -> None:
    rf = parse_rule_text(text, "fuzz.yml")
    for p in rf.problems:
        assert p.file == "fuzz.yml"
        assert isinstance(p.message, str) and p.message
        assert p.severity in Severity


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_values)
def test_random_yaml_structures(value: object) -> None:
    _assert_clean(yaml.safe_dump({"groups": value} if not isinstance(value, dict) else value))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _assert_clean(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_truncated_valid_file(cut: int) -> None:
    text = GOOD.read_text()
    _assert_clean(text[: cut % (len(text) + 1)])


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]:-#&*!|>'\"% \n\tgroupsrulexp=~()$.")), max_size=200))
def test_yaml_punctuation_soup(text: str) -> None:
    _assert_clean(text)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_random_expressions(expr: str) -> None:
    doc = yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": expr,
                                                               "annotations": {"d": expr}}]}]})
    _assert_clean(doc)


BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
groups: *g
"""


def _cli_exit(path: Path) -> tuple[int, str]:
    proc = run_opsctl("rules", "validate", str(path))
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc.returncode, proc.stdout + proc.stderr


def test_cli_alias_bomb_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "bomb.yml"
    p.write_text(BOMB)
    code, out = _cli_exit(p)
    assert code == 2
    assert "alias" in out


def test_cli_binary_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "bin.yml"
    p.write_bytes(bytes(range(256)) * 20)
    code, out = _cli_exit(p)
    assert code == 2
    assert "bin.yml" in out


def test_cli_truncated_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "cut.yml"
    p.write_text('groups:\n  - name: g\n    rules:\n      - alert: "A\n')
    code, out = _cli_exit(p)
    assert code == 2
    assert "cut.yml:" in out


def test_cli_huge_file_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "huge.yml"
    line = "# " + "x" * 1022 + "\n"
    with p.open("w") as fh:
        for _ in range(50 * 1024):
            fh.write(line)
    assert p.stat().st_size >= 50 * 1024 * 1024
    code, out = _cli_exit(p)
    assert code == 2
    assert "too large" in out


def test_cli_directory_of_garbage(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "b.yaml").write_text("groups: [")
    code, out = _cli_exit(tmp_path)
    assert code == 2
    assert "a.yml" in out and "b.yaml" in out


URLISH = st.sampled_from(["http://", "https://", "//", "[", "]", "::1", "#", "?", "/", "runbooks/", "x.md", ":",
                          "{{ $labels.job }}", "%", "%zz", "mailto:", " ", "host", ".", "..", "\\", "@"])
url_text = st.builds(lambda a, b: a + b, st.sampled_from(["http://", "https://", "", "runbooks/", "//"]),
                     st.lists(URLISH, max_size=6).map("".join)) | st.text(max_size=30)
promql_soup = structured | soup  # PromQL-shaped text, valid and not (tests/rules/test_promql_parse.py)
EXPRS = ['up == 0', 'sum by (job) (rate(x_total{code=~"5.."}[5m])) > 1', 'absent(up{job=~"a|b"})',
         'x_bucket > 1', 'rate(x[1m])', '{a=~".*"}', 'histogram_quantile(0.9, rate(x_bucket[5m]))']


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.sampled_from(EXPRS) | promql_soup | st.text(max_size=40), url_text, url_text,
       st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3), st.text(max_size=40))
@example(EXPRS[0], "http://[::1", "https://[", {}, "s")  # urlsplit raises on these
@example(EXPRS[0], "0\x00", "", {}, "s")  # a NUL in a runbook path
def test_every_check_survives_random_rule_content(tmp_path: Path, expr: str, runbook: str, dashboard: str,
                                                  labels: dict[str, str], summary: str) -> None:
    from opsctl.rules.config import RulesConfig
    from opsctl.rules.validate import validate

    doc = {"groups": [{"name": "g", "rules": [{
        "alert": "A", "expr": expr, "for": "5m", "labels": labels,
        "annotations": {"summary": summary, "description": summary, "runbook_url": runbook, "dashboard": dashboard},
    }, {"record": "job:x:sum", "expr": expr, "labels": labels}]}]}
    path = tmp_path / "r.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = RulesConfig(runbooks_dir=tmp_path)
    config.enable |= {"dashboard-link"}
    result = validate([path], config)
    assert all(isinstance(f.message, str) and f.message for f in result.findings)
