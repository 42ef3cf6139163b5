"""Prometheus 3 additions of the embedded engine: duration expressions, limitk/limit_ratio, sort_by_label,
mad_over_time, ts_of_*_over_time, the version switch. Values checked against the v3.5 promqltest corpus
(test_promqltest_corpus) and, where a test needs it, promtool 3.16."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsctl.promql import Engine, Labels, PromQLError, Storage
from opsctl.promql.durexpr import evaluate, rewrite
from opsctl.promql.functions import natsort_less
from opsctl.promql.xxh64 import labels_hash, xxh64
from tests.conftest import find_tool


def test_xxh64_known_vectors() -> None:
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    assert xxh64(b"Nobody inspects the spammish repetition") == 0xFBCEA83C8A378BF1
    assert labels_hash((("b", "2"), ("a", "1"))) == xxh64(b"a\xff1\xffb\xff2\xff")


@pytest.mark.parametrize(("text", "seconds"), [
    ("26m+4m", 1800), ("60*30", 1800), ("2m*(10+5)", 1800), ("24m+((1.5*2m)+2m)", 1740), ("-5m+35m", 1800),
    ("1h/2", 1800), ("1h30m % 1h", 1800), ("30m1s-30m1s % 1m", 1800), ("(9m30s+30s)*3", 1800),
    ("-2 ^ 2", -4), ("2 ^ 3 ^ 2", 512), ("((((8 - 2) / 3) * 7s) % 4) + 8000ms", 10),
])
def test_duration_expression_values(text: str, seconds: float) -> None:
    assert evaluate(text) == pytest.approx(seconds)


def test_rewrite_leaves_strings_and_literals() -> None:
    assert rewrite('x{a="[1+2]"}[5m]') == 'x{a="[1+2]"}[5m]'
    assert rewrite("x[5m:]") == "x[5m:]"
    assert rewrite("x[5m * 2:10s+5s] offset (1h + 5m)") == "x[600000ms:15000ms] offset 3900000ms"
    assert rewrite("x offset -(2 * 2)") == "x offset -4000ms"
    assert rewrite("my_offset(x)") == "my_offset(x)"


@given(st.text(alphabet="0123456789smh+-*/%^() .[]:offset\"'x", max_size=40))
def test_rewrite_never_crashes(text: str) -> None:
    try:
        rewrite(text)
    except PromQLError:
        pass


def test_natsort() -> None:
    assert natsort_less("4m5", "4m600") and not natsort_less("4m600", "4m5")
    assert natsort_less("1.2.3", "1.11.3")
    assert natsort_less("a", "b") and not natsort_less("b", "a")


def _engine(v3: bool) -> Engine:
    st_ = Storage()
    for i, lab in enumerate(["10", "9", "b", "a"]):
        st_.add(Labels({"__name__": "m", "i": lab}), [0, 60_000], [float(i), float(i + 1)])
    return Engine(st_, v3=v3)


def test_v3_only_syntax_and_functions() -> None:
    e = _engine(True)
    assert [s.labels["i"] for s in e.instant('sort_by_label(m, "i")', 60).series] == ["9", "10", "a", "b"]
    assert len(e.instant("limitk(2, m)", 60).series) == 2
    assert len(e.instant("limit_ratio(1, m)", 60).series) == 4
    assert len(e.instant("limit_ratio(0.4, m) or limit_ratio(-0.6, m)", 60).series) == 4
    assert len(e.instant("limit_ratio(0.4, m) and limit_ratio(-0.6, m)", 60).series) == 0
    assert len(e.instant("m offset (30s * 2)", 60).series) == 4
    r = e.instant('ts_of_max_over_time(m{i="a"}[2m])', 60)
    assert [float(s.values[-1]) for s in r.series] == [60.0]
    with pytest.raises(PromQLError):
        _engine(False).instant("m offset (30s * 2)", 60)


def test_version_switch_in_rules_test(tmp_path: Path) -> None:
    """Left-open range selectors with 3.x, closed with 2.42: the same test passes with one, fails with the other."""
    from tests.conftest import run_opsctl

    (tmp_path / "r.yml").write_text("groups: []\n")
    (tmp_path / "t.yml").write_text("""rule_files: [r.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'x'
        values: '1 2 3'
    promql_expr_test:
      - expr: count_over_time(x[1m])
        eval_time: 2m
        exp_samples:
          - labels: '{}'
            value: 1
""")
    assert run_opsctl("rules", "test", "t.yml", cwd=tmp_path).returncode == 0
    assert run_opsctl("rules", "test", "t.yml", "--prometheus-version", "2.42", cwd=tmp_path).returncode == 1
    promtool = find_tool("promtool-3.16")
    proc = subprocess.run([promtool, "test", "rules", "t.yml"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("query", "v2", "v3"), [
    ('stddev(k{p="nan"})', 0.0, float("nan")),
    ('sum(k{p!="nan"})', 2.0, 10.0),  # 2 + 8 + 1e100 - 1e100: Kahan summation in 3.x
    ('avg(k{p!="nan"})', 0.0, 2.5),
])
def test_deliberate_v3_changes(query: str, v2: float, v3: float) -> None:
    import math

    def run(flag: bool) -> float:
        s = Storage()
        for p, v in (("a", 2.0), ("b", 8.0), ("c", 1e100), ("d", -1e100), ("nan", float("nan"))):
            s.add(Labels({"__name__": "k", "p": p}), [0], [v])
        return float(Engine(s, v3=flag).instant(query, 0).series[0].values[-1])

    for got, want in ((run(False), v2), (run(True), v3)):
        assert (math.isnan(got) and math.isnan(want)) or got == want


def test_experimental_functions_need_the_feature_flag(tmp_path: Path) -> None:
    """As promtool 3.16: sort_by_label, limitk, mad_over_time... are parse errors in rule unit tests
    unless --enable-feature=promql-experimental-functions; duration expressions need no flag."""
    from tests.conftest import run_opsctl

    (tmp_path / "r.yml").write_text("groups: []\n")
    (tmp_path / "t.yml").write_text("""rule_files: [r.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'x{a="1"}'
        values: '1 2 3'
    promql_expr_test:
      - expr: 1 + limitk(1, sum_over_time(x[1m+1m] offset (30s*2) @ 120))
        eval_time: 2m
        exp_samples: []
      - expr: vector(1) * sum(mad_over_time(x[5m]))
        eval_time: 2m
        exp_samples:
          - labels: '{}'
            value: 1
""")
    flag = "--enable-feature=promql-experimental-functions"
    plain = run_opsctl("rules", "test", "t.yml", cwd=tmp_path)
    assert plain.returncode == 1
    assert "1:5: parse error: limitk() is experimental and must be enabled with " + flag in plain.stdout
    assert '1:17: parse error: function "mad_over_time" is not enabled' in plain.stdout
    enabled = run_opsctl("rules", "test", "t.yml", flag, cwd=tmp_path)
    assert enabled.returncode == 1 and "is not enabled" not in enabled.stdout
    assert "1 + limitk" in enabled.stdout and "mad_over_time" not in enabled.stdout
    promtool = find_tool("promtool-3.16")
    for args, out in (((), plain.stdout), ((flag,), enabled.stdout)):
        proc = subprocess.run([promtool, "test", "rules", *args, "t.yml"], cwd=tmp_path, capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 1
        keys = ("expr:", "got:", "exp:")
        theirs = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip().startswith(keys)]
        ours = [ln.strip() for ln in out.splitlines() if ln.strip().startswith(keys)]
        assert ours == theirs


def test_duration_expressions_in_rule_files(tmp_path: Path) -> None:
    """A 3.x rule file may use `x[1m+1m]` (promtool 3.16 accepts it); 2.42 refuses it."""
    from opsctl.rules.unittest import run_test_file
    from opsctl.rules.versions import PromVersion

    (tmp_path / "r.yml").write_text("groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum_over_time(x[1m+1m])\n")
    (tmp_path / "t.yml").write_text("""rule_files: [r.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'x'
        values: '1 2 3'
    promql_expr_test:
      - expr: r
        eval_time: 2m
        exp_samples:
          - labels: 'r'
            value: 5
""")
    assert run_test_file(tmp_path / "t.yml").status == "passed"
    assert run_test_file(tmp_path / "t.yml", PromVersion(2, 42)).status == "error"
    proc = subprocess.run([find_tool("promtool-3.16"), "test", "rules", "t.yml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _rule_test_files() -> list[Path]:
    from tests.conftest import ROOT, shared_data_dir

    files = sorted((ROOT / "tests" / "rules_testing" / "corpus").glob("*.yml"))
    return files + sorted((shared_data_dir() / "prometheus" / "promtool-testdata-v2.42").glob("*.yml"))


@pytest.mark.oracle
def test_rules_test_agrees_with_promtool_3_16() -> None:
    """Every rule unit-test file of the corpus and of promtool's testdata: opsctl rules test with its default
    (3.x) target gives promtool 3.16's verdict and the same failure lines (expr/exp/got/err)."""
    from opsctl.rules.unittest import render_text, run_test_file

    promtool = find_tool("promtool-3.16")
    keys = ("expr:", "exp:", "got:", "alertname:")
    compared = 0
    for f in _rule_test_files():
        proc = subprocess.run([promtool, "test", "rules", f.name], cwd=f.parent, capture_output=True, text=True,
                              check=False, timeout=120)
        if "Processing test file" not in proc.stdout:
            continue  # not a unit-test file (a rule file of the testdata)
        res = run_test_file(f)
        if res.status == "error":
            assert proc.returncode != 0, f
            continue
        theirs = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip().startswith(keys)]
        ours = [ln.strip() for ln in render_text([res]).splitlines() if ln.strip().startswith(keys)]
        assert (proc.returncode == 0) == (res.status == "passed"), f
        assert ours == theirs, f
        compared += 1
    assert compared >= 40


def test_promqltest_cli_version_switch(tmp_path: Path) -> None:
    from tests.conftest import run_opsctl

    f = tmp_path / "x.test"
    # [1m] at 2m holds 1 sample with 3.x's left-open ranges, (1m, 2m], 2 with 2.x's closed [1m, 2m]
    f.write_text("load 1m\n  m 1 2 3\n\neval instant at 2m count_over_time(m[1m])\n  {} 1\n", encoding="utf-8")
    assert run_opsctl("rules", "promqltest", str(f)).returncode == 0
    assert run_opsctl("rules", "promqltest", str(f), "--prometheus-version", "3.5").returncode == 0
    assert run_opsctl("rules", "promqltest", str(f), "--prometheus-version", "2.42").returncode == 1
    assert run_opsctl("rules", "promqltest", str(f), "--prometheus-version", "x").returncode == 2
