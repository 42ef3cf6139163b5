"""Backtests on data whose answers were worked out by hand (see examples/backtest/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.data.exports import Series, read_export
from opsctl.errors import InputError
from opsctl.rules.backtest import backtest, compare
from opsctl.rules.versions import PromVersion
from tests.conftest import run_opsctl

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "backtest"
T0 = 1704067200.0
MIN = 60.0


def _rules(tmp_path: Path, body: str, name: str = "r.yml") -> str:
    p = tmp_path / name
    p.write_text(body)
    return str(p)


def test_example_v1_by_hand() -> None:
    res = backtest([str(EX / "rules.yml")], read_export(EX / "errors.csv"))
    assert (res.start, res.end) == (T0, T0 + 59 * MIN)
    a = res.alert("HighErrorRatio")
    assert a is not None
    # api: 10-11, 20-24, 40, 50-55 -> 4 episodes (2+5+1+6 min); web: 30-33 -> 1 episode (4 min)
    assert a.fired == 5
    assert a.firing_seconds == 18 * MIN
    assert a.flaps == 3
    assert a.pending_only == 0
    assert a.instances == 2
    longest = a.longest
    assert longest is not None and longest.labels["service"] == "api"
    assert longest.firing_seconds(a.start, a.end) == 6 * MIN
    api = sorted((e.fired_at - T0) / MIN for e in a.episodes if e.labels["service"] == "api")
    assert api == [10, 20, 40, 50]
    assert all(e.labels == {"alertname": "HighErrorRatio", "severity": "page", "service": e.labels["service"]}
               for e in a.episodes)
    api_i, web_i = a.by_instance()
    assert (api_i.labels["service"], api_i.fired, api_i.firing_seconds, api_i.flaps) == ("api", 4, 14 * MIN, 3)
    assert (web_i.labels["service"], web_i.fired, web_i.firing_seconds, web_i.flaps) == ("web", 1, 4 * MIN, 0)


def test_example_v2_for_3m_by_hand() -> None:
    res = backtest([str(EX / "rules-v2.yml")], read_export(EX / "errors.csv"))
    a = res.alert("HighErrorRatio")
    assert a is not None
    # api 20-24 fires at 23 (resolved 25), api 50-55 fires at 53 (resolved 56), web 30-33 fires at 33 (34);
    # api 10-11 and 40 stay pending.
    fired = sorted(((e.fired_at - T0) / MIN, (e.resolved_at - T0) / MIN) for e in a.episodes
                   if e.resolved_at is not None)
    assert fired == [(23, 25), (33, 34), (53, 56)]
    assert (a.fired, a.firing_seconds, a.flaps, a.pending_only) == (3, 6 * MIN, 1, 2)


def test_keep_firing_for_by_hand(tmp_path: Path) -> None:
    rules = _rules(tmp_path, """
groups:
  - name: g
    rules:
      - alert: HighErrorRatio
        expr: http_errors_ratio > 0.05
        for: 3m
        keep_firing_for: 10m
""")
    res = backtest([rules], read_export(EX / "errors.csv"))
    a = res.alert("HighErrorRatio")
    assert a is not None
    eps = sorted(((e.fired_at - T0) / MIN, None if e.resolved_at is None else (e.resolved_at - T0) / MIN)
                 for e in a.episodes)
    # api: fires 23, absent from 25, kept until 35 (10 min); 40 alone stays pending; fires 53, still kept
    # firing at the end (resolution would be 66). web: fires 33, kept until 44.
    assert eps == [(23, 35), (33, 44), (53, None)]
    assert a.firing_seconds == (12 + 11 + 6) * MIN  # the open episode counts up to the last evaluation (59)
    assert (a.fired, a.resolved, a.flaps, a.pending_only) == (3, 2, 1, 2)


def test_compare_by_hand() -> None:
    data = read_export(EX / "errors.csv")
    v1 = backtest([str(EX / "rules.yml")], data)
    v2 = backtest([str(EX / "rules-v2.yml")], data)
    (d,) = compare(v1, v2)
    assert d.name == "HighErrorRatio"
    assert (d.fired_delta, d.firing_seconds_delta, d.flaps_delta) == (-2, -12 * MIN, -2)


def test_window_and_step(tmp_path: Path) -> None:
    data = read_export(EX / "errors.csv")
    res = backtest([str(EX / "rules.yml")], data, start=T0 + 15 * MIN, end=T0 + 45 * MIN)
    a = res.alert("HighErrorRatio")
    assert a is not None
    # inside [15, 45]: api 20-24 (5 min) and 40 (1 min), web 30-33 (4 min)
    assert (a.fired, a.firing_seconds) == (3, 10 * MIN)
    # a 2-minute step sees only even minutes: api 10, 20-24 -> 20,22,24, 40, 50-55 -> 50,52,54; web 30,32
    res2 = backtest([str(EX / "rules.yml")], data, step=2 * MIN)
    a2 = res2.alert("HighErrorRatio")
    assert a2 is not None
    assert a2.fired == 5
    assert a2.firing_seconds == (2 + 6 + 2 + 6 + 4) * MIN


def test_recording_rules_feed_alerts(tmp_path: Path) -> None:
    rules = _rules(tmp_path, """
groups:
  - name: rec
    rules:
      - record: service:errors:doubled
        expr: http_errors_ratio * 2
  - name: alerts
    rules:
      - alert: Doubled
        expr: service:errors:doubled > 0.3
        labels:
          tier: '{{ if gt $value 0.35 }}high{{ else }}low{{ end }}'
""")
    res = backtest([rules], read_export(EX / "errors.csv"))
    assert res.recorded == ["service:errors:doubled"]
    a = res.alert("Doubled")
    assert a is not None
    # only web (0.2 * 2 = 0.4) crosses 0.3, minutes 30-33; the templated label is expanded
    assert [(e.labels, (e.fired_at - T0) / MIN) for e in a.episodes] == [
        ({"alertname": "Doubled", "service": "web", "tier": "high"}, 30)]
    assert a.firing_seconds == 4 * MIN


def test_recorded_series_in_data_are_used_as_they_are(tmp_path: Path) -> None:
    rules = _rules(tmp_path, """
groups:
  - name: rec
    rules:
      - record: http_errors_ratio
        expr: vector(1)
""")
    res = backtest([rules], read_export(EX / "errors.csv"))
    assert res.recorded == [] and res.recorded_from_data == ["http_errors_ratio"]


def test_stale_gap_in_recorded_series(tmp_path: Path) -> None:
    # x has samples for minutes 0-9 and (lookback 5m) is visible until minute 14, so x:copy is recorded
    # at 0-14; the rule manager then writes a stale marker at 15: absent() fires at 15, not at 20 as it
    # would if the recorded copy lingered for another lookback period.
    ts = T0 + MIN * np.arange(10)
    data = [Series({"__name__": "x"}, ts, np.ones(10)), Series({"__name__": "other"}, T0 + MIN * np.arange(30),
                                                                np.ones(30))]
    rules = _rules(tmp_path, """
groups:
  - name: g
    rules:
      - record: x:copy
        expr: x
      - alert: CopyGone
        expr: absent(x:copy)
""")
    # (infer_staleness=False: x itself only has a gap, as in an export without staleness inference)
    res = backtest([rules], data, prometheus_version=PromVersion(2, 42), infer_staleness=False)
    a = res.alert("CopyGone")
    assert a is not None
    assert [(e.fired_at - T0) / MIN for e in a.episodes] == [15]
    # Prometheus 3 (the default): the lookback window is left-open, (t-5m, t], so x is gone at 14.
    a = backtest([rules], data, infer_staleness=False).alert("CopyGone")
    assert a is not None and [(e.fired_at - T0) / MIN for e in a.episodes] == [14]
    # Staleness read from the data (the default): x stopped after minute 9 while the data goes on, so the
    # scrape at 10 marked it stale, as Prometheus does: x:copy is gone at 10 and absent() fires there.
    for version in (PromVersion(2, 42), None):
        a = backtest([rules], data, prometheus_version=version).alert("CopyGone")
        assert a is not None and [(e.fired_at - T0) / MIN for e in a.episodes] == [10]


def test_errors(tmp_path: Path) -> None:
    data = read_export(EX / "errors.csv")
    with pytest.raises(InputError):
        backtest([_rules(tmp_path, "groups: [{name: g, rules: [{alert: A, expr: 'up +'}]}]\n")], data)
    with pytest.raises(InputError):
        backtest([str(EX / "rules.yml")], data, start=T0 + 100, end=T0)
    with pytest.raises(InputError):
        backtest([str(EX / "rules.yml")], [])


def _cli(*args: str) -> tuple[int, str]:
    """In-process CLI run (fast); the subprocess tests below cover the real entry point."""
    from typer.testing import CliRunner

    from opsctl.cli.main import app

    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout


def test_cli_json_and_text() -> None:
    code, out = _cli("rules", "backtest", str(EX / "rules.yml"), "--data", str(EX / "errors.csv"),
                     "--compare", str(EX / "rules-v2.yml"), "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert doc["backtest"]["alerts"][0]["fired"] == 5
    assert doc["compare"]["alerts"][0]["fired"] == 3
    assert doc["diff"][0] == {
        "alertname": "HighErrorRatio",
        "before": {"fired": 5, "firing_seconds": 1080.0, "flaps": 3, "pending_only": 0, "instances": 2},
        "after": {"fired": 3, "firing_seconds": 360.0, "flaps": 1, "pending_only": 2, "instances": 2},
        "fired_delta": -2, "firing_seconds_delta": -720.0, "flaps_delta": -2,
    }
    text = run_opsctl("rules", "backtest", str(EX / "rules.yml"), "--data", str(EX / "errors.csv"),
                      "--by-instance")
    assert text.returncode == 0
    assert "HighErrorRatio" in text.stdout and "18m" in text.stdout
    assert "{service=api, severity=page}" in text.stdout and "14m" in text.stdout
    code, out = _cli("rules", "backtest", str(EX / "rules.yml"), "--data", str(EX / "errors.csv"),
                     "--compare", str(EX / "rules-v2.yml"))
    assert code == 0 and "5 -> 3 (-2)" in out and "18m -> 6m (-12m)" in out


def test_cli_bad_input_exit_2(tmp_path: Path) -> None:
    proc = run_opsctl("rules", "backtest", str(EX / "rules.yml"), "--data", str(tmp_path / "missing.csv"))
    assert proc.returncode == 2
    assert "missing.csv" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_opsctl("rules", "backtest", str(EX / "rules.yml"), "--data", str(EX / "errors.csv"), "--step", "5x")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("for_keep", [(0, 0), (180, 0), (180, 600), (60, 120)])
def test_vectorised_replay_equals_step_by_step_evaluation(tmp_path: Path, for_keep: tuple[int, int]) -> None:
    """The backtest (one range query + vectorised state machine) agrees with the unit-test evaluator (an
    instant query and a state-machine step per evaluation) on the example data."""
    from opsctl.promql import Engine, Labels, Storage
    from opsctl.rules.loader import load_rule_file
    from opsctl.rules.testing_eval import AppendStore, RuleEvaluator

    rules = _rules(tmp_path, f"""
groups:
  - name: g
    rules:
      - alert: HighErrorRatio
        expr: http_errors_ratio > 0.05
        for: {for_keep[0]}s
        keep_firing_for: {for_keep[1]}s
""")
    data = read_export(EX / "errors.csv")
    res = backtest([rules], data)
    a = res.alert("HighErrorRatio")
    assert a is not None
    storage = Storage()
    for s in data:
        storage.add(Labels(s.labels), np.round(s.timestamps * 1000).astype(np.int64), s.values)
    ev = RuleEvaluator(load_rule_file(rules).groups, AppendStore(storage), Engine(storage), render=None)
    for m in range(60):
        t = T0 + m * MIN
        assert ev.eval(round(t * 1000)) == []
        stepwise = {a_.labels["service"] for a_ in ev.alerts_named("HighErrorRatio") if a_.state == "firing"}
        vectorised = {e.labels["service"] for e in a.episodes
                      if e.fired_at <= t and (e.resolved_at is None or t < e.resolved_at)}
        assert stepwise == vectorised, (m, stepwise, vectorised)


# -- issue 12 points 3 and 8: backtests never abort on a valid rule, and evaluate by time chunks ---------------

CHUNK_RULES = """
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:x:rate5m
        expr: sum by (job) (rate(x_total[5m]))
  - name: alerts
    interval: 1m
    rules:
      - alert: High
        expr: rate(x_total[5m]) > 0.55
        for: 3m
      - alert: Kept
        expr: rate(x_total[2m]) > 0.6
        keep_firing_for: 4m
      - alert: JobHigh
        expr: job:x:rate5m > 1.7
      - alert: Top
        expr: topk(2, rate(x_total[5m])) > 0.5
      - alert: Templated
        expr: rate(x_total[5m]) > 0.6
        labels:
          severity: '{{ if gt $value 0.7 }}page{{ else }}ticket{{ end }}'
"""


def _chunk_series(n: int = 600) -> list[Series]:
    rng = np.random.default_rng(5)
    ts = T0 + 15.0 * np.arange(n)
    out = []
    for i in range(6):
        inc = rng.uniform(0, 1, n) * 15 * (1 if i % 3 else 1.3)
        vals = np.cumsum(inc)
        vals[n // 2 + i * 7:] -= vals[n // 2 + i * 7]  # a counter reset
        out.append(Series({"__name__": "x_total", "job": f"j{i % 2}", "instance": f"i{i}"}, ts, vals))
    return out


def test_chunked_evaluation_equals_unchunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import opsctl.rules.backtest as bt

    rules = _rules(tmp_path, CHUNK_RULES)
    series = _chunk_series()
    monkeypatch.setattr(bt, "CHUNK_ELEMENTS", 10**9)
    whole = backtest([rules], series).to_dict()
    for elements in (1, 97, 500):  # 16 steps per chunk (the minimum), 16, 83
        monkeypatch.setattr(bt, "CHUNK_ELEMENTS", elements)
        assert backtest([rules], series).to_dict() == whole
    assert sum(len(a["episodes"]) for a in whole["alerts"]) > 10


def test_runtime_error_steps_are_skipped_with_a_warning(tmp_path: Path) -> None:
    """A many-to-many match at some steps fails only those evaluations (as in Prometheus), not the run."""
    ts = T0 + MIN * np.arange(30)
    ones = np.ones(30)
    series = [Series({"__name__": "a", "x": "1"}, ts, ones * 2),
              Series({"__name__": "b", "x": "1", "y": "1"}, ts, ones),
              Series({"__name__": "b", "x": "1", "y": "2"}, ts[20:], ones[20:])]
    rules = _rules(tmp_path, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: a > on(x) b\n")
    v2 = PromVersion(2, 42)  # the 5 m lookback is closed at both ends in 2.x
    res = backtest([rules], series, prometheus_version=v2)
    a = res.alert("A")
    # Failing evaluations from 20 m on change nothing: the alert keeps firing to the end.
    assert a is not None and [((e.fired_at - T0) / MIN) for e in a.episodes] == [0.0]
    assert a.episodes[0].resolved_at is None
    assert any("evaluation failed at 10 of 30 steps" in w and "many-to-many" in w for w in res.warnings), res.warnings
    series[2] = Series(series[2].labels, ts[20:25], ones[20:25])  # b{y="2"} from 20 to 24 m only
    rules = _rules(tmp_path, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: a > on(x) b < 3\n"
                   "  - record: r\n    expr: a > on(x) b\n", "r2.yml")
    res = backtest([rules], series, prometheus_version=v2, infer_staleness=False)
    a = res.alert("A")
    assert a is not None and [(e.fired_at - T0) / MIN for e in a.episodes] == [0.0]
    assert a.episodes[0].resolved_at is None
    # (b{y="2"} stays visible for the 5 m lookback: 10 failing steps)
    assert res.recorded == ["r"] and sum("failed at 10 of 30 steps" in w for w in res.warnings) == 2, res.warnings
    # With staleness read from the data (the default), b{y="2"} is stale from 25 m: 5 failing steps.
    res = backtest([rules], series, prometheus_version=v2)
    assert sum("failed at 5 of 30 steps" in w for w in res.warnings) == 2, res.warnings


def test_backtest_empty_operands_reproducer(tmp_path: Path) -> None:
    """../shared/repro/promql/backtest_crash_*: `(rate(x[5m]) + rate(y[5m])) > 1` with neither series."""
    data = ROOT / "tests" / "promql" / "issue12"
    res = backtest([str(data / "empty_binop_crash_rules.yml")], read_export(data / "backtest_crash_data.csv"))
    assert res.alert("HighErrorRatio") is not None and res.alert("HighErrorRatio").fired == 0  # type: ignore[union-attr]
    assert res.recorded == ["job:x"]


def test_consume_gives_the_same_result_and_empties_the_list(tmp_path: Path) -> None:
    rules = _rules(tmp_path, CHUNK_RULES)
    series = _chunk_series()
    keep = backtest([rules], series).to_dict()
    given = list(series)
    assert backtest([rules], given, consume=True).to_dict() == keep
    assert given == []


def test_engine_takes_contiguous_storage_arrays_without_copy() -> None:
    import opsctl.rules.backtest as bt
    from opsctl.promql import Engine, Storage, ast

    st = Storage()
    bt._fill_storage(st, _chunk_series(200))
    eng = Engine(st)
    full, _ = eng.select(ast.parse("x_total"))
    stored = st.series_named("x_total")
    assert np.shares_memory(full.ts, stored[0].ts) and np.shares_memory(full.vs, stored[-1].vs)
    assert eng.instant("sum(x_total)", T0 + 600).series


def test_staleness_read_from_gaps_and_ends() -> None:
    """A gap longer than 1.5 sample spacings, or a series that ends before the data does, gets a stale marker
    one spacing after its last sample; a source's own markers and series too short to tell are left alone."""
    from opsctl.promql.model import stale_mask
    from opsctl.rules.staleness import mark_stale

    ts = T0 + 15 * np.array([0, 1, 2, 3, 6, 7, 8], dtype=np.float64)  # a 45 s gap after 3
    other = T0 + 15 * np.arange(20, dtype=np.float64)
    own = np.ones(5)
    own[3] = np.array([0x7FF0000000000002], dtype=np.uint64).view(np.float64)[0]
    series = [Series({"__name__": "x"}, ts, np.ones(7)), Series({"__name__": "y"}, other, np.ones(20)),
              Series({"__name__": "z"}, other[:5], own), Series({"__name__": "w"}, other[:2], np.ones(2))]
    added, warnings = mark_stale(series)
    x = series[0]
    assert list((x.timestamps[stale_mask(x.values)] - T0) / 15) == [4.0, 9.0] and added == 2
    assert len(series[1]) == 20 and series[2].values is own and len(series[3]) == 2
    assert len(warnings) == 1 and "1 series have fewer than 3 samples" in warnings[0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 600), min_size=2, max_size=40), st.integers(0, 3000))
def test_staleness_markers_property(steps: list[int], tail: int) -> None:
    from opsctl.promql.model import stale_mask
    from opsctl.rules.staleness import mark_stale

    ts = T0 + np.cumsum(np.array([0, *steps], dtype=np.float64))
    series = [Series({"__name__": "x"}, ts, np.zeros(len(ts))),
              Series({"__name__": "end"}, np.array([T0, ts[-1] + tail], dtype=np.float64), np.zeros(2))]
    added, _ = mark_stale(series)
    x = series[0]
    marks = x.timestamps[stale_mask(x.values)]
    assert len(marks) == added and len(x) == len(ts) + added
    assert np.all(np.diff(x.timestamps) > 0)  # markers never on or before a sample they follow
    assert list(x.timestamps[~stale_mask(x.values)]) == list(ts)  # the samples are kept as they are
    assert added <= len(ts)
