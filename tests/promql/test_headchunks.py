"""Counter-reset hints of histograms as Prometheus 3's TSDB head reads them back (opsctl.promql.headchunks).

The expected hints are what `promtool test rules` of Prometheus 3.16 printed for these series (an instant
query of the raw series at every sample); tests/rules_testing/test_native_histogram_oracle_316.py compares
with the real promtool.
"""

from __future__ import annotations

from typing import Any

from opsctl.promql.headchunks import assign_hints
from opsctl.promql.histogram import CounterResetHint, FloatHistogram
from opsctl.promql.notation import parse_series_desc
from opsctl.promql.promqltest import run_text

U, N, G = CounterResetHint.UNKNOWN, CounterResetHint.NOT_COUNTER_RESET, CounterResetHint.GAUGE


def _hints(desc: str) -> list[Any]:
    """Per sample (1m apart): the hint of a histogram, or the float."""
    _, vals = parse_series_desc("x " + desc)
    out = assign_hints([(i * 60000, v) for i, v in enumerate(vals) if v is not None])
    return [v.counter_reset_hint if isinstance(v, FloatHistogram) else v for _, v in out]


def _unknown_at(desc: str) -> list[int]:
    return [i for i, h in enumerate(_hints(desc)) if h == U]


def test_long_counter_is_cut_by_size_and_time() -> None:
    # promtool 3.16: unknown at 0, 1h51m, 4h19m, 6h47m, 9h15m, 11h43m, 13h46m, 15h49m, 18h33m, 21h17m, 1d
    desc = "{{schema:0 sum:0 count:0}}+{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x1500"
    assert _unknown_at(desc) == [0, 111, 259, 407, 555, 703, 826, 949, 1113, 1277, 1440]


def test_inexact_buckets_fill_chunks_every_ten_samples() -> None:
    desc = ("{{schema:2 sum:0.3 count:0 z_bucket:0 z_bucket_w:0.001 buckets:[1 2 0 1 5] offset:-3 n_buckets:[1 1 2]}}"
            "+{{schema:2 sum:5.1 count:4.3 z_bucket:0.2 z_bucket_w:0.001 buckets:[1.1 2.2 1.3 0.1 7] offset:-3 "
            "n_buckets:[0.1 0.7 0.3]}}x200")
    assert _unknown_at(desc) == list(range(0, 201, 10))


def test_resets_schema_changes_stale_markers_floats_and_gauges_start_chunks() -> None:
    h = "{{schema:0 sum:%d count:%d buckets:[%d]}}"
    assert _hints(" ".join(h % (v, v, v) for v in (8, 16, 4, 12))) == [U, N, U, N]  # a reset
    schemas = ("{{schema:3 sum:4 count:4 buckets:[1 1 1 1]}} {{schema:3 sum:8 count:8 buckets:[2 2 2 2]}} "
               "{{schema:1 sum:12 count:12 buckets:[6 6]}} {{schema:1 sum:16 count:16 buckets:[8 8]}}")
    assert _hints(schemas) == [U, N, U, N]
    stale = _hints(f"{h % (1, 1, 1)} _ {h % (3, 3, 3)} stale {h % (5, 5, 5)} {h % (6, 6, 6)}")
    assert [x for x in stale if isinstance(x, CounterResetHint)] == [U, N, U, N]
    assert _hints(f"{h % (1, 1, 1)} 5 {h % (3, 3, 3)} {h % (4, 4, 4)}")[2:] == [U, N]
    # an explicit reset hint starts a chunk (and reads back unknown), not_reset does not hide a reset
    assert _hints("{{sum:1 count:1}} {{sum:2 count:2 counter_reset_hint:reset}} {{sum:3 count:3}} "
                  "{{sum:1 count:1 counter_reset_hint:not_reset}}") == [U, U, N, U]
    # a gauge after counters, counters after a gauge
    assert _hints("{{sum:5 count:4}} {{sum:3 count:2 counter_reset_hint:gauge}} {{sum:3 count:2}} "
                  "{{sum:3 count:2}}") == [U, G, U, N]


def test_promqltest_load_gets_the_hints() -> None:
    text = """
load 1m
  h {{schema:0 sum:1 count:1 buckets:[1]}} {{schema:0 sum:2 count:2 buckets:[2]}} {{schema:0 sum:1 count:1 buckets:[1]}}

eval instant at 1m h
  h {{schema:0 sum:2 count:2 buckets:[2] counter_reset_hint:not_reset}}

eval instant at 2m h
  h {{schema:0 sum:1 count:1 buckets:[1] counter_reset_hint:unknown}}
"""
    fr = run_text(text, v3=True)
    assert [c.passed for c in fr.cases] == [True, True], [c.message for c in fr.cases]
