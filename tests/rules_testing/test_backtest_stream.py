"""`rules backtest` streamed by time windows (opsctl.rules.backtest_stream) gives what the whole-input replay
(opsctl.rules.backtest.backtest) gives: episodes, counts, durations, warnings, on rule files that carry state
or read far back across window boundaries, with windows a few steps long so boundaries are crossed often."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.data import exports
from opsctl.data.exports import Series, read_export
from opsctl.promql import Engine, Storage
from opsctl.rules import backtest_stream as bs
from opsctl.rules.backtest import backtest
from opsctl.rules.backtest_stream import ExportStore, backtest_store, rule_lookback
from opsctl.rules.versions import PromVersion

T0 = 1704067200.0
STEP = 15.0

# Recording rules read by alerts (also over a long range), offsets, a subquery, long ranges, absent() of
# raw and recorded series, templated labels, for / keep_firing_for, a group with query_offset and another step.
RULES = """
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:errors:rate5m
        expr: sum by (job) (rate(errors_total[5m]))
      - record: job:errors:rate5m:avg1h
        expr: avg_over_time(job:errors:rate5m[1h])
      - record: instance:errors:delta
        expr: delta(errors_total[10m] offset 5m)
  - name: alerts
    interval: 1m
    rules:
      - alert: HighErrorRate
        expr: rate(errors_total[5m]) > 0.52
        for: 5m
      - alert: Flappy
        expr: rate(errors_total[2m]) > 0.55
        keep_firing_for: 10m
      - alert: JobErrors
        expr: job:errors:rate5m > 1.55
        for: 2m
      - alert: SlowBurn
        expr: job:errors:rate5m:avg1h > 1.5
        for: 20m
      - alert: LongRange
        expr: rate(errors_total[3h]) > 0.501
        for: 10m
      - alert: Subquery
        expr: max_over_time(rate(errors_total[5m])[30m:1m]) > 0.56
        for: 3m
        keep_firing_for: 4m
      - alert: Offset
        expr: rate(errors_total[5m] offset 30m) > 0.55
      - alert: UpGone
        expr: absent(up{job="j0"})
      - alert: RecGone
        expr: absent(instance:errors:delta{instance="i3"})
      - alert: Templated
        expr: rate(errors_total[5m]) > 0.55
        labels:
          severity: '{{ if gt $value 0.6 }}page{{ else }}ticket{{ end }}'
  - name: offset-group
    interval: 2m
    query_offset: 1m
    rules:
      - alert: OffsetGroup
        expr: rate(errors_total[5m]) > 0.55
        for: 4m
        keep_firing_for: 2m
"""

# Evaluations that fail at some steps only (duplicate series on the `on()` side while i1 and i3 both exist):
# failed steps keep the state of the step before, for alerts and recorded series alike.
FAILING = """
groups:
  - name: g
    rules:
      - record: sum:dup
        expr: errors_total{instance="i2"} + on() group_left errors_total{instance=~"i1|i3"}
      - alert: Dup
        expr: errors_total{instance="i2"} + on() group_left errors_total{instance=~"i1|i3"} > 0
        for: 3m
      - alert: DupGone
        expr: absent(sum:dup)
"""

# An @ modifier reads outside any window: the whole period is one window.
AT = """
groups:
  - name: g
    rules:
      - alert: At
        expr: rate(errors_total[5m] @ 1704070000) > 0.5 and rate(errors_total[5m]) > 0.55
"""


def _series(seed: int = 1, hours: float = 4.5) -> list[Series]:
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 / STEP)
    ts = T0 + STEP * np.arange(n)
    out = []
    for i in range(6):
        vals = np.cumsum(rng.uniform(0, 1, n) * STEP)
        keep = np.ones(n, dtype=bool)
        if i == 1:
            keep[200:260] = False  # a gap: stale markers, absent()
        if i == 2:
            keep[:300] = False  # starts late
        if i == 3:
            keep[-400:] = False  # ends early
        if i == 4:
            vals[500:] -= vals[500]  # a counter reset
        out.append(Series({"__name__": "errors_total", "job": f"j{i % 2}", "instance": f"i{i}"}, ts[keep],
                          vals[keep]))
    up = np.ones(n, dtype=bool)
    up[700:780] = False
    out.append(Series({"__name__": "up", "job": "j0", "instance": "i0"}, ts[up], np.ones(int(up.sum()))))
    return out


def _frame(series: list[Series]) -> pd.DataFrame:
    frames = [pd.DataFrame({"timestamp": s.timestamps, "__name__": s.labels["__name__"], "job": s.labels["job"],
                            "instance": s.labels["instance"], "value": s.values}) for s in series]
    return pd.concat(frames, ignore_index=True)


def _rules(tmp_path: Path, body: str, name: str = "rules.yml") -> str:
    p = tmp_path / name
    p.write_text(body)
    return str(p)


def _doc(res: Any) -> dict[str, Any]:
    d = res.to_dict()
    d["alerts"] = [{**a, "episodes_raw": sorted((tuple(sorted(e.labels.items())), e.active_at, e.fired_at,
                                                  e.resolved_at) for e in res.alert(a["alertname"]).episodes)}
                   for a in d["alerts"]]
    return d


@functools.cache
def _whole(rules_text: str, version: str | None = None) -> tuple[dict[str, Any], str]:
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="bt-stream-"))
    rules = _rules(d, rules_text)
    v = PromVersion.parse(version) if version else None
    return _doc(backtest([rules], _series(), prometheus_version=v)), rules


def _streamed(rules: str, window_seconds: float | None, buffer_samples: int = 1000,
              version: str | None = None, series: list[Series] | None = None) -> dict[str, Any]:
    v = PromVersion.parse(version) if version else None
    with ExportStore.from_series(series if series is not None else _series(), buffer_samples=buffer_samples) as store:
        return _doc(backtest_store([rules], store, window_seconds=window_seconds, prometheus_version=v))


@pytest.mark.parametrize(("body", "window"), [
    (RULES, 10 * 60.0), (RULES, 45 * 60.0), (RULES, None), (FAILING, 60.0), (FAILING, 11 * 60.0), (AT, 5 * 60.0),
], ids=["rules-10m", "rules-45m", "rules-auto", "failing-1m", "failing-11m", "at"])
def test_streamed_equals_whole(body: str, window: float | None) -> None:
    whole, rules = _whole(body)
    got = _streamed(rules, window)
    assert got == whole
    # The data gives every alert something to do (the comparison is not between two empty results).
    if body is RULES:
        fired = {a["alertname"]: a["fired"] for a in whole["alerts"]}
        assert all(fired[n] > 0 for n in ("HighErrorRate", "Flappy", "JobErrors", "LongRange", "Subquery",
                                          "Offset", "UpGone", "RecGone", "Templated", "OffsetGroup")), fired
        assert any(a["pending_only"] for a in whole["alerts"])
    if body is FAILING:
        assert any("evaluation failed" in w for w in whole["warnings"])


def test_streamed_equals_whole_prometheus_2() -> None:
    whole, rules = _whole(RULES.replace("query_offset: 1m", ""), "2.42")  # (a 3.x field)
    assert _streamed(rules, 5 * 60.0, version="2.42") == whole


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=st.floats(min_value=300.0, max_value=4 * 3600.0), buffer=st.integers(min_value=50, max_value=20000))
def test_streamed_equals_whole_any_window(window: float, buffer: int) -> None:
    whole, rules = _whole(RULES)
    assert _streamed(rules, window, buffer) == whole


def test_window_lengths_come_from_the_budget() -> None:
    # No window length given: derived from the samples budget (tiny here: many windows).
    whole, rules = _whole(RULES)
    with ExportStore.from_series(_series(), buffer_samples=500) as store:
        res = backtest_store([rules], store, window_samples=3000)
    assert _doc(res) == whole


def test_from_to_and_step(tmp_path: Path) -> None:
    rules = _rules(tmp_path, RULES)
    data = _series()
    start, end = T0 + 1800.0, T0 + 4 * 3600.0 + 7.0
    whole = _doc(backtest([rules], data, start=start, end=end, step=90.0))
    with ExportStore.from_series(data, buffer_samples=700) as store:
        assert _doc(backtest_store([rules], store, start, end, 90.0, window_seconds=600.0)) == whole


def _parquet_batches(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """Read Parquet in small batches (as a long export is read), in both replays."""
    monkeypatch.setattr(exports, "_PARQUET_BATCH", rows)
    monkeypatch.setattr(bs, "_BATCH_ROWS", rows - 13)


@pytest.mark.parametrize("layout", ["by-series", "by-time", "shuffled"])
def test_parquet_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    _parquet_batches(monkeypatch, 1500)
    frame = _frame(_series())
    if layout == "by-time":
        frame = frame.sort_values("timestamp", kind="stable", ignore_index=True)
    elif layout == "shuffled":
        frame = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    path = tmp_path / "export.parquet"
    frame.to_parquet(path, index=False)
    rules = _rules(tmp_path, RULES)
    whole = _doc(backtest([rules], read_export(path)))
    with ExportStore.from_file(path, buffer_samples=2000) as store:
        got = _doc(backtest_store([rules], store, window_seconds=20 * 60.0))
    assert got == whole
    assert whole["input"]["series"] == 7


def test_csv_and_json_exports(tmp_path: Path) -> None:
    rules = _rules(tmp_path, RULES)
    csv = tmp_path / "export.csv"
    _frame(_series()).to_csv(csv, index=False)
    whole = _doc(backtest([rules], read_export(csv)))
    with ExportStore.from_file(csv, buffer_samples=3000) as store:
        assert _doc(backtest_store([rules], store, window_seconds=900.0)) == whole
    import json

    js = tmp_path / "export.json"
    js.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": s.labels, "values": [[t, repr(v)] for t, v in zip(s.timestamps.tolist(), s.values.tolist(),
                                                                      strict=True)]} for s in _series()]}}))
    whole = _doc(backtest([rules], read_export(js)))
    with ExportStore.from_file(js) as store:
        assert _doc(backtest_store([rules], store, window_seconds=1300.0)) == whole


@pytest.mark.parametrize("variant", ["by-series", "shuffled-ms", "iso-times", "empty-value", "wide"])
def test_csv_export_read_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    """CSV is read block by block when its time and value cells are all numbers (as read_export reads
    them), else whole; the results are the whole-input replay's either way."""
    monkeypatch.setattr(bs, "_CSV_BLOCK", 5000)
    frame = _frame(_series())
    if variant == "shuffled-ms":
        frame = frame.sample(frac=1.0, random_state=5).reset_index(drop=True)
        frame["timestamp"] = (frame["timestamp"] * 1000).astype("int64")
    elif variant == "iso-times":
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
    elif variant == "empty-value":
        frame["value"] = frame["value"].astype(object)
        frame.loc[5, "value"] = ""
    elif variant == "wide":
        frame = frame[frame["__name__"] == "errors_total"].pivot_table(index="timestamp", columns="instance",
                                                                        values="value").reset_index()
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    rules = _rules(tmp_path, RULES)
    whole = _doc(backtest([rules], read_export(path)))
    streamed = variant in ("by-series", "shuffled-ms")
    if streamed:
        assert len(list(bs._csv_pieces(path, "export"))) > 10  # many blocks
    else:
        with pytest.raises(bs._NotPlain):
            list(bs._csv_pieces(path, "export"))
    with ExportStore.from_file(path, buffer_samples=900) as store:
        assert _doc(backtest_store([rules], store, window_seconds=1700.0)) == whole


def test_same_label_set_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rows with an empty metric name take the file's name: two keys, one label set, joined (later wins).
    _parquet_batches(monkeypatch, 900)
    frame = _frame(_series())
    other = frame[(frame["instance"] == "i0") & (frame["__name__"] == "errors_total")].copy()
    other["__name__"] = ""
    other["value"] = other["value"] * 1.01
    other = other.iloc[::3]
    frame = pd.concat([frame, other], ignore_index=True)
    path = tmp_path / "errors_total.parquet"
    frame.to_parquet(path, index=False)
    rules = _rules(tmp_path, RULES)
    whole = _doc(backtest([rules], read_export(path)))
    with ExportStore.from_file(path, buffer_samples=1500) as store:
        assert len(store.series) == 7 and store.n_series == 8
        assert _doc(backtest_store([rules], store, window_seconds=1000.0)) == whole


def test_without_staleness_inference() -> None:
    _, rules = _whole(RULES)
    data = _series()
    whole = _doc(backtest([rules], data, infer_staleness=False))
    with ExportStore.from_series(data, infer_staleness=False, buffer_samples=800) as store:
        assert _doc(backtest_store([rules], store, window_seconds=600.0)) == whole


def test_store_windows_are_the_storage_restricted() -> None:
    """A window of the store is exactly the whole-input storage's samples within [lo, hi] (stale markers
    included), series by series in the storage's order."""
    from opsctl.rules.backtest import _fill_storage
    from opsctl.rules.staleness import mark_stale

    data = _series()
    marked = list(data)
    mark_stale(marked)
    storage = Storage()
    _fill_storage(storage, marked)
    with ExportStore.from_series(data, buffer_samples=333) as store:
        for lo, hi in [(T0 * 1000, T0 * 1000 + 3_600_000), (T0 * 1000 + 4_000_000, T0 * 1000 + 4_015_000),
                       (0, 2**62)]:
            got = list(store.window(int(lo), int(hi)))
            want = []
            for s in storage.series():
                keep = (s.ts >= lo) & (s.ts <= hi)
                if keep.any():
                    want.append((s.labels, s.ts[keep], s.vs[keep]))
            assert [g[0] for g in got] == [w[0] for w in want]
            for g, w in zip(got, want, strict=True):
                assert np.array_equal(g[1], w[1])
                assert np.array_equal(g[2].view(np.uint64), w[2].view(np.uint64))  # stale markers bit for bit


def test_rule_lookback() -> None:
    eng = Engine(Storage(), v3=True)
    lb = 300_000

    def reach(expr: str) -> int | None:
        return rule_lookback(eng._parse(expr), lb)

    assert reach("up") == lb
    assert reach("rate(x[5m])") == 300_000
    assert reach("rate(x[5m] offset 1h) + y offset 2m") == 3_900_000
    assert reach("max_over_time(rate(x[5m])[1h:1m] offset 10m)") == 600_000 + 3_600_000 + 300_000
    assert reach("max_over_time(max_over_time(y[2m])[30m:])") == 1_800_000 + 120_000
    assert reach("vector(1)") == 0
    assert reach("x @ 100") is None
    assert reach("rate(x[5m] offset -1m)") is None
    assert reach("max_over_time(x[1h:1m] @ end())") is None


def test_cli_streams_the_export(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from opsctl.cli.main import app

    rules = _rules(tmp_path, RULES)
    path = tmp_path / "export.csv"
    _frame(_series()).to_csv(path, index=False)
    whole = backtest([rules], read_export(path)).to_dict()
    result = CliRunner().invoke(app, ["rules", "backtest", rules, "--data", str(path), "--format", "json"],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["backtest"] == json.loads(json.dumps(whole))


def test_errors_as_the_whole_input_replay(tmp_path: Path) -> None:
    from opsctl.errors import InputError

    bad = _rules(tmp_path, "groups: [{name: g, rules: [{alert: A, expr: 'up +'}]}]\n", "bad.yml")
    good = _rules(tmp_path, RULES)
    with ExportStore.from_series(_series()) as store:
        with pytest.raises(InputError):
            backtest_store([bad], store)
        with pytest.raises(InputError, match="before --from"):
            backtest_store([good], store, start=T0 + 100, end=T0)
    with ExportStore.from_series([]) as store, pytest.raises(InputError, match="no samples"):
        backtest_store([good], store)
