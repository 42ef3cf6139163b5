"""Version-targeted PromQL syntax (opsctl.rules.syntax_gate): same verdict and message as promtool.

promql-parser follows Prometheus 3; for a 2.42 target, quoted names, `or` between matchers and numbers
as durations are errors, as are durations beyond Go's int64 nanoseconds at every version. The oracle is
the installed promtool 2.42 (and promtool 3.16 for the 3.x target, built by .ci/oracles.sh).
"""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.rules.loader import LoadOptions, parse_rule_text
from opsctl.rules.syntax_gate import syntax_problems
from opsctl.rules.versions import PromVersion
from tests.conftest import find_tool

REPRO = Path(__file__).resolve().parents[2].parent / "shared" / "repro" / "rules"

EXPRESSIONS = [
    # accepted by both
    "up", "rate(up[5m])", "up[5m:]", "up[5m:30s]", "up offset -5m", "up @ 360", 'up{a="1",}',
    'up{a="[300]"}', 'up{a="x or y"}', "sum by (offset) (up)", "rate(up[1h30m] offset 1d)",
    'up{a=~"{\\"b\\"}"}', "rate(up[292y])", "up # [300] comment\n",
    # rejected by 2.42, accepted by 3.x
    '{"my.metric"}', '{"my.metric",a="b"}', 'up{"my.label"="x"}', 'up{a="1","b"="2"}', "up{'a'='b'}",
    'up{"aaaaaaaaaaaaaaa"="x"}', "rate(up[300])", "rate(up[1.5])", "rate(up[1e2])",
    "rate(up[0x10])", "up[5m:30]", "up offset 300", "rate(up[5m] offset 1)", "up offset -300",
    "up @ 6m",
    # a duration as a number of seconds (3.0): each place where the 2.42 parser meets one has its own message
    "x > 1h", "predict_linear(x[5m], 1h)", "clamp(x, 1m, 2m)", "round(x,1h)", "vector(1h)", "topk(5m, x)",
    "topk by (a) (5m, x)", "max(x > 5m)", "sum(abs(x > 5m))", "sum by (a) (x > 5m)", "sum(x > 1m) without (a)",
    "sum(x) by (a) > 5m", "abs(sum(x) > 5m)", "sum(round(x, 1h))", "round(sum(x), 1h)", "round(x, 5 * 1h)",
    "round(x, (1h))", "(1h)", "-1h", "x > -1h", "x offset -1h > 1h", "max_over_time(x[5m:1m]) > 1h", "x @ 100 > 1h",
    "x > 1h30m", "x > 1ms", "sum(x) > bool 5m", 'count_values("a", x) + 1h',
    # durations 2.42 reads too
    "x[5m] offset 1h", "x[1h:5m]", "rate(x[5m] offset 1h)", 'label_replace(x, "a", "1h", "b", "c")',
    'x{a="5m"}', "x[5m:1m] offset 1h",
    # rejected by every version
    'up{a="1" or b="2"}', "rate(up[293y])", "up offset 293y", "up[5m:293y]", "up[293y:]", "rate(up[106752d])",
]


def _rule_file(expr: str) -> str:
    return f"groups:\n- name: g\n  rules:\n  - record: r\n    expr: {json.dumps(expr)}\n"


def _opsctl_error(expr: str, version: PromVersion) -> str | None:
    rf = parse_rule_text(_rule_file(expr), "x.yml", LoadOptions(prometheus_version=version))
    errors = [p.message for p in rf.problems if p.severity.name == "error"]
    return errors[0] if errors else None


def _promtool_error(promtool: str, expr: str, tmp: Path, i: int) -> str | None:
    path = tmp / f"e{i}.yml"
    path.write_text(_rule_file(expr))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    if proc.returncode == 0:
        return None
    m = re.search(r"could not parse expression: (.*)", proc.stdout + proc.stderr)
    return m.group(1).strip() if m else (proc.stdout + proc.stderr).strip()


def _compare(promtool: str, version: PromVersion, tmp: Path) -> list[str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda a: _promtool_error(promtool, a[1], tmp, a[0]), enumerate(EXPRESSIONS)))
    wrong = []
    for expr, want in zip(EXPRESSIONS, expected, strict=True):
        got = _opsctl_error(expr, version)
        if (got is None) != (want is None):
            wrong.append(f"{expr!r}: promtool {want!r}, opsctl {got!r}")
        elif want is not None and got is not None and "parse error" in want and want not in got:
            wrong.append(f"{expr!r}: message differs: promtool {want!r}, opsctl {got!r}")
    return wrong


@pytest.mark.oracle
def test_same_verdict_and_message_as_promtool_2_42(tmp_path: Path) -> None:
    wrong = _compare(find_tool("promtool"), PromVersion(2, 42), tmp_path)
    assert not wrong, "\n".join(wrong)


@pytest.mark.oracle
def test_same_verdict_as_promtool_3_16(tmp_path: Path) -> None:
    wrong = _compare(find_tool("promtool-3.16"), PromVersion(3, 16), tmp_path)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("expr", "message"), [
    ('{"my.metric"}', '1:2: parse error: unexpected string "\\"my.metric"... in label matching, '
                      'expected identifier or "}"'),
    ('up{a="1" or b="2"}', '1:10: parse error: unexpected identifier "or" in label matching, expected "," or "}"'),
    ("rate(up[300])", "1:9: parse error: missing unit character in duration"),
    ("up offset 300", '1:11: parse error: unexpected number "300" in offset, expected duration'),
    ("up[5m:30]", '1:7: parse error: unexpected number "30" in subquery selector, expected duration or "]"'),
    ("up\n  [293y:]", "2:4: parse error: duration out of range"),
    ("predict_linear(x[5m], 1h)", "1:21: parse error: trailing commas not allowed in function call args"),
    ("sum by (a) (x > 5m)", '1:17: parse error: unexpected duration "5m" in aggregation'),
    ("abs(sum(x) > 5m)", '1:14: parse error: unexpected duration "5m"'),
])
def test_messages_for_2_42(expr: str, message: str) -> None:
    assert list(syntax_problems(expr, PromVersion(2, 42))) == [message]


def test_3x_accepts_what_only_2x_rejects() -> None:
    for expr in ('{"my.metric"}', "rate(up[300])", "up offset 300", "up @ 6m", "x > 1h", "topk(5m, x)"):
        assert list(syntax_problems(expr, PromVersion(3, 0))) == []
    # promql-parser reads `or` between matchers; promtool 2.42 and 3.16 do not
    assert list(syntax_problems('up{a="1" or b="2"}', PromVersion(3, 16)))


@pytest.mark.parametrize("name", ["d1-quoted-metric.yml", "d2-quoted-label.yml", "d3-number-range.yml",
                                  "d4-for-overflow.yml", "d8-or-matcher.yml"])
def test_repro_files_rejected_for_2_42(name: str) -> None:
    path = REPRO / name
    if not path.exists():
        pytest.skip("reproducer not present")
    rf = parse_rule_text(path.read_text(), name, LoadOptions(prometheus_version=PromVersion(2, 42)))
    assert any(p.severity.name == "error" for p in rf.problems), name


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='up{}[]:,"\'`=~!or offset@5m3009y#\n .-', max_size=40))
def test_scan_never_raises(text: str) -> None:
    for version in (PromVersion(2, 42), PromVersion(3, 0)):
        for msg in syntax_problems(text, version):
            assert re.match(r"^\d+:\d+: parse error: ", msg)
